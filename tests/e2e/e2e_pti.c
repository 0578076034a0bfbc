/*
 * e2e_pti.c: reconcile against the simulator of Storeganise and PTI.
 *
 * Seed tests/e2e/data/pti.json: site pt1 (PTI credentials in its custom
 * fields), units P1..P6 mapped to PTI units P-1..P-6; customer c1 rents P1
 * and P2 (no code yet), c2 rents P3 (overdue, code 736104); PTI is empty.
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

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	e2e_start_pti(t, "tests/e2e/data/pti.json", "pt1", "pt1");
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}




static json_t *user_by_interface(json_t *p, const char *v)
{
	return json_find_by(json_object_get(p, "users"), "interface_id", v);
}

static size_t count_users(json_t *p, const char *iid)
{
	json_t *u;
	size_t i, n = 0;

	json_array_foreach(json_object_get(p, "users"), i, u)
		n += !strcmp(json_string_value(json_object_get(u, "interface_id")) ?: "", iid);
	return n;
}

static json_t *unit_named(json_t *p, const char *v)
{
	return json_find_by(json_object_get(p, "units"), "name", v);
}

/* The code on the user's card in PTI (new string). */
static char *card_code(json_t *p, json_int_t uid)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(p, "cards"), i, c)
		if (json_integer_value(json_object_get(c, "user")) == uid)
			return rc_strdup(json_string_value(json_object_get(c, "code")));
	return NULL;
}

static char *user_field(struct e2e *t, const char *uid, const char *field)
{
	json_t *st = sim_get(t, "/_sim/state"), *u, *v;
	char *out = NULL;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(st, "storeganise"), "users"), i, u) {
		if (strcmp(json_string_value(json_object_get(u, "id")) ?: "", uid))
			continue;
		v = json_object_get(json_object_get(u, "customFields"), field);
		out = json_is_string(v) ? rc_strdup(json_string_value(v))
		    : json_is_boolean(v) ? rc_strdup(json_is_true(v) ? "true" : "false") : NULL;
	}
	json_decref(st);
	return out;
}

static size_t pti_writes(struct e2e *t)
{
	json_t *r = sim_requests(t);
	size_t n = count_requests(r, "POST", "/pti/users") + count_requests(r, "PUT", "/pti/users") +
		   count_requests(r, "POST", "/pti/units") + count_requests(r, "DELETE", "/pti/");

	json_decref(r);
	return n;
}


/* PT1, PT2, PT4: one user per customer, one code for all its units. */
static void test_PT_fresh_site_converges(void **state)
{
	struct e2e *t = *state;
	json_t *p, *u1, *u2;
	char *code, *c1, *uid;

	assert_int_equal(e2e_converge(t), 0);
	p = sim_state_of(t, "pti");
	assert_int_equal(count_users(p, "c1"), 1);
	assert_int_equal(count_users(p, "c2"), 1);
	u1 = user_by_interface(p, "c1");
	u2 = user_by_interface(p, "c2");
	assert_int_equal(json_integer_value(json_object_get(unit_named(p, "P-1"), "user")),
			 json_integer_value(json_object_get(u1, "id")));
	assert_int_equal(json_integer_value(json_object_get(unit_named(p, "P-2"), "user")),
			 json_integer_value(json_object_get(u1, "id")));
	assert_true(json_is_true(json_object_get(u2, "suspended")));
	assert_false(json_is_true(json_object_get(u1, "suspended")));
	code = card_code(p, json_integer_value(json_object_get(u2, "id")));
	assert_string_equal(code, "736104");              /* an existing code is kept */
	free(code);
	c1 = user_field(t, "c1", "pti_accessCode");        /* a new one is generated */
	code = card_code(p, json_integer_value(json_object_get(u1, "id")));
	assert_non_null(c1);
	assert_string_equal(code, c1);
	uid = user_field(t, "c1", "pti_userId");
	assert_non_null(uid);
	assert_int_equal(atoll(uid), json_integer_value(json_object_get(u1, "id")));
	free(code);
	code = user_field(t, "c2", "pti_userId");
	assert_non_null(code);
	free(code);
	free(c1);
	free(uid);
	json_decref(p);
}

