/* serve_event.c: a Storeganise webhook's pure part: its signature, and
 * the keys its event names (docs/pms-api.md §2.3, §2.4). No I/O, so that
 * tests/fuzz can run it on any bytes. */
#define _GNU_SOURCE
#include "serve_int.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "core/common.h"

/* sg-signature = base64(HMAC-SHA256(secret, raw body)), compared in
 * constant time. */
bool serve_signature_ok(const char *secret, const char *body, size_t len, const char *sig)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char want[96];
	bool ok;

	if (!sig || !*sig || !secret)
		return false;
	/* fail closed: a HMAC that could not be computed matches nothing */
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len,
		  mac, &n) || n != 32)
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

