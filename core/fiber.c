/* fiber.c: see fiber.h. ucontext fibers resumed by a libev timer.
 *
 * A fiber's first entry is makecontext/swapcontext (a fresh stack); every
 * switch after it is _setjmp/_longjmp, which save and restore registers
 * only. glibc's swapcontext also saves and sets the signal mask, a system
 * call per switch: three or four per webhook, several µs each on a virtual
 * machine (6 % of serve's CPU in a flood). A jump always goes to a frame
 * that is live and waiting in a _setjmp: the loop's in resume(), a fiber's
 * in fiber_yield(). glibc's _FORTIFY_SOURCE check of longjmp (the target
 * frame must be above the current one on the same stack) does not hold
 * between stacks, so it is off in this file. Builds with AddressSanitizer
 * switch with swapcontext only (its fiber annotations are made for it). */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include "fiber.h"

#include <ev.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* AddressSanitizer must be told when the stack changes under it (GCC
 * says it is on with __SANITIZE_ADDRESS__, clang with __has_feature). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(FIBER_ASAN)
#define FIBER_JMP 0
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define FIBER_STACK (4u << 20)
#define ASAN_CLEAN(p, n) __asan_unpoison_memory_region(p, n)
#define ASAN_START(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define ASAN_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define FIBER_JMP 1
#define FIBER_STACK (1u << 20)
#define ASAN_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define ASAN_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define ASAN_CLEAN(p, n) ((void)(p), (void)(n))
#endif

/* Stacks of ended fibers kept for the next ones: a serve run spawns a few
 * fibers, and an mmap, mprotect and munmap each (the munmap a TLB
 * shootdown on every CPU) cost more than the run's own CPU work did. */
#define FIBER_POOL 32

struct fiber {
	ucontext_t ctx;           /* its first entry */
	jmp_buf jb;               /* where it waits in fiber_yield (FIBER_JMP) */
	bool started;             /* entered once: jb is set */
	void *map;                /* guard page + stack */
	size_t map_len;
	fiber_fn fn;
	void (*done)(void *);
	void *arg;
	bool finished, queued;
	bool urgent;              /* waits ahead of the others (fiber_set_urgent) */
	bool (*fence)(void *);    /* fiber_set_fence */
	void *fence_arg;
	struct fiber *next;       /* ready list */
	ev_timer sleep;
	struct fiber *sleep_prev, *sleep_next; /* g_sleepers, while in fiber_sleep */
	void *asan_fake;
};

static struct ev_loop *g_loop;
static ucontext_t g_main;
static jmp_buf g_main_jb;          /* the loop, in resume() */
static struct fiber *g_cur;
static struct fiber *g_ready, *g_ready_tail;
static struct fiber *g_sleepers;
static ev_timer g_ready_timer;
static unsigned g_count;
static void *g_pool[FIBER_POOL];   /* guard page + stack each (FIBER_STACK) */
static size_t g_npool;
static const void *g_main_bottom;  /* the loop's stack, for ASan */
static size_t g_main_size;

struct fiber *fiber_current(void)
{
	return g_cur;
}

unsigned fiber_count(void)
{
	return g_count;
}

bool fiber_attached(void)
{
	return g_loop != NULL;
}

struct ev_loop *fiber_loop(void)
{
	return g_loop;
}

static void *stack_base(const struct fiber *f, size_t page)
{
	return (char *)f->map + page;
}

/* Run f until it yields or ends (loop context only). */
static void resume(struct fiber *f)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *main_fake = NULL;

	g_cur = f;
	ASAN_START(&main_fake, stack_base(f, page), f->map_len - page);
	if (!FIBER_JMP) {
		swapcontext(&g_main, &f->ctx);
	} else if (_setjmp(g_main_jb) == 0) { /* 1: back from the fiber */
		if (f->started)
			_longjmp(f->jb, 1);
		f->started = true;
		swapcontext(&g_main, &f->ctx); /* left by a jump, never returns */
	}
	ASAN_FINISH(main_fake, NULL, NULL);
	g_cur = NULL;
	if (!f->finished)
		return;
	if (f->done)
		f->done(f->arg);
	if (g_npool < FIBER_POOL)
		g_pool[g_npool++] = f->map;
	else
		munmap(f->map, f->map_len);
	free(f);
	g_count--;
}

