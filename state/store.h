/*
 * store.h: the LMDB state of reconcile.
 *
 * One LMDB environment per state directory, with named databases:
 *   observed  "<site>\0<vendor unit name>"  -> observed unit (binary, no codes:
 *                                             only keyed hashes; store_obs.c)
 *   obsidx    "<site>\0c<hash><unit name>"   -> "" (codes in use, R6)
 *   pmslast   "<site>\0<rental id>"          -> last PMS rental record the
 *                                             engine converged to (R4, sync
 *                                             stamps; binary)
 *   journal   "<site>\0<seq: 8 bytes BE>"    -> journal entry (JSON)
 *   jopen     "<site>\0<seq: 8 bytes BE>"    -> "" (the open entries)
 *   meta      "gen\0<site>"                  -> u64 generation (8 bytes BE)
 *             "site\0<site>"                 -> site meta (JSON: facility id,
 *                                             last attempt, last successful
 *                                             sync, last error)
 *             "v\0<index>"                   -> "1": an index built (st_once)
 *
 * and a second environment, events.mdb beside it, for serve's webhooks:
 *   events    "<event id>"                   -> webhook event (serve)
 *   evtime    "<unix s: 8 bytes BE><event id>" -> "" (events by age, to prune)
 * LMDB has one writer per environment: in their own, the webhooks' group
 * commits (each two device flushes) never queue ahead of a move-in's
 * journal intents, which its vendor call waits for.
 *
 * Writes for one site go in one write transaction (batch); the journal is
 * committed around each vendor call. Next to data.mdb the directory holds
 *   hash.key   32 random bytes (0600): key of the code hashes (R6)
 *   apply.lock flock()ed by the process that applies
 */
#ifndef RC_STORE_H
#define RC_STORE_H

#include "core/common.h"
#include "core/model.h"

#include <time.h>

struct store;
struct store_txn;

#define STORE_MAPSIZE_DEFAULT (8ULL << 30)

/* Open (creating the directory and files as needed). *out is new.
 * The state is checked before LMDB maps it: a data.mdb shorter than its
 * meta pages say, an empty or missing one beside files that say the
 * state held data (hash.key, apply.lock), or one holding data without its
 * hash.key, is refused (RC_EIO, the file and what to do): never a SIGBUS,
 * never a silent fresh start. An empty or new directory starts fresh (so
 * does one a first open left before it made hash.key). */
int store_open(struct store **out, const char *dir, struct rc_err *err);
void store_close(struct store *s);
/* Let go of the map's pages this process has touched: they stay in the
 * page cache (read again on the next access), but no longer count in its
 * resident set. A plan that reads the whole state site by site calls it
 * now and then, so that its RSS is not the size of the state file. Safe
 * with read transactions open (the map is a shared file mapping). */
void store_drop_pages(struct store *s);
/* --reinit-state, for every store_open of this process: a state refused
 * as damaged (above, or LMDB finding a damaged page while every record is
 * read once at open) has its files moved aside as
 * <name>.damaged-<UTC time> (never deleted; under the apply lock) and
 * starts fresh; a sound state is used as it is. */
void store_set_reinit(bool on);
/* The command this process runs ("apply", "serve"...; main's), written
 * into apply.lock beside the pid so that a second process names it. */
void store_set_command(const char *cmd);
/* Take the per-directory apply lock without waiting. Fails with RC_ELOCKED
 * and a message naming the holder (command and pid) when another process
 * holds it. */
int store_lock(struct store *s, struct rc_err *err);
void store_unlock(struct store *s);

/* Use key (borrowed) as hash.key from now on: cluster mode's instances
 * hash codes with one key, so that the state one wrote (JetStream) means
 * the same to the next owner. A state directory that holds records hashed
 * with another key is refused (RC_EINVAL, saying how to convert it); an
 * empty one takes the key (hash.key replaced, durably). */
int store_use_hash_key(struct store *s, const unsigned char key[32], struct rc_err *err);

/* Keyed hash (HMAC-SHA256 with hash.key) of a secret, bound to a site:
 * HMAC(key, site || 0x00 || secret). */
void store_secret_hash(const struct store *s, const char *site,
		       const char *secret, unsigned char out[RC_HASH_LEN]);
/* store_secret_hash as a struct rc_hasher, for the rules (borrows s). */
struct rc_hasher store_hasher(const struct store *s);
/* HMAC of arbitrary bytes with hash.key (plan staleness fingerprints). */
void store_hmac(const struct store *s, const void *data, size_t len,
		unsigned char out[RC_HASH_LEN]);

