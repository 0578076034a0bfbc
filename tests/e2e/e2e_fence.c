/*
 * e2e_fence.c: an apply asks its fence before every call, and stops there
 * when the fence says no (cluster mode: the site's shard lease was lost,
 * issue 16; serve_work.c sets it). In process, against the simulator with
 * the demo's lisbon (OpenTech, a first sync of a dozen tenants and their
 * write-backs): a fence that lets three calls through lets exactly three
 * reach the simulator, one after another (no loop); with chains at once
 * (the CLI's fibers over curl multi) each call asks twice, before its
 * operation and as its request goes out, so at most three get through;
 * and a call that waited for a connection slot while the fence turned is
 * not sent (a paused cluster instance wakes there, its lease gone).
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
#include "reconciler/cli.h"
#include "reconciler/engine.h"

#define LET_THROUGH 3

static const char SITES_JSON[] =
	"{\"name\":\"lisbon\",\"pms_site_id\":\"5e1700000000000000000001\",\"vendor\":\"opentech\","
	"\"opentech\":{\"base_url\":\"@SIM@/opentech\",\"property_number\":\"LIS-001\","
	"\"api_key_env\":\"E2E_OT_API_KEY\",\"api_secret_env\":\"E2E_OT_API_SECRET\","
	"\"client_id_env\":\"E2E_OT_CLIENT_ID\",\"client_secret_env\":\"E2E_OT_CLIENT_SECRET\"}}";

static unsigned g_asked;

/* Lets the first LET_THROUGH calls through, then says the lease is lost. */
static bool fence(void *arg)
{
	(void)arg;
	return ++g_asked <= LET_THROUGH;
}

/* Calls with a side effect that reached the simulator (not the token). */
static size_t writes(struct e2e *t)
{
	json_t *reqs = sim_requests(t), *q;
	size_t i, n = 0;

	json_array_foreach(reqs, i, q) {
		const char *m = json_string_value(json_object_get(q, "method")) ?: "";
		const char *path = json_string_value(json_object_get(q, "path")) ?: "";

		n += strcmp(m, "GET") && !strstr(path, "token") && strncmp(path, "/_sim", 5);
	}
	json_decref(reqs);
	return n;
}

static void apply_fenced(bool concurrent)
{
	struct engine_opts eo = { .refresh = true };
	struct apply_opts ao = { 0 };
	struct apply_result res;
	struct plan p = { 0 };
	struct spec *spec = NULL;
	struct rc_err err;
	struct engine e;
	struct e2e t;
	bool conc = false;
	int rc;

	e2e_start_site(&t, "contrib/demo/seed.json", SITES_JSON);
	rc_err_clear(&err);
	assert_int_equal(cli_load_spec(t.spec, &spec, &err), 0);
	assert_int_equal(engine_open(&e, spec, NULL, NULL, &err), 0);
	if (concurrent)
		conc = cli_concurrency_begin(&e);
	assert_int_equal(concurrent, conc);
	assert_int_equal(engine_plan(&e, &eo, &p, &err), 0);
	assert_true(p.sites[0].nops > 2 * LET_THROUGH);
	sim_clear_requests(&t);
	g_asked = 0;
	e.fence = fence;
	rc = engine_apply(&e, &p, &ao, &res, &err);
	cli_concurrency_end(&e, conc);
	assert_int_not_equal(rc, 0);
	if (!strstr(err.msg, "lease was lost"))
		fail_msg("error: %s", err.msg);
	if (concurrent) { /* two asks per call: before its operation, as it goes out */
		assert_in_range(writes(&t), 0, LET_THROUGH);
	} else {
		assert_int_equal(writes(&t), LET_THROUGH);
		assert_int_equal(res.ok + res.failed + res.in_doubt, LET_THROUGH);
	}
	plan_free(&p);
	engine_close(&e);
	spec_free(spec);
	e2e_stop(&t);
}

static void test_a_fence_stops_the_apply_one_call_at_a_time(void **state)
{
	(void)state;
	apply_fenced(false);
}

static void test_a_fence_stops_the_apply_with_chains_at_once(void **state)
{
	(void)state;
	apply_fenced(true);
}

static double g_turn; /* rc_now_mono() from which the fence says no */

static bool fence_until(void *arg)
{
	(void)arg;
	return rc_now_mono() < g_turn;
}

/* One call at a time to OpenTech, the first answered in 2 s: the next
 * call passed its operation's fence at once and waits for the slot; the
 * fence turns after 1 s, so when the slot frees that call is not sent. */
static void test_a_call_that_waited_for_its_slot_asks_the_fence_again(void **state)
{
	struct engine_opts eo = { .refresh = true };
	struct apply_opts ao = { 0 };
	struct apply_result res;
	struct plan p = { 0 };
	struct spec *spec = NULL;
	struct rc_err err;
	struct engine e;
	struct e2e t;
	json_t *js;
	bool conc;
	int rc;

	(void)state;
	e2e_start_site(&t, "contrib/demo/seed.json", SITES_JSON);
	js = json_load_file(t.spec, 0, NULL);
	assert_non_null(js);
	json_object_set_new(js, "serve", json_pack("{s:i}", "vendor_concurrency", 1));
	assert_int_equal(json_dump_file(js, t.spec, 0), 0);
	json_decref(js);
	rc_err_clear(&err);
	assert_int_equal(cli_load_spec(t.spec, &spec, &err), 0);
	assert_int_equal(engine_open(&e, spec, NULL, NULL, &err), 0);
	conc = cli_concurrency_begin(&e);
	assert_true(conc);
	assert_int_equal(engine_plan(&e, &eo, &p, &err), 0);
	json_decref(sim_post(&t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:i, s:b}]",
		"method", "POST", "path_contains", "/opentech/", "status", 0, "times", 1,
		"delay_ms", 2000, "commit", 1)));
	sim_clear_requests(&t);
	g_turn = rc_now_mono() + 1.0;
	e.fence = fence_until;
	rc = engine_apply(&e, &p, &ao, &res, &err);
	cli_concurrency_end(&e, conc);
	assert_int_not_equal(rc, 0);
	if (!strstr(err.msg, "lease was lost"))
		fail_msg("error: %s", err.msg);
	assert_int_equal(writes(&t), 1); /* the slow one; the one behind it was not sent */
	plan_free(&p);
	engine_close(&e);
	spec_free(spec);
	e2e_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_fence_stops_the_apply_one_call_at_a_time),
		cmocka_unit_test(test_a_fence_stops_the_apply_with_chains_at_once),
		cmocka_unit_test(test_a_call_that_waited_for_its_slot_asks_the_fence_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
