/*
 * test_rules_common.c: R1-R10, the rules common to every vendor (on an OpenTech site), one test per rule (docs/rules.md), named
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

/* The rentals converged before with overdue (and the overlock flag) on. */
static void fx_last_all(struct fx *f, const char *const ids[])
{
	size_t i;

	for (i = 0; ids[i]; i++)
		fx_last(f, ids[i], true);
}

static bool reject_first(const char *code, void *payload)
{
	int *n = payload;

	(void)code;
	return (*n)++ < 5;
}

static void test_R1_managed_units(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));

	fx_unit(f, "u1", "A1", "");          /* unmapped and rented */
	fx_unit(f, "u2", "A2", "");          /* unmapped and vacant */
	fx_rental(f, "r1", "u1", "c1", false);
	fx_ounit(f, "A1", VU_VACANT);
	fx_ounit(f, "A2", VU_RENTED);        /* would be vacated if it were managed */
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");
	assert_int_equal(f->sp.managed, 0);
	assert_int_equal(fx_findings(f, FIND_UNMANAGED_RENTED), 1);
}

static void test_R2_mapping(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", "B-1");       /* differs from the name: synced, warned */
	fx_unit(f, "u2", "A2", "NOPE");      /* names no vendor unit */
	fx_unit(f, "u3", "A3", "DUP");       /* two units map to DUP */
	fx_unit(f, "u4", "A4", "DUP");
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_rental(f, "r2", "u2", "c2", false);
	fx_rental(f, "r3", "u3", "c3", false);
	fx_ounit(f, "B-1", VU_VACANT);
	fx_ounit(f, "DUP", VU_VACANT);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create");
	assert_string_equal(f->sp.ops[0].unit, "B-1");
	assert_int_equal(fx_findings(f, FIND_NAME_MISMATCH), 4);
	assert_int_equal(fx_findings(f, FIND_NO_VENDOR_UNIT), 1);
	assert_int_equal(fx_findings(f, FIND_DUPLICATE_MAPPING), 2);
}

static void test_R3_occupancy(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	fx_unit(f, "u2", "A2", NULL);
	fx_unit(f, "u3", "A3", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->state = PMS_RENTAL_RESERVED;   /* not yet moved in: vacant */
	r = fx_rental(f, "r2", "u2", "c2", false);
	r->state = PMS_RENTAL_ENDED;      /* moved out: vacant */
	fx_rental(f, "r3", "u3", "c3", false);
	fx_rental(f, "r4", "u3", "c4", false); /* second occupied rental: error */
	fx_ounit(f, "A1", VU_VACANT);
	fx_ounit(f, "A2", VU_RENTED);
	fx_otenant(f, "A2", "111", "r2");
	fx_ounit(f, "A3", VU_VACANT);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "vacate");
	assert_string_equal(f->sp.ops[0].unit, "A2");
	assert_int_equal(fx_findings(f, FIND_DOUBLE_OCCUPANCY), 1);
}

static void test_R4_delinquency_overdue_turns_on(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", true);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_ounit(f, "A1", VU_RENTED);
	fx_otenant(f, "A1", "482913", "r1");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "disable,write");
	assert_int_equal(f->sp.ops[1].w[0].type, WB_BOOL);
	assert_true(f->sp.ops[1].w[0].b);
	assert_string_equal(f->sp.ops[1].w[0].field, "opentech_overlocked");
}

static void test_R4_delinquency_payment_clears(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	const char *const prev[] = { "r1", NULL };
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", "opentech_overlocked=true", NULL);
	fx_ounit(f, "A1", VU_DELINQUENT);
	fx_otenant(f, "A1", "482913", "r1");
	fx_last_all(f, prev);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "enable,write");
	assert_false(f->sp.ops[1].w[0].b);
}

static void test_R4_delinquency_staff_flag(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", "opentech_overlocked=true", NULL);
	fx_ounit(f, "A1", VU_RENTED);
	fx_otenant(f, "A1", "482913", "r1");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "disable"); /* no write: the flag is staff's */
}

static void test_R4_delinquency_already_mirrored(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	const char *const prev[] = { "r1", NULL };
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", true);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", "opentech_overlocked=true", NULL);
	fx_ounit(f, "A1", VU_DELINQUENT);
	fx_otenant(f, "A1", "482913", "r1");
	fx_last_all(f, prev);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");
}

