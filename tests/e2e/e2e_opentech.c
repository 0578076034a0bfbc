/*
 * e2e_opentech.c: reconcile against the simulator of Storeganise and
 * OpenTech Alliance, over HTTP, with the real binaries.
 *
 * Seed tests/e2e/data/basic.json: site1 (OpenTech property P1), units
 * U1..U6 all Vacant in OpenTech; rentals r1 (U1, code 482913), r2 (U2, no
 * code), r3 (U3, overdue, code 590137).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "state/store.h"

static const char *const SITES[][3] = { { "site1", "site1", "P1" } };

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

/* Run `reconcile plan --json` and return the parsed plan (new). */
static json_t *plan_json(struct e2e *t)
{
	const char *args[] = { "plan", "-c", t->spec, "--json", NULL };
	struct run r = e2e_reconcile(t, args);
	json_t *j = parse_json(r.out);

	if (!j)
		fprintf(stderr, "plan --json failed (%d): %s\n%s\n", r.status, r.out, r.err);
	assert_non_null(j);
	run_free(&r);
	return j;
}




static void assert_ops(json_t *plan, size_t total, const char *kind, size_t n)
{
	size_t all = json_array_size(json_object_get(plan, "reconcile_operations"));

	if (all != total || plan_ops(plan, kind) != n) {
		char *s = json_dumps(json_object_get(plan, "reconcile_operations"), JSON_INDENT(1));

		fprintf(stderr, "unexpected operations (want %zu total, %zu %s):\n%s\n", total, n,
			kind, s);
		free(s);
	}
	assert_int_equal(all, total);
	assert_int_equal(plan_ops(plan, kind), n);
}

/* The vendor calls the simulator saw (token and reads excluded). */
static size_t vendor_writes(struct e2e *t)
{
	json_t *reqs = sim_requests(t);
	size_t n = count_requests(reqs, "POST", "/opentech/facilities/");

	json_decref(reqs);
	return n;
}

static void test_fresh_facility_converges(void **state)
{
	struct e2e *t = *state;
	json_t *plan;
	char *code, *st;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	/* customers read from the paged list give the same plan as one by one */
	setenv("RECONCILE_SG_OWNERS_ONE_BY_ONE", "0", 1);
	sim_clear_requests(t);
	plan = plan_json(t);
	unsetenv("RECONCILE_SG_OWNERS_ONE_BY_ONE");
	assert_int_equal(json_array_size(json_object_get(plan, "reconcile_operations")), 6);
	json_decref(plan);
	{
		json_t *reqs = sim_requests(t);

		assert_int_equal(count_requests(reqs, "GET", "/storeganise/api/v1/admin/users/"), 0);
		json_decref(reqs);
	}
	plan = plan_json(t);
	/* r1: create; r2: code write-back then create; r3: create, disable,
	 * overlock mirror write */
	assert_int_equal(plan_ops(plan, "tenant.create"), 3);
	assert_int_equal(plan_ops(plan, "unit.disable"), 1);
	assert_int_equal(plan_ops(plan, "pms.write"), 2);
	assert_int_equal(json_array_size(json_object_get(plan, "reconcile_operations")), 6);
	json_decref(plan);
	{
		const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
		struct run r = e2e_reconcile(t, args);

		/* off a terminal: the progress's last line, once */
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.err, "reconcile: applied: 6 of 6 operations in "));
		assert_null(strstr(r.err, "\r"));
		run_free(&r);
	}
	assert_int_equal(e2e_plan_exit(t), 0);
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
	assert_int_equal(sim_tenants_on(t, "U2"), 1);
	assert_int_equal(sim_tenants_on(t, "U4"), 0);
	st = sim_unit_status(t, "U3");
	assert_string_equal(st, "Delinquent");
	free(st);
	code = sim_rental_field(t, "r2", "opentech_accessCode");
	assert_non_null(code);
	assert_int_equal(strlen(code), 6);
	free(code);
	code = sim_rental_field(t, "r3", "opentech_overlocked");
	assert_string_equal(code, "true");
	free(code);
}

