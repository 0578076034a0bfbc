/* test_store.c: the LMDB store: round trips, site isolation, journal,
 * generations, the apply lock, and no secret in the files. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "state/store.h"

struct fx {
	char dir[4096];
	struct store *s;
};

/* A new directory under $TMPDIR (/tmp when unset or empty). */
static void make_tmpdir(char *dir, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	assert_non_null(mkdtemp(dir));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf dir, unless E2E_KEEP=1 (then say where it is). */
static int remove_tmpdir(const char *dir)
{
	const char *keep = getenv("E2E_KEEP");

	if (keep && *keep && strcmp(keep, "0") != 0) {
		fprintf(stderr, "kept %s\n", dir);
		return 0;
	}
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rc_err err;

	make_tmpdir(f->dir, sizeof(f->dir), "reconcile-store");
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	assert_int_equal(remove_tmpdir(f->dir), 0);
	free(f);
	return 0;
}

static void put_units(struct fx *f, const char *site, int n)
{
	struct obs_site o;
	struct store_txn *t;
	struct rc_err err;
	char name[16];
	int i;

	obs_site_init(&o, site);
	for (i = 0; i < n; i++) {
		struct obs_unit *u;

		snprintf(name, sizeof(name), "U%d", i);
		u = obs_add_unit(&o, name);
		u->vendor_id = "7";
		u->status = VU_RENTED;
		if (i % 2) {
			struct obs_tenant *tn = obs_add_tenant(&o, &o.units[i]);

			tn->vendor_id = "v1";
			tn->first_name = "Ana";
			tn->rental_id = "r1";
			store_secret_hash(f->s, site, "482913", tn->code_hash);
			tn->code_known = true;
		}
	}
	assert_int_equal(store_txn_begin(f->s, true, &t, &err), 0);
	assert_int_equal(store_observed_put_site(t, &o, &err), 0);
	assert_int_equal(store_txn_commit(t, &err), 0);
	obs_site_free(&o);
}

static size_t load_count(struct fx *f, const char *site, struct obs_site *o)
{
	struct store_txn *t;
	struct rc_err err;

	obs_site_init(o, site);
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	store_observed_load(t, site, o, &err);
	store_txn_abort(t);
	return o->nunits;
}

static void test_observed_round_trip_and_isolation(void **state)
{
	struct fx *f = *state;
	unsigned char h[RC_HASH_LEN];
	const struct obs_unit *u;
	struct obs_site o;

	put_units(f, "s1", 4);
	put_units(f, "s10", 3);
	assert_int_equal(load_count(f, "s1", &o), 4);
	u = obs_find_unit(&o, "U1");
	assert_non_null(u);
	assert_int_equal(u->status, VU_RENTED);
	assert_int_equal(u->ntenants, 1);
	assert_string_equal(u->tenants[0].rental_id, "r1");
	store_secret_hash(f->s, "s1", "482913", h);
	assert_memory_equal(u->tenants[0].code_hash, h, RC_HASH_LEN);
	obs_site_free(&o);
	assert_int_equal(load_count(f, "s10", &o), 3);
	obs_site_free(&o);
	put_units(f, "s1", 2); /* put_site drops the units not given */
	assert_int_equal(load_count(f, "s1", &o), 2);
	obs_site_free(&o);
	assert_int_equal(load_count(f, "s2", &o), 0);
	obs_site_free(&o);
}

static void test_pms_records_and_generation(void **state)
{
	struct fx *f = *state;
	struct pms_rec r = { 0 }, back;
	struct store_txn *t;
	struct rc_err err;
	uint64_t g;
	size_t n;

	snprintf(r.rental_id, sizeof(r.rental_id), "r1");
	r.overdue = true;
	assert_int_equal(store_txn_begin(f->s, true, &t, &err), 0);
	assert_int_equal(store_pms_put(t, "s1", &r, &err), 0);
	assert_int_equal(store_generation_bump(t, "s1", &g, &err), 0);
	assert_int_equal(g, 1);
	assert_int_equal(store_generation_bump(t, "s1", &g, &err), 0);
	assert_int_equal(g, 2);
	assert_int_equal(store_txn_commit(t, &err), 0);
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_pms_get(t, "s1", "r1", &back, &err), 0);
	assert_true(back.overdue);
	assert_int_equal(store_pms_get(t, "s1", "r2", &back, &err), RC_ENOTFOUND);
	assert_int_equal(store_pms_count(t, "s1", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_generation(t, "s1", &g, &err), 0);
	assert_int_equal(g, 2);
	assert_int_equal(store_generation(t, "s10", &g, &err), 0);
	assert_int_equal(g, 0);
	store_txn_abort(t);
}

/* Records of rentals no longer occupied go; other sites ("s10") stay. */
static void test_pms_keep_only(void **state)
{
	struct fx *f = *state;
	struct pms_rec r = { 0 }, back;
	struct store_txn *t;
	struct rc_err err;
	struct rc_map keep;
	size_t n;

	assert_int_equal(store_txn_begin(f->s, true, &t, &err), 0);
	snprintf(r.rental_id, sizeof(r.rental_id), "r1");
	assert_int_equal(store_pms_put(t, "s1", &r, &err), 0);
	assert_int_equal(store_pms_put(t, "s10", &r, &err), 0);
	snprintf(r.rental_id, sizeof(r.rental_id), "r2");
	assert_int_equal(store_pms_put(t, "s1", &r, &err), 0);
	rc_map_init(&keep);
	rc_map_put(&keep, "r2", 1);
	assert_int_equal(store_pms_keep_only(t, "s1", &keep, &err), 0);
	rc_map_free(&keep);
	assert_int_equal(store_txn_commit(t, &err), 0);
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_pms_get(t, "s1", "r1", &back, &err), RC_ENOTFOUND);
	assert_int_equal(store_pms_get(t, "s1", "r2", &back, &err), 0);
	assert_int_equal(store_pms_get(t, "s10", "r1", &back, &err), 0);
	assert_int_equal(store_pms_count(t, "s1", &n, &err), 0);
	assert_int_equal(n, 1);
	store_txn_abort(t);
}

