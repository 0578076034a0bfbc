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
	free(q->heap);
	free(q->free_slots);
	rc_map_free(&q->idx);
	memset(q, 0, sizeof(*q));
}

/* ---- the queue: a binary min-heap of slots on (not_before, urgent
 * first, seq); each item knows its place (pos) so that a key made urgent
 * while queued moves up in O(log queued) ---- */

static bool before(const struct workq *q, size_t a, size_t b)
{
	const struct workq_item *x = &q->items[a], *y = &q->items[b];

	if (x->not_before != y->not_before)
		return x->not_before < y->not_before;
	if (x->urgent != y->urgent)
		return x->urgent;
	return x->seq < y->seq;
}

static void heap_set(struct workq *q, size_t i, size_t slot)
{
	q->heap[i] = slot;
	q->items[slot].pos = i;
}

/* slot, at heap[i] or about to be, moved up to where it belongs. */
static void heap_up(struct workq *q, size_t i, size_t slot)
{
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!before(q, slot, q->heap[parent]))
			break;
		heap_set(q, i, q->heap[parent]);
		i = parent;
	}
	heap_set(q, i, slot);
}

static void heap_push(struct workq *q, size_t slot)
{
	heap_up(q, q->nheap++, slot);
}

/* Remove the first slot and park it at heap[nheap], just past the heap,
 * where take_if can push it back without a scratch array. */
static size_t heap_pop(struct workq *q)
{
	size_t top = q->heap[0], last = q->heap[--q->nheap], i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= q->nheap)
			break;
		if (c + 1 < q->nheap && before(q, q->heap[c + 1], q->heap[c]))
			c++;
		if (!before(q, q->heap[c], last))
			break;
		heap_set(q, i, q->heap[c]);
		i = c;
	}
	heap_set(q, i, last);
	heap_set(q, q->nheap, top);
	return top;
}

/* Push back the slots parked at heap[from..end). from >= nheap, and a push
 * writes at most at heap[nheap], so a parked slot is read before any push
 * can overwrite it. */
static void heap_unpark(struct workq *q, size_t from, size_t end)
{
	size_t j;

	for (j = from; j < end; j++)
		heap_push(q, q->heap[j]);
}

static void enqueue(struct workq *q, struct workq_item *it)
{
	it->queued = true;
	it->seq = q->seq++;
	heap_push(q, (size_t)(it - q->items));
}

/* ---- slots and the key map ---- */

static struct workq_item *find(struct workq *q, const char *key)
{
	size_t i;

	if (!rc_map_get(&q->idx, key, &i))
		return NULL;
	return &q->items[i];
}

/* heap and free_slots never hold more than cap slots: grow them together. */
static void grow(struct workq *q)
{
	q->cap = q->cap ? q->cap * 2 : 32;
	q->items = rc_realloc(q->items, q->cap * sizeof(*q->items));
	q->heap = rc_realloc(q->heap, q->cap * sizeof(*q->heap));
	q->free_slots = rc_realloc(q->free_slots, q->cap * sizeof(*q->free_slots));
}

static struct workq_item *get(struct workq *q, const char *key)
{
	struct workq_item *it = find(q, key);
	size_t i;

	if (it)
		return it;
	if (q->nfree) {
		i = q->free_slots[--q->nfree];
	} else {
		if (q->n == q->cap)
			grow(q);
		i = q->n++;
	}
	it = &q->items[i];
	memset(it, 0, sizeof(*it));
	/* items may move on grow, the key strings do not: the map borrows them */
	it->key = rc_strdup(key);
	rc_map_put(&q->idx, it->key, i);
	q->live++;
	return it;
}

/* Forget an idle key: its map entry and string go, its slot is reused. */
static void forget(struct workq *q, struct workq_item *it)
{
	size_t slot = (size_t)(it - q->items);

	rc_map_del(&q->idx, it->key);
	free(it->key);
	memset(it, 0, sizeof(*it));
	q->free_slots[q->nfree++] = slot;
	q->live--;
}

/* ---- the public operations ---- */

void workq_add_urgent(struct workq *q, const char *key, bool urgent, double now)
{
	struct workq_item *it = get(q, key);
	bool promote = urgent && !it->urgent;

	(void)now;
	q->adds++;
	if (urgent)
		it->urgent = true;
	if (it->running) {
		it->dirty = true;
		q->merged++;
	} else if (it->queued) {
		q->merged++;
		if (promote) /* only ever earlier: up from where it is */
			heap_up(q, it->pos, (size_t)(it - q->items));
	} else {
		enqueue(q, it);
	}
}

void workq_add(struct workq *q, const char *key, double now)
{
	workq_add_urgent(q, key, false, now);
}

bool workq_urgent(struct workq *q, const char *key)
{
	const struct workq_item *it = find(q, key);

	return it && it->urgent;
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
	size_t end = q->nheap, slot;
	struct workq_item *it = NULL;

	*wait = -1;
	refill(q, now);
	/* Pop ready keys in order until can_run accepts one; the refused ones
	 * are parked past the heap and pushed back below, still queued. */
	while (q->nheap) {
		if (q->items[q->heap[0]].not_before > now) {
			*wait = q->items[q->heap[0]].not_before - now;
			break;
		}
		slot = heap_pop(q);
		if (!can_run || can_run(q->items[slot].key, payload)) {
			it = &q->items[slot];
			break;
		}
	}
	if (it && q->qps > 0 && q->tokens < 1) {
		*wait = (1 - q->tokens) / q->qps;
		it = NULL; /* parked at heap[nheap]: pushed back with the rest */
	}
	heap_unpark(q, it ? q->nheap + 1 : q->nheap, end);
	if (!it)
		return NULL;
	q->tokens -= 1;
	it->queued = false;
	it->running = true;
	q->running_now++;
	if (q->running_now > q->running_max)
		q->running_max = q->running_now;
	return it->key;
}

void workq_done(struct workq *q, const char *key, bool ok, double now)
{
	struct workq_item *it = find(q, key);
	double delay;

	if (!it || !it->running)
		return;
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
		enqueue(q, it);
	}
	if (it->dirty && !it->queued)
		enqueue(q, it);
	it->dirty = false;
	if (!it->queued)
		forget(q, it); /* idle: key (and the caller's borrow) ends here */
}

size_t workq_depth(const struct workq *q)
{
	return q->nheap;
}