int store_txn_begin(struct store *s, bool write, struct store_txn **out,
		    struct rc_err *err);
int store_txn_commit(struct store_txn *t, struct rc_err *err);
void store_txn_abort(struct store_txn *t);

/* ---- writes: jobs, and group commit (store_writer.c) ---- */
/* A write of the state: fn writes into t (in the writer thread when one
 * runs: it may read only what its submitter leaves alone until done).
 * Non-zero: the job's writes are undone, and only its own. */
typedef int (*store_job_fn)(struct store_txn *t, void *arg, struct rc_err *err);
/* Which environment a job writes: each has its own writer thread. */
enum store_lane { STORE_LANE_STATE, STORE_LANE_EVENTS, STORE_LANES };
struct store_job {
	store_job_fn fn;
	void *arg;
	enum store_lane lane;        /* 0: the state (data.mdb) */
	int rc;                      /* its outcome, once done */
	struct rc_err err;
	void (*done)(struct store_job *j); /* store_writer_drain calls it: durable */
	void *owner;                 /* the submitter's: a fiber, a connection */
	struct store_job *next;
};
/* How store_write runs a job (the reconciler's: hand it to the writer and
 * wait on a fiber, else store_write_inline). Runs j; sets j->rc, j->err. */
typedef void (*store_exec_fn)(struct store *s, struct store_job *j, void *p);
void store_set_exec(struct store *s, store_exec_fn fn, void *p);
/* Run fn(arg) in a durable write transaction: as the exec says, else at
 * once in a transaction of its own. */
int store_write(struct store *s, store_job_fn fn, void *arg, struct rc_err *err);
/* j in a transaction of its own, committed before returning (j->rc). */
int store_write_inline(struct store *s, struct store_job *j);
/* The writer threads, one per lane: notify(p) is called from either when
 * jobs are done; the owner's thread then calls store_writer_drain, which
 * calls their done(). Stop runs what is queued, then drains. */
int store_writer_start(struct store *s, void (*notify)(void *p), void *p, struct rc_err *err);
bool store_writer_running(const struct store *s);
void store_writer_submit(struct store *s, struct store_job *j);
void store_writer_drain(struct store *s);
void store_writer_stop(struct store *s);
/* Batches committed and jobs in them, since start, both lanes (metrics). */
void store_writer_stats(const struct store *s, unsigned long *batches, unsigned long *jobs);
/* How long lane's durable commits took since start (metrics: the disk's
 * flushes, which a webhook's 200 and a move-in's vendor call wait for):
 * counts per bucket (upper bounds in seconds, not cumulative; the last
 * count is over the last bound), and their sum in seconds. Zeros without
 * a writer. */
#define STORE_COMMIT_NBUCKETS 9
extern const double store_commit_buckets[STORE_COMMIT_NBUCKETS];
void store_writer_commit_times(const struct store *s, enum store_lane lane,
			       unsigned long counts[STORE_COMMIT_NBUCKETS + 1], double *sum);
/* The events' writer's rule for its next batch after a commit (pure; times
 * are rc_now_mono() seconds): after a commit of over 2 ms it waits until
 * half that commit's time (at most 5 ms) after it ended, but no longer
 * than 0.5 ms after the last job once one came (only where at least half
 * as many jobs as it carried came while it was on the disk), and not at
 * all once as many came as it carried. The time to wait until; 0: start
 * now. */
struct store_gather {
	double last_commit;     /* s, the last commit's time */
	double last_end;        /* when it ended */
	double last_submit;     /* when the last job came */
	unsigned long came;     /* jobs since it ended */
	unsigned long last_n;   /* jobs it carried */
	unsigned long during;   /* jobs that came while it ran */
};
double store_gather_until(const struct store_gather *g);
/* Must a submit wake the writer (pure)? It sleeps until a first job, or
 * gathers until a deadline that only the first job since its last commit,
 * the last batch's count or a full batch (max) brings nearer: a wake-up
 * per job (a futex call and a thread switch per webhook) would change
 * nothing else. was_empty: nothing was queued before this job. */
bool store_writer_must_wake(bool was_empty, unsigned long came, unsigned long last_n,
			    unsigned long queued, unsigned long max);

/* ---- observed vendor state ---- */
/* Load every unit of a site into out (which must be obs_site_init'ed).
 * Returns RC_ENOTFOUND when nothing was ever stored for the site. */