static int count_cb(const struct journal_entry *e, void *p)
{
	(void)e;
	(*(int *)p)++;
	return 0;
}

static void test_journal(void **state)
{
	struct fx *f = *state;
	struct journal_entry a = { 0 }, b = { 0 };
	struct store_txn *t;
	struct rc_err err;
	int open = 0, all = 0;

	snprintf(a.op, sizeof(a.op), "tenant.create");
	snprintf(b.op, sizeof(b.op), "unit.vacate");
	assert_int_equal(store_journal_intent(f->s, "s1", &a, &err), 0);
	assert_int_equal(store_journal_intent(f->s, "s1", &b, &err), 0);
	assert_int_equal(a.seq, 1);
	assert_int_equal(b.seq, 2);
	a.state = JOURNAL_OK;
	assert_int_equal(store_journal_result(f->s, "s1", &a, &err), 0);
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_journal_each(t, "s1", true, count_cb, &open, &err), 0);
	assert_int_equal(store_journal_each(t, "s1", false, count_cb, &all, &err), 0);
	store_txn_abort(t);
	assert_int_equal(open, 1);
	assert_int_equal(all, 2);
	assert_int_equal(store_event_put(f->s, "ev1", "{}", &err), 0);
	assert_int_equal(store_event_put(f->s, "ev1", "{}", &err), RC_EEXIST);
}

/* Events older than the retention go, oldest first, in budgeted
 * transactions (several B-tree pages of them); newer ones stay. */
static void test_prune_events(void **state)
{
	struct fx *f = *state;
	struct store_retention r = { 3600, 0, 1000 };
	struct store_pruned out;
	struct rc_err err;
	char id[32];
	size_t total = 0;
	int i, calls = 0;

	for (i = 0; i < 2500; i++) {
		snprintf(id, sizeof(id), "event-%05d", i);
		assert_int_equal(store_event_put(f->s, id, "{\"type\":\"unitRental.updated\"}", &err), 0);
	}
	assert_int_equal(store_prune(f->s, &r, time(NULL), &out, &err), 0);
	assert_int_equal(out.events, 0);           /* all younger than an hour */
	assert_false(out.more);
	do {
		assert_int_equal(store_prune(f->s, &r, time(NULL) + 7200, &out, &err), 0);
		assert_true(out.events <= 1000);
		total += out.events;
		calls++;
	} while (out.more && calls < 10);
	assert_int_equal(total, 2500);
	assert_int_equal(calls, 3);
	/* gone: the same ids are new again */
	assert_int_equal(store_event_put(f->s, "event-00000", "{}", &err), 0);
	assert_int_equal(store_event_put(f->s, "event-02499", "{}", &err), 0);
	assert_int_equal(store_event_put(f->s, "event-02499", "{}", &err), RC_EEXIST);
}

