/*
 * load.h: the webhook load generator of bench_serve: signed Storeganise
 * webhooks (sg-signature = base64 HMAC-SHA256 of the raw body, as
 * docs/pms-api.md §2.3 and tests/e2e/e2e_serve.c) sent to `reconcile serve`
 * at a given rate over kept-alive connections (lib/multi.h).
 */
#ifndef RC_BENCH_LOAD_H
#define RC_BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>

/* One webhook (job.unit_moveIn.completed or unitRental.updated). */
struct load_ev {
	char id[48];          /* the event id (deduplication key) */
	char rental[32];      /* data.unitRentalId */
	bool movein;          /* job.unit_moveIn.completed, else unitRental.updated */
	/* out */
	long status;          /* HTTP status of the answer, 0 on a transport failure */
	double sent, done;    /* bench_now() */
};

/* Send ev[0..n) to http://127.0.0.1:PORT/webhooks/storeganise, event i
 * to ports[i % nports] (round robin: a sender spreading its webhooks over
 * the instances of a cluster) no earlier than i / rate seconds after the
 * start (rate 0: at once), at most inflight unanswered in all. Returns the
 * wall time to the last answer. ev borrowed, its outputs filled. */
double load_run(struct load_ev *ev, size_t n, const int *ports, size_t nports, const char *secret,
		double rate, unsigned inflight);

#endif
