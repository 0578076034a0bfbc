/*
 * test_store_replica.c: the change log the state hands a replica before
 * it commits (state/store_replica.h; cluster mode's JetStream copy):
 * per-site records only; an undone job of the writer leaves nothing in
 * it; a replica that refuses aborts the commit; none attached, nothing
 * recorded; the seed and rebuild of a site's records.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/store.h"
#include "state/store_replica.h"

struct fx {
	char dir[4096];
	struct store *s;
	struct store_changes got;    /* what the replica was handed */
	unsigned calls;
	bool refuse;
	sem_t done_sig;
	unsigned ndone;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int publish(void *arg, const struct store_change *c, size_t n, struct rc_err *err)
{
	struct fx *f = arg;
	size_t i;

	f->calls++;
	if (f->refuse)
		return rc_errf(err, RC_EIO, "replica down");
	for (i = 0; i < n; i++)
		store_changes_add(&f->got, c[i].db, c[i].site, c[i].key, c[i].klen, c[i].val, c[i].vlen);
	return RC_OK;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	struct rc_err err;

	snprintf(f->dir, sizeof(f->dir), "%s/reconcile-replica-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	sem_init(&f->done_sig, 0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	store_changes_clear(&f->got);
	sem_destroy(&f->done_sig);
	assert_int_equal(nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static void attach(struct fx *f)
{
	struct store_replica r = { publish, NULL, f };

	store_set_replica(f->s, &r);
}

static int put_rec(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct pms_rec r = { 0 };
	uint64_t gen;
	int rc;

	snprintf(r.rental_id, sizeof(r.rental_id), "%s", (const char *)arg);
	r.overdue = true;
	rc = store_pms_put(t, "s1", &r, err);
	if (!rc)
		rc = store_generation_bump(t, "s1", &gen, err);
	if (!rc)
		rc = store_wait_put(t, "https://vendor:443", 4e9, err); /* per host: not replicated */
	return rc;
}

static int put_then_fail(struct store_txn *t, void *arg, struct rc_err *err)
{
	int rc = put_rec(t, arg, err);

	return rc ? rc : rc_errf(err, RC_ERR, "this job fails after writing");
}

static bool has(const struct store_changes *cs, const char *db, const char *site, const char *key_tail)
{
	size_t i, n = strlen(key_tail);

	for (i = 0; i < cs->n; i++)
		if (!strcmp(cs->c[i].db, db) && !strcmp(cs->c[i].site, site) && cs->c[i].klen >= n &&
		    !memcmp((char *)cs->c[i].key + cs->c[i].klen - n, key_tail, n))
			return true;
	return false;
}

static bool pms_stored(struct fx *f, const char *rental)
{
	struct store_txn *t = NULL;
	struct pms_rec r;
	struct rc_err err;
	int rc;

	assert_int_equal(store_txn_begin(f->s, false, &t, &err), 0);
	rc = store_pms_get(t, "s1", rental, &r, &err);
	store_txn_abort(t);
	return rc == RC_OK;
}

/* store_write: the per-site records are handed over before the commit;
 * Retry-After deadlines (per host) are not. */
static void test_inline_write_is_handed_over(void **state)
{
	struct fx *f = *state;
	struct rc_err err;

	attach(f);
	assert_int_equal(store_write(f->s, put_rec, "r1", &err), 0);
	assert_int_equal(f->calls, 1);
	assert_true(has(&f->got, "pmslast", "s1", "r1"));
	assert_true(has(&f->got, "meta", "s1", "s1"));          /* gen\0s1 */
	assert_int_equal(f->got.n, 2);                           /* not wait\0... */
	assert_true(pms_stored(f, "r1"));
}

/* A replica that refuses: nothing commits, the job fails. */
static void test_refused_publish_aborts(void **state)
{
	struct fx *f = *state;
	struct rc_err err;

	attach(f);
	f->refuse = true;
	assert_int_equal(store_write(f->s, put_rec, "r2", &err), RC_EIO);
	assert_non_null(strstr(err.msg, "replica down"));
	assert_false(pms_stored(f, "r2"));
}

/* Without a replica (one process), nothing is recorded or handed over. */
static void test_no_replica_no_log(void **state)
{
	struct fx *f = *state;
	struct rc_err err;

	assert_int_equal(store_write(f->s, put_rec, "r3", &err), 0);
	assert_int_equal(f->calls, 0);
	assert_true(pms_stored(f, "r3"));
}

static void notify(void *p)
{
	sem_post(&((struct fx *)p)->done_sig);
}

static void count_done(struct store_job *j)
{
	((struct fx *)j->owner)->ndone++;
}

/* The writer: a job undone in its batch leaves no change in the log the
 * replica gets; the others are handed over once, together. */
static void test_nested_abort_drops_changes(void **state)
{
	struct fx *f = *state;
	struct store_job a = { .fn = put_rec, .arg = "ra", .done = count_done, .owner = f };
	struct store_job b = { .fn = put_then_fail, .arg = "rb", .done = count_done, .owner = f };
	struct store_job c = { .fn = put_rec, .arg = "rc", .done = count_done, .owner = f };
	struct rc_err err;

	attach(f);
	/* one batch or more: the failing job's changes are gone either way */
	assert_int_equal(store_writer_start(f->s, notify, f, &err), 0);
	store_writer_submit(f->s, &a);
	store_writer_submit(f->s, &b);
	store_writer_submit(f->s, &c);
	while (f->ndone < 3) {
		sem_wait(&f->done_sig);
		store_writer_drain(f->s);
	}
	store_writer_stop(f->s);
	assert_int_equal(a.rc, 0);
	assert_int_not_equal(b.rc, 0);
	assert_int_equal(c.rc, 0);
	assert_true(has(&f->got, "pmslast", "s1", "ra"));
	assert_false(has(&f->got, "pmslast", "s1", "rb"));
	assert_true(has(&f->got, "pmslast", "s1", "rc"));
	assert_false(pms_stored(f, "rb"));
	assert_true(pms_stored(f, "rc"));
}

/* A delete is a change too (the key, no value). */
static int del_rec(struct store_txn *t, void *arg, struct rc_err *err)
{
	return store_pms_del(t, "s1", arg, err);
}

static void test_delete_is_handed_over(void **state)
{
	struct fx *f = *state;
	struct rc_err err;

	assert_int_equal(store_write(f->s, put_rec, "r4", &err), 0);
	attach(f);
	assert_int_equal(store_write(f->s, del_rec, "r4", &err), 0);
	assert_int_equal(f->got.n, 1);
	assert_true(f->got.c[0].del);
	assert_true(has(&f->got, "pmslast", "s1", "r4"));
}

/* Seed and rebuild: what collect reads, replace writes back whole. */
static void test_collect_and_replace(void **state)
{
	struct fx *f = *state;
	struct store_changes cs = { 0 };
	const char *sites[] = { "s1" };
	struct rc_err err;

	assert_int_equal(store_write(f->s, put_rec, "r5", &err), 0);
	assert_int_equal(store_replica_collect(f->s, sites, 1, &cs, &err), 0);
	assert_int_equal(cs.n, 2);
	assert_int_equal(store_write(f->s, put_rec, "r6", &err), 0);
	attach(f);
	assert_int_equal(store_replica_replace(f->s, sites, 1, cs.c, cs.n, &err), 0);
	assert_int_equal(f->calls, 0);                  /* the rebuild is not published */
	assert_true(pms_stored(f, "r5"));
	assert_false(pms_stored(f, "r6"));              /* the replica did not have it */
	store_changes_clear(&cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inline_write_is_handed_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_publish_aborts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_replica_no_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_abort_drops_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_is_handed_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect_and_replace, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
