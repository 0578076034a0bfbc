/*
 * e2e_serve.c: reconcile serve with real signed webhooks over HTTP, against
 * the simulator (seed tests/e2e/data/basic.json, as e2e_opentech.c).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "core/common.h"

#define SECRET "e2e-webhook-secret"   /* E2E_SG_WEBHOOK_SECRET of the harness */

static const char *const SITES[][3] = { { "site1", "site1", "P1" } };

static int setup(void **state)
{
	struct e2e_srv *s = calloc(1, sizeof(*s));

	e2e_start(&s->t, "tests/e2e/data/basic.json", SITES, 1);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	e2e_srv_free(*state);
	return 0;
}

static void serve_start(struct e2e_srv *s)
{
	e2e_serve_start(&s->t, &s->pid, &s->port);
}

static int serve_stop(struct e2e_srv *s)
{
	return e2e_serve_stop(&s->pid);
}

static long post_event(struct e2e_srv *s, const char *path, const char *body, bool forge, char **answer)
{
	return e2e_serve_post(s->port, path, body, forge ? "wrong" : SECRET, answer);
}

static long get(struct e2e_srv *s, const char *path, char **answer)
{
	return e2e_serve_post(s->port, path, NULL, NULL, answer);
}

static bool wait_tenants(struct e2e_srv *s, const char *unit, size_t n, int seconds)
{
	int i;

	for (i = 0; i < seconds * 10; i++) {
		if (sim_tenants_on(&s->t, unit) == n)
			return true;
		usleep(100000);
	}
	return false;
}

static double metric(struct e2e_srv *s, const char *name)
{
	return e2e_serve_metric(s->port, name);
}

static void insert_rental(struct e2e_srv *s, const char *id, const char *unit, const char *owner)
{
	sim_insert_rental(&s->t, "site1", id, unit, owner);
}

/* The start-up reconcile is over: what runs next is the test's. */
static void wait_idle(struct e2e_srv *s)
{
	assert_true(e2e_serve_settle(s->port));
}

static void test_webhooks(void **state)
{
	struct e2e_srv *s = *state;
	char *ans = NULL;

	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 10));          /* converged at start */
	assert_int_equal(get(s, "/healthz", NULL), 200);
	assert_int_equal(get(s, "/readyz", NULL), 200);
	assert_true(metric(s, "reconcile_build_info{version=\"" RECONCILE_VERSION "\"} ") == 1);

	/* a move-in webhook leads to the vendor call */
	insert_rental(s, "r4", "u4", "c4");
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"ev-1\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"unitRentalId\":\"r4\"}}",
		false, &ans), 200);
	assert_non_null(strstr(ans, "accepted"));
	free(ans);
	assert_true(wait_tenants(s, "U4", 1, 10));

	/* R8: the code written back to r4 comes back as unitRental.updated:
	 * it is reconciled and changes nothing */
	{
		double runs;
		json_t *reqs;
		char *code;
		int i;

		wait_idle(s);
		code = sim_rental_field(&s->t, "r4", "opentech_accessCode");
		assert_non_null(code);                       /* written back */
		free(code);
		runs = metric(s, "reconcile_duration_seconds_count ");
		sim_clear_requests(&s->t);
		assert_int_equal(post_event(s, "/webhooks/storeganise",
			"{\"id\":\"ev-echo\",\"type\":\"unitRental.updated\",\"data\":{\"unitRentalId\":\"r4\","
			"\"changedKeys\":[\"customFields.opentech_accessCode\"]}}", false, NULL), 200);
		for (i = 0; i < 50 && metric(s, "reconcile_duration_seconds_count ") <= runs; i++)
			usleep(100000);
		assert_true(metric(s, "reconcile_duration_seconds_count ") > runs);
		reqs = sim_requests(&s->t);
		assert_true(count_requests(reqs, "GET", "/unit-rentals/r4") > 0);  /* it was looked at */
		assert_int_equal(count_requests(reqs, "POST", "/opentech/facilities/") +
				 count_requests(reqs, "PUT", "/opentech/facilities/") +
				 count_requests(reqs, "DELETE", "/opentech/facilities/") +
				 count_requests(reqs, "PUT", "/v1/admin/"), 0);
		json_decref(reqs);
	}

	/* a forged signature gets 401 and changes nothing */
	insert_rental(s, "r5", "u5", "c5");
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"ev-2\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"unitRentalId\":\"r5\"}}",
		true, NULL), 401);
	usleep(500000);
	assert_int_equal(sim_tenants_on(&s->t, "U5"), 0);

	/* the same event twice is processed once */
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"ev-1\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"unitRentalId\":\"r4\"}}",
		false, &ans), 200);
	assert_non_null(strstr(ans, "duplicate"));
	free(ans);
	assert_true(metric(s, "reconcile_webhook_events_total{outcome=\"duplicate\"} ") == 1);
	assert_true(metric(s, "reconcile_webhook_events_total{outcome=\"rejected\"} ") == 1);

	/* a body over serve.max_body (1 MiB) gets 413 and is not read */
	{
		size_t n = (2u << 20) + 100;
		char *big = malloc(n + 1);

		memset(big, ' ', n);
		memcpy(big, "{\"id\":\"big\",\"type\":\"unitRental.updated\",\"pad\":\"", 47);
		memcpy(big + n - 2, "\"}", 2);
		big[n] = '\0';
		assert_int_equal(post_event(s, "/webhooks/storeganise", big, false, NULL), 413);
		free(big);
		assert_true(metric(s, "reconcile_webhook_events_total{outcome=\"rejected\"} ") == 2);
		assert_int_equal(get(s, "/healthz", NULL), 200);
	}

	/* the webhook for r5 was lost: the periodic loop corrects it */
	assert_true(wait_tenants(s, "U5", 1, 30));
	assert_int_equal(serve_stop(s), 0);
}

