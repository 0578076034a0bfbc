/*
 * workq.h: a work queue keyed by string (client-go's workqueue semantics,
 * docs/architecture.md decision 6): a key is never processed twice at once;
 * adding a key already queued is a no-op, adding one that is running marks
 * it dirty so it runs once more after; failures back off per key
 * (base * 2^n, capped) and success resets the backoff; a global token
 * bucket caps the rate. Among keys ready to run, the earliest not_before
 * goes first, ties urgent keys first, then in the order they were queued. Single-threaded (the
 * serve loop).
 *
 * Cost: add, take and done are O(log queued) (take_if adds O(log queued)
 * per key can_run refuses); depth is O(1). A key is forgotten once it is
 * idle (done without failure or a pending add), so the strings and the key
 * map are bounded by the keys held; the slot arrays keep the peak count.
 */
#ifndef RC_WORKQ_H
#define RC_WORKQ_H

#include "common.h"

struct workq_item {
	char *key;               /* new; NULL while the slot is free */
	bool queued, running, dirty;
	unsigned failures;
	double not_before;       /* monotonic seconds */
	uint64_t seq;            /* when queued: orders ties on not_before */
	size_t pos;              /* its index in heap while queued */
	bool urgent;             /* ahead of the others ready at the same time */
};

struct workq {
	struct workq_item *items; /* slots, reused through free_slots */
	size_t n, cap;           /* slots ever used, slots allocated */
	size_t live;             /* keys held (queued, running or dirty) */
	size_t *heap, nheap;     /* queued slots: min-heap on (not_before, seq) */
	size_t *free_slots, nfree;
	struct rc_map idx;       /* key -> slot (borrows items[].key) */
	uint64_t seq;
	double base, cap_s;      /* backoff: base * 2^failures, at most cap_s */
	double qps, burst, tokens, last_fill;
	unsigned long adds, merged, processed;
	unsigned running_max;    /* most keys ever running at once (tests) */
	unsigned running_now;
};

/* qps 0: no global rate cap. */
void workq_init(struct workq *q, double qps, double burst);
void workq_free(struct workq *q);
/* Queue key (copied). */
void workq_add(struct workq *q, const char *key, double now);
/* workq_add; urgent: the key goes ahead of every key that is not urgent
 * and ready at the same time (a fresh key, or one past the same backoff),
 * also when it was queued already. It stays urgent while the queue holds
 * it (queued, running, or dirty), so that a run of an urgent key can
 * pass the urgency on to the keys it adds (workq_urgent). */
void workq_add_urgent(struct workq *q, const char *key, bool urgent, double now);
bool workq_urgent(struct workq *q, const char *key);
/* The next key ready to run, marking it running; NULL when none is ready.
 * The key is borrowed: valid until workq_done for it. When NULL is
 * returned, *wait is the seconds until a key may be ready (or until a
 * token), -1 when no key waits for time (none queued, or every ready one
 * refused by can_run: take again once some work is done). */
const char *workq_take(struct workq *q, double now, double *wait);
/* key finished: ok resets its backoff, else it is queued again later.
 * A key that is not running is ignored (the caller's bug, not a new key). */
void workq_done(struct workq *q, const char *key, bool ok, double now);
size_t workq_depth(const struct workq *q);
/* workq_take, skipping keys can_run() refuses (they stay queued): the
 * serve loop uses it to leave a busy site's keys for later. */
const char *workq_take_if(struct workq *q, double now, double *wait,
			  bool (*can_run)(const char *key, void *payload), void *payload);

#endif