static void test_PT_move_in_overdue_payment_move_out(void **state)
{
	struct e2e *t = *state;
	json_t *p;

	assert_int_equal(e2e_converge(t), 0);
	/* move-in of a new customer: add user, rent unit */
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r4", "unitId", "u4",
		"siteId", "pt1", "ownerId", "c3", "state", "occupied", "customFields")));
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(pti_writes(t), 2);
	assert_int_equal(e2e_plan_exit(t), 0);
	/* overdue: suspend */
	sim_clear_requests(t);
	sim_patch(t, "storeganise.unitRentals", "r4", json_pack("{s:s}", "overdue", "2026-11-22T00:00:00Z"));
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(pti_writes(t), 1);
	p = sim_state_of(t, "pti");
	assert_true(json_is_true(json_object_get(user_by_interface(p, "c3"), "suspended")));
	json_decref(p);
	/* payment: unsuspend */
	sim_clear_requests(t);
	sim_patch(t, "storeganise.unitRentals", "r4", json_pack("{s:n}", "overdue"));
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(pti_writes(t), 1);
	/* move-out: vacate, and the customer's access goes (cards) */
	sim_clear_requests(t);
	sim_patch(t, "storeganise.unitRentals", "r4", json_pack("{s:s}", "state", "ended"));
	assert_int_equal(e2e_apply(t), 0);
	p = sim_state_of(t, "pti");
	assert_string_equal(json_string_value(json_object_get(unit_named(p, "P-4"), "status")), "vacant");
	assert_null(card_code(p, json_integer_value(json_object_get(user_by_interface(p, "c3"), "id"))));
	json_decref(p);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* R9 + PT2: a transfer keeps the customer's code. */
static void test_PT_transfer_keeps_the_code(void **state)
{
	struct e2e *t = *state;
	json_t *p;
	char *before, *after;
	json_int_t uid;

	assert_int_equal(e2e_converge(t), 0);
	p = sim_state_of(t, "pti");
	uid = json_integer_value(json_object_get(user_by_interface(p, "c1"), "id"));
	before = card_code(p, uid);
	json_decref(p);
	sim_patch(t, "storeganise.unitRentals", "r2", json_pack("{s:s}", "state", "ended"));
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r5", "unitId", "u5",
		"siteId", "pt1", "ownerId", "c1", "state", "occupied", "customFields")));
	assert_int_equal(e2e_apply(t), 0);
	p = sim_state_of(t, "pti");
	assert_int_equal(count_users(p, "c1"), 1);
	after = card_code(p, uid);
	assert_string_equal(before, after);
	assert_string_equal(json_string_value(json_object_get(unit_named(p, "P-2"), "status")), "vacant");
	assert_int_equal(json_integer_value(json_object_get(unit_named(p, "P-5"), "user")), uid);
	json_decref(p);
	free(before);
	free(after);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* PT4: suspension stays while a second unit of the customer is overdue. */
static void test_PT4_suspension_stays_while_another_unit_is_overdue(void **state)
{
	struct e2e *t = *state;
	json_t *p;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:s}", "overdue", "2026-11-22T00:00:00Z"));
	sim_patch(t, "storeganise.unitRentals", "r2", json_pack("{s:s}", "overdue", "2026-11-22T00:00:00Z"));
	assert_int_equal(e2e_apply(t), 0);
	sim_patch(t, "storeganise.unitRentals", "r1", json_pack("{s:n}", "overdue"));
	assert_int_equal(e2e_apply(t), 0);
	p = sim_state_of(t, "pti");
	assert_true(json_is_true(json_object_get(user_by_interface(p, "c1"), "suspended")));
	json_decref(p);
	sim_patch(t, "storeganise.unitRentals", "r2", json_pack("{s:n}", "overdue"));
	assert_int_equal(e2e_apply(t), 0);
	p = sim_state_of(t, "pti");
	assert_false(json_is_true(json_object_get(user_by_interface(p, "c1"), "suspended")));
	json_decref(p);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* PT6 and PT7: a new code on request; a re-push on a newer pti_synced. */