static void test_burst_and_sigterm(void **state)
{
	struct e2e_srv *s = *state;
	const char *rentals[] = { "r1", "r2", "r3" };
	const char *args[] = { "plan", "-c", s->t.spec, "--detailed-exitcode", NULL };
	char body[200];
	struct run r;
	int i;

	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 10));
	usleep(300000);
	sim_clear_requests(&s->t);
	insert_rental(s, "r6", "u6", "c6");
	for (i = 0; i < 1000; i++) {
		snprintf(body, sizeof(body), "{\"id\":\"burst-%d\",\"type\":\"unitRental.updated\","
			 "\"data\":{\"unitRentalId\":\"%s\"}}", i, i == 500 ? "r6" : rentals[i % 3]);
		long st = post_event(s, "/webhooks/storeganise", body, false, NULL);

		if (st != 200)
			fail_msg("burst event %d: HTTP %ld", i, st);
	}
	assert_true(wait_tenants(s, "U6", 1, 20));
	/* never one key, nor one unit, twice at once (a one-rental run is
	 * done before its rental's next event here: nothing to coalesce) */
	assert_true(metric(s, "reconcile_claim_holders_max ") == 1);
	/* keep-alive: the PMS is asked many times over a handful of connections */
	assert_true(metric(s, "reconcile_http_connections_total{peer=\"storeganise\"} ") >= 1);
	assert_true(metric(s, "reconcile_http_requests_total{peer=\"storeganise\"} ") >=
		    4 * metric(s, "reconcile_http_connections_total{peer=\"storeganise\"} "));
	/* the webhooks, sent one after the other, each answered once its
	 * commit in the events' lane was durable; the runs wrote the state's */
	assert_true(metric(s, "reconcile_state_commit_seconds_count{lane=\"events\"} ") >= 1000);
	assert_true(metric(s, "reconcile_state_commit_seconds_count{lane=\"state\"} ") >= 1);
	{
		/* the OpenTech token of the first reconcile is reused */
		json_t *reqs = sim_requests(&s->t);

		assert_int_equal(count_requests(reqs, "POST", "/opentech/auth/token"), 0);
		assert_true(count_requests(reqs, "POST", "/opentech/facilities/101/") > 0);
		json_decref(reqs);
	}
	/* SIGTERM in the middle of another burst loses nothing */
	sim_patch(&s->t, "storeganise.unitRentals", "r6", json_pack("{s:s}", "state", "ended"));
	for (i = 0; i < 50; i++) {
		snprintf(body, sizeof(body), "{\"id\":\"late-%d\",\"type\":\"unitRental.updated\","
			 "\"data\":{\"unitRentalId\":\"r%d\"}}", i, 1 + i % 3);
		post_event(s, "/webhooks/storeganise", body, false, NULL);
	}
	assert_int_equal(serve_stop(s), 0);
	serve_start(s);                               /* a restart converges */
	assert_true(wait_tenants(s, "U6", 0, 20));
	assert_int_equal(sim_tenants_on(&s->t, "U1"), 1); /* no duplicate tenant */
	assert_int_equal(serve_stop(s), 0);
	r = e2e_reconcile(&s->t, args);
	assert_int_equal(r.status, 0);
	run_free(&r);
}

/* True when one line of serve's log holds both a and b. */
static bool log_line_has(struct e2e_srv *s, const char *a, const char *b)
{
	char path[320], *logs = NULL, *line, *save = NULL;
	struct rc_err err;
	bool found = false;

	snprintf(path, sizeof(path), "%s/bg.err", s->t.dir);
	if (rc_read_file(path, &logs, NULL, &err))
		return false;
	for (line = strtok_r(logs, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save))
		found = strstr(line, a) && strstr(line, b);
	free(logs);
	return found;
}

/* 100 more units at site1 (B100..B199, rentals rb100..), unknown to the
 * running serve: only webhooks bring them in. */
static void add_hundred_units(struct e2e_srv *s)
{
	e2e_add_opentech_units(&s->t, "site1", 101, 100, 100);
}

/* Units B100..B199 holding n tenants each: how many do not. */
static int hundred_off(struct e2e_srv *s, size_t n)
{
	char num[16];
	int i, off = 0;

	for (i = 100; i < 200; i++) {
		snprintf(num, sizeof(num), "B%d", i);
		off += sim_tenants_on(&s->t, num) != n;
	}
	return off;
}

/* 1,000 signed events over 100 units, interleaved and of mixed types:
 * never one key (nor one site) twice at once, every unit gets its one
 * tenant. Then 100 move-outs with SIGTERM half-way through their burst:
 * after a restart all are revoked, no tenant is doubled, the plan is empty. */
