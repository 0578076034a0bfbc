/*
 * nats_cluster.h: a 3-node NATS JetStream cluster on 127.0.0.1 for the
 * cluster tests (e2e_cluster, e2e_cluster_events): each node a real
 * nats-server started by the harness (e2e_spawn_argv, so it is killed
 * however the test ends), its own ports and JetStream store in the
 * test's temp dir.
 */
#ifndef E2E_NATS_CLUSTER_H
#define E2E_NATS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NATS_NODES 3

struct nats_cluster {
	char bin[256];                   /* nats-server */
	pid_t node[NATS_NODES];          /* 0 once stopped */
	int client_port[NATS_NODES];
	char node_name[NATS_NODES][8];
	char urls[NATS_NODES][40];       /* nats://127.0.0.1:PORT */
};

/* nats-server from $NATS_SERVER_BIN, else $PATH and the sbin/bin dirs. */
bool nats_find(char *out, size_t n);
/* A free TCP port on 127.0.0.1 (bound, read, closed). */
int nats_free_port(void);
/* Write each node's config under tmpdir and start the three (c->bin set). */
void nats_cluster_start(struct nats_cluster *c, const char *tmpdir);
/* The client URLs (borrowed from c). */
void nats_cluster_urls(const struct nats_cluster *c, const char *urls[NATS_NODES]);
/* Wait (30 s at most) until the cluster makes the R3 key-value bucket. */
void nats_cluster_make_bucket(const struct nats_cluster *c, const char *bucket, int ttl_s);

#endif