static void trampoline(void)
{
	struct fiber *f = g_cur;

	ASAN_FINISH(NULL, &g_main_bottom, &g_main_size);
	f->fn(f->arg);
	f->finished = true;
	/* NULL: this fiber's ASan fake stack is gone for good */
	ASAN_START(NULL, g_main_bottom, g_main_size);
	if (FIBER_JMP)
		_longjmp(g_main_jb, 1);
	swapcontext(&f->ctx, &g_main);
	abort(); /* a finished fiber is never resumed */
}

static void ready_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fiber *list = g_ready, *f;

	(void)loop;
	(void)w;
	(void)revents;
	/* fibers woken while these run wait for the next iteration */
	g_ready = g_ready_tail = NULL;
	while (list) {
		f = list;
		list = f->next;
		f->next = NULL;
		f->queued = false;
		resume(f);
	}
}

void fiber_attach(struct ev_loop *loop)
{
	g_loop = loop;
	ev_timer_init(&g_ready_timer, ready_cb, 0., 0.);
}

void fiber_detach(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (g_loop)
		ev_timer_stop(g_loop, &g_ready_timer);
	g_loop = NULL;
	while (g_npool)
		munmap(g_pool[--g_npool], FIBER_STACK + page);
}

void fiber_wake(struct fiber *f)
{
	if (!f || f->queued || f->finished)
		return;
	f->queued = true;
	if (g_ready_tail)
		g_ready_tail->next = f;
	else
		g_ready = f;
	g_ready_tail = f;
	if (g_loop && !ev_is_active(&g_ready_timer)) {
		ev_timer_set(&g_ready_timer, 0., 0.);
		ev_timer_start(g_loop, &g_ready_timer);
	}
}

void fiber_yield(void)
{
	struct fiber *f = g_cur;

	if (!f)
		return;
	ASAN_START(&f->asan_fake, g_main_bottom, g_main_size);
	if (!FIBER_JMP)
		swapcontext(&f->ctx, &g_main);
	else if (_setjmp(f->jb) == 0) /* 1: resumed */
		_longjmp(g_main_jb, 1);
	ASAN_FINISH(f->asan_fake, &g_main_bottom, &g_main_size);
}

static void sleep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	fiber_wake(w->data);
}

void fiber_sleep(double s)
{
	struct fiber *f = g_cur;
	struct timespec ts;

	if (s <= 0)
		return;
	if (!f || !g_loop) {
		ts.tv_sec = (time_t)s;
		ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		return;
	}
	ev_now_update(g_loop); /* from now, not the loop's cached time: never early */
	ev_timer_init(&f->sleep, sleep_cb, s, 0.);
	f->sleep.data = f;
	ev_timer_start(g_loop, &f->sleep);
	f->sleep_prev = NULL;
	f->sleep_next = g_sleepers;
	if (g_sleepers)
		g_sleepers->sleep_prev = f;
	g_sleepers = f;
	fiber_yield();
	ev_timer_stop(g_loop, &f->sleep);
	if (f->sleep_prev)
		f->sleep_prev->sleep_next = f->sleep_next;
	else
		g_sleepers = f->sleep_next;
	if (f->sleep_next)
		f->sleep_next->sleep_prev = f->sleep_prev;
}

struct fiber_waiter {
	struct fiber *f;
	struct fiber_waiter *next;
};

