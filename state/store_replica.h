/*
 * store_replica.h: the per-site state copied elsewhere before it commits
 * (cluster mode, issue 16: state/cluster_state.h copies it to JetStream).
 *
 * Every put and delete of the per-site databases (observed, obsidx,
 * pmslast, journal, jopen, and meta's site-keyed records gen, site, jseq,
 * r10) is recorded in its write transaction's change log while a replica
 * is attached (store_set_replica). A nested transaction of the writer that
 * is undone drops its changes. Before LMDB commits, the log is handed to
 * the replica's publish: when it fails, the transaction is aborted and its
 * jobs fail, so nothing is durable here that the replica did not take (a
 * journal intent the replica refused is never followed by its call).
 * Without a replica (one process), nothing is recorded.
 *
 * Not replicated: webhook events (JetStream's own duplicate window stands
 * for them in cluster mode), Retry-After deadlines (per host, local pacing)
 * and the index markers (meta "v\0...").
 */
#ifndef RC_STORE_REPLICA_H
#define RC_STORE_REPLICA_H

#include "store.h"

/* One change of a per-site record. */
struct store_change {
	const char *db;              /* "observed", "obsidx", "pmslast", "journal", "jopen", "meta" */
	char *site;                  /* new */
	void *key;                   /* the whole LMDB key, new */
	size_t klen;
	void *val;                   /* new; NULL for a delete */
	size_t vlen;
	bool del;
};

struct store_changes {
	struct store_change *c;
	size_t n, cap;
};

/* Empty cs, freeing what it held. */
void store_changes_clear(struct store_changes *cs);
/* Append a change (key, val copied; val NULL: a delete). */
void store_changes_add(struct store_changes *cs, const char *db, const char *site, const void *key,
		       size_t klen, const void *val, size_t vlen);

struct store_replica {
	/* Take the changes (borrowed) before LMDB commits them: RC_OK, or an
	 * error (err set) that aborts the transaction. Called on the thread
	 * that commits (the writer's, or the caller of store_write_inline),
	 * with LMDB's write lock held. */
	int (*publish)(void *arg, const struct store_change *c, size_t n, struct rc_err *err);
	/* Is site this instance's now? Retention leaves the others' records
	 * alone (they are another instance's to change). NULL: all are. */
	bool (*owns)(void *arg, const char *site);
	void *arg;
};

/* Attach r (copied; NULL detaches). Set it before the writer starts or
 * after it stopped: the writer reads it unlocked. */
void store_set_replica(struct store *s, const struct store_replica *r);
/* May retention touch site's records (the replica's owns, else true)? */
bool store_replica_owns(const struct store *s, const char *site);

/* Every record of the sites[0..n) in the per-site databases into out
 * (seeding a replica from this state). One read transaction. */
int store_replica_collect(struct store *s, const char *const *sites, size_t n,
			  struct store_changes *out, struct rc_err *err);
/* Replace the records of sites[0..n) in the per-site databases with c
 * (borrowed; changes of other sites are written too, deletes skipped), in
 * one durable transaction of its own that is not published (it is what
 * the replica holds). */
int store_replica_replace(struct store *s, const char *const *sites, size_t n,
			  const struct store_change *c, size_t nc, struct rc_err *err);

/* The database of a change by name (NULL: not a per-site database). */
const char *store_replica_db(const char *name);

#endif
