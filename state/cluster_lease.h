/*
 * cluster_lease.h: shard ownership by leases in a NATS JetStream key-value
 * bucket (cluster mode, issue 16; docs/architecture.md, "Cluster mode").
 *
 * Sites are hashed to a fixed number of shards (cluster_shard_of); each
 * instance announces itself live (key "live.<instance>") and holds leases
 * on at most its fair share of shards (key
 * "shard.<n>", value = the holder's instance id, "" once released). The
 * bucket's MaxAge is the lease TTL: a key not renewed within it is purged
 * by the server, and only then can another instance create it. Every take
 * and renewal is a compare-and-set on the key's revision (kvStore_Create
 * when absent, kvStore_Update with the last revision otherwise), so a
 * shard never has two holders in the bucket. nats-server before 2.9.21
 * (Debian 12's is 2.9.10) checks the expected revision before the write's
 * Raft commit, not in it (nats-server#4320), so two takes racing within a
 * few milliseconds can both be acked, the later one overwriting: an acked
 * take counts only once, after a settle, the stream's leader says its
 * revision is the key's last (seen once in CI: two owners of a shard for
 * 0.8 s, until the overwritten one's renewal failed). The fair share is shards /
 * live instances, one more for the first (shards % live) instance ids in
 * order: the shares add up to the shards, so each one is taken, and
 * differ by one at most (64 over 3: 22, 21, 21; ceil for all would let
 * 22, 22, 20 stand).
 *
 * Locally, a lease is good until the monotonic time of the request that
 * last renewed it (taken *before* sending it) plus TTL minus a safety
 * margin: the server cannot purge the key earlier than that, so an
 * instance that was stopped (SIGSTOP), partitioned or slow sees it lost
 * before anyone else can take it, without the lease thread having to run.
 *
 * Threads: one thread of this module makes every NATS call (blocking, with
 * timeouts; the NATS client reconnects on its own threads); the owner
 * calls the other functions from any thread: the lease table is behind a
 * mutex. Events (taken, lost, released, errors) are queued for the owner,
 * and opts.notify is called from the lease thread when there are some
 * (serve hands that to its loop with ev_async_send).
 */
#ifndef RC_CLUSTER_LEASE_H
#define RC_CLUSTER_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

#define CLUSTER_SHARDS_DEFAULT 64
#define CLUSTER_SHARDS_MAX 4096
#define CLUSTER_TTL_MS_DEFAULT 15000

struct cluster_opts {
	const char *const *urls;     /* nats://host:port, borrowed */
	size_t nurls;
	const char *user;            /* with password; borrowed, may be NULL */
	const char *password;        /* secret, borrowed */
	const char *token;           /* secret, borrowed */
	const char *creds_file;      /* a NATS .creds file (JWT and seed), borrowed */
	const char *bucket;          /* the lease bucket, made when absent */
	unsigned replicas;           /* its replicas when made (1..5) */
	unsigned shards;             /* fixed for the life of the bucket */
	unsigned ttl_ms;             /* lease TTL = the bucket's MaxAge */
	const char *instance;        /* unique id [A-Za-z0-9_-]; NULL: host-pid-random */
	void (*notify)(void *arg);   /* called from the lease thread; may be NULL */
	void *notify_arg;
};

enum cluster_ev_kind {
	CLUSTER_TAKEN,               /* a lease taken (rev: its term) */
	CLUSTER_LOST,                /* a lease lost: not renewed in time, or its CAS failed */
	CLUSTER_RELEASED,            /* a lease given up for a fair share */
	CLUSTER_ERROR                /* a NATS call failed (msg) */
};

struct cluster_event {
	enum cluster_ev_kind kind;
	unsigned shard;
	uint64_t rev;                /* the key's revision taken at (TAKEN), held at (others) */
	double at;                   /* rc_now_mono() when ownership began or ended */
	char msg[200];               /* why (LOST, ERROR); never a secret */
};

struct cluster_stats {
	unsigned owned;              /* good leases now (still_owner) */
	unsigned live;               /* live instances at the last count */
	unsigned fair;               /* this instance's fair share */
	unsigned long renewals, takeovers, lost, released, errors;
};

struct cluster_lease;

/* The shard of a site: FNV-1a 32-bit of its name, mod shards. Stable
 * across versions and instances (a site never moves between shards). */
unsigned cluster_shard_of(const char *site, unsigned shards);

/* Connect, bind (or make) the bucket, and start the lease thread. *out is
 * new (cluster_lease_stop). RC_EINVAL: an option or the bucket does not
 * fit (its MaxAge is not the TTL); RC_EIO: NATS cannot be reached. */
int cluster_lease_start(const struct cluster_opts *o, struct cluster_lease **out,
			struct rc_err *err);
/* Stop the thread, release the leases held (others take them at once),
 * drop the live key, disconnect, free cl. */
void cluster_lease_stop(struct cluster_lease *cl);

/* This instance's id (borrowed, lives as cl). */
const char *cluster_lease_instance(const struct cluster_lease *cl);
unsigned cluster_lease_shards(const struct cluster_lease *cl);

/* The lease on shard is held and not past its local deadline. */
bool cluster_lease_still_owner(struct cluster_lease *cl, unsigned shard);
/* Still owner, and *term = the revision the lease was taken at (constant
 * while renewed; a lease lost and taken again has a new one). */
bool cluster_lease_term(struct cluster_lease *cl, unsigned shard, uint64_t *term);
/* Before a state write of work started under term: still owner of the
 * same lease (not lost and taken again meanwhile). */
bool cluster_lease_fence(struct cluster_lease *cl, unsigned shard, uint64_t term);
/* The shards owned now into out[0..n) (ascending); their count. */
size_t cluster_lease_owned(struct cluster_lease *cl, unsigned *out, size_t n);
void cluster_lease_stats(struct cluster_lease *cl, struct cluster_stats *out);
/* The next queued event into *out: false when none. */
bool cluster_lease_next_event(struct cluster_lease *cl, struct cluster_event *out);

#endif