static void test_move_in(void **state)
{
	struct e2e *t = *state;
	const char *quiet[] = { "apply", "-c", t->spec, "--auto-approve", "--quiet", NULL };
	struct run r;
	json_t *plan;

	r = e2e_reconcile(t, quiet); /* --quiet: no progress at all */
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "applied:"));
	run_free(&r);
	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:{s:s}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r4", "unitId", "u4",
		"siteId", "site1", "ownerId", "c4", "state", "occupied", "startDate", "2026-11-20",
		"overdue", "customFields", "opentech_accessCode", "305871")));
	plan = plan_json(t);
	assert_ops(plan, 1, "tenant.create", 1);
	json_decref(plan);
	sim_clear_requests(t);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_writes(t), 1);
	assert_int_equal(sim_tenants_on(t, "U4"), 1);
	assert_int_equal(e2e_plan_exit(t), 0);
}

static void test_overdue_then_payment(void **state)
{
	struct e2e *t = *state;
	json_t *plan;
	char *v;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "overdue",
								"2026-11-22T00:00:00.000Z"));
	plan = plan_json(t);
	assert_ops(plan, 2, "unit.disable", 1);
	assert_int_equal(plan_ops(plan, "pms.write"), 1);
	json_decref(plan);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_writes(t), 1);
	v = sim_unit_status(t, "U1");
	assert_string_equal(v, "Delinquent");
	free(v);
	v = sim_rental_field(t, "r1", "opentech_overlocked");
	assert_string_equal(v, "true");
	free(v);
	assert_int_equal(e2e_plan_exit(t), 0);

	/* the payment clears overdue: lift the overlock, mirror the flag */
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:n}", "overdue"));
	plan = plan_json(t);
	assert_ops(plan, 2, "unit.enable", 1);
	assert_int_equal(plan_ops(plan, "pms.write"), 1);
	json_decref(plan);
	sim_clear_requests(t);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_writes(t), 1);
	v = sim_unit_status(t, "U1");
	assert_string_equal(v, "Rented");
	free(v);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* Whether the state still holds site1's PMS record of a rental. */
static bool pms_record(struct e2e *t, const char *rental)
{
	struct pms_rec rec;
	struct store *s;
	struct store_txn *txn;
	struct rc_err err;
	char dir[320];
	int rc;

	snprintf(dir, sizeof(dir), "%s/state", t->dir);
	assert_int_equal(store_open(&s, dir, &err), 0);
	assert_int_equal(store_txn_begin(s, false, &txn, &err), 0);
	rc = store_pms_get(txn, "site1", rental, &rec, &err);
	store_txn_abort(txn);
	store_close(s);
	assert_true(rc == RC_OK || rc == RC_ENOTFOUND);
	return rc == RC_OK;
}

static void test_move_out(void **state)
{
	struct e2e *t = *state;
	json_t *plan;
	char *v;

	assert_int_equal(e2e_converge(t), 0);
	assert_true(pms_record(t, "r1"));
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "state", "ended"));
	plan = plan_json(t);
	assert_ops(plan, 1, "unit.vacate", 1);
	json_decref(plan);
	assert_int_equal(e2e_apply(t), 0);
	assert_false(pms_record(t, "r1"));  /* an ended rental's record goes */
	assert_true(pms_record(t, "r2"));
	assert_int_equal(vendor_writes(t), 1);
	assert_int_equal(sim_tenants_on(t, "U1"), 0);
	v = sim_unit_status(t, "U1");
	assert_string_equal(v, "Vacant");
	free(v);
	assert_int_equal(e2e_plan_exit(t), 0);
}

