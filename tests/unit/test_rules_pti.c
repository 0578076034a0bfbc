/*
 * test_rules_pti.c: PTI StorLogix rules PT1-PT8, one test per rule (docs/rules.md), named
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
#include "providers/pti.h"

/* A PTI unit (pti_unitName "P-<name>"). */
static void pti_unit(struct fx *f, const char *id, const char *name)
{
	char map[32];

	snprintf(map, sizeof(map), "P-%s", name);
	fx_unit(f, id, name, map);
}

/* Observed PTI user of customer uid (StorLogix id vid) and unit records. */
static struct obs_tenant *pti_user_rec(struct fx *f, const char *uid, const char *vid,
				       const char *code)
{
	char name[64];
	struct obs_tenant *t;

	snprintf(name, sizeof(name), "%c%s", PTI_USER_PREFIX, uid);
	fx_ounit(f, name, VU_RENTED);
	t = fx_otenant(f, name, code, NULL);
	t->vendor_id = vid;
	t->access_profile = 1;
	t->time_group = 1;
	return t;
}

static void pti_unit_rec(struct fx *f, const char *name, const char *vid)
{
	struct obs_unit *u = fx_ounit(f, name, VU_RENTED);
	struct obs_tenant *t = obs_add_tenant(&f->sp.obs, u);

	t->vendor_id = vid;
}

#define STAMP "2026-01-01T00:00:00.000Z"

/* A rental the engine pushed: its pti_synced, and the record of it. */
static void stamped(struct fx *f, struct pms_rental *r)
{
	r->cf = fx_cfs(f, "pti_synced=" STAMP, NULL);
	snprintf(fx_last(f, r->id, false)->synced, sizeof(((struct pms_rec *)0)->synced), STAMP);
}

static void test_PT1_one_user_per_customer(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	pti_unit(f, "u2", "2");
	fx_rental(f, "r1", "u1", "c1", false);
	fx_rent_to(f, "r2", "u2", "c1", false);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "write,create,rent,rent,write,write,write");
	assert_string_equal(f->sp.ops[1].unit, "@c1");
	assert_string_equal(f->sp.ops[1].user_id, "c1");
	assert_int_equal(f->sp.ops[2].id_ref.src, CODE_VENDOR_RESULT);  /* the new user's id */
	assert_string_equal(f->sp.ops[4].collection, "users");
	assert_int_equal(f->sp.ops[4].w[0].type, WB_RESULT);            /* pti_userId */
	assert_string_equal(f->sp.ops[4].w[0].field, "pti_userId");
}

/* PT1, R8: the StorLogix id is written back to the PMS whenever the
 * customer's pti_userId lacks it (a write-back that failed, a field
 * cleared or edited by hand): the engine's record of the user wins. No
 * PTI call: the user is right. */
static void test_PT1_user_id_written_back(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));
	size_t i;

	pti_unit(f, "u1", "1");
	pti_unit(f, "u2", "2");
	stamped(f, fx_rental(f, "r1", "u1", "c1", false));
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", NULL);
	stamped(f, fx_rental(f, "r2", "u2", "c2", false));
	f->snap.users[1].cf = fx_cfs(f, "pti_accessCode=590137", "pti_userId=999", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	pti_user_rec(f, "c2", "102", "590137");
	pti_unit_rec(f, "P-2", "102");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "write,write");
	for (i = 0; i < 2; i++) {
		assert_string_equal(f->sp.ops[i].collection, "users");
		assert_string_equal(f->sp.ops[i].object_id, i ? "c2" : "c1");
		assert_int_equal(f->sp.ops[i].nw, 1);
		assert_string_equal(f->sp.ops[i].w[0].field, "pti_userId");
		assert_int_equal(f->sp.ops[i].w[0].type, WB_STRING);
		assert_string_equal(f->sp.ops[i].w[0].str, i ? "102" : "101");
		assert_string_equal(f->sp.ops[i].rule, "PT1");
	}
}

/* PT1, R9 (issue 10.4): a user PTI said it does not know (its record
 * marked gone by apply) is added again, although pti_userId still names
 * the lost id; its unit, recorded for the lost id, is rented to the new
 * user without a vacate first; the new id is written back. */
