/*
 * e2e_serve_crash.c: reconcile serve killed with SIGKILL (no chance to
 * finish anything), then started again (issue 10): every event it answered
 * 200 is acted on, and R10's hour of vacates is the state's, not the
 * process's. Seed tests/e2e/data/basic.json plus 100 units added here.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SECRET "e2e-webhook-secret"   /* E2E_SG_WEBHOOK_SECRET of the harness */

static const char *const SITES[][3] = { { "site1", "site1", "P1" } };

static int setup(void **state)
{
	struct e2e_srv *s = calloc(1, sizeof(*s));

	e2e_start(&s->t, "tests/e2e/data/basic.json", SITES, 1);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	e2e_srv_free(*state);
	return 0;
}

/* Units B<first>..B<first+n-1> holding `tenants` tenants each: how many do not. */
static int off(struct e2e_srv *s, int first, int n, size_t tenants)
{
	char num[16];
	int i, k = 0;

	for (i = first; i < first + n; i++) {
		snprintf(num, sizeof(num), "B%d", i);
		k += sim_tenants_on(&s->t, num) != tenants;
	}
	return k;
}

static void kill9(struct e2e_srv *s)
{
	kill(s->pid, SIGKILL);
	e2e_waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

static long event(struct e2e_srv *s, const char *id, const char *type, int rental)
{
	char body[200];

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"type\":\"%s\",\"data\":{\"unitRentalId\":\"rb%d\"}}",
		 id, type, rental);
	return e2e_serve_post(s->port, "/webhooks/storeganise", body, SECRET, NULL);
}

/* A burst of move-ins, SIGKILL half-way: each event answered 200 is acted
 * on after the restart; nothing is made twice. */
static void test_kill9_mid_burst_loses_no_answered_event(void **state)
{
	struct e2e_srv *s = *state;
	char id[32];
	int i, tries, answered = 0;

	e2e_serve_start(&s->t, &s->pid, &s->port);
	assert_true(e2e_serve_settle(s->port));
	e2e_add_opentech_units(&s->t, "site1", 101, 100, 60);
	for (i = 0; i < 60; i++) {
		if (i == 30)
			kill9(s);
		snprintf(id, sizeof(id), "in-%d", i);
		if (s->pid && event(s, id, "job.unit_moveIn.completed", 100 + i) == 200)
			answered++;
	}
	assert_int_equal(answered, 30);
	e2e_serve_start(&s->t, &s->pid, &s->port);
	for (tries = 0; tries < 300 && off(s, 100, 30, 1); tries++)
		usleep(100000);
	assert_int_equal(off(s, 100, 30, 1), 0);           /* every answered event acted on */
	assert_true(e2e_serve_settle(s->port));
	assert_int_equal(off(s, 100, 60, 1), 0);           /* the rest by the start-up reconcile */
	assert_int_equal(sim_tenants_on(&s->t, "U1"), 1);  /* nothing doubled */
	assert_int_equal(e2e_serve_stop(&s->pid), 0);
	assert_int_equal(e2e_plan_exit(&s->t), 0);
}

/* R10 across a SIGKILL: 15 move-outs, one webhook each, where the hour's
 * limit is 10 (10 % of 106 managed units). Killed after the first 6
 * vacates, serve starts again and vacates 4 more, not 10. */
static void test_kill9_keeps_R10_hour(void **state)
{
	struct e2e_srv *s = *state;
	char id[32], rid[16];
	int i, tries;

	e2e_add_opentech_units(&s->t, "site1", 101, 100, 100);
	e2e_serve_start(&s->t, &s->pid, &s->port);
	for (tries = 0; tries < 300 && off(s, 100, 100, 1); tries++)
		usleep(100000);
	assert_int_equal(off(s, 100, 100, 1), 0);
	assert_true(e2e_serve_settle(s->port));
	for (i = 100; i < 115; i++) {
		snprintf(rid, sizeof(rid), "rb%d", i);
		sim_patch(&s->t, "storeganise.unitRentals", rid, json_pack("{s:s}", "state", "ended"));
	}
	for (i = 100; i < 106; i++) {
		snprintf(id, sizeof(id), "out-%d", i);
		assert_int_equal(event(s, id, "job.unit_moveOut.completed", i), 200);
	}
	for (tries = 0; tries < 300 && off(s, 100, 6, 0); tries++)
		usleep(100000);
	assert_int_equal(off(s, 100, 6, 0), 0);             /* 6 vacated */
	kill9(s);
	e2e_serve_start(&s->t, &s->pid, &s->port);
	for (i = 106; i < 115; i++) {
		snprintf(id, sizeof(id), "out-%d", i);
		assert_int_equal(event(s, id, "job.unit_moveOut.completed", i), 200);
	}
	/* every held-back rental has been tried and refused (R10) */
	for (tries = 0; tries < 300 && e2e_serve_metric(s->port, "reconcile_errors_total ") < 5; tries++)
		usleep(100000);
	assert_true(e2e_serve_metric(s->port, "reconcile_errors_total ") >= 5);
	assert_int_equal(e2e_serve_stop(&s->pid), 0);
	assert_int_equal(off(s, 100, 15, 0), 5);            /* 10 vacated in all, 5 held back */
	assert_int_equal(off(s, 115, 85, 1), 0);            /* the others untouched */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill9_mid_burst_loses_no_answered_event, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kill9_keeps_R10_hour, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
