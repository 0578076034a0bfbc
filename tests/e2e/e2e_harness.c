/*
 * e2e_harness.c: the harness itself. Temp dirs follow $TMPDIR, and the
 * processes a test starts die with it however it ends: a failed cmocka
 * assertion, a normal end without e2e_stop, abort(), a crash, a sanitizer's
 * report, a SIGKILL.
 *
 * The failing test runs in a child: this binary again, run as
 * `e2e_harness --child MODE`. It starts a simulator through the harness,
 * writes "SIM_PID DIR" on fd 3, waits for a byte on stdin, then ends as
 * MODE says. This process is a child subreaper, so a simulator its child
 * left behind would become our child: waitpid() tells which way it died.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *const SITES[][3] = { { "site1", "site1", "P1" } };
#define SEED "tests/e2e/data/basic.json"

static bool keep(void)
{
	const char *v = getenv("E2E_KEEP");

	return v && *v && strcmp(v, "0") != 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ------------------------------------------------------ child side */

static struct e2e child_t;

static void child_start(void)
{
	char go;

	e2e_start(&child_t, SEED, SITES, 1);
	dprintf(3, "%d %s\n", (int)child_t.sim_pid, child_t.dir);
	close(3);
	if (read(STDIN_FILENO, &go, 1) != 1)
		_exit(3);
}

static void child_fails(void **state)
{
	(void)state;
	child_start();
	assert_int_equal(1, 2); /* cmocka longjmps out: no e2e_stop */
}

/* Faults no sanitizer checks for, then ones for ASan and for UBSan. */
static void child_crash(const char *mode)
{
	static char *volatile read_only = (char *)"read-only";
	static int *volatile nowhere;
	char *volatile freed = malloc(4);

	free(freed);
	if (!strcmp(mode, "segv"))
		read_only[0] = 'R';
	if (!strcmp(mode, "asan"))
		freed[0] = 'F';
	if (!strcmp(mode, "ubsan"))
		*nowhere = 1;
}

/* MODE: assert, exit, abort, segv, asan, ubsan, sigkill (the default). */
static int child_main(const char *mode)
{
	const struct CMUnitTest failing[] = { cmocka_unit_test(child_fails) };

	if (!strcmp(mode, "assert"))
		return cmocka_run_group_tests(failing, NULL, NULL);
	child_start();
	if (!strcmp(mode, "abort"))
		abort();
	child_crash(mode);
	if (!strcmp(mode, "exit"))
		return 0;
	for (;;) /* "sigkill": waits for it */
		pause();
}

/* ----------------------------------------------------- parent side */

struct kid {
	pid_t pid;                      /* the child test process */
	pid_t sim;                      /* its simulator */
	unsigned long long sim_start;   /* the simulator's start time */
	char dir[256];                  /* its temp dir */
	int go;                         /* write end of its stdin */
	char tmp[256];                  /* its $TMPDIR, ours to remove */
};

/* State and start time of a process from /proc: 0 when it is gone. */
static char proc_state(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024], *p, state = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			 "%*s %*s %*s %*s %llu", &state, start) != 2)
		return 0;
	return state;
}

/* The simulator no longer runs: no such pid, a zombie, or the pid of
 * another process (a later start time). */
static bool sim_gone(const struct kid *k)
{
	unsigned long long start = 0;
	char st = proc_state(k->sim, &start);

	return st == 0 || st == 'Z' || st == 'X' || start != k->sim_start;
}

/* In the child: stdin from go, fd 3 to info, output to /dev/null (unless
 * E2E_VERBOSE), no core file, dies with us. */
static void kid_exec(const char *mode, const char *tmp, int info[2], int go[2])
{
	struct rlimit nocore = { 0, 0 };
	int null = open("/dev/null", O_WRONLY);

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		_exit(125);
	close(info[0]);
	close(go[1]);
	dup2(go[0], STDIN_FILENO);
	dup2(info[1], 3);
	if (go[0] > 3)
		close(go[0]);
	if (info[1] > 3)
		close(info[1]);
	if (null >= 0 && !getenv("E2E_VERBOSE")) {
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	setrlimit(RLIMIT_CORE, &nocore);
	setenv("TMPDIR", tmp, 1);
	execl("/proc/self/exe", "e2e_harness", "--child", mode, (char *)NULL);
	_exit(127);
}

/* Start a child in its own $TMPDIR; returns when its simulator runs. */
static void kid_start(struct kid *k, const char *mode)
{
	int info[2], go[2], sim = 0;
	FILE *f;

	memset(k, 0, sizeof(*k));
	e2e_mkdtemp(k->tmp, sizeof(k->tmp));
	assert_int_equal(pipe(info), 0);
	assert_int_equal(pipe(go), 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0)
		kid_exec(mode, k->tmp, info, go);
	close(info[1]);
	close(go[0]);
	k->go = go[1];
	f = fdopen(info[0], "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d %255[^\n]", &sim, k->dir), 2);
	fclose(f);
	k->sim = sim;
	assert_true(proc_state(k->sim, &k->sim_start) != 0);
	assert_true(strncmp(k->dir, k->tmp, strlen(k->tmp)) == 0);
}

/* Let the child end as its mode says; its wait status. */
static int kid_go(struct kid *k)
{
	int st = 0;

	assert_int_equal(write(k->go, "g", 1), 1);
	close(k->go);
	assert_int_equal(waitpid(k->pid, &st, 0), k->pid);
	return st;
}

/* The child killed and reaped its simulator before it died (it never
 * became ours), and removed its temp dir. */
static void kid_cleaned_up(struct kid *k)
{
	pid_t r = waitpid(k->sim, NULL, WNOHANG);
	int e = errno;

	assert_int_equal(r, -1);
	assert_int_equal(e, ECHILD);
	assert_true(sim_gone(k));
	if (!keep())
		assert_false(exists(k->dir));
	assert_int_equal(e2e_rmdtemp(k->tmp), 0);
}

