/*
 * e2e_sim.c: the simulator itself, on the wire, with libcurl: each kind of
 * injected fault (status codes and Retry-After, TCP resets before and
 * after the handler, delays before and after it, bodies cut on the wire or
 * in the JSON), replay with a seed, the marks in /_sim/requests, faults
 * from --faults and from the seed's "_faults", and per-API latency that
 * holds no server thread.
 *
 * Seed tests/e2e/data/basic.json; the probe is a custom field of the
 * Storeganise unit u1 written by PUT units/u1, read back in /_sim/state.
 * Waits are polls with a deadline, never sleeps.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SG "/storeganise/api/v1/admin/"

static const char *const SITES[][3] = { { "site1", "site1", "P1" } };

/* What the client got. */
struct ans {
	CURLcode cc;
	long status;          /* 0 without an answer */
	char body[4096];
	size_t len;
	int retry_after;      /* -1: no header */
	double ms;            /* wall time */
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
	struct ans *a = ud;
	size_t k = s * n, room = sizeof(a->body) - 1 - a->len;

	memcpy(a->body + a->len, p, k < room ? k : room);
	a->len += k < room ? k : room;
	a->body[a->len] = '\0';
	return k;
}

static size_t on_header(char *p, size_t s, size_t n, void *ud)
{
	struct ans *a = ud;

	if (s * n > 12 && !strncasecmp(p, "Retry-After:", 12))
		a->retry_after = atoi(p + 12);
	return s * n;
}

/* Set up e for one request to the simulator; headers: new, for the caller. */
static struct curl_slist *prepare(CURL *e, struct e2e *t, const char *method, const char *path,
				  const char *body, long timeout_ms, struct ans *a)
{
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: ApiKey demo-storeganise-key");
	char url[512];

	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	snprintf(url, sizeof(url), "%s%s", t->base, path);
	curl_easy_reset(e); /* keeps the connection cache */
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	return h;
}

/* One request on e (kept alive between calls), or on a connection of its
 * own when e is NULL. */
static struct ans call_on(CURL *e, struct e2e *t, const char *method, const char *path,
			  const char *body, long timeout_ms)
{
	CURL *own = e ? NULL : curl_easy_init();
	struct curl_slist *h;
	struct ans a;
	double t0;

	h = prepare(e ? e : own, t, method, path, body, timeout_ms, &a);
	t0 = now_ms();
	a.cc = curl_easy_perform(e ? e : own);
	a.ms = now_ms() - t0;
	if (a.cc == CURLE_OK)
		curl_easy_getinfo(e ? e : own, CURLINFO_RESPONSE_CODE, &a.status);
	curl_slist_free_all(h);
	if (own)
		curl_easy_cleanup(own);
	return a;
}

static struct ans call(struct e2e *t, const char *method, const char *path, const char *body)
{
	return call_on(NULL, t, method, path, body, 5000);
}

/* POST a fault configuration (printf format); it must be accepted. */
static void faults(struct e2e *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void faults(struct e2e *t, const char *fmt, ...)
{
	char body[2048];
	struct ans a;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	a = call(t, "POST", "/_sim/faults", body);
	if (a.status != 200)
		fprintf(stderr, "faults refused: %s -> %s\n", body, a.body);
	assert_int_equal(a.status, 200);
}

/* Write the probe: PUT units/u1 {"customFields":{"probe":value}}. */
static struct ans put_probe(struct e2e *t, CURL *e, const char *value, long timeout_ms)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"customFields\":{\"probe\":\"%s\"}}", value);
	return call_on(e, t, "PUT", SG "units/u1", body, timeout_ms);
}

/* The probe in the simulator's state (new string) or NULL. */
static char *probe(struct e2e *t)
{
	json_t *sg = sim_state_of(t, "storeganise");
	json_t *u = json_find_by(json_object_get(sg, "units"), "id", "u1");
	const char *v = json_string_value(json_object_get(json_object_get(u, "customFields"), "probe"));
	char *s = v ? strdup(v) : NULL;

	json_decref(sg);
	return s;
}

static void assert_probe(struct e2e *t, const char *want)
{
	char *v = probe(t);

	if (want)
		assert_string_equal(v ? v : "(none)", want);
	else
		assert_null(v);
	free(v);
}