static void put_entry(struct fx *f, const char *site, uint64_t seq, enum journal_state st,
		      const char *time)
{
	struct journal_entry e = { 0 };
	struct store_txn *t;
	struct rc_err err;

	e.seq = seq;
	e.state = st;
	snprintf(e.op, sizeof(e.op), "tenant.create");
	snprintf(e.time, sizeof(e.time), "%s", time);
	assert_int_equal(store_txn_begin(f->s, true, &t, &err), 0);
	assert_int_equal(store_journal_put(t, site, &e, &err), 0);
	assert_int_equal(store_txn_commit(t, &err), 0);
}

static int seq_cb(const struct journal_entry *e, void *p)
{
	char *out = p;

	snprintf(out + strlen(out), 64 - strlen(out), "%llu,", (unsigned long long)e->seq);
	return 0;
}

static void journal_seqs(struct fx *f, const char *site, char out[64])
{
	struct store_txn *t;
	struct rc_err err;

	out[0] = '\0';
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_journal_each(t, site, false, seq_cb, out, &err), 0);
	store_txn_abort(t);
}

/* Closed entries older than the retention go; open ones (R7) and newer
 * ones stay; each site is cut at its own first newer entry ("s1" and
 * "s10" do not mix). */
static void test_prune_journal(void **state)
{
	struct fx *f = *state;
	struct store_retention r = { 0, 86400, 0 };
	struct store_pruned out;
	struct rc_err err;
	char seqs[64];
	const char *old = "2025-06-01T00:00:00.000Z", *young = "2025-12-31T12:00:00.000Z";

	put_entry(f, "s1", 1, JOURNAL_OK, old);
	put_entry(f, "s1", 2, JOURNAL_INTENT, old);
	put_entry(f, "s1", 3, JOURNAL_FAILED, old);
	put_entry(f, "s1", 4, JOURNAL_OK, young);
	put_entry(f, "s1", 5, JOURNAL_OK, old);    /* after a newer one: kept (seq order) */
	put_entry(f, "s10", 1, JOURNAL_RESOLVED, old);
	put_entry(f, "s10", 2, JOURNAL_UNKNOWN, old);
	put_entry(f, "s2", 1, JOURNAL_OK, old);
	assert_int_equal(store_prune(f->s, &r, 1767225600 /* 2026-01-01 */, &out, &err), 0);
	assert_int_equal(out.journal, 4);
	assert_int_equal(out.events, 0);
	journal_seqs(f, "s1", seqs);
	assert_string_equal(seqs, "2,4,5,");
	journal_seqs(f, "s10", seqs);
	assert_string_equal(seqs, "2,");
	journal_seqs(f, "s2", seqs);
	assert_string_equal(seqs, "");
	{
		/* s2's journal is empty now: its numbering goes on, never reused */
		struct journal_entry n = { 0 };

		snprintf(n.op, sizeof(n.op), "tenant.create");
		assert_int_equal(store_journal_intent(f->s, "s2", &n, &err), 0);
		assert_int_equal(n.seq, 2);
	}
	r.journal_s = 0;                            /* 0 keeps everything */
	assert_int_equal(store_prune(f->s, &r, 1767225600 + 86400 * 365, &out, &err), 0);
	assert_int_equal(out.journal, 0);
}

/* R10's marks: a destructive intent counts at once (before its call), a
 * failed one is taken back, other operations and other sites never count,
 * and the marks survive the store being closed and opened again. */
static void test_r10_marks_follow_the_journal(void **state)
{
	struct fx *f = *state;
	struct journal_entry a = { 0 }, b = { 0 }, c = { 0 };
	struct store_txn *t = NULL;
	struct rc_err err;
	unsigned n = 0;

	snprintf(a.op, sizeof(a.op), "unit.vacate");
	snprintf(b.op, sizeof(b.op), "unit.vacate");
	snprintf(c.op, sizeof(c.op), "tenant.create");
	assert_int_equal(store_journal_intent(f->s, "s1", &a, &err), 0);
	assert_int_equal(store_journal_intent(f->s, "s1", &b, &err), 0);
	assert_int_equal(store_journal_intent(f->s, "s1", &c, &err), 0);
	assert_int_equal(store_journal_intent(f->s, "s10", &a, &err), 0);
	a.state = JOURNAL_OK;
	b.state = JOURNAL_FAILED;
	assert_int_equal(store_journal_result(f->s, "s1", &a, &err), 0);
	assert_int_equal(store_journal_result(f->s, "s1", &b, &err), 0);
	store_close(f->s);
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_r10_count(t, "s1", time(NULL), &n, &err), 0);
	assert_int_equal(n, 1);                       /* a: ran; b: failed; c: not destructive */
	assert_int_equal(store_r10_count(t, "s1", time(NULL) + STORE_R10_WINDOW_S, &n, &err), 0);
	assert_int_equal(n, 0);                       /* an hour later: forgotten */
	assert_int_equal(store_r10_count(t, "s10", time(NULL), &n, &err), 0);
	assert_int_equal(n, 1);
	store_txn_abort(t);
}

