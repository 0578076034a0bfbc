/*
 * e2e_report_vendors.c: what `reconcile report` says of PTI and OpenApp
 * sites, row by row, against the simulator (issue 11, item 9; item 8's
 * report side). The plan side of a site without applied state and the CI
 * examples are e2e_drift_check.c.
 *
 * Seed tests/e2e/data/report_vendors.json: site pt1 (PTI, credentials in
 * its custom fields), units P1..P6 mapped to PTI units P-1..P-6; customer
 * c1 rents P1 and P2, c2 rents P3 (overdue, code 736104); c3 and c4 rent
 * nothing yet. Site oa1 (OpenApp), units O1..O5 with portals P-O1..P-O5;
 * rentals or1 (O1, c11), or2 (O2, c12, overdue), or3 (O3, c13, move-out
 * 2026-12-31). PTI and OpenApp hold nothing.
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
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "core/common.h"

#define SEED "tests/e2e/data/report_vendors.json"

static const char SITES_JSON[] =
	"{\"name\":\"pt1\",\"pms_site_id\":\"pt1\",\"vendor\":\"pti\","
	"\"pti\":{\"base_url\":\"@SIM@/pti\",\"client_id_env\":\"E2E_PTI_CLIENT_ID\","
	"\"api_key_env\":\"E2E_PTI_API_KEY\",\"site_key_site_field\":\"pti_siteKey\","
	"\"site_code_site_field\":\"pti_siteCode\",\"username_site_field\":\"pti_username\","
	"\"password_site_field\":\"pti_password\",\"access_level\":1,\"zone\":1}},"
	"{\"name\":\"oa1\",\"pms_site_id\":\"oa1\",\"vendor\":\"openapp\","
	"\"openapp\":{\"base_url\":\"@SIM@/openapp/api/v1\",\"api_key_env\":\"E2E_OA_API_KEY\","
	"\"org_id\":\"01ORG0000000000000000000AA\",\"integration_id\":\"01INT0000000000000000000BB\","
	"\"lobby_portal_ids\":[\"P-LOBBY\"],\"max_uses\":50}}";

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	setenv("E2E_PTI_CLIENT_ID", "demo-pti-partner", 1);
	setenv("E2E_PTI_API_KEY", "demo-pti-partner-key", 1);
	setenv("E2E_OA_API_KEY", "demo-openapp-key", 1);
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

/* ------------------------------------------------------------ helpers */

static json_t *report_json(struct e2e *t, int want_status)
{
	const char *args[] = { "report", "-c", t->spec, "-f", "json", NULL };
	struct run r = e2e_reconcile(t, args);
	json_t *j = parse_json(r.out);

	if (!j || r.status != want_status)
		fail_msg("report exited %d (want %d):\n%s\n%s", r.status, want_status, r.out, r.err);
	run_free(&r);
	return j;
}

static const char *S(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "";
}

/* The first row of site and class whose unit is unit (NULL: any unit). */
static json_t *row(json_t *rep, const char *site, const char *cls, const char *unit)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(rep, "findings"), i, f)
		if (!strcmp(S(f, "site"), site) && !strcmp(S(f, "class"), cls) &&
		    (!unit || !strcmp(S(f, "unit"), unit)))
			return f;
	return NULL;
}

static json_t *need_row(json_t *rep, const char *site, const char *cls, const char *unit)
{
	json_t *f = row(rep, site, cls, unit);
	char *dump;

	if (!f) {
		dump = json_dumps(json_object_get(rep, "findings"), JSON_INDENT(1));
		fprintf(stderr, "%s\n", dump);
		free(dump);
		fail_msg("no %s row for site %s unit %s (the rows are above)", cls, site,
			 unit ? unit : "(any)");
	}
	return f;
}

static void has(json_t *f, const char *key, const char *needle)
{
	if (!strstr(S(f, key), needle))
		fail_msg("%s row, unit %s: %s is \"%s\": \"%s\" is missing", S(f, "class"),
			 S(f, "unit"), key, S(f, key), needle);
}

