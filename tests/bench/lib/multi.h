/*
 * multi.h: a raw libcurl multi client for the benchmarks' floors and load:
 * a list of requests sent over kept-alive connections, at most limit[g]
 * in flight per group g (a group per API, as reconcile bounds each vendor
 * and the PMS apart), each no earlier than its scheduled time (open loop:
 * a late answer does not delay the next send unless its group is full).
 */
#ifndef RC_BENCH_MULTI_H
#define RC_BENCH_MULTI_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#define MULTI_GROUPS 4

struct mreq {
	const char *method;               /* borrowed */
	char *url;                        /* owned by the caller */
	char *body;                       /* owned by the caller; NULL: none */
	const struct curl_slist *headers; /* borrowed */
	unsigned group;                   /* < MULTI_GROUPS */
	double at;                        /* earliest send, seconds after the start */
	/* out */
	long status;                      /* HTTP status, 0 on a transport failure */
	double sent, done;                /* bench_now() when sent and answered */
};

/* Run every request; limit[g] in flight per group g (0: that group is
 * empty). Returns the wall time from the start to the last answer. */
double multi_run(struct mreq *r, size_t n, const unsigned limit[MULTI_GROUPS]);

#endif
