/* serve_work.c: serve's work items: keys -> sites, site locks, fibers.
 * See serve.c for the design. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fiber.h"
#include "serve_int.h"

const double serve_buckets[NBUCKETS] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

void serve_schedule(struct serve *s, double after)
{
	ev_timer_stop(s->loop, &s->work_timer);
	ev_timer_set(&s->work_timer, after < 0 ? 0 : after, 0.);
	ev_timer_start(s->loop, &s->work_timer);
}

static const char *const key_kinds[] = {
	[KEY_ALL] = "all", [KEY_SITE] = "site", [KEY_RENTAL] = "rental",
	[KEY_JOB] = "job", [KEY_UNIT] = "unit", [KEY_USER] = "user",
};

bool serve_key_format(const struct serve_key *k, char *buf, size_t n)
{
	int w;

	if (k->kind == KEY_ALL)
		w = snprintf(buf, n, "all");
	else
		w = snprintf(buf, n, "%s:%s", key_kinds[k->kind], k->id ? k->id : "");
	return w > 0 && (size_t)w < n;
}

bool serve_key_parse(const char *text, struct serve_key *out)
{
	const char *colon = strchr(text, ':');
	size_t i, n = colon ? (size_t)(colon - text) : strlen(text);

	for (i = 0; i < sizeof(key_kinds) / sizeof(key_kinds[0]); i++) {
		if (strlen(key_kinds[i]) != n || strncmp(text, key_kinds[i], n))
			continue;
		out->kind = (enum serve_key_kind)i;
		out->id = colon ? colon + 1 : NULL;
		return (i == KEY_ALL) == !colon && (!colon || colon[1]);
	}
	return false;
}

void serve_enqueue(struct serve *s, enum serve_key_kind kind, const char *id)
{
	serve_enqueue_urgent(s, kind, id, false);
}

void serve_enqueue_urgent(struct serve *s, enum serve_key_kind kind, const char *id, bool urgent)
{
	struct serve_key k = { kind, id };
	char text[SERVE_KEY_MAX];
	size_t i;

	if (kind == KEY_ALL) {
		for (i = 0; i < s->spec->nsites; i++)
			serve_enqueue(s, KEY_SITE, s->spec->sites[i].name);
		return;
	}
	if (!serve_key_format(&k, text, sizeof(text))) {
		serve_log(s, RC_LOG_WARN, "%s id too long to be queued: dropped", key_kinds[kind]);
		return;
	}
	workq_add_urgent(&s->q[serve_queue_of(kind)], text, urgent && kind != KEY_SITE, rc_now_mono());
	serve_schedule(s, 0);
}

enum serve_queue serve_queue_of(enum serve_key_kind kind)
{
	return kind == KEY_SITE || kind == KEY_ALL ? SERVE_Q_SITES : SERVE_Q_RENTALS;
}

static void remember_rentals(struct serve *s, const struct engine *e)
{
	const struct pms_snapshot *snap = &e->snap;
	size_t i;

	for (i = 0; i < snap->nrentals; i++) {
		const struct spec_site *ss = spec_find_site_by_pms_id(s->spec, snap->rentals[i].site_id);

		if (ss && !rc_map_get(&s->rental_site, snap->rentals[i].id, NULL))
			rc_map_put(&s->rental_site, rc_arena_strdup(&s->rental_arena, snap->rentals[i].id),
				   (size_t)(ss - s->spec->sites));
	}
}

static void observe(struct serve *s, const struct spec_site *ss, double dt, bool ok,
		    const struct apply_result *res)
{
	int b;

	for (b = 0; b < NBUCKETS && dt > serve_buckets[b]; b++)
		;
	s->hist[b]++;
	s->hist_sum += dt;
	s->reconciles++;
	s->ops_ok[vendor_index(vendor_of(ss))] += res->ok;
	s->ops_failed[vendor_index(vendor_of(ss))] += res->failed + res->in_doubt;
	if (!ok)
		s->reconcile_errors++;
}

/* A whole-site plan (refreshing the vendor). */
static int plan_whole(struct engine *e, const struct spec_site *ss, struct plan *p,
		      struct rc_err *err)
{
	const char *name = ss->name;
	struct engine_opts eo = { .refresh = true, .sites = &name, .nsites = 1 };
	int rc = engine_plan(e, &eo, p, err);

