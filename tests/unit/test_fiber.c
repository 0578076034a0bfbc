/* test_fiber.c: fibers on a libev loop (reconciler/fiber.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ev.h>
#include <string.h>

#include "core/fiber.h"

struct trace {
	char log[64];
	size_t n;
	unsigned done;
};

struct job {
	struct trace *t;
	char name;
	double sleep;
	int steps;
};

static void note(struct trace *t, char c)
{
	if (t->n + 1 < sizeof(t->log))
		t->log[t->n++] = c;
}

static void run(void *arg)
{
	struct job *j = arg;
	int i;

	for (i = 0; i < j->steps; i++) {
		note(j->t, j->name);
		fiber_sleep(j->sleep);
	}
}

static void done(void *arg)
{
	struct job *j = arg;

	assert_null(fiber_current()); /* done runs on the loop */
	j->t->done++;
}

/* Sleeping fibers interleave on one loop; each resumes where it yielded. */
static void test_fibers_interleave(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct trace t = { 0 };
	struct job a = { &t, 'a', 0.02, 3 }, b = { &t, 'b', 0.03, 2 };

	(void)state;
	fiber_attach(loop);
	assert_null(fiber_current());
	assert_int_equal(fiber_spawn(run, &a, done), 0);
	assert_int_equal(fiber_spawn(run, &b, done), 0);
	/* both ran up to their first sleep and wait there */
	assert_int_equal(t.n, 2);
	assert_memory_equal(t.log, "ab", 2);
	assert_int_equal(fiber_count(), 2);
	ev_run(loop, 0); /* returns when no watcher is left: both ended */
	assert_int_equal(t.done, 2);
	assert_int_equal(fiber_count(), 0);
	t.log[t.n] = '\0';
	/* a at 0, 20, 40 ms; b at 0, 30 ms */
	assert_string_equal(t.log, "ababa");
	fiber_detach();
	ev_loop_destroy(loop);
}

struct waiter_job {
	struct fiber *self;
	int woken;
};

static void wait_once(void *arg)
{
	struct waiter_job *w = arg;

	w->self = fiber_current();
	fiber_yield();
	w->woken++;
}

static void wake_cb(struct ev_loop *loop, ev_timer *tm, int revents)
{
	struct waiter_job *w = tm->data;

	(void)loop;
	(void)revents;
	fiber_wake(w->self);
	fiber_wake(w->self); /* a second wake while queued is one wake */
}

static void long_sleep(void *arg)
{
	fiber_sleep(60);
	(*(int *)arg)++;
}

static void stop_cb(struct ev_loop *loop, ev_timer *tm, int revents)
{
	(void)loop;
	(void)tm;
	(void)revents;
	fiber_wake_sleepers();
	fiber_wake_sleepers(); /* twice: still one wake each */
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *tm, int revents)
{
	(void)tm;
	(void)revents;
	ev_break(loop, EVBREAK_ALL); /* the sleeps were not cut short */
}

/* fiber_wake_sleepers ends every sleep at once (a SIGTERM must not wait
 * out a 60 s Retry-After); the watchdog only fires if it did not. */
static void test_wake_sleepers(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	int woke = 0;
	ev_timer stop, dog;

	(void)state;
	fiber_attach(loop);
	assert_int_equal(fiber_spawn(long_sleep, &woke, NULL), 0);
	assert_int_equal(fiber_spawn(long_sleep, &woke, NULL), 0);
	ev_timer_init(&stop, stop_cb, 0.01, 0.);
	ev_timer_start(loop, &stop);
	ev_timer_init(&dog, watchdog_cb, 20., 0.);
	ev_timer_start(loop, &dog);
	while (fiber_count() && ev_run(loop, EVRUN_ONCE) && ev_is_active(&dog))
		;
	ev_timer_stop(loop, &dog);
	assert_int_equal(woke, 2);
	assert_int_equal(fiber_count(), 0);
	fiber_detach();
	ev_loop_destroy(loop);
}

struct queued {
	struct fiber_waitq *q;
	struct trace *t;
	char name;
};

static void wait_in_queue(void *arg)
{
	struct queued *w = arg;

	fiber_waitq_wait(w->q);
	note(w->t, w->name);
}

/* A wait queue wakes in arrival order, one at a time or all at once. */
static void test_waitq_fifo(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct fiber_waitq q = { 0 };
	struct trace t = { 0 };
	struct queued a = { &q, &t, 'a' }, b = { &q, &t, 'b' }, c = { &q, &t, 'c' };

	(void)state;
	fiber_attach(loop);
	assert_int_equal(fiber_spawn(wait_in_queue, &a, NULL), 0);
	assert_int_equal(fiber_spawn(wait_in_queue, &b, NULL), 0);
	assert_int_equal(fiber_spawn(wait_in_queue, &c, NULL), 0);
	assert_true(fiber_waitq_wake_one(&q));     /* a */
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(t.n, 1);
	fiber_waitq_wake_all(&q);                   /* b, c */
	assert_false(fiber_waitq_wake_one(&q));
	ev_run(loop, 0);
	t.log[t.n] = '\0';
	assert_string_equal(t.log, "abc");
	assert_int_equal(fiber_count(), 0);
	fiber_detach();
	ev_loop_destroy(loop);
}

struct urgent_q {
	struct queued q;
	bool urgent;
};

static void wait_urgent(void *arg)
{
	struct urgent_q *u = arg;

	fiber_set_urgent(u->urgent);
	wait_in_queue(&u->q);
}