static void test_failed_assertion(void **state)
{
	struct kid k;
	int st;

	(void)state;
	kid_start(&k, "assert");
	st = kid_go(&k);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1); /* one test failed */
	kid_cleaned_up(&k);
}

static void test_end_without_stop(void **state)
{
	struct kid k;
	int st;

	(void)state;
	kid_start(&k, "exit");
	st = kid_go(&k);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	kid_cleaned_up(&k);
}

static void test_abort(void **state)
{
	struct kid k;
	int st;

	(void)state;
	kid_start(&k, "abort");
	st = kid_go(&k);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	kid_cleaned_up(&k);
}

/* A crash: SIGSEGV itself, or the sanitizer's report of it and an exit
 * (or SIGABRT under ASAN_OPTIONS=abort_on_error=1, as CI runs). */
static bool crashed(int st)
{
	if (WIFSIGNALED(st))
		return WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGABRT;
	return WEXITSTATUS(st) != 0;
}

static void test_crash(void **state)
{
	struct kid k;
	int st;

	(void)state;
	kid_start(&k, "segv");
	st = kid_go(&k);
	assert_true(crashed(st));
	kid_cleaned_up(&k);
}

/* A report by ASan (use after free), then by UBSan (null pointer), which
 * GCC links as another library: each exits (or aborts) without atexit. */
static void test_sanitizer_report(void **state)
{
	static const char *const modes[] = { "asan", "ubsan" };
	struct kid k;
	size_t i;
	int st;

	(void)state;
#if !defined(__SANITIZE_ADDRESS__)
	skip(); /* without sanitizers, these are plain undefined behaviour */
#endif
	for (i = 0; i < 2; i++) {
		kid_start(&k, modes[i]);
		st = kid_go(&k);
		assert_true(crashed(st) && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV));
		kid_cleaned_up(&k);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Nothing runs in a SIGKILLed process: PR_SET_PDEATHSIG kills the
 * simulator, which was then handed to us (the subreaper) to reap. */
static void test_sigkill(void **state)
{
	double deadline = now() + 20;
	int st = 0, kst = 0;
	pid_t r = 0;
	struct kid k;

	(void)state;
	kid_start(&k, "sigkill");
	assert_int_equal(kill(k.pid, SIGKILL), 0);
	assert_int_equal(waitpid(k.pid, &kst, 0), k.pid);
	assert_true(WIFSIGNALED(kst) && WTERMSIG(kst) == SIGKILL);
	close(k.go);
	for (;;) {
		r = waitpid(k.sim, &st, WNOHANG);
		if (r != 0 || now() > deadline)
			break;
		usleep(2000);
	}
	assert_int_equal(r, k.sim);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_true(sim_gone(&k));
	assert_int_equal(e2e_rmdtemp(k.tmp), 0); /* the child's dir with it */
}

/* ------------------------------------------------------ in process */

static char *saved_tmpdir;

static int restore_tmpdir(void **state)
{
	(void)state;
	if (saved_tmpdir)
		setenv("TMPDIR", saved_tmpdir, 1);
	else
		unsetenv("TMPDIR");
	return 0;
}

static void test_tmpdir_default(void **state)
{
	(void)state;
	unsetenv("TMPDIR");
	assert_string_equal(e2e_tmpdir(), "/tmp");
	setenv("TMPDIR", "", 1);
	assert_string_equal(e2e_tmpdir(), "/tmp");
	setenv("TMPDIR", "/var/tmp/x", 1);
	assert_string_equal(e2e_tmpdir(), "/var/tmp/x");
}

static void test_dirs_under_TMPDIR(void **state)
{
	char mine[256], want[300], dir[256];
	struct e2e t;

	(void)state;
	e2e_mkdtemp(mine, sizeof(mine));
	setenv("TMPDIR", mine, 1);
	e2e_start(&t, SEED, SITES, 1);
	snprintf(want, sizeof(want), "%s/reconcile-e2e-", mine);
	assert_true(strncmp(t.dir, want, strlen(want)) == 0);
	assert_true(exists(t.spec));
	snprintf(dir, sizeof(dir), "%s", t.dir);
	e2e_stop(&t);
	assert_true(exists(dir) == keep());
	assert_int_equal(e2e_rmdtemp(mine), 0);
	assert_true(exists(mine) == keep());
}

/* A child reaped by the test itself is forgotten, never killed later. */
static void test_reaped_children_are_forgotten(void **state)
{
	const char *version[] = { "--version", NULL };
	struct e2e t;
	pid_t pid;
	int st;

	(void)state;
	e2e_start(&t, SEED, SITES, 1);
	assert_int_equal(e2e_children(), 1);
	pid = e2e_reconcile_bg(&t, version);
	assert_int_equal(e2e_children(), 2);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(e2e_children(), 1);
	pid = e2e_reconcile_bg(&t, version);
	assert_int_equal(e2e_waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(e2e_children(), 1);
	e2e_stop(&t);
	assert_int_equal(e2e_children(), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_tmpdir_default, restore_tmpdir),
		cmocka_unit_test_teardown(test_dirs_under_TMPDIR, restore_tmpdir),
		cmocka_unit_test(test_reaped_children_are_forgotten),
		cmocka_unit_test(test_failed_assertion),
		cmocka_unit_test(test_end_without_stop),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_sanitizer_report),
		cmocka_unit_test(test_sigkill),
	};

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child_main(argv[2]);
	if (getenv("TMPDIR"))
		saved_tmpdir = strdup(getenv("TMPDIR"));
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		perror("e2e_harness: PR_SET_CHILD_SUBREAPER");
		return 99;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