static void lacks(json_t *f, const char *key, const char *needle)
{
	if (strstr(S(f, key), needle))
		fail_msg("%s row, unit %s: %s is \"%s\": \"%s\" must not be there", S(f, "class"),
			 S(f, "unit"), key, S(f, key), needle);
}

static json_t *site_of(json_t *rep, const char *name)
{
	json_t *s = json_find_by(json_object_get(rep, "sites"), "name", name);

	assert_non_null(s);
	return s;
}

/* Every row: both sides stated; the UNIT column holds PMS unit names
 * only (never a vendor record key, a rental id or a customer id); every
 * class is documented in the README's report section. */
static void check_rows(json_t *rep)
{
	static const char *const not_units[] = { "@", "pr", "or", "c1", "c2", "c3", NULL };
	char *readme = NULL, needle[96];
	struct rc_err err;
	json_t *f;
	size_t i, k;

	snprintf(needle, sizeof(needle), "%s/README.md", getenv("RECONCILE_SOURCE_DIR") ?: ".");
	assert_int_equal(rc_read_file(needle, &readme, NULL, &err), 0);
	json_array_foreach(json_object_get(rep, "findings"), i, f) {
		if (!*S(f, "pms") || !*S(f, "vendor"))
			fail_msg("%s row, unit %s: a side is empty (pms \"%s\", vendor \"%s\")",
				 S(f, "class"), S(f, "unit"), S(f, "pms"), S(f, "vendor"));
		for (k = 0; not_units[k]; k++)
			if (!strncmp(S(f, "unit"), not_units[k], strlen(not_units[k])))
				fail_msg("%s row: UNIT column is \"%s\"", S(f, "class"), S(f, "unit"));
		snprintf(needle, sizeof(needle), "| `%s` |", S(f, "class"));
		if (!strstr(readme, needle))
			fail_msg("class %s is not in README.md's table of report classes", S(f, "class"));
	}
	free(readme);
}

static void insert_rental(struct e2e *t, const char *id, const char *unit, const char *site,
			  const char *owner)
{
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", id, "unitId", unit,
		"siteId", site, "ownerId", owner, "state", "occupied", "startDate", "2026-02-01",
		"customFields")));
}

static json_t *plan_json_of(struct e2e *t)
{
	const char *args[] = { "plan", "-c", t->spec, "--json", NULL };
	struct run r = e2e_reconcile(t, args);
	json_t *j = parse_json(r.out);

	assert_non_null(j);
	run_free(&r);
	return j;
}

static void faults(struct e2e *t, json_t *rules /* stolen */)
{
	json_decref(sim_post(t, "/_sim/faults", rules));
}

/* ----------------------------------------- a site without applied state */

/* The report of a site without applied state: one row saying so, no
 * invented mismatch, and no in-sync count it cannot know. */
static void test_PT8_report_without_applied_state(void **state)
{
	struct e2e *t = *state;
	json_t *rep, *f, *s;
	size_t i;

	rep = report_json(t, 0);
	f = need_row(rep, "pt1", "no_applied_state", "");
	assert_string_equal(S(f, "severity"), "warning");
	assert_string_equal(S(f, "rule"), "PT8");
	has(f, "vendor", "unknown");
	has(f, "action", "apply");
	json_array_foreach(json_object_get(rep, "findings"), i, f)
		if (!strcmp(S(f, "site"), "pt1") && !strcmp(S(f, "class"), "status_mismatch"))
			fail_msg("a mismatch is invented: %s %s", S(f, "unit"), S(f, "pms"));
	s = site_of(rep, "pt1");
	assert_true(json_is_null(json_object_get(s, "in_sync")));
	assert_true(json_is_null(json_object_get(s, "mismatched")));
	assert_string_equal(S(s, "baseline"), "none");
	check_rows(rep);
	json_decref(rep);
}

/* The step of a CI file that holds at (from its "- name:" on), and
 * whether it runs whatever happened before it. */
/* ------------------------------------------------------- item 9: rows */

/* PT1: a customer renting three units is one row naming the customer and
 * its units, never "Vacant" and never the vendor's record key. */
