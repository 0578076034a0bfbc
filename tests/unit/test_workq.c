/* test_workq.c: the serve work queue (Kubernetes workqueue semantics). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/workq.h"

static void test_dedup_and_no_key_twice_at_once(void **state)
{
	struct workq q;
	const char *k;
	double wait;

	(void)state;
	workq_init(&q, 1000, 1000);
	workq_add(&q, "site:a", 0);
	workq_add(&q, "site:a", 0);            /* merged while queued */
	assert_int_equal(workq_depth(&q), 1);
	k = workq_take(&q, 1, &wait);
	assert_string_equal(k, "site:a");
	workq_add(&q, "site:a", 1);            /* while running: dirty, not a 2nd run */
	assert_null(workq_take(&q, 1, &wait));
	workq_done(&q, "site:a", true, 1);
	k = workq_take(&q, 1, &wait);          /* runs once more after */
	assert_non_null(k);
	workq_done(&q, "site:a", true, 1);
	assert_null(workq_take(&q, 1, &wait));
	assert_int_equal(q.running_max, 1);
	assert_int_equal(q.merged, 2);
	workq_free(&q);
}

static void test_backoff_and_reset(void **state)
{
	struct workq q;
	double wait;

	(void)state;
	workq_init(&q, 1000, 1000);
	workq_add(&q, "k", 0);
	assert_non_null(workq_take(&q, 10, &wait));
	workq_done(&q, "k", false, 10);        /* 0.5 s */
	assert_null(workq_take(&q, 10.2, &wait));
	assert_true(wait > 0.2 && wait < 0.4);
	assert_non_null(workq_take(&q, 10.6, &wait));
	workq_done(&q, "k", false, 10.6);      /* 1 s */
	assert_null(workq_take(&q, 11.4, &wait));
	assert_non_null(workq_take(&q, 11.7, &wait));
	workq_done(&q, "k", true, 11.7);       /* success resets */
	assert_int_equal(q.items[0].failures, 0);
	workq_free(&q);
}

static void test_rate_limit(void **state)
{
	struct workq q;
	double wait;
	int i, got = 0;
	char key[16];

	(void)state;
	workq_init(&q, 10, 3);                 /* 10/s, burst 3 */
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		workq_add(&q, key, 100);
	}
	for (i = 0; i < 10; i++) {
		const char *k = workq_take(&q, 100, &wait);

		if (!k)
			break;
		got++;
		workq_done(&q, k, true, 100);
	}
	assert_int_equal(got, 3);
	assert_true(wait > 0);
	workq_free(&q);
}

/* An idle key (done, no failure, no pending add) is forgotten: the queue
 * holds only live keys, and a forgotten key can come back. */
static void test_idle_keys_are_freed(void **state)
{
	struct workq q;
	const char *k;
	double wait;

	(void)state;
	workq_init(&q, 1000, 1000);
	workq_add(&q, "a", 0);
	workq_add(&q, "b", 0);
	assert_int_equal(q.live, 2);
	k = workq_take(&q, 1, &wait);
	assert_string_equal(k, "a");
	workq_done(&q, k, true, 1);
	assert_int_equal(q.live, 1);
	k = workq_take(&q, 1, &wait);
	assert_string_equal(k, "b");
	workq_done(&q, k, false, 1);           /* backing off: still held */
	assert_int_equal(q.live, 1);
	assert_int_equal(workq_depth(&q), 1);
	k = workq_take(&q, 2, &wait);
	assert_string_equal(k, "b");
	workq_done(&q, k, true, 2);
	assert_int_equal(q.live, 0);
	assert_int_equal(workq_depth(&q), 0);
	assert_null(workq_take(&q, 2, &wait));
	assert_true(wait < 0);
	workq_add(&q, "a", 3);                 /* forgotten, added again */
	assert_int_equal(q.live, 1);
	assert_int_equal(q.n, 2);              /* in a reused slot */
	k = workq_take(&q, 3, &wait);
	assert_string_equal(k, "a");
	workq_add(&q, "a", 3);                 /* running: dirty, not a 2nd key */
	assert_int_equal(q.live, 1);
	assert_null(workq_take(&q, 3, &wait));
	workq_done(&q, k, true, 3);
	k = workq_take(&q, 3, &wait);
	assert_string_equal(k, "a");
	workq_done(&q, k, true, 3);
	assert_int_equal(q.live, 0);
	workq_done(&q, "a", true, 3);          /* not running: ignored */
	assert_int_equal(q.processed, 5);
	assert_int_equal(q.running_now, 0);
	workq_free(&q);
}