static void test_burst_hundred_units(void **state)
{
	static const char *const types[] = { "unitRental.updated", "job.unit_moveIn.completed",
					     "unitRental.unmarkOverdue" };
	struct e2e_srv *s = *state;
	const char *args[] = { "plan", "-c", s->t.spec, "--detailed-exitcode", NULL };
	char body[200], rid[16];
	int i, st, tries;
	struct run r;
	json_t *spec = json_load_file(s->t.spec, 0, NULL);

	/* the whole block moves out at once: R10 would hold the restart's
	 * full reconcile back (rightly) unless the operator expects it */
	json_object_set_new(json_array_get(json_object_get(spec, "sites"), 0), "max_destructive",
			    json_real(1.0));
	assert_int_equal(json_dump_file(spec, s->t.spec, 0), 0);
	json_decref(spec);
	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 10));
	add_hundred_units(s);
	for (i = 0; i < 1000; i++) {
		snprintf(body, sizeof(body), "{\"id\":\"h-%d\",\"type\":\"%s\","
			 "\"data\":{\"unitRentalId\":\"rb%d\"}}", i, types[i % 3], 100 + (i * 7) % 100);
		st = (int)post_event(s, "/webhooks/storeganise", body, false, NULL);
		if (st != 200)
			fail_msg("burst event %d: HTTP %d", i, st);
	}
	for (tries = 0; tries < 600 && hundred_off(s, 1); tries++)
		usleep(100000);
	assert_int_equal(hundred_off(s, 1), 0);
	assert_true(metric(s, "reconcile_claim_holders_max ") == 1);
	assert_true(metric(s, "reconcile_queue_running_max ") >= 1);

	/* all move out; SIGTERM after half of the burst */
	for (i = 100; i < 200; i++) {
		snprintf(rid, sizeof(rid), "rb%d", i);
		sim_patch(&s->t, "storeganise.unitRentals", rid, json_pack("{s:s}", "state", "ended"));
	}
	for (i = 0; i < 200; i++) {
		if (i == 100)
			kill(s->pid, SIGTERM);
		snprintf(body, sizeof(body), "{\"id\":\"out-%d\",\"type\":\"job.unit_moveOut.completed\","
			 "\"data\":{\"unitRentalId\":\"rb%d\"}}", i, 100 + i % 100);
		post_event(s, "/webhooks/storeganise", body, false, NULL); /* may be refused once stopped */
	}
	waitpid(s->pid, &st, 0);
	s->pid = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	serve_start(s);                                   /* the restart converges */
	for (tries = 0; tries < 600 && hundred_off(s, 0); tries++)
		usleep(100000);
	assert_int_equal(hundred_off(s, 0), 0);
	assert_int_equal(sim_tenants_on(&s->t, "U1"), 1); /* nothing doubled */
	assert_int_equal(serve_stop(s), 0);
	r = e2e_reconcile(&s->t, args);
	assert_int_equal(r.status, 0);
	run_free(&r);
}

/* R10 over time: 15 move-outs arrive one webhook each; the runs vacate up
 * to the site's limit (10% of 106 managed units) and then stop, although
 * no single plan exceeds it and a whole-site run would see only 5 more;
 * the operator's --allow-destructive finishes. */
static void test_R10_scoped_move_outs(void **state)
{
	struct e2e_srv *s = *state;
	const char *args[] = { "apply", "-c", s->t.spec, "--auto-approve", "--allow-destructive", NULL };
	char body[200], rid[16], path[320], *logs = NULL;
	struct rc_err err;
	int i, tries;

	add_hundred_units(s);
	serve_start(s);
	for (tries = 0; tries < 300 && hundred_off(s, 1); tries++)
		usleep(100000);
	assert_int_equal(hundred_off(s, 1), 0);
	for (i = 100; i < 115; i++) {
		snprintf(rid, sizeof(rid), "rb%d", i);
		sim_patch(&s->t, "storeganise.unitRentals", rid, json_pack("{s:s}", "state", "ended"));
		snprintf(body, sizeof(body), "{\"id\":\"mo-%d\",\"type\":\"job.unit_moveOut.completed\","
			 "\"data\":{\"unitRentalId\":\"%s\"}}", i, rid);
		assert_int_equal(post_event(s, "/webhooks/storeganise", body, false, NULL), 200);
	}
	/* every held-back rental has been tried (failures retry with backoff) */
	for (tries = 0; tries < 300 && metric(s, "reconcile_errors_total ") < 5; tries++)
		usleep(100000);
	assert_true(metric(s, "reconcile_errors_total ") >= 5);
	/* a whole-site run (a unit event) is held back too */
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"mo-unit\",\"type\":\"unit.updated\",\"data\":{\"unitId\":\"ub100\"}}",
		false, NULL), 200);
	for (tries = 0; tries < 300 && !log_line_has(s, "site site1: reconciled", "after 10 in the last hour");
	     tries++)
		usleep(100000);
	assert_true(log_line_has(s, "site site1: reconciled", "after 10 in the last hour"));
	assert_int_equal(hundred_off(s, 1), 10);     /* 10 vacated, 5 held back */
	assert_int_equal(serve_stop(s), 0);
	snprintf(path, sizeof(path), "%s/bg.err", s->t.dir);
	assert_int_equal(rc_read_file(path, &logs, NULL, &err), 0);
	assert_non_null(strstr(logs, "after 10 in the last hour"));
	free(logs);
	assert_int_equal(e2e_status(&s->t, args), 0);
	assert_int_equal(hundred_off(s, 0), 85);     /* the 15 ended, the rest kept */
	assert_int_equal(sim_tenants_on(&s->t, "U1"), 1);
}