static void test_PT1_report_names_the_customer_and_its_units(void **state)
{
	struct e2e *t = *state;
	json_t *rep, *f;

	assert_int_equal(e2e_converge(t), 0);
	insert_rental(t, "pr4", "pu4", "pt1", "c3");
	insert_rental(t, "pr5", "pu5", "pt1", "c3");
	insert_rental(t, "pr6", "pu6", "pt1", "c3");
	rep = report_json(t, 0);
	f = need_row(rep, "pt1", "status_mismatch", "P4, P5, P6");
	assert_string_equal(S(f, "rule"), "PT1");
	has(f, "pms", "customer c3");
	has(f, "pms", "P4, P5, P6");
	has(f, "pms", "pr4");
	lacks(f, "pms", "Vacant");
	has(f, "vendor", "no user for the customer");
	has(f, "vendor", "as last applied");
	has(f, "action", "tenant.create");
	has(f, "action", "unit.rent");
	/* the write-back of the new code names the customer, not a rental */
	f = need_row(rep, "pt1", "writeback_pending", "P4, P5, P6");
	has(f, "pms", "customer c3");
	lacks(f, "pms", "rental c3");
	has(f, "action", "generated");
	assert_int_equal(json_integer_value(json_object_get(site_of(rep, "pt1"), "mismatched")), 3);
	check_rows(rep);
	json_decref(rep);
}

/* Every class the report emits for a PTI site, each side stated. */
static void test_PT_report_every_class_states_both_sides(void **state)
{
	struct e2e *t = *state;
	json_t *rep, *f;

	assert_int_equal(e2e_converge(t), 0);
	/* c1: overdue on P2, a new level, zone, code and name typed by staff */
	sim_patch(t, "storeganise.unitRentals", "pr2", json_pack("{s:s}", "overdue", "2026-11-22T00:00:00Z"));
	sim_patch(t, "storeganise.users", "c1", json_pack("{s:s, s:{s:s, s:s, s:s}}", "firstName", "Ana",
		"customFields", "pti_accessLevel", "2", "pti_zone", "3", "pti_accessCode", "583920"));
	/* c2 moves out of P3: the unit is vacated and the customer's cards go */
	sim_patch(t, "storeganise.unitRentals", "pr3", json_pack("{s:s}", "state", "ended"));
	/* P5 rented but not mapped; P6 mapped to a name PTI cannot hold */
	sim_patch(t, "storeganise.units", "pu5", json_pack("{s:{s:s}}", "customFields", "pti_unitName", ""));
	insert_rental(t, "pr5", "pu5", "pt1", "c3");
	sim_patch(t, "storeganise.units", "pu6", json_pack("{s:{s:s}}", "customFields", "pti_unitName",
		"P-6-TOO-LONG"));
	insert_rental(t, "pr6", "pu6", "pt1", "c4");
	rep = report_json(t, 0);

	f = need_row(rep, "pt1", "status_mismatch", "P1, P2");
	assert_string_equal(S(f, "rule"), "PT4");
	has(f, "pms", "customer c1");
	has(f, "pms", "delinquent: P2");
	has(f, "vendor", "not suspended");
	has(f, "vendor", "as last applied");
	has(f, "action", "suspend");
	f = need_row(rep, "pt1", "code_mismatch", "P1, P2");
	has(f, "pms", "customer c1");
	has(f, "vendor", "different code");
	f = need_row(rep, "pt1", "access_level_mismatch", "P1, P2");
	has(f, "pms", "access level 2");
	has(f, "vendor", "access level 1");
	f = need_row(rep, "pt1", "zone_mismatch", "P1, P2");
	has(f, "pms", "zone 3");
	has(f, "vendor", "zone 1");
	f = need_row(rep, "pt1", "tenant_details_mismatch", "P1, P2");
	has(f, "pms", "Ana");
	has(f, "vendor", "Fc1");
	f = need_row(rep, "pt1", "status_mismatch", "P3");
	has(f, "pms", "Vacant");
	has(f, "vendor", "Rented");
	has(f, "vendor", "user");
	has(f, "action", "unit.vacate");
	f = need_row(rep, "pt1", "status_mismatch", "");
	has(f, "pms", "customer c2 rents no unit here");
	has(f, "vendor", "user");
	has(f, "action", "tenant.remove");
	need_row(rep, "pt1", "unmanaged_rented", "P5");
	f = need_row(rep, "pt1", "bad_pms_value", "P6");
	has(f, "vendor", "as last applied");
	f = need_row(rep, "pt1", "vendor_not_readable", "");
	lacks(f, "action", "pushes what it last applied");
	f = need_row(rep, "pt1", "writeback_pending", "P2");
	has(f, "pms", "rental pr2");
	check_rows(rep);
	json_decref(rep);
}

