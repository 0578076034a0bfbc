/*
 * sim_server.c: reconcile-sim's HTTP side on libmicrohttpd 0.9.75: poll()
 * threads (one by default, --threads), the access handler, latency and
 * faults on the wire.
 *
 * A request goes through up to three steps, each one call of the access
 * handler (MHD calls it again after a resume, see sim_wait.c):
 *   arrive   log it, pick its fault and its latency; maybe wait;
 *   handle   run the API module under the state lock (unless the fault
 *            forbids it), turn its answer into text; maybe wait (a delay
 *            fault, or a list's item latency);
 *   answer   send it: whole, cut, or not at all (a TCP reset).
 * The state lock is held only inside steps, never across a wait, and every
 * answer is serialised under it (module answers may share state objects).
 * MHD traps (engineering notes §2.3): answer on the 2nd call, not the 1st
 * (else keep-alive is lost); suspending needs MHD_ALLOW_SUSPEND_RESUME.
 * And one more, found here: MHD 0.9.75's internal epoll loop (MHD_epoll)
 * drains events with `while (num_events == 128) epoll_wait(..., timeout)`;
 * when one call returns exactly 128 events, the next one blocks for the
 * whole timeout (up to the 60 s connection timeout) with those 128
 * requests unserved, so 128 busy keep-alive connections on one thread
 * stall it. MHD_USE_POLL has no such loop and was as fast (README).
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sim_core.h"

#define MAX_BODY (4u << 20)

enum step { ST_ARRIVE, ST_HANDLE, ST_ANSWER };

/* One request on a connection (MHD's per-request context). */
struct conn {
	char *body;                  /* request body (new) */
	size_t len;
	bool too_big;
	enum step next;              /* the step the next call runs */
	const struct sim_api *api;   /* borrowed (static table); NULL for /_sim */
	struct sim_fault fault;
	long seq;                    /* request log entry, 0 for none */
	long wait_after;             /* ms between the handler step and the answer */
	int status;                  /* the answer */
	char *text;                  /* its body (new) */
	size_t text_len;
	char header[128];            /* "Name: value" or "" */
};

/* ------------------------------------------------------------ answers */

