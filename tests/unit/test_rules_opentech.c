/*
 * test_rules_opentech.c: OpenTech Alliance rules OT1-OT6, one test per rule (docs/rules.md), named
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

static void test_OT1_tenant_visitor(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS("\"access_profile_id\":3,\"time_group_id\":2,"));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	fx_unit(f, "u2", "A2", NULL);
	fx_unit(f, "u3", "A3", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	r = fx_rental(f, "r2", "u2", "c2", false);
	r->cf = fx_cfs(f, "opentech_accessCode=590137", NULL);
	r = fx_rental(f, "r3", "u3", "c3", false);
	r->cf = fx_cfs(f, "opentech_accessCode=305871", NULL);
	fx_ounit(f, "A1", VU_VACANT);
	fx_ounit(f, "A2", VU_RENTED);
	fx_otenant(f, "A2", "590137", NULL)->access_profile = 3; /* made by hand: adopted */
	obs_find_unit_mut(&f->sp.obs, "A2")->tenants[0].time_group = 2;
	fx_ounit(f, "A3", VU_RENTED);
	fx_otenant(f, "A3", "305871", "r3")->access_profile = 3;
	obs_find_unit_mut(&f->sp.obs, "A3")->tenants[0].time_group = 2;
	fx_otenant(f, "A3", "111", NULL);                        /* a second tenant */
	obs_find_unit_mut(&f->sp.obs, "A3")->tenants[1].vendor_id = "extra";
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,remove");
	assert_string_equal(f->sp.ops[0].t.first_name, "Ana");
	assert_string_equal(f->sp.ops[0].t.email, "ana@example.com");
	assert_int_equal(f->sp.ops[0].t.access_profile, 3);
	assert_int_equal(f->sp.ops[0].t.time_group, 2);
	assert_int_equal(f->sp.ops[0].t.code.src, CODE_PMS_RENTAL);
	assert_string_equal(f->sp.ops[1].tenant_vid, "extra");
}

static void test_OT2_profile_and_time_group(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS("\"access_profile_id\":3,"));
	struct pms_unit *u;
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	fx_unit(f, "u2", "A2", NULL);
	u = &f->snap.units[0];
	u->cf = fx_cfs(f, "opentech_unitId=A1", "opentech_accessProfileId=7", "opentech_timeGroupId=4", NULL);
	u = &f->snap.units[1];
	u->cf = fx_cfs(f, "opentech_unitId=A2", "opentech_accessProfileId=seven", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_rental(f, "r2", "u2", "c2", false);
	fx_ounit(f, "A1", VU_RENTED);
	fx_otenant(f, "A1", "482913", "r1")->access_profile = 3;
	fx_ounit(f, "A2", VU_VACANT);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update");
	assert_int_equal(f->sp.ops[0].changed, TF_ACCESS_PROFILE | TF_TIME_GROUP);
	assert_int_equal(f->sp.ops[0].t.access_profile, 7);
	assert_int_equal(f->sp.ops[0].t.time_group, 4);
	assert_int_equal(fx_findings(f, FIND_BAD_VALUE), 1);
}

static void test_OT3_status_transitions(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	const char *const prev[] = { "r4", NULL };
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);   /* move-in */
	fx_unit(f, "u2", "A2", NULL);   /* move-out */
	fx_unit(f, "u3", "A3", NULL);   /* overdue */
	fx_unit(f, "u4", "A4", NULL);   /* settled */
	fx_unit(f, "u5", "A5", NULL);   /* settled after it moved out */
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	r = fx_rental(f, "r3", "u3", "c3", true);
	r->cf = fx_cfs(f, "opentech_accessCode=590137", "opentech_overlocked=true", NULL);
	r = fx_rental(f, "r4", "u4", "c4", false);
	r->cf = fx_cfs(f, "opentech_accessCode=305871", "opentech_overlocked=false", NULL);
	fx_ounit(f, "A1", VU_VACANT);
	fx_ounit(f, "A2", VU_RENTED);
	fx_otenant(f, "A2", "111", "r2");
	fx_ounit(f, "A3", VU_RENTED);
	fx_otenant(f, "A3", "590137", "r3");
	fx_ounit(f, "A4", VU_DELINQUENT);
	fx_otenant(f, "A4", "305871", "r4");
	fx_ounit(f, "A5", VU_DELINQUENT);
	fx_otenant(f, "A5", "222", "r5");
	fx_last_all(f, prev);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "create,vacate,disable,enable,vacate");
}