/* OA1: OpenApp rows name the PMS unit; the rental is on the PMS side. */
static void test_OA1_report_unit_column_is_the_pms_unit(void **state)
{
	struct e2e *t = *state;
	json_t *rep, *f;

	rep = report_json(t, 0);
	f = need_row(rep, "oa1", "status_mismatch", "O1");
	has(f, "pms", "rental or1");
	has(f, "vendor", "no invite for the rental");
	lacks(f, "vendor", "no such unit");
	f = need_row(rep, "oa1", "writeback_pending", "O1");
	has(f, "pms", "rental or1");
	has(f, "action", "not shown");
	assert_null(row(rep, "oa1", "status_mismatch", "or1"));
	check_rows(rep);
	json_decref(rep);
}

/* Every class the report emits for an OpenApp site, each side stated. */
static void test_OA_report_every_class_states_both_sides(void **state)
{
	struct e2e *t = *state;
	json_t *rep, *f;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "or1", json_pack("{s:s}", "state", "ended"));
	sim_patch(t, "storeganise.unitRentals", "or2", json_pack("{s:n}", "overdue"));
	sim_patch(t, "storeganise.unitRentals", "or3", json_pack("{s:s}", "endDate", "2027-01-31"));
	sim_patch(t, "storeganise.units", "ou2", json_pack("{s:{s:s}}", "customFields",
		"openapp_portalIds", "P-O2, P-O4"));
	insert_rental(t, "or4", "ou4", "oa1", "c14");
	sim_patch(t, "storeganise.units", "ou5", json_pack("{s:{s:s}}", "customFields",
		"openapp_portalIds", ""));
	insert_rental(t, "or5", "ou5", "oa1", "c14");
	rep = report_json(t, 0);

	f = need_row(rep, "oa1", "status_mismatch", "");
	has(f, "pms", "rental or1");
	has(f, "pms", "no longer occupied");
	has(f, "vendor", "invite");
	has(f, "vendor", "enabled");
	f = need_row(rep, "oa1", "status_mismatch", "O2");
	has(f, "pms", "Rented");
	has(f, "pms", "rental or2");
	has(f, "vendor", "invite");
	has(f, "vendor", "disabled");
	f = need_row(rep, "oa1", "portals_mismatch", "O2");
	has(f, "pms", "P-O4");
	lacks(f, "vendor", "P-O4");
	f = need_row(rep, "oa1", "validity_mismatch", "O3");
	has(f, "pms", "2027-01-31");
	has(f, "vendor", "2026-12-31");
	f = need_row(rep, "oa1", "status_mismatch", "O4");
	has(f, "pms", "rental or4");
	has(f, "vendor", "no invite for the rental");
	need_row(rep, "oa1", "unmanaged_rented", "O5");
	need_row(rep, "oa1", "writeback_pending", "O4");
	assert_null(row(rep, "oa1", "vendor_not_readable", NULL));
	check_rows(rep);
	json_decref(rep);
}

/* ------------------------------------------------ journal rows (R7) */

static bool pti_first_name_is(struct e2e *t, const char *name)
{
	json_t *p = sim_state_of(t, "pti");
	json_t *u = json_find_by(json_object_get(p, "users"), "interface_id", "c1");
	bool yes = u && !strcmp(S(u, "first_name"), name);

	json_decref(p);
	return yes;
}

