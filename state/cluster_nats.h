/*
 * cluster_nats.h: what the cluster modules (cluster_lease.c, cluster_bus.c)
 * share of the NATS C client: one way to connect (servers, login,
 * reconnect for ever) and the text of a failure.
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

#endif
