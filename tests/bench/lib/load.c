/* load.c: see load.h. Bodies and signatures are made before the clock
 * starts, so that the rate is the wire's, not the generator's. */
#define _GNU_SOURCE
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bench.h"
#include "multi.h"

static char *body_of(const struct load_ev *e)
{
	if (e->movein)
		return rc_sprintf("{\"id\":\"%s\",\"type\":\"job.unit_moveIn.completed\","
				  "\"created\":\"2026-12-01T00:00:00.000Z\",\"data\":{\"unitRentalId\":\"%s\"}}",
				  e->id, e->rental);
	return rc_sprintf("{\"id\":\"%s\",\"type\":\"unitRental.updated\","
			  "\"created\":\"2026-12-01T00:00:00.000Z\",\"data\":{\"unitRentalId\":\"%s\","
			  "\"changedKeys\":[\"notes\"]}}", e->id, e->rental);
}

/* The headers of one body: its signature and content type (new). */
static struct curl_slist *signed_headers(const char *secret, const char *body)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char sig[128], hdr[160];
	struct curl_slist *h;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body),
	     mac, &n);
	EVP_EncodeBlock((unsigned char *)sig, mac, (int)n);
	snprintf(hdr, sizeof(hdr), "sg-signature: %s", sig);
	h = curl_slist_append(NULL, hdr);
	return curl_slist_append(h, "Content-Type: application/json;charset=UTF-8");
}

double load_run(struct load_ev *ev, size_t n, const int *ports, size_t nports, const char *secret,
		double rate, unsigned inflight)
{
	unsigned limit[MULTI_GROUPS] = { inflight, 0, 0, 0 };
	struct mreq *r = rc_calloc(n + 1, sizeof(*r));
	struct curl_slist **h = rc_calloc(n + 1, sizeof(*h));
	char **url = rc_calloc(nports + 1, sizeof(*url));
	double wall;
	size_t i;

	for (i = 0; i < nports; i++)
		url[i] = rc_sprintf("http://127.0.0.1:%d/webhooks/storeganise", ports[i]);
	for (i = 0; i < n; i++) {
		r[i].method = "POST";
		r[i].url = url[i % nports];
		r[i].body = body_of(&ev[i]);
		h[i] = signed_headers(secret, r[i].body);
		r[i].headers = h[i];
		r[i].at = rate > 0 ? (double)i / rate : 0;
	}
	wall = multi_run(r, n, limit);
	for (i = 0; i < n; i++) {
		ev[i].status = r[i].status;
		ev[i].sent = r[i].sent;
		ev[i].done = r[i].done;
		free(r[i].body);
		curl_slist_free_all(h[i]);
	}
	for (i = 0; i < nports; i++)
		free(url[i]);
	free(url);
	free(h);
	free(r);
	return wall;
}
