/*
 * e2e_openapp.c: reconcile against the simulator of Storeganise and OpenApp.
 *
 * Seed tests/e2e/data/openapp.json: site oa1, units O1..O5 with portal
 * fields P-O1..P-O5; rentals r1 (O1), r2 (O2, overdue), r3 (O3, move-out
 * scheduled 2026-12-31); no invite yet. The spec adds the lobby portal.
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
#include <unistd.h>

#include "harness.h"

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	e2e_start_openapp(t, "tests/e2e/data/openapp.json", "oa1", "oa1",
			  "01ORG0000000000000000000AA", "01INT0000000000000000000BB", "P-LOBBY");
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}

static json_t *plan_json(struct e2e *t)
{
	const char *args[] = { "plan", "-c", t->spec, "--json", NULL };
	struct run r = e2e_reconcile(t, args);
	json_t *j = parse_json(r.out);

	if (!j)
		fprintf(stderr, "plan failed (%d): %s\n%s\n", r.status, r.out, r.err);
	assert_non_null(j);
	run_free(&r);
	return j;
}




static json_t *invites(struct e2e *t)
{
	json_t *st = sim_get(t, "/_sim/state");
	json_t *inv = json_incref(json_object_get(json_object_get(st, "openapp"), "invites"));

	json_decref(st);
	return inv;
}

static json_t *invite_of(json_t *arr, const char *rental)
{
	json_t *i;
	size_t k;

	json_array_foreach(arr, k, i)
		if (!strcmp(json_string_value(json_object_get(json_object_get(i, "external_ref"),
							      "record_id")) ?: "", rental))
			return i;
	return NULL;
}


static size_t vendor_calls(struct e2e *t, const char *method)
{
	json_t *r = sim_requests(t);
	size_t n = count_requests(r, method, "/openapp/");

	json_decref(r);
	return n;
}

static void test_OA_fresh_site_converges(void **state)
{
	struct e2e *t = *state;
	json_t *plan, *inv, *i2, *i3;
	const char *args[] = { "plan", "-c", t->spec, NULL };
	const char *jargs[] = { "plan", "-c", t->spec, "--json", NULL };
	const char *aargs[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	struct run r[3];
	char *url, path[320];
	size_t k;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	plan = plan_json(t);
	assert_int_equal(plan_ops(plan, "tenant.create"), 3);
	assert_int_equal(plan_ops(plan, "pms.write"), 3);
	assert_int_equal(json_array_size(json_object_get(plan, "reconcile_operations")), 6);
	json_decref(plan);
	r[0] = e2e_reconcile(t, args);
	r[1] = e2e_reconcile(t, jargs);
	r[2] = e2e_reconcile(t, aargs);
	assert_int_equal(r[2].status, 0);
	assert_int_equal(e2e_plan_exit(t), 0);
	inv = invites(t);
	assert_int_equal(json_array_size(inv), 3);
	i2 = invite_of(inv, "r2");
	i3 = invite_of(inv, "r3");
	assert_false(json_is_true(json_object_get(i2, "is_enabled")));   /* OA3: overdue */
	assert_true(json_is_true(json_object_get(invite_of(inv, "r1"), "is_enabled")));
	assert_string_equal(json_string_value(json_object_get(i3, "valid_to")), "2026-12-31T23:59:59Z");
	assert_int_equal(json_array_size(json_object_get(i3, "granted_portals")), 2); /* unit + lobby */
	/* OA4: the URL reached the PMS, and nothing else */
	url = sim_rental_field(t, "r1", "openapp_inviteUrl");
	assert_non_null(url);
	assert_non_null(strstr(url, json_string_value(json_object_get(invite_of(inv, "r1"), "_token"))));
	snprintf(path, sizeof(path), "%s/state", t->dir);
	assert_false(dir_contains(path, url));
	for (k = 0; k < 3; k++) {
		assert_null(strstr(r[k].out, url));
		assert_null(strstr(r[k].err, url));
		assert_null(strstr(r[k].out, "openapp.example/i/"));
		run_free(&r[k]);
	}
	free(url);
	json_decref(inv);
}

