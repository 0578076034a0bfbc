/*
 * serve_int.h: what serve.c (HTTP, timers, signals, run) and serve_work.c
 * (the work items) share. Internal to reconcile serve.
 */
#ifndef RC_SERVE_INT_H
#define RC_SERVE_INT_H

#include <ev.h>
#include <microhttpd.h>

#include "serve.h"
#include "workq.h"

#define NBUCKETS 8
extern const double serve_buckets[NBUCKETS]; /* duration histogram, seconds */

struct site_timer {
	ev_timer w;
	struct serve *s;
	char *site;
};

struct site_lock {
	bool busy;
	unsigned holders;        /* work items inside (the lock keeps it at 1) */
	struct fiber_waitq waiters;
};

#define VENDOR_SLOTS 8

/* What serve keeps per spec site between work items. */
struct serve_site {
	unsigned long drift;         /* operations still planned */
	/* units vacated or revoked by this site's runs in the last hour (the
	 * sum of marks, one per apply): they count against R10 with its next
	 * plans */
	unsigned vacated;
	struct r10_mark { double t; unsigned n; } *marks; /* oldest first */
	size_t nmarks, capmarks;
	unsigned managed;            /* managed units at the last whole-site plan */
};

struct serve {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
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
	struct workq q;
	char *secret;
	struct rc_map rental_site;   /* rental id -> site index (last plans) */
	struct rc_arena rental_arena;/* rental_site's keys: dropped with it on SIGHUP */
	struct rc_arena arena;
	struct site_lock *locks;     /* by site name (lock_idx) */
	size_t nlocks;
	struct rc_map lock_idx;
	unsigned running;            /* work items on fibers now */
	unsigned site_max;           /* most work items ever inside one site at once */
	bool stopping;
	bool reload;                 /* SIGHUP: reload once no work item runs */
	unsigned long ev_received, ev_duplicate, ev_rejected, ev_ignored;
	unsigned long reconciles, reconcile_errors;
	unsigned long resolve_errors; /* events whose objects the PMS could not give */
	unsigned long ops_ok[VENDOR_SLOTS], ops_failed[VENDOR_SLOTS];
	unsigned long hist[NBUCKETS + 1];
	double hist_sum;
	struct serve_site *sites;    /* per spec site (index as in the spec) */
};

/* The per-site state for spec ns (new), taking over what old (whose
 * array it frees) knew of sites of the same name: a SIGHUP does not reset
 * R10's count. */
struct serve_site *serve_sites_carry(struct serve_site *old, const struct spec *old_spec,
				     const struct spec *ns);
/* Free what sites[0..n) own, then the array. */
void serve_sites_free(struct serve_site *sites, size_t n);

/* One log line (JSON or text) on stderr; never give it a secret. */
void serve_log(struct serve *s, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Queue key ("site:NAME", "rental:ID", or "all" = every site). */
void serve_enqueue(struct serve *s, const char *key);
/* Run serve_work_cb after `after` seconds. */
void serve_schedule(struct serve *s, double after);
/* The work timer: start queued keys on fibers, up to serve.workers. */
void serve_work_cb(struct ev_loop *loop, ev_timer *w, int revents);
/* SIGHUP, deferred until no work item runs (serve.c). */
void serve_reload(struct serve *s);

#endif