/* Urgent fibers wait ahead of the others, each kind in arrival order. */
static void test_waitq_urgent_first(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct fiber_waitq q = { 0 };
	struct trace t = { 0 };
	struct urgent_q w[] = {
		{ { &q, &t, 'a' }, false }, { { &q, &t, 'B' }, true }, { { &q, &t, 'c' }, false },
		{ { &q, &t, 'D' }, true }, { { &q, &t, 'e' }, false },
	};
	size_t i;

	(void)state;
	fiber_attach(loop);
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		assert_int_equal(fiber_spawn(wait_urgent, &w[i], NULL), 0);
		ev_run(loop, EVRUN_NOWAIT); /* it runs to its wait */
	}
	assert_true(fiber_waitq_wake_one(&q));     /* B */
	ev_run(loop, EVRUN_NOWAIT);
	fiber_waitq_wake_all(&q);
	ev_run(loop, 0);
	t.log[t.n] = '\0';
	assert_string_equal(t.log, "BDace");
	assert_int_equal(fiber_count(), 0);
	fiber_detach();
	ev_loop_destroy(loop);
}

/* A yielded fiber runs again only once it is woken, and only once. */
static void test_fiber_wake(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct waiter_job w = { 0 };
	ev_timer tm;

	(void)state;
	fiber_attach(loop);
	assert_int_equal(fiber_spawn(wait_once, &w, NULL), 0);
	assert_non_null(w.self);
	assert_int_equal(w.woken, 0);
	ev_timer_init(&tm, wake_cb, 0.01, 0.);
	tm.data = &w;
	ev_timer_start(loop, &tm);
	ev_run(loop, 0);
	assert_int_equal(w.woken, 1);
	assert_int_equal(fiber_count(), 0);
	fiber_detach();
	ev_loop_destroy(loop);
}

/* Without a loop, fiber_sleep blocks and fiber_current is NULL (CLI). */
static void test_no_loop_blocks(void **state)
{
	(void)state;
	assert_false(fiber_attached());
	assert_null(fiber_current());
	fiber_sleep(0.001);
	fiber_yield(); /* not on a fiber: returns at once */
}


struct bounded {
	unsigned *now, *most, *ran;
};

static void bounded_item(void *arg)
{
	struct bounded *b = arg;

	if (++*b->now > *b->most)
		*b->most = *b->now;
	fiber_sleep(0.002); /* yield: the others start meanwhile */
	--*b->now;
	++*b->ran;
}

/* fiber_run_all runs every item, never more than at_once at a time, and
 * returns when all are done. */
static void test_run_all_bounded(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	unsigned now = 0, most = 0, ran = 0, i;
	struct bounded items[20];

	(void)state;
	for (i = 0; i < 20; i++)
		items[i] = (struct bounded){ &now, &most, &ran };
	fiber_attach(loop);
	fiber_run_all(bounded_item, items, sizeof(items[0]), 20, 3);
	assert_int_equal(ran, 20);
	assert_int_equal(most, 3);
	assert_int_equal(now, 0);
	assert_int_equal(fiber_count(), 0);
	fiber_detach();
	ev_loop_destroy(loop);
}

struct spot {
	uintptr_t at;            /* a local's address on the fiber's stack */
	const struct spot *prev; /* read what the previous fiber left there */
	char seen;
};

/* The mark is the deepest byte of a big frame: what runs on the stack
 * after a fiber returns (the switch back to the loop) stays above it. */
static void where(void *arg)
{
	struct spot *sp = arg;
	volatile char here[4096];

	if (sp->prev)
		sp->seen = *(volatile const char *)sp->prev->at;
	here[0] = 'x';
	sp->at = (uintptr_t)&here[0];
}

/* An ended fiber's stack is the next fiber's (no mmap and munmap per
 * fiber: what the last one wrote is still there), and a stack in use is
 * never given to another. */
static void test_stacks_are_reused(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct trace t = { 0 };
	struct job a = { &t, 'a', 0.01, 2 };
	struct spot first = { 0, NULL, 0 }, second = { 0, &first, 0 }, third = { 0, NULL, 0 };

	(void)state;
	fiber_attach(loop);
	assert_int_equal(fiber_spawn(where, &first, NULL), 0); /* ends at once */
	assert_int_equal(fiber_spawn(where, &second, NULL), 0);
	assert_true(first.at && first.at == second.at);
#if !defined(__SANITIZE_ADDRESS__)
	/* (ASan writes its own frame marks over a returned frame) */
	assert_int_equal(second.seen, 'x');
#endif
	assert_int_equal(fiber_spawn(run, &a, done), 0); /* takes that stack, sleeps */
	assert_int_equal(fiber_spawn(where, &third, NULL), 0);
	assert_true(third.at && (third.at > first.at ? third.at - first.at : first.at - third.at) > 4096);
	ev_run(loop, 0);
	assert_int_equal(t.done, 1);
	fiber_detach();
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_loop_blocks),
		cmocka_unit_test(test_fibers_interleave),
		cmocka_unit_test(test_fiber_wake),
		cmocka_unit_test(test_waitq_fifo),
		cmocka_unit_test(test_waitq_urgent_first),
		cmocka_unit_test(test_wake_sleepers),
		cmocka_unit_test(test_run_all_bounded),
		cmocka_unit_test(test_stacks_are_reused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