/* The invite list is read in pages of http.openapp.page_size. */
static void test_OA_page_size_from_the_spec(void **state)
{
	struct e2e *t = *state;
	json_t *inv = NULL, *i;
	size_t k, ours = 0;

	assert_int_equal(e2e_converge(t), 0);
	inv = invites(t);
	json_array_foreach(inv, k, i)
		if (!strcmp(json_string_value(json_object_get(json_object_get(i, "external_ref"),
							      "source")) ?: "", "storeganise") &&
		    !strcmp(json_string_value(json_object_get(i, "integration_id")) ?: "",
			    "01INT0000000000000000000BB"))
			ours++;
	json_decref(inv);
	assert_true(ours >= 2);
	e2e_spec_http(t, "openapp", "page_size", 1);
	sim_clear_requests(t);
	assert_int_equal(e2e_plan_exit(t), 0);
	e2e_spec_http(t, "openapp", "page_size", -1);
	assert_int_equal(vendor_calls(t, "GET"), ours); /* one invite a page */
}

static void test_OA_move_in_overdue_payment_move_out(void **state)
{
	struct e2e *t = *state;
	json_t *plan, *inv;

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r4", "unitId", "u4",
		"siteId", "oa1", "ownerId", "c4", "state", "occupied", "startDate", "2026-11-20",
		"customFields")));
	plan = plan_json(t);
	assert_int_equal(json_array_size(json_object_get(plan, "reconcile_operations")), 2); /* create + URL */
	json_decref(plan);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_calls(t, "POST"), 1);
	assert_int_equal(e2e_plan_exit(t), 0);

	sim_clear_requests(t);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "overdue", "2026-11-22T00:00:00Z"));
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_calls(t, "PUT"), 1);
	assert_int_equal(vendor_calls(t, "POST"), 0);
	inv = invites(t);
	assert_false(json_is_true(json_object_get(invite_of(inv, "r1"), "is_enabled")));
	json_decref(inv);

	sim_clear_requests(t);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:n}", "overdue"));
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_calls(t, "PUT"), 1);
	inv = invites(t);
	assert_true(json_is_true(json_object_get(invite_of(inv, "r1"), "is_enabled")));
	json_decref(inv);

	sim_clear_requests(t);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "state", "ended"));
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_calls(t, "POST"), 1); /* revoke */
	assert_int_equal(vendor_calls(t, "PUT"), 0);
	inv = invites(t);
	assert_true(json_is_string(json_object_get(invite_of(inv, "r1"), "revoked_at")));
	json_decref(inv);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* OA5: the vendor commits the create but the answer never arrives in time;
 * the retry with the same Idempotency-Key replays it: one invite. */
static void test_OA5_retried_create_makes_one_invite(void **state)
{
	struct e2e *t = *state;
	json_t *inv, *reqs;
	char *url;

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r5", "unitId", "u5",
		"siteId", "oa1", "ownerId", "c5", "state", "occupied", "startDate", "2026-11-21",
		"customFields")));
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:b, s:i}]",
		"method", "POST", "path_contains", "/access-invites", "status", 0, "delay_ms", 2500,
		"commit", 1, "times", 1)));
	e2e_spec_http(t, "openapp", "timeout_ms", 1000);
	assert_int_equal(e2e_apply(t), 0);
	e2e_spec_http(t, "openapp", "timeout_ms", -1);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "POST", "/regenerate-token"), 1);
	assert_true(count_requests(reqs, "POST", "/access-invites") >= 3); /* 2 creates + relink */
	json_decref(reqs);
	inv = invites(t);
	assert_int_equal(json_array_size(inv), 4);
	assert_non_null(invite_of(inv, "r5"));
	url = sim_rental_field(t, "r5", "openapp_inviteUrl");
	assert_non_null(url);   /* a replay has no URL: the link was renewed */
	assert_non_null(strstr(url, json_string_value(json_object_get(invite_of(inv, "r5"), "_token"))));
	free(url);
	json_decref(inv);
	assert_int_equal(e2e_plan_exit(t), 0);
}

static void test_OA5_rate_limit_is_waited_out(void **state)
{
	struct e2e *t = *state;

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:i, s:{s:s}}]",
		"method", "GET", "path_contains", "/access-invites", "status", 429, "retry_after", 1,
		"times", 1, "body", "error_code", "invitation_rate_limited")));
	assert_int_equal(e2e_plan_exit(t), 0);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
}

/* A 503 with Retry-After on a read is retried after the time it names (a
 * lower bound, not a timing goal); one that names more than 30 s fails the
 * run at once with the vendor's status, changing nothing. */
