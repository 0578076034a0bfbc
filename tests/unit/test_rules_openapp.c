/*
 * test_rules_openapp.c: OpenApp rules OA1-OA5, one test per rule (docs/rules.md), named
 * after it. Inputs are built with the fixture (fixture.h) and planned
 * through the engine's own dispatch (rules_plan_site): no LMDB, no HTTP.
 */
#define _GNU_SOURCE
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "providers/vendor.h"

/* An observed invite for rental `rental` (its portals and window in extra). */
static void oa_invite(struct fx *f, const char *rental, bool enabled, const char *extra)
{
	struct obs_unit *u = fx_ounit(f, rental, enabled ? VU_RENTED : VU_DELINQUENT);
	struct obs_tenant *t = obs_add_tenant(&f->sp.obs, u);

	t->vendor_id = "INV";
	t->rental_id = rental;
	t->enabled = enabled;
	t->extra = extra;
}

/* The rental's invite URL reached the PMS (OA4). */
#define URL "openapp_inviteUrl=https://openapp.example/i/tok"

/* today + days, end of day, UTC (as diff_openapp writes it). */
static void day_after(long days, char *out, size_t n)
{
	time_t t = time(NULL) + days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT23:59:59Z", &tm);
}

static void test_OA1_invite_per_rental(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));

	fx_unit(f, "u1", "A1", "P2, P1");
	fx_unit(f, "u2", "A2", "P3");
	fx_rental(f, "r1", "u1", "c1", false)->start_date = "2026-01-05";
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,write");
	assert_string_equal(f->sp.ops[0].t.portals, "L,P1,P2");
	assert_string_equal(f->sp.ops[0].rental_id, "r1");
	assert_int_equal(f->sp.ops[0].result_slot, 0);
	assert_int_equal(f->sp.nresults, 1);
	assert_true(f->sp.ops[0].t.enabled);
}

/* An invite URL stored as an object: the invite is neither renewed nor
 * revoked, and the unit is reported. */
static void test_OA2_bad_value_leaves_the_invite(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));

	fx_unit(f, "u1", "A1", "P1");
	fx_rental(f, "r1", "u1", "c1", false)->cf = fx_cfs(f, "openapp_inviteUrl{}", NULL);
	oa_invite(f, "r1", true, NULL);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");
	assert_int_equal(fx_findings(f, FIND_BAD_VALUE), 1);
}

static void test_OA2_validity(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", "P1");
	fx_unit(f, "u2", "A2", "P2");
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->start_date = "2026-01-05";
	r->end_date = "2026-03-31";
	fx_rental(f, "r2", "u2", "c2", false)->start_date = "2026-01-05";
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,write,create,write");
	assert_string_equal(f->sp.ops[0].t.valid_from, "2026-01-05T00:00:00Z");
	assert_string_equal(f->sp.ops[0].t.valid_to, "2026-03-31T23:59:59Z");
	assert_string_equal(f->sp.ops[2].t.valid_to, "2036-01-03T23:59:59Z"); /* open-ended */
}

static void test_OA2_rolling_validity(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS("\"validity_days\":30,"));
	char d30[32], d20[32], d10[32], x2[160], x3[160];

	day_after(30, d30, sizeof(d30));
	day_after(20, d20, sizeof(d20));
	day_after(10, d10, sizeof(d10));
	fx_unit(f, "u1", "A1", "P1");
	fx_unit(f, "u2", "A2", "P2");
	fx_unit(f, "u3", "A3", "P3");
	fx_rental(f, "r1", "u1", "c1", false)->start_date = "2026-01-05";
	fx_rental(f, "r2", "u2", "c2", false)->start_date = "2026-01-05";
	fx_rental(f, "r3", "u3", "c3", false)->start_date = "2026-01-05";
	f->snap.rentals[1].cf = f->snap.rentals[2].cf = fx_cfs(f, URL, NULL);
	snprintf(x2, sizeof(x2), "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P2\",\"t\":\"%s\"}", d20);
	snprintf(x3, sizeof(x3), "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P3\",\"t\":\"%s\"}", d10);
	oa_invite(f, "r2", true, x2);
	oa_invite(f, "r3", true, x3);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,write,update");
	assert_string_equal(f->sp.ops[0].rental_id, "r1");
	assert_string_equal(f->sp.ops[0].t.valid_to, d30);
	assert_string_equal(f->sp.ops[2].rental_id, "r3");
	assert_int_equal(f->sp.ops[2].changed, TF_WINDOW);
	assert_string_equal(f->sp.ops[2].t.valid_to, d30);
}

