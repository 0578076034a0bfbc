/*
 * e2e_pms.c: what reconcile reads from the PMS, against the simulator of
 * Storeganise and OpenApp (the vendor that shows it: an invite's window).
 *
 * Seed tests/e2e/data/openapp.json: site oa1, units O1..O5 with portal
 * fields P-O1..P-O5; rentals r1 (O1), r2 (O2, overdue), r3 (O3, endDate
 * 2026-12-31); no invite, no job. The spec reads the PMS in pages of 5.
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
#include <time.h>

#include "harness.h"

#define ORG "01ORG0000000000000000000AA"
#define INTEG "01INT0000000000000000000BB"

/* An OpenApp site of the seed's integration, as spec JSON. */
static char *oa_site(const char *name, const char *pms_site_id)
{
	char *s = NULL;

	if (asprintf(&s, "{\"name\":\"%s\",\"pms_site_id\":\"%s\",\"vendor\":\"openapp\","
		     "\"openapp\":{\"base_url\":\"@SIM@/openapp/api/v1\",\"api_key_env\":\"E2E_OA_API_KEY\","
		     "\"org_id\":\"" ORG "\",\"integration_id\":\"" INTEG "\","
		     "\"lobby_portal_ids\":[\"P-LOBBY\"]}}", name, pms_site_id) < 0)
		abort();
	return s;
}

static void start(struct e2e *t)
{
	e2e_start_openapp(t, "tests/e2e/data/openapp.json", "oa1", "oa1", ORG, INTEG, "P-LOBBY");
}

static json_t *invite_of(struct e2e *t, const char *rental)
{
	json_t *oa = sim_state_of(t, "openapp"), *i, *found = NULL;
	size_t k;

	json_array_foreach(json_object_get(oa, "invites"), k, i)
		if (!found && !strcmp(json_string_value(json_object_get(json_object_get(i, "external_ref"),
									"record_id")) ?: "", rental))
			found = json_incref(i);
	json_decref(oa);
	return found;
}

/* "YYYY-MM-DD" of today + days (UTC). */
static void day(long days, char *out, size_t n)
{
	time_t t = time(NULL) + days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* R10: a site id missing from the PMS answer fails its site. The sites
 * list is paged like every other list: with more sites than one page of
 * the API's default (100), a spec site listed late is still found. */
static void test_R10_every_pms_site_is_read_past_the_first_page(void **state)
{
	struct e2e t;
	char *a, *b, *json, id[16];
	const char *args[] = { "plan", "-c", t.spec, "--detailed-exitcode", NULL };
	struct run r;
	json_t *reqs;
	int i;

	(void)state;
	a = oa_site("oa1", "oa1");
	b = oa_site("far", "x0120");
	if (asprintf(&json, "%s,%s", a, b) < 0)
		abort();
	setenv("E2E_OA_API_KEY", "demo-openapp-key", 1);
	e2e_start_site(&t, "tests/e2e/data/openapp.json", json);
	for (i = 1; i <= 120; i++) {
		snprintf(id, sizeof(id), "x%04d", i);
		json_decref(sim_post(&t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:{}}}",
			"collection", "storeganise.sites", "object", "id", id, "code", id,
			"customFields")));
	}
	sim_clear_requests(&t);
	r = e2e_reconcile(&t, args);
	if (r.status != 2)
		fprintf(stderr, "%s\n%s\n", r.out, r.err);
	assert_int_equal(r.status, 2);     /* both sites planned: oa1 has changes */
	assert_null(strstr(r.err, "not in the PMS answer"));
	assert_null(strstr(r.out, "Not planned"));
	run_free(&r);
	reqs = sim_requests(&t);
	/* 121 sites in pages of 5: 25 GETs (the last one short) */
	assert_int_equal(count_requests(reqs, "GET", "/storeganise/api/v1/admin/sites"), 25);
	json_decref(reqs);
	e2e_stop(&t);
	free(a);
	free(b);
	free(json);
}

/* A move-out job (Storeganise's only record of a scheduled move-out). */
static void insert_job(struct e2e *t, const char *id, const char *rental, const char *state,
		       const char *date)
{
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}}",
		"collection", "storeganise.jobs", "object", "id", id, "type", "unit_moveOut",
		"state", state, "data", "unitRentalId", rental, "date", date)));
	sim_patch(t, "storeganise.unitRentals", rental, json_pack("{s:s}", "moveOutJobId", id));
}

static void assert_valid_to(struct e2e *t, const char *rental, const char *ymd)
{
	json_t *inv = invite_of(t, rental);
	char want[40];

	assert_non_null(inv);
	snprintf(want, sizeof(want), "%sT23:59:59Z", ymd);
	assert_string_equal(json_string_value(json_object_get(inv, "valid_to")), want);
	json_decref(inv);
}

/* OA2: an invite ends on the scheduled move-out day, which Storeganise
 * keeps on the rental's move-out job (moveOutJobId -> the job's
 * data.date while it is ready or running), not on the rental. A
 * cancelled job schedules nothing; the rental's own endDate stays a
 * fallback. Few jobs are read one by one; many through the jobs list,
 * never one GET per rental. */