int store_observed_load(struct store_txn *t, const char *site,
			struct obs_site *out, struct rc_err *err);
/* Load the units of these names only (absent ones skipped) into out,
 * indexed on return: a one-rental run reads its units, not the site's. */
int store_observed_load_names(struct store_txn *t, const char *site, const char *const *names,
			      size_t n, struct obs_site *out, struct rc_err *err);
/* Was anything ever stored for the site? (one cursor step) */
int store_observed_any(struct store_txn *t, const char *site, bool *out, struct rc_err *err);
/* Replace the site's whole observed state (deletes units not in o). Units
 * whose record is unchanged are not written. */
int store_observed_put_site(struct store_txn *t, const struct obs_site *o,
			    struct rc_err *err);
/* Insert or replace one unit (nothing written when unchanged). */
int store_observed_put_unit(struct store_txn *t, const char *site,
			    const struct obs_unit *u, struct rc_err *err);
/* Replace the keyed hashes of codes the vendor holds for no tenant
 * (obs_site.held_codes: n hashes, RC_HASH_LEN bytes each) after a refresh. */
int store_observed_put_held(struct store_txn *t, const char *site, const unsigned char *hashes,
			    size_t n, struct rc_err *err);
/* R6: does the site's vendor hold a code of this keyed hash (a tenant's,
 * or one held for no tenant)? */
int store_code_in_use(struct store_txn *t, const char *site, const unsigned char h[RC_HASH_LEN],
		      bool *out, struct rc_err *err);

/* ---- last PMS state per rental (edges: R4, sync stamps): struct pms_rec ---- */
/* RC_ENOTFOUND when absent. */
int store_pms_get(struct store_txn *t, const char *site, const char *rental_id,
		  struct pms_rec *out, struct rc_err *err);
/* Every record of the site into out (pms_recs_init'ed; indexed on return). */
int store_pms_load(struct store_txn *t, const char *site, struct pms_recs *out,
		   struct rc_err *err);
/* The records of these rentals only (absent ones skipped; indexed). */
int store_pms_load_ids(struct store_txn *t, const char *site, const char *const *rental_ids,
		       size_t n, struct pms_recs *out, struct rc_err *err);
int store_pms_put(struct store_txn *t, const char *site,
		  const struct pms_rec *r, struct rc_err *err);
int store_pms_del(struct store_txn *t, const char *site, const char *rental_id,
		  struct rc_err *err);
/* Delete the site's records of rentals not in keep (ended or gone). */
int store_pms_keep_only(struct store_txn *t, const char *site, const struct rc_map *keep,
			struct rc_err *err);
/* Number of rental records stored for the site (R10 "units existed before"). */
int store_pms_count(struct store_txn *t, const char *site, size_t *out,
		    struct rc_err *err);

/* ---- generation per site: bumped by every apply that changes the site ---- */
int store_generation(struct store_txn *t, const char *site, uint64_t *out,
		     struct rc_err *err);
int store_generation_bump(struct store_txn *t, const char *site,
			  uint64_t *out, struct rc_err *err);

/* ---- site meta ---- */
struct store_site_meta {
	char facility_id[64];     /* resolved vendor facility id */
	char last_sync[40];       /* ISO time of the last successful apply */
	char last_attempt[40];
	char last_error[256];     /* never holds a secret */
};
int store_site_meta_get(struct store_txn *t, const char *site,
			struct store_site_meta *out, struct rc_err *err);
int store_site_meta_put(struct store_txn *t, const char *site,
			const struct store_site_meta *m, struct rc_err *err);

/* ---- Retry-After deadlines by host (wall-clock unix seconds) ---- */
int store_wait_put(struct store_txn *t, const char *host, double until, struct rc_err *err);
/* Call fn for each deadline stored (past ones too: the caller compares). */
int store_wait_each(struct store_txn *t, void (*fn)(const char *host, double until, void *p),
		    void *p, struct rc_err *err);

/* ---- R10: a site's destructive calls over the last hour ----
 * A journal intent of a destructive operation (op_is_destructive) adds a
 * mark in its own transaction, before the call; a failed result takes it
 * back; so a crash or a restart loses none (serve's R10 across webhooks). */
#define STORE_R10_WINDOW_S 3600
/* Marks of the site younger than the hour at now. */
int store_r10_count(struct store_txn *t, const char *site, time_t now, unsigned *out,
		    struct rc_err *err);

