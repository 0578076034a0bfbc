/*
 * e2e_serve_urgent.c: a move-in is not kept waiting behind updates
 * (issue 12). A tenant at the gate waits for a move-in's code; an
 * unitRental.updated can wait a little. serve queues the keys of a
 * completed move-in, move-out or transfer ahead of those already queued.
 * Seed tests/e2e/data/two_sites.json, as e2e_serve.c's two-site tests.
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
#include <unistd.h>

#include "harness.h"

#define SECRET "e2e-webhook-secret"   /* E2E_SG_WEBHOOK_SECRET of the harness */

static const char *const TWO[][3] = { { "site1", "site1", "P1" }, { "site2", "site2", "P2" } };

static int setup(void **state)
{
	struct e2e_srv *s = calloc(1, sizeof(*s));

	e2e_start(&s->t, "tests/e2e/data/two_sites.json", TWO, 2);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	e2e_srv_free(*state);
	return 0;
}

/* One run at a time, and no periodic pass: the queue's order is all the
 * test sees. */
static void one_worker(struct e2e_srv *s)
{
	json_t *spec = json_load_file(s->t.spec, 0, NULL), *site;
	size_t i;

	assert_non_null(spec);
	json_object_set_new(spec, "serve", json_pack("{s:i, s:i, s:i}", "workers", 1,
						     "rental_workers", 1, "vendor_concurrency", 4));
	json_array_foreach(json_object_get(spec, "sites"), i, site)
		json_object_set_new(site, "sync_interval", json_string("1h"));
	assert_int_equal(json_dump_file(spec, s->t.spec, 0), 0);
	json_decref(spec);
}

static void post(struct e2e_srv *s, const char *id, const char *type, const char *rental)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"type\":\"%s\",\"data\":{\"unitRentalId\":\"%s\"}}",
		 id, type, rental);
	assert_int_equal(e2e_serve_post(s->port, "/webhooks/storeganise", body, SECRET, NULL), 200);
}

/* When the simulator first received method + path (exact), -1 if never. */
static double first_at(json_t *reqs, const char *method, const char *path)
{
	json_t *r;
	size_t i;

	json_array_foreach(reqs, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "method")), method) &&
		    !strcmp(json_string_value(json_object_get(r, "path")), path))
			return json_real_value(json_object_get(r, "at"));
	return -1;
}

static bool wait_tenant(struct e2e_srv *s, const char *unit, int seconds)
{
	int i;

	for (i = 0; i < seconds * 10; i++) {
		if (sim_tenants_on(&s->t, unit) == 1)
			return true;
		usleep(100000);
	}
	return false;
}

/* The only worker is held by a slow update of r1; updates of r2, r3 and q1
 * queue, then q3's move-in: its rental is read, and its tenant created,
 * before any of the updates queued ahead of it runs. */
static void test_move_in_goes_ahead_of_queued_updates(void **state)
{
	struct e2e_srv *s = *state;
	double movein, upd;
	json_t *reqs;

	one_worker(s);
	e2e_serve_start(&s->t, &s->pid, &s->port);
	assert_true(wait_tenant(s, "U1", 15));
	assert_true(wait_tenant(s, "V1", 15));
	assert_true(e2e_serve_settle(s->port));
	sim_insert_rental(&s->t, "site2", "q3", "v3", "d2");
	/* r1's read is answered late: the worker is busy meanwhile */
	json_decref(sim_post(&s->t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:i, s:b}]",
		"method", "GET", "path_contains", "/unit-rentals/r1", "status", 0, "times", 1,
		"delay_ms", 1500, "commit", 1)));
	sim_clear_requests(&s->t);
	post(s, "u-1", "unitRental.updated", "r1");
	usleep(300000); /* r1's run holds the worker (its read is in flight) */
	post(s, "u-2", "unitRental.updated", "r2");
	post(s, "u-3", "unitRental.updated", "r3");
	post(s, "u-4", "unitRental.updated", "q1");
	post(s, "m-1", "job.unit_moveIn.completed", "q3");
	assert_true(wait_tenant(s, "V3", 20));
	assert_true(e2e_serve_settle(s->port));
	reqs = sim_requests(&s->t);
	movein = first_at(reqs, "GET", "/storeganise/api/v1/admin/unit-rentals/q3");
	assert_true(movein > 0);
	upd = first_at(reqs, "GET", "/storeganise/api/v1/admin/unit-rentals/r2");
	assert_true(upd > 0);
	assert_true(movein < upd);
	upd = first_at(reqs, "GET", "/storeganise/api/v1/admin/unit-rentals/q1");
	assert_true(upd > 0);
	assert_true(movein < upd);
	json_decref(reqs);
	assert_int_equal(e2e_serve_stop(&s->pid), 0);
	assert_int_equal(e2e_plan_exit(&s->t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_move_in_goes_ahead_of_queued_updates, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