	if (!rc && p->sites[0].failed)
		rc = rc_errf(err, RC_ERR, "%s", p->sites[0].fail_msg);
	return rc;
}

/* A one-rental plan: the PMS objects the rental touches, claimed against
 * the site's other one-rental runs (serve_claim), planned against the
 * cached vendor state. RC_ENOTFOUND (a rental gone, nothing cached yet):
 * the whole site must be planned instead. */
static int plan_scoped(struct serve *s, struct serve_site *st, struct engine *e,
		       const struct spec_site *ss, const char *rental, struct plan *p,
		       struct serve_claims *claims, struct rc_err *err)
{
	int rc = engine_fetch_scope(e, ss, &rental, 1, err);

	if (rc)
		return rc;
	serve_claim(s, st, e, ss, claims);
	return engine_plan_fetched(e, ss, p, err);
}

/* R10 over time: every plan of a site is held to the limit of the whole
 * site, counting the units its runs vacated in the last hour (r10.h, kept
 * in the state): a PMS that ends every rental, one webhook or one periodic
 * run at a time, is stopped as one big plan would be, whatever the run's
 * scope, and a restart changes nothing. */

void serve_sites_free(struct serve_site *sites, size_t n)
{
	size_t i, k;

	for (i = 0; sites && i < n; i++) {
		for (k = 0; k < sites[i].claims.cap; k++)
			free((char *)sites[i].claims.keys[k]);
		rc_map_free(&sites[i].claims);
	}
	free(sites);
}

struct serve_site *serve_sites_carry(struct serve_site *old, const struct spec *old_spec,
				     const struct spec *ns)
{
	struct serve_site *sites = rc_calloc(ns->nsites + 1, sizeof(*sites));
	const struct spec_site *os;
	size_t i;

	for (i = 0; i < ns->nsites; i++) {
		os = spec_find_site(old_spec, ns->sites[i].name);
		if (!os)
			continue;
		sites[i] = old[os - old_spec->sites];
		memset(&old[os - old_spec->sites], 0, sizeof(*old)); /* moved */
	}
	serve_sites_free(old, old_spec->nsites);
	return sites;
}

static int limit_r10(struct serve *s, struct serve_site *st, struct site_plan *sp, bool scoped,
		     struct apply_opts *ao, struct rc_err *err)
{
	int rc;

	if (!scoped) {
		st->drift = sp->nops;
		st->managed = sp->managed;
	} else if (st->managed > sp->managed) {
		/* a scoped plan sees only its own units: the whole site's limit */
		sp->limit_destructive = r10_limit(sp->site, st->managed);
	}
	rc = r10_vacated_last_hour(s->e.store, sp->site->name, &ao->destructive_before, err);
	/* and what the site's other runs are vacating now (counted twice once
	 * journaled: on the safe side) */
	ao->destructive_before += st->vacating;
	return rc;
}

/* After an apply: what the site's counters learn from it. */
static void count_apply(struct serve_site *st, const struct site_plan *sp, bool scoped,
			const struct apply_result *res, bool ok)
{
	if (!scoped)
		st->drift = ok ? 0 : sp->nops - (res->ok < sp->nops ? res->ok : sp->nops);
	else
		st->drift -= res->ok < st->drift ? res->ok : st->drift;
}

/* Plan and apply what was planned, within R10 over time. */
static bool run_plan(struct serve *s, struct serve_site *st, struct engine *e, struct plan *p,
		     bool scoped, struct apply_result *res, struct rc_err *err)
{
	struct apply_opts ao = { 0 };
	unsigned vac;
	bool ok;

	remember_rentals(s, e);
	vac = p->sites[0].destructive;
	/* runs that vacate take turns in a site, each counting what the one
	 * before it vacated (its R10 marks are durable when it ends): the
	 * hour's limit holds however many one-rental move-outs run at once */
	while (vac && st->destroying)
		fiber_waitq_wait(&st->destroyq);
	ok = limit_r10(s, st, &p->sites[0], scoped, &ao, err) == RC_OK;
	/* a whole-site run commits even without operations: last sync, and
	 * the records of rentals that ended go (pmslast) */
	if (!ok || (!p->sites[0].nops && scoped))
		return ok;
	st->vacating += vac;
	st->destroying = st->destroying || vac;
	ok = engine_apply(e, p, &ao, res, err) == RC_OK;
	st->vacating -= vac;
	if (vac) {
		st->destroying = false;
		fiber_waitq_wake_all(&st->destroyq); /* each looks again: one goes on */
	}
	count_apply(st, &p->sites[0], scoped, res, ok);
	return ok;
}

