/* Tests of reconciler/common.c: arena, buffer, map. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/common.h"

static void test_map_put_get(void **state)
{
	struct rc_map m;
	char keys[300][16];
	size_t v, i;

	(void)state;
	rc_map_init(&m);
	for (i = 0; i < 300; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		rc_map_put(&m, keys[i], i * 7);
	}
	for (i = 0; i < 300; i++) {
		assert_true(rc_map_get(&m, keys[i], &v));
		assert_int_equal(v, i * 7);
	}
	assert_false(rc_map_get(&m, "absent", &v));
	rc_map_free(&m);
}

static void test_buf_printf(void **state)
{
	struct rc_buf b;
	char *s;

	(void)state;
	rc_buf_init(&b);
	rc_buf_printf(&b, "%s-%d", "a", 42);
	rc_buf_puts(&b, "!");
	s = rc_buf_steal(&b);
	assert_string_equal(s, "a-42!");
	free(s);
}

static void test_arena_strdup(void **state)
{
	struct rc_arena a;
	char *p;
	int i;

	(void)state;
	rc_arena_init(&a);
	for (i = 0; i < 10000; i++) {
		p = rc_arena_strdup(&a, "hello world");
		assert_string_equal(p, "hello world");
	}
	assert_null(rc_arena_strdup(&a, NULL));
	rc_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_put_get),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_arena_strdup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