/* What the next apply does with a failed or pending call is stated from
 * the current plan: a failed update is retried, one the PMS no longer
 * asks for is not; PTI cannot be read, so a call in doubt is sent again
 * (a refresh cannot settle it). */
static void test_R7_report_says_what_the_next_apply_does(void **state)
{
	struct e2e *t = *state;
	const char *ap[] = { "apply", "-c", t->spec, "--auto-approve", "--site", "pt1", NULL };
	const char *ap_oa[] = { "apply", "-c", t->spec, "--auto-approve", "--site", "oa1", NULL };
	json_t *rep, *f;
	struct run r;
	pid_t pid;
	int i;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.users", "c1", json_pack("{s:s}", "firstName", "Ana"));
	faults(t, json_pack("[{s:s, s:s, s:i, s:i}]", "method", "PUT", "path_contains",
			    "/users/edit", "status", 500, "times", -1));
	r = e2e_reconcile(t, ap);
	assert_int_equal(r.status, 1);
	run_free(&r);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	rep = report_json(t, 0);
	f = need_row(rep, "pt1", "operation_failed", "P1, P2");
	assert_string_equal(S(f, "severity"), "error");
	has(f, "vendor", "HTTP 500");
	has(f, "action", "retries it");
	has(f, "action", "current plan");
	json_decref(rep);

	/* an OpenApp invite update fails; the PMS goes back: the failed call
	 * is no longer planned, so it is not retried */
	sim_patch(t, "storeganise.unitRentals", "or3", json_pack("{s:s}", "endDate", "2027-01-31"));
	faults(t, json_pack("[{s:s, s:s, s:i, s:i}]", "method", "PUT", "path_contains",
			    "/access-invites/", "status", 500, "times", -1));
	r = e2e_reconcile(t, ap_oa);
	assert_int_equal(r.status, 1);
	run_free(&r);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	rep = report_json(t, 0);
	f = need_row(rep, "oa1", "operation_failed", "O3");
	assert_string_equal(S(f, "severity"), "error");
	has(f, "action", "retries it");
	json_decref(rep);
	sim_patch(t, "storeganise.unitRentals", "or3", json_pack("{s:s}", "endDate", "2026-12-31"));
	rep = report_json(t, 0);
	f = need_row(rep, "oa1", "operation_failed", "O3");
	assert_string_equal(S(f, "severity"), "warning");
	has(f, "action", "not retried");
	json_decref(rep);

	/* an edit cut off after PTI committed it: PTI cannot tell, the next
	 * apply sends it again */
	sim_patch(t, "storeganise.users", "c1", json_pack("{s:s}", "firstName", "Bea"));
	faults(t, json_pack("[{s:s, s:s, s:i, s:i, s:b, s:i}]", "method", "PUT", "path_contains",
			    "/users/edit", "status", 0, "delay_ms", 8000, "commit", 1, "times", 1));
	pid = e2e_reconcile_bg(t, ap);
	for (i = 0; i < 200 && !pti_first_name_is(t, "Bea"); i++)
		usleep(50000);
	assert_true(pti_first_name_is(t, "Bea"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	rep = report_json(t, 0);
	f = need_row(rep, "pt1", "operation_pending", "P1, P2");
	has(f, "action", "cannot be read");
	has(f, "action", "sends it again");
	lacks(f, "action", "refresh");
	check_rows(rep);
	json_decref(rep);
}

static char *pms_user_field(struct e2e *t, const char *uid, const char *field)
{
	json_t *st = sim_get(t, "/_sim/state"), *u, *v;
	char *out = NULL;

	u = json_find_by(json_object_get(json_object_get(st, "storeganise"), "users"), "id", uid);
	v = json_object_get(json_object_get(u, "customFields"), field);
	if (json_is_string(v))
		out = rc_strdup(json_string_value(v));
	json_decref(st);
	return out;
}

/* Does the plan hold a PMS write to this object? */
static bool plan_writes(struct e2e *t, const char *object)
{
	json_t *p = plan_json_of(t), *op;
	bool yes = false;
	size_t i;

	json_array_foreach(json_object_get(p, "reconcile_operations"), i, op)
		yes |= !strcmp(S(op, "op"), "pms.write") && !strcmp(S(op, "object_id"), object);
	json_decref(p);
	return yes;
}

/* R8 write-backs in the journal: what the next apply does is what the
 * current plan holds. A failed invite URL write is retried only if the
 * plan writes it again; a code write cut off after the PMS took it is
 * not written again. */
/* pt1's operation_pending row of unit whose pms column starts with op. */
static json_t *pending_row(json_t *rep, const char *unit, const char *op)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(rep, "findings"), i, f)
		if (!strcmp(S(f, "site"), "pt1") && !strcmp(S(f, "class"), "operation_pending") &&
		    !strcmp(S(f, "unit"), unit) && !strncmp(S(f, "pms"), op, strlen(op)))
			return f;
	need_row(rep, "pt1", "operation_pending (no such op)", unit); /* fails, listing them */
	return NULL;
}