static void test_OA3_delinquent_and_vacant(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));

	fx_unit(f, "u1", "A1", "P1");
	fx_rental(f, "r1", "u1", "c1", true)->start_date = "2026-01-05";
	f->snap.rentals[0].cf = fx_cfs(f, URL, NULL);
	oa_invite(f, "r1", true, "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P1\","
			      "\"t\":\"2036-01-03T23:59:59Z\"}");
	oa_invite(f, "r9", true, "{}");   /* its rental ended */
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update,vacate");
	assert_int_equal(f->sp.ops[0].changed, TF_ENABLED);
	assert_false(f->sp.ops[0].t.enabled);
	assert_string_equal(f->sp.ops[1].tenant_vid, "INV");
	assert_int_equal(f->sp.destructive, 1);
}

static void test_OA3_scoped_plan_leaves_other_invites(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));

	fx_unit(f, "u1", "A1", "P1");
	fx_rental(f, "r1", "u1", "c1", true)->start_date = "2026-01-05";
	f->snap.rentals[0].cf = fx_cfs(f, URL, NULL);
	oa_invite(f, "r1", true, "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P1\","
			      "\"t\":\"2036-01-03T23:59:59Z\"}");
	oa_invite(f, "r9", true, "{}");   /* another rental's invite: not in the scope */
	fx_touch(f, "r1", "c1");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update");
	assert_int_equal(f->sp.destructive, 0);
}

static void test_OA4_invite_url_written_back_and_masked(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));
	struct plan p = { 0 };
	char *json;
	json_t *j;

	fx_unit(f, "u1", "A1", "P1");
	fx_rental(f, "r1", "u1", "c1", false);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,write");
	assert_int_equal(f->sp.ops[1].w[0].type, WB_CODE);
	assert_int_equal(f->sp.ops[1].w[0].code.src, CODE_VENDOR_RESULT);
	assert_string_equal(f->sp.ops[1].w[0].field, "openapp_inviteUrl");
	p.sites = &f->sp;
	p.nsites = 1;
	j = plan_to_json(&p);
	json = json_dumps(j, 0);
	assert_non_null(strstr(json, "\"vendor_result\""));
	assert_null(strstr(json, "http"));
	free(json);
	json_decref(j);
}

/* today + days as YYYY-MM-DD (UTC). */
static const char *ymd(struct fx *f, long days)
{
	time_t t = time(NULL) + days * 86400;
	struct tm tm;
	char buf[16];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
	return fx_str(f, buf);
}

/* OA2, R7: a rental still occupied after its move-out day keeps the
 * invite that ended that day (expired at the vendor): nothing to do. An
 * expired invite of a rental no longer occupied opens nothing: it is not
 * revoked (a call that changes no gate, counted by R10). */
static void test_OA2_move_out_day_passed_keeps_the_expired_invite(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));
	struct pms_rental *r;
	char x1[160], x9[160];

	fx_unit(f, "u1", "A1", "P1");
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->start_date = "2026-01-05";
	r->end_date = ymd(f, -3);
	r->cf = fx_cfs(f, URL, NULL);
	snprintf(x1, sizeof(x1), "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P1\",\"t\":\"%sT23:59:59Z\"}",
		 ymd(f, -3));
	snprintf(x9, sizeof(x9), "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P9\",\"t\":\"%sT23:59:59Z\"}",
		 ymd(f, -1));
	oa_invite(f, "r1", true, x1);
	oa_invite(f, "r9", true, x9);    /* its rental ended after the invite expired */
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");
	assert_int_equal(f->sp.destructive, 0);
}

/* OA2: a move-out postponed after the invite expired extends it (one
 * PUT: the customer's link stays the same). */
static void test_OA2_postponed_move_out_extends_the_expired_invite(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));
	struct pms_rental *r;
	char x1[160], want[40];

	fx_unit(f, "u1", "A1", "P1");
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->start_date = "2026-01-05";
	r->end_date = ymd(f, 10);
	r->cf = fx_cfs(f, URL, NULL);
	snprintf(x1, sizeof(x1), "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P1\",\"t\":\"%sT23:59:59Z\"}",
		 ymd(f, -3));
	oa_invite(f, "r1", true, x1);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update");
	assert_int_equal(f->sp.ops[0].changed, TF_WINDOW);
	snprintf(want, sizeof(want), "%sT23:59:59Z", ymd(f, 10));
	assert_string_equal(f->sp.ops[0].t.valid_to, want);
}

/* OA1, OA5: a rental whose invites the vendor shows only as revoked (by
 * hand, or before the rental was occupied again) gets a new invite; its
 * create carries the idempotency key the refresh derived for the
 * rental's next invite (the observed unit's vendor id), not the key of
 * the revoked one. */
static void test_OA1_revoked_invite_is_replaced_with_a_new_key(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));
	struct obs_unit *u;

	fx_unit(f, "u1", "A1", "P1");
	fx_rental(f, "r1", "u1", "c1", false)->cf = fx_cfs(f, URL, NULL);
	u = fx_ounit(f, "r1", VU_VACANT);   /* no live invite: one revoked */
	u->vendor_id = "reconcile:s1:r1:2";
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,write");
	assert_non_null(f->sp.ops[0].unit_vid);
	assert_string_equal(f->sp.ops[0].unit_vid, "reconcile:s1:r1:2");
	assert_int_equal(f->sp.ops[1].w[0].code.src, CODE_VENDOR_RESULT);
}

