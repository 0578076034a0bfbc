/*
 * e2e_hostile.c: a damaged state directory and hostile HTTP clients
 * (issue 14: 1 and 3), against the simulator (seed basic.json).
 *
 *   state: data.mdb cut short, empty beside hash.key, without hash.key:
 *   refused with the file and what to do (never SIGBUS, never a silent
 *   fresh start); --reinit-state moves the files aside; a damaged page
 *   reaches the user with its site and operation, and plan exits 1.
 *   serve: 2,000 slow clients (one header byte a second, from many
 *   loopback addresses) leave /healthz and /metrics answered and are cut;
 *   the per-address limit; bad event ids get 400, wrong methods 405 with
 *   Allow; an apply beside serve names serve as the lock's holder.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "core/common.h"

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

static char *state_file(struct e2e *t, const char *name)
{
	return rc_sprintf("%s/state/%s", t->dir, name);
}

static struct run run_cmd(struct e2e *t, const char *cmd, const char *extra)
{
	const char *args[] = { cmd, "-c", t->spec, extra, NULL, NULL };

	if (!strcmp(cmd, "apply") && !extra)
		args[3] = "--auto-approve";
	else if (!strcmp(cmd, "apply"))
		args[4] = "--auto-approve";
	return e2e_reconcile(t, args);
}

/* plan, report and apply all refuse the state with a message naming the
 * file and --reinit-state (exit 1: never a signal). */
static void assert_refused(struct e2e *t, const char *says)
{
	static const char *const cmds[] = { "plan", "report", "apply" };
	size_t i;

	for (i = 0; i < 3; i++) {
		struct run r = run_cmd(t, cmds[i], NULL);

		if (r.status != 1 || !strstr(r.err, "data.mdb") || !strstr(r.err, says) ||
		    !strstr(r.err, "--reinit-state") || !strstr(r.err, "backup"))
			fail_msg("%s: exit %d, stderr: %s", cmds[i], r.status, r.err);
		run_free(&r);
	}
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_truncated(void **state)
{
	struct e2e_srv *s = *state;
	char *db = state_file(&s->t, "data.mdb");

	assert_int_equal(e2e_converge(&s->t), 0);
	assert_int_equal(truncate(db, file_size(db) / 2), 0);
	assert_refused(&s->t, "cut short");
	free(db);
}

static void test_empty_beside_key(void **state)
{
	struct e2e_srv *s = *state;
	char *db = state_file(&s->t, "data.mdb");

	assert_int_equal(e2e_converge(&s->t), 0);
	assert_int_equal(truncate(db, 0), 0);
	assert_refused(&s->t, "is empty");
	assert_int_equal(file_size(db), 0); /* not made a fresh state */
	free(db);
}

static void test_no_hash_key(void **state)
{
	struct e2e_srv *s = *state;
	char *key = state_file(&s->t, "hash.key");

	assert_int_equal(e2e_converge(&s->t), 0);
	assert_int_equal(unlink(key), 0);
	assert_refused(&s->t, "hash.key is missing");
	assert_int_equal(access(key, F_OK), -1); /* not made anew */
	free(key);
}

/* The names in the state directory that start with prefix. */
static size_t count_named(struct e2e *t, const char *prefix)
{
	char *dir = state_file(t, "");
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	free(dir);
	return n;
}

static void test_reinit_state(void **state)
{
	struct e2e_srv *s = *state;
	char *db = state_file(&s->t, "data.mdb");
	struct run r;
	off_t cut;

	assert_int_equal(e2e_converge(&s->t), 0);
	cut = file_size(db) / 2;
	assert_int_equal(truncate(db, cut), 0);
	r = run_cmd(&s->t, "apply", "--reinit-state");
	if (r.status != 0 || !strstr(r.err, "moved aside"))
		fail_msg("apply --reinit-state: exit %d, stderr: %s", r.status, r.err);
	run_free(&r);
	/* the damaged files are kept, the new state works */
	assert_int_equal(count_named(&s->t, "data.mdb.damaged-"), 1);
	assert_int_equal(count_named(&s->t, "hash.key.damaged-"), 1);
	assert_int_equal(e2e_plan_exit(&s->t), 0);
	/* a sound state is left as it is */
	r = run_cmd(&s->t, "plan", "--reinit-state");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "moved aside"));
	run_free(&r);
	assert_int_equal(count_named(&s->t, "data.mdb.damaged-"), 1);
	free(db);
}

/* The page of data.mdb that holds the first record of database name:
 * LMDB hands out pointers into its map, whose pages start with their
 * number (MDB_page.mp_pgno); the map is page aligned. */