/* The last logged request (new). */
static json_t *last_request(struct e2e *t)
{
	json_t *all = sim_requests(t), *last;

	assert_true(json_array_size(all) > 0);
	last = json_incref(json_array_get(all, json_array_size(all) - 1));
	json_decref(all);
	return last;
}

static void assert_logged(json_t *e, const char *fault, int handled, long status)
{
	assert_string_equal(json_string_value(json_object_get(e, "fault")) ?: "(none)", fault);
	assert_true(json_is_boolean(json_object_get(e, "handled")));
	assert_int_equal(json_is_true(json_object_get(e, "handled")), handled);
	assert_int_equal(json_integer_value(json_object_get(e, "status")), status);
}

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	e2e_start(t, "tests/e2e/data/basic.json", SITES, 1);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}

/* 500, 502, 503, 429: the handler does not run; 503 and 429 carry
 * Retry-After (configurable, or none with -1). */
static void test_status_faults(void **state)
{
	static const char *const kinds[] = { "500", "502", "503", "429" };
	struct e2e *t = *state;
	json_t *body, *e;
	struct ans a;
	size_t i;

	for (i = 0; i < 4; i++) {
		faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"PUT " SG
			  "units/*\",\"rates\":{\"%s\":1},\"retry_after\":7}]}", kinds[i]);
		a = put_probe(t, NULL, kinds[i], 5000);
		assert_int_equal(a.cc, CURLE_OK);
		assert_int_equal(a.status, atoi(kinds[i]));
		assert_int_equal(a.retry_after, i >= 2 ? 7 : -1);
		body = json_loads(a.body, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(body, "fault")), kinds[i]);
		json_decref(body);
		e = last_request(t);
		assert_logged(e, kinds[i], 0, atoi(kinds[i]));
		json_decref(e);
	}
	assert_probe(t, NULL);
	faults(t, "{\"rules\":[{\"api\":\"storeganise\",\"rates\":{\"503\":1},\"retry_after\":-1}]}");
	a = put_probe(t, NULL, "x", 5000);
	assert_int_equal(a.status, 503);
	assert_int_equal(a.retry_after, -1);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	a = put_probe(t, NULL, "ok", 5000);
	assert_int_equal(a.status, 200);
	assert_probe(t, "ok");
}

/* reset_before: a TCP reset, the handler never ran; reset_after: the
 * handler committed, then the reset: the state changed, no answer came. */
static void test_resets(void **state)
{
	struct e2e *t = *state;
	struct ans a;
	json_t *e;

	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"PUT " SG
		  "units/*\",\"rates\":{\"reset_before\":1}}]}");
	a = put_probe(t, NULL, "before", 5000);
	assert_int_equal(a.cc, CURLE_RECV_ERROR); /* "Connection reset by peer" */
	assert_int_equal(a.status, 0);
	assert_probe(t, NULL);
	e = last_request(t);
	assert_logged(e, "reset_before", 0, 0);
	json_decref(e);

	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"PUT " SG
		  "units/*\",\"rates\":{\"reset_after\":1}}]}");
	a = put_probe(t, NULL, "after", 5000);
	assert_int_equal(a.cc, CURLE_RECV_ERROR);
	assert_probe(t, "after");
	e = last_request(t);
	assert_logged(e, "reset_after", 1, 0);
	json_decref(e);
}

/* libcurl, not the simulator: a request sent on a reused keep-alive
 * connection that dies before any byte of answer is sent again, once, on
 * a new connection, PUT and POST included ("Connection died, retrying a
 * fresh connect"). With reset_after the vendor thus acts twice for one
 * call; a client that must not repeat a write cannot rely on libcurl. */
static void test_reset_on_a_reused_connection_is_sent_again_by_libcurl(void **state)
{
	struct e2e *t = *state;
	CURL *e = curl_easy_init();
	json_t *reqs;
	struct ans a;

	a = call_on(e, t, "GET", SG "units/u2", NULL, 5000); /* opens the connection */
	assert_int_equal(a.status, 200);
	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"PUT " SG
		  "units/*\",\"rates\":{\"reset_after\":1}}]}");
	sim_clear_requests(t);
	a = put_probe(t, e, "twice", 5000);
	assert_int_equal(a.cc, CURLE_RECV_ERROR);
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "PUT", SG "units/u1"), 2);
	json_decref(reqs);
	curl_easy_cleanup(e);
}