/* R10 counts vacates that ran, not attempts: a move-out whose vacate the
 * vendor refuses, retried more times than the site's limit (3), still
 * goes through once the vendor accepts it. */
static void test_R10_failed_vacates_do_not_count(void **state)
{
	struct e2e_srv *s = *state;
	int i;

	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 10));
	wait_idle(s);
	json_decref(sim_post(&s->t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:b}]",
		"method", "POST", "path_contains", "/vacate", "status", 400, "times", -1, "commit", 0)));
	sim_patch(&s->t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "state", "ended"));
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"fv-1\",\"type\":\"job.unit_moveOut.completed\",\"data\":{\"unitRentalId\":\"r1\"}}",
		false, NULL), 200);
	for (i = 0; i < 300 && metric(s, "reconcile_errors_total ") < 5; i++)
		usleep(100000);
	assert_true(metric(s, "reconcile_errors_total ") >= 5); /* 5 refused vacates */
	assert_int_equal(sim_tenants_on(&s->t, "U1"), 1);
	assert_int_equal(sim_delete(&s->t, "/_sim/faults"), 200);
	assert_true(wait_tenants(s, "U1", 0, 60));
	assert_false(log_line_has(s, "site site1", "in the last hour"));
	assert_int_equal(serve_stop(s), 0);
}

/* SIGHUP reloads the spec; an invalid one is logged and the old one kept. */
static void test_sighup_reload(void **state)
{
	struct e2e_srv *s = *state;
	char path[320], *good = NULL, *logs = NULL;
	struct rc_err err;
	FILE *f;

	serve_start(s);
	assert_int_equal(rc_read_file(s->t.spec, &good, NULL, &err), 0);
	f = fopen(s->t.spec, "w");
	fputs("{\"version\": 1, \"oops\": true}", f);
	fclose(f);
	kill(s->pid, SIGHUP);
	usleep(500000);
	assert_int_equal(get(s, "/readyz", NULL), 200);
	snprintf(path, sizeof(path), "%s/bg.err", s->t.dir);
	assert_int_equal(rc_read_file(path, &logs, NULL, &err), 0);
	assert_non_null(strstr(logs, "the old one stays"));
	free(logs);
	f = fopen(s->t.spec, "w");
	fputs(good, f);
	fclose(f);
	free(good);
	kill(s->pid, SIGHUP);
	usleep(500000);
	assert_int_equal(rc_read_file(path, &logs, NULL, &err), 0);
	assert_non_null(strstr(logs, "spec reloaded"));
	free(logs);
	assert_int_equal(serve_stop(s), 0);
}

/* SIGTERM while a vendor call is in flight: the call finishes and is
 * journaled, nothing new starts, and the process exits 0. */
static void test_sigterm_finishes_the_call_in_flight(void **state)
{
	struct e2e_srv *s = *state;
	char path[320], *logs = NULL, *stop, *done;
	struct rc_err err;
	int i;

	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 10));
	wait_idle(s); /* the call in flight below is r8's */
	json_decref(sim_post(&s->t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:i, s:b}]",
		"method", "POST", "path_contains", "/opentech/facilities/101/visitors", "status", 0,
		"times", 1, "delay_ms", 1500, "commit", 1)));
	insert_rental(s, "r8", "u6", "c6");
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"term-1\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"unitRentalId\":\"r8\"}}",
		false, NULL), 200);
	for (i = 0; i < 50 && metric(s, "reconcile_http_in_flight{peer=\"opentech\"} ") != 1; i++)
		usleep(100000);
	assert_true(metric(s, "reconcile_http_in_flight{peer=\"opentech\"} ") == 1);
	assert_int_equal(serve_stop(s), 0);
	snprintf(path, sizeof(path), "%s/bg.err", s->t.dir);
	assert_int_equal(rc_read_file(path, &logs, NULL, &err), 0);
	stop = strstr(logs, "stopping after 1 running work item");
	if (!stop)
		fprintf(stderr, "serve log:\n%s\n", logs);
	assert_non_null(stop);
	done = strstr(stop, "rental r8: reconciled");      /* after the signal, not cut off */
	assert_non_null(done);
	assert_non_null(strstr(done, "stopped"));
	free(logs);
	assert_int_equal(sim_tenants_on(&s->t, "U6"), 1);
	assert_int_equal(e2e_plan_exit(&s->t), 0);          /* nothing left in doubt */
}

/* SIGTERM during an 8 s Retry-After wait: the wait ends, no new attempt
 * is made, the process exits 0 at once (well before the 8 s are over).
 * The deadline is kept in the state: the next start makes no call before
 * it, then creates the tenant. */
