/*
 * e2e_rules_vendors.c: OpenTech rules that cross the PMS and the vendor
 * (issues 10 and 11), against the simulator, with the real binaries.
 *
 * Seed tests/e2e/data/basic.json: site1 (OpenTech property P1, facility
 * 101), units U1..U6 all Vacant in OpenTech; rentals r1 (U1, code 482913),
 * r2 (U2, no code), r3 (U3, overdue, code 590137). The site's codes have 4
 * digits here, so that guests can hold a large share of them.
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

#define SITE_JSON "{\"name\":\"site1\",\"pms_site_id\":\"site1\",\"vendor\":\"opentech\"," \
	"\"code_length\":4,\"opentech\":{\"base_url\":\"@SIM@/opentech\",\"property_number\":\"P1\"," \
	"\"api_key_env\":\"E2E_OT_API_KEY\",\"api_secret_env\":\"E2E_OT_API_SECRET\"," \
	"\"client_id_env\":\"E2E_OT_CLIENT_ID\",\"client_secret_env\":\"E2E_OT_CLIENT_SECRET\"," \
	"\"access_profile_id\":1,\"time_group_id\":0}}"

/* Guests (and staff, vendors) hold the codes GUEST_FIRST..GUEST_LAST. */
#define GUEST_FIRST 1000
#define GUEST_LAST 5999
#define NEW_UNITS 12

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	e2e_start_site(t, "tests/e2e/data/basic.json", SITE_JSON);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}

static void insert(struct e2e *t, const char *collection, json_t *obj /* stolen */)
{
	json_t *r = sim_post(t, "/_sim/insert", json_pack("{s:s, s:o}", "collection", collection,
							  "object", obj));

	assert_non_null(r);
	json_decref(r);
}

/* A non-tenant visitor in the shape OpenTech lists them (vendor-apis.md
 * §1.4): a guest on a unit, or staff and vendors of the facility. */
static void insert_guest(struct e2e *t, json_int_t id, json_int_t unit, const char *code)
{
	insert(t, "opentech.visitors",
	       json_pack("{s:I, s:i, s:o, s:b, s:b, s:s, s:s, s:s, s:i, s:i, s:b}", "id", id,
			 "facilityId", 101, "unitId", unit ? json_integer(unit) : json_null(),
			 "isTenant", 0, "isPortalVisitor", id % 2, "firstName", "Guest",
			 "lastName", code, "code", code, "accessProfileId", 1, "timeGroupId", 0,
			 "isEnabled", 1));
}

/* OpenTech unit U<n> (id 5000+n) and its PMS unit u<n>, in state. */
static void insert_unit(struct e2e *t, int n, const char *pms_state)
{
	char name[16], uid[16];

	snprintf(name, sizeof(name), "U%d", n);
	snprintf(uid, sizeof(uid), "u%d", n);
	insert(t, "opentech.units", json_pack("{s:i, s:i, s:s, s:s}", "id", 5000 + n, "facilityId", 101,
					      "unitNumber", name, "status", "Vacant"));
	insert(t, "storeganise.units", json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "id", uid,
						 "siteId", "site1", "name", name, "state", pms_state,
						 "customFields", "opentech_unitId", name));
}

/* An occupied rental r<n> of PMS unit u<n>, with no code yet. */
static void insert_rental(struct e2e *t, int n)
{
	char uid[16], rid[16], owner[16];

	snprintf(uid, sizeof(uid), "u%d", n);
	snprintf(rid, sizeof(rid), "r%d", n);
	snprintf(owner, sizeof(owner), "c%d", 1 + n % 6);
	insert(t, "storeganise.unitRentals",
	       json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{}}", "id", rid, "unitId", uid,
			 "siteId", "site1", "ownerId", owner, "state", "occupied",
			 "startDate", "2026-01-01", "customFields"));
}

/* OpenTech unit U<n>, PMS unit u<n> and its occupied rental r<n>. */
static void insert_rented_unit(struct e2e *t, int n)
{
	insert_unit(t, n, "occupied");
	insert_rental(t, n);
}