static void collect_wait(const char *host, double until, void *p)
{
	if (!strcmp(host, "http://vendor:8080"))
		*(double *)p = until;
}

/* Retry-After deadlines are kept by host; a past one is forgotten. */
static void test_wait_deadlines(void **state)
{
	struct fx *f = *state;
	struct store_txn *t = NULL;
	struct rc_err err;
	double got = 0, until = (double)time(NULL) + 120;

	assert_int_equal(store_txn_begin(f->s, true, &t, &err), 0);
	assert_int_equal(store_wait_put(t, "http://vendor:8080", until, &err), 0);
	assert_int_equal(store_wait_put(t, "http://other:80", until, &err), 0);
	assert_int_equal(store_txn_commit(t, &err), 0);
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_wait_each(t, collect_wait, &got, &err), 0);
	store_txn_abort(t);
	assert_true(got > until - 1 && got < until + 1);
	assert_int_equal(store_txn_begin(f->s, true, &t, &err), 0);
	assert_int_equal(store_wait_put(t, "http://vendor:8080", 1000, &err), 0); /* long past */
	assert_int_equal(store_txn_commit(t, &err), 0);
	got = 0;
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_wait_each(t, collect_wait, &got, &err), 0);
	store_txn_abort(t);
	assert_true(got == 0);
}

static void test_hash_key_is_stable_and_private(void **state)
{
	struct fx *f = *state;
	unsigned char a[RC_HASH_LEN], b[RC_HASH_LEN], c[RC_HASH_LEN];
	char path[sizeof(f->dir) + 16];
	struct stat st;
	struct rc_err err;

	store_secret_hash(f->s, "s1", "482913", a);
	store_secret_hash(f->s, "s2", "482913", b);
	assert_memory_not_equal(a, b, RC_HASH_LEN);
	store_close(f->s);
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	store_secret_hash(f->s, "s1", "482913", c);
	assert_memory_equal(a, c, RC_HASH_LEN);
	snprintf(path, sizeof(path), "%s/hash.key", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* store_secret_hash is HMAC-SHA256(hash.key, site || 0 || secret), call
 * after call (its context is keyed once and re-initialised per message:
 * a second message must not carry the first one's state). */
static void test_secret_hash_is_hmac_of_the_key(void **state)
{
	struct fx *f = *state;
	static const char *const secrets[] = { "482913", "482913", "777001", "" };
	unsigned char key[32], want[RC_HASH_LEN], got[RC_HASH_LEN], msg[32];
	unsigned int n = RC_HASH_LEN;
	char path[sizeof(f->dir) + 16];
	FILE *fp;
	size_t i, len;

	snprintf(path, sizeof(path), "%s/hash.key", f->dir);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(key, 1, sizeof(key), fp), sizeof(key));
	fclose(fp);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		len = (size_t)snprintf((char *)msg, sizeof(msg), "s1%c%s", 0, secrets[i]);
		assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), msg, len, want, &n));
		store_secret_hash(f->s, "s1", secrets[i], got);
		assert_memory_equal(got, want, RC_HASH_LEN);
	}
}

