/*
 * e2e_files.c: the files reconcile reads and writes, with the real
 * binaries (issue 13 item 2, issue 14 item 2).
 *
 *  - plan --json --out: both outputs are written as the plan is produced;
 *    they parse, hold the same plan, and the saved one applies;
 *  - reads: a spec, a secret file, a saved plan or hash.key that is not a
 *    regular file (/dev/zero, a FIFO, a directory) or is too large is
 *    refused at once, naming the path (and the cap);
 *  - writes: --out refuses a target that exists and is not a regular file
 *    (a directory, a FIFO, a link to /dev/null) and leaves it as it was.
 *
 * Seed tests/e2e/data/basic.json: site1 (OpenTech P1), rentals r1 (U1, code
 * 482913), r2 (U2, no code), r3 (U3, overdue, code 590137).
 *
 * Runs that could hang or grow without end on a regression (a FIFO
 * opened for reading, /dev/zero read whole) are bounded: killed after
 * 30 s, and (outside sanitizer builds) with their data capped at 1 GiB.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/common.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define FILES_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FILES_SANITIZER 1
#endif
#endif

#define BOUND_S 30

static const char *const SITES[][3] = { { "site1", "site1", "P1" } };

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	e2e_start(t, "tests/e2e/data/basic.json", SITES, 1);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}

static char *slurp(const char *path)
{
	struct rc_err err;
	char *s = NULL;

	if (rc_read_file(path, &s, NULL, &err))
		return rc_strdup("");
	return s;
}

/* Wait for pid at most BOUND_S seconds: its exit status, or -1 when a
 * signal ended it (SIGKILL from here when it ran too long). */
