/* multi.c: see multi.h. */
#define _GNU_SOURCE
#include "multi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct mrun {
	CURLM *m;
	struct mreq *r;
	size_t *order[MULTI_GROUPS]; /* indexes of each group's requests, in order */
	size_t count[MULTI_GROUPS], next[MULTI_GROUPS];
	unsigned inflight[MULTI_GROUPS];
	const unsigned *limit;
	double start;
	size_t finished;
};

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

static void add(struct mrun *x, size_t i)
{
	struct mreq *q = &x->r[i];
	CURL *c = curl_easy_init();

	if (!c)
		bench_die("curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)(uintptr_t)i);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	if (q->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(q->body));
	}
	if (strcmp(q->method, q->body ? "POST" : "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	q->sent = bench_now();
	curl_multi_add_handle(x->m, c);
	x->inflight[q->group]++;
}

/* Start what is due and has room; the seconds until the next is due. */
static double start_due(struct mrun *x)
{
	double now = bench_now() - x->start, wait = 0.05;
	unsigned g;

	for (g = 0; g < MULTI_GROUPS; g++) {
		while (x->next[g] < x->count[g] && x->inflight[g] < x->limit[g]) {
			size_t i = x->order[g][x->next[g]];

			if (x->r[i].at > now) {
				if (x->r[i].at - now < wait)
					wait = x->r[i].at - now;
				break;
			}
			add(x, i);
			x->next[g]++;
		}
	}
	return wait;
}

static void reap(struct mrun *x)
{
	CURLMsg *msg;
	int left;

	for (;;) {
		msg = curl_multi_info_read(x->m, &left);
		if (!msg)
			break;
		if (msg->msg == CURLMSG_DONE) {
			CURL *c = msg->easy_handle;
			void *pv = NULL;
			struct mreq *q;

			curl_easy_getinfo(c, CURLINFO_PRIVATE, &pv);
			q = &x->r[(uintptr_t)pv];
			q->done = bench_now();
			q->status = 0;
			if (msg->data.result == CURLE_OK)
				curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
			curl_multi_remove_handle(x->m, c);
			curl_easy_cleanup(c);
			x->inflight[q->group]--;
			x->finished++;
		}
	}
}

double multi_run(struct mreq *r, size_t n, const unsigned limit[MULTI_GROUPS])
{
	struct mrun x;
	unsigned g, total = 0;
	double last = 0, wait;
	size_t i;
	int running;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.limit = limit;
	for (g = 0; g < MULTI_GROUPS; g++) {
		x.order[g] = rc_calloc(n + 1, sizeof(size_t));
		total += limit[g];
	}
	for (i = 0; i < n; i++) {
		if (r[i].group >= MULTI_GROUPS || !limit[r[i].group])
			bench_die("multi_run: request %zu has no room (group %u)", i, r[i].group);
		x.order[r[i].group][x.count[r[i].group]++] = i;
	}
	x.m = curl_multi_init();
	curl_multi_setopt(x.m, CURLMOPT_MAXCONNECTS, (long)total + 8);
	x.start = bench_now();
	while (x.finished < n) {
		size_t before = x.finished;

		wait = start_due(&x);
		curl_multi_perform(x.m, &running);
		reap(&x);
		if (x.finished == before) /* else room was freed: fill it first */
			curl_multi_poll(x.m, NULL, 0, (int)(wait * 1000), NULL);
	}
	for (i = 0; i < n; i++)
		if (r[i].done > last)
			last = r[i].done;
	curl_multi_cleanup(x.m);
	for (g = 0; g < MULTI_GROUPS; g++)
		free(x.order[g]);
	return n ? last - x.start : 0;
}
