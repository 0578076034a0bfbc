/*
 * e2e_progress.c: the progress of a refresh (plan, apply, report read the
 * PMS and every site's vendor first), off a terminal and on one.
 *
 * Seed tests/e2e/data/two_sites.json (two OpenTech sites); every request
 * to the simulated PMS and OpenTech waits LATENCY_MS, so that a refresh
 * lasts well over the progress interval, which RECONCILE_PROGRESS_INTERVAL
 * makes short (the default is 5 s).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"
#include "core/common.h"

#define LATENCY_MS 100

static const char *const TWO[][3] = { { "site1", "site1", "P1" }, { "site2", "site2", "P2" } };

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	e2e_start(t, "tests/e2e/data/two_sites.json", TWO, 2);
	json_decref(sim_post(t, "/_sim/settings", json_pack("{s:{s:i}, s:{s:i}}",
		"storeganise", "latency_ms", LATENCY_MS, "opentech", "latency_ms", LATENCY_MS)));
	setenv("RECONCILE_PROGRESS_INTERVAL", "0.2", 1);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	unsetenv("RECONCILE_PROGRESS_INTERVAL");
	e2e_stop(*state);
	free(*state);
	return 0;
}

/* Does text hold a match of the extended regular expression re? */
static bool matches(const char *text, const char *re)
{
	regex_t rx;
	bool found;

	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	found = regexec(&rx, text, 0, NULL, 0) == 0;
	regfree(&rx);
	if (!found)
		fprintf(stderr, "no match of /%s/ in:\n%s\n", re, text);
	return found;
}

/* The figures of a refresh of the two sites: count of total, records read,
 * their rate, the time left; then the last line with the time taken. */
#define RE_DURING "^reconcile: refreshing: 1 of 2 sites, [1-9][0-9]* records read, " \
	"[0-9.]+ records/s, less than a minute left$"
#define RE_LAST "^reconcile: refreshed: 2 of 2 sites, [1-9][0-9]* records read in " \
	"[0-9]+\\.[0-9] s \\([0-9.]+ records/s\\)$"

static void test_plan_off_a_terminal_prints_lines_with_the_figures(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "plan", "-c", t->spec, NULL };
	struct run r = e2e_reconcile(t, args);

	assert_int_equal(r.status, 0);
	assert_true(matches(r.err, "^reconcile: refreshing: 0 of 2 sites, [1-9][0-9]* records read, "
			    "[0-9.]+ records/s$")); /* the PMS read, no site yet */
	assert_true(matches(r.err, RE_DURING));
	assert_true(matches(r.err, RE_LAST));
	assert_null(strchr(r.err, '\r')); /* lines, never a line updated in place */
	assert_null(strchr(r.err, '\033'));
	assert_non_null(strstr(r.out, "Plan:")); /* stdout keeps the plan alone */
	assert_null(strstr(r.out, "refresh"));
	run_free(&r);
}

static void test_quiet_prints_none(void **state)
{
	struct e2e *t = *state;
	const char *plan[] = { "plan", "-c", t->spec, "--quiet", NULL };
	const char *report[] = { "report", "-c", t->spec, "-q", NULL };
	struct run r = e2e_reconcile(t, plan);

	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "refresh"));
	run_free(&r);
	r = e2e_reconcile(t, report);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "refresh"));
	run_free(&r);
}

/* Without the test's interval (5 s), a refresh of a second or two shows
 * its last line only: a log gets a line every few seconds, not a flood. */
static void test_the_default_interval_is_seconds(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "plan", "-c", t->spec, NULL };
	struct run r;

	unsetenv("RECONCILE_PROGRESS_INTERVAL");
	r = e2e_reconcile(t, args);
	setenv("RECONCILE_PROGRESS_INTERVAL", "0.2", 1);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "refreshing:"));
	assert_true(matches(r.err, RE_LAST));
	run_free(&r);
}

