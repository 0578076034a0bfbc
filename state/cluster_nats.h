/*
 * cluster_nats.h: what the cluster modules (cluster_lease.c, cluster_bus.c)
 * share of the NATS C client: one way to connect (servers, login,
 * reconnect for ever), to bind a key-value bucket, and the text of a
 * failure.
 */
#ifndef RC_CLUSTER_NATS_H
#define RC_CLUSTER_NATS_H

#include <nats/nats.h>

#include "cluster_lease.h"

/* Connect to o's servers with o's login, as name; *nc new
 * (natsConnection_Destroy). RC_EINVAL: an option; RC_EIO: unreachable. */
int cluster_nats_connect(const struct cluster_opts *o, const char *name, natsConnection **nc,
			 struct rc_err *err);
/* The text of a NATS failure (its last error when it has one). */
void cluster_nats_text(natsStatus s, char *buf, size_t n);
/* err set to "what: <the failure's text>" with code; returns code. */
int cluster_nats_fail(struct rc_err *err, int code, natsStatus s, const char *what);
/* Bind bucket through js, making it when absent (history 1, file storage,
 * replicas, keys dropped after ttl_ms, 0: never; described as desc);
 * *kv new (kvStore_Destroy), *ttl_ms_out the TTL the bucket has, which
 * the caller checks (a bucket made by someone else may differ). what
 * names the bucket in errors ("the lease bucket"). RC_EIO: NATS failed. */
int cluster_kv_bind(jsCtx *js, const char *bucket, const char *desc, unsigned ttl_ms,
		    unsigned replicas, const char *what, kvStore **kv, int64_t *ttl_ms_out,
		    struct rc_err *err);

#endif
