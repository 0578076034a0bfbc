/* commit.c: group commit on the loop. See commit.h. */
#define _GNU_SOURCE
#include "commit.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "core/fiber.h"

struct commit {
	struct store *s;
	struct ev_loop *loop;
	ev_async async;      /* the writer's "jobs are done" (thread-safe) */
};

static struct commit *g_commit; /* one state per process */

/* From the writer thread. */
static void notify(void *p)
{
	struct commit *c = p;

	ev_async_send(c->loop, &c->async);
}

static void async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct commit *c = w->data;

	(void)loop;
	(void)revents;
	store_writer_drain(c->s);
}

/* A fiber's job is durable: wake it (owner NULL says done). */
static void fiber_done(struct store_job *j)
{
	struct fiber *f = j->owner;

	j->owner = NULL;
	fiber_wake(f);
}

/* store_write's exec: a fiber waits for the group commit; the loop (and
 * code before the loop runs) writes at once. */
static void exec(struct store *s, struct store_job *j, void *p)
{
	(void)p;
	if (!fiber_current() || !store_writer_running(s)) {
		store_write_inline(s, j);
		return;
	}
	j->done = fiber_done;
	j->owner = fiber_current();
	store_writer_submit(s, j);
	while (j->owner)
		fiber_yield();
}

int commit_start(struct store *s, struct ev_loop *loop, struct rc_err *err)
{
	struct commit *c;
	int rc;

	if (g_commit)
		return rc_errf(err, RC_EINVAL, "group commit is running already");
	c = rc_calloc(1, sizeof(*c));
	c->s = s;
	c->loop = loop;
	ev_async_init(&c->async, async_cb);
	c->async.data = c;
	ev_async_start(loop, &c->async);
	rc = store_writer_start(s, notify, c, err);
	if (rc) {
		ev_async_stop(loop, &c->async);
		free(c);
		return rc;
	}
	store_set_exec(s, exec, c);
	g_commit = c;
	return RC_OK;
}

void commit_stop(struct store *s)
{
	struct commit *c = g_commit;

	if (!c || c->s != s)
		return;
	store_set_exec(s, NULL, NULL);
	store_writer_stop(s); /* runs the queue, then drains: every done called */
	ev_async_stop(c->loop, &c->async);
	free(c);
	g_commit = NULL;
}

void commit_submit(struct store *s, struct store_job *j)
{
	if (!store_writer_running(s)) {
		store_write_inline(s, j);
		j->done(j);
		return;
	}
	store_writer_submit(s, j);
}