static void test_OT4_access_code(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);   /* empty code: generated, written back first */
	fx_unit(f, "u2", "A2", NULL);   /* code edited by staff */
	fx_unit(f, "u3", "A3", NULL);   /* not a code */
	fx_rental(f, "r1", "u1", "c1", false);
	r = fx_rental(f, "r2", "u2", "c2", false);
	r->cf = fx_cfs(f, "opentech_accessCode=736204", NULL);
	r = fx_rental(f, "r3", "u3", "c3", false);
	r->cf = fx_cfs(f, "opentech_accessCode=12a4", NULL);
	fx_ounit(f, "A1", VU_VACANT);
	fx_ounit(f, "A2", VU_RENTED);
	fx_otenant(f, "A2", "482913", "r2");
	fx_ounit(f, "A3", VU_VACANT);
	fx_plan(f);
	assert_string_equal(fx_ops(f), "write,create,update");
	assert_int_equal(f->sp.ops[0].w[0].type, WB_CODE);
	assert_int_equal(f->sp.ops[2].changed, TF_CODE);
	assert_int_equal(f->sp.ops[2].t.code.src, CODE_PMS_RENTAL);
	assert_int_equal(fx_findings(f, FIND_BAD_VALUE), 1);
}

static void test_OT5_resync(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", "opentech_resync=true", NULL);
	fx_ounit(f, "A1", VU_RENTED);
	fx_otenant(f, "A1", "482913", "r1");
	fx_plan(f);
	assert_string_equal(fx_ops(f), "update,enable,write");
	assert_int_equal(f->sp.ops[0].changed, TF_ALL);
	assert_string_equal(f->sp.ops[2].w[0].field, "opentech_resync");
	assert_false(f->sp.ops[2].w[0].b);
}

/* R7: a unit holds two tenant visitors of unknown origin: one matches the
 * rental (customer and code), the other was made by hand for someone else.
 * The one that matches stays; the stranger goes: one call, and the gate
 * never holds the wrong person. Listed first, the stranger is not the one
 * adopted. */
static void test_R7_minimal_two_tenants_keep_the_match(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct obs_tenant *t;
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	r = fx_rental(f, "r1", "u1", "c1", false);
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_ounit(f, "A1", VU_RENTED);
	t = fx_otenant(f, "A1", "915372", NULL);          /* someone else, by hand */
	t->vendor_id = "stranger";
	t->first_name = "Rui";
	t->last_name = "Costa";
	t->email = "rui@example.com";
	t->phone = "+351 2";
	fx_otenant(f, "A1", "482913", NULL)->vendor_id = "match";
	fx_plan(f);
	assert_string_equal(fx_ops(f), "remove");
	assert_string_equal(f->sp.ops[0].tenant_vid, "stranger");
}

static void count_secret(const struct spec_secret *sec, const char *what, void *payload)
{
	(void)sec;
	assert_non_null(strstr(what, "opentech."));
	(*(int *)payload)++;
}

/* OT6: the four credentials of an OpenTech site are references (never
 * inline): each is read from a variable or from the first line of a
 * file; a missing one is named, its value never. */
static void test_OT6_credentials(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct spec_secret env = { .env = "RECONCILE_TEST_OT_KEY" };
	struct spec_secret file = { 0 };
	const char *tmp = getenv("TMPDIR");
	struct rc_err err;
	char dir[256], *v = NULL;
	int n = 0;
	FILE *fp;

	vendor_of(f->site)->spec.conf_secrets(f->site->conf, count_secret, &n);
	assert_int_equal(n, 4);
	unsetenv("RECONCILE_TEST_OT_KEY");
	assert_int_not_equal(spec_secret_read(&env, "the OpenTech API key", NULL, &v, &err), 0);
	assert_non_null(strstr(err.msg, "RECONCILE_TEST_OT_KEY"));
	setenv("RECONCILE_TEST_OT_KEY", "k-123", 1);
	assert_int_equal(spec_secret_read(&env, "the OpenTech API key", NULL, &v, &err), 0);
	assert_string_equal(v, "k-123");
	rc_free_secret(v);
	snprintf(dir, sizeof(dir), "%s/reconcile-ot6-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	file.file = rc_sprintf("%s/secret", dir);
	fp = fopen(file.file, "w");
	assert_non_null(fp);
	fputs("s3cr3t\nsecond line\n", fp);
	fclose(fp);
	assert_int_equal(spec_secret_read(&file, "the OpenTech API secret", NULL, &v, &err), 0);
	assert_string_equal(v, "s3cr3t");
	rc_free_secret(v);
	unlink(file.file);
	rmdir(dir);
	assert_int_not_equal(spec_secret_read(&file, "the OpenTech API secret", NULL, &v, &err), 0);
	assert_null(strstr(err.msg, "s3cr3t"));
	free(file.file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_OT1_tenant_visitor),
		FX_TEST(test_OT2_profile_and_time_group),
		FX_TEST(test_OT3_status_transitions),
		FX_TEST(test_OT4_access_code),
		FX_TEST(test_OT5_resync),
		FX_TEST(test_R7_minimal_two_tenants_keep_the_match),
		FX_TEST(test_OT6_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
