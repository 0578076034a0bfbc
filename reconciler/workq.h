/*
 * workq.h: a work queue keyed by string (Kubernetes workqueue semantics,
 * engineering-notes §8.2-8.3): a key is never processed twice at once;
 * adding a key already queued is a no-op, adding one that is running marks
 * it dirty so it runs once more after; failures back off per key
 * (base * 2^n, capped) and success resets the backoff; a global token
 * bucket caps the rate. Single-threaded (the serve loop).
 */
#ifndef RC_WORKQ_H
#define RC_WORKQ_H

#include "common.h"

struct workq_item {
	char *key;
	bool queued, running, dirty;
	unsigned failures;
	double not_before;       /* monotonic seconds */
};

struct workq {
	struct workq_item *items;
	size_t n, cap;
	struct rc_map idx;       /* key -> index */
	double base, cap_s;      /* backoff: base * 2^failures, at most cap_s */
	double qps, burst, tokens, last_fill;
	unsigned long adds, merged, processed;
	unsigned running_max;    /* most keys ever running at once (tests) */
	unsigned running_now;
};

void workq_init(struct workq *q, double qps, double burst);
void workq_free(struct workq *q);
/* Queue key (copied). */
void workq_add(struct workq *q, const char *key, double now);
/* The next key ready to run (borrowed), marking it running; NULL when none
 * is ready. *wait is set to the seconds until one may be. */
const char *workq_take(struct workq *q, double now, double *wait);
/* key finished: ok resets its backoff, else it is queued again later. */
void workq_done(struct workq *q, const char *key, bool ok, double now);
size_t workq_depth(const struct workq *q);
/* workq_take, skipping keys can_run() refuses (they stay queued): the
 * serve loop uses it to leave a busy site's keys for later. */
const char *workq_take_if(struct workq *q, double now, double *wait,
			  bool (*can_run)(const char *key, void *payload), void *payload);

#endif