static size_t page_of(struct e2e *t, const char *name, size_t *psize)
{
	char *dir = state_file(t, "");
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_val k, v;
	MDB_stat st;
	size_t pg;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 12), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
	assert_int_equal(mdb_env_stat(env, &st), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
	assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
	memcpy(&pg, (void *)((uintptr_t)k.mv_data & ~(uintptr_t)(st.ms_psize - 1)), sizeof(pg));
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	free(dir);
	*psize = st.ms_psize;
	return pg;
}

/* Zero the page holding database name's first record. */
static void damage(struct e2e *t, const char *name)
{
	char *db = state_file(t, "data.mdb");
	size_t psize, pg = page_of(t, name, &psize);
	char *zero = calloc(1, psize);
	int fd = open(db, O_WRONLY);

	assert_true(fd >= 0);
	assert_true(pg > 1);
	assert_int_equal(pwrite(fd, zero, psize, (off_t)(pg * psize)), (ssize_t)psize);
	close(fd);
	free(zero);
	free(db);
}

static void test_damaged_page(void **state)
{
	struct e2e_srv *s = *state;
	struct run r;

	/* the code index is read and written by apply only: its commit
	 * fails after failed operations, and says so with the site */
	assert_int_equal(e2e_converge(&s->t), 0);
	sim_insert_rental(&s->t, "site1", "r4", "u4", "c4");
	damage(&s->t, "obsidx");
	r = run_cmd(&s->t, "apply", NULL);
	if (r.status != 1 || !strstr(r.err, "site site1: saving the state after apply: ") ||
	    !strstr(r.err, "MDB_CORRUPTED"))
		fail_msg("apply: exit %d, stderr: %s", r.status, r.err);
	run_free(&r);

	/* what plan reads: it exits 1, naming the site and the damage */
	assert_int_equal(e2e_converge(&s->t), 0);
	damage(&s->t, "observed");
	r = run_cmd(&s->t, "plan", NULL);
	if (r.status != 1 || !strstr(r.err, "site1") || !strstr(r.err, "MDB_CORRUPTED"))
		fail_msg("plan: exit %d, stderr: %s", r.status, r.err);
	run_free(&r);
	r = run_cmd(&s->t, "report", NULL); /* the site unreadable: an error, not a finding */
	if (r.status != 1 || !strstr(r.out, "site_unreadable") || !strstr(r.err, "MDB_CORRUPTED"))
		fail_msg("report: exit %d, stdout: %s\nstderr: %s", r.status, r.out, r.err);
	run_free(&r);
	/* --reinit-state reads every record: the damage is found, moved aside */
	r = run_cmd(&s->t, "plan", "--reinit-state");
	if (r.status != 0 || !strstr(r.err, "moved aside"))
		fail_msg("plan --reinit-state: exit %d, stderr: %s", r.status, r.err);
	run_free(&r);
	assert_int_equal(count_named(&s->t, "data.mdb.damaged-"), 1);
}

/* ------------------------------------------------------------ serve */