static void test_PT6_PT7_regenerate_and_repush(void **state)
{
	struct e2e *t = *state;
	json_t *p, *reqs;
	char *before, *after, *flag;
	json_int_t uid;

	assert_int_equal(e2e_converge(t), 0);
	p = sim_state_of(t, "pti");
	uid = json_integer_value(json_object_get(user_by_interface(p, "c2"), "id"));
	before = card_code(p, uid);
	json_decref(p);
	sim_patch(t, "storeganise.users", "c2", json_pack("{s:{s:b}}", "customFields", "pti_regenerateCode", 1));
	assert_int_equal(e2e_apply(t), 0);
	p = sim_state_of(t, "pti");
	after = card_code(p, uid);
	assert_string_not_equal(before, after);
	json_decref(p);
	flag = user_field(t, "c2", "pti_regenerateCode");
	assert_string_equal(flag, "false");
	free(flag);
	free(before);
	before = user_field(t, "c2", "pti_accessCode");
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(e2e_plan_exit(t), 0);

	sim_clear_requests(t);
	sim_patch(t, "storeganise.unitRentals", "r3",
		  json_pack("{s:{s:s}}", "customFields", "pti_synced", "2999-01-01T00:00:00.000Z"));
	assert_int_equal(e2e_apply(t), 0);
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "PUT", "/pti/users/edit/"), 1);
	assert_int_equal(count_requests(reqs, "POST", "/pti/units/rent/P-3"), 1);
	json_decref(reqs);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* Drop the state directory (a lost disk, or a facility that ran the
 * Storeganise PTI add-on before: only pti_userId says who its user is). */
static void drop_state(struct e2e *t)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/state'", t->dir);
	assert_int_equal(system(cmd), 0);
}

/* PT1, R7, R8: a PTI user known only from pti_userId is pushed once (no
 * new user), then it is the engine's own: the next plan is empty and the
 * next apply calls nobody, PMS included (no pti_synced rewritten). */
static void test_PT1_user_known_only_from_pti_userId(void **state)
{
	struct e2e *t = *state;
	json_t *p, *reqs;
	char id[32];

	assert_int_equal(e2e_converge(t), 0);
	drop_state(t);
	p = sim_state_of(t, "pti");    /* suspended by the add-on, paid since */
	snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(user_by_interface(p, "c1"), "id")));
	json_decref(p);
	sim_patch(t, "pti.users", id, json_pack("{s:b}", "suspended", 1));
	sim_clear_requests(t);
	assert_int_equal(e2e_apply(t), 0);
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "POST", "/pti/users/add"), 0);
	assert_int_equal(count_requests(reqs, "PUT", "/pti/users/edit/"), 2);  /* c1, c2 */
	assert_int_equal(count_requests(reqs, "POST", "/pti/units/rent/"), 3); /* P-1, P-2, P-3 */
	json_decref(reqs);
	p = sim_state_of(t, "pti");
	assert_int_equal(count_users(p, "c1"), 1);
	assert_int_equal(count_users(p, "c2"), 1);
	assert_true(json_is_true(json_object_get(user_by_interface(p, "c2"), "suspended")));
	assert_false(json_is_true(json_object_get(user_by_interface(p, "c1"), "suspended")));
	json_decref(p);
	assert_int_equal(e2e_plan_exit(t), 0);
	sim_clear_requests(t);
	assert_int_equal(e2e_apply(t), 0);
	reqs = sim_requests(t);
	assert_int_equal(pti_writes(t), 0);
	assert_int_equal(count_requests(reqs, "PUT", "/storeganise/"), 0);
	json_decref(reqs);
}

/* PT1, R8 (issue 10.3): a pti_userId lost from the PMS (a write-back
 * that failed, a field cleared by hand) is written back from the engine's
 * record of the user, with no PTI call. */
