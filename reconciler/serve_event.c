/* serve_event.c: a Storeganise webhook's pure part: its signature, and
 * the keys its event names (docs/pms-api.md §2.3, §2.4). No I/O, so that
 * tests/fuzz can run it on any bytes. */
#define _GNU_SOURCE
#include "serve_int.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

/* The webhook secret's HMAC-SHA256, keyed once: HMAC() fetches the
 * algorithm and sets the key up again on every call (6 % of the loop's
 * time under a flood of webhooks); a keyed context re-initialised per
 * body costs a fifth of that. OpenSSL holds the key (and wipes it when
 * the context is freed). */
struct serve_signer {
	EVP_MAC_CTX *ctx;
};

struct serve_signer *serve_signer_new(const char *secret)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	struct serve_signer *sg;

	EVP_MAC_free(mac); /* the context keeps its own reference */
	if (!ctx || !secret ||
	    !EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	sg = rc_calloc(1, sizeof(*sg));
	sg->ctx = ctx;
	return sg;
}

void serve_signer_free(struct serve_signer *sg)
{
	if (!sg)
		return;
	EVP_MAC_CTX_free(sg->ctx);
	free(sg);
}

/* sg-signature = base64(HMAC-SHA256(secret, raw body)), compared in
 * constant time. */
bool serve_signature_ok(struct serve_signer *sg, const char *body, size_t len, const char *sig)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t n = 0;
	char want[96];
	bool ok;

	if (!sig || !*sig || !sg)
		return false;
	/* fail closed: a HMAC that could not be computed matches nothing;
	 * a NULL key re-initialises the context with the one it has */
	if (!EVP_MAC_init(sg->ctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(sg->ctx, (const unsigned char *)body, len) ||
	    !EVP_MAC_final(sg->ctx, mac, &n, sizeof(mac)) || n != 32)
		return false;
	EVP_EncodeBlock((unsigned char *)want, mac, (int)n);
	ok = strlen(sig) == strlen(want) && rc_ct_equal(sig, want, strlen(want));
	explicit_bzero(want, sizeof(want));
	return ok;
}

static bool access_event(const char *type)
{
	return !strncmp(type, "job.unit_", 9) || !strncmp(type, "unit.", 5) ||
	       !strncmp(type, "user.", 5) || !strncmp(type, "unitRental.", 11);
}

/* The jobs whose completion grants or takes access: a tenant at the gate
 * waits for them (docs/pms-api.md §2.4). */
static bool urgent_event(const char *type)
{
	return !strcmp(type, "job.unit_moveIn.completed") ||
	       !strcmp(type, "job.unit_moveOut.completed") ||
	       !strcmp(type, "job.unit_transfer.completed");
}

/* Event types of docs/pms-api.md §2.4 -> keys to look at again: the rentals
 * named; else the job, unit or customer named (resolved by the work item);
 * else, for an access-related type, every site. */
int serve_event_route(json_t *ev, serve_event_fn add, void *p)
{
	static const struct {
		const char *field;
		enum serve_key_kind kind;
	} refs[] = {
		{ "unitRentalId", KEY_RENTAL }, { "oldRentalId", KEY_RENTAL }, { "newRentalId", KEY_RENTAL },
		{ "jobId", KEY_JOB }, { "unitId", KEY_UNIT }, { "userId", KEY_USER },
	};
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *d = json_object_get(ev, "data");
	bool urgent;
	int n = 0;
	size_t i;

	if (!type)
		return -1;
	urgent = urgent_event(type);
	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		const char *id = json_string_value(json_object_get(d, refs[i].field));

		if (!id || !*id || (i >= 3 && n) || strlen(id) > 100)
			continue; /* a rental id says it all */
		add(p, refs[i].kind, id, urgent);
		n++;
	}
	if (!n && access_event(type)) {
		add(p, KEY_ALL, NULL, false); /* nothing named: every site looks again */
		n++;
	}
	return n;
}