/* Ties on not_before go in the order keys were queued (not the order they
 * were first seen), and a fresh key (not_before 0) before backed-off ones. */
static void test_fifo_among_equal_not_before(void **state)
{
	static const char *first[] = { "k1", "k2", "k3", "k0" };
	static const char *failed[] = { "k0", "k3", "k2", "k1" };
	struct workq q;
	const char *k;
	double wait;
	size_t i;

	(void)state;
	workq_init(&q, 1000, 1000);
	workq_add(&q, "k0", 0);
	workq_add(&q, "k1", 0);
	workq_add(&q, "k2", 0);
	k = workq_take(&q, 1, &wait);
	assert_string_equal(k, "k0");
	workq_done(&q, k, true, 1);            /* forgotten */
	workq_add(&q, "k3", 1);
	workq_add(&q, "k0", 1);                /* queued again: behind k3 */
	workq_add(&q, "k1", 1);                /* merged: keeps its place */
	for (i = 0; i < 4; i++)
		assert_string_equal(workq_take(&q, 5, &wait), first[i]);
	for (i = 0; i < 4; i++)                /* all back off to 5.5 */
		workq_done(&q, failed[i], false, 5);
	assert_null(workq_take(&q, 5, &wait));
	assert_true(wait > 0.4 && wait < 0.6);
	workq_add(&q, "k5", 6);
	assert_string_equal(workq_take(&q, 6, &wait), "k5");
	for (i = 0; i < 4; i++)
		assert_string_equal(workq_take(&q, 6, &wait), failed[i]);
	workq_free(&q);
}

/* can_run for tests: refuses the keys in the NULL-ended list payload. */
static bool refuse_listed(const char *key, void *payload)
{
	const char *const *no;

	for (no = payload; *no; no++)
		if (!strcmp(*no, key))
			return false;
	return true;
}

static void test_take_if_skips_and_keeps_queued(void **state)
{
	static const char *no_ab[] = { "a", "b", NULL };
	static const char *no_a[] = { "a", NULL };
	static const char *none[] = { NULL };
	struct workq q;
	double wait;

	(void)state;
	workq_init(&q, 1000, 1000);
	workq_add(&q, "a", 0);
	workq_add(&q, "b", 0);
	workq_add(&q, "c", 0);
	workq_add(&q, "d", 0);
	assert_string_equal(workq_take_if(&q, 0, &wait, refuse_listed, no_ab), "c");
	assert_string_equal(workq_take_if(&q, 0, &wait, refuse_listed, no_ab), "d");
	assert_null(workq_take_if(&q, 0, &wait, refuse_listed, no_ab));
	assert_true(wait < 0);                 /* nothing waits for time */
	assert_int_equal(workq_depth(&q), 2);
	assert_string_equal(workq_take_if(&q, 0, &wait, refuse_listed, no_a), "b");
	workq_done(&q, "c", false, 0);         /* c at 0.5 */
	assert_null(workq_take_if(&q, 0, &wait, refuse_listed, no_a));
	assert_true(wait > 0.4 && wait < 0.6);
	assert_int_equal(workq_depth(&q), 2);
	/* refused many times, a kept its place ahead of c */
	assert_string_equal(workq_take_if(&q, 1, &wait, refuse_listed, none), "a");
	assert_string_equal(workq_take_if(&q, 1, &wait, refuse_listed, none), "c");
	assert_int_equal(workq_depth(&q), 0);
	assert_int_equal(q.running_max, 4);
	workq_free(&q);
}

/* Out of tokens: the key chosen is not lost, it goes back to its place. */
static void test_take_without_token_keeps_order(void **state)
{
	struct workq q;
	double wait;

	(void)state;
	workq_init(&q, 1, 1);
	workq_add(&q, "x", 10);
	workq_add(&q, "y", 10);
	assert_string_equal(workq_take(&q, 10, &wait), "x");
	assert_null(workq_take(&q, 10, &wait));
	assert_true(wait > 0.9 && wait < 1.1);
	assert_int_equal(workq_depth(&q), 1);
	assert_string_equal(workq_take(&q, 11, &wait), "y");
	workq_free(&q);
}

