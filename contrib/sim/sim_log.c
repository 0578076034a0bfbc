/*
 * sim_log.c: the request log behind /_sim/requests: a ring of the last
 * LOG_MAX requests as small C records (one allocation each), turned into
 * JSON only when asked for. Seqs are consecutive in the ring (every request
 * takes the next one and a clear empties the ring), so an entry is found
 * by arithmetic. Callers hold the state lock.
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_core.h"

#define LOG_MAX 100000

struct entry {
	long seq;
	double at;         /* arrival, seconds since the simulator started */
	double answered;   /* when the answer left, or 0 */
	char *text;        /* "method\0path\0query\0" (new) */
	const char *api;   /* static: a table name or "sim" */
	int status;        /* the status the client got, 0 for none (yet) */
	signed char fault; /* enum sim_fault_kind */
	signed char handled; /* the handler ran: 1, did not: 0, not known yet: -1 */
};

static struct entry *g_ring;  /* new */
static size_t g_cap, g_head, g_count;
static long g_seq;

/* Seconds since the first call (monotonic). */
static double now_s(void)
{
	static struct timespec t0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!t0.tv_sec && !t0.tv_nsec)
		t0 = ts;
	return (double)(ts.tv_sec - t0.tv_sec) + (double)(ts.tv_nsec - t0.tv_nsec) / 1e9;
}

struct qctx {
	char *buf;
	size_t n;
};

static enum MHD_Result q_iter(void *cls, enum MHD_ValueKind kind, const char *key,
			      const char *value)
{
	struct qctx *q = cls;
	size_t len = strlen(q->buf);
	bool secret = strcasestr(key, "key") || strcasestr(key, "secret") ||
		      strcasestr(key, "token") || strcasestr(key, "password") ||
		      strcasestr(key, "code");

	(void)kind;
	snprintf(q->buf + len, q->n - len, "%s%s=%s", len ? "&" : "", key,
		 secret ? "***" : (value ? value : ""));
	return MHD_YES;
}

/* Query string for the log, with values of sensitive parameters masked. */
static void log_query(struct MHD_Connection *c, char *buf, size_t n)
{
	struct qctx q = { buf, n };

	buf[0] = '\0';
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, q_iter, &q);
}

/* The slot for a new entry (the oldest one is dropped when full). */
static struct entry *next_slot(void)
{
	struct entry *grown;
	size_t i, cap;

	if (g_count == g_cap && g_cap < LOG_MAX) {
		cap = g_cap ? 2 * g_cap : 1024;
		cap = cap < LOG_MAX ? cap : LOG_MAX;
		grown = malloc(cap * sizeof(*grown));
		if (!grown)
			abort();
		for (i = 0; i < g_count; i++)
			grown[i] = g_ring[(g_head + i) % g_cap];
		free(g_ring);
		g_ring = grown;
		g_cap = cap;
		g_head = 0;
	}
	if (g_count == g_cap) {
		free(g_ring[g_head].text);
		g_head = (g_head + 1) % g_cap;
		g_count--;
	}
	return &g_ring[(g_head + g_count++) % g_cap];
}

long sim_log_add(const struct sim_req *r, const char *api, enum sim_fault_kind fault)
{
	char query[512];
	size_t ml = strlen(r->method), pl = strlen(r->path), ql;
	struct entry *e;

	log_query(r->conn, query, sizeof(query));
	ql = strlen(query);
	e = next_slot();
	e->seq = ++g_seq;
	e->at = now_s();
	e->answered = 0;
	e->text = malloc(ml + pl + ql + 3);
	if (!e->text)
		abort();
	memcpy(e->text, r->method, ml + 1);
	memcpy(e->text + ml + 1, r->path, pl + 1);
	memcpy(e->text + ml + pl + 2, query, ql + 1);
	e->api = api;
	e->status = 0;
	e->fault = (signed char)fault;
	e->handled = -1;
	return g_seq;
}

void sim_log_done(long seq, int status, bool handled)
{
	long first = g_count ? g_ring[g_head].seq : 0;
	struct entry *e;

	if (!g_count || seq < first || seq - first >= (long)g_count)
		return; /* cleared or dropped */
	e = &g_ring[(g_head + (size_t)(seq - first)) % g_cap];
	e->status = status;
	e->handled = handled ? 1 : 0;
	e->answered = now_s();
}

static json_t *render(const struct entry *e)
{
	const char *path = e->text + strlen(e->text) + 1, *query = path + strlen(path) + 1;
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s}", "seq", (json_int_t)e->seq, "method",
			      e->text, "path", path, "query", query, "status", e->status, "api",
			      e->api);

	json_object_set_new(o, "at", json_real(e->at));
	if (e->answered > 0)
		json_object_set_new(o, "answered", json_real(e->answered));
	if (e->fault != SF_NONE)
		json_object_set_new(o, "fault", json_string(sim_fault_name(e->fault)));
	if (e->fault != SF_NONE && e->handled >= 0)
		json_object_set_new(o, "handled", json_boolean(e->handled));
	return o;
}

json_t *sim_log_since(const char *since)
{
	json_t *arr = json_array();
	long after = since ? atol(since) : 0, first = g_count ? g_ring[g_head].seq : 0;
	size_t i = after >= first ? (size_t)(after - first + 1) : 0;

	for (; i < g_count; i++)
		json_array_append_new(arr, render(&g_ring[(g_head + i) % g_cap]));
	return arr;
}

void sim_log_clear(void)
{
	size_t i;

	for (i = 0; i < g_count; i++)
		free(g_ring[(g_head + i) % g_cap].text);
	g_head = g_count = 0;
}

void sim_log_reset(void)
{
	sim_log_clear();
	g_seq = 0;
}

void sim_log_free(void)
{
	sim_log_clear();
	free(g_ring);
	g_ring = NULL;
	g_cap = 0;
}