static void test_OA5_unavailable_retry_after(void **state)
{
	struct e2e *t = *state;
	struct timespec a, b;
	json_t *reqs;
	double dt;

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:i}]",
		"method", "GET", "path_contains", "/access-invites", "status", 503, "retry_after", 1,
		"times", 1)));
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(e2e_plan_exit(t), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	dt = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(dt >= 0.95);
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "GET", "/access-invites"), 2);
	json_decref(reqs);

	sim_clear_requests(t);
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:i}]",
		"method", "GET", "path_contains", "/access-invites", "status", 503, "retry_after", 120,
		"times", 1)));
	assert_int_equal(e2e_plan_exit(t), 1);
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "GET", "/access-invites"), 1);
	json_decref(reqs);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* A saved plan whose write-back takes the invite URL from the create. */
static void test_OA_saved_plan_applies(void **state)
{
	struct e2e *t = *state;
	const char *pargs[] = { "plan", "-c", t->spec, "--out", "oa.plan", NULL };
	const char *aargs[] = { "apply", "-c", t->spec, "oa.plan", NULL };
	char cmd[400], *url;
	struct run r;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/state'", t->dir);
	assert_int_equal(system(cmd), 0);
	r = e2e_reconcile(t, pargs);
	assert_int_equal(r.status, 0);
	run_free(&r);
	r = e2e_reconcile(t, aargs);
	if (r.status)
		fprintf(stderr, "%s\n%s\n", r.out, r.err);
	assert_int_equal(r.status, 0);
	run_free(&r);
	url = sim_rental_field(t, "r3", "openapp_inviteUrl");
	assert_non_null(url);
	free(url);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* Live (not revoked, not expired) invites of a rental at the vendor. */
static size_t live_invites(struct e2e *t, const char *rental, json_t **last)
{
	json_t *inv = invites(t), *i;
	char now[40];
	time_t tt = time(NULL);
	struct tm tm;
	size_t k, n = 0;

	gmtime_r(&tt, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (last)
		*last = NULL;
	json_array_foreach(inv, k, i) {
		json_t *rev = json_object_get(i, "revoked_at");

		if (strcmp(json_string_value(json_object_get(json_object_get(i, "external_ref"),
							     "record_id")) ?: "", rental) ||
		    (rev && !json_is_null(rev)) ||
		    strcmp(json_string_value(json_object_get(i, "valid_to")) ?: "", now) < 0)
			continue;
		n++;
		if (last) {
			json_decref(*last);
			*last = json_incref(i);
		}
	}
	json_decref(inv);
	return n;
}

/* The rental's URL in the PMS is the link of its live invite. */
static void assert_url_is_live(struct e2e *t, const char *rental)
{
	json_t *live;
	char *url;

	assert_int_equal(live_invites(t, rental, &live), 1);
	url = sim_rental_field(t, rental, "openapp_inviteUrl");
	assert_non_null(url);
	assert_non_null(strstr(url, json_string_value(json_object_get(live, "_token"))));
	free(url);
	json_decref(live);
}

static void keep_keys(struct e2e *t, bool forever)
{
	json_decref(sim_post(t, "/_sim/settings", json_pack("{s:{s:b}}", "openapp",
							   "keep_idempotency_keys", forever)));
}

/* An apply after which a second apply calls the vendor no more. */
static void assert_converged(struct e2e *t)
{
	assert_int_equal(e2e_plan_exit(t), 0);
	sim_clear_requests(t);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_calls(t, "POST") + vendor_calls(t, "PUT") + vendor_calls(t, "DELETE"), 0);
}

/* OA1, OA4: an invite revoked by hand at OpenApp is replaced by a new
 * invite whose URL reaches the PMS; the site converges. Whether the vendor
 * forgets an idempotency key with its invite or keeps it for long, the
 * new create names a new attempt: the old revoked invite is never
 * replayed, its dead URL never written. */
static void test_OA1_OA4_invite_revoked_by_hand_is_replaced(void **state)
{
	struct e2e *t = *state;
	int forever;

	for (forever = 1; forever >= 0; forever--) {
		json_t *old;

		assert_int_equal(e2e_converge(t), 0);
		keep_keys(t, forever);
		assert_int_equal(live_invites(t, "r1", &old), 1);
		sim_patch(t, "openapp.invites", json_string_value(json_object_get(old, "id")),
			  json_pack("{s:s}", "revoked_at", "2026-11-30T00:00:00.000Z"));
		json_decref(old);
		assert_int_equal(live_invites(t, "r1", NULL), 0);
		assert_int_equal(e2e_apply(t), 0);
		assert_url_is_live(t, "r1");
		assert_converged(t);
		/* and again: a third invite, a third key */
		assert_int_equal(live_invites(t, "r1", &old), 1);
		sim_patch(t, "openapp.invites", json_string_value(json_object_get(old, "id")),
			  json_pack("{s:s}", "revoked_at", "2026-11-30T00:00:00.000Z"));
		json_decref(old);
		assert_int_equal(e2e_apply(t), 0);
		assert_url_is_live(t, "r1");
		assert_converged(t);
	}
}

/* Requests with this method whose path ends with suffix, answered status. */
static size_t answers(struct e2e *t, const char *method, const char *suffix, long status)
{
	json_t *reqs = sim_requests(t), *q;
	size_t i, n = 0, ls = strlen(suffix);

	json_array_foreach(reqs, i, q) {
		const char *path = json_string_value(json_object_get(q, "path")) ?: "";
		size_t lp = strlen(path);

		n += !strcmp(json_string_value(json_object_get(q, "method")) ?: "", method) &&
		     lp >= ls && !strcmp(path + lp - ls, suffix) &&
		     json_integer_value(json_object_get(q, "status")) == status;
	}
	json_decref(reqs);
	return n;
}

static void delete_live_invite(struct e2e *t, const char *rental)
{
	json_t *old;

	assert_int_equal(live_invites(t, rental, &old), 1);
	json_decref(sim_post(t, "/_sim/delete", json_pack("{s:s, s:s}", "collection",
		"openapp.invites", "id", json_string_value(json_object_get(old, "id")))));
	json_decref(old);
	assert_int_equal(live_invites(t, rental, NULL), 0);
}

/* OA1, OA4: an invite deleted by hand is replaced the same way. The
 * vendor no longer lists it, so the refresh cannot count it: a vendor that
 * still replays its key (the same request) or refuses the key for another
 * request (409 idempotency_key_conflict) is answered with a create under
 * a key of its own for this attempt. */
static void test_OA1_OA4_invite_deleted_by_hand_is_replaced(void **state)
{
	struct e2e *t = *state;
	int forever;

	for (forever = 1; forever >= 0; forever--) {
		assert_int_equal(e2e_converge(t), 0);
		keep_keys(t, forever);
		delete_live_invite(t, "r1");
		assert_int_equal(e2e_apply(t), 0);
		assert_url_is_live(t, "r1");
		assert_converged(t);
		/* again, and the rental's window changed meanwhile */
		delete_live_invite(t, "r1");
		sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "startDate", "2026-02-01"));
		sim_clear_requests(t);
		assert_int_equal(e2e_apply(t), 0);
		assert_int_equal(answers(t, "POST", "/access-invites", 409), forever ? 1 : 0);
		assert_url_is_live(t, "r1");
		assert_converged(t);
	}
}

