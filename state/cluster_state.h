/*
 * cluster_state.h: cluster mode's per-site state in a NATS JetStream
 * key-value bucket (issue 16; docs/architecture.md, Decision 9; the keys
 * and the order of writes in state/README.md).
 *
 * The store's replica (store_replica.h): every batch of changes to
 * per-site records is published to the bucket before LMDB commits it
 * (async publishes, one wait for all acks), after a fence (this instance
 * still holds the lease of every site's shard in it). When a publish is
 * not acked, or a lease was lost, the batch fails and LMDB does not
 * commit it. LMDB is the instance's cache: when serve takes a shard, the
 * shard's keys are loaded from the bucket (on this module's thread) and
 * replace the local records of the shard's sites; a shard that has never
 * been in the bucket (no marker key "m.<shard>") is seeded from the local
 * LMDB instead, so that a state converted from one process keeps its
 * history. The shard is ready then (cluster_state_ready).
 *
 * Keys: "<shard>.<site>.<db>.<rest>", site and rest base64url without
 * padding (rest: the LMDB key after "<site>\0", or meta's word before
 * "\0<site>"); a delete is a KV delete. History 1, no MaxAge.
 *
 * Threads: publishes run on the caller's thread (the store's writer),
 * under a mutex; loads on this module's thread; the owner calls the rest
 * from its loop. Events (a shard ready, a load failed) are queued, and
 * notify is called from the thread when there are some.
 */
#ifndef RC_CLUSTER_STATE_H
#define RC_CLUSTER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_lease.h"
#include "store_replica.h"

#define CLUSTER_STATE_PUB_MS 3000    /* a batch not acked by then failed */
#define CLUSTER_STATE_LOAD_MS 10000  /* a shard's load not caught up by then: tried again */

struct cluster_state_opts {
	const struct cluster_opts *nats; /* servers, login, replicas, shards, notify; borrowed */
	const char *bucket;          /* the state bucket, made when absent; borrowed */
	const char *name;            /* the connection's name (the instance); borrowed */
	struct cluster_lease *lease; /* the fence; borrowed, outlives the module */
	struct store *store;         /* borrowed, outlives the module */
};

struct cluster_state_ev {
	unsigned shard;
	int rc;                      /* RC_OK: the shard is ready */
	bool seeded;                 /* from the local LMDB (first use of the shard) */
	size_t records;              /* loaded, or seeded */
	double seconds;              /* the load took */
	char msg[200];               /* why it failed (tried again in 1 s while owned) */
};

struct cluster_state_stats {
	unsigned long batches, published, publish_errors, fenced, loads, seeds;
};

struct cluster_state;

/* Connect, bind (or make) the bucket, start the load thread, and attach
 * the store's replica. *out new (cluster_state_stop). RC_EIO: NATS
 * unreachable, RC_EINVAL: the bucket exists with another history or a
 * MaxAge. */
int cluster_state_start(const struct cluster_state_opts *o, struct cluster_state **out,
			struct rc_err *err);
/* Detach the replica (the store's writer must be stopped first), stop the
 * thread, disconnect, free. */
void cluster_state_stop(struct cluster_state *cs);

/* Load (or seed) shard for its sites (copied): a taken lease. */
void cluster_state_load(struct cluster_state *cs, unsigned shard, const char *const *sites,
			size_t n);
/* The lease of shard ended: not ready until loaded again. */
void cluster_state_forget(struct cluster_state *cs, unsigned shard);
/* Loaded since its lease was taken. */
bool cluster_state_ready(struct cluster_state *cs, unsigned shard);
/* The next event into *out: false when none. */
bool cluster_state_next(struct cluster_state *cs, struct cluster_state_ev *out);
void cluster_state_stats(struct cluster_state *cs, struct cluster_state_stats *out);

/* The bucket key of a change (new): "<shard>.<site>.<db>.<rest>". */
char *cluster_state_key(const struct store_change *c, unsigned shards);
/* A bucket key and value back to a change (appended to out): false when
 * the key is not one of cluster_state_key's. */
bool cluster_state_parse(const char *key, const void *val, size_t vlen,
			 struct store_changes *out);

#endif
