/*
 * e2e_tfplan.c: the plan JSON follows Terraform's JSON output format
 * (issue 15, item 6), against the simulator with the demo's facility
 * (two OpenTech sites, a PTI site, an OpenApp site).
 *
 * Two plans: the first sync (creates, write-backs whose values only the
 * apply knows, secrets), and after the apply, move-outs at each vendor, an
 * overdue rental and a renamed customer (deletes and updates). Each is
 * checked here for what Terraform's format says of every change, and
 * written to $TFPLAN_DIR (when set) for the real readers of tests/tfplan,
 * which run after this test (ctest fixture "tfplan").
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

#include "harness.h"
#include "core/common.h"

#define SEED "contrib/demo/seed.json"
#define LISBON "5e1700000000000000000001"
#define R(n) "7e47000000000000000000" n

static const char SITES_JSON[] =
	"{\"name\":\"lisbon\",\"pms_site_id\":\"" LISBON "\",\"vendor\":\"opentech\","
	"\"opentech\":{\"base_url\":\"@SIM@/opentech\",\"property_number\":\"LIS-001\","
	"\"api_key_env\":\"DEMO_OT_API_KEY\",\"api_secret_env\":\"DEMO_OT_API_SECRET\","
	"\"client_id_env\":\"DEMO_OT_CLIENT_ID\",\"client_secret_env\":\"DEMO_OT_CLIENT_SECRET\"}},"
	"{\"name\":\"faro\",\"pms_site_id\":\"5e1700000000000000000003\",\"vendor\":\"pti\","
	"\"pti\":{\"base_url\":\"@SIM@/pti\",\"client_id_env\":\"DEMO_PTI_CLIENT_ID\","
	"\"api_key_env\":\"DEMO_PTI_API_KEY\",\"site_key_site_field\":\"pti_siteKey\","
	"\"site_code_site_field\":\"pti_siteCode\",\"username_site_field\":\"pti_username\","
	"\"password_site_field\":\"pti_password\",\"access_level\":1,\"zone\":1}},"
	"{\"name\":\"braga\",\"pms_site_id\":\"5e1700000000000000000004\",\"vendor\":\"openapp\","
	"\"openapp\":{\"base_url\":\"@SIM@/openapp/api/v1\",\"api_key_env\":\"DEMO_OPENAPP_API_KEY\","
	"\"org_id\":\"01DEMOORG00000000000000000\",\"integration_id\":\"01DEMOINTEGRATION000000000\","
	"\"lobby_portal_ids\":[\"01PORTALLOBBY0000000000000\"],\"max_uses\":50}}";

static int setup(void **state)
{
	static const char *const env[][2] = {
		{ "DEMO_OT_API_KEY", "demo-opentech-key" }, { "DEMO_OT_API_SECRET", "demo-opentech-secret" },
		{ "DEMO_OT_CLIENT_ID", "demo-integrator" },
		{ "DEMO_OT_CLIENT_SECRET", "demo-integrator-secret" },
		{ "DEMO_PTI_CLIENT_ID", "demo-pti-partner" }, { "DEMO_PTI_API_KEY", "demo-pti-partner-key" },
		{ "DEMO_OPENAPP_API_KEY", "demo-openapp-key" },
	};
	struct e2e *t = calloc(1, sizeof(*t));
	size_t i;

	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		setenv(env[i][0], env[i][1], 1);
	e2e_start_site(t, SEED, SITES_JSON);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}

/* plan --json: the parsed plan (new), its text written to $TFPLAN_DIR/name. */
static json_t *plan_json(struct e2e *t, const char *name)
{
	const char *args[] = { "plan", "-c", t->spec, "--json", NULL };
	const char *dir = getenv("TFPLAN_DIR");
	struct run r = e2e_reconcile(t, args);
	json_t *j = parse_json(r.out);
	char path[512];
	FILE *f;

	if (!j)
		fprintf(stderr, "plan failed (%d): %s\n%s\n", r.status, r.out, r.err);
	assert_non_null(j);
	if (dir && *dir) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(r.out, f);
		assert_int_equal(fclose(f), 0);
	}
	run_free(&r);
	return j;
}