static void test_R5_status(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);    /* vacant, vendor Rented -> Vacant */
	fx_unit(f, "u2", "A2", NULL);    /* rented, vendor Delinquent -> Rented */
	fx_unit(f, "u3", "A3", NULL);    /* delinquent, vendor Rented -> Delinquent */
	r = fx_rental(f, "r2", "u2", "c2", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	r = fx_rental(f, "r3", "u3", "c3", false);
	r->cf = fx_cfs(f, "opentech_accessCode=590137", "opentech_overlocked=true", NULL);
	fx_ounit(f, "A1", VU_RENTED);
	fx_ounit(f, "A2", VU_DELINQUENT);
	fx_otenant(f, "A2", "482913", "r2");
	fx_ounit(f, "A3", VU_RENTED);
	fx_otenant(f, "A3", "590137", "r3");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "vacate,enable,disable");
}

static void test_R6_codes(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;
	struct plan p = { 0 };
	struct rc_buf text;
	char code[16], *json;
	struct rc_err err;
	int calls = 0, i;
	json_t *j;

	assert_true(code_trivial("111111"));
	assert_true(code_trivial("123456"));
	assert_true(code_trivial("654321"));
	assert_true(code_trivial("890123"));
	assert_false(code_trivial("482913"));
	for (i = 0; i < 200; i++) {
		assert_int_equal(code_generate(code, 6, NULL, NULL, &err), 0);
		assert_int_equal(strlen(code), 6);
		assert_true(code_valid(code, 6));
		assert_true(code[0] != '0');
		assert_false(code_trivial(code));
	}
	assert_int_equal(code_generate(code, 8, reject_first, &calls, &err), 0);
	assert_int_equal(calls, 6); /* five taken, the sixth is free */

	fx_unit(f, "u1", "A1", NULL);
	fx_unit(f, "u2", "A2", NULL);
	fx_rental(f, "r1", "u1", "c1", false);        /* no code: generated */
	r = fx_rental(f, "r2", "u2", "c2", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_ounit(f, "A1", VU_VACANT);
	fx_ounit(f, "A2", VU_VACANT);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "write,create,create");
	assert_int_equal(f->sp.ops[0].w[0].type, WB_CODE);
	assert_int_equal(f->sp.ops[0].w[0].code.src, CODE_GENERATED);
	assert_int_equal(f->sp.ops[1].t.code.src, CODE_GENERATED);
	assert_int_equal(f->sp.ngen, 1);
	/* the plan, both forms, never holds a code */
	p.sites = &f->sp;
	p.nsites = 1;
	plan_totals(&p);
	rc_buf_init(&text);
	plan_render_text(&p, &(struct render_opts){ 0 }, &text);
	j = plan_to_json(&p);
	json = json_dumps(j, 0);
	assert_null(strstr(text.p, "482913"));
	assert_null(strstr(json, "482913"));
	assert_non_null(strstr(text.p, "(sensitive value)"));
	free(json);
	json_decref(j);
	rc_buf_free(&text);
}

/* A code (or any field the rules read) stored as a JSON object is no code:
 * reported, and the unit left alone, not a new code generated over it. */
static void test_R6_field_of_wrong_json_type_leaves_the_unit_alone(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));

	fx_unit(f, "u1", "A1", NULL);
	fx_unit(f, "u2", "A2", NULL);
	fx_unit(f, "u3", "A3", NULL);
	fx_rental(f, "r1", "u1", "c1", false)->cf = fx_cfs(f, "opentech_accessCode{}", NULL);
	fx_rental(f, "r2", "u2", "c2", false)->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	f->snap.units[2].cf = fx_cfs(f, "opentech_unitId{}", NULL); /* the mapping field */
	fx_ounit(f, "A1", VU_RENTED);
	fx_otenant(f, "A1", "736104", "r1");
	fx_ounit(f, "A2", VU_VACANT);
	fx_ounit(f, "A3", VU_VACANT);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create");     /* r2 only: A1 keeps its tenant */
	assert_string_equal(f->sp.ops[0].unit, "A2");
	assert_int_equal(f->sp.ngen, 0);
	assert_int_equal(fx_findings(f, FIND_BAD_VALUE), 2);
}