static void test_R8_report_writebacks_say_what_the_next_apply_does(void **state)
{
	struct e2e *t = *state;
	const char *ap_oa[] = { "apply", "-c", t->spec, "--auto-approve", "--site", "oa1", NULL };
	const char *ap_pt[] = { "apply", "-c", t->spec, "--auto-approve", "--site", "pt1", NULL };
	json_t *rep, *f;
	struct run r;
	char *code;
	pid_t pid;
	int i;

	assert_int_equal(e2e_converge(t), 0);
	insert_rental(t, "or4", "ou4", "oa1", "c14");
	faults(t, json_pack("[{s:s, s:s, s:i, s:i}]", "method", "PUT", "path_contains",
			    "/unit-rentals/or4", "status", 500, "times", -1));
	r = e2e_reconcile(t, ap_oa);
	assert_int_equal(r.status, 1);
	run_free(&r);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	rep = report_json(t, 0);
	f = need_row(rep, "oa1", "operation_failed", "O4");
	has(f, "pms", "pms.write");
	has(f, "pms", "rental or4");
	has(f, "vendor", "HTTP 500");
	if (plan_writes(t, "or4")) {
		has(f, "action", "retries it");
		assert_string_equal(S(f, "severity"), "error");
	} else {
		has(f, "action", "not retried");
		assert_string_equal(S(f, "severity"), "warning");
	}
	json_decref(rep);

	/* a new customer's code write cut off after the PMS committed it */
	insert_rental(t, "pr4", "pu4", "pt1", "c3");
	faults(t, json_pack("[{s:s, s:s, s:i, s:i, s:b, s:i}]", "method", "PUT", "path_contains",
			    "/users/c3", "status", 0, "delay_ms", 8000, "commit", 1, "times", 1));
	pid = e2e_reconcile_bg(t, ap_pt);
	code = NULL;
	for (i = 0; i < 200 && !code; i++) {
		code = pms_user_field(t, "c3", "pti_accessCode");
		if (!code)
			usleep(50000);
	}
	assert_non_null(code);
	free(code);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	rep = report_json(t, 0);
	/* two open entries: the write, and the users/add whose intent was
	 * committed with it (apply_run.c, pair) and never sent */
	f = pending_row(rep, "P4", "pms.write");
	has(f, "pms", "customer c3");
	has(f, "action", "reads the PMS again");
	has(f, "action", "nothing is left to write");
	assert_string_equal(S(f, "severity"), "warning");
	f = pending_row(rep, "P4", "tenant.create");
	has(f, "action", "cannot be read");
	has(f, "action", "sends it again");
	check_rows(rep);
	json_decref(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_PT8_report_without_applied_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_PT1_report_names_the_customer_and_its_units, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_PT_report_every_class_states_both_sides, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_OA1_report_unit_column_is_the_pms_unit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_OA_report_every_class_states_both_sides, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_R7_report_says_what_the_next_apply_does, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_R8_report_writebacks_say_what_the_next_apply_does,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