static void test_PT1_lost_user_id_is_written_back(void **state)
{
	struct e2e *t = *state;
	char *before, *after;

	assert_int_equal(e2e_converge(t), 0);
	before = user_field(t, "c1", "pti_userId");
	assert_non_null(before);
	sim_patch(t, "storeganise.users", "c1", json_pack("{s:{s:n}}", "customFields", "pti_userId"));
	assert_int_equal(e2e_plan_exit(t), 2);
	sim_clear_requests(t);
	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(pti_writes(t), 0);
	after = user_field(t, "c1", "pti_userId");
	assert_non_null(after);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* PT2, R8 (issue 10.3): a code of record lost from the PMS is never
 * silently dropped: a new one is generated, written back and pushed. */
static void test_PT2_lost_code_is_generated_again(void **state)
{
	struct e2e *t = *state;
	char *before, *after, *card;
	json_t *p;
	json_int_t uid;

	assert_int_equal(e2e_converge(t), 0);
	before = user_field(t, "c1", "pti_accessCode");
	assert_non_null(before);
	sim_patch(t, "storeganise.users", "c1", json_pack("{s:{s:n}}", "customFields", "pti_accessCode"));
	assert_int_equal(e2e_apply(t), 0);
	after = user_field(t, "c1", "pti_accessCode");
	assert_non_null(after);
	assert_string_not_equal(before, after);
	p = sim_state_of(t, "pti");
	uid = json_integer_value(json_object_get(user_by_interface(p, "c1"), "id"));
	card = card_code(p, uid);
	json_decref(p);
	assert_non_null(card);
	assert_string_equal(card, after);
	free(before);
	free(after);
	free(card);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* PT7: pti_synced records a push that happened. A users/edit PTI refuses
 * holds back the customer's rentals' pti_synced write-backs (the rest of
 * the site goes on); the next apply pushes and writes them. */
static void test_PT7_failed_push_leaves_pti_synced_alone(void **state)
{
	struct e2e *t = *state;
	char *before, *after;

	assert_int_equal(e2e_converge(t), 0);
	before = sim_rental_field(t, "r1", "pti_synced");
	assert_non_null(before);
	sim_patch(t, "storeganise.users", "c1", json_pack("{s:s}", "email", "c1-new@example.com"));
	json_decref(sim_post(t, "/_sim/faults", json_pack("{s:s, s:s, s:i, s:b, s:i}", "method", "PUT",
		"path_contains", "/pti/users/edit", "status", 400, "commit", 0, "times", 1)));
	assert_int_equal(e2e_apply(t), 1);
	after = sim_rental_field(t, "r1", "pti_synced");
	assert_non_null(after);
	assert_string_equal(after, before);
	free(after);
	assert_int_equal(e2e_apply(t), 0);
	after = sim_rental_field(t, "r1", "pti_synced");
	assert_string_not_equal(after, before);
	free(after);
	free(before);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* PT1, R7 (issue 10.1): a users/add that PTI stored but whose answer was
 * lost (a 502 after the commit) is sent again at once: PTI answers
 * "InterfaceId exists" with the user's id, which is adopted. When every
 * attempt of the run loses its answer, the add is in doubt, and the next
 * apply's add is adopted the same way: one user, its code, its units, its
 * id written back, and the site converges. */
static void test_PT1_replayed_add_is_adopted(void **state)
{
	struct e2e *t = *state;
	struct run r;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	json_t *p, *u;
	char *uid, *code, *card;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	drop_state(t);
	json_decref(sim_post(t, "/_sim/faults", json_pack("{s:s, s:s, s:i, s:b, s:i}", "method", "POST",
		"path_contains", "/pti/users/add", "status", 502, "commit", 1, "times", 1)));
	assert_int_equal(e2e_apply(t), 0); /* the lost answer: replayed in the run */
	p = sim_state_of(t, "pti");
	assert_int_equal(count_users(p, "c1"), 1);
	json_decref(p);
	json_decref(sim_post(t, "/_sim/reset", NULL));
	drop_state(t);
	json_decref(sim_post(t, "/_sim/faults", json_pack("{s:s, s:s, s:i, s:b, s:i}", "method", "POST",
		"path_contains", "/pti/users/add", "status", 502, "commit", 1, "times", 8)));
	r = e2e_reconcile(t, args); /* every attempt's answer lost */
	assert_int_equal(r.status, 1);
	p = sim_state_of(t, "pti");
	assert_int_equal(count_users(p, "c1"), 1); /* made, though never answered */
	json_decref(p);
	run_free(&r);
	assert_int_equal(e2e_apply(t), 0);
	p = sim_state_of(t, "pti");
	assert_int_equal(count_users(p, "c1"), 1);
	assert_int_equal(count_users(p, "c2"), 1);
	u = user_by_interface(p, "c1");
	uid = user_field(t, "c1", "pti_userId");
	assert_non_null(uid);
	assert_int_equal(atoll(uid), json_integer_value(json_object_get(u, "id")));
	code = user_field(t, "c1", "pti_accessCode");
	card = card_code(p, json_integer_value(json_object_get(u, "id")));
	assert_non_null(code);
	assert_non_null(card);
	assert_string_equal(code, card);
	assert_int_equal(json_integer_value(json_object_get(unit_named(p, "P-1"), "user")),
			 json_integer_value(json_object_get(u, "id")));
	json_decref(p);
	free(uid);
	free(code);
	free(card);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* PT1, R7 (issue 10.4): a user deleted in PTI (or a PTI that lost its
 * data) answers -404: that apply fails for the customer only (the other
 * customer's change is made), the next plan says so and adds the user
 * again, its units are rented to it and its new id written back. */
static void test_PT1_user_deleted_in_pti_is_added_again(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	const char *plan[] = { "plan", "-c", t->spec, NULL };
	json_t *p, *u;
	json_int_t old;
	char *uid, *code, *card;
	struct run r;

	assert_int_equal(e2e_converge(t), 0);
	p = sim_state_of(t, "pti");
	old = json_integer_value(json_object_get(user_by_interface(p, "c1"), "id"));
	json_decref(p);
	json_decref(sim_post(t, "/_sim/delete", json_pack("{s:s, s:I}", "collection", "pti.users", "id", old)));
	sim_patch(t, "storeganise.users", "c1", json_pack("{s:s}", "email", "c1-new@example.com"));
	sim_patch(t, "storeganise.users", "c2", json_pack("{s:s}", "email", "c2-new@example.com"));
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "not found"));
	run_free(&r);
	p = sim_state_of(t, "pti");
	assert_string_equal(json_string_value(json_object_get(user_by_interface(p, "c2"), "email")),
			    "c2-new@example.com");
	json_decref(p);
	r = e2e_reconcile(t, plan);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "deleted in PTI"));
	run_free(&r);
	assert_int_equal(e2e_apply(t), 0);
	p = sim_state_of(t, "pti");
	assert_int_equal(count_users(p, "c1"), 1);
	u = user_by_interface(p, "c1");
	assert_int_not_equal(json_integer_value(json_object_get(u, "id")), old);
	assert_string_equal(json_string_value(json_object_get(u, "email")), "c1-new@example.com");
	assert_int_equal(json_integer_value(json_object_get(unit_named(p, "P-1"), "user")),
			 json_integer_value(json_object_get(u, "id")));
	assert_int_equal(json_integer_value(json_object_get(unit_named(p, "P-2"), "user")),
			 json_integer_value(json_object_get(u, "id")));
	uid = user_field(t, "c1", "pti_userId");
	code = user_field(t, "c1", "pti_accessCode");
	card = card_code(p, json_integer_value(json_object_get(u, "id")));
	assert_non_null(uid);
	assert_int_equal(atoll(uid), json_integer_value(json_object_get(u, "id")));
	assert_non_null(card);
	assert_string_equal(code, card);
	json_decref(p);
	free(uid);
	free(code);
	free(card);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* PT6 by command: reconcile codes regenerate. */
static void test_PT6_codes_regenerate_command(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "codes", "regenerate", "-c", t->spec, "--site", "pt1", "--user", "c1",
			       "--auto-approve", NULL };
	const char *nobody[] = { "codes", "regenerate", "-c", t->spec, "--site", "pt1", "--user", "c5",
				 "--auto-approve", NULL };
	char *before, *after;
	json_t *p;
	json_int_t uid;
	struct run r;

	assert_int_equal(e2e_converge(t), 0);
	p = sim_state_of(t, "pti");
	uid = json_integer_value(json_object_get(user_by_interface(p, "c1"), "id"));
	before = card_code(p, uid);
	json_decref(p);
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, before));
	assert_non_null(strstr(r.out, "~ access_code = (sensitive value)")); /* shown, never the code */
	run_free(&r);
	p = sim_state_of(t, "pti");
	after = card_code(p, uid);
	json_decref(p);
	assert_string_not_equal(before, after);
	free(before);
	before = user_field(t, "c1", "pti_accessCode");
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(e2e_plan_exit(t), 0);
	r = e2e_reconcile(t, nobody);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "no managed unit"));
	run_free(&r);
}