/* The lease a run started under (cluster mode): asked before each call. */
struct run_fence {
	struct serve *s;
	const char *site;
	uint64_t term;
};

static bool run_fence_ok(void *arg)
{
	struct run_fence *f = arg;

	return serve_cluster_fence(f->s, f->site, f->term);
}

/* One site, or one rental's part of it: plan and apply, as `reconcile
 * apply --auto-approve`, on the calling fiber with an engine of its own
 * (the PMS snapshot is per work item; store, PMS client and vendor
 * sessions are shared). A whole-site run has the site to itself; one-
 * rental runs share it when they touch nothing in common (serve_claim.c).
 * A key that cannot enter now is queued again (can_run holds it back). */
static bool reconcile(struct serve *s, const struct serve_key *key, const struct spec_site *ss,
		      const char *rental)
{
	struct apply_result res = { 0 };
	struct plan p = { 0 };
	struct serve_site *st = &s->sites[ss - s->spec->sites];
	struct serve_claims claims = { NULL, 0 };
	struct engine e;
	struct rc_err err;
	double t0, dt;
	bool ok, scoped = rental != NULL;
	struct run_fence fence;
	uint64_t term;
	int rc;

	if (!serve_cluster_owns(s, ss->name, &term)) /* another instance's shard (cluster mode) */
		return true;
	if (!serve_site_enter(s, st, !scoped)) {
		serve_enqueue(s, key->kind, key->id);
		return true;
	}
	if (s->stopping) { /* the next start covers it */
		serve_site_leave(st, !scoped);
		return false;
	}
	t0 = rc_now_mono();
	rc_err_clear(&err);
	engine_child(&e, &s->e);
	fence = (struct run_fence){ s, ss->name, term };
	if (s->cluster) { /* each call of the apply waits on the lease */
		e.fence = run_fence_ok;
		e.fence_arg = &fence;
	}
	rc = scoped ? plan_scoped(s, st, &e, ss, rental, &p, &claims, &err)
		    : plan_whole(&e, ss, &p, &err);
	if (rc == RC_ENOTFOUND && scoped) {
		/* the whole site, once the site's other runs are over */
		serve_log(s, RC_LOG_INFO, "site %s: rental %s: the whole site is planned (%s)", ss->name,
			  rental, err.msg);
		serve_enqueue(s, KEY_SITE, ss->name);
		ok = true;
		goto out;
	}
	if (rc == RC_OK && !serve_cluster_fence(s, ss->name, term)) {
		/* the lease was lost while planning: another instance may run it now */
		serve_log(s, RC_LOG_WARN, "site %s: its shard's lease was lost: the plan is not applied",
			  ss->name);
		ok = true;
		goto out;
	}
	ok = rc == RC_OK && run_plan(s, st, &e, &p, scoped, &res, &err);
	if (!ok && scoped && err.code != RC_EREFUSED)
		/* the cached vendor state may be stale: read it all again (not
		 * after R10 said no: a whole plan must not get past it) */
		serve_enqueue(s, KEY_SITE, ss->name);
	dt = rc_now_mono() - t0;
	observe(s, ss, dt, ok, &res);
	serve_log(s, ok ? RC_LOG_INFO : RC_LOG_ERROR, "site %s%s%s: reconciled in %.3f s: %u operation%s%s%s",
		  ss->name, scoped ? ", rental " : "", scoped ? rental : "", dt, res.ok,
		  res.ok == 1 ? "" : "s", ok ? "" : "; error: ", ok ? "" : err.msg);
out:
	if (claims.keys)
		serve_unclaim(st, &claims);
	plan_free(&p);
	engine_close(&e);
	serve_site_leave(st, !scoped);
	return ok;
}

/* A rental's site (from the last plans, else the PMS): RC_OK with *site
 * NULL when it is of no site of the spec. */
