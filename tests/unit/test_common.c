/* Tests of core/common.c: arena, buffer, map. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

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

/* Deleting keeps every other key reachable (probe runs are shifted back,
 * also across the end of the table), and a deleted key can come back. */
static void test_map_del(void **state)
{
	static char keys[2000][16];
	struct rc_map m;
	size_t v, i, round;

	(void)state;
	rc_map_init(&m);
	for (i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
		rc_map_put(&m, keys[i], i);
	}
	for (round = 0; round < 2; round++) {
		for (i = round; i < 2000; i += 3)
			assert_ptr_equal(rc_map_del(&m, keys[i]), keys[i]);
	}
	assert_null(rc_map_del(&m, "key-0"));          /* already gone */
	assert_null(rc_map_del(&m, "never"));
	assert_int_equal(m.n, 2000 - 667 - 667);
	for (i = 0; i < 2000; i++) {
		bool in = i % 3 == 2;

		assert_int_equal(rc_map_get(&m, keys[i], &v), in);
		if (in)
			assert_int_equal(v, i);
	}
	rc_map_put(&m, keys[0], 7);
	assert_true(rc_map_get(&m, "key-0", &v));
	assert_int_equal(v, 7);
	rc_map_free(&m);
}

/* A reserved map never grows while it fills to the size reserved, and
 * keeps every key through deletes that shift probe runs back. */
static void test_map_reserve(void **state)
{
	static char keys[5000][16];
	struct rc_map m;
	size_t v, i, cap;

	(void)state;
	rc_map_init(&m);
	rc_map_reserve(&m, 5000);
	cap = m.cap;
	assert_true(cap >= 10000);
	for (i = 0; i < 5000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "u%zu", i);
		rc_map_put(&m, keys[i], i);
	}
	assert_int_equal(m.cap, cap);
	for (i = 0; i < 5000; i += 2)
		assert_ptr_equal(rc_map_del(&m, keys[i]), keys[i]);
	for (i = 0; i < 5000; i++)
		assert_int_equal(rc_map_get(&m, keys[i], &v), i % 2 == 1);
	rc_map_reserve(&m, 10); /* smaller: nothing changes */
	assert_int_equal(m.cap, cap);
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

/* Every occurrence of every secret goes, the longest first where two
 * start at one place; empty and NULL secrets are ignored. */
static void test_redact(void **state)
{
	const char *secrets[] = { "4829", "482913", "", NULL, "tok-9" };
	char *r;

	(void)state;
	r = rc_redact("code 482913 taken; 4829 too; tok-9/tok-9", secrets, 5);
	assert_string_equal(r, "code [redacted] taken; [redacted] too; [redacted]/[redacted]");
	free(r);
	r = rc_redact("nothing here", secrets, 5);
	assert_string_equal(r, "nothing here");
	free(r);
	{
		const char *ov[] = { "4821", "8213", "Ana Maria", "Maria Lopes" };

		r = rc_redact("x48213y Ana Maria Lopes.", ov, 4);   /* overlapping secrets */
		assert_string_equal(r, "x[redacted]y [redacted].");
		free(r);
	}
	r = rc_redact("482913", NULL, 0);
	assert_string_equal(r, "482913");
	free(r);
}

static void test_utf8_scrub(void **state)
{
	char ok[] = "Ol\xc3\xa1 \xe2\x9c\x93 \xf0\x9f\x98\x80";   /* Olá ✓ 😀 */
	char bad[] = "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x9c";
	char copy[sizeof(ok)];

	(void)state;
	memcpy(copy, ok, sizeof(ok));
	rc_utf8_scrub(ok);
	assert_string_equal(ok, copy);                  /* valid text is left alone */
	rc_utf8_scrub(bad);   /* 0xff, overlong, surrogate, cut at the end */
	assert_string_equal(bad, "a?b??c???d??");
}

/* A vendor message cut by the error buffer in the middle of a character
 * still makes a JSON string (logs, plans and reports use jansson). */
static void test_error_cut_mid_character_is_valid_json(void **state)
{
	char text[RC_ERR_MSG_LEN + 8];
	struct rc_err err;
	json_t *j;

	(void)state;
	memset(text, 'a', RC_ERR_MSG_LEN - 2);
	memcpy(text + RC_ERR_MSG_LEN - 2, "\xc3\xa9\xc3\xa9", 5);
	rc_errf(&err, RC_EHTTP, "%s", text);
	j = json_pack("{s:s}", "msg", err.msg);
	assert_non_null(j);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_put_get),
		cmocka_unit_test(test_map_del),
		cmocka_unit_test(test_map_reserve),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_arena_strdup),
		cmocka_unit_test(test_utf8_scrub),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_error_cut_mid_character_is_valid_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
