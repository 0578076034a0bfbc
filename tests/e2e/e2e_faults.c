/*
 * e2e_faults.c: fault campaigns (docs/rules.md R7, R10; issue 10). A
 * 200-unit facility, one site per vendor, every vendor empty (a first
 * sync: tests/e2e/data/mixed200.json), under 20 % injected faults of every
 * kind the simulator has, on every API (errors, Retry-After, resets
 * before and after the handler committed, answers delayed past the client's
 * timeout, cut bodies), each run with its own seed so that it replays:
 *
 *   two applies under the faults, then, faults off, a plan that must be
 *   empty (converged within two applies), and the vendors' and the PMS's
 *   state checked: no tenant, user or invite made twice, no unit vacated
 *   (there is nothing to vacate), no call inside a Retry-After, every
 *   write-back there (codes, user ids, invite links, sync stamps, the
 *   overlock mirror).
 *
 * And crash campaigns: `apply` killed with SIGKILL at points spread over
 * a whole first sync (by the simulator's request count, with a little
 * latency so that the count is where the process is), each followed by one
 * apply that must converge with nothing made twice and every write-back
 * there.
 *
 * RECONCILE_CAMPAIGN_RUNS sets the number of seeded runs (default 20) and
 * of kill points (default 51), RECONCILE_CAMPAIGN_SEED the first seed;
 * runs go ten at a time, each with its own simulator and state.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/common.h"
#include "harness.h"

#define PARALLEL 10

#define SITES \
	"{\"name\":\"ot\",\"pms_site_id\":\"ot\",\"vendor\":\"opentech\",\"max_destructive_min\":0," \
	"\"opentech\":{\"base_url\":\"@SIM@/opentech\",\"property_number\":\"MX\"," \
	"\"api_key_env\":\"E2E_OT_API_KEY\",\"api_secret_env\":\"E2E_OT_API_SECRET\"," \
	"\"client_id_env\":\"E2E_OT_CLIENT_ID\",\"client_secret_env\":\"E2E_OT_CLIENT_SECRET\"}}," \
	"{\"name\":\"pt\",\"pms_site_id\":\"pt\",\"vendor\":\"pti\",\"max_destructive_min\":0," \
	"\"pti\":{\"base_url\":\"@SIM@/pti\",\"client_id_env\":\"E2E_PTI_CLIENT_ID\"," \
	"\"api_key_env\":\"E2E_PTI_API_KEY\",\"site_key_site_field\":\"pti_siteKey\"," \
	"\"site_code_site_field\":\"pti_siteCode\",\"username_site_field\":\"pti_username\"," \
	"\"password_site_field\":\"pti_password\",\"access_level\":1,\"zone\":1}}," \
	"{\"name\":\"oa\",\"pms_site_id\":\"oa\",\"vendor\":\"openapp\",\"max_destructive_min\":0," \
	"\"openapp\":{\"base_url\":\"@SIM@/openapp/api/v1\",\"api_key_env\":\"E2E_OA_API_KEY\"," \
	"\"org_id\":\"01ORG0000000000000000000AA\",\"integration_id\":\"01INT0000000000000000000BB\"," \
	"\"lobby_portal_ids\":[\"P-LOBBY\"]}}"

/* 20 % in all, every kind. */
static json_t *faults(long seed)
{
	return json_pack("{s:I, s:[{s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}, s:i, s:i}]}",
			 "seed", (json_int_t)seed, "rules", "rates",
			 "500", 0.02, "502", 0.02, "503", 0.03, "429", 0.03, "reset_before", 0.02,
			 "reset_after", 0.03, "delay_before", 0.01, "delay_after", 0.02,
			 "truncate", 0.01, "truncate_json", 0.01, "retry_after", 1, "delay_ms", 1500);
}

