/*
 * store_writer.c: group commit. Every write of the state is a job (a
 * function that writes into a transaction); store_write runs one.
 *
 * Without a writer, a job runs at once in its own durable transaction,
 * as the CLI always did. With one (serve; apply's concurrent run), jobs
 * are handed to a thread of their own that takes every job queued, runs
 * each in a nested transaction of one write transaction (a failing job
 * is undone alone) and commits them with one fsync: what many webhooks,
 * journal intents and site commits write at once costs one disk flush,
 * and the loop that serves webhooks and drives vendor calls never waits
 * on one. A job is done (its done callback runs on the caller's side,
 * from store_writer_drain) only once its transaction is durable: nothing
 * answered or called on its strength can be lost to a crash.
 *
 * While the writer thread fsyncs, new jobs queue up: the batch grows with
 * the load and the disk's latency, which is how one flush per batch keeps
 * up with thousands of events per second on a slow disk.
 *
 * On a slow disk a batch of webhooks also waits a moment before it starts.
 * A sender keeps a few dozen webhooks unanswered and sends the next ones
 * as the last are answered, a few milliseconds later. Committing at once
 * what is queued splits the senders into two groups that take turns: each
 * flush carries half of them, and each webhook waits for two commits. So
 * after a commit of the events' lane over GATHER_SLOW, the next starts no
 * sooner than half that commit's time (at most GATHER_MAX) after it
 * ended: the answered senders' next webhooks join the others, and one
 * flush carries them all. It starts sooner once as many webhooks as the
 * last batch carried have come, or once they stop coming for GATHER_GAP
 * (a steady stream, which waiting would only delay). That gap counts only
 * where at least half as many webhooks as the last batch carried came
 * while it was on the disk (a stream, or a second group of senders): a
 * sender that every answer reached sends its next ones in bursts a
 * millisecond apart, and a gap between two of them is not the end. On a
 * fast disk, and on the state's lane (a move-in's intents: its vendor
 * call waits), it never waits. tests/bench/README.md (bench_serve --sync-delay) has the
 * figures.
 *
 * Each lane (environment: the state, the webhook events) has a writer of
 * its own, as LMDB allows one write transaction per environment: a batch
 * of webhooks being flushed does not hold back a move-in's intents.
 */
#define _GNU_SOURCE
#include "store_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A batch stops growing here, so that one job's wait stays bounded. */
#define WRITER_BATCH_MAX 1024
#define GATHER_SLOW 0.002   /* s: a commit this slow makes the next batch gather */
#define GATHER_MAX 0.005    /* s: the most the next batch waits after one */
#define GATHER_GAP 0.0005   /* s: no job for this long: a stream, not senders back */

const double store_commit_buckets[STORE_COMMIT_NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1,
};

struct store_writer {
	struct store *s;
	enum store_lane lane;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_job *queue, **queue_tail;    /* submitted, not taken */
	unsigned queued;                          /* their number */
	unsigned long submitted;                  /* jobs ever submitted */
	unsigned long submitted_at_end;           /* ... when the last commit ended */
	unsigned queued_at_end;                   /* jobs queued then: came while it ran
						   * (or past WRITER_BATCH_MAX) */
	unsigned last_n;                          /* the last batch's jobs */
	double last_submit;                       /* rc_now_mono() of the last job */
	double last_commit;                       /* s, the last commit's time */
	double last_end;                          /* rc_now_mono() when it ended */
	struct store_job *done, **done_tail;      /* durable (or failed), not drained */
	bool stop;
	void (*notify)(void *p);                  /* from the writer thread */
	void *notify_p;
	unsigned long batches, jobs;
	unsigned long commit_hist[STORE_COMMIT_NBUCKETS + 1];
	double commit_sum;                        /* seconds */
};

/* Under w->mu. */
static void commit_took(struct store_writer *w, double dt)
{
	size_t i = 0;

	w->last_commit = dt;

	while (i < STORE_COMMIT_NBUCKETS && dt > store_commit_buckets[i])
		i++;
	w->commit_hist[i]++;
	w->commit_sum += dt;
}

int store_write_inline(struct store *s, struct store_job *j)
{
	struct store_txn *t = NULL;

	rc_err_clear(&j->err);
	j->rc = st_txn_begin(s, j->lane, true, &t, &j->err);
	if (j->rc)
		return j->rc;
	j->rc = j->fn(t, j->arg, &j->err);
	if (j->rc) {
		store_txn_abort(t);
		return j->rc;
	}
	j->rc = store_txn_commit(t, &j->err);
	return j->rc;
}

void store_set_exec(struct store *s, store_exec_fn fn, void *p)
{
	s->exec = fn;
	s->exec_p = p;
}