static void test_PT1_lost_user_is_added_again(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	fx_rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", "pti_userId=101", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	obs_find_unit_mut(&f->sp.obs, "@c1")->status = PTI_USER_GONE;
	pti_unit_rec(f, "P-1", "101");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,rent,write,write");   /* pti_userId, pti_synced */
	assert_non_null(strstr(f->sp.ops[0].reason, "no longer has user 101"));
	assert_int_equal(f->sp.ops[1].id_ref.src, CODE_VENDOR_RESULT);
	assert_null(f->sp.ops[1].tenant_vid);
	assert_int_equal(f->sp.ops[2].w[0].type, WB_RESULT);
	assert_string_equal(f->sp.ops[2].w[0].field, "pti_userId");
	assert_int_equal(f->sp.destructive, 0);
}

static void test_PT2_one_code_for_all_units(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	pti_unit(f, "u2", "2");
	fx_rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", "pti_userId=101", NULL);
	fx_rent_to(f, "r2", "u2", "c1", false);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	fx_plan(f);
	/* the new unit goes to the same user with the same code: one rent */
	assert_string_equal(fx_ops(f), "rent,write,write");
	assert_string_equal(f->sp.ops[0].unit, "P-2");
	assert_string_equal(f->sp.ops[0].tenant_vid, "101");
	assert_int_equal(f->sp.ngen, 0);
}

static void test_PT3_access_level_and_zone(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	fx_rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", "pti_userId=101", "pti_accessLevel=5", "pti_zone=2", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update,write");
	assert_int_equal(f->sp.ops[0].changed, TF_ACCESS_PROFILE | TF_TIME_GROUP);
	assert_int_equal(f->sp.ops[0].t.access_profile, 5);
	assert_int_equal(f->sp.ops[0].t.time_group, 2);
}

static void test_PT4_suspend_while_any_unit_delinquent(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	pti_unit(f, "u2", "2");
	fx_rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", "pti_userId=101", NULL);
	fx_rent_to(f, "r2", "u2", "c1", true);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	pti_unit_rec(f, "P-2", "101");
	fx_plan(f);
	/* suspend the user; mirror the overlock flag of r2 */
	assert_string_equal(fx_ops(f), "disable,write,write");
	assert_string_equal(f->sp.ops[0].unit, "@c1");
	assert_string_equal(f->sp.ops[0].tenant_vid, "101");
}

static void test_PT5_move_out(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "vacate,remove");
	assert_string_equal(f->sp.ops[0].unit, "P-1");
	assert_string_equal(f->sp.ops[1].tenant_vid, "101");
	assert_int_equal(f->sp.destructive, 1);
}

static void test_PT5_scoped_plan_leaves_other_units(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u2", "2");
	fx_rental(f, "r2", "u2", "c2", false);
	pti_user_rec(f, "c1", "101", "736104");   /* c1 and P-1: not in the snapshot */
	pti_unit_rec(f, "P-1", "101");
	fx_touch(f, "r2", "c2");
	fx_plan(f);
	assert_null(strstr(fx_ops(f), "vacate"));
	assert_null(strstr(fx_ops(f), "remove"));
	assert_int_equal(f->sp.destructive, 0);
	assert_non_null(strstr(fx_ops(f), "create"));  /* c2 is served */
}

/* A customer's code stored as an object: no push, and its PTI user is not
 * taken for one with no unit left (PT5 removes nobody for bad data). */
static void test_PT5_bad_value_removes_nobody(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	fx_rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode{}", "pti_userId=101", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");
	assert_int_equal(f->sp.destructive, 0);
	assert_int_equal(fx_findings(f, FIND_BAD_VALUE), 1);
}

static void test_PT6_regenerate(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	fx_rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", "pti_userId=101", "pti_regenerateCode=true", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "write,update,write,write");
	assert_int_equal(f->sp.ops[0].w[0].code.src, CODE_GENERATED);
	assert_true(f->sp.ops[1].changed & TF_CODE);
	assert_string_equal(f->sp.ops[2].w[0].field, "pti_regenerateCode");
	assert_false(f->sp.ops[2].w[0].b);
}