/* Every new rental r7.. has a 4-digit code, OpenTech's, no guest's. */
static void assert_codes_not_held(struct e2e *t)
{
	char rid[16], *c;
	int n;

	for (n = 7; n < 7 + NEW_UNITS; n++) {
		snprintf(rid, sizeof(rid), "r%d", n);
		c = sim_rental_field(t, rid, "opentech_accessCode");
		assert_non_null(c);
		assert_int_equal(strlen(c), 4);
		if (atoi(c) >= GUEST_FIRST && atoi(c) <= GUEST_LAST)
			fail_msg("rental %s got code %s, which a guest holds", rid, c);
		free(c);
	}
}

/* The code OpenTech holds for the tenant of unit id unit (new), or NULL. */
static char *tenant_code(json_t *ot, json_int_t unit)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(ot, "visitors"), i, v)
		if (json_is_true(json_object_get(v, "isTenant")) &&
		    json_integer_value(json_object_get(v, "unitId")) == unit)
			return rc_strdup(json_string_value(json_object_get(v, "code")));
	return NULL;
}

/* R6: a generated tenant code is unique among every code the facility
 * holds, guests', staff's and vendors' (isTenant false) included. Guests
 * hold more than half of the 4-digit codes, so a generator that saw only
 * the tenants' would hand one of theirs out (13 draws: 1 in 30,000 to miss). */