/* ---- journal ---- */
enum journal_state {
	JOURNAL_INTENT = 1,    /* written before the call */
	JOURNAL_OK,            /* call succeeded */
	JOURNAL_FAILED,        /* call failed; vendor unchanged as far as known */
	JOURNAL_UNKNOWN,       /* outcome unknown (timeout, crash): in doubt */
	JOURNAL_RESOLVED       /* an in-doubt entry settled by a later refresh */
};

struct journal_entry {
	uint64_t seq;
	enum journal_state state;
	char op[32];           /* operation kind, e.g. "tenant.create" */
	char unit[64];         /* vendor unit name (may be empty) */
	char rental_id[64];
	char user_id[64];
	char vendor_id[64];    /* id the vendor returned, if any */
	char plan_id[40];
	char time[40];         /* ISO time of the last state change */
	char error[256];       /* last error (never a secret) */
	char detail[256];      /* short human description, never a secret */
};

/* Write an intent (state JOURNAL_INTENT, seq assigned) and commit it in its
 * own durable transaction before the vendor call is made. */
int store_journal_intent(struct store *s, const char *site,
			 struct journal_entry *e, struct rc_err *err);
/* Record the outcome of e (state, error, vendor_id), committed at once. */
int store_journal_result(struct store *s, const char *site,
			 const struct journal_entry *e, struct rc_err *err);
/* Group commit: the results first, then the intents (seqs assigned, state
 * INTENT), in one durable transaction: what many calls in flight journal
 * at once (concurrent apply). */
int store_journal_batch(struct store *s, const char *site, struct journal_entry *const *intents,
			size_t ni, const struct journal_entry *results, size_t nr,
			struct rc_err *err);
/* Results (borrowed) inside a caller's transaction: the last of a run
 * ride along with the site's commit (reconciler/apply.c). */
int store_journal_results_put(struct store_txn *t, const char *site,
			      const struct journal_entry *results, size_t n, struct rc_err *err);
/* Update an entry inside a caller's transaction (e.g. RESOLVED). */
int store_journal_put(struct store_txn *t, const char *site,
		      const struct journal_entry *e, struct rc_err *err);
/* Visit entries of a site in seq order; only_open visits INTENT and UNKNOWN
 * entries (through the jopen index: O(open), not O(history)). The callback returns non-zero to stop (returned as is). */
typedef int (*store_journal_cb)(const struct journal_entry *e, void *payload);
int store_journal_each(struct store_txn *t, const char *site, bool only_open,
		       store_journal_cb cb, void *payload, struct rc_err *err);
/* The plan id (borrowed, for the call) of each open entry of a site, read
 * from the jopen index alone: a plan counts the open entries not of runs
 * in flight in O(open) lookups, without parsing them (each of a site's
 * concurrent runs has some open). Non-zero from cb stops the walk. */
typedef int (*store_open_plan_cb)(const char *plan_id, void *payload);
int store_journal_open_plans(struct store_txn *t, const char *site, store_open_plan_cb cb,
			     void *payload, struct rc_err *err);

/* ---- webhook events (serve) ---- */
/* The longest event id stored: LMDB keys are at most 511 bytes and the
 * evtime key is 8 bytes of time then the id. */
#define STORE_EVENT_ID_MAX 503
/* RC_OK when stored (durably), RC_EEXIST when an event with this id was
 * stored before. */
int store_event_put(struct store *s, const char *id, const char *json,
		    struct rc_err *err);
/* The same as a job for the writer (serve's webhooks, answered once it
 * is durable): j is filled; json is borrowed until done, the returned
 * argument is new (free it when done). RC_EEXIST in j->rc: a duplicate. */
void *store_event_job(const char *id, const char *json, struct store_job *j);

/* ---- retention ---- */
struct store_retention {
	long events_s;               /* drop webhook events older than this; 0 = keep */
	long journal_s;              /* drop closed journal entries older; 0 = keep */
	size_t max_per_call;         /* deletions per transaction (0: 10,000) */
};
struct store_pruned {
	size_t events, journal;      /* entries deleted */
	bool more;                   /* the budget ran out: call again */
};
/* One write transaction deleting what r says is too old at now (unix
 * seconds). Journal entries still open (intent, unknown) are never
 * dropped: R7 settles them. */
int store_prune(struct store *s, const struct store_retention *r, time_t now,
		struct store_pruned *out, struct rc_err *err);

#endif