static int rental_site(struct serve *s, const char *rental, const struct spec_site **site,
		       struct rc_err *err)
{
	struct pms_snapshot snap;
	const struct spec_site *ss = NULL;
	size_t i;
	int rc;

	*site = NULL;
	if (rc_map_get(&s->rental_site, rental, &i) && i < s->spec->nsites) {
		*site = &s->spec->sites[i];
		return RC_OK;
	}
	if (!s->e.sg)
		return RC_OK;
	pms_snapshot_init(&snap);
	rc = sg_fetch_rental(s->e.sg, s->spec, rental, &snap, err);
	if (!rc && snap.nrentals)
		ss = spec_find_site_by_pms_id(s->spec, snap.rentals[0].site_id ? snap.rentals[0].site_id
						: snap.nunits ? snap.units[0].site_id : NULL);
	pms_snapshot_free(&snap);
	if (rc == RC_ENOTFOUND) {
		rc_err_clear(err); /* gone before we looked: the periodic run covers it */
		rc = RC_OK;
	}
	if (ss && !rc_map_get(&s->rental_site, rental, NULL)) /* for can_run */
		rc_map_put(&s->rental_site, rc_arena_strdup(&s->rental_arena, rental),
			   (size_t)(ss - s->spec->sites));
	*site = ss;
	return rc;
}

/* Where process_ref's keys go: queued here (enqueue_emit), or routed to
 * their shard's owner (route_emit, cluster mode); false: try later. */
typedef bool (*emit_fn)(struct serve *s, enum serve_key_kind kind, const char *id, void *p);

/* p: a bool, the urgency of the key being resolved (passed on). */
static bool enqueue_emit(struct serve *s, enum serve_key_kind kind, const char *id, void *p)
{
	serve_enqueue_urgent(s, kind, id, *(const bool *)p);
	return true;
}

static bool enqueue_site(struct serve *s, const char *pms_site_id, emit_fn emit, void *p)
{
	const struct spec_site *ss = spec_find_site_by_pms_id(s->spec, pms_site_id);

	return ss ? emit(s, KEY_SITE, ss->name, p) : true;
}

/* A job, unit or customer that an event names without a rental: its
 * rentals are queued, else its unit's site as a whole. */
static bool process_ref(struct serve *s, const struct serve_key *k, emit_fn emit, void *p)
{
	const char *kind = k->kind == KEY_JOB ? "job" : k->kind == KEY_UNIT ? "unit" : "customer";
	const char *id = k->id;
	struct sg_refs r, u;
	struct rc_err err;
	bool ok = true;
	size_t i;
	int rc;

	if (!s->e.sg)
		return true;
	rc_err_clear(&err);
	memset(&u, 0, sizeof(u));
	if (k->kind == KEY_JOB)
		rc = sg_resolve_job(s->e.sg, id, &r, &err);
	else if (k->kind == KEY_UNIT)
		rc = sg_resolve_unit(s->e.sg, id, &r, &err);
	else
		rc = sg_resolve_user(s->e.sg, id, &r, &err);
	if (rc == RC_ENOTFOUND) {
		serve_log(s, RC_LOG_INFO, "%s %s: not found in the PMS; every site looks again", kind, id);
		return emit(s, KEY_ALL, NULL, p);
	}
	if (rc) {
		s->resolve_errors++;
		serve_log(s, RC_LOG_ERROR, "%s %s: %s (tried again later)", kind, id, err.msg);
		return false;
	}
	for (i = 0; i < r.nrentals && ok; i++)
		ok = emit(s, KEY_RENTAL, r.rentals[i], p);
	if (r.truncated && ok)
		ok = emit(s, KEY_ALL, NULL, p);
	if (!r.nrentals && !r.site_id && r.unit_id) {
		rc = sg_resolve_unit(s->e.sg, r.unit_id, &u, &err);
		if (rc && rc != RC_ENOTFOUND) {
			s->resolve_errors++;
			serve_log(s, RC_LOG_ERROR, "%s %s: its unit %s: %s (tried again later)", kind, id,
				  r.unit_id, err.msg);
			sg_refs_free(&r);
			return false;
		}
		if (!rc && ok)
			ok = enqueue_site(s, u.site_id, emit, p);
	} else if (!r.nrentals && r.site_id && ok) /* a unit remapped, a job without rental: the whole site */
		ok = enqueue_site(s, r.site_id, emit, p);
	serve_log(s, RC_LOG_INFO, "%s %s: %zu rental%s%s", kind, id, r.nrentals,
		  r.nrentals == 1 ? "" : "s", r.nrentals || r.site_id || u.site_id ? "" : " (nothing to do)");
	sg_refs_free(&r);
	sg_refs_free(&u);
	return ok;
}

