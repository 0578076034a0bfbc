/* test_workq.c: the serve work queue (Kubernetes workqueue semantics). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "reconciler/workq.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup_and_no_key_twice_at_once),
		cmocka_unit_test(test_backoff_and_reset),
		cmocka_unit_test(test_rate_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