/* truncate: Content-Length of the whole body, half of it, then the
 * connection closes; truncate_json: a complete answer whose JSON is cut. */
static void test_truncated_bodies(void **state)
{
	struct e2e *t = *state;
	struct ans full, a;
	json_t *e;

	full = call(t, "GET", SG "units/u1", NULL);
	assert_int_equal(full.status, 200);
	assert_true(full.len > 20);
	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"GET " SG
		  "units/*\",\"rates\":{\"truncate\":1}}]}");
	a = call(t, "GET", SG "units/u1", NULL);
	assert_int_equal(a.cc, CURLE_PARTIAL_FILE);
	assert_int_equal(a.len, full.len / 2);
	assert_memory_equal(a.body, full.body, a.len);
	e = last_request(t);
	assert_logged(e, "truncate", 1, 200);
	json_decref(e);

	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"GET " SG
		  "units/*\",\"rates\":{\"truncate_json\":1}}]}");
	a = call(t, "GET", SG "units/u1", NULL);
	assert_int_equal(a.cc, CURLE_OK);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.len, full.len / 2);
	assert_memory_equal(a.body, full.body, a.len);
	assert_null(json_loads(a.body, 0, NULL));
	e = last_request(t);
	assert_logged(e, "truncate_json", 1, 200);
	json_decref(e);
}

/* The first logged request whose "handled" is known, polled up to
 * deadline_ms (new, or NULL). */
static json_t *wait_handled(struct e2e *t, double deadline_ms)
{
	json_t *reqs, *e;

	while (now_ms() < deadline_ms) {
		reqs = sim_requests(t);
		e = json_array_get(reqs, 0);
		if (json_object_get(e, "handled")) {
			json_incref(e);
			json_decref(reqs);
			return e;
		}
		json_decref(reqs);
		poll(NULL, 0, 5); /* between polls */
	}
	return NULL;
}

/* delay_after: committed at once, answered after delay_ms (the client
 * timed out first); delay_before: held delay_ms first, then dropped since
 * the client left, or handled when it waited. */
static void test_delays(void **state)
{
	struct e2e *t = *state;
	struct ans a;
	json_t *e;

	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"PUT " SG
		  "units/*\",\"rates\":{\"delay_after\":1},\"delay_ms\":1500}]}");
	a = put_probe(t, NULL, "d1", 300);
	assert_int_equal(a.cc, CURLE_OPERATION_TIMEDOUT);
	assert_true(a.ms < 1000);
	assert_probe(t, "d1");                       /* committed before the wait */

	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"PUT " SG
		  "units/*\",\"rates\":{\"delay_before\":1},\"delay_ms\":600}]}");
	sim_clear_requests(t);
	a = put_probe(t, NULL, "d2", 200);
	assert_int_equal(a.cc, CURLE_OPERATION_TIMEDOUT);
	e = last_request(t);
	assert_null(json_object_get(e, "handled"));  /* still waiting */
	json_decref(e);
	e = wait_handled(t, now_ms() + 5000);
	assert_non_null(e);
	assert_logged(e, "delay_before", 0, 0);      /* dropped */
	json_decref(e);
	assert_probe(t, "d1");

	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"PUT " SG
		  "units/*\",\"rates\":{\"delay_before\":1},\"delay_ms\":300}]}");
	a = put_probe(t, NULL, "d3", 5000);
	assert_int_equal(a.status, 200);
	assert_true(a.ms >= 295);
	assert_probe(t, "d3");
	e = last_request(t);
	assert_logged(e, "delay_before", 1, 200);
	json_decref(e);
}

/* 40 GETs on one connection under a mixed rule: their outcomes as text. */
static void outcomes(struct e2e *t, char *out, size_t n)
{
	CURL *e = curl_easy_init();
	size_t used = 0;
	struct ans a;
	int i;

	out[0] = '\0';
	for (i = 0; i < 40; i++) {
		a = call_on(e, t, "GET", SG "units/u1", NULL, 5000);
		assert_int_equal(a.cc, CURLE_OK);
		used += (size_t)snprintf(out + used, n - used, "%ld/%zu ", a.status, a.len);
	}
	curl_easy_cleanup(e);
}