/* OA2, R7: an occupied rental whose scheduled move-out day has passed
 * (the PMS has not ended it yet) gets one invite with the window the
 * rules give (ending that day: expired at once), then no changes. A
 * move-out postponed later extends that same invite. */
static void test_OA2_move_out_day_passed_converges(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "plan", "-c", t->spec, "--detailed-exitcode", NULL };
	char past[16], later[16], want[40], cmd[400];
	time_t tt = time(NULL);
	struct tm tm;
	json_t *inv, *i1;
	size_t k, n = 0;
	struct run r;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/state'", t->dir);
	assert_int_equal(system(cmd), 0);
	tt -= 3 * 86400;
	gmtime_r(&tt, &tm);
	strftime(past, sizeof(past), "%Y-%m-%d", &tm);
	tt += 13 * 86400;
	gmtime_r(&tt, &tm);
	strftime(later, sizeof(later), "%Y-%m-%d", &tm);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "endDate", past));
	assert_int_equal(e2e_apply(t), 0);
	for (k = 0; k < 2; k++) {
		r = e2e_reconcile(t, args);
		if (r.status)
			fprintf(stderr, "%s\n%s\n", r.out, r.err);
		assert_int_equal(r.status, 0);
		run_free(&r);
		assert_converged(t);
	}
	inv = invites(t);
	json_array_foreach(inv, k, i1)
		n += !strcmp(json_string_value(json_object_get(json_object_get(i1, "external_ref"),
							       "record_id")) ?: "", "r1");
	assert_int_equal(n, 1);
	snprintf(want, sizeof(want), "%sT23:59:59Z", past);
	assert_string_equal(json_string_value(json_object_get(invite_of(inv, "r1"), "valid_to")), want);
	json_decref(inv);

	sim_clear_requests(t);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "endDate", later));
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(vendor_calls(t, "PUT"), 1);
	assert_int_equal(vendor_calls(t, "POST"), 0);
	assert_url_is_live(t, "r1");                    /* the same link works again */
	assert_converged(t);
}