static void test_sigterm_cuts_a_retry_after_wait(void **state)
{
	struct e2e_srv *s = *state;
	json_t *reqs;
	int i, st = -1;
	pid_t done = 0;
	double t429;

	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 10));
	wait_idle(s);
	json_decref(sim_post(&s->t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:i, s:b}]",
		"method", "POST", "path_contains", "/opentech/facilities/101/visitors", "status", 429,
		"retry_after", 8, "times", -1, "commit", 0)));
	sim_clear_requests(&s->t);
	insert_rental(s, "r4", "u4", "c4");
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"ra-1\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"unitRentalId\":\"r4\"}}",
		false, NULL), 200);
	for (i = 0; i < 100; i++) {
		reqs = sim_requests(&s->t);
		st = (int)count_requests(reqs, "POST", "/opentech/facilities/101/visitors");
		json_decref(reqs);
		if (st)
			break;
		usleep(100000);
	}
	assert_int_equal(st, 1);                      /* the 429 came: now waiting */
	t429 = rc_now_mono();
	kill(s->pid, SIGTERM);
	for (i = 0; i < 100 && !done; i++) {
		done = waitpid(s->pid, &st, WNOHANG);
		if (!done)
			usleep(100000);
	}
	assert_int_equal(done, s->pid);
	assert_true(rc_now_mono() - t429 < 4);        /* the wait was cut, not served */
	s->pid = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	reqs = sim_requests(&s->t);
	assert_int_equal(count_requests(reqs, "POST", "/opentech/facilities/101/visitors"), 1);
	json_decref(reqs);
	assert_int_equal(sim_delete(&s->t, "/_sim/faults"), 200);
	assert_int_equal(sim_tenants_on(&s->t, "U4"), 0);
	sim_clear_requests(&s->t);
	serve_start(s);
	/* the Retry-After deadline outlives the process: no call before it */
	while (rc_now_mono() < t429 + 7) {
		reqs = sim_requests(&s->t);
		assert_int_equal(count_requests(reqs, "POST", "/opentech/facilities/101/visitors"), 0);
		json_decref(reqs);
		usleep(200000);
	}
	assert_true(wait_tenants(s, "U4", 1, 20));
	assert_int_equal(serve_stop(s), 0);
}

/* OpenTech tokens are renewed before they expire: with 4 s tokens, one
 * grant serves the whole start-up; 2.5 s later the next call is preceded by
 * a new grant although the old token still works, and no call meets a 401. */
static void test_token_renewed_before_expiry(void **state)
{
	struct e2e_srv *s = *state;
	json_t *reqs, *r;
	size_t i, grant = SIZE_MAX, create = SIZE_MAX;

	json_decref(sim_post(&s->t, "/_sim/settings", json_pack("{s:{s:i}}", "opentech",
								  "token_ttl", 4)));
	sim_clear_requests(&s->t);
	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 10));
	wait_idle(s);
	reqs = sim_requests(&s->t);
	assert_int_equal(count_requests(reqs, "POST", "/auth/token"), 1);
	json_decref(reqs);
	sim_clear_requests(&s->t);
	usleep(2500000);
	insert_rental(s, "r4", "u4", "c4");
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"tok-1\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"unitRentalId\":\"r4\"}}",
		false, NULL), 200);
	assert_true(wait_tenants(s, "U4", 1, 10));
	reqs = sim_requests(&s->t);
	json_array_foreach(reqs, i, r) {
		const char *path = json_string_value(json_object_get(r, "path"));

		assert_int_not_equal(json_integer_value(json_object_get(r, "status")), 401);
		if (grant == SIZE_MAX && strstr(path, "/auth/token"))
			grant = i;
		if (create == SIZE_MAX && strstr(path, "/visitors") &&
		    !strcmp(json_string_value(json_object_get(r, "method")), "POST"))
			create = i;
	}
	json_decref(reqs);
	assert_true(grant < create && create != SIZE_MAX);
	assert_int_equal(serve_stop(s), 0);
}

/* ------------------------------------------------ two sites, one loop */

static const char *const TWO[][3] = { { "site1", "site1", "P1" }, { "site2", "site2", "P2" } };

static int setup_two(void **state)
{
	struct e2e_srv *s = calloc(1, sizeof(*s));

	e2e_start(&s->t, "tests/e2e/data/two_sites.json", TWO, 2);
	*state = s;
	return 0;
}

/* Set the spec's serve section (workers, vendor_concurrency). */
static void set_serve(struct e2e_srv *s, int workers, int vendor_concurrency)
{
	json_t *spec = json_load_file(s->t.spec, 0, NULL);

	assert_non_null(spec);
	json_object_set_new(spec, "serve", json_pack("{s:i, s:i}", "workers", workers,
						     "vendor_concurrency", vendor_concurrency));
	assert_int_equal(json_dump_file(spec, s->t.spec, JSON_INDENT(1)), 0);
	json_decref(spec);
}

static void add_delay(struct e2e_srv *s, const char *path_contains, int ms)
{
	/* commit: the real answer, after the delay */
	json_decref(sim_post(&s->t, "/_sim/faults", json_pack("[{s:s, s:i, s:i, s:i, s:b}]",
		"path_contains", path_contains, "status", 0, "times", -1, "delay_ms", ms, "commit", 1)));
}

/* A site waiting on a slow vendor holds up neither the webhooks nor the
 * other sites: every call runs on the one loop (curl multi), each site's
 * work on a fiber of its own. */