/* The customer's resource change in a plan (borrowed), NULL when none. */
static const struct rchange *user_change(struct fx *f, const char *uid)
{
	size_t i;

	for (i = 0; i < f->sp.nchanges; i++)
		if (!strcmp(f->sp.changes[i].type, "pti_user") && !strcmp(f->sp.changes[i].name, uid))
			return &f->sp.changes[i];
	return NULL;
}

/* PT6 by command (`codes regenerate`): the plan shows that the user's code
 * changes (~ access_code = (sensitive value)), although the first
 * operation of the customer is the PMS write of the new code. */
static void test_PT6_regenerate_shows_the_code_change(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));
	const struct rchange *c;

	pti_unit(f, "u1", "1");
	fx_rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", "pti_userId=101", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	f->regen_user = "c1";
	fx_plan(f);
	assert_string_equal(fx_ops(f), "write,update,write");
	c = user_change(f, "c1");
	assert_non_null(c);
	assert_int_equal(c->action, ACT_UPDATE);
	assert_string_equal(c->rule, "PT6");
	assert_true(ra_sensitive(&c->after, "access_code"));
}

static void test_PT7_repush(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));
	struct pms_rental *r;

	pti_unit(f, "u1", "1");
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "pti_unitName=P-1", "pti_synced=2999-01-01T00:00:00.000Z", NULL);
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", "pti_userId=101", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update,rent,write");
	assert_int_equal(f->sp.ops[0].changed, TF_ALL);
	assert_int_equal(f->sp.ops[2].w[0].type, WB_NOW);
}

/* PT7: a rental whose pti_synced is empty while PTI holds its access as
 * the engine applied it (the stamp's write-back was held back by a failed
 * call, or failed itself) gets the stamp, with no PTI call; a rental with
 * a stamp and nothing to push gets nothing. */
static void test_PT7_missing_stamp_is_written(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));

	pti_unit(f, "u1", "1");
	pti_unit(f, "u2", "2");
	fx_rental(f, "r1", "u1", "c1", false);
	stamped(f, fx_rent_to(f, "r2", "u2", "c1", false));
	f->snap.users[0].cf = fx_cfs(f, "pti_accessCode=736104", "pti_userId=101", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	pti_unit_rec(f, "P-2", "101");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "write");
	assert_string_equal(f->sp.ops[0].object_id, "r1");
	assert_string_equal(f->sp.ops[0].w[0].field, "pti_synced");
	assert_int_equal(f->sp.ops[0].w[0].type, WB_NOW);
}

/* PT8: PTI cannot be read back: its descriptor says so (the engine then
 * plans against what it last applied and notes PT8), and an applied
 * state is all the rules see: a unit PTI holds but nobody applied is not
 * known, so nothing is planned for it. */
static void test_PT8_not_readable(void **state)
{
	struct fx *f = fx_new(state, "pti", PTI_SETTINGS(""));
	const struct vendor *v = vendor_of(f->site);

	assert_false(v->caps & VENDOR_CAN_READ);
	assert_null(v->refresh);
	assert_string_equal(v->unreadable_rule, "PT8");
	pti_unit(f, "u1", "1");              /* vacant in the PMS, unknown to the state */
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_PT1_one_user_per_customer),
		FX_TEST(test_PT1_user_id_written_back),
		FX_TEST(test_PT1_lost_user_is_added_again),
		FX_TEST(test_PT2_one_code_for_all_units),
		FX_TEST(test_PT3_access_level_and_zone),
		FX_TEST(test_PT4_suspend_while_any_unit_delinquent),
		FX_TEST(test_PT5_move_out),
		FX_TEST(test_PT5_scoped_plan_leaves_other_units),
		FX_TEST(test_PT5_bad_value_removes_nobody),
		FX_TEST(test_PT6_regenerate),
		FX_TEST(test_PT6_regenerate_shows_the_code_change),
		FX_TEST(test_PT7_repush),
		FX_TEST(test_PT7_missing_stamp_is_written),
		FX_TEST(test_PT8_not_readable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