static void test_manual_resync(void **state)
{
	struct e2e *t = *state;
	json_t *plan, *ops;
	char *v;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1",
		  json_pack("{s:{s:b}}", "customFields", "opentech_resync", 1));
	plan = plan_json(t);
	ops = json_object_get(plan, "reconcile_operations");
	assert_ops(plan, 3, "tenant.update", 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 0), "op")), "tenant.update");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 1), "op")), "unit.enable");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 2), "op")), "pms.write");
	json_decref(plan);
	assert_int_equal(e2e_apply(t), 0);
	v = sim_rental_field(t, "r1", "opentech_resync");
	assert_string_equal(v, "false");
	free(v);
	assert_int_equal(e2e_plan_exit(t), 0);
}

static void test_code_edit_by_staff(void **state)
{
	struct e2e *t = *state;
	json_t *plan, *op, *changed;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1",
		  json_pack("{s:{s:s}}", "customFields", "opentech_accessCode", "736204"));
	plan = plan_json(t);
	assert_ops(plan, 1, "tenant.update", 1);
	op = json_array_get(json_object_get(plan, "reconcile_operations"), 0);
	changed = json_object_get(op, "changed");
	assert_int_equal(json_array_size(changed), 1);
	assert_string_equal(json_string_value(json_array_get(changed, 0)), "access_code");
	json_decref(plan);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_writes(t), 1);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* A code stored in the PMS as a JSON object, through the real PMS parser:
 * a bad_pms_value finding, the tenant kept, no code generated over it. */
static void test_R6_code_of_wrong_json_type_is_reported(void **state)
{
	struct e2e *t = *state;
	json_t *plan, *f;
	size_t i, bad = 0;
	char *text;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1",
		  json_pack("{s:{s:{s:s}}}", "customFields", "opentech_accessCode", "code", "736204"));
	plan = plan_json(t);
	assert_ops(plan, 0, "tenant.create", 0);
	json_array_foreach(json_object_get(plan, "reconcile_findings"), i, f)
		bad += !strcmp(json_string_value(json_object_get(f, "kind")), "bad_pms_value");
	assert_int_equal(bad, 1);
	text = json_dumps(plan, 0);
	assert_null(strstr(text, "736204"));
	free(text);
	json_decref(plan);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_writes(t), 0);
}

static void test_drift_made_by_hand_in_opentech(void **state)
{
	struct e2e *t = *state;
	json_t *plan;

	assert_int_equal(e2e_converge(t), 0);
	/* someone sets U1 Delinquent by hand while its tenant is paid up */
	sim_patch(t, "opentech.units", "5001", json_pack("{s:s}", "status", "Delinquent"));
	plan = plan_json(t);
	assert_ops(plan, 1, "unit.enable", 1);
	json_decref(plan);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(e2e_plan_exit(t), 0);
}

static void test_stale_saved_plan_is_refused(void **state)
{
	struct e2e *t = *state;
	const char *pargs[] = { "plan", "-c", t->spec, "--out", "saved.json", NULL };
	const char *aargs[] = { "apply", "-c", t->spec, "saved.json", NULL };
	struct run r;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "overdue",
								"2026-11-22T00:00:00.000Z"));
	r = e2e_reconcile(t, pargs);
	assert_int_equal(r.status, 0);
	run_free(&r);
	/* the PMS moves on after the plan was saved */
	sim_patch(t, "storeganise.unitRentals", "r2", json_pack("{s:s}", "overdue",
								"2026-11-22T00:00:00.000Z"));
	sim_clear_requests(t);
	r = e2e_reconcile(t, aargs);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "stale"));
	run_free(&r);
	assert_int_equal(vendor_writes(t), 0);

	/* a fresh saved plan applies exactly */
	r = e2e_reconcile(t, pargs);
	assert_int_equal(r.status, 0);
	run_free(&r);
	r = e2e_reconcile(t, aargs);
	assert_int_equal(r.status, 0);
	run_free(&r);
	assert_int_equal(vendor_writes(t), 2);
	assert_int_equal(e2e_plan_exit(t), 0);
}