static void test_slow_vendor_blocks_nothing(void **state)
{
	struct e2e_srv *s = *state;
	char body[200];
	int i;

	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 15));
	assert_true(wait_tenants(s, "V1", 1, 15));
	/* both sites started at once: both first PMS reads were in flight */
	assert_true(metric(s, "reconcile_http_in_flight_max{peer=\"storeganise\"} ") >= 2);
	assert_true(metric(s, "reconcile_queue_running_max ") >= 2);

	add_delay(s, "/facilities/101/", 5000); /* site1's OpenTech facility is slow */
	insert_rental(s, "r5", "u5", "c5");
	sim_insert_rental(&s->t, "site2", "q3", "v3", "d1");
	snprintf(body, sizeof(body), "{\"id\":\"slow-1\",\"type\":\"job.unit_moveIn.completed\","
		 "\"data\":{\"unitRentalId\":\"r5\"}}");
	assert_int_equal(post_event(s, "/webhooks/storeganise", body, false, NULL), 200);
	usleep(200000); /* site1 is now waiting on its vendor */
	snprintf(body, sizeof(body), "{\"id\":\"slow-2\",\"type\":\"job.unit_moveIn.completed\","
		 "\"data\":{\"unitRentalId\":\"q3\"}}");
	assert_int_equal(post_event(s, "/webhooks/storeganise", body, false, NULL), 200);
	assert_int_equal(get(s, "/healthz", NULL), 200);
	/* site2 gets its tenant while site1's call is still in flight (the
	 * simulator acts at once and answers after the delay) */
	assert_true(wait_tenants(s, "V3", 1, 20));
	/* site2's item ends (its write-back may still run when V3 shows) */
	for (i = 0; i < 30 && metric(s, "reconcile_workers_busy ") != 1; i++)
		usleep(100000);
	assert_true(metric(s, "reconcile_workers_busy ") == 1);
	assert_true(metric(s, "reconcile_http_in_flight{peer=\"opentech\"} ") == 1);
	assert_int_equal(sim_delete(&s->t, "/_sim/faults"), 200);
	assert_true(wait_tenants(s, "U5", 1, 30));
	assert_int_equal(serve_stop(s), 0);
}

/* Periodic whole-site passes off: a test that times one-rental runs
 * must not meet one (it has the site to itself). */
static void no_periodic_runs(struct e2e_srv *s)
{
	json_t *spec = json_load_file(s->t.spec, 0, NULL), *site;
	size_t i;

	json_array_foreach(json_object_get(spec, "sites"), i, site)
		json_object_set_new(site, "sync_interval", json_string("1h"));
	assert_int_equal(json_dump_file(spec, s->t.spec, 0), 0);
	json_decref(spec);
}

/* POSTs to path (a prefix) the simulator has received. */
static size_t posts_to(struct e2e_srv *s, const char *path)
{
	json_t *reqs = sim_requests(&s->t), *r;
	size_t i, n = 0;

	json_array_foreach(reqs, i, r)
		n += !strcmp(json_string_value(json_object_get(r, "method")), "POST") &&
		     !strncmp(json_string_value(json_object_get(r, "path")), path, strlen(path));
	json_decref(reqs);
	return n;
}

/* Once serve is idle, move-ins of r5 and r6 (site1, webhook ids tag-5,
 * tag-6) while site1's OpenTech answers a create only after 4 s (it acts
 * at once): both creates arrive while the first is still unanswered, two
 * one-rental runs at once. The delay stays until the caller lifts it. */
static void two_move_ins_at_once(struct e2e_srv *s, const char *tag)
{
	char body[200];
	int i;

	wait_idle(s);
	sim_clear_requests(&s->t);
	add_delay(s, "/facilities/101/visitors", 4000);
	insert_rental(s, "r5", "u5", "c5");
	insert_rental(s, "r6", "u6", "c6");
	for (i = 5; i <= 6; i++) {
		snprintf(body, sizeof(body), "{\"id\":\"%s-%d\",\"type\":\"job.unit_moveIn.completed\","
			 "\"data\":{\"unitRentalId\":\"r%d\"}}", tag, i, i);
		assert_int_equal(post_event(s, "/webhooks/storeganise", body, false, NULL), 200);
	}
	for (i = 0; i < 30 && posts_to(s, "/opentech/facilities/101/visitors") < 2; i++)
		usleep(100000);
	assert_int_equal(posts_to(s, "/opentech/facilities/101/visitors"), 2);
}

/* two_move_ins_at_once's delay lifted: both tenants come. */
static void lift_delay_and_wait(struct e2e_srv *s)
{
	assert_int_equal(sim_delete(&s->t, "/_sim/faults"), 200);
	assert_true(wait_tenants(s, "U5", 1, 30));
	assert_true(wait_tenants(s, "U6", 1, 30));
}

/* Two move-ins on two units of one site run at once (issue 12): the
 * second rental's create reaches OpenTech while the first one's is still
 * unanswered, where one site used to take one run at a time. */
static void test_one_rental_runs_share_a_site(void **state)
{
	struct e2e_srv *s = *state;

	no_periodic_runs(s);
	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 15));
	two_move_ins_at_once(s, "share");
	assert_true(metric(s, "reconcile_site_workers_max ") >= 2);
	lift_delay_and_wait(s);
	assert_true(metric(s, "reconcile_claim_holders_max ") == 1);
	assert_int_equal(serve_stop(s), 0);
	assert_int_equal(e2e_plan_exit(&s->t), 0);
}

/* serve.workers bounds the sites' runs, not the one-rental runs: with one
 * worker, two move-ins of one site still run at once (a burst of move-ins
 * is not held to the sites' bound). */
