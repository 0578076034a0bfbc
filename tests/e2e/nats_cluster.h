/*
 * nats_cluster.h: cluster mode on loopback, for the cluster tests
 * (e2e_cluster*) and the cluster benchmark (tests/bench/bench_cluster):
 *
 *   - a 3-node NATS JetStream cluster on 127.0.0.1: each node a real
 *     nats-server, its own ports and JetStream store in the caller's temp
 *     dir;
 *   - `reconcile serve` instances with a `cluster` section on it (or
 *     without one: the single-process mode, as a benchmark's floor), their
 *     shards read from /readyz.
 *
 * Every process is started through the harness (e2e_spawn_argv), so it is
 * killed however the program ends, and stopped here by its PID. No cmocka
 * here: a step that fails says why on stderr and returns false (or -1), so
 * that a test asserts it and a benchmark dies on it.
 */
#ifndef E2E_NATS_CLUSTER_H
#define E2E_NATS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <nats/nats.h>

#define NATS_NODES 3
/* cluster.hash_key of every instance nats_serve_start starts (a test key) */
#define NATS_HASH_KEY "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"

struct nats_cluster {
	char bin[256];                   /* nats-server (nats_find) */
	pid_t node[NATS_NODES];          /* 0 once stopped */
	int client_port[NATS_NODES];
	char node_name[NATS_NODES][8];   /* n1, n2, n3: server_name, as JetStream names leaders */
	char urls[NATS_NODES][40];       /* nats://127.0.0.1:PORT */
};

/* nats-server from $NATS_SERVER_BIN, else $PATH and the sbin/bin dirs,
 * into out: false when there is none. */
bool nats_find(char *out, size_t n);
/* True, having said so on stdout, when there is no nats-server: the
 * test then exits 77 (ctest's SKIP_RETURN_CODE). */
bool nats_missing(void);
/* A free TCP port on 127.0.0.1 (bound, read, closed), -1 on failure. */
int nats_free_port(void);
/* Write each node's config under tmpdir and start the three (c->bin set
 * first; the rest of *c is filled). They are up once
 * nats_cluster_make_bucket succeeds. */
bool nats_cluster_start(struct nats_cluster *c, const char *tmpdir);
/* The client URLs (borrowed from c). */
void nats_cluster_urls(const struct nats_cluster *c, const char *urls[NATS_NODES]);
/* Wait (30 s at most) until the cluster makes the R3 key-value bucket
 * whose MaxAge is ttl_s (serve's lease bucket, `cluster.bucket`): the
 * cluster is ready then (its meta leader elected). */
bool nats_cluster_make_bucket(const struct nats_cluster *c, const char *bucket, int ttl_s);
/* A connection to any node (the client fails over to the others) and its
 * JetStream context, both new (jsCtx_Destroy, natsConnection_Destroy):
 * false, both NULL, when none answers. */
bool nats_cluster_connect(const struct nats_cluster *c, natsConnection **nc, jsCtx **js);
/* The node leading a stream (its RAFT leader; the bucket B's stream is
 * "KV_B"), -1 when none is known. */
int nats_cluster_stream_leader(const struct nats_cluster *c, const char *stream);
/* kill -9 node i and reap it (nothing when stopped). */
void nats_cluster_kill_node(struct nats_cluster *c, int i);
/* kill -9 every node still running. */
void nats_cluster_stop(struct nats_cluster *c);

/* ------------------------------------------------ serve instances */

/* The `cluster` section of the instances' spec. */
struct nats_serve_conf {
	const char *bucket;          /* lease bucket (borrowed) */
	const char *stream;          /* event stream; NULL: serve's default (borrowed) */
	int shards;
	int lease_ttl_s;
	const char *sync_interval;   /* set on every site; NULL: the spec's (borrowed) */
};

/* One `reconcile serve`. */
struct nats_serve {
	pid_t pid;                   /* 0 once stopped */
	int port;                    /* its --listen port on 127.0.0.1 */
	char spec[320], out[320], err[320];  /* its spec, stdout and stderr (its log) */
	double killed_at;            /* rc_now_mono() of nats_serve_kill, 0 when none */
};

/*
 * Start instance n: writes dir/spec-<n>.json, which is base_spec (a spec
 * file, read) with state_dir dir/state-<n> and, when c is not NULL, a
 * `cluster` section on c's URLs after conf (R3); c NULL: no cluster
 * section, the single-process mode (conf may then be NULL, or give
 * sync_interval). Runs `$RECONCILE_BIN serve -c SPEC --listen
 * 127.0.0.1:0` in dir, stdout to dir/serve-<n>.out, stderr to
 * dir/serve-<n>.err, and waits (20 s) until it listens. x is filled (all
 * its strings owned by x): false when it did not start.
 */
bool nats_serve_start(struct nats_serve *x, const struct nats_cluster *c,
		      const struct nats_serve_conf *conf, const char *base_spec, const char *dir, int n);
/* The shards x owns now (its /readyz): their count, -1 when it does not
 * answer (or is stopped); owned[0..shards) marks them (may be NULL). */
int nats_serve_owned(const struct nats_serve *x, int shards, bool *owned);
/* The shards whose consumer x has bound (its /metrics has their
 * reconcile_cluster_shard_lag, read every 2 s): -1 when it does not
 * answer. An owner binds its shards' consumers one by one on its event
 * thread, the same that publishes webhooks: until they are bound, its
 * webhooks wait. */
int nats_serve_bound(const struct nats_serve *x);
/* Poll (every 0.2 s, secs at most) until every instance in[i] whose bit i
 * is set in mask owns between lo and hi shards and together they own all
 * shards: true, or false at the deadline (each one's count then printed
 * on stderr). count: the instances of in[] (at most 32). */
bool nats_serve_wait_share(const struct nats_serve *in, int count, unsigned mask, int shards,
			   int lo, int hi, double secs);
/* kill -9 x (SIGCONT first, should it be stopped), reap it, note
 * killed_at (nothing when stopped). */
void nats_serve_kill(struct nats_serve *x);

#endif