/* Result codes: a unit unknown to PTI (-404) fails with its name; a name
 * over 10 characters never reaches PTI (-3). */
static void test_PT_result_codes_name_the_unit(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	const char *plan[] = { "plan", "-c", t->spec, NULL };
	struct run r;

	assert_int_equal(e2e_converge(t), 0);
	sim_patch(t, "storeganise.units", "u6", json_pack("{s:{s:s}}", "customFields", "pti_unitName", "P-9"));
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", "r6", "unitId", "u6",
		"siteId", "pt1", "ownerId", "c1", "state", "occupied", "customFields")));
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "unit P-9 not found"));
	run_free(&r);
	sim_patch(t, "storeganise.units", "u6",
		  json_pack("{s:{s:s}}", "customFields", "pti_unitName", "NAME-TOO-LONG"));
	r = e2e_reconcile(t, plan);
	assert_non_null(strstr(r.out, "at most 10 characters"));
	run_free(&r);
}

/* A saved plan with a new user (its id known only after apply) and a
 * generated code applies exactly. */
static void test_PT_saved_plan_applies(void **state)
{
	struct e2e *t = *state;
	const char *pargs[] = { "plan", "-c", t->spec, "--out", "pti.plan", NULL };
	const char *aargs[] = { "apply", "-c", t->spec, "pti.plan", NULL };
	char cmd[400], *uid, *code;
	json_t *p;
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
	p = sim_state_of(t, "pti");
	assert_int_equal(count_users(p, "c1"), 1);
	uid = user_field(t, "c1", "pti_userId");
	assert_non_null(uid);
	assert_int_equal(atoll(uid), json_integer_value(json_object_get(user_by_interface(p, "c1"), "id")));
	code = card_code(p, atoll(uid));
	free(uid);
	uid = user_field(t, "c1", "pti_accessCode");
	assert_string_equal(code, uid);
	free(uid);
	free(code);
	json_decref(p);
	assert_int_equal(e2e_plan_exit(t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_PT_fresh_site_converges),
		cmocka_unit_test(test_PT_move_in_overdue_payment_move_out),
		cmocka_unit_test(test_PT_transfer_keeps_the_code),
		cmocka_unit_test(test_PT4_suspension_stays_while_another_unit_is_overdue),
		cmocka_unit_test(test_PT6_PT7_regenerate_and_repush),
		cmocka_unit_test(test_PT6_codes_regenerate_command),
		cmocka_unit_test(test_PT1_user_known_only_from_pti_userId),
		cmocka_unit_test(test_PT1_lost_user_id_is_written_back),
		cmocka_unit_test(test_PT2_lost_code_is_generated_again),
		cmocka_unit_test(test_PT7_failed_push_leaves_pti_synced_alone),
		cmocka_unit_test(test_PT1_replayed_add_is_adopted),
		cmocka_unit_test(test_PT1_user_deleted_in_pti_is_added_again),
		cmocka_unit_test(test_PT_result_codes_name_the_unit),
		cmocka_unit_test(test_PT_saved_plan_applies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
