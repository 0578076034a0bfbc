/*
 * serve_int.h: what serve.c (HTTP, timers, signals, run) and serve_work.c
 * (the work items) share. Internal to reconcile serve.
 */
#ifndef RC_SERVE_INT_H
#define RC_SERVE_INT_H

#include <ev.h>
#include <jansson.h>
#include <microhttpd.h>

#include "core/log.h"
#include "core/fiber.h"
#include "core/workq.h"
#include "r10.h"
#include "serve.h"

#define NBUCKETS 8
extern const double serve_buckets[NBUCKETS]; /* duration histogram, seconds */

struct site_timer {
	ev_timer w;
	struct serve *s;
	char *site;
};

/* What a work key names: every site, one site, or a PMS object whose
 * sites are found when it runs. Keys are queued as text "kind:id" (the
 * queue is keyed by string); serve_key_* is the one place that builds
 * and reads that text. */
enum serve_key_kind {
	KEY_ALL = 0,      /* every site of the spec */
	KEY_SITE,         /* id: a spec site name */
	KEY_RENTAL,       /* id: a PMS unit rental */
	KEY_JOB,          /* id: a PMS job (move-in, move-out, transfer) */
	KEY_UNIT,         /* id: a PMS unit */
	KEY_USER          /* id: a PMS customer */
};
struct serve_key {
	enum serve_key_kind kind;
	const char *id;   /* borrowed; NULL for KEY_ALL */
};
#define SERVE_KEY_MAX 160
/* Two queues, each with its bound: whole-site runs (serve.workers: each
 * holds a site's snapshot) and the rest (serve.rental_workers: one
 * rental's part, or the lookup of a job, unit or customer), so that a
 * burst of one-rental runs waiting on the disk does not keep the sites'
 * runs from starting, nor do they hold it back. */
enum serve_queue { SERVE_Q_SITES, SERVE_Q_RENTALS, SERVE_NQ };
enum serve_queue serve_queue_of(enum serve_key_kind kind);
/* The text of k into buf (SERVE_KEY_MAX bytes); false when the id is too
 * long to be a key. */
bool serve_key_format(const struct serve_key *k, char *buf, size_t n);
/* Read text into *out (out->id points into text); false when unknown. */
bool serve_key_parse(const char *text, struct serve_key *out);

/* What serve keeps per spec site between work items. */
struct serve_site {
	unsigned long drift;         /* operations still planned */
	unsigned managed;            /* managed units at the last whole-site plan */
	bool whole;                  /* a whole-site run now: nothing else in the site */
	bool whole_waiting;          /* one is queued: no new one-rental run starts */
	unsigned scoped;             /* one-rental runs now */
	unsigned inside;             /* work items inside (whole + scoped) */
	struct rc_map claims;        /* "u:<unit>", "c:<customer>" held by one-rental
				      * runs (new keys) -> holders */
	struct fiber_waitq claimq;   /* one-rental runs waiting for a claim */
	unsigned vacating;           /* destructive operations of runs applying now (R10) */
	bool destroying;             /* a run with destructive operations applies now */
	struct fiber_waitq destroyq; /* runs with destructive operations waiting for it */
};

/* An HTTP connection as serve tracks it (MHD's socket context): a
 * request that takes longer than SERVE_REQUEST_TIMEOUT_S from its
 * connection or its request line to its answer is cut (slow clients). */
struct serve_conn {
	struct MHD_Connection *c;
	ev_tstamp since;             /* connection start, request line, or last answer */
	bool waiting;                /* suspended on the disk: never cut */
	struct serve_conn *prev, *next;
};
#define SERVE_REQUEST_TIMEOUT_S 10
#define SERVE_MAX_CONNECTIONS 4096   /* all addresses (fd limit permitting) */

