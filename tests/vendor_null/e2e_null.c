/*
 * e2e_null.c: the test-only "null" vendor end to end. It was added by one
 * provider file (null.c), one diff file (diff_null.c), one row in a table
 * of vendors (vendors.c) and one simulator module (sim_null.c + a row in
 * sim_apis.c): nothing else of reconcile names it. reconcile-null and
 * reconcile-sim-null are the usual programs linked with those tables; the
 * plan, apply, report and validate below run through the same engine,
 * spec loader and apply as the real vendors.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SITE "{\"name\":\"nx\",\"pms_site_id\":\"n1\",\"vendor\":\"null\",\"null\":{" \
	"\"base_url\":\"@SIM@/null\",\"api_key_env\":\"E2E_NULL_API_KEY\"}}"

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	setenv("E2E_NULL_API_KEY", "demo-null-key", 1);
	e2e_start_site(t, "tests/vendor_null/seed.json", SITE);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}

static json_t *unit(json_t *st, const char *name)
{
	return json_find_by(json_object_get(st, "units"), "name", name);
}

static const char *tenant_str(json_t *st, const char *name, const char *k)
{
	return json_string_value(json_object_get(json_object_get(unit(st, name), "tenant"), k));
}

static void test_null_vendor_plan_apply_converge(void **state)
{
	struct e2e *t = *state;
	const char *plan_args[] = { "plan", "-c", t->spec, "--json", NULL };
	const char *validate[] = { "validate", "-c", t->spec, NULL };
	const char *report[] = { "report", "-c", t->spec, "-f", "json", NULL };
	struct run r;
	json_t *plan, *st;
	char *code;

	r = e2e_reconcile(t, validate);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "null"));
	run_free(&r);
	r = e2e_reconcile(t, plan_args);
	assert_int_equal(r.status, 0);
	plan = parse_json(r.out);
	assert_non_null(plan);
	/* N1 and N2 get tenants (N2's code generated and written back first),
	 * N3 is overlocked, N4 (no rental, another's tenant) vacated */
	assert_int_equal(plan_ops(plan, "tenant.create"), 2);
	assert_int_equal(plan_ops(plan, "pms.write"), 1);
	assert_int_equal(plan_ops(plan, "unit.disable"), 1);
	assert_int_equal(plan_ops(plan, "unit.vacate"), 1);
	assert_int_equal(json_array_size(json_object_get(plan, "reconcile_operations")), 5);
	assert_null(strstr(r.out, "482913"));             /* R6: codes never shown */
	json_decref(plan);
	run_free(&r);

	assert_int_equal(e2e_apply(t), 0);
	st = sim_state_of(t, "null");
	assert_string_equal(tenant_str(st, "N1", "rental"), "r1");
	assert_string_equal(tenant_str(st, "N1", "code"), "482913");
	code = sim_rental_field(t, "r2", "null_code");
	assert_non_null(code);                            /* written back (R8) */
	assert_int_equal(strlen(code), 6);
	assert_string_equal(tenant_str(st, "N2", "code"), code);
	free(code);
	assert_string_equal(json_string_value(json_object_get(unit(st, "N3"), "status")), "Delinquent");
	assert_string_equal(json_string_value(json_object_get(unit(st, "N4"), "status")), "Vacant");
	assert_true(json_is_null(json_object_get(unit(st, "N4"), "tenant")));
	json_decref(st);

	assert_int_equal(e2e_plan_exit(t), 0);            /* converged */
	r = e2e_reconcile(t, report);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"vendor\": \"null\""));
	run_free(&r);
}

/* Drift made by hand at the vendor is read back and undone. */
static void test_null_vendor_drift_is_corrected(void **state)
{
	struct e2e *t = *state;
	json_t *st;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "null.units", "N1", json_pack("{s:n, s:s}", "tenant", "status", "Vacant"));
	assert_int_equal(e2e_plan_exit(t), 2);
	assert_int_equal(e2e_apply(t), 0);
	st = sim_state_of(t, "null");
	assert_string_equal(tenant_str(st, "N1", "code"), "482913");
	json_decref(st);
	assert_int_equal(e2e_plan_exit(t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_null_vendor_plan_apply_converge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_vendor_drift_is_corrected, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