static bool process(struct serve *s, const char *text)
{
	const struct spec_site *site;
	struct serve_key k;
	struct rc_err err;

	rc_err_clear(&err);
	if (!serve_key_parse(text, &k)) {
		serve_log(s, RC_LOG_WARN, "work key %s not understood: dropped", text);
		return true;
	}
	switch (k.kind) {
	case KEY_SITE:
		site = spec_find_site(s->spec, k.id);
		return site ? reconcile(s, &k, site, NULL) : true; /* it left the spec (SIGHUP) */
	case KEY_RENTAL: {
		bool ok = true;

		/* a new rental's read (its site) serves the run's scoped read too */
		if (rental_site(s, k.id, &site, &err)) {
			s->resolve_errors++;
			serve_log(s, RC_LOG_ERROR, "rental %s: %s (tried again later)", k.id, err.msg);
			ok = false;
		} else if (site) {
			ok = reconcile(s, &k, site, k.id);
		} else {
			serve_log(s, RC_LOG_INFO, "rental %s belongs to no site of the spec: ignored", k.id);
		}
		sg_memo_end(s->e.sg);
		return ok;
	}
	case KEY_JOB:
	case KEY_UNIT:
	case KEY_USER: {
		/* a move-in's job: its rentals too */
		bool urgent = workq_urgent(&s->q[SERVE_Q_RENTALS], text);

		return process_ref(s, &k, enqueue_emit, &urgent);
	}
	default:
		serve_enqueue(s, KEY_ALL, NULL);
		return true;
	}
}

/* ---- routing (cluster mode): an event's keys to (site, key) pairs ---- */

struct route_ctx {
	serve_route_fn add;
	void *p;
};

static void add_key(struct serve *s, struct route_ctx *r, const struct spec_site *ss,
		    enum serve_key_kind kind, const char *id)
{
	struct serve_key k = { kind, id };
	char text[SERVE_KEY_MAX];

	(void)s;
	if (serve_key_format(&k, text, sizeof(text)))
		r->add(r->p, ss, text);
}

/* A key as the owner will queue it: a rental with its site (a PMS read
 * when the last plans do not know it), a site, every site. */
static bool route_emit(struct serve *s, enum serve_key_kind kind, const char *id, void *p)
{
	struct route_ctx *r = p;
	const struct spec_site *ss = NULL;
	struct rc_err err;
	size_t i;

	rc_err_clear(&err);
	switch (kind) {
	case KEY_ALL:
		for (i = 0; i < s->spec->nsites; i++)
			add_key(s, r, &s->spec->sites[i], KEY_SITE, s->spec->sites[i].name);
		return true;
	case KEY_SITE:
		ss = spec_find_site(s->spec, id);
		if (ss)
			add_key(s, r, ss, KEY_SITE, id);
		return true;
	case KEY_RENTAL:
		if (rental_site(s, id, &ss, &err)) {
			s->resolve_errors++;
			serve_log(s, RC_LOG_ERROR, "rental %s: %s (routed again later)", id, err.msg);
			return false;
		}
		if (ss)
			add_key(s, r, ss, KEY_RENTAL, id);
		return true;
	default: {
		struct serve_key k = { kind, id };

		return process_ref(s, &k, route_emit, r);
	}
	}
}

struct route_keys {
	struct serve_key *k;
	size_t n, cap;
};

/* Cluster mode routes keys to their shard's owner without their urgency
 * (the shard's consumer delivers in stream order). */
static void collect(void *p, enum serve_key_kind kind, const char *id, bool urgent)
{
	struct route_keys *rk = p;

	(void)urgent;
	*RC_PUSH(rk->k, rk->n, rk->cap) = (struct serve_key){ kind, id };
}

