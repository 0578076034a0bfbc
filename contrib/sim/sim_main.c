/*
 * sim_main.c: reconcile-sim's server, routing, request log, faults and the
 * /_sim control endpoints. See contrib/sim/README.md.
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "sim.h"

#define MAX_BODY (4u << 20)

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *g_state, *g_log, *g_faults;
static const char *g_seed_path;
static bool g_quiet;
static long g_seq;
static volatile sig_atomic_t g_stop;

struct api {
	const char *prefix;
	const char *name;
	void (*handle)(const struct sim_req *r, struct sim_resp *out);
};

static const struct api apis[] = {
	{ "/storeganise/api/v1/admin/", "storeganise", sim_storeganise },
	{ "/opentech/", "opentech", sim_opentech },
	{ "/openapp/api/v1/", "openapp", sim_openapp },
	{ "/pti/", "pti", sim_pti },
};

json_t *sim_state(void)
{
	return g_state;
}

const char *sim_header(const struct sim_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *sim_query(const struct sim_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static char *url_decode(const char *s, size_t n)
{
	char *o = malloc(n + 1), *p = o;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			*p++ = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			*p++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	return o;
}

char *sim_form(const struct sim_req *r, const char *name)
{
	const char *p = r->body, *end = r->body + r->body_len;
	size_t nl = strlen(name);

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - p) > nl && !strncmp(p, name, nl) && p[nl] == '=')
			return url_decode(p + nl + 1, (size_t)(stop - p - (ptrdiff_t)nl - 1));
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

json_t *sim_json_body(const struct sim_req *r)
{
	return r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
}

void sim_reply(struct sim_resp *out, int status, json_t *body)
{
	json_decref(out->body);
	out->status = status;
	out->body = body;
}

void sim_now_iso(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
}

void sim_random_hex(char *buf, size_t n)
{
	unsigned char b[64];
	size_t i;

	if (n > sizeof(b))
		n = sizeof(b);
	RAND_bytes(b, (int)n);
	for (i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", b[i]);
	buf[2 * n] = '\0';
}

const char *sim_id_text(json_t *v, char *buf, size_t n)
{
	if (json_is_integer(v))
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, n, "%s", json_string_value(v));
	else
		buf[0] = '\0';
	return buf;
}

json_t *sim_find_by_id(json_t *arr, const char *id)
{
	char buf[64];
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
		if (!strcmp(sim_id_text(json_object_get(o, "id"), buf, sizeof(buf)), id))
			return o;
	return NULL;
}

/* ------------------------------------------------------------ state */

static int load_seed(void)
{
	json_error_t je;
	json_t *s = json_load_file(g_seed_path, 0, &je);

	if (!s) {
		fprintf(stderr, "reconcile-sim: %s:%d: %s\n", g_seed_path, je.line, je.text);
		return -1;
	}
	json_decref(g_state);
	g_state = s;
	sim_storeganise_seed(g_state);
	json_decref(g_log);
	g_log = json_array();
	json_decref(g_faults);
	g_faults = json_array();
	g_seq = 0;
	return 0;
}

/* Query string for the log, with values of sensitive parameters dropped. */
static void log_query(struct MHD_Connection *c, char *buf, size_t n);

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

static void log_query(struct MHD_Connection *c, char *buf, size_t n)
{
	struct qctx q = { buf, n };

	buf[0] = '\0';
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, q_iter, &q);
}

/* First matching fault (consumed), or NULL. Caller holds the lock. */
static json_t *match_fault(const char *method, const char *path)
{
	size_t i;
	json_t *f;

	json_array_foreach(g_faults, i, f) {
		const char *m = json_string_value(json_object_get(f, "method"));
		const char *pc = json_string_value(json_object_get(f, "path_contains"));
		json_int_t times = json_integer_value(json_object_get(f, "times"));

		if (!json_object_get(f, "times"))
			times = 1;
		if (times == 0 || (m && strcasecmp(m, method)) || (pc && !strstr(path, pc)))
			continue;
		if (times > 0)
			json_object_set_new(f, "times", json_integer(times - 1));
		return json_incref(f);
	}
	return NULL;
}

/* ----------------------------------------------------------- control */

static json_t *collection(const char *name)
{
	char api[32];
	const char *dot = strchr(name, '.');

	if (!dot || (size_t)(dot - name) >= sizeof(api))
		return NULL;
	memcpy(api, name, (size_t)(dot - name));
	api[dot - name] = '\0';
	return json_object_get(json_object_get(g_state, api), dot + 1);
}

static void merge(json_t *obj, json_t *set)
{
	const char *k;
	json_t *v;

	json_object_foreach(set, k, v) {
		json_t *cur = json_object_get(obj, k);

		if (!strcmp(k, "customFields") && json_is_object(v)) {
			const char *ck;
			json_t *cv;

			if (!json_is_object(cur)) {
				cur = json_object();
				json_object_set_new(obj, k, cur);
			}
			json_object_foreach(v, ck, cv) {
				if (json_is_null(cv))
					json_object_del(cur, ck);
				else
					json_object_set(cur, ck, cv);
			}
		} else {
			json_object_set(obj, k, v);
		}
	}
}

