/*
 * store_int.h: what store.c and store_journal.c share (not for other
 * modules: they use store.h).
 */
#ifndef RC_STORE_INT_H
#define RC_STORE_INT_H

#include "store.h"
#include "store_replica.h"

#include <jansson.h>
#include <lmdb.h>

struct store {
	char *dir;
	MDB_env *env;                /* data.mdb */
	MDB_env *evenv;              /* events.mdb: events and evtime (store.h) */
	MDB_dbi observed, pmslast, journal, meta;
	MDB_dbi events, evtime;      /* of evenv; evtime: 8-byte BE unix seconds + id -> "" */
	MDB_dbi obsidx;              /* code hashes of observed units (store_obs.c) */
	MDB_dbi jopen;               /* journal keys of open entries -> "" */
	unsigned char key[32];
	struct store_mac *mac;       /* store_hmac's keyed context (store_mac.c), or NULL */
	int lock_fd;
	struct store_writer *writer[STORE_LANES]; /* group commit (store_writer.c), or NULL */
	store_exec_fn exec;           /* how store_write runs a job, or NULL: inline */
	void *exec_p;
	struct store_replica replica; /* cluster mode (store_replica.c); publish NULL: none */
};

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	struct store_changes *log;   /* what a replica is handed before commit, or NULL */
};

/* store_mac.c: store_hmac's keyed context (new; freed and wiped by free). */
struct store_mac *st_mac_new(void);
void st_mac_free(struct store_mac *m);

/* The environment a lane writes. */
MDB_env *st_env(const struct store *s, enum store_lane lane);
/* A transaction of lane's environment (new; write: with a change log when
 * it is the state's and a replica runs). */
int st_txn_begin(struct store *s, enum store_lane lane, bool write, struct store_txn **out,
		 struct rc_err *err);
/* store_write in lane. */
int st_write(struct store *s, enum store_lane lane, store_job_fn fn, void *arg,
	     struct rc_err *err);

/* mdb_put, mdb_del, mdb_cursor_del (LMDB codes), recorded in t's change
 * log when it has one and the record is per-site (store_replica.h). */
int st_put(struct store_txn *t, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags);
int st_del(struct store_txn *t, MDB_dbi dbi, MDB_val *k);
int st_cursor_del(struct store_txn *t, MDB_cursor *c);
/* A change log for a write transaction of s (new): NULL without a replica. */
struct store_changes *st_log_new(const struct store *s);
void st_log_free(struct store_changes *log);
/* Drop the changes recorded past the first n (a nested transaction undone). */
void st_log_truncate(struct store_changes *log, size_t n);
/* Hand log (borrowed; may be NULL) to s's replica before the commit. */
int st_publish(struct store *s, const struct store_changes *log, struct rc_err *err);

/* An LMDB failure as an RC_EIO error naming the state directory. */
int st_lmdb_err(struct rc_err *err, const struct store *s, const char *what, int rc);
/* key = a '\0' b (b may be binary of blen bytes). New buffer in k->mv_data. */
void st_make_key(MDB_val *k, const char *a, const void *b, size_t blen);
bool st_has_prefix(const MDB_val *k, const char *site);
/* j borrowed. */
int st_put_json(struct store_txn *t, MDB_dbi dbi, MDB_val *k, json_t *j,
		struct rc_err *err);
/* New reference, NULL when the value is not JSON. */
json_t *st_get_json(const MDB_val *v);

/* Visit every record of a site in dbi, in key order: the cursor starts at
 * "site\0" and stops where the prefix ends, so "s1" never sees "s10".
 * cb gets the part of the key after the prefix; it returns 0 to go on,
 * > 0 to stop (returned as is), < 0 for an error (err set). */
typedef int (*prefix_cb)(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p);
int st_each_prefix(struct store_txn *t, MDB_dbi dbi, const char *site, prefix_cb cb,
		   void *payload, struct rc_err *err);

/* st_each_prefix from the key from (which starts with "site\0"). */
int st_each_prefix_from(struct store_txn *t, MDB_dbi dbi, const char *site, const void *from,
			size_t from_len, prefix_cb cb, void *payload, struct rc_err *err);

/* Delete the cursor's record, count it (budget down, n up), and read the
 * one after it: MDB_NOTFOUND past the end (retention). */
int st_del_current(struct store_txn *t, MDB_cursor *c, MDB_val *k, MDB_val *v, size_t *budget,
		   size_t *n);
/* Events received before cutoff (unix s), oldest first, at most *budget,
 * in a write of the events' lane (store_events.c). */
int st_prune_events(struct store *s, uint64_t cutoff, size_t *budget, size_t *n,
		    struct rc_err *err);

/* Events stored before the evtime index existed get an entry dated now,
 * so that retention reaches them (once: only while evtime is empty). */
int st_events_backfill(MDB_txn *txn, struct store *s);
/* Open events.mdb, moving into it the events an older version kept in
 * data.mdb (copied and made durable there first, then dropped from
 * data.mdb: a crash between copies them again). */
int st_events_open(struct store *s, int *mrc, struct rc_err *err);

/* R10: add a mark (a destructive call is about to go out) or take the
 * latest back (it failed), in t; marks older than the hour go. */
int st_r10_mark(struct store_txn *t, const char *site, bool add, struct rc_err *err);

/* Run fn once per state directory (remembered in meta). */
int st_once(MDB_txn *txn, struct store *s, const char *what,
	    int (*fn)(MDB_txn *, struct store *));
/* The one-time builds of the indexes older versions did not keep. */
int st_obsidx_backfill(MDB_txn *txn, struct store *s);
int st_jopen_backfill(MDB_txn *txn, struct store *s);

void st_u64_be(uint64_t x, unsigned char b[8]);
uint64_t st_be_u64(const unsigned char b[8]);

/* store_check.c: before LMDB maps the state (a file cut short, empty
 * beside its key, data without its key: refused naming the file, st_damaged
 * says what to do); --reinit-state moves the files aside; a full read finds
 * damaged pages. */
int st_state_check(const char *dir, struct rc_err *err);
int st_move_aside(const char *dir, struct rc_err *err);
/* *file: the one a failure is in (data.mdb, events.mdb). */
int st_read_all(struct store *s, const char **file);
bool st_lmdb_damage(int rc);
int st_damaged(struct rc_err *err, const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