static int wait_bounded(pid_t pid)
{
	struct pollfd pfd = { .events = POLLIN };
	int st = 0;

	pfd.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd.fd >= 0) {
		if (poll(&pfd, 1, BOUND_S * 1000) == 0) {
			fprintf(stderr, "reconcile did not end within %d s: killed\n", BOUND_S);
			kill(pid, SIGKILL);
		}
		close(pfd.fd);
	}
	if (e2e_waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* e2e_reconcile, bounded in time and (outside sanitizer builds, whose
 * shadow memory a cap would refuse) in data. */
static struct run run_bounded(struct e2e *t, const char *const *args)
{
	struct run r = { -1, NULL, NULL };
	struct rlimit old;
	char path[320];
	pid_t pid;

	assert_int_equal(getrlimit(RLIMIT_DATA, &old), 0);
#ifndef FILES_SANITIZER
	{
		struct rlimit cap = old;

		if (cap.rlim_max == RLIM_INFINITY || cap.rlim_max > ((rlim_t)1 << 30))
			cap.rlim_cur = (rlim_t)1 << 30;
		assert_int_equal(setrlimit(RLIMIT_DATA, &cap), 0);
	}
#endif
	pid = e2e_reconcile_bg(t, args);
	assert_int_equal(setrlimit(RLIMIT_DATA, &old), 0);
	assert_true(pid > 0);
	r.status = wait_bounded(pid);
	snprintf(path, sizeof(path), "%s/bg.out", t->dir);
	r.out = slurp(path);
	snprintf(path, sizeof(path), "%s/bg.err", t->dir);
	r.err = slurp(path);
	return r;
}

/* The run failed (exit 1) saying each of the NULL-terminated needles. */
static void refused(struct run *r, ...)
{
	const char *needle;
	va_list ap;

	va_start(ap, r);
	if (r->status != 1)
		fprintf(stderr, "exit %d, stderr: %s\n", r->status, r->err);
	assert_int_equal(r->status, 1);
	while ((needle = va_arg(ap, const char *))) {
		if (!strstr(r->err, needle))
			fprintf(stderr, "stderr lacks \"%s\": %s\n", needle, r->err);
		assert_non_null(strstr(r->err, needle));
	}
	va_end(ap);
	run_free(r);
}

/* A copy of the test's spec as name in its dir, with from replaced by to. */
static void spec_variant(struct e2e *t, const char *name, const char *from, const char *to,
			 char *path, size_t len)
{
	struct rc_buf b;
	char *text = slurp(t->spec), *at = strstr(text, from);

	assert_non_null(at);
	rc_buf_init(&b);
	rc_buf_add(&b, text, (size_t)(at - text));
	rc_buf_puts(&b, to);
	rc_buf_puts(&b, at + strlen(from));
	snprintf(path, len, "%s/%s", t->dir, name);
	assert_int_equal(rc_write_file(path, b.p, b.len, NULL), 0);
	rc_buf_free(&b);
	free(text);
}

static mode_t type_of(const char *path, bool follow)
{
	struct stat st;

	assert_int_equal(follow ? stat(path, &st) : lstat(path, &st), 0);
	return st.st_mode & S_IFMT;
}

/* plan --json --out: stdout and the saved plan are the same plan (one
 * tree each when parsed), in their key orders, with no code in either;
 * the saved plan is 0600 and applies exactly. */
static void test_plan_json_out_streamed(void **state)
{
	struct e2e *t = *state;
	char planf[320];
	const char *pargs[] = { "plan", "-c", t->spec, "--json", "--out", planf, NULL };
	const char *aargs[] = { "apply", "-c", t->spec, planf, NULL };
	json_t *out, *saved, *sum;
	json_error_t je;
	struct stat st;
	struct run r;
	char *text;

	snprintf(planf, sizeof(planf), "%s/streamed.plan", t->dir);
	json_decref(sim_post(t, "/_sim/reset", NULL));
	r = e2e_reconcile(t, pargs);
	assert_int_equal(r.status, 0);
	out = json_loads(r.out, 0, &je);
	if (!out)
		fprintf(stderr, "stdout is not JSON: %s (line %d)\n", je.text, je.line);
	assert_non_null(out);
	assert_non_null(strstr(r.err, "Saved the plan to:"));
	/* one line each, Terraform's members first */
	assert_true(strncmp(r.out, "{\"format_version\":\"1.2\",", 24) == 0);
	assert_true(strchr(r.out, '\n') == r.out + strlen(r.out) - 1); /* then a newline */
	text = slurp(planf);
	assert_true(strncmp(text, "{\"format_version\":\"1.2\",", 24) == 0);
	saved = json_loads(text, 0, &je);
	assert_non_null(saved);
	assert_true(json_equal(out, saved));
	assert_null(strstr(r.out, "482913"));
	assert_null(strstr(text, "482913"));
	assert_null(strstr(text, "590137"));
	/* what basic.json calls for: U1, U2 rented (U2's code generated and
	 * written back first), U3 overdue */
	sum = json_object_get(saved, "reconcile_summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "operations")),
			 json_array_size(json_object_get(saved, "reconcile_operations")));
	assert_int_equal(json_array_size(json_object_get(saved, "reconcile_sites")), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(saved, "reconcile_sites"), 0), "name")), "site1");
	assert_true(plan_ops(saved, "tenant.create") >= 2);
	assert_int_equal(plan_ops(saved, "pms.write") >= 1, 1);
	assert_true(json_array_size(json_object_get(saved, "resource_changes")) >= 3);
	assert_int_equal(json_integer_value(json_object_get(sum, "add")) +
			 json_integer_value(json_object_get(sum, "change")) +
			 json_integer_value(json_object_get(sum, "destroy")) > 0, 1);
	assert_int_equal(stat(planf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(text);
	json_decref(out);
	json_decref(saved);
	run_free(&r);
	r = e2e_reconcile(t, aargs);
	if (r.status)
		fprintf(stderr, "apply of the saved plan: %s\n%s\n", r.out, r.err);
	assert_int_equal(r.status, 0);
	run_free(&r);
	assert_int_equal(sim_tenants_on(t, "U1"), 1);
	assert_int_equal(e2e_plan_exit(t), 0);
}

/* An endless file as the spec is refused at once, by validate and plan. */
static void test_endless_spec_refused(void **state)
{
	struct e2e *t = *state;
	const char *vargs[] = { "validate", "-c", "/dev/zero", NULL };
	const char *pargs[] = { "plan", "-c", "/dev/zero", NULL };
	struct run r;

	r = run_bounded(t, vargs);
	refused(&r, "/dev/zero", "a character device, not a regular file", NULL);
	r = run_bounded(t, pargs);
	refused(&r, "/dev/zero", "not a regular file", NULL);
}

/* A spec over 16 MiB is refused with its size and the cap; so is a
 * directory given as the spec. */
static void test_oversized_spec_refused(void **state)
{
	struct e2e *t = *state;
	char big[320];
	const char *vargs[] = { "validate", "-c", big, NULL };
	const char *dargs[] = { "validate", "-c", t->dir, NULL };
	struct run r;
	int fd;

	snprintf(big, sizeof(big), "%s/big.json", t->dir);
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 17000000), 0); /* sparse: no disk used */
	close(fd);
	r = run_bounded(t, vargs);
	refused(&r, "big.json: 17000000 bytes, more than the 16 MiB a spec may have", NULL);
	unlink(big);
	r = run_bounded(t, dargs);
	refused(&r, "a directory, not a regular file (a spec must be one)", NULL);
}

/* A FIFO as a *_file credential is refused without waiting for a
 * writer: validate warns, plan fails the site naming the file. */
