/*
 * test_cli.c: what the commands decide before any work: colour (a
 * terminal, --no-color, NO_COLOR as no-color.org says: only a non-empty
 * value), and a bad option value named in the error, not only usage.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "reconciler/cli.h"

static void test_color_only_on_a_terminal_and_a_non_empty_no_color(void **state)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY), tty, null;

	(void)state;
	if (m < 0 || grantpt(m) || unlockpt(m)) {
		skip(); /* no pseudo-terminals here */
		return;
	}
	tty = open(ptsname(m), O_RDWR | O_NOCTTY);
	assert_true(tty >= 0);
	setenv("TERM", "xterm", 1);
	unsetenv("NO_COLOR");
	assert_true(cli_color(tty, false));
	assert_false(cli_color(tty, true));          /* --no-color */
	setenv("NO_COLOR", "", 1);                    /* empty: no effect */
	assert_true(cli_color(tty, false));
	setenv("NO_COLOR", "1", 1);
	assert_false(cli_color(tty, false));
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1);
	assert_false(cli_color(tty, false));
	null = open("/dev/null", O_WRONLY);
	assert_false(cli_color(null, false));        /* not a terminal */
	close(null);
	close(tty);
	close(m);
}

/* stderr of fn(argc, argv), and its exit code. */
static int run_captured(int (*fn)(int, char **), int argc, char **argv, char *out, size_t n)
{
	const char *tmp = getenv("TMPDIR");
	char buf[512];
	int fd, saved, rc;
	ssize_t got;

	snprintf(buf, sizeof(buf), "%s/reconcile-cli-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(buf);
	assert_true(fd >= 0);
	unlink(buf);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	optind = 0; /* getopt_long starts afresh */
	rc = fn(argc, argv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	got = pread(fd, out, n - 1, 0);
	out[got > 0 ? got : 0] = '\0';
	close(fd);
	return rc;
}

static void test_bad_log_format_is_named(void **state)
{
	char *argv[] = { "serve", "-c", "spec.json", "--log-format", "xml", NULL };
	char err[4096];

	(void)state;
	assert_int_equal(run_captured(cmd_serve, 5, argv, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "--log-format takes json or text"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_color_only_on_a_terminal_and_a_non_empty_no_color),
		cmocka_unit_test(test_bad_log_format_is_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