bool serve_route_event(struct serve *s, json_t *ev, serve_route_fn add, void *p)
{
	struct route_keys rk = { NULL, 0, 0 };
	struct route_ctx r = { add, p };
	bool ok = true;
	size_t i;

	serve_event_route(ev, collect, &rk);
	for (i = 0; i < rk.n && ok; i++)
		ok = route_emit(s, rk.k[i].kind, rk.k[i].id, &r);
	sg_memo_end(s->e.sg); /* routed, not run here */
	free(rk.k);
	return ok;
}

struct work {
	struct serve *s;
	char *key;
	enum serve_queue qi;         /* the queue it was taken from */
	bool ok;
};

static void work_run(void *arg)
{
	struct work *w = arg;

	/* a move-in's run takes the next PMS and vendor slots before the
	 * updates' runs (its fiber waits ahead of theirs) */
	fiber_set_urgent(workq_urgent(&w->s->q[w->qi], w->key));
	w->ok = process(w->s, w->key);
}

/* On the loop, after a work item's fiber ended. */
static void work_done(void *arg)
{
	struct work *w = arg;
	struct serve *s = w->s;

	workq_done(&s->q[w->qi], w->key, w->ok, rc_now_mono());
	s->running_q[w->qi]--;
	serve_cluster_ran(s, w, w->ok);
	free(w->key);
	free(w);
	serve_fiber_done(s);
}

void serve_fiber_done(struct serve *s)
{
	s->running--;
	if (s->running)
		; /* the others finish first */
	else if (s->stopping)
		ev_break(s->loop, EVBREAK_ALL);
	else if (s->reload)
		serve_reload(s);
	serve_schedule(s, 0);
}

/* A key may start unless it names a site that is being reconciled. */
static bool can_run(const char *text, void *payload)
{
	struct serve *s = payload;
	const struct spec_site *site = NULL;
	struct serve_key k;
	size_t i;

	if (!serve_key_parse(text, &k))
		return true;
	if (k.kind == KEY_SITE)
		site = spec_find_site(s->spec, k.id);
	else if (k.kind == KEY_RENTAL && rc_map_get(&s->rental_site, k.id, &i) && i < s->spec->nsites)
		site = &s->spec->sites[i];
	return !site || serve_site_can_run(&s->sites[site - s->spec->sites], k.kind == KEY_SITE);
}

/* Start queue qi's keys up to its bound; false when out of memory. *wait:
 * the seconds until one of its keys may be ready (-1: none). */
static bool start_from(struct serve *s, enum serve_queue qi, unsigned bound, double *wait)
{
	struct work *w;
	const char *key;

	*wait = -1;
	while (!s->stopping && !s->reload && s->running_q[qi] < bound) {
		key = workq_take_if(&s->q[qi], rc_now_mono(), wait, can_run, s);
		if (!key)
			return true;
		w = rc_calloc(1, sizeof(*w));
		w->s = s;
		w->key = rc_strdup(key);
		w->qi = qi;
		serve_cluster_take(s, key, w);
		s->running++;
		s->running_q[qi]++;
		if (s->running_q[SERVE_Q_SITES] + s->running_q[SERVE_Q_RENTALS] > s->running_max)
			s->running_max = s->running_q[SERVE_Q_SITES] + s->running_q[SERVE_Q_RENTALS];
		if (fiber_spawn(work_run, w, work_done)) {
			serve_log(s, RC_LOG_ERROR, "no memory for a work item: %s is tried again later", key);
			w->ok = false;
			work_done(w);
			return false;
		}
	}
	return true;
}

void serve_work_cb(struct ev_loop *loop, ev_timer *wt, int revents)
{
	struct serve *s = wt->data;
	double wait_r, wait_s;

	(void)loop;
	(void)revents;
	/* move-ins and updates first: a site's run waiting for its turn marks
	 * the site (can_run), so that no new one-rental run goes before it */
	if (!start_from(s, SERVE_Q_RENTALS, s->spec->serve.rental_workers, &wait_r))
		return;
	if (!start_from(s, SERVE_Q_SITES, s->spec->serve.workers, &wait_s))
		return;
	if (wait_r >= 0 && (wait_s < 0 || wait_r < wait_s))
		serve_schedule(s, wait_r);
	else if (wait_s >= 0)
		serve_schedule(s, wait_s);
}