struct serve {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	struct MHD_Response *answer_accepted, *answer_duplicate; /* a webhook's 200s (static_answer) */
	struct serve_conn *conns;    /* open HTTP connections (new, freed at close) */
	ev_timer conn_timer;         /* cuts slow requests, every second */
	unsigned long conns_cut;     /* requests cut for slowness */
	ev_io mhd_io;
	ev_timer mhd_timer, work_timer;
	ev_timer prune_timer;        /* retention: hourly, sooner while a backlog lasts */
	unsigned long pruned_events, pruned_journal;
	ev_signal sig_term, sig_int, sig_hup;
	struct site_timer *timers;
	size_t ntimers;
	struct serve_opts o;
	struct spec *spec;
	struct engine e;
	struct workq q[SERVE_NQ];     /* the sites' keys, the others' (serve_queue_of) */
	unsigned running_q[SERVE_NQ]; /* their items running now: at most serve.workers,
				       * serve.rental_workers */
	unsigned running_max;        /* most items of both ever running at once */
	struct serve_signer *signer; /* the webhook secret, keyed (serve_event.c) */
	struct rc_map rental_site;   /* rental id -> site index (last plans) */
	struct rc_arena rental_arena;/* rental_site's keys: dropped with it on SIGHUP */
	struct rc_log log;           /* JSON lines or text on stderr (serve_log.c) */
	struct rc_buf logbuf;        /* lines not written yet */
	ev_prepare log_prepare;      /* writes them before the loop waits */
	bool log_turns;              /* ... while it runs; at once before and after */
	unsigned running;            /* work items on fibers now */
	unsigned site_max;           /* most work items ever inside one site at once */
	unsigned claim_max;          /* most runs ever holding one unit or customer (1) */
	bool stopping;
	bool reload;                 /* SIGHUP: reload once no work item runs */
	unsigned long ev_received, ev_duplicate, ev_rejected, ev_ignored;
	unsigned long reconciles, reconcile_errors;
	unsigned long resolve_errors; /* events whose objects the PMS could not give */
	unsigned long *ops_ok, *ops_failed; /* by vendor_index */
	unsigned long hist[NBUCKETS + 1];
	double hist_sum;
	struct serve_site *sites;    /* per spec site (index as in the spec) */
	struct serve_cluster *cluster; /* cluster mode (serve_cluster.c); NULL: one process */
};

/* The per-site state for spec ns (new), taking over what old (whose
 * array it frees) knew of sites of the same name: a SIGHUP does not reset
 * R10's count. */
struct serve_site *serve_sites_carry(struct serve_site *old, const struct spec *old_spec,
				     const struct spec *ns);
/* Free what sites[0..n) own, then the array. */
void serve_sites_free(struct serve_site *sites, size_t n);

/* ---- serve_claim.c: who may run in a site at once ----
 * A whole-site run has the site to itself; one-rental runs share it when
 * they touch no common unit, nor (a vendor user per customer) customer.
 * The PMS units and customers a run touches are known once its PMS part
 * is read, so a one-rental run enters, reads, then claims them, waiting
 * for a run that holds one to end. */
struct serve_claims {
	char **keys;                 /* new */
	size_t n;
};
/* May a key of this kind start in the site now (can_run)? A whole-site
 * key refused marks the site so that no new one-rental run starts
 * before it (no starvation). */
bool serve_site_can_run(struct serve_site *st, bool whole);
/* Enter the site (false: not now; queue the key again). */
bool serve_site_enter(struct serve *s, struct serve_site *st, bool whole);
void serve_site_leave(struct serve_site *st, bool whole);
/* Claim what e's scoped snapshot touches of site ss (waits on the
 * fiber for a run holding any of it); release after the apply. */
void serve_claim(struct serve *s, struct serve_site *st, const struct engine *e,
		 const struct spec_site *ss, struct serve_claims *out);
void serve_unclaim(struct serve_site *st, struct serve_claims *c);

/* serve_log.c: the logger (s->log) and its buffer. open: lines are written
 * at once; turns on: a loop turn's lines with one write before the loop
 * waits (warnings and errors at once); off: the rest written, at once again. */
