/*
 * engine.h: plan and apply, the two halves of a reconcile run.
 *
 *   engine_open      spec + state directory (+ PMS client or snapshot file)
 *   engine_load_pms  one PMS snapshot for the selected sites
 *   engine_plan      per site: refresh (or cache) -> desired -> diff
 *   engine_apply     per site: journal intent, vendor call, journal result;
 *                    one LMDB write transaction per site at the end
 */
#ifndef RC_ENGINE_H
#define RC_ENGINE_H

#include "core/log.h"
#include "desired.h"
#include "plan.h"
#include "providers/storeganise.h"
#include "state/store.h"

struct engine {
	const struct spec *spec;        /* borrowed */
	struct store *store;            /* owned */
	struct sg_client *sg;           /* owned; NULL with a snapshot file */
	const char *snapshot_file;      /* borrowed */
	struct pms_snapshot snap;
	bool snap_loaded;
	struct snap_groups groups;
	const struct rc_log *log;       /* borrowed: progress, errors (NULL: none) */
	/* open vendor sessions by spec site index: a token and connections
	 * are reused by every plan and apply of this engine */
	struct provider **provs;
	size_t nprovs;
	/* a child (engine_child) borrows store, sg and sessions from root */
	struct engine *root;
	const bool *cancel;             /* set: apply stops after the current call */
	struct sg_touched touched;      /* a scoped plan: rentals and owners asked about */
	/* the root's: journal entries of calls running now in this process
	 * ("site\x1fseq", new keys), not in doubt for a plan of their site */
	struct rc_map inflight;
};

struct engine_opts {
	bool refresh;                   /* read vendor state (default true) */
	const char *const *sites;       /* spec site names; NULL/0 = all */
	size_t nsites;
	const char *regen_user;         /* `codes regenerate`: new code for this PMS user */
};

struct apply_opts {
	bool allow_destructive;         /* R10 override */
	/* units a scoped plan's site lost in earlier scoped applies (serve):
	 * added to the plan's own when it vacates any (R10 across webhooks) */
	unsigned destructive_before;
	const struct plan *saved;       /* apply exactly this saved plan */
};

struct apply_result {
	unsigned ok, failed, in_doubt, skipped;
	unsigned sites_failed;
	unsigned vacated;               /* R10 ops done or in doubt (not failed) */
};

/* A call's journal entry is running now (add) or has its result: a plan
 * of the same site meanwhile (serve runs several one-rental runs of a
 * site at once) does not take it for a call in doubt. */
void engine_inflight(struct engine *e, const char *site, uint64_t seq, bool add);
bool engine_is_inflight(const struct engine *e, const char *site, uint64_t seq);

/* The spec's request rates by peer (serve.requests_per_second), for every
 * HTTP client of the process (engine_open calls it; a reload again). */
void engine_set_rates(const struct spec *spec);

/* Open the state directory (and the PMS client unless a snapshot file is
 * read). log (borrowed, may be NULL) gets progress and per-site errors. */
int engine_open(struct engine *e, const struct spec *spec, const char *snapshot_file,
		const struct rc_log *log, struct rc_err *err);
void engine_close(struct engine *e);
/* A child engine for one concurrent work item (serve): its own PMS
 * snapshot, the parent's store, PMS client and vendor sessions (borrowed:
 * parent outlives child). Release with engine_close. */
void engine_child(struct engine *child, struct engine *parent);
int engine_load_pms(struct engine *e, const struct engine_opts *o,
		    struct rc_err *err);
/* Forget the PMS snapshot so that the next plan reads the PMS again
 * (a long-running serve plans many times with one engine). */
void engine_reset_pms(struct engine *e);
/* The open vendor session of a site (borrowed; opened on first use). */
struct provider;
int engine_provider(struct engine *e, const struct spec_site *site,
		    const struct pms_site *pms_site, struct provider **out,
		    struct rc_err *err);
/* Close every vendor session (a new spec, new credentials). */
void engine_close_providers(struct engine *e);
/* Plan the selected sites into out (zeroed by the caller). Site-level
 * failures are recorded in the site plan; RC_OK unless nothing could run. */
int engine_plan(struct engine *e, const struct engine_opts *o,
		struct plan *out, struct rc_err *err);
/* Plan one site for some rentals only (serve's webhooks): the PMS objects
 * they touch (sg_fetch_scope), compared with the cached observed state (no
 * vendor read); operations only for their units. e must be fresh (a child
 * engine). RC_ENOTFOUND (a rental gone, no cached state): plan the whole
 * site instead. */
int engine_plan_scope(struct engine *e, const struct spec_site *site,
		      const char *const *rental_ids, size_t n, struct plan *out,
		      struct rc_err *err);
/* engine_plan_scope in two steps, so that serve can see what the run
 * touches (e->snap) before it plans: the PMS part, then the plan. */
int engine_fetch_scope(struct engine *e, const struct spec_site *site,
		       const char *const *rental_ids, size_t n, struct rc_err *err);
int engine_plan_fetched(struct engine *e, const struct spec_site *site, struct plan *out,
			struct rc_err *err);
/* Apply p (from engine_plan). With ao->saved, p must be a fresh plan of the
 * same sites: stale sites are refused, the others run the saved ops. */
int engine_apply(struct engine *e, struct plan *p, const struct apply_opts *ao,
		 struct apply_result *res, struct rc_err *err);

/* Select the spec sites named in o (all when none). Fails on an unknown
 * name. *out is new (free), entries borrowed from the spec. */
int engine_select_sites(const struct spec *spec, const struct engine_opts *o,
			const struct spec_site ***out, size_t *n,
			struct rc_err *err);

#endif