#define MIXED "\"rules\":[{\"api\":\"storeganise\",\"route\":\"GET " SG "units/*\"," \
	      "\"rates\":{\"500\":0.25,\"503\":0.25,\"truncate_json\":0.2}}]"

/* The same seed and the same requests give the same faults; every
 * faulted request is marked in /_sim/requests; GET /_sim/faults counts. */
static void test_replay_with_a_seed(void **state)
{
	struct e2e *t = *state;
	char first[1024], again[1024], other[1024];
	json_t *reqs, *e, *cfg, *rule;
	size_t i, marked = 0, clean = 0, hits = 0;
	const char *k;
	json_t *v;

	faults(t, "{\"seed\":42," MIXED "}");
	sim_clear_requests(t);
	outcomes(t, first, sizeof(first));
	reqs = sim_requests(t);
	json_array_foreach(reqs, i, e) {
		const char *f = json_string_value(json_object_get(e, "fault"));

		if (f) {
			marked++;
			assert_true(!strcmp(f, "500") || !strcmp(f, "503") || !strcmp(f, "truncate_json"));
		} else {
			clean++;
			assert_int_equal(json_integer_value(json_object_get(e, "status")), 200);
		}
	}
	json_decref(reqs);
	assert_int_equal(marked + clean, 40);
	assert_true(marked > 10 && clean > 5);
	cfg = sim_get(t, "/_sim/faults");
	rule = json_array_get(json_object_get(cfg, "rules"), 0);
	assert_int_equal(json_integer_value(json_object_get(cfg, "seed")), 42);
	assert_int_equal(json_integer_value(json_object_get(rule, "matched")), 40);
	json_object_foreach(json_object_get(rule, "faults"), k, v)
		hits += (size_t)json_integer_value(v);
	assert_int_equal(hits, marked);
	json_decref(cfg);

	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	faults(t, "{\"seed\":42," MIXED "}");
	outcomes(t, again, sizeof(again));
	assert_string_equal(first, again);
	faults(t, "{\"seed\":43," MIXED "}");
	outcomes(t, other, sizeof(other));
	assert_string_not_equal(first, other);
}

/* Routes: a glob per segment and a method; /_sim/ never meets a fault. */
static void test_routes_and_control_untouched(void **state)
{
	struct e2e *t = *state;

	faults(t, "{\"seed\":1,\"rules\":[{\"rates\":{\"500\":1}}]}"); /* every API, every route */
	assert_int_equal(call(t, "GET", "/_sim/health", NULL).status, 200);
	assert_int_equal(call(t, "GET", SG "units/u1", NULL).status, 500);
	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"storeganise\",\"route\":\"GET " SG
		  "units/*\",\"rates\":{\"500\":1}}]}");
	assert_int_equal(call(t, "GET", SG "units/u1", NULL).status, 500);
	assert_int_equal(call(t, "GET", SG "units", NULL).status, 200);        /* no segment */
	assert_int_equal(call(t, "GET", SG "unit-rentals/r1", NULL).status, 200);
	assert_int_equal(put_probe(t, NULL, "m", 5000).status, 200);            /* not a GET */
	faults(t, "{\"seed\":1,\"rules\":[{\"api\":\"opentech\",\"route\":\"" SG "**\","
		  "\"rates\":{\"500\":1}}]}");
	assert_int_equal(call(t, "GET", SG "units/u1", NULL).status, 200);     /* another API */
	faults(t, "{\"seed\":1,\"rules\":[{\"route\":\"/storeganise/**\",\"rates\":{\"502\":1}}]}");
	assert_int_equal(call(t, "GET", SG "units/u1", NULL).status, 502);
}

