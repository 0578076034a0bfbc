/*
 * test_store_writer.c: group commit (state/store_writer.c). Jobs queued
 * while the writer is busy go out together in one transaction; a job that
 * fails is undone alone; a duplicate event in the same batch is seen as
 * one; nothing is reported done before it is durable, and a stop runs
 * what is queued. The webhook events' lane (events.mdb) has a writer of
 * its own: a batch of events being written does not hold back the state's.
 * On a slow disk that writer waits a moment for the senders it answered.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/store.h"

struct fx {
	char dir[4096];
	struct store *s;
	sem_t gate;                 /* the first job waits on it */
	sem_t entered;              /* the first job is running */
	sem_t done_sig;             /* the writer's notify */
	unsigned ndone;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	struct rc_err err;

	snprintf(f->dir, sizeof(f->dir), "%s/reconcile-writer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(store_open(&f->s, f->dir, &err), 0);
	sem_init(&f->gate, 0, 0);
	sem_init(&f->entered, 0, 0);
	sem_init(&f->done_sig, 0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	sem_destroy(&f->gate);
	sem_destroy(&f->entered);
	sem_destroy(&f->done_sig);
	assert_int_equal(nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static void notify(void *p)
{
	struct fx *f = p;

	sem_post(&f->done_sig);
}

static void count_done(struct store_job *j)
{
	struct fx *f = j->owner;

	f->ndone++;
}

/* Drain until n jobs are done (the writer notifies after each batch). */
static void wait_done(struct fx *f, unsigned n)
{
	while (f->ndone < n) {
		sem_wait(&f->done_sig);
		store_writer_drain(f->s);
	}
}

/* wait_done, but false when n jobs are not done within s seconds (the
 * writer is stuck: a test fails instead of hanging). */
static bool done_within(struct fx *f, unsigned n, int s)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += s;
	while (f->ndone < n) {
		if (sem_timedwait(&f->done_sig, &until) != 0)
			return false;
		store_writer_drain(f->s);
	}
	return true;
}

struct gate_arg {
	struct fx *f;
};

/* Holds the writer inside its first batch until the test opens the gate. */
static int gate_fn(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct gate_arg *g = arg;

	(void)t;
	(void)err;
	sem_post(&g->f->entered);
	sem_wait(&g->f->gate);
	return RC_OK;
}

static int fail_fn(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct store_job j;
	void *ea = store_event_job((const char *)arg, "{}", &j);
	int rc = j.fn(t, j.arg, err); /* written, then undone with the job */

	free(ea);
	return rc ? rc : rc_errf(err, RC_ERR, "this job fails after writing");
}

static bool event_stored(struct fx *f, const char *id)
{
	struct rc_err err;
	int rc = store_event_put(f->s, id, "{}", &err);

	return rc == RC_EEXIST;
}

static void test_jobs_queued_together_commit_together(void **state)
{
	struct fx *f = *state;
	struct gate_arg g = { f };
	struct store_job jobs[5];
	void *args[5] = { NULL };
	unsigned long batches, n;
	struct rc_err err;
	size_t i;

	assert_int_equal(store_writer_start(f->s, notify, f, &err), 0);
	memset(jobs, 0, sizeof(jobs));
	jobs[0].fn = gate_fn;
	jobs[0].arg = &g;
	jobs[0].lane = STORE_LANE_EVENTS;
	args[1] = store_event_job("ev-a", "{}", &jobs[1]);
	jobs[2].fn = fail_fn;
	jobs[2].arg = "ev-b";
	jobs[2].lane = STORE_LANE_EVENTS;
	args[3] = store_event_job("ev-c", "{}", &jobs[3]);
	args[4] = store_event_job("ev-a", "{}", &jobs[4]); /* a duplicate in the same batch */
	for (i = 0; i < 5; i++) {
		jobs[i].done = count_done;
		jobs[i].owner = f;
		store_writer_submit(f->s, &jobs[i]);
		if (i == 0)
			sem_wait(&f->entered); /* the writer took the gate job alone */
	}
	sem_post(&f->gate);
	wait_done(f, 5);
	store_writer_stats(f->s, &batches, &n);
	assert_int_equal(n, 5);
	assert_int_equal(batches, 2);
	assert_int_equal(jobs[0].rc, RC_OK);
	assert_int_equal(jobs[1].rc, RC_OK);
	assert_int_equal(jobs[2].rc, RC_ERR);
	assert_int_equal(jobs[3].rc, RC_OK);
	assert_int_equal(jobs[4].rc, RC_EEXIST);
	store_writer_stop(f->s);
	assert_true(event_stored(f, "ev-a"));
	assert_false(event_stored(f, "ev-b")); /* undone alone */
	assert_true(event_stored(f, "ev-c"));
	for (i = 0; i < 5; i++)
		free(args[i]);
}

/* A write of the state (data.mdb): a journal entry. */
static int state_fn(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct journal_entry e = { .seq = 1, .state = JOURNAL_OK };

	(void)arg;
	snprintf(e.op, sizeof(e.op), "tenant.create");
	return store_journal_put(t, "site-a", &e, err);
}

/* The state's lane commits while the events' writer is held inside a
 * batch: a move-in's journal intents never wait behind webhooks. */
static void test_lanes_do_not_wait_for_each_other(void **state)
{
	struct fx *f = *state;
	struct gate_arg g = { f };
	struct store_job jobs[2];
	struct rc_err err;

	assert_int_equal(store_writer_start(f->s, notify, f, &err), 0);
	memset(jobs, 0, sizeof(jobs));
	jobs[0].fn = gate_fn;
	jobs[0].arg = &g;
	jobs[0].lane = STORE_LANE_EVENTS;
	jobs[1].fn = state_fn;
	jobs[1].lane = STORE_LANE_STATE;
	jobs[0].done = jobs[1].done = count_done;
	jobs[0].owner = jobs[1].owner = f;
	store_writer_submit(f->s, &jobs[0]);
	sem_wait(&f->entered); /* the events' writer is in its batch, held */
	store_writer_submit(f->s, &jobs[1]);
	if (!done_within(f, 1, 10)) {
		sem_post(&f->gate); /* let the writers end, so that teardown can stop them */
		fail_msg("the state's job waited for the events' batch");
	}
	assert_int_equal(f->ndone, 1);
	assert_int_equal(jobs[1].rc, RC_OK); /* the state's job, done first */
	sem_post(&f->gate);
	wait_done(f, 2);
	assert_int_equal(jobs[0].rc, RC_OK);
	store_writer_stop(f->s);
}

/* A stop runs what is queued and calls every done. */
static void test_stop_runs_the_queue(void **state)
{
	struct fx *f = *state;
	struct store_job jobs[50];
	void *args[50];
	char id[50][16];
	struct rc_err err;
	size_t i;

	assert_int_equal(store_writer_start(f->s, NULL, NULL, &err), 0);
	for (i = 0; i < 50; i++) {
		snprintf(id[i], sizeof(id[i]), "ev-%zu", i);
		args[i] = store_event_job(id[i], "{}", &jobs[i]);
		jobs[i].done = count_done;
		jobs[i].owner = f;
		store_writer_submit(f->s, &jobs[i]);
	}
	store_writer_stop(f->s);
	assert_int_equal(f->ndone, 50);
	for (i = 0; i < 50; i++) {
		assert_int_equal(jobs[i].rc, RC_OK);
		assert_true(event_stored(f, id[i]));
		free(args[i]);
	}
}

/* Without a writer, store_write runs the job at once, durably. */
static void test_write_without_writer(void **state)
{
	struct fx *f = *state;
	struct rc_err err;

	assert_false(store_writer_running(f->s));
	assert_int_equal(store_event_put(f->s, "solo", "{}", &err), RC_OK);
	assert_true(event_stored(f, "solo"));
}

/* The events' writer on a slow disk: after a slow commit its next batch
 * waits for the senders it has just answered, but not on a fast disk,
 * not once they are all back, and not for a steady stream that pauses. */
static void test_gather_waits_for_the_answered_senders(void **state)
{
	struct store_gather g = { 0.0004, 100.0, 99.99, 0, 64, 40 };

	(void)state;
	/* a fast disk: never */
	assert_true(store_gather_until(&g) == 0);
	/* a 10 ms commit, nothing came yet: half of it, at most 5 ms */
	g.last_commit = 0.010;
	assert_true(fabs(store_gather_until(&g) - 100.005) < 1e-9);
	g.last_commit = 0.006;
	assert_true(fabs(store_gather_until(&g) - 100.003) < 1e-9);
	g.last_commit = 0.100; /* a stall: still at most 5 ms */
	assert_true(fabs(store_gather_until(&g) - 100.005) < 1e-9);
	/* some came: no more than 0.5 ms after the last of them */
	g.came = 3;
	g.last_submit = 100.001;
	assert_true(fabs(store_gather_until(&g) - 100.0015) < 1e-9);
	g.last_submit = 100.0048;
	assert_true(fabs(store_gather_until(&g) - 100.005) < 1e-9);
	/* ... but only where at least half the last batch came while it was on
	 * the disk (a stream); senders that all waited for it come back in
	 * bursts: a gap between two is not the end */
	g.last_submit = 100.001;
	g.during = 32;
	assert_true(fabs(store_gather_until(&g) - 100.0015) < 1e-9);
	g.during = 31;
	assert_true(fabs(store_gather_until(&g) - 100.005) < 1e-9);
	g.during = 0;
	g.came = 1;
	assert_true(fabs(store_gather_until(&g) - 100.005) < 1e-9);
	/* as many as the last batch: they are back, start now */
	g.came = 64;
	assert_true(store_gather_until(&g) == 0);
	/* the first batch ever (no last one): start now */
	g.came = 0;
	g.last_n = 0;
	assert_true(store_gather_until(&g) == 0);
}

/* A submit wakes the writer only where its decision can change: a first
 * job, the first since a commit, as many as the last batch carried, a
 * full batch. Any other wake-up is a futex call and a thread switch per
 * webhook for nothing; a missed one would leave a batch waiting for its
 * deadline, or the idle writer asleep with a job queued. */
static void test_writer_woken_only_when_it_matters(void **state)
{
	(void)state;
	/* asleep with nothing queued: every first job wakes it */
	assert_true(store_writer_must_wake(true, 7, 64, 1, 1024));
	/* the first job since the last commit ends a fast disk's wait */
	assert_true(store_writer_must_wake(false, 1, 64, 5, 1024));
	/* the gathering batch: the 2nd..63rd of 64 change nothing */
	assert_false(store_writer_must_wake(false, 2, 64, 2, 1024));
	assert_false(store_writer_must_wake(false, 63, 64, 63, 1024));
	/* all the answered senders are back: it starts now */
	assert_true(store_writer_must_wake(false, 64, 64, 64, 1024));
	/* past them (a stream): nothing more to decide */
	assert_false(store_writer_must_wake(false, 65, 64, 65, 1024));
	/* a full batch: it starts now whatever it waited for */
	assert_true(store_writer_must_wake(false, 2000, 64, 1024, 1024));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_jobs_queued_together_commit_together),
		T(test_lanes_do_not_wait_for_each_other),
		T(test_stop_runs_the_queue),
		T(test_write_without_writer),
		cmocka_unit_test(test_gather_waits_for_the_answered_senders),
		cmocka_unit_test(test_writer_woken_only_when_it_matters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
