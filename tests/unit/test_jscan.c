/* test_jscan.c: core/jscan.c, the structural scanner snapshot files are
 * streamed through (tiny buffers, so that values cross the buffer's end). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jscan.h"

/* A temp file holding text, open for reading at offset 0. */
static int text_fd(const char *text)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/test_jscan.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* "key=elem|elem;key=value;" for {"key":[elem,...], "key": value}: every
 * member's array walked, other values whole; "ERR@offset" on an error. */
static char *walk(const char *text, size_t chunk)
{
	struct jscan s;
	struct jscan_span k, v;
	struct rc_err err = { 0 };
	struct rc_buf out;
	size_t i = 0, j;
	int fd = text_fd(text), c, r;

	rc_buf_init(&out);
	rc_buf_add(&out, "", 0);
	jscan_init(&s, fd, chunk);
	if (jscan_open(&s, '{', &err))
		goto fail;
	while ((r = jscan_member(&s, &i, &k, &err)) == 1) {
		rc_buf_add(&out, k.p, k.len);
		rc_buf_puts(&out, "=");
		if (jscan_peek(&s, &c, &err))
			goto fail;
		if (c != '[') {
			if (jscan_value(&s, &v, &err))
				goto fail;
			rc_buf_add(&out, v.p, v.len);
		} else {
			if (jscan_open(&s, '[', &err))
				goto fail;
			j = 0;
			while ((r = jscan_element(&s, &j, &v, &err)) == 1) {
				if (j > 1)
					rc_buf_puts(&out, "|");
				rc_buf_add(&out, v.p, v.len);
				/* the span's offset is the value's place in the text */
				assert_memory_equal(text + v.off, v.p, v.len);
			}
			if (r < 0)
				goto fail;
		}
		rc_buf_puts(&out, ";");
	}
	if (r < 0 || jscan_finish(&s, &err))
		goto fail;
	goto out;
fail:
	rc_buf_printf(&out, "ERR@%llu:%s", (unsigned long long)jscan_err_offset(&s), err.msg);
out:
	jscan_free(&s);
	close(fd);
	return rc_buf_steal(&out);
}

static void check(const char *text, size_t chunk, const char *want)
{
	char *got = walk(text, chunk);

	assert_string_equal(got, want);
	free(got);
}

static void test_elements_split_across_buffer_ends(void **state)
{
	const char *text = "{\"units\":[{\"id\":\"u1\",\"n\":[1,2,{\"x\":null}]},{\"id\":\"u2\"},"
			   "12.5e3,true,null,\"s\"]}";
	const char *want = "\"units\"={\"id\":\"u1\",\"n\":[1,2,{\"x\":null}]}|{\"id\":\"u2\"}|"
			   "12.5e3|true|null|\"s\";";
	size_t chunk;

	(void)state;
	for (chunk = 1; chunk <= 64; chunk++)
		check(text, chunk, want);
	check(text, 0, want);
}

static void test_strings_with_brackets_and_escaped_quotes(void **state)
{
	(void)state;
	check("{\"a\":[\"]}\",\"{[\",\"x\\\"]\",{\"k\\\\\":\"}\\\\\"},\"\\\\\"]}", 3,
	      "\"a\"=\"]}\"|\"{[\"|\"x\\\"]\"|{\"k\\\\\":\"}\\\\\"}|\"\\\\\";");
	check("{\"we\\\"ird}\":{\"b\":\"]\"}}", 2, "\"we\\\"ird}\"={\"b\":\"]\"};");
}

static void test_whitespace_and_empty_arrays(void **state)
{
	(void)state;
	check(" \n\t{ \"a\" :\r\n [ ] , \"b\":[\n{ } ,\n [ ]\n] ,\"c\" : 7 }\n\n", 4,
	      "\"a\"=;\"b\"={ }|[ ];\"c\"=7;");
	check("{}", 1, "");
}

static void test_truncated_input(void **state)
{
	(void)state;
	check("{\"a\":[{\"id\":\"u1\"},{\"id\":\"u", 4,
	      "\"a\"={\"id\":\"u1\"}ERR@26:the text ends inside a value (a truncated file?)");
	check("{\"a\":[{\"id\":\"u1\"}", 4, "\"a\"={\"id\":\"u1\"}ERR@17:the text ends early (a truncated file?)");
	check("{\"a\":[1,2]", 4, "\"a\"=1|2;ERR@10:the text ends early (a truncated file?)");
	check("{\"a\":", 4, "\"a\"=ERR@5:expected a value: the text ends (a truncated file?)");
	check("{\"a\":[1,", 4, "\"a\"=1ERR@8:expected a value: the text ends (a truncated file?)");
}

static void test_garbage(void **state)
{
	(void)state;
	check("{\"a\":[1 2]}", 4, "\"a\"=1ERR@8:expected ',' or ']'");
	check("{\"a\":[1,]}", 4, "\"a\"=1ERR@8:a ',' before the end");
	check("{\"a\":[@]}", 4, "\"a\"=ERR@6:expected a value");
	check("{\"a\":[] \"b\":[]}", 4, "\"a\"=;ERR@8:expected ',' or '}'");
	check("{\"a\" [] }", 4, "ERR@5:expected ':' after the key");
	check("{a:[]}", 4, "ERR@1:expected a key (a string)");
	check("{\"a\":[]} x", 4, "\"a\"=;ERR@9:bytes after the end of the JSON text");
	check("[]", 4, "ERR@0:expected an object");
	check("", 4, "ERR@0:expected an object");
}

/* A value larger than the buffer grows it; going back to an offset seen
 * reads from there. */
static void test_large_value_and_seek(void **state)
{
	struct rc_buf t;
	struct jscan s;
	struct jscan_span v;
	struct rc_err err = { 0 };
	size_t i = 0, n;
	uint64_t at;
	int fd;

	(void)state;
	rc_buf_init(&t);
	rc_buf_puts(&t, "[\"");
	for (n = 0; n < 10000; n++)
		rc_buf_puts(&t, "x");
	rc_buf_puts(&t, "\", 5]");
	fd = text_fd(t.p);
	jscan_init(&s, fd, 16);
	assert_int_equal(jscan_open(&s, '[', &err), 0);
	at = jscan_offset(&s);
	assert_int_equal(jscan_element(&s, &i, &v, &err), 1);
	assert_int_equal(v.len, 10002);
	assert_int_equal(v.off, 1);
	assert_int_equal(jscan_element(&s, &i, &v, &err), 1);
	assert_int_equal(v.len, 1);
	assert_int_equal(v.p[0], '5');
	assert_int_equal(jscan_seek(&s, at, &err), 0);
	i = 0;
	assert_int_equal(jscan_element(&s, &i, &v, &err), 1);
	assert_int_equal(v.len, 10002);
	assert_int_equal(jscan_element(&s, &i, &v, &err), 1);
	assert_int_equal(jscan_element(&s, &i, &v, &err), 0);
	assert_int_equal(jscan_finish(&s, &err), 0);
	jscan_free(&s);
	close(fd);
	rc_buf_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elements_split_across_buffer_ends),
		cmocka_unit_test(test_strings_with_brackets_and_escaped_quotes),
		cmocka_unit_test(test_whitespace_and_empty_arrays),
		cmocka_unit_test(test_truncated_input),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_large_value_and_seek),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
