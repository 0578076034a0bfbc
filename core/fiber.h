/*
 * fiber.h: cooperative fibers on the serve loop (one thread; ucontext to
 * enter a fiber, _setjmp/_longjmp to switch: fiber.c).
 *
 * A serve work item (plan + apply of one site) is ordinary blocking code:
 * refresh, diff, then one vendor call after another. Rather than turn the
 * engine inside out into callbacks, each work item runs on a fiber of its
 * own: when it waits for HTTP (curl multi on the libev loop, http.c) or
 * sleeps (a backoff, a Retry-After), it yields to the loop, which goes on
 * answering webhooks, firing timers and running other sites' fibers; the
 * loop resumes it when its transfer completes. Only the loop (the main
 * context) resumes fibers; a fiber never resumes another one directly but
 * wakes it (fiber_wake), and the loop runs it at its next iteration.
 *
 * Rules for code that runs on a fiber: never yield while holding an LMDB
 * write transaction (LMDB's writer lock belongs to the thread); read
 * transactions are fine (the store opens LMDB with MDB_NOTLS).
 */
#ifndef RC_FIBER_H
#define RC_FIBER_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct fiber;

typedef void (*fiber_fn)(void *arg);

/* Bind the fiber scheduler to loop (serve). Without it, fiber_current() is
 * always NULL and every caller blocks as before (plan, apply). */
void fiber_attach(struct ev_loop *loop);
void fiber_detach(void);
bool fiber_attached(void);
/* The loop fibers are attached to (borrowed), NULL when none. */
struct ev_loop *fiber_loop(void);

/* Start fn(arg) on a new fiber (its stack is mmap'ed with a guard page).
 * From the loop it runs at once until it first yields; from a fiber it is
 * started by the loop soon after (fibers never resume one another). done
 * (arg) is called on the loop after fn returns, and the fiber is freed.
 * Returns 0, or -1 when no stack could be had (nothing was started). */
int fiber_spawn(fiber_fn fn, void *arg, void (*done)(void *arg));

/* From the loop's own context (not a fiber): fn(items + i * size) for
 * every i < n, each on a fiber, at most at_once at a time; returns when
 * all are done, the loop run meanwhile. An item that gets no fiber (no
 * stack) runs here, alone. */
void fiber_run_all(fiber_fn fn, void *items, size_t size, size_t n, unsigned at_once);

/* The running fiber (borrowed), NULL on the loop itself. */
struct fiber *fiber_current(void);
/* Give control back to the loop until someone fiber_wake()s this fiber. */
void fiber_yield(void);
/* Make f runnable: the loop resumes it soon (safe from anywhere). */
void fiber_wake(struct fiber *f);
/* Sleep s seconds: on a fiber the loop runs meanwhile, else nanosleep. */
void fiber_sleep(double s);
/* End every fiber_sleep now (serve's SIGTERM: no backoff or Retry-After
 * wait outlasts the stop). Call on the loop. */
void fiber_wake_sleepers(void);
/* A FIFO of fibers waiting for something (a site, a connection slot),
 * urgent fibers first (each part in arrival order). Zero-initialised is
 * empty. The waiters' nodes live on their stacks, so
 * the queue itself may move (realloc) while they wait. */
struct fiber_waiter;
struct fiber_waitq {
	struct fiber_waiter *head, *tail;
};
/* On a fiber: queue up and yield until fiber_waitq_wake_* dequeues us.
 * The caller re-checks its condition afterwards (wakes are hints). */
void fiber_waitq_wait(struct fiber_waitq *q);
/* Wake the longest waiter (true) or nobody (false). */
bool fiber_waitq_wake_one(struct fiber_waitq *q);
void fiber_waitq_wake_all(struct fiber_waitq *q);
/* The calling fiber (nothing off a fiber) waits in every waitq ahead of
 * the fibers that are not urgent, and so do the fibers it spawns from now
 * on: serve's run of a move-in takes the next connection slot of the PMS
 * and of its vendor before the runs of queued updates. */
void fiber_set_urgent(bool urgent);
/* The calling fiber's fence (NULL: none; nothing off a fiber), inherited
 * by the fibers it spawns from now on: fiber_fence_ok asks it. The HTTP
 * client asks just before a request goes out, after any wait for a
 * connection slot, so that a cluster instance whose lease ran out while
 * a call waited sends nothing (an apply checks before each operation, but
 * an operation may then wait, and a paused process wakes there). */
void fiber_set_fence(bool (*fence)(void *arg), void *arg);
bool fiber_fence_ok(void);

/* Fibers alive (started, not finished). */
unsigned fiber_count(void);

#endif
