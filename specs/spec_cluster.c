/*
 * spec_cluster.c: the spec's "cluster" section. See spec_cluster.h and
 * specs/README.md.
 */
#include "spec_cluster.h"

#include <stdlib.h>
#include <string.h>

static bool key_token(const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	return *s != '\0';
}

static int load_urls(struct spec_ld *l, json_t *o, struct spec_cluster *c)
{
	size_t i;
	int rc;

	if (!json_object_get(o, "urls"))
		return spec_fail(l, "$.cluster.urls", "required: the NATS servers (nats://host:4222, ...)");
	rc = spec_get_strs(l, o, "$.cluster", "urls", &c->urls, &c->nurls);
	if (!rc && !c->nurls)
		rc = spec_fail(l, "$.cluster.urls", "expected at least one URL");
	for (i = 0; !rc && i < c->nurls; i++)
		if (strncmp(c->urls[i], "nats://", 7) && strncmp(c->urls[i], "tls://", 6))
			rc = spec_fail(l, "$.cluster.urls", "%s: expected nats://host:port or tls://host:port",
				       c->urls[i]);
	return rc;
}

static int load_names(struct spec_ld *l, json_t *o, struct spec_cluster *c)
{
	int rc = spec_get_str(l, o, "$.cluster", "bucket", false, &c->bucket);

	if (!rc && !c->bucket)
		c->bucket = rc_strdup("reconcile-leases");
	if (!rc && !key_token(c->bucket))
		rc = spec_fail(l, "$.cluster.bucket", "letters, digits, '-' and '_' only");
	if (!rc)
		rc = spec_get_str(l, o, "$.cluster", "stream", false, &c->stream);
	if (!rc && !c->stream)
		c->stream = rc_strdup("reconcile-events");
	if (!rc && !key_token(c->stream))
		rc = spec_fail(l, "$.cluster.stream", "letters, digits, '-' and '_' only");
	if (!rc)
		rc = spec_get_str(l, o, "$.cluster", "state_bucket", false, &c->state_bucket);
	if (!rc && !c->state_bucket)
		c->state_bucket = rc_strdup("reconcile-state");
	if (!rc && !key_token(c->state_bucket))
		rc = spec_fail(l, "$.cluster.state_bucket", "letters, digits, '-' and '_' only");
	if (!rc && !strcmp(c->state_bucket, c->bucket)) /* the leases' MaxAge would drop the state */
		rc = spec_fail(l, "$.cluster.state_bucket", "must not be the lease bucket (%s)", c->bucket);
	return rc;
}

static int load_login(struct spec_ld *l, json_t *o, struct spec_cluster *c)
{
	int rc = spec_get_str(l, o, "$.cluster", "user", false, &c->user);

	if (!rc)
		rc = spec_get_secret(l, o, "$.cluster", "password", false, false, &c->password);
	if (!rc)
		rc = spec_get_secret(l, o, "$.cluster", "token", false, false, &c->token);
	if (!rc)
		rc = spec_get_secret(l, o, "$.cluster", "creds", false, false, &c->creds);
	if (!rc) /* one key for every instance: the state they share holds its hashes */
		rc = spec_get_secret(l, o, "$.cluster", "hash_key", false, true, &c->hash_key);
	if (rc)
		return rc;
	if (!!c->user != spec_secret_set(&c->password))
		return spec_fail(l, "$.cluster", "user and password_env/_file/_credential go together");
	if (!!c->user + spec_secret_set(&c->token) + spec_secret_set(&c->creds) > 1)
		return spec_fail(l, "$.cluster", "give one way to log in: user and password, token, "
				 "or creds");
	return RC_OK;
}

int spec_cluster_load(struct spec_ld *l, json_t *o, struct spec_cluster **out)
{
	static const char *const keys[] = { "urls", "user", "password_env", "password_file",
					    "token_env", "token_file", "creds_file", "hash_key_env",
					    "hash_key_file", "bucket",
					    "stream", "state_bucket", "shards", "lease_ttl_s",
					    "replicas", NULL };
	struct spec_cluster *c;
	long shards = 0, ttl = 0, rep = 0;
	int rc;

	*out = NULL;
	if (!o)
		return RC_OK;
	rc = spec_check_keys(l, o, "$.cluster", keys);
	if (rc)
		return rc;
	c = rc_calloc(1, sizeof(*c));
	rc = load_urls(l, o, c);
	if (!rc)
		rc = load_names(l, o, c);
	if (!rc)
		rc = load_login(l, o, c);
	if (!rc)
		rc = spec_get_int(l, o, "$.cluster", "shards", 1, 4096, 64, &shards);
	if (!rc) /* renewals every TTL/3 need a few hundred ms each */
		rc = spec_get_int(l, o, "$.cluster", "lease_ttl_s", 2, 600, 15, &ttl);
	if (!rc)
		rc = spec_get_int(l, o, "$.cluster", "replicas", 1, 5, 3, &rep);
	c->shards = (unsigned)shards;
	c->lease_ttl_s = (unsigned)ttl;
	c->replicas = (unsigned)rep;
	if (rc) {
		spec_cluster_free(c);
		return rc;
	}
	*out = c;
	return RC_OK;
}

void spec_cluster_free(struct spec_cluster *c)
{
	if (!c)
		return;
	spec_strs_free(c->urls, c->nurls);
	free(c->user);
	spec_secret_free(&c->password);
	spec_secret_free(&c->token);
	spec_secret_free(&c->creds);
	spec_secret_free(&c->hash_key);
	free(c->bucket);
	free(c->state_bucket);
	free(c->stream);
	free(c);
}

void spec_cluster_secrets(const struct spec_cluster *c, spec_secret_cb fn, void *payload)
{
	if (!c)
		return;
	if (spec_secret_set(&c->password))
		fn(&c->password, "cluster.password", payload);
	if (spec_secret_set(&c->token))
		fn(&c->token, "cluster.token", payload);
	if (spec_secret_set(&c->creds))
		fn(&c->creds, "cluster.creds", payload);
	fn(&c->hash_key, "cluster.hash_key", payload);
}