static void set_answer(struct conn *k, struct sim_resp *out)
{
	free(k->text);
	k->status = out->status;
	k->text = out->body ? json_dumps(out->body, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("");
	if (!k->text)
		abort();
	k->text_len = strlen(k->text);
	snprintf(k->header, sizeof(k->header), "%s", out->extra_header);
	json_decref(out->body);
	out->body = NULL;
}

static void add_headers(struct MHD_Response *resp, const struct conn *k)
{
	char name[64];
	const char *colon = strchr(k->header, ':');

	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (colon && (size_t)(colon - k->header) < sizeof(name)) {
		memcpy(name, k->header, (size_t)(colon - k->header));
		name[colon - k->header] = '\0';
		MHD_add_response_header(resp, name, colon + 1 + (colon[1] == ' '));
	}
}

/* Send k's answer, its body cut to `len` bytes (the whole: text_len). */
static enum MHD_Result send_text(struct MHD_Connection *c, struct conn *k, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(len, k->text, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;
	k->text = NULL; /* MHD's now */
	add_headers(resp, k);
	rc = MHD_queue_response(c, (unsigned)k->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* A body that stops half-way: Content-Length promises `total` bytes, the
 * reader gives `cut`, then reports an error and MHD closes the socket. */
struct cut {
	char *text;   /* new */
	size_t cut;
};

static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct cut *x = cls;
	size_t n;

	if (pos >= x->cut)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = x->cut - (size_t)pos < max ? x->cut - (size_t)pos : max;
	memcpy(buf, x->text + pos, n);
	return (ssize_t)n;
}

static void cut_free(void *cls)
{
	struct cut *x = cls;

	free(x->text);
	free(x);
}

static enum MHD_Result send_truncated(struct MHD_Connection *c, struct conn *k)
{
	struct cut *x = malloc(sizeof(*x));
	struct MHD_Response *resp;
	uint64_t total = k->text_len ? k->text_len : 1; /* an empty body is promised 1 byte */
	enum MHD_Result rc;

	if (!x)
		return MHD_NO;
	x->text = k->text;
	x->cut = k->text_len / 2;
	k->text = NULL;
	resp = MHD_create_response_from_callback(total, 4096, cut_reader, x, cut_free);
	if (!resp) {
		cut_free(x);
		return MHD_NO;
	}
	add_headers(resp, k);
	rc = MHD_queue_response(c, (unsigned)k->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Reset the TCP connection now: SO_LINGER 0, and a connect(AF_UNSPEC),
 * which on Linux disconnects the socket with a RST at once (tcp_disconnect)
 * instead of the FIN that MHD's shutdown(SHUT_WR) would send first. The
 * caller then returns MHD_NO and MHD closes the (dead) socket. */
static void reset_connection(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct linger lg = { 1, 0 };
	struct sockaddr sa;

	if (!ci)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(ci->connect_fd, &sa, sizeof(sa)) != 0)
		shutdown(ci->connect_fd, SHUT_RDWR);
}

/* True when the client has closed its side (or the socket failed). */
static bool client_gone(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd p;
	char b;

	if (!ci)
		return true;
	p.fd = ci->connect_fd;
	p.events = POLLIN | POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return true;
	return recv(p.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void log_line(const struct sim_req *r, const struct conn *k, int status)
{
	if (sim_is_quiet())
		return;
	if (k->fault.kind != SF_NONE)
		fprintf(stderr, "reconcile-sim: %s %s -> %d (fault %s)\n", r->method, r->path, status,
			sim_fault_name(k->fault.kind));
	else
		fprintf(stderr, "reconcile-sim: %s %s -> %d\n", r->method, r->path, status);
}

/* ------------------------------------------------------------- steps */

static const struct sim_api *api_of(const char *path)
{
	const struct sim_api *a;

	for (a = sim_apis; a->prefix; a++)
		if (!strncmp(path, a->prefix, strlen(a->prefix)))
			return a;
	return NULL;
}

/* An API's latency: its latency_ms plus 0..jitter_ms. Lock held. */
static long latency(const struct sim_api *a)
{
	json_t *st = json_object_get(sim_state(), a->name);
	json_int_t l = json_integer_value(json_object_get(st, "latency_ms"));
	json_int_t j = json_integer_value(json_object_get(st, "jitter_ms"));

	if (l < 0)
		l = 0;
	if (j > 0)
		l += (json_int_t)(sim_rand64() % (uint64_t)(j + 1));
	return (long)l;
}

static bool runs_handler(const struct sim_fault *f)
{
	switch (f->kind) {
	case SF_500:
	case SF_502:
	case SF_503:
	case SF_429:
	case SF_RESET_BEFORE:
		return false;
	case SF_SCRIPTED:
		return f->commit;
	default:
		return true;
	}
}

/* A fault's status, body and Retry-After over the answer. */
static void override(struct conn *k)
{
	if (k->fault.body) {
		free(k->text);
		k->text = k->fault.body;
		k->text_len = strlen(k->text);
		k->fault.body = NULL;
	}
	if (k->fault.status > 0)
		k->status = k->fault.status;
	if (k->fault.retry_after >= 0)
		snprintf(k->header, sizeof(k->header), "Retry-After: %d", k->fault.retry_after);
}

/* The answer of a request whose handler does not run. Lock held. */
static void fault_answer(struct conn *k)
{
	struct sim_resp out = { 500, NULL, "" };

	set_answer(k, &out);
	override(k);
	sim_log_done(k->seq, k->fault.kind == SF_RESET_BEFORE ? 0 : k->status, false);
}

/* The time a list answer takes to make, as a vendor that reads each item
 * from its database: the API's item_latency_us per item of a JSON array,
 * or of the "items" of an object ({items, total}), in ms. Lock held. */
static long item_latency(const struct sim_api *a, json_t *body)
{
	json_t *st = json_object_get(sim_state(), a->name);
	json_int_t us = json_integer_value(json_object_get(st, "item_latency_us"));
	json_t *items = json_is_array(body) ? body : json_object_get(body, "items");

	if (us <= 0 || !json_is_array(items))
		return 0;
	return (long)(us * (json_int_t)json_array_size(items) / 1000);
}

/* Run the API's handler. Lock held. */
static void run_handler(struct sim_req *r, struct conn *k)
{
	struct sim_resp out = { 500, NULL, "" };

	r->api_path = r->path + strlen(k->api->prefix);
	k->api->handle(r, &out);
	k->wait_after += item_latency(k->api, out.body);
	set_answer(k, &out);
	if (k->fault.kind == SF_SCRIPTED)
		override(k);
	sim_log_done(k->seq, k->fault.kind == SF_RESET_AFTER ? 0 : k->status, true);
}

static enum MHD_Result answer(struct MHD_Connection *c, const struct sim_req *r, struct conn *k)
{
	switch (k->fault.kind) {
	case SF_RESET_BEFORE:
	case SF_RESET_AFTER:
		log_line(r, k, 0);
		reset_connection(c);
		return MHD_NO;
	case SF_TRUNCATE:
		log_line(r, k, k->status);
		return send_truncated(c, k);
	case SF_TRUNCATE_JSON:
		log_line(r, k, k->status);
		return send_text(c, k, k->text_len / 2);
	default:
		log_line(r, k, k->status);
		return send_text(c, k, k->text_len);
	}
}

static enum MHD_Result after_handler(struct MHD_Connection *c, const struct sim_req *r,
				     struct conn *k)
{
	if (k->wait_after > 0 && sim_wait_suspend(c, k->wait_after) == 0) {
		k->next = ST_ANSWER;
		return MHD_YES;
	}
	return answer(c, r, k);
}

static enum MHD_Result handle_step(struct MHD_Connection *c, struct sim_req *r, struct conn *k)
{
	k->next = ST_ANSWER; /* past the handler step, whatever happens */
	if (k->fault.kind == SF_DELAY_BEFORE && client_gone(c)) {
		/* the client gave up while the request waited: it is dropped */
		sim_lock();
		sim_log_done(k->seq, 0, false);
		sim_unlock();
		log_line(r, k, 0);
		return MHD_NO;
	}
	sim_lock();
	run_handler(r, k);
	sim_unlock();
	return after_handler(c, r, k);
}

/* /_sim/... and unknown APIs: answered at once, no fault, no latency. */
static enum MHD_Result direct(struct MHD_Connection *c, struct sim_req *r, struct conn *k)
{
	struct sim_resp out = { 500, NULL, "" };
	bool control = !strncmp(r->path, "/_sim/", 6);

	if (control) {
		sim_control(r, &out);
	} else {
		sim_reply(&out, 404, json_pack("{s:s}", "message", "no such API"));
		sim_log_done(sim_log_add(r, "sim", SF_NONE), 404, false);
	}
	set_answer(k, &out);
	sim_unlock();
	if (!control)
		log_line(r, k, k->status);
	return send_text(c, k, k->text_len);
}

static enum MHD_Result arrive(struct MHD_Connection *c, struct sim_req *r, struct conn *k)
{
	long lat, wait;

	sim_lock();
	k->api = strncmp(r->path, "/_sim/", 6) ? api_of(r->path) : NULL;
	if (!k->api)
		return direct(c, r, k); /* unlocks */
	sim_faults_decide(k->api->name, r->method, r->path, &k->fault);
	k->seq = sim_log_add(r, k->api->name, k->fault.kind);
	lat = latency(k->api);
	k->wait_after = k->fault.kind == SF_DELAY_AFTER || k->fault.kind == SF_SCRIPTED
			? k->fault.delay_ms : 0;
	if (!runs_handler(&k->fault)) {
		fault_answer(k);
		k->wait_after += lat;
		sim_unlock();
		return after_handler(c, r, k);
	}
	wait = lat + (k->fault.kind == SF_DELAY_BEFORE ? k->fault.delay_ms : 0);
	if (wait <= 0) {
		run_handler(r, k);
		sim_unlock();
		return after_handler(c, r, k);
	}
	sim_unlock();
	if (sim_wait_suspend(c, wait) == 0) {
		k->next = ST_HANDLE;
		return MHD_YES;
	}
	return handle_step(c, r, k);
}

/* ------------------------------------------------------------ MHD glue */

static enum MHD_Result too_big(struct MHD_Connection *c, struct conn *k)
{
	struct sim_resp out = { 413, json_pack("{s:s}", "message", "body too large"), "" };

	set_answer(k, &out);
	return send_text(c, k, k->text_len);
}

static enum MHD_Result add_body(struct conn *k, const char *data, size_t *size)
{
	char *grown;

	if (k->len + *size > MAX_BODY) {
		k->too_big = true;
	} else {
		grown = realloc(k->body, k->len + *size + 1);
		if (!grown)
			return MHD_NO;
		k->body = grown;
		memcpy(k->body + k->len, data, *size);
		k->len += *size;
		k->body[k->len] = '\0';
	}
	*size = 0;
	return MHD_YES;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *data,
				 size_t *size, void **ctx)
{
	struct conn *k = *ctx;
	struct sim_req r;

	(void)cls;
	(void)version;
	if (!k) {
		k = calloc(1, sizeof(*k)); /* answer on the next call: keep-alive */
		*ctx = k;
		return k ? MHD_YES : MHD_NO;
	}
	if (*size)
		return add_body(k, data, size);
	if (k->too_big)
		return too_big(c, k);
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = url;
	r.conn = c;
	r.body = k->body ? k->body : "";
	r.body_len = k->len;
	switch (k->next) {
	case ST_HANDLE:
		return handle_step(c, &r, k);
	case ST_ANSWER:
		return answer(c, &r, k);
	default:
		return arrive(c, &r, k);
	}
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *k = *ctx;

	(void)cls;
	(void)c;
	(void)toe;
	if (!k)
		return;
	if (k->seq && k->next == ST_HANDLE) {
		/* the client left while the request waited for its handler:
		 * MHD saw the closed socket on the resume and never called us */
		sim_lock();
		sim_log_done(k->seq, 0, false);
		sim_unlock();
		if (!sim_is_quiet())
			fprintf(stderr, "reconcile-sim: request %ld dropped: the client left\n", k->seq);
	}
	free(k->body);
	free(k->text);
	sim_fault_free(&k->fault);
	free(k);
	*ctx = NULL;
}

/* MHD's messages, minus the closes that faults cause on purpose. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char m[512];

	(void)cls;
	vsnprintf(m, sizeof(m), fmt, ap);
	if (strstr(m, "Application reported internal error") ||
	    strstr(m, "application reported error") || strstr(m, "application error generating"))
		return;
	fprintf(stderr, "reconcile-sim: mhd: %s", m);
}

struct MHD_Daemon *sim_server_start(const struct sockaddr_in *sa, unsigned threads)
{
	struct sockaddr_in addr = *sa;
	/* a pool of 1 is no pool (MHD warns about it) */
	struct MHD_OptionItem pool[] = {
		{ threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
				MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
				ntohs(addr.sin_port), NULL, NULL, access_cb, NULL,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, or unused */
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				MHD_OPTION_ARRAY, pool,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				MHD_OPTION_END);
}

void sim_server_stop(struct MHD_Daemon *d)
{
	MHD_stop_daemon(d);
}