/* A raw request to serve; the answer's head and body (new). */
static char *raw_http(int port, const char *request)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char buf[4096];
	size_t n = 0;
	ssize_t got;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t)strlen(request));
	while (n < sizeof(buf) - 1 && (got = recv(fd, buf + n, sizeof(buf) - 1 - n, 0)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	close(fd);
	return rc_strdup(buf);
}

static void test_bad_requests(void **state)
{
	struct e2e_srv *s = *state;
	char *ans = NULL, *body, *id = calloc(1, 601);
	struct run r;

	e2e_serve_start(&s->t, &s->pid, &s->port);
	/* event ids that cannot be stored are the sender's error: 400 */
	memset(id, 'e', 600);
	body = rc_sprintf("{\"id\":\"%s\",\"type\":\"unitRental.updated\",\"data\":{}}", id);
	assert_int_equal(e2e_serve_post(s->port, "/webhooks/storeganise", body, SECRET, &ans), 400);
	assert_non_null(strstr(ans, "bad event id"));
	free(ans);
	free(body);
	assert_int_equal(e2e_serve_post(s->port, "/webhooks/storeganise",
		"{\"id\":\"\",\"type\":\"unitRental.updated\",\"data\":{}}", SECRET, &ans), 400);
	assert_non_null(strstr(ans, "empty"));
	free(ans);
	assert_int_equal(e2e_serve_post(s->port, "/webhooks/storeganise",
		"{\"id\":7,\"type\":\"unitRental.updated\"}", SECRET, NULL), 400);
	free(id);

	/* wrong methods: 405 with Allow */
	ans = raw_http(s->port, "GET /webhooks/storeganise HTTP/1.1\r\nHost: x\r\n\r\n");
	if (!strstr(ans, " 405 ") || !strstr(ans, "Allow: POST"))
		fail_msg("GET /webhooks/storeganise: %s", ans);
	free(ans);
	ans = raw_http(s->port, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
	if (!strstr(ans, " 405 ") || !strstr(ans, "Allow: GET, HEAD"))
		fail_msg("POST /healthz: %s", ans);
	free(ans);
	ans = raw_http(s->port, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_non_null(strstr(ans, " 405 "));
	free(ans);
	assert_int_equal(e2e_serve_post(s->port, "/healthz", NULL, NULL, NULL), 200);

	/* apply beside serve: the lock names serve */
	r = run_cmd(&s->t, "apply", NULL);
	if (r.status != 1 || !strstr(r.err, "reconcile serve") || !strstr(r.err, "pid "))
		fail_msg("apply beside serve: exit %d, stderr: %s", r.status, r.err);
	run_free(&r);
	assert_int_equal(e2e_serve_stop(&s->pid), 0);
}

#define SLOW 2000        /* slow clients */
#define PER_ADDR 40      /* of them per source address (serve allows 64) */

/* A connection to serve from 127.0.0.<addr>: -1 when refused. */
static int connect_from(int port, int addr)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char ip[32];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(ip, sizeof(ip), "127.0.0.%d", addr);
	inet_pton(AF_INET, ip, &src.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Is the connection closed by serve (EOF or reset), waiting up to ms? */
static bool closed_by_peer(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, ms) <= 0)
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/* One more header byte on each open connection; closed ones set to -1.
 * The number still open. */
static size_t trickle(int *fds, size_t n, size_t round)
{
	static const char head[] = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	size_t i, open = 0;

	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (send(fds[i], head + (round % (sizeof(head) - 1)), 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1 ||
		    closed_by_peer(fds[i], 0)) {
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		open++;
	}
	return open;
}

static void test_slow_clients(void **state)
{
	struct e2e_srv *s = *state;
	struct rlimit rl;
	int fds[SLOW], extra[70], i, round;
	size_t open, refused = 0;
	char *ans = NULL;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < SLOW + 256 && rl.rlim_max >= SLOW + 256) {
		rl.rlim_cur = SLOW + 256;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < SLOW + 256)
		skip(); /* the fds cannot be had here */
	e2e_serve_start(&s->t, &s->pid, &s->port);
	assert_true(e2e_serve_settle(s->port));
	for (i = 0; i < SLOW; i++) {
		fds[i] = connect_from(s->port, 2 + i / PER_ADDR);
		assert_true(fds[i] >= 0);
	}
	open = trickle(fds, SLOW, 0);
	assert_int_equal(open, SLOW);

	/* one address gets no more than its share */
	for (i = 0; i < 70; i++)
		extra[i] = connect_from(s->port, 250);
	for (i = 0; i < 70; i++)
		refused += extra[i] < 0 || closed_by_peer(extra[i], i < 64 ? 0 : 1000);
	assert_int_equal(refused, 70 - 64);
	for (i = 0; i < 70; i++)
		if (extra[i] >= 0)
			close(extra[i]);

	/* the prober and the scraper are answered meanwhile */
	open = trickle(fds, SLOW, 1);
	assert_int_equal(e2e_serve_post(s->port, "/healthz", NULL, NULL, &ans), 200);
	free(ans);
	assert_int_equal(e2e_serve_post(s->port, "/metrics", NULL, NULL, &ans), 200);
	assert_non_null(strstr(ans, "reconcile_http_requests_cut_total"));
	free(ans);

	/* slow clients are cut: a byte a second does not keep a request
	 * alive past serve's request timeout (10 s) */
	for (round = 2; open && round < 20; round++) {
		sleep(1);
		open = trickle(fds, SLOW, (size_t)round);
	}
	assert_int_equal(open, 0);
	assert_true(e2e_serve_metric(s->port, "reconcile_http_requests_cut_total ") >= SLOW);
	assert_int_equal(e2e_serve_post(s->port, "/healthz", NULL, NULL, NULL), 200);
	for (i = 0; i < SLOW; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	assert_int_equal(e2e_serve_stop(&s->pid), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_truncated),
		T(test_empty_beside_key),
		T(test_no_hash_key),
		T(test_reinit_state),
		T(test_damaged_page),
		T(test_bad_requests),
		T(test_slow_clients),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
