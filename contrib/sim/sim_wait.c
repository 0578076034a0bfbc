/*
 * sim_wait.c: timed waits that hold no thread. A request that must wait
 * (latency, delay faults) has its connection suspended in its access
 * handler; one timer thread keeps the deadlines in a min-heap and resumes
 * each connection when its time comes, and MHD then calls the access
 * handler again. MHD's pool threads stay free to serve other connections.
 *
 * Limits: one thread for all deadlines (a resume costs microseconds, so
 * thousands per second are fine); the precision is about a millisecond
 * plus the wake-up of MHD's thread; a suspended connection counts against
 * MHD's connection limit, is never timed out by MHD, and a client that
 * leaves meanwhile is only noticed after the resume.
 *
 * Lock order: g_mu, then MHD's own (suspend and resume take it).
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "sim_core.h"

struct pending {
	uint64_t due;                /* CLOCK_MONOTONIC, ns */
	struct MHD_Connection *c;    /* borrowed: suspended until we resume it */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static pthread_t g_thread;
static struct pending *g_heap;
static size_t g_n, g_cap;
static bool g_running, g_stopping;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void swap(size_t a, size_t b)
{
	struct pending t = g_heap[a];

	g_heap[a] = g_heap[b];
	g_heap[b] = t;
}

static void push(struct pending p)
{
	size_t i = g_n++;

	g_heap[i] = p;
	while (i > 0 && g_heap[(i - 1) / 2].due > g_heap[i].due) {
		swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct pending pop(void)
{
	struct pending top = g_heap[0];
	size_t i = 0, l, m;

	g_heap[0] = g_heap[--g_n];
	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < g_n && g_heap[l].due < g_heap[m].due)
			m = l;
		if (l + 1 < g_n && g_heap[l + 1].due < g_heap[m].due)
			m = l + 1;
		if (m == i)
			break;
		swap(i, m);
		i = m;
	}
	return top;
}

static void *timer_main(void *arg)
{
	struct timespec ts;
	uint64_t now;

	(void)arg;
	pthread_mutex_lock(&g_mu);
	while (!g_stopping) {
		if (!g_n) {
			pthread_cond_wait(&g_cv, &g_mu);
			continue;
		}
		now = now_ns();
		if (g_heap[0].due <= now) {
			MHD_resume_connection(pop().c);
			continue;
		}
		ts.tv_sec = (time_t)(g_heap[0].due / 1000000000u);
		ts.tv_nsec = (long)(g_heap[0].due % 1000000000u);
		pthread_cond_timedwait(&g_cv, &g_mu, &ts);
	}
	while (g_n)
		MHD_resume_connection(pop().c);
	pthread_mutex_unlock(&g_mu);
	return NULL;
}

int sim_wait_start(void)
{
	pthread_condattr_t a;
	int rc = -1;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (pthread_cond_init(&g_cv, &a))
		goto out;
	if (pthread_create(&g_thread, NULL, timer_main, NULL)) {
		pthread_cond_destroy(&g_cv);
		goto out;
	}
	g_running = true;
	rc = 0;
out:
	pthread_condattr_destroy(&a);
	return rc;
}

int sim_wait_suspend(struct MHD_Connection *c, long ms)
{
	struct pending *grown;
	int rc = -1;

	pthread_mutex_lock(&g_mu);
	if (!g_running || g_stopping)
		goto out;
	if (g_n == g_cap) {
		grown = realloc(g_heap, (g_cap ? 2 * g_cap : 64) * sizeof(*g_heap));
		if (!grown)
			goto out;
		g_heap = grown;
		g_cap = g_cap ? 2 * g_cap : 64;
	}
	MHD_suspend_connection(c);
	push((struct pending){ now_ns() + (uint64_t)(ms > 0 ? ms : 0) * 1000000u, c });
	if (g_heap[0].c == c)
		pthread_cond_signal(&g_cv);
	rc = 0;
out:
	pthread_mutex_unlock(&g_mu);
	return rc;
}

void sim_wait_stop(void)
{
	pthread_mutex_lock(&g_mu);
	if (!g_running) {
		pthread_mutex_unlock(&g_mu);
		return;
	}
	g_stopping = true;
	pthread_cond_signal(&g_cv);
	pthread_mutex_unlock(&g_mu);
	pthread_join(g_thread, NULL);
	pthread_cond_destroy(&g_cv);
	free(g_heap);
	g_heap = NULL;
	g_n = g_cap = 0;
	g_running = false;
}