static void test_interrupted_apply_resumes_without_duplicate(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	pid_t pid;
	int i;

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{s:s}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r5", "unitId", "u5",
		"siteId", "site1", "ownerId", "c5", "state", "occupied",
		"customFields", "opentech_accessCode", "419273")));
	/* the vendor commits the create, then holds the answer */
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:b, s:i}]",
		"method", "POST", "path_contains", "/visitors", "status", 0, "delay_ms", 8000,
		"commit", 1, "times", 1)));
	pid = e2e_reconcile_bg(t, args);
	for (i = 0; i < 200 && sim_tenants_on(t, "U5") == 0; i++)
		usleep(50000);
	assert_int_equal(sim_tenants_on(t, "U5"), 1);
	kill(pid, SIGKILL); /* crash between intent and result */
	waitpid(pid, NULL, 0);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);

	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(sim_tenants_on(t, "U5"), 1);
	assert_int_equal(e2e_plan_exit(t), 0);
}

static void test_second_apply_fails_fast_on_lock(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	char path[400];
	struct run r;
	int fd;

	assert_int_equal(e2e_converge(t), 0);
	snprintf(path, sizeof(path), "%s/state/apply.lock", t->dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "locked"));
	run_free(&r);
	close(fd);
}

/* No gate code in the plan text, the plan JSON, the logs or LMDB. */
static void test_codes_never_leak(void **state)
{
	struct e2e *t = *state;
	const char *pargs[] = { "plan", "-c", t->spec, NULL };
	const char *jargs[] = { "plan", "-c", t->spec, "--json", "--out", "p.json", NULL };
	const char *aargs[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	const char *codes[8];
	char *gen, statedir[300];
	struct run r[3];
	size_t i, k, n = 0;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(statedir, sizeof(statedir), "rm -rf '%s/state'", t->dir);
	assert_int_equal(system(statedir), 0);
	r[0] = e2e_reconcile(t, pargs);
	r[1] = e2e_reconcile(t, jargs);
	r[2] = e2e_reconcile(t, aargs);
	assert_int_equal(r[2].status, 0);
	gen = sim_rental_field(t, "r2", "opentech_accessCode");
	assert_non_null(gen);
	codes[n++] = "482913";
	codes[n++] = "590137";
	codes[n++] = gen;
	snprintf(statedir, sizeof(statedir), "%s/state", t->dir);
	for (k = 0; k < n; k++) {
		for (i = 0; i < 3; i++) {
			assert_null(strstr(r[i].out, codes[k]));
			assert_null(strstr(r[i].err, codes[k]));
		}
		assert_false(dir_contains(statedir, codes[k]));
		snprintf(statedir, sizeof(statedir), "%s/p.json", t->dir);
		assert_false(file_contains(statedir, codes[k]));
		snprintf(statedir, sizeof(statedir), "%s/state", t->dir);
	}
	for (i = 0; i < 3; i++)
		run_free(&r[i]);
	free(gen);
}

/* R10: a PMS that suddenly lists no units is not "everything is vacant". */
static void test_R10_empty_pms_answer_is_refused(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "plan", "-c", t->spec, NULL };
	struct run r;
	char id[8];
	int i;

	assert_int_equal(e2e_converge(t), 0);
	for (i = 1; i <= 6; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		json_decref(sim_post(t, "/_sim/delete", json_pack("{s:s, s:s}", "collection",
			"storeganise.units", "id", id)));
	}
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "site site1: the PMS returned no units"));
	assert_non_null(strstr(r.err, "R10"));
	/* a site that could not be planned is not "in sync" (R10) */
	assert_null(strstr(r.out, "match the PMS"));
	assert_non_null(strstr(r.out, "Not planned (see the errors): site1."));
	run_free(&r);
	assert_int_not_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_writes(t), 0);
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
}