/* The node lives on this frame while it is queued: the waker dequeues it
 * before this fiber runs again, which GCC cannot see across the yield. */
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
void fiber_waitq_wait(struct fiber_waitq *q)
{
	struct fiber_waiter w = { g_cur, NULL }, **at = &q->head;

	if (g_cur->urgent) /* after the urgent ones, ahead of the rest: O(urgent waiters) */
		while (*at && (*at)->f->urgent)
			at = &(*at)->next;
	else if (q->tail)
		at = &q->tail->next;
	w.next = *at;
	*at = &w;
	if (!w.next)
		q->tail = &w;
	fiber_yield(); /* q may have moved meanwhile: not touched again */
}
#pragma GCC diagnostic pop

bool fiber_waitq_wake_one(struct fiber_waitq *q)
{
	struct fiber_waiter *w = q->head;

	if (!w)
		return false;
	q->head = w->next;
	if (!q->head)
		q->tail = NULL;
	fiber_wake(w->f);
	return true;
}

void fiber_set_urgent(bool urgent)
{
	if (g_cur)
		g_cur->urgent = urgent;
}

void fiber_set_fence(bool (*fence)(void *arg), void *arg)
{
	if (!g_cur)
		return;
	g_cur->fence = fence;
	g_cur->fence_arg = arg;
}

bool fiber_fence_ok(void)
{
	return !g_cur || !g_cur->fence || g_cur->fence(g_cur->fence_arg);
}

void fiber_waitq_wake_all(struct fiber_waitq *q)
{
	while (fiber_waitq_wake_one(q))
		;
}

void fiber_wake_sleepers(void)
{
	struct fiber *f;

	for (f = g_sleepers; f; f = f->sleep_next) {
		if (!ev_is_active(&f->sleep))
			continue; /* its timer fired: already woken */
		ev_timer_stop(g_loop, &f->sleep);
		fiber_wake(f);
	}
}

int fiber_spawn(fiber_fn fn, void *arg, void (*done)(void *arg))
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct fiber *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->map_len = FIBER_STACK + page;
	if (g_npool) {
		f->map = g_pool[--g_npool];
		ASAN_CLEAN(stack_base(f, page), FIBER_STACK); /* the last frames' redzones */
	} else {
		f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (f->map == MAP_FAILED) {
			free(f);
			return -1;
		}
		/* the lowest page traps a stack overflow instead of corrupting memory */
		mprotect(f->map, page, PROT_NONE);
	}
	f->fn = fn;
	f->arg = arg;
	f->done = done;
	f->urgent = g_cur && g_cur->urgent; /* a run's helpers share its urgency */
	if (g_cur) { /* and its fence */
		f->fence = g_cur->fence;
		f->fence_arg = g_cur->fence_arg;
	}
	getcontext(&f->ctx);
	f->ctx.uc_stack.ss_sp = stack_base(f, page);
	f->ctx.uc_stack.ss_size = FIBER_STACK;
	f->ctx.uc_link = NULL;
	makecontext(&f->ctx, trampoline, 0);
	g_count++;
	if (g_cur)
		fiber_wake(f); /* from a fiber: the loop starts it (only it resumes) */
	else
		resume(f);
	return 0;
}

struct run_all {
	fiber_fn fn;
	void *item;
	unsigned *running;
};

static void run_all_item(void *arg)
{
	struct run_all *r = arg;

	r->fn(r->item);
}

static void run_all_done(void *arg)
{
	struct run_all *r = arg;

	--*r->running;
}

void fiber_run_all(fiber_fn fn, void *items, size_t size, size_t n, unsigned at_once)
{
	struct run_all *runs = calloc(n + 1, sizeof(*runs));
	unsigned running = 0;
	size_t next = 0;

	if (!runs) { /* no memory for the bookkeeping: one after another */
		for (; next < n; next++)
			fn((char *)items + next * size);
		return;
	}
	while (next < n || running) {
		while (next < n && running < at_once) {
			runs[next] = (struct run_all){ fn, (char *)items + next * size, &running };
			running++;
			if (fiber_spawn(run_all_item, &runs[next], run_all_done) != 0) {
				running--;
				fn(runs[next].item); /* no fiber: here, alone */
			}
			next++;
		}
		if (running)
			ev_run(g_loop, EVRUN_ONCE);
	}
	free(runs);
}