/* A refused configuration says why and changes nothing. */
static void test_bad_configurations(void **state)
{
	static const char *const bad[] = {
		"{\"rules\":[{\"rates\":{\"500\":0.7,\"503\":0.7}}]}",
		"{\"rules\":[{\"rates\":{\"404\":0.5}}]}",
		"{\"rules\":[{\"api\":\"nope\",\"rates\":{\"500\":0.5}}]}",
		"{\"rules\":[{\"rate\":{\"500\":0.5}}]}",
		"{\"rules\":[{\"route\":\"GET units\",\"rates\":{\"500\":0.5}}]}",
		"{\"rules\":[{\"rates\":{\"500\":0.5},\"delay_ms\":-1}]}",
		"{\"seed\":-3}",
		"{\"sed\":3,\"rules\":[]}",
		"17",
	};
	struct e2e *t = *state;
	json_t *cfg;
	struct ans a;
	size_t i;

	faults(t, "{\"seed\":7,\"rules\":[{\"rates\":{\"500\":0.5}}]}");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = call(t, "POST", "/_sim/faults", bad[i]);
		assert_int_equal(a.status, 400);
		assert_non_null(strstr(a.body, "message"));
	}
	cfg = sim_get(t, "/_sim/faults");
	assert_int_equal(json_integer_value(json_object_get(cfg, "seed")), 7);
	assert_int_equal(json_array_size(json_object_get(cfg, "rules")), 1);
	json_decref(cfg);
}

/* Start reconcile-sim with --seed seed and --faults faults_file (unless
 * NULL), both absolute, the way the harness does. */
static void start_with(struct e2e *t, const char *seed, const char *faults_file)
{
	const char *sim = getenv("RECONCILE_SIM_BIN") ?: "build/reconcile-sim";
	char logp[300];
	int fd[2], lfd;
	FILE *f;

	assert_int_equal(pipe(fd), 0);
	t->sim_pid = fork();
	if (t->sim_pid == 0) {
		snprintf(logp, sizeof(logp), "%s/sim.log", t->dir);
		lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd[1], STDOUT_FILENO);
		if (lfd >= 0)
			dup2(lfd, STDERR_FILENO);
		close(fd[0]);
		if (faults_file)
			execl(sim, sim, "--seed", seed, "--faults", faults_file, "--port", "0", (char *)NULL);
		else
			execl(sim, sim, "--seed", seed, "--port", "0", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &t->port), 1);
	fclose(f);
	snprintf(t->base, sizeof(t->base), "http://127.0.0.1:%d", t->port);
}

static void stop_sim(struct e2e *t)
{
	kill(t->sim_pid, SIGTERM);
	waitpid(t->sim_pid, NULL, 0);
	t->sim_pid = 0;
}

/* The seed's "_faults" and --faults FILE: the default configuration, back
 * after /_sim/reset; --faults replaces the seed's; "_faults" is not state. */
static void test_faults_from_the_seed_and_the_command_line(void **state)
{
	struct e2e *t = *state;
	char seed[400], ffile[400], src[512];
	json_t *s, *st;
	struct ans a;

	stop_sim(t); /* this test starts its own */
	snprintf(src, sizeof(src), "%s/tests/e2e/data/basic.json",
		 getenv("RECONCILE_SOURCE_DIR") ?: RECONCILE_SOURCE_DIR);
	snprintf(seed, sizeof(seed), "%s/seed.json", t->dir);
	snprintf(ffile, sizeof(ffile), "%s/faults.json", t->dir);
	s = json_load_file(src, 0, NULL);
	assert_non_null(s);
	json_object_set_new(s, "_faults", json_loads("{\"seed\":5,\"rules\":[{\"api\":\"storeganise\","
		"\"route\":\"GET " SG "sites\",\"rates\":{\"502\":1}}]}", 0, NULL));
	assert_int_equal(json_dump_file(s, seed, 0), 0);
	json_decref(s);
	s = json_loads("{\"seed\":9,\"rules\":[{\"api\":\"storeganise\",\"route\":\"GET " SG
		       "units/*\",\"rates\":{\"429\":1},\"retry_after\":3}]}", 0, NULL);
	assert_int_equal(json_dump_file(s, ffile, 0), 0);
	json_decref(s);

	start_with(t, seed, NULL);
	assert_int_equal(call(t, "GET", SG "sites", NULL).status, 502);
	assert_int_equal(call(t, "GET", SG "units/u1", NULL).status, 200);
	st = sim_get(t, "/_sim/state");
	assert_null(json_object_get(st, "_faults"));
	json_decref(st);
	stop_sim(t);

	start_with(t, seed, ffile);
	a = call(t, "GET", SG "units/u1", NULL);
	assert_int_equal(a.status, 429);
	assert_int_equal(a.retry_after, 3);
	assert_int_equal(call(t, "GET", SG "sites", NULL).status, 200);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	assert_int_equal(call(t, "GET", SG "units/u1", NULL).status, 200);
	json_decref(sim_post(t, "/_sim/reset", NULL));
	assert_int_equal(call(t, "GET", SG "units/u1", NULL).status, 429);
}