static void test_OA2_move_out_date_comes_from_the_job(void **state)
{
	struct e2e t;
	char d20[16], d5[16], d40[16];
	json_t *reqs;

	(void)state;
	day(20, d20, sizeof(d20));
	day(5, d5, sizeof(d5));
	day(40, d40, sizeof(d40));
	start(&t);
	insert_job(&t, "j1", "r1", "ready", d20);
	insert_job(&t, "j2", "r2", "cancelled", d5);
	sim_clear_requests(&t);
	assert_int_equal(e2e_apply(&t), 0);
	assert_valid_to(&t, "r1", d20);
	assert_valid_to(&t, "r2", "2035-12-31");     /* open-ended: start + 3650 days */
	assert_valid_to(&t, "r3", "2026-12-31");     /* the rental's endDate */
	reqs = sim_requests(&t);
	assert_int_equal(count_requests(reqs, "GET", "/storeganise/api/v1/admin/jobs/"), 2);
	json_decref(reqs);
	assert_int_equal(e2e_plan_exit(&t), 0);

	/* many scheduled move-outs: one paged list of pending move-out jobs */
	setenv("RECONCILE_SG_JOBS_ONE_BY_ONE", "0", 1);
	sim_clear_requests(&t);
	sim_patch(&t, "storeganise.jobs", "j1", json_pack("{s:{s:s}}", "data", "date", d40));
	assert_int_equal(e2e_apply(&t), 0);
	unsetenv("RECONCILE_SG_JOBS_ONE_BY_ONE");
	assert_valid_to(&t, "r1", d40);              /* postponed: the window follows */
	reqs = sim_requests(&t);
	assert_int_equal(count_requests(reqs, "GET", "/storeganise/api/v1/admin/jobs/"), 0);
	assert_int_equal(count_requests(reqs, "GET", "/storeganise/api/v1/admin/jobs"), 1);
	assert_int_equal(count_requests(reqs, "PUT", "/access-invites/"), 1);
	json_decref(reqs);
	assert_int_equal(e2e_plan_exit(&t), 0);
	e2e_stop(&t);
}

/* OA2 under serve: a move-out job's webhook names only the job; the
 * scoped read of its rental reads the job too. */
static void test_OA2_move_out_job_webhook_sets_the_end(void **state)
{
	struct e2e_srv s;
	json_t *spec;
	char d10[16], body[200];

	(void)state;
	memset(&s, 0, sizeof(s));
	day(10, d10, sizeof(d10));
	start(&s.t);
	spec = json_load_file(s.t.spec, 0, NULL);
	json_object_set_new(json_array_get(json_object_get(spec, "sites"), 0), "sync_interval",
			    json_string("1h"));
	assert_int_equal(json_dump_file(spec, s.t.spec, 0), 0);
	json_decref(spec);
	assert_int_equal(e2e_apply(&s.t), 0);
	e2e_serve_start(&s.t, &s.pid, &s.port);
	assert_true(e2e_serve_settle(s.port));
	insert_job(&s.t, "j9", "r1", "ready", d10);
	snprintf(body, sizeof(body), "{\"id\":\"mo-1\",\"type\":\"job.unit_moveOut.created\","
		 "\"data\":{\"jobId\":\"j9\"}}");
	json_decref(sim_post(&s.t, "/_sim/patch", json_pack("{s:s, s:s, s:{s:{s:s}}}",
		"collection", "storeganise.jobs", "id", "j9", "set", "result", "unitRentalId", "r1")));
	assert_int_equal(e2e_serve_post(s.port, "/webhooks/storeganise", body,
					"e2e-webhook-secret", NULL), 200);
	assert_true(e2e_serve_settle(s.port));
	assert_valid_to(&s.t, "r1", d10);
	assert_int_equal(e2e_serve_stop(&s.pid), 0);
	assert_int_equal(e2e_plan_exit(&s.t), 0);
	e2e_stop(&s.t);
}

/* OA2 from a --pms-snapshot file: its optional "jobs" hold the move-out
 * jobs, in the API's shape. */
static void test_OA2_snapshot_file_reads_move_out_jobs(void **state)
{
	struct e2e t;
	char d20[16], path[320], want[40];
	const char *args[] = { "plan", "-c", t.spec, "--pms-snapshot", path, "--json", NULL };
	json_t *snap, *plan, *op;
	struct run r;

	(void)state;
	day(20, d20, sizeof(d20));
	start(&t);
	snprintf(path, sizeof(path), "%s/snap.json", t.dir);
	snap = json_pack("{s:[{s:s}], s:[{s:s, s:s, s:s, s:{s:s}}], "
			 "s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:s}], s:[{s:s, s:s}], "
			 "s:[{s:s, s:s, s:s, s:{s:s}}]}",
		"sites", "id", "oa1",
		"units", "id", "u1", "siteId", "oa1", "name", "O1", "customFields",
			"openapp_portalIds", "P-O1",
		"unitRentals", "id", "r1", "unitId", "u1", "siteId", "oa1", "ownerId", "c1",
			"state", "occupied", "startDate", "2026-01-01", "moveOutJobId", "j1",
		"users", "id", "c1", "firstName", "F1",
		"jobs", "id", "j1", "type", "unit_moveOut", "state", "ready", "data", "date", d20);
	assert_int_equal(json_dump_file(snap, path, 0), 0);
	json_decref(snap);
	r = e2e_reconcile(&t, args);
	plan = parse_json(r.out);
	assert_non_null(plan);
	op = json_array_get(json_object_get(plan, "reconcile_operations"), 0);
	snprintf(want, sizeof(want), "%sT23:59:59Z", d20);
	assert_string_equal(json_string_value(json_object_get(json_object_get(op, "tenant"), "valid_to")),
			    want);
	json_decref(plan);
	run_free(&r);
	e2e_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_R10_every_pms_site_is_read_past_the_first_page),
		cmocka_unit_test(test_OA2_move_out_date_comes_from_the_job),
		cmocka_unit_test(test_OA2_move_out_job_webhook_sets_the_end),
		cmocka_unit_test(test_OA2_snapshot_file_reads_move_out_jobs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