static void test_lock_is_exclusive(void **state)
{
	struct fx *f = *state;
	struct rc_err err;
	char pid[16];
	pid_t child;
	int st;

	assert_int_equal(store_lock(f->s, &err), 0);
	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	child = fork();
	if (child == 0) {
		struct store *s2;
		struct rc_err e2;
		int rc;

		if (store_open(&s2, f->dir, &e2))
			_exit(2);
		rc = store_lock(s2, &e2);
		_exit(rc == RC_ELOCKED && strstr(e2.msg, pid) ? 0 : 1);
	}
	assert_true(waitpid(child, &st, 0) > 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	store_unlock(f->s);
}

static void test_no_secret_in_files(void **state)
{
	struct fx *f = *state;
	char *cmd = rc_sprintf("grep -rqa 482913 '%s'", f->dir);
	int st;

	put_units(f, "s1", 4);
	st = system(cmd);
	free(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1); /* no match (2 would be an error) */
}

static bool in_use(struct fx *f, const char *site, const char *code)
{
	unsigned char h[RC_HASH_LEN];
	struct store_txn *t;
	struct rc_err err;
	bool used;

	store_secret_hash(f->s, site, code, h);
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_code_in_use(t, site, h, &used, &err), 0);
	store_txn_abort(t);
	return used;
}

/* A one-rental run reads its units by name; R6 asks the code index, which
 * follows every write (a code changed or a unit gone is no longer in use). */
static void test_observed_by_name_and_code_index(void **state)
{
	struct fx *f = *state;
	const char *names[] = { "U1", "U3", "nope", "U1" };
	struct store_txn *t;
	struct obs_site o;
	struct rc_err err;
	bool any;

	put_units(f, "s1", 4);
	put_units(f, "s10", 1);
	obs_site_init(&o, "s1");
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_observed_load_names(t, "s1", names, 4, &o, &err), 0);
	assert_int_equal(store_observed_any(t, "s1", &any, &err), 0);
	assert_true(any);
	assert_int_equal(store_observed_any(t, "s2", &any, &err), 0);
	assert_false(any);
	store_txn_abort(t);
	assert_int_equal(o.nunits, 2);
	assert_non_null(obs_find_unit(&o, "U3"));
	assert_null(obs_find_unit(&o, "U0"));
	assert_true(in_use(f, "s1", "482913"));
	assert_false(in_use(f, "s10", "482913")); /* s10's only unit has no tenant */
	assert_false(in_use(f, "s1", "482914"));
	/* U1 gets another code: U3 still holds the first */
	store_secret_hash(f->s, "s1", "777001", o.units[0].tenants[0].code_hash);
	assert_int_equal(store_txn_begin(f->s, true, &t, &err), 0);
	assert_int_equal(store_observed_put_unit(t, "s1", &o.units[0], &err), 0);
	assert_int_equal(store_txn_commit(t, &err), 0);
	assert_true(in_use(f, "s1", "777001"));
	assert_true(in_use(f, "s1", "482913"));
	obs_site_free(&o);
	put_units(f, "s1", 1); /* U1..U3 gone, with their codes */
	assert_false(in_use(f, "s1", "482913"));
	assert_false(in_use(f, "s1", "777001"));
}