/* 100,000 keys through the queue, some added again while running. */
static void test_many_keys(void **state)
{
	enum { N = 100000, BATCH = 100 };
	const char *running[BATCH];
	char key[32];
	struct workq q;
	double wait;
	size_t i, j, nrun, taken = 0;

	(void)state;
	workq_init(&q, 1e9, 1e9);
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "unit:%zu", i);
		workq_add(&q, key, 1);
	}
	assert_int_equal(workq_depth(&q), N);
	for (;;) {
		for (nrun = 0; nrun < BATCH; nrun++) {
			running[nrun] = workq_take(&q, 1, &wait);
			if (!running[nrun])
				break;
			if (taken + nrun < N) {        /* first pass: in order */
				snprintf(key, sizeof(key), "unit:%zu", taken + nrun);
				assert_string_equal(running[nrun], key);
			}
		}
		if (!nrun)
			break;
		for (j = 0; j < nrun; j++) {
			if ((taken + j) % 2 == 0 && taken + j < N)
				workq_add(&q, running[j], 1);   /* dirty: once more */
			workq_done(&q, running[j], true, 1);
		}
		taken += nrun;
	}
	assert_int_equal(taken, N + N / 2);
	assert_true(wait < 0);
	assert_int_equal(workq_depth(&q), 0);
	assert_int_equal(q.live, 0);
	assert_int_equal(q.processed, N + N / 2);
	assert_int_equal(q.merged, N / 2);
	assert_int_equal(q.running_max, BATCH);
	assert_int_equal(q.idx.n, 0);          /* forgotten keys left the map */
	workq_free(&q);
}

/* A move-in's key goes ahead of the updates queued before it, also when
 * its key was queued already (promoted in place), and the rest keep their
 * order; the urgency lasts while the key is held. */
static void test_urgent_keys_go_first(void **state)
{
	char key[32];
	struct workq q;
	const char *k;
	double wait;
	int i;

	(void)state;
	workq_init(&q, 0, 0);
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "rental:u%03d", i);
		workq_add(&q, key, 0);
	}
	workq_add_urgent(&q, "rental:movein", true, 0);
	workq_add_urgent(&q, "rental:u150", true, 0);    /* queued: moves up */
	workq_add(&q, "rental:movein", 0);              /* a plain add keeps it urgent */
	k = workq_take(&q, 1, &wait);
	assert_string_equal(k, "rental:u150");          /* urgent ones in their queued order */
	assert_true(workq_urgent(&q, k));
	workq_done(&q, k, true, 1);
	assert_false(workq_urgent(&q, "rental:u150")); /* forgotten once idle */
	k = workq_take(&q, 1, &wait);
	assert_string_equal(k, "rental:movein");
	workq_done(&q, k, true, 1);
	for (i = 0; i < 200; i++) {
		if (i == 150)
			continue;
		snprintf(key, sizeof(key), "rental:u%03d", i);
		k = workq_take(&q, 1, &wait);
		assert_non_null(k);
		assert_string_equal(k, key);
		assert_false(workq_urgent(&q, k));
		workq_done(&q, k, true, 1);
	}
	assert_null(workq_take(&q, 1, &wait));
	/* a backoff still holds an urgent key back: only ties go its way */
	workq_add_urgent(&q, "rental:x", true, 0);
	k = workq_take(&q, 0, &wait);
	workq_done(&q, k, false, 0);                     /* again at 0.5 s */
	workq_add(&q, "rental:y", 0);
	k = workq_take(&q, 0.1, &wait);
	assert_string_equal(k, "rental:y");
	workq_done(&q, k, true, 0.1);
	assert_null(workq_take(&q, 0.2, &wait));
	k = workq_take(&q, 0.6, &wait);
	assert_string_equal(k, "rental:x");
	workq_done(&q, k, true, 0.6);
	workq_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup_and_no_key_twice_at_once),
		cmocka_unit_test(test_backoff_and_reset),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_idle_keys_are_freed),
		cmocka_unit_test(test_fifo_among_equal_not_before),
		cmocka_unit_test(test_take_if_skips_and_keeps_queued),
		cmocka_unit_test(test_take_without_token_keeps_order),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_urgent_keys_go_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
