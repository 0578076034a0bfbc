/*
 * spec_cluster.h: the spec's "cluster" section (cluster mode, issue 16):
 * where the NATS JetStream cluster is, how to log in (credentials by
 * reference), the lease bucket, the shard count and the lease TTL.
 * Absent: serve runs as one process (spec->cluster is NULL).
 */
#ifndef RC_SPEC_CLUSTER_H
#define RC_SPEC_CLUSTER_H

#include "spec.h"

struct spec_cluster {
	char **urls;                 /* nats:// or tls:// URLs, new */
	size_t nurls;
	char *user;                  /* with password */
	struct spec_secret password;
	struct spec_secret token;
	struct spec_secret creds;    /* a NATS .creds file: creds_file or creds_credential */
	struct spec_secret hash_key; /* required: 64 hex digits, the key of every
				      * instance's code hashes (store_use_hash_key) */
	char *bucket;                /* the lease bucket, default "reconcile-leases" */
	char *stream;                /* the event stream, default "reconcile-events" */
	char *state_bucket;          /* the per-site state, default "reconcile-state" */
	unsigned shards;             /* default 64, fixed for the bucket's life */
	unsigned lease_ttl_s;        /* default 15 */
	unsigned replicas;           /* of the bucket when serve makes it, default 3 */
};

/* Read o (borrowed; NULL: absent, *out NULL) at path "$.cluster" into
 * *out (new, spec_cluster_free). RC_EINVAL naming the path. */
int spec_cluster_load(struct spec_ld *l, json_t *o, struct spec_cluster **out);
void spec_cluster_free(struct spec_cluster *c);
/* fn for each credential reference set (validate checks them). */
void spec_cluster_secrets(const struct spec_cluster *c, spec_secret_cb fn, void *payload);

#endif