static void raw_env(struct fx *f, MDB_env **env, MDB_txn **txn)
{
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(mdb_env_create(env), 0);
	assert_int_equal(mdb_env_set_maxdbs(*env, 12), 0);
	assert_int_equal(mdb_env_set_maxreaders(*env, 512), 0);
	assert_int_equal(mdb_env_open(*env, f->dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
}

static void raw_put(MDB_txn *txn, const char *db, const void *k, size_t kn, const char *v)
{
	MDB_val key = { kn, (void *)k }, val = { strlen(v), (void *)v };
	MDB_dbi dbi;

	assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
}

static int plan_cb(const char *plan, void *p)
{
	rc_buf_printf(p, "%s,", plan);
	return 0;
}

static void open_plans(struct fx *f, struct rc_buf *got)
{
	struct store_txn *t;
	struct rc_err err;

	got->len = 0;
	rc_buf_add(got, "", 0);
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_journal_open_plans(t, "s1", plan_cb, got, &err), 0);
	store_txn_abort(t);
}

/* A plan tells the open entries of runs in flight from those in doubt by
 * their plan ids, read from the jopen index alone; an index record that
 * an older version wrote (no plan id) is read from its entry. */
static void test_journal_open_plans(void **state)
{
	struct fx *f = *state;
	struct journal_entry e[3];
	const unsigned char key[] = { 's', '1', 0, 0, 0, 0, 0, 0, 0, 0, 3 };
	struct rc_buf got;
	struct rc_err err;
	MDB_env *env;
	MDB_txn *txn;
	int i;

	memset(e, 0, sizeof(e));
	for (i = 0; i < 3; i++) {
		snprintf(e[i].op, sizeof(e[i].op), "tenant.create");
		snprintf(e[i].plan_id, sizeof(e[i].plan_id), "plan-%c", 'a' + i);
		assert_int_equal(store_journal_intent(f->s, "s1", &e[i], &err), 0);
	}
	e[0].state = JOURNAL_OK;
	assert_int_equal(store_journal_result(f->s, "s1", &e[0], &err), 0);
	rc_buf_init(&got);
	open_plans(f, &got);
	assert_string_equal(got.p, "plan-b,plan-c,");
	raw_env(f, &env, &txn); /* plan-c's index record as an older version wrote it */
	raw_put(txn, "jopen", key, sizeof(key), "");
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	open_plans(f, &got);
	assert_string_equal(got.p, "plan-b,plan-c,");
	rc_buf_free(&got);
}

/* The state as a version that kept its events in data.mdb left it: old-1
 * and old-2 there (and in evtime, dated now, when with_evtime: before
 * that index existed there was none), no events.mdb. */
static void older_layout(struct fx *f, bool with_evtime)
{
	MDB_env *env;
	MDB_txn *txn;
	unsigned char tk[8 + 5];
	uint64_t now = (uint64_t)time(NULL);
	char id[8], *p;
	int i, b;

	raw_env(f, &env, &txn);
	for (i = 1; i <= 2; i++) {
		snprintf(id, sizeof(id), "old-%d", i);
		raw_put(txn, "events", id, strlen(id), "{}");
		if (!with_evtime)
			continue;
		for (b = 0; b < 8; b++)
			tk[b] = (unsigned char)(now >> (56 - 8 * b));
		memcpy(tk + 8, id, 5);
		raw_put(txn, "evtime", tk, sizeof(tk), "");
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	for (i = 0; i < 2; i++) {
		p = rc_sprintf("%s/%s", f->dir, i ? "events.mdb-lock" : "events.mdb");
		assert_int_equal(unlink(p), 0);
		free(p);
	}
}

/* After the move, data.mdb holds no events database any more. */
static void assert_no_events_in_data_mdb(struct fx *f)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	raw_env(f, &env, &txn);
	assert_int_equal(mdb_dbi_open(txn, "events", 0, &dbi), MDB_NOTFOUND);
	assert_int_equal(mdb_dbi_open(txn, "evtime", 0, &dbi), MDB_NOTFOUND);
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/* A state of a version that kept its events in data.mdb: the next open
 * moves them into events.mdb (duplicates are still seen as such, and
 * retention reaches them), and data.mdb keeps none. With and without the
 * evtime index (older still: the open dates them now). */
static void test_events_of_an_older_state_move(void **state)
{
	struct fx *f = *state;
	struct store_retention r = { 3600, 0, 0 };
	struct store_pruned out;
	struct rc_err err;
	int with_evtime;

	for (with_evtime = 0; with_evtime <= 1; with_evtime++) {
		older_layout(f, with_evtime);
		assert_int_equal(store_open(&f->s, f->dir, &err), 0);
		assert_int_equal(store_event_put(f->s, "old-1", "{}", &err), RC_EEXIST);
		assert_int_equal(store_event_put(f->s, "old-2", "{}", &err), RC_EEXIST);
		assert_no_events_in_data_mdb(f);
		assert_int_equal(store_open(&f->s, f->dir, &err), 0);
		assert_int_equal(store_event_put(f->s, "old-2", "{}", &err), RC_EEXIST);
		assert_int_equal(store_prune(f->s, &r, time(NULL), &out, &err), 0);
		assert_int_equal(out.events, 0); /* dated now: younger than the hour */
		assert_int_equal(store_prune(f->s, &r, time(NULL) + 7200, &out, &err), 0);
		assert_int_equal(out.events, 2);
	}
}

/* A state written by a version before the binary records and the indexes:
 * its JSON records are read, and the code and open-journal indexes are
 * built on the first open. */
static void test_state_of_an_older_version(void **state)
{
	struct fx *f = *state;
	unsigned char h[RC_HASH_LEN], seq[8] = { 0, 0, 0, 0, 0, 0, 0, 9 };
	char hex[2 * RC_HASH_LEN + 1], *rec, key[32];
	struct pms_rec pr;
	struct store_txn *t;
	struct obs_site o;
	struct rc_err err;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int open = 0;

	store_secret_hash(f->s, "s1", "482913", h);
	rc_hex(h, RC_HASH_LEN, hex);
	raw_env(f, &env, &txn);
	rec = rc_sprintf("{\"id\":\"7\",\"st\":2,\"t\":[{\"id\":\"v1\",\"fn\":\"Ana\",\"ap\":3,"
			 "\"tg\":-1,\"en\":true,\"r\":\"r1\",\"ch\":\"%s\"}]}", hex);
	raw_put(txn, "observed", "s1\0U1", 5, rec);
	free(rec);
	rec = rc_sprintf("{\"od\":true,\"ol\":false,\"sy\":\"2026-01-01\",\"ch\":\"%s\"}", hex);
	raw_put(txn, "pmslast", "s1\0r1", 5, rec);
	free(rec);
	memcpy(key, "s1\0", 3);
	memcpy(key + 3, seq, 8);
	raw_put(txn, "journal", key, 11, "{\"state\":\"intent\",\"op\":\"tenant.create\"}");
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	mdb_del(txn, dbi, &(MDB_val){ 8, "v\0obsidx" }, NULL);
	mdb_del(txn, dbi, &(MDB_val){ 7, "v\0jopen" }, NULL);
	assert_int_equal(mdb_dbi_open(txn, "obsidx", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	assert_int_equal(mdb_dbi_open(txn, "jopen", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	assert_int_equal(load_count(f, "s1", &o), 1);
	assert_int_equal(o.units[0].tenants[0].access_profile, 3);
	assert_true(o.units[0].tenants[0].code_known);
	assert_memory_equal(o.units[0].tenants[0].code_hash, h, RC_HASH_LEN);
	obs_site_free(&o);
	assert_true(in_use(f, "s1", "482913"));
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_pms_get(t, "s1", "r1", &pr, &err), 0);
	assert_int_equal(store_journal_each(t, "s1", true, count_cb, &open, &err), 0);
	store_txn_abort(t);
	assert_true(pr.overdue && pr.has_code);
	assert_string_equal(pr.synced, "2026-01-01");
	assert_memory_equal(pr.code_hash, h, RC_HASH_LEN);
	assert_int_equal(open, 1);
}

/* ---- integrity at open (issue 14: 1) ---- */

static char *in_dir(struct fx *f, const char *name)
{
	return rc_sprintf("%s/%s", f->dir, name);
}

/* store_open refuses f->dir with a message holding says, the file and
 * what to do; f->s is NULL then. */
static void assert_refused_in(struct fx *f, const char *file, const char *says)
{
	struct rc_err err;

	rc_err_clear(&err);
	assert_int_equal(store_open(&f->s, f->dir, &err), RC_EIO);
	assert_null(f->s);
	if (!strstr(err.msg, says) || !strstr(err.msg, file) ||
	    !strstr(err.msg, "--reinit-state") || !strstr(err.msg, "backup"))
		fail_msg("%s", err.msg);
}

static void assert_refused(struct fx *f, const char *says)
{
	assert_refused_in(f, "data.mdb", says);
}

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_cut_short_is_refused(void **state)
{
	struct fx *f = *state;
	char *db = in_dir(f, "data.mdb");
	off_t half;

	put_units(f, "s1", 300);
	store_close(f->s);
	f->s = NULL;
	half = size_of(db) / 2;
	assert_true(half > 0);
	assert_int_equal(truncate(db, half), 0);
	assert_refused(f, "cut short");
	assert_int_equal(size_of(db), half); /* left as it was */
	assert_int_equal(truncate(db, 100), 0); /* not even the meta pages */
	assert_refused(f, "meta pages");
	free(db);
}

static void test_empty_or_missing_beside_key_is_refused(void **state)
{
	struct fx *f = *state;
	char *db = in_dir(f, "data.mdb");

	put_units(f, "s1", 3);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(truncate(db, 0), 0);
	assert_refused(f, "is empty");
	assert_int_equal(size_of(db), 0); /* no fresh state made */
	assert_int_equal(unlink(db), 0);
	assert_refused(f, "is missing");
	assert_int_equal(size_of(db), -1);
	free(db);
}

static void test_data_without_key_is_refused(void **state)
{
	struct fx *f = *state;
	char *key = in_dir(f, "hash.key");

	put_units(f, "s1", 3);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(unlink(key), 0);
	assert_refused(f, "hash.key is missing");
	assert_int_equal(size_of(key), -1); /* not made anew */
	free(key);
}

/* A first open killed before it made hash.key left lock.mdb and a
 * data.mdb that holds only its databases: a new state, not a damaged one. */
static void test_first_open_cut_before_its_key(void **state)
{
	struct fx *f = *state;
	char *key = in_dir(f, "hash.key");
	struct rc_err err;

	store_close(f->s);
	assert_int_equal(unlink(key), 0);
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	assert_int_equal(size_of(key), 32);
	free(key);
}

static size_t count_prefixed(struct fx *f, const char *prefix)
{
	char *cmd = rc_sprintf("ls '%s' | grep -c '^%s'", f->dir, prefix);
	FILE *p = popen(cmd, "r");
	unsigned n = 0;

	assert_non_null(p);
	if (fscanf(p, "%u", &n) != 1)
		n = 0;
	pclose(p);
	free(cmd);
	return n;
}

static void test_reinit_moves_aside(void **state)
{
	struct fx *f = *state;
	char *db = in_dir(f, "data.mdb");
	struct obs_site o;
	struct store_txn *t;
	struct rc_err err;
	off_t cut;

	put_units(f, "s1", 300);
	store_close(f->s);
	f->s = NULL;
	cut = size_of(db) / 2;
	assert_int_equal(truncate(db, cut), 0);
	store_set_reinit(true);
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	store_set_reinit(false);
	assert_int_equal(count_prefixed(f, "data.mdb.damaged-"), 1);
	assert_int_equal(count_prefixed(f, "hash.key.damaged-"), 1);
	/* a fresh state: nothing of the old one */
	obs_site_init(&o, "s1");
	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	assert_int_equal(store_observed_load(t, "s1", &o, &err), RC_ENOTFOUND);
	store_txn_abort(t);
	obs_site_free(&o);
	/* a sound state is kept under --reinit-state */
	store_close(f->s);
	store_set_reinit(true);
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	store_set_reinit(false);
	assert_int_equal(count_prefixed(f, "data.mdb.damaged-"), 1);
	free(db);
}

/* events.mdb is checked as data.mdb is, and moved aside with it. */
static void test_events_cut_short(void **state)
{
	struct fx *f = *state;
	char *db = in_dir(f, "events.mdb"), id[32];
	struct rc_err err;
	int i;

	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "event-%03d", i);
		assert_int_equal(store_event_put(f->s, id, "{\"type\":\"unitRental.updated\"}", &err), 0);
	}
	store_close(f->s);
	f->s = NULL;
	assert_true(size_of(db) > 8192);
	assert_int_equal(truncate(db, size_of(db) / 2), 0);
	assert_refused_in(f, "events.mdb", "cut short");
	store_set_reinit(true);
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	store_set_reinit(false);
	assert_int_equal(count_prefixed(f, "events.mdb.damaged-"), 1);
	assert_int_equal(store_event_put(f->s, "event-000", "{}", &err), RC_OK); /* anew */
	free(db);
}

static void test_lock_names_its_holder(void **state)
{
	struct fx *f = *state;
	struct rc_err err;
	pid_t child;
	int st;

	store_set_command("serve");
	assert_int_equal(store_lock(f->s, &err), 0);
	child = fork();
	if (child == 0) {
		struct store *s2;
		struct rc_err e2;
		int rc;

		store_set_command("apply");
		if (store_open(&s2, f->dir, &e2))
			_exit(2);
		rc = store_lock(s2, &e2);
		_exit(rc == RC_ELOCKED && strstr(e2.msg, "reconcile serve") &&
		      !strstr(e2.msg, "another reconcile apply") ? 0 : 1);
	}
	assert_true(waitpid(child, &st, 0) > 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	store_unlock(f->s);
	store_set_command(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_observed_round_trip_and_isolation),
		T(test_pms_records_and_generation),
		T(test_pms_keep_only),
		T(test_observed_by_name_and_code_index),
		T(test_state_of_an_older_version),
		T(test_journal),
		T(test_journal_open_plans),
		T(test_prune_events),
		T(test_events_of_an_older_state_move),
		T(test_prune_journal),
		T(test_r10_marks_follow_the_journal),
		T(test_wait_deadlines),
		T(test_hash_key_is_stable_and_private),
		T(test_secret_hash_is_hmac_of_the_key),
		T(test_lock_is_exclusive),
		T(test_no_secret_in_files),
		T(test_cut_short_is_refused),
		T(test_events_cut_short),
		T(test_empty_or_missing_beside_key_is_refused),
		T(test_data_without_key_is_refused),
		T(test_first_open_cut_before_its_key),
		T(test_reinit_moves_aside),
		T(test_lock_names_its_holder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