/* A malformed PMS page fails the run and names the place. */
static void test_malformed_pms_page_fails(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "plan", "-c", t->spec, NULL };
	struct run r;

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:{s:s}, s:i}]",
		"method", "GET", "path_contains", "/unit-rentals", "status", 200,
		"body", "unexpected", "shape", "times", -1)));
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "unit-rentals"));
	assert_non_null(strstr(r.err, "expected a JSON array"));
	run_free(&r);
	assert_int_not_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_writes(t), 0);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
}

/* A vendor that keeps answering 500 (idempotent calls are retried) fails
 * the apply with a clear message; the next apply finishes the job. */
static void test_vendor_error_then_recovery(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	struct run r;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "state", "ended"));
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i}]",
		"method", "POST", "path_contains", "/vacate", "status", 500, "times", -1)));
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "vacate of unit U1"));
	run_free(&r);
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(sim_tenants_on(t, "U1"), 0);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* One unit's failure holds back only what depends on it: with U3's
 * overlock refused, U1 and U2 still get their tenants (and r2 its
 * generated code), U3's overlock mirror write waits; the next apply
 * finishes the job. */
static void test_a_failure_holds_back_only_its_unit(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	char dir[512];
	struct run r;
	char *code, *st;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(dir, sizeof(dir), "%s/state", t->dir);
	assert_int_equal(e2e_rm_rf(dir), 0);          /* a facility seen for the first time */
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i}]",
		"method", "POST", "path_contains", "/units/5003/disable", "status", 500, "times", -1)));
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "4 succeeded, 1 failed, 0 in doubt, 1 not run"));
	run_free(&r);
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
	assert_int_equal(sim_tenants_on(t, "U2"), 1);
	assert_int_equal(sim_tenants_on(t, "U3"), 1);
	code = sim_rental_field(t, "r2", "opentech_accessCode");
	assert_non_null(code);
	free(code);
	code = sim_rental_field(t, "r3", "opentech_overlocked");
	assert_null(code);                             /* held back with the overlock */
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	assert_int_equal(e2e_apply(t), 0);
	st = sim_unit_status(t, "U3");
	assert_string_equal(st, "Delinquent");
	free(st);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* Every create's connection is reset after OpenTech stored it: each is
 * settled at once by reading the unit back and adopted, never sent twice
 * (libcurl alone would resend it on a fresh connection). */
static void test_create_reset_after_commit_is_adopted_not_resent(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	char dir[512];
	json_t *reqs;
	struct run r;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(dir, sizeof(dir), "%s/state", t->dir);
	assert_int_equal(e2e_rm_rf(dir), 0);
	json_decref(sim_post(t, "/_sim/faults", json_pack("{s:i, s:[{s:s, s:s, s:{s:f}}]}", "seed", 1,
		"rules", "api", "opentech", "route", "POST /opentech/facilities/*/visitors", "rates",
		"reset_after", 1.0)));
	sim_clear_requests(t);
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "0 failed, 0 in doubt"));
	run_free(&r);
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "POST", "/opentech/facilities/101/visitors"), 3);
	json_decref(reqs);
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
	assert_int_equal(sim_tenants_on(t, "U2"), 1);
	assert_int_equal(sim_tenants_on(t, "U3"), 1);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* plan --pms-snapshot reads the PMS from a file in the API's shapes. */
static void test_plan_from_pms_snapshot_file(void **state)
{
	struct e2e *t = *state;
	json_t *st, *sg, *snap, *plan;
	char path[320];
	struct run r;
	const char *args[] = { "plan", "-c", t->spec, "--json", "--pms-snapshot", path, NULL };

	assert_int_equal(e2e_converge(t), 0);
	st = sim_get(t, "/_sim/state");
	sg = json_object_get(st, "storeganise");
	snap = json_pack("{s:O, s:O, s:O, s:O}", "sites", json_object_get(sg, "sites"),
			 "units", json_object_get(sg, "units"), "unitRentals",
			 json_object_get(sg, "unitRentals"), "users", json_object_get(sg, "users"));
	/* the file says r1 is overdue: the plan follows the file, not the API */
	json_object_set_new(json_array_get(json_object_get(snap, "unitRentals"), 0), "overdue",
			    json_string("2026-11-22T00:00:00.000Z"));
	snprintf(path, sizeof(path), "%s/snapshot.json", t->dir);
	assert_int_equal(json_dump_file(snap, path, 0), 0);
	sim_clear_requests(t);
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 0);
	plan = parse_json(r.out);
	assert_non_null(plan);
	assert_int_equal(plan_ops(plan, "unit.disable"), 1);
	json_decref(plan);
	run_free(&r);
	json_decref(st);
	st = sim_requests(t);
	assert_int_equal(count_requests(st, "GET", "/storeganise/"), 0);
	json_decref(st);
	json_decref(snap);
}