static void test_one_rental_runs_do_not_take_the_site_workers(void **state)
{
	struct e2e_srv *s = *state;

	set_serve(s, 1, 4);
	no_periodic_runs(s);
	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 15));
	assert_true(wait_tenants(s, "V1", 1, 15));
	two_move_ins_at_once(s, "few");
	assert_true(metric(s, "reconcile_workers_busy ") >= 2);
	lift_delay_and_wait(s);
	assert_int_equal(serve_stop(s), 0);
	assert_int_equal(e2e_plan_exit(&s->t), 0);
}

static bool wait_requests(struct e2e_srv *s, const char *method, const char *contains, int seconds)
{
	json_t *reqs;
	size_t n;
	int i;

	for (i = 0; i < seconds * 10; i++) {
		reqs = sim_requests(&s->t);
		n = count_requests(reqs, method, contains);
		json_decref(reqs);
		if (n)
			return true;
		usleep(100000);
	}
	return false;
}

/* Requests whose path is exactly path. */
static size_t count_exact(json_t *reqs, const char *method, const char *path)
{
	size_t i, n = 0;
	json_t *r;

	json_array_foreach(reqs, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "method")), method) &&
		    !strcmp(json_string_value(json_object_get(r, "path")), path))
			n++;
	return n;
}

/* Two sites converged with no periodic run to come, the request log
 * cleared, and a new rental q3 (customer d2) on site2's unit v3 that only
 * a webhook will bring in. */
static void start_webhooks_only(struct e2e_srv *s)
{
	no_periodic_runs(s);
	serve_start(s);
	assert_true(wait_tenants(s, "V1", 1, 15));
	assert_true(wait_tenants(s, "U1", 1, 15));
	wait_idle(s);
	sim_clear_requests(&s->t);
	sim_insert_rental(&s->t, "site2", "q3", "v3", "d2");
}

/* PMS reads that arrived before the first vendor call. */
static size_t pms_reads_before_vendor(json_t *reqs)
{
	double first = -1;
	size_t i, n = 0;
	json_t *r;

	json_array_foreach(reqs, i, r) {
		const char *path = json_string_value(json_object_get(r, "path"));

		if (first < 0 && strncmp(path, "/storeganise/", 13) && strncmp(path, "/_sim/", 6))
			first = json_real_value(json_object_get(r, "at"));
	}
	json_array_foreach(reqs, i, r) {
		const char *path = json_string_value(json_object_get(r, "path"));

		if (!strncmp(path, "/storeganise/", 13) &&
		    !strcmp(json_string_value(json_object_get(r, "method")), "GET") &&
		    json_real_value(json_object_get(r, "at")) < first)
			n++;
	}
	return n;
}

/* A webhook reads only what its rental touches, in at most 3 PMS calls
 * before its vendor call (issue 12; 2 here): the rental with its unit and
 * customer nested, the unit's occupied rentals (R3); the site as the last
 * whole read kept it. Never the site's unit list, the whole customer list
 * or the vendor's facility. */
static void test_webhook_reads_only_its_rental(void **state)
{
	struct e2e_srv *s = *state;
	json_t *reqs;

	start_webhooks_only(s);
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"scope-1\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"unitRentalId\":\"q3\"}}",
		false, NULL), 200);
	assert_true(wait_tenants(s, "V3", 1, 15));
	usleep(300000); /* the code write-back lands after the vendor call */
	reqs = sim_requests(&s->t);
	/* read once: the read that finds its site serves the scoped read */
	assert_int_equal(count_exact(reqs, "GET", "/storeganise/api/v1/admin/unit-rentals/q3"), 1);
	assert_int_equal(count_exact(reqs, "GET", "/storeganise/api/v1/admin/units/v3"), 0);
	assert_int_equal(count_exact(reqs, "GET", "/storeganise/api/v1/admin/users/d2"), 0);
	assert_int_equal(count_exact(reqs, "GET", "/storeganise/api/v1/admin/sites/site2"), 0);
	assert_int_equal(pms_reads_before_vendor(reqs), 2); /* the rental, its unit's rentals */
	assert_int_equal(count_exact(reqs, "GET", "/storeganise/api/v1/admin/units"), 0);
	assert_int_equal(count_exact(reqs, "GET", "/storeganise/api/v1/admin/users"), 0);
	assert_int_equal(count_requests(reqs, "GET", "/opentech/"), 0); /* the cached state serves */
	assert_true(count_requests(reqs, "POST", "/opentech/facilities/102/") >= 1);
	assert_int_equal(count_requests(reqs, "POST", "/opentech/facilities/101/"), 0);
	json_decref(reqs);
	assert_int_equal(serve_stop(s), 0);
	/* and the site is in sync as a full plan sees it */
	assert_int_equal(e2e_plan_exit(&s->t), 0);
}

/* Events that name no rental: a job is resolved to its rentals, a customer
 * to theirs, a unit to its site (a remap: the whole site is read). */