/* {"opentech": {"token_ttl": 3}, ...}: set an API's scalar settings (not
 * its collections, which insert/patch/delete change). */
static void settings(json_t *b, struct sim_resp *out)
{
	const char *api, *k;
	json_t *set, *v, *st;

	json_object_foreach(b, api, set) {
		st = json_object_get(g_state, api);
		if (!json_is_object(st) || !json_is_object(set)) {
			sim_reply(out, 400, json_pack("{s:s}", "message", "unknown api"));
			return;
		}
		json_object_foreach(set, k, v)
			if (json_is_array(json_object_get(st, k)) || json_is_array(v) || json_is_object(v)) {
				sim_reply(out, 400, json_pack("{s:s}", "message", "not a setting"));
				return;
			}
		json_object_update(st, set);
	}
	sim_reply(out, 200, json_pack("{s:b}", "ok", 1));
}

static void control(const struct sim_req *r, struct sim_resp *out)
{
	const char *p = r->path + strlen("/_sim/");
	json_t *b = sim_json_body(r), *coll, *obj;
	char ts[40], id[64];

	if (!strcmp(p, "health")) {
		sim_reply(out, 200, json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(p, "state")) {
		sim_reply(out, 200, json_deep_copy(g_state));
	} else if (!strcmp(p, "requests")) {
		if (!strcmp(r->method, "DELETE")) {
			json_array_clear(g_log);
			sim_reply(out, 200, json_pack("{s:b}", "ok", 1));
		} else {
			const char *since = sim_query(r, "since");
			json_t *arr = json_array(), *e;
			size_t i;

			json_array_foreach(g_log, i, e)
				if (!since || json_integer_value(json_object_get(e, "seq")) > atol(since))
					json_array_append(arr, e);
			sim_reply(out, 200, arr);
		}
	} else if (!strcmp(p, "settings")) {
		settings(b, out);
	} else if (!strcmp(p, "reset")) {
		sim_reply(out, load_seed() ? 500 : 200, json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(p, "faults")) {
		if (!strcmp(r->method, "DELETE"))
			json_array_clear(g_faults);
		else if (json_is_array(b))
			json_array_extend(g_faults, b);
		else if (json_is_object(b))
			json_array_append(g_faults, b);
		sim_reply(out, 200, json_pack("{s:b}", "ok", 1));
	} else if (!strcmp(p, "patch") || !strcmp(p, "insert") || !strcmp(p, "delete")) {
		coll = collection(json_string_value(json_object_get(b, "collection")) ?: "");
		sim_id_text(json_object_get(b, "id"), id, sizeof(id));
		obj = json_is_array(coll) && *id ? sim_find_by_id(coll, id) : NULL;
		sim_now_iso(ts, sizeof(ts));
		if (!json_is_array(coll)) {
			sim_reply(out, 400, json_pack("{s:s}", "message", "unknown collection"));
		} else if (!strcmp(p, "insert")) {
			json_t *o = json_object_get(b, "object");

			if (!json_object_get(o, "id")) {
				sim_random_hex(id, 12);
				json_object_set_new(o, "id", json_string(id));
			}
			json_object_set_new(o, "created", json_string(ts));
			json_object_set_new(o, "updated", json_string(ts));
			json_array_append(coll, o);
			sim_reply(out, 200, json_incref(o));
		} else if (!obj) {
			sim_reply(out, 404, json_pack("{s:s}", "message", "no such object"));
		} else if (!strcmp(p, "patch")) {
			merge(obj, json_object_get(b, "set"));
			json_object_set_new(obj, "updated", json_string(ts));
			sim_reply(out, 200, json_incref(obj));
		} else {
			size_t i;
			json_t *o;

			json_array_foreach(coll, i, o)
				if (o == obj)
					break;
			json_array_remove(coll, i);
			sim_reply(out, 200, json_pack("{s:b}", "ok", 1));
		}
	} else {
		sim_reply(out, 404, json_pack("{s:s}", "message", "unknown /_sim route"));
	}
	json_decref(b);
}

/* ------------------------------------------------------------ server */

struct conn {
	char *body;
	size_t len;
	bool too_big;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static void dispatch(struct sim_req *r, struct sim_resp *out, json_t **fault,
		     const char **api_name)
{
	size_t i;

	for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
		size_t n = strlen(apis[i].prefix);

		if (strncmp(r->path, apis[i].prefix, n))
			continue;
		*api_name = apis[i].name;
		r->api_path = r->path + n;
		*fault = match_fault(r->method, r->path);
		if (*fault && !json_is_true(json_object_get(*fault, "commit")))
			return;
		apis[i].handle(r, out);
		return;
	}
	sim_reply(out, 404, json_pack("{s:s}", "message", "no such API"));
}

static enum MHD_Result send_json(struct MHD_Connection *c, const struct sim_resp *out)
{
	char *s = out->body ? json_dumps(out->body, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("");
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (out->extra_header[0]) {
		char name[64], *colon = strchr(out->extra_header, ':');

		if (colon && (size_t)(colon - out->extra_header) < sizeof(name)) {
			memcpy(name, out->extra_header, (size_t)(colon - out->extra_header));
			name[colon - out->extra_header] = '\0';
			MHD_add_response_header(resp, name, colon + 1 + (colon[1] == ' '));
		}
	}
	rc = MHD_queue_response(c, (unsigned)out->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result handle(struct sim_req *r)
{
	struct sim_resp out = { 500, NULL, "" };
	const char *api_name = "sim";
	json_t *fault = NULL;
	long delay = 0;
	int fstatus = -1;
	char query[512];
	enum MHD_Result rc;

	pthread_mutex_lock(&g_lock);
	if (!strncmp(r->path, "/_sim/", 6)) {
		control(r, &out);
	} else {
		dispatch(r, &out, &fault, &api_name);
		if (fault) {
			delay = (long)json_integer_value(json_object_get(fault, "delay_ms"));
			fstatus = (int)json_integer_value(json_object_get(fault, "status"));
			if (json_is_integer(json_object_get(fault, "retry_after")))
				snprintf(out.extra_header, sizeof(out.extra_header), "Retry-After: %d",
					 (int)json_integer_value(json_object_get(fault, "retry_after")));
			if (fstatus > 0) {
				json_t *fb = json_object_get(fault, "body");

				sim_reply(&out, fstatus, fb ? json_incref(fb)
							    : json_pack("{s:s}", "message", "injected fault"));
			}
		}
		log_query(r->conn, query, sizeof(query));
		json_array_append_new(g_log, json_pack("{s:I, s:s, s:s, s:s, s:i, s:s}", "seq",
			(json_int_t)++g_seq, "method", r->method, "path", r->path, "query", query,
			"status", out.status, "api", api_name));
	}
	pthread_mutex_unlock(&g_lock);
	json_decref(fault);
	sleep_ms(delay);
	if (!g_quiet && strncmp(r->path, "/_sim/", 6))
		fprintf(stderr, "reconcile-sim: %s %s -> %d\n", r->method, r->path, out.status);
	rc = send_json(r->conn, &out);
	json_decref(out.body);
	return rc;
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
		*ctx = calloc(1, sizeof(struct conn)); /* answer on the next call: keep-alive */
		return MHD_YES;
	}
	if (*size) {
		if (k->len + *size > MAX_BODY) {
			k->too_big = true;
		} else {
			k->body = realloc(k->body, k->len + *size + 1);
			memcpy(k->body + k->len, data, *size);
			k->len += *size;
			k->body[k->len] = '\0';
		}
		*size = 0;
		return MHD_YES;
	}
	if (k->too_big) {
		struct sim_resp out = { 413, json_pack("{s:s}", "message", "body too large"), "" };
		enum MHD_Result rc = send_json(c, &out);

		json_decref(out.body);
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = url;
	r.conn = c;
	r.body = k->body ? k->body : "";
	r.body_len = k->len;
	return handle(&r);
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *k = *ctx;

	(void)cls;
	(void)c;
	(void)toe;
	if (k) {
		free(k->body);
		free(k);
		*ctx = NULL;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static const char usage[] =
"Usage: reconcile-sim --seed FILE [--port N] [--bind ADDR] [--quiet]\n"
"\n"
"Simulates the Storeganise admin API (/storeganise/api/v1/admin/...), the\n"
"OpenTech Alliance auth + Access Control v2.0 API (/opentech/...) and OpenApp\n"
"access invites (/openapp/api/v1/...) and PTI StorLogix (/pti/...), with control\n"
"endpoints under /_sim/. Prints the port it listens on, alone on the first line\n"
"of stdout. See contrib/sim/README.md.\n";

int main(int argc, char **argv)
{
	const char *bind_addr = "127.0.0.1";
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	int i, port = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			g_seed_path = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			bind_addr = argv[++i];
		else if (!strcmp(argv[i], "--quiet"))
			g_quiet = true;
		else {
			fputs(usage, strcmp(argv[i], "--help") ? stderr : stdout);
			return strcmp(argv[i], "--help") ? 64 : 0;
		}
	}
	if (!g_seed_path) {
		fputs(usage, stderr);
		return 64;
	}
	if (load_seed())
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "reconcile-sim: bad --bind address %s\n", bind_addr);
		return 64;
	}
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, access_cb, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "reconcile-sim: cannot listen on %s:%d\n", bind_addr, port);
		return 1;
	}
	printf("%u\n", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	fflush(stdout);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	while (!g_stop)
		pause();
	MHD_stop_daemon(d);
	json_decref(g_state);
	json_decref(g_log);
	json_decref(g_faults);
	return 0;
}