/* OA4, R8 (issue 10): a URL that never reached the PMS (here the PMS
 * refused the write-back on every attempt) is seen by the next plan: the
 * link is renewed and written back; the plan shows it, never the URL. */
static void test_OA4_lost_write_back_renews_the_link(void **state)
{
	struct e2e *t = *state;
	const char *pargs[] = { "plan", "-c", t->spec, NULL };
	const char *rargs[] = { "report", "-c", t->spec, NULL };
	json_t *plan, *reqs;
	struct run r;
	char *url, path[320];

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r4", "unitId", "u4",
		"siteId", "oa1", "ownerId", "c4", "state", "occupied", "startDate", "2026-11-20",
		"customFields")));
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i}]",
		"method", "PUT", "path_contains", "/unit-rentals/r4", "status", 500, "times", -1)));
	assert_int_equal(e2e_status(t, (const char *[]){ "apply", "-c", t->spec, "--auto-approve",
							 NULL }), 1);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	assert_int_equal(live_invites(t, "r4", NULL), 1);
	assert_null(sim_rental_field(t, "r4", "openapp_inviteUrl"));

	plan = plan_json(t);
	assert_int_equal(plan_ops(plan, "tenant.update"), 1);
	assert_int_equal(plan_ops(plan, "pms.write"), 1);
	assert_int_equal(plan_ops(plan, "tenant.create"), 0);
	json_decref(plan);
	r = e2e_reconcile(t, pargs);
	assert_non_null(strstr(r.out, "invite_url"));
	assert_null(strstr(r.out, "openapp.example"));
	run_free(&r);
	r = e2e_reconcile(t, rargs);
	assert_non_null(strstr(r.out, "writeback_pending"));
	run_free(&r);

	/* as a saved plan: the renewal's result feeds the write-back */
	r = e2e_reconcile(t, (const char *[]){ "plan", "-c", t->spec, "--out", "renew.plan", NULL });
	assert_int_equal(r.status, 0);
	run_free(&r);
	sim_clear_requests(t);
	r = e2e_reconcile(t, (const char *[]){ "apply", "-c", t->spec, "renew.plan", NULL });
	if (r.status)
		fprintf(stderr, "%s\n%s\n", r.out, r.err);
	assert_int_equal(r.status, 0);
	run_free(&r);
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "POST", "/regenerate-token"), 1);
	assert_int_equal(count_requests(reqs, "POST", "/access-invites"), 1);   /* no create */
	json_decref(reqs);
	assert_url_is_live(t, "r4");
	url = sim_rental_field(t, "r4", "openapp_inviteUrl");
	snprintf(path, sizeof(path), "%s/state", t->dir);
	assert_false(dir_contains(path, url));
	free(url);
	assert_converged(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_OA_fresh_site_converges),
		cmocka_unit_test(test_OA_page_size_from_the_spec),
		cmocka_unit_test(test_OA_move_in_overdue_payment_move_out),
		cmocka_unit_test(test_OA5_retried_create_makes_one_invite),
		cmocka_unit_test(test_OA5_rate_limit_is_waited_out),
		cmocka_unit_test(test_OA5_unavailable_retry_after),
		cmocka_unit_test(test_OA_saved_plan_applies),
		cmocka_unit_test(test_OA1_OA4_invite_revoked_by_hand_is_replaced),
		cmocka_unit_test(test_OA1_OA4_invite_deleted_by_hand_is_replaced),
		cmocka_unit_test(test_OA2_move_out_day_passed_converges),
		cmocka_unit_test(test_OA4_lost_write_back_renews_the_link),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
