/*
 * fuzz_webhook.c: a Storeganise webhook's body on any bytes, as serve
 * takes it after libmicrohttpd: the signature (a right one, computed
 * here, and a wrong one), the event's id as serve checks it, and the keys
 * its event names, each formatted and parsed back as the work queue does.
 */
#include "fuzz.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/serve_int.h"
#include "state/store.h"

#define SECRET "fuzz-webhook-secret"

static void key_cb(void *p, enum serve_key_kind kind, const char *id, bool urgent)
{
	struct serve_key k = { kind, id }, back;
	char text[SERVE_KEY_MAX];

	(void)urgent;
	(*(int *)p)++;
	if (serve_key_format(&k, text, sizeof(text)) &&
	    (!serve_key_parse(text, &back) || back.kind != kind))
		abort(); /* a key that does not come back as itself */
}

static struct serve_signer *signer; /* kept for the process's life, as serve's */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char sig[96];
	const char *id;
	json_t *ev;
	int keys = 0;

	/* one signer for every input, as serve keeps one: its context is
	 * re-initialised per body, and HMAC() is the oracle */
	if (!signer)
		signer = serve_signer_new(SECRET);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), data, size, mac, &n);
	EVP_EncodeBlock((unsigned char *)sig, mac, (int)n);
	if (!serve_signature_ok(signer, (const char *)data, size, sig))
		abort(); /* its own signature refused */
	sig[0] ^= 1;
	if (serve_signature_ok(signer, (const char *)data, size, sig))
		abort(); /* a wrong one taken */
	ev = json_loadb((const char *)data, size, 0, NULL);
	id = json_string_value(json_object_get(ev, "id"));
	if (id && *id && strlen(id) <= STORE_EVENT_ID_MAX)
		serve_event_route(ev, key_cb, &keys);
	json_decref(ev);
	return 0;
}
