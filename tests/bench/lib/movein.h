/*
 * movein.h: move-ins of the generated facility (lib/gen.h) for the
 * benchmarks that drive `reconcile serve` with webhooks (bench_serve,
 * bench_cluster): a move-in added to the simulator's PMS before its
 * webhook, and each move-in matched to the OpenTech create it caused in
 * the simulator's request log, which stamps each request's arrival on the
 * simulator's monotonic clock.
 *
 * Matching: the create's path names no unit, but the simulator (one
 * thread) handles requests in arrival order and numbers visitors in
 * creation order, so the k-th successful POST .../visitors of the log
 * made the k-th new visitor, whose unitId names the unit (gen_ot_unit_of),
 * hence the move-in.
 */
#ifndef RC_BENCH_MOVEIN_H
#define RC_BENCH_MOVEIN_H

#include <jansson.h>
#include <stdbool.h>

#include "harness.h"

/* A move-in of unit i at site k in the PMS: its customer cm<k>-<i>, its
 * occupied rental m<k>-<i> (no code yet: reconcile makes one and writes
 * it back), its unit occupied. Unit i must be vacant (odd, in gen). */
void movein_add(struct e2e *t, unsigned k, unsigned i);
/* The rental id of that move-in into buf (>= 24). */
const char *movein_rental(unsigned k, unsigned i, char *buf, size_t n);
/* Whether a request of the simulator's log is a successful OpenTech
 * create (POST /opentech/facilities/F/visitors, 2xx). */
bool movein_is_create(json_t *req);
/* The largest OpenTech visitor id now (the base of a later match). */
long long movein_max_visitor(struct e2e *t);
/* Wait (timeout s at most) until the simulator's log holds `want`
 * successful creates: their number (< want at the deadline, said on
 * stderr). The log, not the state: a big state's dump stalls the
 * single-threaded simulator. */
unsigned movein_wait_creates(struct e2e *t, unsigned want, unsigned timeout);

/* When a move-in's create arrived and was answered at the simulator, on
 * bench_now()'s clock; 0 when it was not seen. */
struct mi_time {
	double at, answered;
};

/* Match the creates of log to the move-ins mi[0..nmi) ({site, unit}
 * pairs) through visitors (the simulator's OpenTech visitors, those above
 * id base being new): out[j] (nmi entries, zeroed by the caller) gets
 * move-in j's create; off converts the simulator's clock to bench_now()
 * (bench_sim_clock). nsites x units: the generated facility. All
 * borrowed. */
void movein_match(json_t *log, json_t *visitors, long long base, double off, unsigned nsites,
		  unsigned units, unsigned (*mi)[2], unsigned nmi, struct mi_time *out);

#endif