int st_write(struct store *s, enum store_lane lane, store_job_fn fn, void *arg,
	     struct rc_err *err)
{
	struct store_job j;

	memset(&j, 0, sizeof(j));
	j.fn = fn;
	j.arg = arg;
	j.lane = lane;
	if (s->exec)
		s->exec(s, &j, s->exec_p);
	else
		store_write_inline(s, &j);
	if (j.rc)
		*err = j.err;
	return j.rc;
}

int store_write(struct store *s, store_job_fn fn, void *arg, struct rc_err *err)
{
	return st_write(s, STORE_LANE_STATE, fn, arg, err);
}

/* j in a nested transaction of parent; its changes go to log (borrowed,
 * may be NULL), and are dropped again when it is undone. */
static void run_job(struct store *s, MDB_txn *parent, struct store_changes *log,
		    struct store_job *j)
{
	struct store_txn child = { s, NULL, log };
	size_t mark = log ? log->n : 0;
	int mrc = mdb_txn_begin(st_env(s, j->lane), parent, 0, &child.txn);

	rc_err_clear(&j->err);
	if (mrc) {
		j->rc = st_lmdb_err(&j->err, s, "begin a nested transaction", mrc);
		return;
	}
	j->rc = j->fn(&child, j->arg, &j->err);
	if (j->rc) {
		mdb_txn_abort(child.txn);
		st_log_truncate(log, mark);
		return;
	}
	mrc = mdb_txn_commit(child.txn);
	if (mrc) {
		j->rc = st_lmdb_err(&j->err, s, "commit a nested transaction", mrc);
		st_log_truncate(log, mark);
	}
}

/* One batch: its jobs in one transaction, handed to the replica (cluster
 * mode; the state's lane) and then committed with one fsync; a replica
 * that did not take it fails every job of the batch. The commit's time in
 * seconds, or -1 when it failed. */
static double run_batch(struct store_writer *w, struct store_job *batch)
{
	struct store *s = w->s;
	struct store_changes *log = w->lane == STORE_LANE_STATE ? st_log_new(s) : NULL;
	struct store_job *j;
	struct rc_err err;
	MDB_txn *txn = NULL;
	double t0, dt = -1;
	int mrc = mdb_txn_begin(st_env(s, w->lane), NULL, 0, &txn), rc = RC_OK;

	if (mrc)
		rc = st_lmdb_err(&err, s, "begin transaction", mrc);
	for (j = batch; !rc && j; j = j->next)
		run_job(s, txn, log, j);
	if (!rc)
		rc = st_publish(s, log, &err);
	if (rc && txn)
		mdb_txn_abort(txn);
	if (!rc) {
		t0 = rc_now_mono();
		mrc = mdb_txn_commit(txn);
		dt = rc_now_mono() - t0;
		if (mrc)
			rc = st_lmdb_err(&err, s, "commit", mrc);
	}
	st_log_free(log);
	if (!rc)
		return dt;
	for (j = batch; j; j = j->next) { /* nothing of the batch is durable */
		j->rc = rc;
		j->err = err;
	}
	return -1;
}

static struct timespec abs_mono(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	return ts;
}

bool store_writer_must_wake(bool was_empty, unsigned long came, unsigned long last_n,
			    unsigned long queued, unsigned long max)
{
	return was_empty || came == 1 || came == last_n || queued >= max;
}

double store_gather_until(const struct store_gather *g)
{
	double until;

	if (g->last_commit <= GATHER_SLOW || g->came >= g->last_n)
		return 0;
	until = g->last_end + (g->last_commit / 2 < GATHER_MAX ? g->last_commit / 2 : GATHER_MAX);
	if (g->came && 2 * g->during >= g->last_n && g->last_submit + GATHER_GAP < until)
		until = g->last_submit + GATHER_GAP;
	return until;
}

/* Under w->mu: the events' next batch waits while store_gather_until says
 * so (see the top of this file). */