/* OA4, R8: the invite exists but the PMS has no URL (its write-back was
 * lost: a crash after the create, a PMS that refused the write, a create
 * in doubt): the link is renewed and written back. The renewal is an
 * update whose result (the one-time URL) the plan keeps; it joins a
 * window change into one operation. */
static void test_OA4_missing_url_renews_the_link(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));
	struct plan p = { 0 };
	char *json;
	json_t *j;

	fx_unit(f, "u1", "A1", "P1");
	fx_unit(f, "u2", "A2", "P2");
	fx_unit(f, "u3", "A3", "P3");
	fx_rental(f, "r1", "u1", "c1", false)->start_date = "2026-01-05";
	fx_rental(f, "r2", "u2", "c2", false)->start_date = "2026-01-05";
	fx_rental(f, "r3", "u3", "c3", false)->start_date = "2026-01-05";
	f->snap.rentals[1].cf = fx_cfs(f, "openapp_inviteUrl=", NULL);
	f->snap.rentals[2].cf = fx_cfs(f, URL, NULL);
	oa_invite(f, "r1", true, "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P1\","
			      "\"t\":\"2036-01-03T23:59:59Z\"}");
	oa_invite(f, "r2", true, "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P2\","
			      "\"t\":\"2030-01-01T23:59:59Z\"}");
	oa_invite(f, "r3", true, "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P3\","
			      "\"t\":\"2036-01-03T23:59:59Z\"}");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update,write,update,write");
	assert_int_equal(f->sp.ops[0].changed, 0);       /* the link only */
	assert_string_equal(f->sp.ops[0].tenant_vid, "INV");
	assert_int_equal(f->sp.ops[0].result_slot, 0);
	assert_string_equal(f->sp.ops[0].rule, "OA4");
	assert_int_equal(f->sp.ops[1].w[0].type, WB_CODE);
	assert_int_equal(f->sp.ops[1].w[0].code.src, CODE_VENDOR_RESULT);
	assert_int_equal(f->sp.ops[1].w[0].code.slot, 0);
	assert_string_equal(f->sp.ops[2].rental_id, "r2");
	assert_int_equal(f->sp.ops[2].changed, TF_WINDOW); /* and the link, in one operation */
	assert_int_equal(f->sp.ops[2].result_slot, 1);
	assert_int_equal(f->sp.nresults, 2);
	p.sites = &f->sp;
	p.nsites = 1;
	j = plan_to_json(&p);
	json = json_dumps(j, 0);
	assert_null(strstr(json, "openapp.example"));
	free(json);
	json_decref(j);
}

/* OA2: open-ended is start + 10 years, in further 10-year steps while
 * less than half of that is ahead: a rental older than 10 years (or with
 * no start date, read as 2000-01-01) is not given an invite that expired
 * before it was made. */
static void test_OA2_open_ended_window_stays_ahead(void **state)
{
	struct fx *f = fx_new(state, "openapp", OA_SETTINGS(""));
	char lo[32], hi[32];

	fx_unit(f, "u1", "A1", "P1");
	fx_unit(f, "u2", "A2", "P2");
	fx_rental(f, "r1", "u1", "c1", false)->start_date = "2012-03-01";
	fx_rental(f, "r2", "u2", "c2", false);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,write,create,write");
	snprintf(lo, sizeof(lo), "%s", ymd(f, 1825));
	snprintf(hi, sizeof(hi), "%s", ymd(f, 3650 + 1825 + 1));
	assert_true(strcmp(f->sp.ops[0].t.valid_to, lo) > 0);
	assert_true(strcmp(f->sp.ops[0].t.valid_to, hi) < 0);
	assert_true(strcmp(f->sp.ops[2].t.valid_to, lo) > 0);
	assert_true(strcmp(f->sp.ops[2].t.valid_to, hi) < 0);
	assert_string_equal(f->sp.ops[2].t.valid_from, "2000-01-01T00:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_OA1_invite_per_rental),
		FX_TEST(test_OA2_bad_value_leaves_the_invite),
		FX_TEST(test_OA2_validity),
		FX_TEST(test_OA2_rolling_validity),
		FX_TEST(test_OA3_delinquent_and_vacant),
		FX_TEST(test_OA3_scoped_plan_leaves_other_invites),
		FX_TEST(test_OA4_invite_url_written_back_and_masked),
		FX_TEST(test_OA2_move_out_day_passed_keeps_the_expired_invite),
		FX_TEST(test_OA2_postponed_move_out_extends_the_expired_invite),
		FX_TEST(test_OA2_open_ended_window_stays_ahead),
		FX_TEST(test_OA1_revoked_invite_is_replaced_with_a_new_key),
		FX_TEST(test_OA4_missing_url_renews_the_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