/* A saved plan of a fresh facility (generated code, written back first)
 * applies exactly, and the code in OpenTech is the one in the PMS. */
static void test_saved_plan_with_generated_code(void **state)
{
	struct e2e *t = *state;
	const char *pargs[] = { "plan", "-c", t->spec, "--out", "fresh.plan", NULL };
	const char *aargs[] = { "apply", "-c", t->spec, "fresh.plan", NULL };
	json_t *st, *v;
	char cmd[400], *code;
	const char *vcode = NULL;
	struct run r;
	size_t i;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/state'", t->dir);
	assert_int_equal(system(cmd), 0);
	r = e2e_reconcile(t, pargs);
	assert_int_equal(r.status, 0);
	run_free(&r);
	r = e2e_reconcile(t, aargs);
	assert_int_equal(r.status, 0);
	run_free(&r);
	code = sim_rental_field(t, "r2", "opentech_accessCode");
	assert_non_null(code);
	st = sim_get(t, "/_sim/state");
	json_array_foreach(json_object_get(json_object_get(st, "opentech"), "visitors"), i, v)
		if (json_integer_value(json_object_get(v, "unitId")) == 5002)
			vcode = json_string_value(json_object_get(v, "code"));
	assert_non_null(vcode);
	assert_string_equal(vcode, code);
	json_decref(st);
	free(code);
	assert_int_equal(e2e_plan_exit(t), 0);
}

static int count_entry(const struct journal_entry *e, void *p)
{
	(void)e;
	(*(int *)p)++;
	return 0;
}

/* Journal entries of site1 in the state (closed or open). */
static int journal_entries(struct e2e *t)
{
	struct store *s;
	struct store_txn *txn;
	struct rc_err err;
	char dir[320];
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/state", t->dir);
	assert_int_equal(store_open(&s, dir, &err), 0);
	assert_int_equal(store_txn_begin(s, false, &txn, &err), 0);
	assert_int_equal(store_journal_each(txn, "site1", false, count_entry, &n, &err), 0);
	store_txn_abort(txn);
	store_close(s);
	return n;
}

/* apply keeps the state bounded: a closed journal entry older than the
 * spec's retention (180 d by default) is dropped at the end of the run. */
static void test_apply_drops_old_journal_entries(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	struct journal_entry e = { 0 };
	struct store *s;
	struct store_txn *txn;
	struct rc_err err;
	char dir[320];
	struct run r;
	int before;

	assert_int_equal(e2e_converge(t), 0);
	snprintf(dir, sizeof(dir), "%s/state", t->dir);
	assert_int_equal(store_open(&s, dir, &err), 0);
	e.seq = 0;                                   /* before every real entry */
	e.state = JOURNAL_OK;
	snprintf(e.op, sizeof(e.op), "tenant.create");
	snprintf(e.time, sizeof(e.time), "2024-01-01T00:00:00.000Z");
	assert_int_equal(store_txn_begin(s, true, &txn, &err), 0);
	assert_int_equal(store_journal_put(txn, "site1", &e, &err), 0);
	assert_int_equal(store_txn_commit(txn, &err), 0);
	store_close(s);
	before = journal_entries(t);
	assert_true(before >= 2);
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "dropped 0 webhook events and 1 journal entry"));
	run_free(&r);
	assert_int_equal(journal_entries(t), before - 1);
}

