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

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_OA1_invite_per_rental),
		FX_TEST(test_OA2_validity),
		FX_TEST(test_OA2_rolling_validity),
		FX_TEST(test_OA3_delinquent_and_vacant),
		FX_TEST(test_OA3_scoped_plan_leaves_other_invites),
		FX_TEST(test_OA4_invite_url_written_back_and_masked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