static void test_R6_codes_of_non_tenant_visitors_are_in_use(void **state)
{
	struct e2e *t = *state;
	char rid[16], code[8], *c, *held;
	json_t *ot;
	int n, k;

	for (k = GUEST_FIRST; k <= GUEST_LAST; k++) {
		snprintf(code, sizeof(code), "%d", k);
		insert_guest(t, 20000 + k, k == GUEST_FIRST ? 5001 : 0, code);
	}
	for (n = 7; n < 7 + NEW_UNITS; n++)
		insert_rented_unit(t, n);
	assert_int_equal(e2e_apply(t), 0);
	ot = sim_state_of(t, "opentech");
	for (n = 2; n < 7 + NEW_UNITS; n++) {
		if (n >= 3 && n < 7)
			continue; /* r3 has a code; u4..u6 are vacant */
		snprintf(rid, sizeof(rid), "r%d", n);
		c = sim_rental_field(t, rid, "opentech_accessCode");
		assert_non_null(c);
		assert_int_equal(strlen(c), 4);
		if (atoi(c) >= GUEST_FIRST && atoi(c) <= GUEST_LAST)
			fail_msg("rental %s got code %s, which a guest holds", rid, c);
		held = tenant_code(ot, 5000 + n);
		assert_non_null(held);
		assert_string_equal(held, c);
		free(held);
		free(c);
	}
	/* the guest on U1 is not a tenant: left alone (OT1) */
	assert_non_null(json_find_by(json_object_get(ot, "visitors"), "lastName", "1000"));
	json_decref(ot);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* The id of the tenant visitor on OpenTech unit id unit, or 0. */
static json_int_t tenant_id(struct e2e *t, json_int_t unit)
{
	json_t *ot = sim_state_of(t, "opentech"), *v;
	json_int_t id = 0;
	size_t i;

	json_array_foreach(json_object_get(ot, "visitors"), i, v)
		if (json_is_true(json_object_get(v, "isTenant")) &&
		    json_integer_value(json_object_get(v, "unitId")) == unit)
			id = json_integer_value(json_object_get(v, "id"));
	json_decref(ot);
	return id;
}

static int apply_cached(struct e2e *t)
{
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", "--refresh=false", NULL };

	return e2e_status(t, args);
}

/* R6 from the cache (serve's one-rental runs, --refresh=false): the codes
 * held for no tenant are kept in the state when the vendor is read, so a
 * move-in planned without reading OpenTech still avoids them. */
static void test_R6_codes_held_for_no_tenant_are_known_from_the_cache(void **state)
{
	struct e2e *t = *state;
	char code[8], uid[16];
	int k, n;

	for (k = GUEST_FIRST; k <= GUEST_LAST; k++) {
		snprintf(code, sizeof(code), "%d", k);
		insert_guest(t, 20000 + k, 0, code);
	}
	for (n = 7; n < 7 + NEW_UNITS; n++)
		insert_unit(t, n, "vacant");
	assert_int_equal(e2e_apply(t), 0); /* reads OpenTech: the guests' codes kept */
	for (n = 7; n < 7 + NEW_UNITS; n++) {
		snprintf(uid, sizeof(uid), "u%d", n);
		sim_patch(t, "storeganise.units", uid, json_pack("{s:s}", "state", "occupied"));
		insert_rental(t, n);
	}
	assert_int_equal(apply_cached(t), 0);
	assert_codes_not_held(t);
}

/* OT1, R7 (issue 10.4): a tenant visitor the engine's records hold but
 * OpenTech no longer has (deleted by hand) answers 404 to its update: the
 * engine forgets it, and the next apply creates it again even from the
 * cached state (serve's webhook runs, --refresh=false). */
static void test_OT1_visitor_deleted_by_hand_is_created_again(void **state)
{
	struct e2e *t = *state;
	char *code;
	json_t *ot;

	assert_int_equal(e2e_converge(t), 0);
	json_decref(sim_post(t, "/_sim/delete", json_pack("{s:s, s:I}", "collection", "opentech.visitors",
							  "id", tenant_id(t, 5001))));
	sim_patch(t, "storeganise.unitRentals", "r1",
		  json_pack("{s:{s:s}}", "customFields", "opentech_accessCode", "7351"));
	assert_int_equal(apply_cached(t), 1);         /* the update meets 404 */
	assert_int_equal(apply_cached(t), 0);         /* created again */
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
	ot = sim_state_of(t, "opentech");
	code = tenant_code(ot, 5001);
	json_decref(ot);
	assert_non_null(code);
	assert_string_equal(code, "7351");
	free(code);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* OT1: removing a second tenant visitor that is already gone (404) reaches
 * the goal: success, not an error every run. */
static void test_OT1_removing_a_gone_visitor_succeeds(void **state)
{
	struct e2e *t = *state;
	json_t *extra;

	assert_int_equal(e2e_converge(t), 0);
	extra = sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:i, s:i, s:i, s:b, s:s, s:s, s:s, s:b}}",
		"collection", "opentech.visitors", "object", "id", 30001, "facilityId", 101, "unitId", 5001,
		"isTenant", 1, "firstName", "Extra", "lastName", "Tenant", "code", "8142", "isEnabled", 1));
	json_decref(extra);
	/* the remove is refused once: the cache keeps the extra tenant */
	json_decref(sim_post(t, "/_sim/faults", json_pack("{s:s, s:s, s:i, s:b, s:i}", "method", "POST",
		"path_contains", "/visitors/30001/remove", "status", 400, "commit", 0, "times", 1)));
	assert_int_equal(e2e_apply(t), 1);
	json_decref(sim_post(t, "/_sim/delete", json_pack("{s:s, s:i}", "collection", "opentech.visitors",
							  "id", 30001)));
	assert_int_equal(apply_cached(t), 0);
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* OT4, R8 (issue 10.3): a code of record lost from the PMS (cleared by
 * hand, a bad import) is never silently dropped: a new code is generated,
 * written back first and pushed to the tenant visitor; then converged. */
static void test_OT4_lost_code_is_generated_again(void **state)
{
	struct e2e *t = *state;
	char *code, *held;
	json_t *ot;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1",
		  json_pack("{s:{s:n}}", "customFields", "opentech_accessCode"));
	assert_int_equal(e2e_apply(t), 0);
	code = sim_rental_field(t, "r1", "opentech_accessCode");
	assert_non_null(code);
	assert_string_not_equal(code, "482913");
	ot = sim_state_of(t, "opentech");
	held = tenant_code(ot, 5001);
	json_decref(ot);
	assert_non_null(held);
	assert_string_equal(held, code);
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
	free(code);
	free(held);
	assert_int_equal(e2e_plan_exit(t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_R6_codes_of_non_tenant_visitors_are_in_use, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_R6_codes_held_for_no_tenant_are_known_from_the_cache,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_OT1_visitor_deleted_by_hand_is_created_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_OT1_removing_a_gone_visitor_succeeds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_OT4_lost_code_is_generated_again, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