struct closed {
	int creates, not_sent, open;
};

static int see_create(const struct journal_entry *e, void *p)
{
	struct closed *c = p;

	if (strcmp(e->op, "tenant.create") || strcmp(e->unit, "U4"))
		return 0;
	c->creates++;
	if (e->state == JOURNAL_FAILED && !strncmp(e->error, "not sent: ", 10))
		c->not_sent++;
	if (e->state == JOURNAL_INTENT || e->state == JOURNAL_UNKNOWN)
		c->open++;
	return 0;
}

/* A generated code's write-back and the create that pushes it commit their
 * intents together (one durable commit before the vendor call): when the
 * write-back fails the create is not sent, and its intent is closed as
 * such, not left in doubt. */
static void test_failed_code_write_back_closes_the_create_unsent(void **state)
{
	struct e2e *t = *state;
	struct closed c = { 0, 0, 0 };
	struct store *s;
	struct store_txn *txn;
	struct rc_err err;
	char dir[320];
	json_t *plan;

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r4", "unitId", "u4",
		"siteId", "site1", "ownerId", "c4", "state", "occupied", "startDate", "2026-11-20",
		"overdue", "customFields")));
	plan = plan_json(t);
	assert_int_equal(plan_ops(plan, "pms.write"), 1);
	assert_int_equal(plan_ops(plan, "tenant.create"), 1);
	json_decref(plan);
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i}]",
		"method", "PUT", "path_contains", "/unit-rentals/r4", "status", 400, "times", -1)));
	sim_clear_requests(t);
	assert_int_equal(e2e_status(t, (const char *[]){ "apply", "-c", t->spec, "--auto-approve",
							 NULL }), 1);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	assert_int_equal(vendor_writes(t), 0);
	assert_int_equal(sim_tenants_on(t, "U4"), 0);

	snprintf(dir, sizeof(dir), "%s/state", t->dir);
	assert_int_equal(store_open(&s, dir, &err), 0);
	assert_int_equal(store_txn_begin(s, false, &txn, &err), 0);
	assert_int_equal(store_journal_each(txn, "site1", false, see_create, &c, &err), 0);
	store_txn_abort(txn);
	store_close(s);
	assert_int_equal(c.creates, 1);
	assert_int_equal(c.not_sent, 1);
	assert_int_equal(c.open, 0);

	/* the next apply writes the code back, then creates */
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(sim_tenants_on(t, "U4"), 1);
	assert_int_equal(e2e_plan_exit(t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_facility_converges),
		cmocka_unit_test(test_move_in),
		cmocka_unit_test(test_overdue_then_payment),
		cmocka_unit_test(test_move_out),
		cmocka_unit_test(test_manual_resync),
		cmocka_unit_test(test_code_edit_by_staff),
		cmocka_unit_test(test_R6_code_of_wrong_json_type_is_reported),
		cmocka_unit_test(test_drift_made_by_hand_in_opentech),
		cmocka_unit_test(test_stale_saved_plan_is_refused),
		cmocka_unit_test(test_interrupted_apply_resumes_without_duplicate),
		cmocka_unit_test(test_second_apply_fails_fast_on_lock),
		cmocka_unit_test(test_codes_never_leak),
		cmocka_unit_test(test_R10_empty_pms_answer_is_refused),
		cmocka_unit_test(test_malformed_pms_page_fails),
		cmocka_unit_test(test_a_failure_holds_back_only_its_unit),
		cmocka_unit_test(test_create_reset_after_commit_is_adopted_not_resent),
		cmocka_unit_test(test_vendor_error_then_recovery),
		cmocka_unit_test(test_plan_from_pms_snapshot_file),
		cmocka_unit_test(test_saved_plan_with_generated_code),
		cmocka_unit_test(test_apply_drops_old_journal_entries),
		cmocka_unit_test(test_failed_code_write_back_closes_the_create_unsent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