/* Append a failure to *why (new string), printf-style. */
static void why_add(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_add(char **why, const char *fmt, ...)
{
	struct rc_buf b;
	va_list ap;

	rc_buf_init(&b);
	if (*why)
		rc_buf_printf(&b, "%s; ", *why);
	va_start(ap, fmt);
	rc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(*why);
	*why = rc_buf_steal(&b);
}

static const char *cf(json_t *o, const char *k)
{
	return json_string_value(json_object_get(json_object_get(o, "customFields"), k));
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* OpenTech: one tenant per rented unit with the rental's code, none twice. */
static void check_opentech(json_t *sg, json_t *ot, char **why)
{
	json_t *r, *u, *v;
	size_t i, k, n;

	json_array_foreach(json_object_get(sg, "unitRentals"), i, r) {
		if (strcmp(str(r, "siteId"), "ot"))
			continue;
		u = json_find_by(json_object_get(ot, "units"), "unitNumber",
				 str(json_find_by(json_object_get(sg, "units"), "id", str(r, "unitId")), "name"));
		n = 0;
		json_array_foreach(json_object_get(ot, "visitors"), k, v)
			if (json_is_true(json_object_get(v, "isTenant")) &&
			    json_integer_value(json_object_get(v, "unitId")) == json_integer_value(json_object_get(u, "id"))) {
				n++;
				if (!cf(r, "opentech_accessCode") || strcmp(str(v, "code") ?: "", cf(r, "opentech_accessCode")))
					why_add(why, "rental %s: the visitor's code is not the PMS's", str(r, "id"));
			}
		if (n != 1)
			why_add(why, "rental %s: %zu tenant visitors", str(r, "id"), n);
		if (!json_is_null(json_object_get(r, "overdue")) && !rc_streq(cf(r, "opentech_overlocked"), "true") &&
		    !json_is_true(json_object_get(json_object_get(r, "customFields"), "opentech_overlocked")))
			why_add(why, "rental %s: overdue but no overlock mirror", str(r, "id"));
	}
}

/* PTI: one user per customer, its id and code written back. */
static void check_pti(json_t *sg, json_t *pti, char **why)
{
	json_t *r, *c, *x;
	size_t i, k, n;

	json_array_foreach(json_object_get(sg, "unitRentals"), i, r) {
		if (strcmp(str(r, "siteId"), "pt"))
			continue;
		c = json_find_by(json_object_get(sg, "users"), "id", str(r, "ownerId"));
		n = 0;
		json_array_foreach(json_object_get(pti, "users"), k, x)
			n += rc_streq(str(x, "interface_id"), str(c, "id"));
		if (n != 1)
			why_add(why, "customer %s: %zu PTI users", str(c, "id"), n);
		if (!cf(c, "pti_userId") || !cf(c, "pti_accessCode"))
			why_add(why, "customer %s: pti_userId or pti_accessCode not written back", str(c, "id"));
		if (!cf(r, "pti_synced"))
			why_add(why, "rental %s: pti_synced not written", str(r, "id"));
	}
}

/* OpenApp: one live invite per rental, its link written back. */
static void check_openapp(json_t *sg, json_t *oa, char **why)
{
	json_t *r, *inv;
	size_t i, k, n;

	json_array_foreach(json_object_get(sg, "unitRentals"), i, r) {
		if (strcmp(str(r, "siteId"), "oa"))
			continue;
		n = 0;
		json_array_foreach(json_object_get(oa, "invites"), k, inv)
			n += rc_streq(str(json_object_get(inv, "external_ref"), "record_id"), str(r, "id")) &&
			     json_is_null(json_object_get(inv, "revoked_at") ?: json_null());
		if (n != 1)
			why_add(why, "rental %s: %zu live invites", str(r, "id"), n);
		if (!cf(r, "openapp_inviteUrl"))
			why_add(why, "rental %s: no invite link written back", str(r, "id"));
	}
}

/* Calls already on the wire when a Retry-After was answered (apply runs
 * several at once) reach the simulator just after it: what must never
 * happen is a call started once the answer was read, so arrivals within
 * IN_FLIGHT_S of the answer are not counted. */
#define IN_FLIGHT_S 0.15

/* Nothing vacated; no call inside a Retry-After the simulator gave. */
static void check_requests(json_t *reqs, char **why)
{
	json_t *e, *next;
	size_t i, k;
	double answered, at;

	json_array_foreach(reqs, i, e) {
		const char *path = str(e, "path"), *fault = str(e, "fault");

		if (strstr(path, "vacate") || strstr(path, "/revoke") ||
		    (!strcmp(str(e, "method"), "DELETE") && strstr(path, "access-invites")))
			why_add(why, "a vacate: %s %s", str(e, "method"), path);
		if (!fault || (strcmp(fault, "429") && strcmp(fault, "503")))
			continue;
		answered = json_real_value(json_object_get(e, "answered"));
		for (k = i + 1; (next = json_array_get(reqs, k)); k++) {
			at = json_real_value(json_object_get(next, "at"));
			if (at >= answered + 1.0 - 0.05)
				break;
			if (at > answered + IN_FLIGHT_S)
				why_add(why, "a call %.2f s after a Retry-After of 1 s (seq %lld)",
					at - answered, (long long)json_integer_value(json_object_get(next, "seq")));
		}
	}
}

/* The facility after the last apply: converged, nothing twice, every
 * write-back there; why (appended) when not. */
static void check_converged(struct e2e *t, char **why)
{
	const char *args[] = { "plan", "-c", t->spec, "--json", NULL };
	json_t *st, *plan, *op;
	struct run r;
	size_t i;
	int code = e2e_plan_exit(t);

	if (code != 0) {
		why_add(why, "not converged (plan exit %d)", code);
		r = e2e_reconcile(t, args);
		plan = parse_json(r.out);
		json_array_foreach(json_object_get(plan, "reconcile_operations"), i, op)
			why_add(why, "left: %s %s %s (%s)", str(op, "site"), str(op, "op"), str(op, "unit") ?: "",
				str(op, "reason") ?: "");
		if (!plan)
			why_add(why, "plan: %s", r.err ? r.err : "");
		json_decref(plan);
		run_free(&r);
	}
	st = sim_get(t, "/_sim/state");
	check_opentech(json_object_get(st, "storeganise"), json_object_get(st, "opentech"), why);
	check_pti(json_object_get(st, "storeganise"), json_object_get(st, "pti"), why);
	check_openapp(json_object_get(st, "storeganise"), json_object_get(st, "openapp"), why);
	json_decref(st);
}

/* One seeded run: NULL when it converged clean, else why not (new). */
static char *campaign(long seed)
{
	const char *apply[] = { "apply", "-c", NULL, "--auto-approve", NULL };
	struct e2e t;
	json_t *reqs;
	char *why = NULL;
	struct run r;
	int i;

	e2e_start_site(&t, "tests/e2e/data/mixed200.json", SITES);
	e2e_spec_http(&t, NULL, "timeout_ms", 1000); /* every peer: past it, a delay fault */
	/* at 20 % faults one call in 600 fails 4 attempts in a row: the first
	 * apply of ~300 writes often leaves one, and the second's handful then
	 * leaves one again about once in a dozen campaigns; an operator facing
	 * such a vendor raises attempts, as here (1 in 15,000 fails 6 times) */
	e2e_spec_http(&t, NULL, "attempts", 6);
	apply[2] = t.spec;
	json_decref(sim_post(&t, "/_sim/faults", faults(seed)));
	for (i = 0; i < 2; i++) {
		r = e2e_reconcile(&t, apply);
		run_free(&r);
	}
	assert_int_equal(sim_delete(&t, "/_sim/faults"), 200);
	reqs = sim_requests(&t);
	check_requests(reqs, &why);
	json_decref(reqs);
	check_converged(&t, &why); /* within two applies */
	if (why)
		fprintf(stderr, "seed %ld: kept in %s\n", seed, t.dir);
	else
		e2e_stop(&t);
	return why;
}

static size_t requests_seen(struct e2e *t)
{
	json_t *reqs = sim_requests(t);
	size_t n = json_array_size(reqs);

	json_decref(reqs);
	return n;
}

/* Every API a little slow, so that the request count tracks the process. */
static void latency(struct e2e *t, int ms)
{
	json_decref(sim_post(t, "/_sim/settings", json_pack("{s:{s:i}, s:{s:i}, s:{s:i}, s:{s:i}}",
		"storeganise", "latency_ms", ms, "opentech", "latency_ms", ms,
		"pti", "latency_ms", ms, "openapp", "latency_ms", ms)));
}

/* One crash point: apply killed once the simulator has seen `at` requests,
 * then one apply that must converge. NULL when clean, else why (new). */
static char *crash(long at)
{
	const char *apply[] = { "apply", "-c", NULL, "--auto-approve", NULL };
	char *why = NULL;
	struct e2e t;
	struct run r;
	pid_t pid;
	int i;

	e2e_start_site(&t, "tests/e2e/data/mixed200.json", SITES);
	apply[2] = t.spec;
	latency(&t, 15);
	pid = e2e_reconcile_bg(&t, apply);
	for (i = 0; i < 6000 && requests_seen(&t) < (size_t)at; i++)
		usleep(2000);
	kill(pid, SIGKILL);
	e2e_waitpid(pid, NULL, 0);
	latency(&t, 0);
	r = e2e_reconcile(&t, apply);
	if (r.status != 0)
		why_add(&why, "the apply after the kill at request %ld exited %d", at, r.status);
	run_free(&r);
	check_converged(&t, &why);
	if (why)
		fprintf(stderr, "kill at %ld: kept in %s\n", at, t.dir);
	else
		e2e_stop(&t);
	return why;
}

/* The requests of a whole first sync of the facility. */
static long first_sync_requests(void)
{
	const char *apply[] = { "apply", "-c", NULL, "--auto-approve", NULL };
	struct e2e t;
	struct run r;
	long n;

	e2e_start_site(&t, "tests/e2e/data/mixed200.json", SITES);
	apply[2] = t.spec;
	r = e2e_reconcile(&t, apply);
	assert_int_equal(r.status, 0);
	run_free(&r);
	n = (long)requests_seen(&t);
	e2e_stop(&t);
	return n;
}

/* Run fn(arg) in a child: its verdict comes back on fd (a line, "" = clean). */
static pid_t run_child(char *(*fn)(long), long arg, int fd)
{
	pid_t pid = fork();
	char *why;

	if (pid != 0)
		return pid;
	why = fn(arg);
	dprintf(fd, "%s\n", why ? why : "");
	_exit(why ? 1 : 0);
}

static void credentials(void)
{
	setenv("E2E_PTI_CLIENT_ID", "demo-pti-partner", 1);
	setenv("E2E_PTI_API_KEY", "demo-pti-partner-key", 1);
	setenv("E2E_OA_API_KEY", "demo-openapp-key", 1);
}

/* fn(args[0..n)) ten at a time; the count of runs that were not clean. */
static long run_all(char *(*fn)(long), const long *args, long runs, const char *what)
{
	int fds[PARALLEL][2], st;
	pid_t pids[PARALLEL];
	char line[4096];
	long k, n, done = 0, bad = 0;

	while (done < runs) {
		n = runs - done < PARALLEL ? runs - done : PARALLEL;
		for (k = 0; k < n; k++) {
			assert_int_equal(pipe(fds[k]), 0);
			pids[k] = run_child(fn, args[done + k], fds[k][1]);
			close(fds[k][1]);
		}
		for (k = 0; k < n; k++) {
			FILE *f = fdopen(fds[k][0], "r");

			if (!f || !fgets(line, sizeof(line), f))
				snprintf(line, sizeof(line), "no verdict (the run crashed)\n");
			if (f)
				fclose(f);
			e2e_waitpid(pids[k], &st, 0);
			if (line[0] != '\n') {
				fprintf(stderr, "%s %ld: %s", what, args[done + k], line);
				bad++;
			}
		}
		done += n;
	}
	fprintf(stderr, "%s: %ld of %ld runs clean\n", what, runs - bad, runs);
	return bad;
}

static long campaign_runs(long dflt)
{
	const char *e = getenv("RECONCILE_CAMPAIGN_RUNS");

	return e && atol(e) > 0 ? atol(e) : dflt;
}

static void test_faults_converge_within_two_applies(void **state)
{
	const char *s0 = getenv("RECONCILE_CAMPAIGN_SEED");
	long runs = campaign_runs(20), first = s0 ? atol(s0) : 1, *seeds, i;

	(void)state;
	credentials();
	seeds = calloc((size_t)runs, sizeof(*seeds));
	for (i = 0; i < runs; i++)
		seeds[i] = first + i;
	i = run_all(campaign, seeds, runs, "seed");
	free(seeds);
	assert_int_equal(i, 0);
}

/* SIGKILL at points spread evenly over a first sync (all three vendors'
 * calls and their PMS write-backs): each time, one more apply converges. */
static void test_kill_anywhere_then_one_apply_converges(void **state)
{
	long runs = campaign_runs(51), total, *points, i;

	(void)state;
	credentials();
	total = first_sync_requests();
	points = calloc((size_t)runs, sizeof(*points));
	for (i = 0; i < runs; i++)
		points[i] = 1 + (total - 1) * i / (runs > 1 ? runs - 1 : 1);
	i = run_all(crash, points, runs, "kill at");
	free(points);
	assert_int_equal(i, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faults_converge_within_two_applies),
		cmocka_unit_test(test_kill_anywhere_then_one_apply_converges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
