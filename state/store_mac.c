/* store_mac.c: the state's keyed hashes (hash.key): HMAC-SHA256 of the
 * secrets kept only as hashes (gate codes), and of the plan staleness
 * fingerprints. See store.h. */
#define _GNU_SOURCE
#include "store_int.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void hasher_fn(void *payload, const char *site, const char *secret,
		      unsigned char out[RC_HASH_LEN])
{
	store_secret_hash(payload, site, secret, out);
}

struct rc_hasher store_hasher(const struct store *s)
{
	return (struct rc_hasher){ hasher_fn, (void *)s };
}

/* store_hmac's HMAC-SHA256 context, keyed once: HMAC() fetches SHA-256
 * and sets the key up again on every call (2.4 % of serve's samples in a
 * flood: every run fingerprints what it observed); a keyed context is
 * re-initialised per message. Keyed again when s->key changes (a cluster's
 * key taken over); under a mutex, as any thread may hash. OpenSSL wipes
 * its copy of the key when the context is freed; ours is wiped here. */
struct store_mac {
	pthread_mutex_t mu;
	EVP_MAC_CTX *ctx;
	unsigned char key[32];       /* what ctx is keyed with */
	bool keyed;
};

struct store_mac *st_mac_new(void)
{
	struct store_mac *m = rc_calloc(1, sizeof(*m));
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	m->ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac); /* the context keeps its own reference */
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void st_mac_free(struct store_mac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	explicit_bzero(m->key, sizeof(m->key));
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* Under m->mu: the context, keyed with s->key; false when OpenSSL cannot. */
static bool mac_ready(struct store_mac *m, const struct store *s)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!m->ctx)
		return false;
	if (m->keyed && !memcmp(m->key, s->key, sizeof(m->key)))
		return EVP_MAC_init(m->ctx, NULL, 0, NULL) == 1; /* same key, fresh message */
	m->keyed = EVP_MAC_init(m->ctx, s->key, sizeof(s->key), params) == 1;
	memcpy(m->key, s->key, sizeof(m->key));
	return m->keyed;
}

void store_hmac(const struct store *s, const void *data, size_t len,
		unsigned char out[RC_HASH_LEN])
{
	struct store_mac *m = s->mac;
	unsigned int un = RC_HASH_LEN;
	size_t n = 0;
	bool ok = false;

	if (m) {
		pthread_mutex_lock(&m->mu);
		ok = mac_ready(m, s) && EVP_MAC_update(m->ctx, data, len) == 1 &&
		     EVP_MAC_final(m->ctx, out, &n, RC_HASH_LEN) == 1 && n == RC_HASH_LEN;
		pthread_mutex_unlock(&m->mu);
	}
	if (!ok) /* no context: the one-shot call */
		HMAC(EVP_sha256(), s->key, sizeof(s->key), data, len, out, &un);
}

void store_secret_hash(const struct store *s, const char *site,
		       const char *secret, unsigned char out[RC_HASH_LEN])
{
	size_t a = strlen(site), b = strlen(secret);
	unsigned char *buf = rc_malloc(a + b + 1);

	memcpy(buf, site, a);
	buf[a] = 0;
	memcpy(buf + a + 1, secret, b);
	store_hmac(s, buf, a + b + 1, out);
	explicit_bzero(buf, a + b + 1);
	free(buf);
}