static void test_job_user_and_unit_events(void **state)
{
	struct e2e_srv *s = *state;
	json_t *reqs;

	start_webhooks_only(s);
	json_decref(sim_post(&s->t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:{}, s:{s:s, s:s}}}",
		"collection", "storeganise.jobs", "object", "id", "j1", "type", "unit_moveIn",
		"state", "completed", "data", "result", "unitRentalId", "q3", "unitId", "v3")));
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"job-1\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"jobId\":\"j1\"}}",
		false, NULL), 200);
	assert_true(wait_tenants(s, "V3", 1, 15));
	reqs = sim_requests(&s->t);
	assert_int_equal(count_exact(reqs, "GET", "/storeganise/api/v1/admin/jobs/j1"), 1);
	assert_int_equal(count_exact(reqs, "GET", "/storeganise/api/v1/admin/units"), 0);
	assert_int_equal(count_requests(reqs, "POST", "/opentech/facilities/101/"), 0);
	json_decref(reqs);

	/* a customer's new phone number reaches their tenant on site2 only */
	sim_patch(&s->t, "storeganise.users", "d1", json_pack("{s:s}", "phone", "+351 910 999 999"));
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"user-1\",\"type\":\"user.updated\",\"data\":{\"userId\":\"d1\"}}",
		false, NULL), 200);
	assert_true(wait_requests(s, "POST", "/opentech/facilities/102/visitors/", 15));
	reqs = sim_requests(&s->t);
	assert_int_equal(count_requests(reqs, "POST", "/opentech/facilities/101/"), 0);
	assert_int_equal(count_requests(reqs, "GET", "/opentech/"), 0);
	json_decref(reqs);

	/* a unit event reads that unit's whole site (a remap may move codes) */
	sim_clear_requests(&s->t);
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"unit-1\",\"type\":\"unit.updated\",\"data\":{\"unitId\":\"v2\"}}",
		false, NULL), 200);
	assert_true(wait_requests(s, "GET", "/opentech/facilities/102/units", 15));
	reqs = sim_requests(&s->t);
	assert_int_equal(count_requests(reqs, "GET", "/opentech/facilities/101/"), 0);
	json_decref(reqs);

	/* the PMS cannot give a job for longer than a read's 8 attempts:
	 * counted, retried by serve, not dropped */
	json_decref(sim_post(&s->t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:{}, s:{s:s}}}",
		"collection", "storeganise.jobs", "object", "id", "j2", "type", "unit_moveIn",
		"state", "completed", "data", "result", "unitRentalId", "q3")));
	json_decref(sim_post(&s->t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i}]",
		"method", "GET", "path_contains", "/admin/jobs/j2", "status", 500, "times", 9)));
	sim_clear_requests(&s->t);
	assert_int_equal(post_event(s, "/webhooks/storeganise",
		"{\"id\":\"job-2\",\"type\":\"job.unit_moveIn.completed\",\"data\":{\"jobId\":\"j2\"}}",
		false, NULL), 200);
	{
		int i;
		size_t n = 0;

		for (i = 0; i < 300 && n < 10; i++) {   /* 9 failures, then the answer */
			reqs = sim_requests(&s->t);
			n = count_exact(reqs, "GET", "/storeganise/api/v1/admin/jobs/j2");
			json_decref(reqs);
			usleep(100000);
		}
		assert_int_equal(n, 10);
	}
	assert_true(metric(s, "reconcile_resolve_errors_total ") >= 1);
	assert_int_equal(serve_stop(s), 0);
	assert_int_equal(e2e_plan_exit(&s->t), 0);
}

/* serve.vendor_concurrency caps the requests in flight per vendor even
 * when several sites run at once, and a SIGHUP changes it. */
static void test_vendor_concurrency_limit(void **state)
{
	struct e2e_srv *s = *state;
	int i;

	set_serve(s, 8, 1);
	add_delay(s, "/", 100); /* every call takes a while: overlaps are certain */
	serve_start(s);
	assert_true(wait_tenants(s, "U1", 1, 30));
	assert_true(wait_tenants(s, "V1", 1, 30));
	assert_true(metric(s, "reconcile_queue_running_max ") >= 2); /* the sites ran at once */
	assert_true(metric(s, "reconcile_http_in_flight_max{peer=\"storeganise\"} ") == 1);
	assert_true(metric(s, "reconcile_http_in_flight_max{peer=\"opentech\"} ") == 1);
	/* SIGHUP with a higher limit: the reload's reconcile of both sites
	 * reads the PMS twice at once */
	set_serve(s, 8, 3);
	kill(s->pid, SIGHUP);
	for (i = 0; i < 150 && metric(s, "reconcile_http_in_flight_max{peer=\"storeganise\"} ") < 2; i++)
		usleep(100000);
	assert_true(metric(s, "reconcile_http_in_flight_max{peer=\"storeganise\"} ") >= 2);
	assert_true(metric(s, "reconcile_http_in_flight_max{peer=\"storeganise\"} ") <= 3);
	assert_int_equal(serve_stop(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhooks),
		cmocka_unit_test(test_burst_and_sigterm),
		cmocka_unit_test(test_sighup_reload),
		cmocka_unit_test(test_sigterm_finishes_the_call_in_flight),
		cmocka_unit_test_setup_teardown(test_token_renewed_before_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_cuts_a_retry_after_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_hundred_units, setup, teardown),
		cmocka_unit_test_setup_teardown(test_R10_scoped_move_outs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_R10_failed_vacates_do_not_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_vendor_blocks_nothing, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_one_rental_runs_share_a_site, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_one_rental_runs_do_not_take_the_site_workers,
						setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_vendor_concurrency_limit, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_reads_only_its_rental, setup_two, teardown),
		cmocka_unit_test_setup_teardown(test_job_user_and_unit_events, setup_two, teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