static void test_report_and_apply_show_their_refresh(void **state)
{
	struct e2e *t = *state;
	const char *report[] = { "report", "-c", t->spec, NULL };
	const char *apply[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	struct run r = e2e_reconcile(t, report);

	assert_int_equal(r.status, 0);
	assert_true(matches(r.err, RE_DURING));
	assert_true(matches(r.err, RE_LAST));
	run_free(&r);
	r = e2e_reconcile(t, apply);
	assert_int_equal(r.status, 0);
	assert_true(matches(r.err, RE_DURING));
	assert_true(matches(r.err, RE_LAST));
	assert_true(matches(r.err, "^reconcile: applied: [0-9]+ of [0-9]+ operations in "));
	run_free(&r);
}

/* reconcile args with stderr on a pseudo-terminal (raw: bytes as written);
 * what it wrote there (new). */
static char *run_on_a_terminal(struct e2e *t, const char *const *args)
{
	const char *argv[16] = { getenv("RECONCILE_BIN") ? getenv("RECONCILE_BIN") : "build/reconcile" };
	char out[320], buf[4096];
	struct termios tio;
	struct rc_buf b;
	int master, slave, st = 0, i;
	bool done = false;
	pid_t pid;

	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(slave >= 0);
	assert_int_equal(tcgetattr(slave, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
	snprintf(out, sizeof(out), "%s/tty.out", t->dir);
	pid = e2e_spawn_argv(argv, t->dir, out, ptsname(master));
	rc_buf_init(&b);
	while (!done) { /* read as it writes: a full terminal would block it */
		struct pollfd p = { master, POLLIN, 0 };
		ssize_t n;

		done = e2e_waitpid(pid, &st, WNOHANG) == pid;
		(void)poll(&p, 1, done ? 0 : 100);
		for (;;) {
			n = read(master, buf, sizeof(buf));
			if (n <= 0)
				break;
			rc_buf_add(&b, buf, (size_t)n);
		}
	}
	close(slave);
	close(master);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	rc_buf_add(&b, "", 1);
	if (getenv("E2E_VERBOSE"))
		fprintf(stderr, "--- stderr on a terminal\n%s\n", b.p);
	return b.p;
}

static void test_plan_on_a_terminal_updates_one_line(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "plan", "-c", t->spec, NULL };
	const char *quiet[] = { "plan", "-c", t->spec, "-q", NULL };
	char *tty = run_on_a_terminal(t, args);

	/* each figure overwrites the line before it ... */
	assert_non_null(strstr(tty, "\r\033[Kreconcile: refreshing: 1 of 2 sites, "));
	/* ... a log line goes above it, and it is drawn again below ... */
	assert_true(matches(tty, "reconcile: site site[12]: reading [A-Za-z]+\\.\\.\\.\n"
			    "reconcile: refreshing: [01] of 2 sites"));
	/* ... and the last one stays, on a line of its own */
	assert_true(matches(tty, "\033\\[Kreconcile: refreshed: 2 of 2 sites, [0-9]+ records read in "
			    "[0-9.]+ s \\([0-9.]+ records/s\\)$"));
	free(tty);
	tty = run_on_a_terminal(t, quiet);
	assert_null(strstr(tty, "refresh"));
	assert_non_null(strstr(tty, "reading")); /* the log lines stay */
	free(tty);
}


/* Two OpenTech requests of the log whose [arrival, answer] overlap: two
 * sites were read at once (one site reads one list after another). */
static bool vendor_reads_overlap(json_t *reqs)
{
	json_t *a, *b;
	size_t i, k;

	json_array_foreach(reqs, i, a) {
		if (!strstr(json_string_value(json_object_get(a, "path")) ?: "", "/opentech/"))
			continue;
		json_array_foreach(reqs, k, b) {
			if (k <= i || !strstr(json_string_value(json_object_get(b, "path")) ?: "",
					      "/opentech/"))
				continue;
			if (json_real_value(json_object_get(b, "at")) <
				    json_real_value(json_object_get(a, "answered")) &&
			    json_real_value(json_object_get(a, "at")) <
				    json_real_value(json_object_get(b, "answered")))
				return true;
		}
	}
	return false;
}

/* The sites of a plan are read at once; a long read of one site still
 * prints its progress line every interval. */
static void test_sites_read_at_once_and_a_long_read_is_not_silent(void **state)
{
	struct e2e *t = *state;
	const char *both[] = { "plan", "-c", t->spec, NULL };
	const char *one[] = { "plan", "-c", t->spec, "--site", "site1", NULL };
	const char *p;
	struct run r;
	json_t *reqs;
	int lines = 0;

	sim_clear_requests(t);
	r = e2e_reconcile(t, both);
	assert_int_equal(r.status, 0);
	run_free(&r);
	reqs = sim_requests(t);
	assert_true(vendor_reads_overlap(reqs));
	json_decref(reqs);

	json_decref(sim_post(t, "/_sim/settings", json_pack("{s:{s:i}}", "opentech",
							      "latency_ms", 1200)));
	r = e2e_reconcile(t, one);
	json_decref(sim_post(t, "/_sim/settings", json_pack("{s:{s:i}}", "opentech",
							      "latency_ms", LATENCY_MS)));
	assert_int_equal(r.status, 0);
	/* without a tick: one line after the PMS read, then the last */
	for (p = r.err; (p = strstr(p, "refreshing: 0 of 1 sites, ")); p++)
		lines += p[strlen("refreshing: 0 of 1 sites, ")] != '0';
	if (lines < 3)
		fail_msg("%d progress lines after the PMS read:\n%s", lines, r.err);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_off_a_terminal_prints_lines_with_the_figures),
		cmocka_unit_test(test_quiet_prints_none),
		cmocka_unit_test(test_the_default_interval_is_seconds),
		cmocka_unit_test(test_plan_on_a_terminal_updates_one_line),
		cmocka_unit_test(test_report_and_apply_show_their_refresh),
		cmocka_unit_test(test_sites_read_at_once_and_a_long_read_is_not_silent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