static void test_fifo_secret_refused(void **state)
{
	struct e2e *t = *state;
	char spec[320], fifo[320];
	const char *vargs[] = { "validate", "-c", spec, NULL };
	const char *pargs[] = { "plan", "-c", spec, NULL };
	struct run r;

	snprintf(fifo, sizeof(fifo), "%s/ot_key.fifo", t->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	spec_variant(t, "spec_fifo.json", "\"api_key_env\":\"E2E_OT_API_KEY\"",
		     "\"api_key_file\":\"ot_key.fifo\"", spec, sizeof(spec));
	r = run_bounded(t, vargs);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "ot_key.fifo: a FIFO, not a regular file"));
	run_free(&r);
	r = run_bounded(t, pargs);
	refused(&r, "ot_key.fifo: a FIFO, not a regular file (a secret file must be one)", NULL);
	assert_int_equal(type_of(fifo, false), S_IFIFO);
	unlink(fifo);
}

/* A saved plan that is a device or a directory, and a hash.key that is a
 * FIFO, are refused at once. */
static void test_saved_plan_and_hash_key_not_regular(void **state)
{
	struct e2e *t = *state;
	char spec[320], key[320];
	const char *zargs[] = { "apply", "-c", t->spec, "/dev/zero", NULL };
	const char *dargs[] = { "apply", "-c", t->spec, t->dir, NULL };
	const char *pargs[] = { "plan", "-c", spec, NULL };
	struct run r;

	r = run_bounded(t, zargs);
	refused(&r, "/dev/zero: a character device, not a regular file (a saved plan must be one)",
		NULL);
	r = run_bounded(t, dargs);
	refused(&r, "a directory, not a regular file (a saved plan must be one)", NULL);
	spec_variant(t, "spec_key.json", "\"state_dir\":\"state\"", "\"state_dir\":\"state_key\"",
		     spec, sizeof(spec));
	r = run_bounded(t, pargs); /* a sound state first: the key is then what is wrong */
	assert_int_equal(r.status, 0);
	run_free(&r);
	snprintf(key, sizeof(key), "%s/state_key/hash.key", t->dir);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(mkfifo(key, 0600), 0);
	r = run_bounded(t, pargs);
	refused(&r, "hash.key: a FIFO, not a regular file (a hash key must be one)", NULL);
}

/* --out refuses a directory, a FIFO and a link to a device, before the
 * plan is made, and leaves each as it was; a regular file is replaced
 * (0600). /dev/null itself is never named: a regression would rename
 * over the link, not over the device. */
static void test_out_targets_refused(void **state)
{
	struct e2e *t = *state;
	char target[320];
	const char *pargs[] = { "plan", "-c", t->spec, "--out", target, NULL };
	const char *rargs[] = { "report", "-c", t->spec, "--out", target, NULL };
	struct stat st;
	struct run r;
	glob_t g;

	assert_int_equal(type_of("/dev/null", true), S_IFCHR);
	snprintf(target, sizeof(target), "%s/outdir", t->dir);
	assert_int_equal(mkdir(target, 0700), 0);
	r = run_bounded(t, pargs);
	refused(&r, "outdir: a directory, not a regular file: refusing to write over it", NULL);
	assert_int_equal(type_of(target, false), S_IFDIR);
	r = run_bounded(t, rargs);
	refused(&r, "outdir: a directory, not a regular file", NULL);

	snprintf(target, sizeof(target), "%s/out.fifo", t->dir);
	assert_int_equal(mkfifo(target, 0600), 0);
	r = run_bounded(t, pargs);
	refused(&r, "out.fifo: a FIFO, not a regular file: refusing to write over it", NULL);
	assert_int_equal(type_of(target, false), S_IFIFO);
	r = run_bounded(t, rargs);
	refused(&r, "out.fifo: a FIFO, not a regular file", NULL);
	assert_int_equal(type_of(target, false), S_IFIFO);

	snprintf(target, sizeof(target), "%s/null.link", t->dir);
	assert_int_equal(symlink("/dev/null", target), 0);
	r = run_bounded(t, pargs);
	refused(&r, "null.link: a character device, not a regular file", NULL);
	assert_int_equal(type_of(target, false), S_IFLNK);
	assert_int_equal(type_of("/dev/null", true), S_IFCHR);

	/* a regular file is replaced, 0600 as before, no temp file left */
	snprintf(target, sizeof(target), "%s/old.plan", t->dir);
	assert_int_equal(rc_write_file(target, "old", 3, NULL), 0);
	assert_int_equal(chmod(target, 0644), 0);
	r = run_bounded(t, pargs);
	assert_int_equal(r.status, 0);
	run_free(&r);
	assert_int_equal(stat(target, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_size > 100);
	snprintf(target, sizeof(target), "%s/*.tmp.*", t->dir);
	assert_int_equal(glob(target, 0, NULL, &g), GLOB_NOMATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_json_out_streamed),
		cmocka_unit_test(test_endless_spec_refused),
		cmocka_unit_test(test_oversized_spec_refused),
		cmocka_unit_test(test_fifo_secret_refused),
		cmocka_unit_test(test_saved_plan_and_hash_key_not_regular),
		cmocka_unit_test(test_out_targets_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