/* Per-API latency: every request to the API waits latency_ms plus up to
 * jitter_ms, other APIs and /_sim/ do not, and waiting requests hold no
 * server thread (8 at once take one latency, not four). */
static void test_latency(void **state)
{
	struct e2e *t = *state;
	struct ans a[9];
	struct curl_slist *h[9];
	CURL *e[9];
	CURLM *m = curl_multi_init();
	json_t *last;
	double t0, lo = 1e9, hi = 0;
	int i, running = 1;

	json_decref(sim_post(t, "/_sim/settings", json_pack("{s:{s:i}}", "storeganise", "latency_ms", 400)));
	a[0] = call(t, "GET", SG "units/u1", NULL);
	assert_int_equal(a[0].status, 200);
	assert_true(a[0].ms >= 395);
	last = last_request(t);
	assert_int_equal(json_integer_value(json_object_get(last, "status")), 200);
	assert_null(json_object_get(last, "fault"));
	json_decref(last);
	a[0] = call(t, "GET", "/opentech/facilities", NULL);
	assert_int_equal(a[0].status, 401);                      /* another API: at once */
	assert_true(a[0].ms < 300);

	for (i = 0; i < 9; i++) {
		e[i] = curl_easy_init();
		h[i] = prepare(e[i], t, "GET", i < 8 ? SG "units/u1" : "/_sim/health", NULL, 5000, &a[i]);
		curl_multi_add_handle(m, e[i]);
	}
	t0 = now_ms();
	while (running) {
		curl_multi_perform(m, &running);
		for (i = 0; i < 9; i++)
			if (a[i].len && !a[i].ms)
				a[i].ms = now_ms() - t0;  /* first bytes of the answer */
		if (running)
			curl_multi_poll(m, NULL, 0, 20, NULL);
	}
	for (i = 0; i < 9; i++) {
		curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &a[i].status);
		assert_int_equal(a[i].status, 200);
		curl_multi_remove_handle(m, e[i]);
		curl_easy_cleanup(e[i]);
		curl_slist_free_all(h[i]);
	}
	curl_multi_cleanup(m);
	assert_true(a[8].ms < 300);                              /* /_sim/health did not wait */
	for (i = 0; i < 8; i++)
		assert_true(a[i].ms >= 395 && a[i].ms < 1200);   /* together, not in turns */

	json_decref(sim_post(t, "/_sim/settings", json_pack("{s:{s:i, s:i}}", "storeganise",
							   "latency_ms", 50, "jitter_ms", 150)));
	for (i = 0; i < 6; i++) {
		a[0] = call(t, "GET", SG "units/u1", NULL);
		lo = a[0].ms < lo ? a[0].ms : lo;
		hi = a[0].ms > hi ? a[0].ms : hi;
	}
	assert_true(lo >= 48 && hi < 500);
	a[0] = call(t, "POST", "/_sim/settings", "{\"storeganise\":{\"latency_ms\":-5}}");
	assert_int_equal(a[0].status, 400);
}

/* Per-item latency: a list answer waits item_latency_us per item it
 * holds, after its handler; one object is no list. */
static void test_item_latency(void **state)
{
	struct e2e *t = *state;
	struct ans a;

	json_decref(sim_post(t, "/_sim/settings", json_pack("{s:{s:i}}", "storeganise",
							   "item_latency_us", 400000)));
	a = call(t, "GET", SG "units?limit=2", NULL);
	assert_int_equal(a.status, 200);
	assert_true(a.ms >= 795);                                /* 2 items x 400 ms */
	a = call(t, "GET", SG "units?limit=1", NULL);
	assert_true(a.ms >= 395 && a.ms < 795);
	a = call(t, "GET", SG "units/u1", NULL);
	assert_int_equal(a.status, 200);
	assert_true(a.ms < 395);
	a = call(t, "POST", "/_sim/settings", "{\"storeganise\":{\"item_latency_us\":-1}}");
	assert_int_equal(a.status, 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_on_a_reused_connection_is_sent_again_by_libcurl,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_with_a_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes_and_control_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_configurations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults_from_the_seed_and_the_command_line, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_latency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_item_latency, setup, teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