static void gather(struct store_writer *w)
{
	struct store_gather g;
	struct timespec ts;
	double until;

	if (w->lane != STORE_LANE_EVENTS)
		return;
	for (;;) {
		g = (struct store_gather){ w->last_commit, w->last_end, w->last_submit,
					   w->submitted - w->submitted_at_end, w->last_n,
					   w->queued_at_end };
		until = store_gather_until(&g);
		if (w->stop || w->queued >= WRITER_BATCH_MAX || rc_now_mono() >= until)
			return;
		ts = abs_mono(until);
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
}

static void *writer_main(void *p)
{
	struct store_writer *w = p;
	struct store_job *batch, *j, **tail;
	double dt;
	unsigned n;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->queue && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->queue)
			break; /* stopping, and nothing left */
		gather(w);
		batch = w->queue;
		for (n = 1, tail = &batch->next; *tail && n < WRITER_BATCH_MAX; n++)
			tail = &(*tail)->next;
		w->queue = *tail;
		w->queued -= n;
		if (!w->queue)
			w->queue_tail = &w->queue;
		*tail = NULL;
		pthread_mutex_unlock(&w->mu);
		dt = run_batch(w, batch);
		pthread_mutex_lock(&w->mu);
		w->last_end = rc_now_mono();
		w->last_n = n;
		w->submitted_at_end = w->submitted;
		w->queued_at_end = w->queued;
		if (dt >= 0)
			commit_took(w, dt);
		w->batches++;
		w->jobs += n;
		*w->done_tail = batch;
		for (j = batch; j->next; j = j->next)
			;
		w->done_tail = &j->next;
		if (w->notify)
			w->notify(w->notify_p);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static struct store_writer *writer_new(struct store *s, enum store_lane lane,
				       void (*notify)(void *p), void *p)
{
	struct store_writer *w = rc_calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	w->s = s;
	w->lane = lane;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* gather()'s deadlines: rc_now_mono */
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->queue_tail = &w->queue;
	w->done_tail = &w->done;
	w->notify = notify;
	w->notify_p = p;
	if (pthread_create(&w->thread, NULL, writer_main, w) == 0)
		return w;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return NULL;
}

int store_writer_start(struct store *s, void (*notify)(void *p), void *p, struct rc_err *err)
{
	int lane;

	if (s->writer[STORE_LANE_STATE])
		return rc_errf(err, RC_EINVAL, "state %s: a writer is running already", s->dir);
	for (lane = 0; lane < STORE_LANES; lane++) {
		s->writer[lane] = writer_new(s, (enum store_lane)lane, notify, p);
		if (!s->writer[lane]) {
			store_writer_stop(s);
			return rc_errf(err, RC_ERR, "state %s: cannot start the writer threads", s->dir);
		}
	}
	return RC_OK;
}

bool store_writer_running(const struct store *s)
{
	return s->writer[STORE_LANE_STATE] != NULL;
}

void store_writer_submit(struct store *s, struct store_job *j)
{
	struct store_writer *w = s->writer[j->lane];
	unsigned long came;
	bool wake;

	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	wake = !w->queue;
	*w->queue_tail = j;
	w->queue_tail = &j->next;
	w->queued++;
	w->submitted++;
	w->last_submit = rc_now_mono();
	came = w->submitted - w->submitted_at_end;
	wake = store_writer_must_wake(wake, came, w->last_n, w->queued, WRITER_BATCH_MAX);
	pthread_mutex_unlock(&w->mu);
	if (wake)
		pthread_cond_signal(&w->cv); /* after: the woken writer does not block on mu at once */
}

/* Call done() of every durable job (the caller's thread). */
static void drain(struct store_writer *w)
{
	struct store_job *list, *j, *next;

	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mu);
	for (j = list; j; j = next) {
		next = j->next; /* done() may free j */
		j->done(j);
	}
}

void store_writer_drain(struct store *s)
{
	int lane;

	for (lane = 0; lane < STORE_LANES; lane++)
		if (s->writer[lane])
			drain(s->writer[lane]);
}

void store_writer_stats(const struct store *s, unsigned long *batches, unsigned long *jobs)
{
	struct store_writer *w;
	int lane;

	*batches = *jobs = 0;
	for (lane = 0; lane < STORE_LANES; lane++) {
		w = s->writer[lane];
		if (!w)
			continue;
		pthread_mutex_lock(&w->mu);
		*batches += w->batches;
		*jobs += w->jobs;
		pthread_mutex_unlock(&w->mu);
	}
}

void store_writer_commit_times(const struct store *s, enum store_lane lane,
			       unsigned long counts[STORE_COMMIT_NBUCKETS + 1], double *sum)
{
	struct store_writer *w = s->writer[lane];

	memset(counts, 0, sizeof(unsigned long) * (STORE_COMMIT_NBUCKETS + 1));
	*sum = 0;
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	memcpy(counts, w->commit_hist, sizeof(w->commit_hist));
	*sum = w->commit_sum;
	pthread_mutex_unlock(&w->mu);
}

static void writer_stop(struct store_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL); /* every queued job has run */
	drain(w);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* The events' lane first: its jobs may be followed by the state's. */
void store_writer_stop(struct store *s)
{
	struct store_writer *w;
	int lane;

	for (lane = STORE_LANES - 1; lane >= 0; lane--) {
		w = s->writer[lane];
		s->writer[lane] = NULL;
		if (w)
			writer_stop(w);
	}
}
