/* workq.c: see workq.h. */
#include "workq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void workq_init(struct workq *q, double qps, double burst)
{
	memset(q, 0, sizeof(*q));
	rc_map_init(&q->idx);
	q->base = 0.5;
	q->cap_s = 300;
	q->qps = qps;
	q->burst = burst;
	q->tokens = burst;
}

void workq_free(struct workq *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		free(q->items[i].key);
	free(q->items);
	rc_map_free(&q->idx);
	memset(q, 0, sizeof(*q));
}

static struct workq_item *get(struct workq *q, const char *key)
{
	size_t i;

	if (rc_map_get(&q->idx, key, &i))
		return &q->items[i];
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 32;
		q->items = rc_realloc(q->items, q->cap * sizeof(*q->items));
		/* the map borrows the keys, which do not move: only items do */
	}
	memset(&q->items[q->n], 0, sizeof(q->items[0]));
	q->items[q->n].key = rc_strdup(key);
	rc_map_put(&q->idx, q->items[q->n].key, q->n);
	return &q->items[q->n++];
}

void workq_add(struct workq *q, const char *key, double now)
{
	struct workq_item *it = get(q, key);

	(void)now;
	q->adds++;
	if (it->running) {
		it->dirty = true;
		q->merged++;
	} else if (it->queued) {
		q->merged++;
	} else {
		it->queued = true;
	}
}

static void refill(struct workq *q, double now)
{
	if (q->last_fill > 0)
		q->tokens += (now - q->last_fill) * q->qps;
	if (q->tokens > q->burst)
		q->tokens = q->burst;
	q->last_fill = now;
}

const char *workq_take(struct workq *q, double now, double *wait)
{
	return workq_take_if(q, now, wait, NULL, NULL);
}

const char *workq_take_if(struct workq *q, double now, double *wait,
			  bool (*can_run)(const char *key, void *payload), void *payload)
{
	struct workq_item *best = NULL;
	size_t i;

	*wait = -1;
	refill(q, now);
	for (i = 0; i < q->n; i++) {
		struct workq_item *it = &q->items[i];

		if (!it->queued || it->running)
			continue;
		if (it->not_before > now) {
			if (*wait < 0 || it->not_before - now < *wait)
				*wait = it->not_before - now;
			continue;
		}
		if (best && it->not_before >= best->not_before)
			continue;
		if (can_run && !can_run(it->key, payload))
			continue; /* stays queued: taken when its site is free */
		best = it;
	}
	if (!best)
		return NULL;
	if (q->tokens < 1) {
		*wait = (1 - q->tokens) / q->qps;
		return NULL;
	}
	q->tokens -= 1;
	best->queued = false;
	best->running = true;
	q->running_now++;
	if (q->running_now > q->running_max)
		q->running_max = q->running_now;
	return best->key;
}

void workq_done(struct workq *q, const char *key, bool ok, double now)
{
	struct workq_item *it = get(q, key);
	double delay;

	it->running = false;
	q->running_now--;
	q->processed++;
	if (ok) {
		it->failures = 0;
		it->not_before = 0;
	} else {
		delay = q->base * pow(2, it->failures < 30 ? it->failures : 30);
		it->failures++;
		it->not_before = now + (delay < q->cap_s ? delay : q->cap_s);
		it->queued = true;
	}
	if (it->dirty) {
		it->dirty = false;
		it->queued = true;
	}
}

size_t workq_depth(const struct workq *q)
{
	size_t i, n = 0;

	for (i = 0; i < q->n; i++)
		n += q->items[i].queued;
	return n;
}