void serve_log_open(struct serve *s);
void serve_log_turns(struct serve *s, bool on);
/* Write the buffered lines now (before an HTTP answer goes out). */
void serve_log_flush(struct serve *s);
void serve_log_close(struct serve *s);
/* One log line (JSON or text) on stderr; never give it a secret. */
#define serve_log(s, level, ...) rc_log(&(s)->log, (level), __VA_ARGS__)
/* Queue a key: KEY_ALL queues every site. */
void serve_enqueue(struct serve *s, enum serve_key_kind kind, const char *id);
/* serve_enqueue; urgent: ahead of what is queued (a site stays in line:
 * a whole-site run does not jump the queue). */
void serve_enqueue_urgent(struct serve *s, enum serve_key_kind kind, const char *id, bool urgent);
/* Run serve_work_cb after `after` seconds. */
void serve_schedule(struct serve *s, double after);
/* The work timer: start queued keys on fibers, up to each queue's bound
 * (serve.workers, serve.rental_workers). */
void serve_work_cb(struct ev_loop *loop, ev_timer *w, int revents);
/* A fiber counted in s->running ended (on the loop): the loop stops or
 * reloads once none runs. */
void serve_fiber_done(struct serve *s);
/* SIGHUP, deferred until no work item runs (serve.c). */
void serve_reload(struct serve *s);

/* Cluster mode's routing, on a fiber: each (site, key text) that the
 * event (borrowed) names, as the site's owner queues it (rentals resolved
 * to their site, a job, unit or customer to its rentals, PMS reads as a
 * work item does); false when the PMS could not say (route it later). */
typedef void (*serve_route_fn)(void *p, const struct spec_site *ss, const char *key);
bool serve_route_event(struct serve *s, json_t *ev, serve_route_fn add, void *p);

/* ---- serve_cluster.c: cluster mode (the spec's "cluster"; nothing without it) ---- */
/* Start the shard leases (RC_EIO: NATS unreachable); stop releases them. */
int serve_cluster_start(struct serve *s, struct rc_err *err);
void serve_cluster_stop(struct serve *s);
/* May this instance work on site now? *term: its shard lease's term, for
 * serve_cluster_fence before the run's writes. Always true in one process. */
bool serve_cluster_owns(struct serve *s, const char *site, uint64_t *term);
bool serve_cluster_fence(struct serve *s, const char *site, uint64_t term);
/* Publish a verified webhook (body, its event id) to JetStream's
 * <stream>.in; job->rc (RC_OK, RC_EEXIST: a duplicate, RC_EIO) is set and
 * job->done called on the loop once JetStream answered. */
struct store_job;
void serve_cluster_publish(struct serve *s, const char *id, const char *body, size_t len,
			   struct store_job *job);
/* A work item took key (run: its identity) / ended: the shard messages
 * of that key that arrived before it are acked when ok (the run's commit
 * is done) and the shard still owned, else given back (nak). */
void serve_cluster_take(struct serve *s, const char *key, const void *run);
void serve_cluster_ran(struct serve *s, const void *run, bool ok);
/* Its /metrics lines (none in one process) and its /readyz body (new). */
void serve_cluster_metrics(struct serve *s, struct rc_buf *b);
char *serve_cluster_readyz(struct serve *s);

/* serve_metrics.c: the /metrics answer (new, Prometheus text). */
char *serve_metrics(struct serve *s);

/* serve_event.c. The webhook secret, keyed into an HMAC-SHA256 context
 * (new; NULL when OpenSSL cannot make one). One thread at a time. */
struct serve_signer *serve_signer_new(const char *secret);
void serve_signer_free(struct serve_signer *sg);
/* sg-signature = base64(HMAC-SHA256(secret, raw body)), compared in
 * constant time; false without a signer. */
bool serve_signature_ok(struct serve_signer *sg, const char *body, size_t len, const char *sig);
/* The keys an event (borrowed) names, each handed to add (id borrowed from
 * ev); their count, -1 when it has no type. urgent: the event grants or
 * takes access at once (a move-in, move-out or transfer completed): its
 * keys go ahead of the queued updates (workq_add_urgent). */
typedef void (*serve_event_fn)(void *p, enum serve_key_kind kind, const char *id, bool urgent);
int serve_event_route(json_t *ev, serve_event_fn add, void *p);

#endif