static void test_R7_minimal_in_sync(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	fx_unit(f, "u2", "A2", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_ounit(f, "A1", VU_RENTED);
	fx_otenant(f, "A1", "482913", "r1");
	fx_ounit(f, "A2", VU_VACANT);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");
	assert_int_equal(f->sp.nchanges, 0);
}

static void test_R7_minimal_one_update(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct obs_tenant *t;
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_ounit(f, "A1", VU_RENTED);
	t = fx_otenant(f, "A1", "000111", "r1");
	t->last_name = "Old";
	t->phone = "+351 9";
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update");
	assert_int_equal(f->sp.ops[0].changed, TF_LAST_NAME | TF_PHONE | TF_CODE);
}

static void test_R7_minimal_order(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	fx_unit(f, "u2", "A2", NULL);
	r = fx_rental(f, "r1", "u1", "c1", true);  /* overdue move-in */
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_ounit(f, "A1", VU_VACANT);
	fx_ounit(f, "A2", VU_DELINQUENT);          /* moved out while overlocked */
	fx_otenant(f, "A2", "590137", "r9");
	fx_plan(f);
	/* create before disable; vacate alone, never enable-then-vacate */
	assert_string_equal(fx_ops(f), "create,disable,write,vacate");
}

static void test_R8_writeback(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));

	fx_unit(f, "u1", "A1", NULL);
	fx_rental(f, "r1", "u1", "c1", true);
	fx_ounit(f, "A1", VU_VACANT);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "write,create,disable");
	assert_string_equal(f->sp.ops[0].collection, "unit-rentals");
	assert_string_equal(f->sp.ops[0].object_id, "r1");
	assert_int_equal(f->sp.ops[0].nw, 2);       /* code + overlock mirror */
	assert_int_equal(f->sp.nrecs, 1);           /* the state it converges to */
}

static void test_R8_writeback_no_echo(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	const char *const prev[] = { "r1", NULL };
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", true);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", "opentech_overlocked=true", NULL);
	fx_ounit(f, "A1", VU_DELINQUENT);
	fx_otenant(f, "A1", "482913", "r1");
	fx_last_all(f, prev);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");
}

static void test_R9_transfer(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);      /* old unit: the rental ended */
	fx_unit(f, "u2", "A2", NULL);      /* new unit: the new rental, old tenant still there */
	r = fx_rental(f, "r2", "u2", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_ounit(f, "A1", VU_RENTED);
	fx_otenant(f, "A1", "482913", "r1");
	fx_ounit(f, "A2", VU_RENTED);
	fx_otenant(f, "A2", "590137", "r0");   /* another rental's tenant */
	fx_plan(f);
	assert_string_equal(fx_ops(f), "vacate,vacate,create");
	assert_string_equal(f->sp.ops[0].unit, "A1");
	assert_string_equal(f->sp.ops[1].unit, "A2");
	assert_int_equal(f->sp.changes[1].action, ACT_REPLACE);
}

static void test_R10_safety_destructive_count(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	char id[16], name[16];
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		snprintf(name, sizeof(name), "A%02d", i);
		fx_unit(f, id, name, NULL);
		fx_ounit(f, name, VU_RENTED);
	}
	fx_plan(f);
	assert_int_equal(f->sp.managed, 20);
	assert_int_equal(f->sp.destructive, 20);  /* every unit would be vacated */
}

static void test_R10_safety_missing_customer(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->owner_id = "missing";           /* not in the PMS answer */
	fx_ounit(f, "A1", VU_RENTED);
	fx_otenant(f, "A1", "482913", "r1");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "");   /* never vacated for missing data */
	assert_int_equal(fx_findings(f, FIND_MISSING_OWNER), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_R1_managed_units),
		FX_TEST(test_R2_mapping),
		FX_TEST(test_R3_occupancy),
		FX_TEST(test_R4_delinquency_overdue_turns_on),
		FX_TEST(test_R4_delinquency_payment_clears),
		FX_TEST(test_R4_delinquency_staff_flag),
		FX_TEST(test_R4_delinquency_already_mirrored),
		FX_TEST(test_R5_status),
		FX_TEST(test_R6_codes),
		FX_TEST(test_R7_minimal_in_sync),
		FX_TEST(test_R7_minimal_one_update),
		FX_TEST(test_R7_minimal_order),
		FX_TEST(test_R6_field_of_wrong_json_type_leaves_the_unit_alone),
		FX_TEST(test_R8_writeback),
		FX_TEST(test_R8_writeback_no_echo),
		FX_TEST(test_R9_transfer),
		FX_TEST(test_R10_safety_destructive_count),
		FX_TEST(test_R10_safety_missing_customer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