static const char *S(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool is_sensitive(json_t *v)
{
	return json_is_string(v) && !strcmp(json_string_value(v), "(sensitive)");
}

/* Every "(sensitive)" value of v is marked true in mask, and every mark
 * is on a value v holds (or left out as unknown). */
static void check_mask(json_t *v, json_t *mask, const char *addr, const char *which)
{
	const char *k;
	json_t *x;

	if (json_is_null(v)) {
		if (!json_is_false(mask))
			fail_msg("%s: %s is null but its mask is not false", addr, which);
		return;
	}
	assert_true(json_is_object(mask));
	json_object_foreach(v, k, x)
		if (is_sensitive(x) && !json_is_true(json_object_get(mask, k)))
			fail_msg("%s: %s.%s is (sensitive) but not marked", addr, which, k);
	json_object_foreach(mask, k, x)
		if (!is_sensitive(json_object_get(v, k)))
			fail_msg("%s: %s_sensitive.%s marks a value that is not a secret", addr, which, k);
}

/* What Terraform's format says of one resource change. */
static void check_change(json_t *rc)
{
	const char *addr = S(rc, "address"), *type = S(rc, "type"), *name = S(rc, "name");
	const char *index = S(rc, "index"), *act;
	json_t *ch = json_object_get(rc, "change"), *acts = json_object_get(ch, "actions");
	json_t *before = json_object_get(ch, "before"), *after = json_object_get(ch, "after");
	char want[512];
	const char *k;
	json_t *x;

	assert_non_null(addr);
	assert_string_equal(S(rc, "mode"), "managed");
	assert_non_null(type);
	assert_non_null(name);
	assert_non_null(index);
	snprintf(want, sizeof(want), "%s.%s[\"%s\"]", type, name, index);
	assert_string_equal(addr, want);
	assert_true(!strncmp(S(rc, "provider_name"), "reconcile/", 10));
	assert_null(json_object_get(rc, "action_reason")); /* Terraform's enum, not ours */
	assert_non_null(S(rc, "reconcile_rule"));
	assert_true(json_array_size(acts) >= 1);
	act = json_string_value(json_array_get(acts, 0));
	assert_non_null(before);
	assert_non_null(after);
	if (!strcmp(act, "create") && json_array_size(acts) == 1)
		assert_true(json_is_null(before));
	else
		assert_true(json_is_object(before));
	if (!strcmp(act, "delete") && json_array_size(acts) == 1)
		assert_true(json_is_null(after));
	else
		assert_true(json_is_object(after));
	assert_true(json_is_object(json_object_get(ch, "after_unknown")));
	check_mask(before, json_object_get(ch, "before_sensitive"), addr, "before");
	check_mask(after, json_object_get(ch, "after_sensitive"), addr, "after");
	json_object_foreach(after, k, x)
		if (json_is_string(x) && strstr(json_string_value(x), "known after apply"))
			fail_msg("%s: after.%s is a placeholder, not in after_unknown", addr, k);
}

/* Checks every change; returns how many have the first action act. */
static size_t check_plan(json_t *p, const char *act)
{
	json_t *rcs = json_object_get(p, "resource_changes"), *rc;
	size_t i, n = 0;

	assert_string_equal(S(p, "format_version"), "1.2");
	assert_string_equal(S(p, "terraform_version"), ""); /* never claims one */
	assert_non_null(S(p, "timestamp"));
	assert_true(json_is_boolean(json_object_get(p, "errored")));
	assert_non_null(S(p, "reconcile_format_version"));
	assert_true(json_array_size(rcs) > 0);
	json_array_foreach(rcs, i, rc) {
		check_change(rc);
		n += !strcmp(json_string_value(json_array_get(
			json_object_get(json_object_get(rc, "change"), "actions"), 0)), act);
	}
	return n;
}

static bool any_unknown(json_t *p)
{
	json_t *rc;
	size_t i;

	json_array_foreach(json_object_get(p, "resource_changes"), i, rc)
		if (json_object_size(json_object_get(json_object_get(rc, "change"), "after_unknown")))
			return true;
	return false;
}

static void test_first_sync_plan_is_terraform_json(void **state)
{
	struct e2e *t = *state;
	json_t *p = plan_json(t, "first-sync.json");

	assert_true(check_plan(p, "create") > 0);
	assert_true(any_unknown(p)); /* PTI's user id, OpenApp's invite URL */
	assert_false(json_is_true(json_object_get(p, "errored")));
	assert_true(json_is_true(json_object_get(p, "applyable")));
	json_decref(p);
}

static void test_changes_plan_is_terraform_json(void **state)
{
	struct e2e *t = *state;
	json_t *p;

	assert_int_equal(e2e_apply(t), 0);
	sim_patch(t, "storeganise.unitRentals", R("01"), json_pack("{s:s}", "state", "ended"));
	sim_patch(t, "storeganise.unitRentals", R("02"),
		  json_pack("{s:s}", "overdue", "2026-11-20T00:00:00.000Z"));
	sim_patch(t, "storeganise.users", "c05700000000000000000003",
		  json_pack("{s:s}", "firstName", "Renamed"));
	sim_patch(t, "storeganise.unitRentals", R("21"), json_pack("{s:s}", "state", "ended"));
	sim_patch(t, "storeganise.unitRentals", R("22"), json_pack("{s:s}", "state", "ended"));
	p = plan_json(t, "changes.json");
	assert_true(check_plan(p, "delete") > 0);
	assert_true(check_plan(p, "update") > 0);
	json_decref(p);
}

/* A plan saved before the format followed Terraform's is refused, saying
 * what to do, before anything is applied. */
static void test_legacy_saved_plan_refused(void **state)
{
	struct e2e *t = *state;
	char *path = rc_sprintf("%s/tests/tfplan/legacy-plan-format-1.0.json",
				getenv("RECONCILE_SOURCE_DIR"));
	const char *args[] = { "apply", "-c", t->spec, path, NULL };
	struct run r = e2e_reconcile(t, args);

	assert_int_not_equal(r.status, 0);
	if (!strstr(r.err, "older reconcile") || !strstr(r.err, "run reconcile plan again"))
		fail_msg("stderr: %s", r.err);
	run_free(&r);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_legacy_saved_plan_refused),
		cmocka_unit_test(test_first_sync_plan_is_terraform_json),
		cmocka_unit_test(test_changes_plan_is_terraform_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
