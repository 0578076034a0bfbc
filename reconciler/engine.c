/* engine.c: planning. See engine.h; apply lives in apply.c. */
#define _GNU_SOURCE
#include "engine.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rules.h"
#include "providers/http.h"
#include "providers/vendor.h"

static void wait_load(const char *host, double until, void *payload)
{
	(void)payload;
	http_deadline_set(host, until);
}

/* The Retry-After deadlines an earlier process kept: no call before them. */
static int load_waits(struct store *s, struct rc_err *err)
{
	struct store_txn *t = NULL;
	int rc = store_txn_begin(s, false, &t, err);

	if (!rc)
		rc = store_wait_each(t, wait_load, NULL, err);
	if (t)
		store_txn_abort(t);
	return rc;
}

static void inflight_key(const char *site, const char *plan_id, char *buf, size_t n)
{
	snprintf(buf, n, "%s\x1f%s", site, plan_id);
}

void engine_inflight(struct engine *e, const char *site, const char *plan_id, bool add)
{
	char key[200];

	if (e->root)
		e = e->root;
	inflight_key(site, plan_id, key, sizeof(key));
	if (add && !rc_map_get(&e->inflight, key, NULL))
		rc_map_put(&e->inflight, rc_strdup(key), 1);
	else if (!add)
		free((char *)rc_map_del(&e->inflight, key));
}

bool engine_is_inflight(const struct engine *e, const char *site, const char *plan_id)
{
	char key[200];

	if (e->root)
		e = e->root;
	if (!e->inflight.n)
		return false;
	inflight_key(site, plan_id, key, sizeof(key));
	return rc_map_get(&e->inflight, key, NULL);
}

void engine_code_pending(struct engine *e, const char *hex, bool add)
{
	if (e->root)
		e = e->root;
	if (add && !rc_map_get(&e->pending_codes, hex, NULL))
		rc_map_put(&e->pending_codes, rc_strdup(hex), 1);
	else if (!add)
		free((char *)rc_map_del(&e->pending_codes, hex));
}

bool engine_code_is_pending(const struct engine *e, const char *hex)
{
	if (e->root)
		e = e->root;
	return rc_map_get(&e->pending_codes, hex, NULL);
}

void engine_set_rates(const struct spec *spec)
{
	size_t i;

	http_pool_set_rate(NULL, 0); /* a reload drops the limits it no longer names */
	for (i = 0; i < spec->serve.nrates; i++)
		http_pool_set_rate(spec->serve.rates[i].peer, spec->serve.rates[i].rps);
}

int engine_open(struct engine *e, const struct spec *spec, const char *snapshot_file,
		const struct rc_log *log, struct rc_err *err)
{
	int rc;

	memset(e, 0, sizeof(*e));
	e->spec = spec;
	e->snapshot_file = snapshot_file;
	engine_set_rates(spec);
	e->log = log;
	pms_snapshot_init(&e->snap);
	rc = store_open(&e->store, spec->state_dir, err);
	if (!rc)
		rc = load_waits(e->store, err);
	if (rc)
		return rc;
	if (!snapshot_file)
		rc = sg_client_new(&e->sg, spec, err);
	return rc;
}

void engine_child(struct engine *child, struct engine *parent)
{
	memset(child, 0, sizeof(*child));
	child->root = parent->root ? parent->root : parent;
	child->spec = parent->spec;
	child->store = parent->store;
	child->sg = parent->sg;
	child->cancel = parent->cancel;
	child->log = parent->log;
	pms_snapshot_init(&child->snap);
}

int engine_provider(struct engine *e, const struct spec_site *site,
		    const struct pms_site *pms_site, struct provider **out,
		    struct rc_err *err)
{
	const struct vendor *v = vendor_of(site);
	size_t i = (size_t)(site - e->spec->sites);
	int rc;

	if (e->root)
		e = e->root; /* sessions are shared: one token per site */
	*out = NULL;
	if (!e->provs) {
		e->nprovs = e->spec->nsites;
		e->provs = rc_calloc(e->nprovs + 1, sizeof(*e->provs));
	}
	if (i >= e->nprovs)
		return rc_errf(err, RC_EINVAL, "site %s is not of this spec", site->name);
	if (!e->provs[i]) {
		rc = v->open(&e->provs[i], site, pms_site, err);
		if (rc)
			return rc;
	}
	*out = e->provs[i];
	return RC_OK;
}

void engine_close_providers(struct engine *e)
{
	size_t i;

	if (e->root)
		return; /* the root's */
	for (i = 0; i < e->nprovs; i++)
		if (e->provs[i])
			vendor_of(&e->spec->sites[i])->close(e->provs[i]);
	free(e->provs);
	e->provs = NULL;
	e->nprovs = 0;
}

void engine_close(struct engine *e)
{
	if (e->spec)
		engine_close_providers(e);
	if (e->snap_loaded)
		snap_groups_free(&e->groups);
	pms_snapshot_free(&e->snap);
	rc_map_free(&e->touched.rentals);
	rc_map_free(&e->touched.owners);
	if (!e->root) {
		size_t i;

		for (i = 0; i < e->inflight.cap; i++)
			free((char *)e->inflight.keys[i]);
		rc_map_free(&e->inflight);
		for (i = 0; i < e->pending_codes.cap; i++)
			free((char *)e->pending_codes.keys[i]);
		rc_map_free(&e->pending_codes);
		sg_client_free(e->sg);
		store_close(e->store);
	}
	memset(e, 0, sizeof(*e));
}

int engine_select_sites(const struct spec *spec, const struct engine_opts *o,
			const struct spec_site ***out, size_t *n,
			struct rc_err *err)
{
	const struct spec_site **v;
	size_t i;

	v = rc_calloc(spec->nsites + 1, sizeof(*v));
	*n = 0;
	if (!o || !o->nsites) {
		for (i = 0; i < spec->nsites; i++)
			v[(*n)++] = &spec->sites[i];
	} else {
		for (i = 0; i < o->nsites; i++) {
			const struct spec_site *s = spec_find_site(spec, o->sites[i]);

			if (!s) {
				free(v);
				return rc_errf(err, RC_EINVAL,
					       "--site %s: no such site in %s (sites are named by their \"name\")",
					       o->sites[i], spec->path);
			}
			v[(*n)++] = s;
		}
	}
	*out = v;
	return RC_OK;
}

void engine_reset_pms(struct engine *e)
{
	rc_map_free(&e->touched.rentals);
	rc_map_free(&e->touched.owners);
	if (e->snap_loaded)
		snap_groups_free(&e->groups);
	pms_snapshot_free(&e->snap);
	pms_snapshot_init(&e->snap);
	e->snap_loaded = false;
}

int engine_load_pms(struct engine *e, const struct engine_opts *o,
		    struct rc_err *err)
{
	const struct spec_site **sites = NULL;
	size_t n = 0;
	int rc;

	if (e->snap_loaded)
		return RC_OK;
	rc = engine_select_sites(e->spec, o, &sites, &n, err);
	if (rc)
		return rc;
	rc_log(e->log, RC_LOG_INFO, "reading the PMS (%zu site%s)...", n, n == 1 ? "" : "s");
	if (e->snapshot_file)
		rc = sg_load_snapshot_file(e->snapshot_file, e->spec, &e->snap, err);
	else
		rc = sg_fetch_snapshot(e->sg, e->spec, sites, n, &e->snap, err);
	free(sites);
	if (rc)
		return rc_err_prefix(err, "reading the PMS failed (R10: nothing was planned)");
	snap_groups_build(&e->groups, &e->snap);
	e->snap_loaded = true;
	return RC_OK;
}

/* ---------------------------------------------------------- observed */

/* Carry what only we know (which rental a tenant belongs to; the code hash
 * when the vendor hides codes) from the cached state into a refresh. */
static void merge_cache(struct obs_site *fresh, const struct obs_site *cache)
{
	size_t i, a, b;

	for (i = 0; i < fresh->nunits; i++) {
		struct obs_unit *u = &fresh->units[i];
		const struct obs_unit *c = obs_find_unit(cache, u->name);

		for (a = 0; c && a < u->ntenants; a++) {
			struct obs_tenant *t = &u->tenants[a];

			for (b = 0; b < c->ntenants; b++) {
				const struct obs_tenant *ct = &c->tenants[b];

				if (!rc_streq(ct->vendor_id, t->vendor_id))
					continue;
				t->rental_id = rc_arena_strdup(&fresh->arena, ct->rental_id);
				if (!t->code_known && ct->code_known) {
					memcpy(t->code_hash, ct->code_hash, RC_HASH_LEN);
					t->code_known = true;
				}
			}
		}
	}
}

struct doubt_ctx {
	struct site_plan *sp;
	const struct engine *e;
};

/* An in-doubt create: if the unit now holds a tenant nobody claims, it is
 * the one that call created: adopt it for that rental. */
static int settle_doubt(const struct journal_entry *je, void *payload)
{
	struct doubt_ctx *d = payload;
	struct site_plan *sp = d->sp;
	struct obs_unit *u;
	size_t i, cap = sp->nresolved;

	if (engine_is_inflight(d->e, sp->site->name, je->plan_id))
		return 0; /* running now in this process: not in doubt */
	*RC_PUSH(sp->resolved, sp->nresolved, cap) = je->seq;
	if (strcmp(je->op, op_kind_name(OP_TENANT_CREATE)) != 0)
		return 0;
	u = obs_find_unit_mut(&sp->obs, je->unit);
	for (i = 0; u && i < u->ntenants; i++) {
		if (u->tenants[i].rental_id)
			continue;
		u->tenants[i].rental_id = rc_arena_strdup(&sp->obs.arena, je->rental_id);
		sp_add_finding(sp, FIND_IN_DOUBT, SEV_INFO, NULL, je->unit, "R7",
			       "an interrupted create (journal #%llu) did reach the vendor: its tenant is adopted, not created again",
			       (unsigned long long)je->seq);
		break;
	}
	return 0;
}

/* The not-readable finding: the plan compares with what was last applied,
 * or, when nothing was (a new or lost state directory), with nothing. */
static void not_readable(struct site_plan *sp, const struct vendor *v, bool applied)
{
	sp->obs.readable = false;
	if (applied)
		sp_add_finding(sp, FIND_NOT_READABLE, SEV_INFO, NULL, NULL, v->unreadable_rule,
			       "%s has no read API: the plan compares with what reconcile last applied; "
			       "changes made by hand in %s cannot be seen", v->spec.title, v->spec.title);
	else
		sp_add_finding(sp, FIND_NOT_READABLE, SEV_WARNING, NULL, NULL, v->unreadable_rule,
			       "no applied state to compare with: %s has no read API and this state "
			       "directory holds nothing reconcile applied to the site (a new or lost "
			       "state directory): the changes planned for it are what a first apply "
			       "pushes, not drift found in %s", v->spec.title, v->spec.title);
}

/* A scoped plan from the cache (serve's one-rental runs): nothing is read
 * now; rules_plan_site calls load_scope with the scope, and only its
 * units are read. RC_ENOTFOUND when nothing was ever cached. */
static int defer_observed(struct site_plan *sp, struct store_txn *t, struct rc_err *err)
{
	const struct vendor *v = vendor_of(sp->site);
	bool any;
	int rc = store_observed_any(t, sp->site->name, &any, err);

	if (rc)
		return rc;
	if (!any)
		return rc_errf(err, RC_ENOTFOUND,
			       "no cached vendor state: it is written by `reconcile apply` (and serve)");
	sp->have_obs = true;
	if (!(v->caps & VENDOR_CAN_READ))
		not_readable(sp, v, true);
	return RC_OK;
}

/* The keys of m (prefixed when prefix is set) appended to v. */
static void names_of(const struct rc_map *m, char prefix, struct site_plan *sp,
		     const char ***v, size_t *n, size_t *cap)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		if (m->keys[i])
			*RC_PUSH(*v, *n, *cap) = prefix ? sp_printf(sp, "%c%s", prefix, m->keys[i])
							: m->keys[i];
}

struct scope_load {
	struct store_txn *t;
};

/* rules_in.load_scope: the vendor units, rental records (a vendor naming
 * them by rental) and customer records the scope names. */
static int load_scope(struct site_plan *sp, const struct diff_scope *sc, void *payload,
		      struct rc_err *err)
{
	struct scope_load *l = payload;
	const struct vendor *v = vendor_of(sp->site);
	const char **names = NULL;
	size_t n = 0, cap = 0;
	int rc;

	names_of(&sc->units, 0, sp, &names, &n, &cap);
	names_of(&sc->rentals, 0, sp, &names, &n, &cap);
	if (v->customer_prefix)
		names_of(&sc->owners, v->customer_prefix, sp, &names, &n, &cap);
	rc = store_observed_load_names(l->t, sp->site->name, names, n, &sp->obs, err);
	free(names);
	return rc;
}

/* Has an apply ever run for the site from this state directory? (Its
 * meta is written by every apply, even one with nothing to do.) A meta
 * that cannot be read is an error, never "no applied state". */
static int site_was_applied(struct store_txn *t, const char *site, bool *out,
			    struct rc_err *err)
{
	struct store_site_meta meta;
	int rc = store_site_meta_get(t, site, &meta, err);

	*out = rc == RC_OK && meta.last_attempt[0] != '\0';
	if (rc == RC_ENOTFOUND) {
		rc_err_clear(err);
		rc = RC_OK;
	}
	return rc;
}

static int load_observed(struct engine *e, struct site_plan *sp,
			 const struct engine_opts *o, struct store_txn *t,
			 bool in_doubt, struct rc_err *err)
{
	const struct vendor *v = vendor_of(sp->site);
	const struct rc_hasher hash = store_hasher(e->store);
	struct provider *prov = NULL;
	struct obs_site cache;
	bool have_cache;
	int rc;

	obs_site_init(&cache, sp->site->name);
	rc = store_observed_load(t, sp->site->name, &cache, err);
	have_cache = rc == RC_OK;
	if (rc && rc != RC_ENOTFOUND)
		goto out;
	rc_err_clear(err);
	rc = RC_OK;
	if (!(v->caps & VENDOR_CAN_READ)) {
		/* not readable: the observed state is what was last applied
		 * (the descriptor's unreadable_rule); without any, nothing to
		 * compare with */
		bool applied = have_cache;

		if (!applied)
			rc = site_was_applied(t, sp->site->name, &applied, err);
		if (rc)
			goto out;
		obs_site_free(&sp->obs);
		sp->obs = cache;
		obs_site_init(&cache, sp->site->name);
		sp->have_obs = applied; /* false: no baseline (report, plan JSON) */
		not_readable(sp, v, applied);
		goto out;
	}
	if (!o->refresh && !in_doubt) {
		if (!have_cache) {
			rc = rc_errf(err, RC_ENOTFOUND,
				     "no cached vendor state: it is written by `reconcile apply` (and serve); "
				     "apply once, or plan without --refresh=false");
			goto out;
		}
		obs_site_free(&sp->obs);
		sp->obs = cache;
		obs_site_init(&cache, sp->site->name);
		sp->have_obs = true;
		goto out;
	}
	if (e->cancel && *e->cancel) { /* a signal while the PMS was read: no vendor read */
		rc = rc_errf(err, RC_ERR, "stopped by a signal before reading %s", v->spec.title);
		goto out;
	}
	rc = engine_provider(e, sp->site, sp->pms_site, &prov, err);
	if (rc)
		goto out;
	rc_log(e->log, RC_LOG_INFO, "site %s: reading %s...", sp->site->name, v->spec.title);
	rc = v->refresh(prov, &sp->obs, &hash, err);
	if (rc)
		goto out;
	if (have_cache)
		merge_cache(&sp->obs, &cache);
	sp->have_obs = true;
	sp->refreshed = true;
out:
	obs_site_free(&cache);
	return rc;
}

static int cmp_unit_ptr(const void *a, const void *b)
{
	const struct obs_unit *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Canonical text of the observed state: units in name order, so that a
 * vendor listing them in another order does not make a plan stale. */
static void obs_fingerprint(const struct obs_site *o, struct rc_buf *b)
{
	const struct obs_unit **v = rc_calloc(o->nunits + 1, sizeof(*v));
	char hex[2 * RC_HASH_LEN + 1];
	size_t i;
	unsigned k;

	for (i = 0; i < o->nunits; i++)
		v[i] = &o->units[i];
	qsort(v, o->nunits, sizeof(*v), cmp_unit_ptr);
	for (i = 0; i < o->nunits; i++) {
		const struct obs_unit *u = v[i];

		rc_buf_printf(b, "U|%s|%s|%d\n", u->name, u->vendor_id ? u->vendor_id : "",
			      u->status);
		for (k = 0; k < u->ntenants; k++) {
			const struct obs_tenant *t = &u->tenants[k];

			rc_hex(t->code_hash, RC_HASH_LEN, hex);
			rc_buf_printf(b, "T|%s|%s|%s|%s|%s|%s|%ld|%ld|%d|%s|%s\n",
				      t->vendor_id ? t->vendor_id : "",
				      t->first_name ? t->first_name : "",
				      t->last_name ? t->last_name : "",
				      t->email ? t->email : "", t->phone ? t->phone : "",
				      t->code_known ? hex : "-", t->access_profile,
				      t->time_group, t->enabled,
				      t->rental_id ? t->rental_id : "", t->extra ? t->extra : "");
		}
	}
	free(v);
}

static void set_fp(struct engine *e, const struct rc_buf *b, char *out)
{
	unsigned char h[RC_HASH_LEN];

	store_hmac(e->store, b->p ? b->p : "", b->len, h);
	rc_hex(h, RC_HASH_LEN, out);
}

struct open_ctx {
	const struct engine *e;
	const char *site;
	unsigned n;
};

/* Open entries that are in doubt: not those of calls running now. */
static int count_open(const char *plan_id, void *payload)
{
	struct open_ctx *o = payload;

	if (!engine_is_inflight(o->e, o->site, plan_id))
		o->n++;
	return 0;
}

/* The records of the site's rentals when they last converged: all of
 * them for a whole-site plan (R10 counts them), those of the snapshot's
 * rentals for a scoped one (O(what it touches)). */
static int load_last(struct engine *e, struct store_txn *t, const struct site_plan *sp,
		     struct pms_recs *out, struct rc_err *err)
{
	const char **ids;
	size_t i;
	int rc;

	if (!sp->scoped)
		return store_pms_load(t, sp->site->name, out, err);
	ids = rc_calloc(e->snap.nrentals + 1, sizeof(*ids));
	for (i = 0; i < e->snap.nrentals; i++)
		ids[i] = e->snap.rentals[i].id;
	rc = store_pms_load_ids(t, sp->site->name, ids, e->snap.nrentals, out, err);
	free(ids);
	return rc;
}

/* One site: the LMDB reads and the vendor refresh around the rules. */
int engine_plan_one(struct engine *e, const struct engine_opts *o,
		     struct site_plan *sp, struct rc_err *err)
{
	struct store_txn *t = NULL;
	struct doubt_ctx dd = { sp, e };
	struct open_ctx oc = { e, sp->site->name, 0 };
	struct scope_load sl = { NULL };
	struct pms_recs last;
	struct rules_in in;
	struct rc_buf fp;
	unsigned open = 0;
	int rc;

	rc_buf_init(&fp);
	pms_recs_init(&last);
	sp->pms_site = pms_find_site(&e->snap, sp->site->pms_site_id);
	if (!sp->pms_site) {
		rc = rc_errf(err, RC_ENOTFOUND,
			     "PMS site id %s is not in the PMS answer (check pms_site_id)",
			     sp->site->pms_site_id);
		goto out;
	}
	rc = store_txn_begin(e->store, false, &t, err);
	if (!rc)
		rc = store_generation(t, sp->site->name, &sp->generation, err);
	if (!rc)
		rc = store_journal_open_plans(t, sp->site->name, count_open, &oc, err);
	open = oc.n;
	/* a scoped plan from the cache reads its own units only (below) */
	if (!rc && sp->scoped && !o->refresh && !open)
		rc = defer_observed(sp, t, err);
	else if (!rc)
		rc = load_observed(e, sp, o, t, open > 0, err);
	if (!rc && open)
		rc = store_journal_each(t, sp->site->name, true, settle_doubt, &dd, err);
	if (!rc)
		rc = load_last(e, t, sp, &last, err);
	if (rc)
		goto out;
	memset(&in, 0, sizeof(in));
	in.snap = &e->snap;
	in.groups = &e->groups;
	in.last = &last;
	in.hash = store_hasher(e->store);
	in.regen_user = o->regen_user;
	in.touched = sp->scoped ? &e->touched : NULL;
	if (sp->scoped && !o->refresh && !open) {
		sl.t = t;
		in.load_scope = load_scope;
		in.load_payload = &sl;
	}
	in.fp = &fp;
	rc = rules_plan_site(sp, &in, err);
	if (rc)
		goto out;
	set_fp(e, &fp, sp->pms_fp);
	rc_buf_free(&fp);
	obs_fingerprint(&sp->obs, &fp);
	set_fp(e, &fp, sp->obs_fp);
out:
	if (t)
		store_txn_abort(t);
	pms_recs_free(&last);
	rc_buf_free(&fp);
	return rc;
}

/* Plan ids: unique, not secret (plans show them). RAND_bytes checks for a
 * fork with getpid() on every call, a system call per one-rental run; so
 * a process draws one random 64-bit start and numbers its plans from it,
 * each number mixed (splitmix64, a bijection: distinct in, distinct out).
 * This program forks only to exec. */
static uint64_t plan_id_base, plan_id_next;
static bool plan_id_seeded;
static pthread_once_t plan_id_once = PTHREAD_ONCE_INIT;

static void plan_id_seed(void)
{
	plan_id_seeded = RAND_bytes((unsigned char *)&plan_id_base, sizeof(plan_id_base)) == 1;
}

static int plan_id(char out[17], struct rc_err *err)
{
	unsigned char b[8];
	uint64_t z;
	int i;

	pthread_once(&plan_id_once, plan_id_seed);
	if (!plan_id_seeded)
		return rc_errf(err, RC_ERR, "the random generator failed");
	z = plan_id_base + __atomic_fetch_add(&plan_id_next, 1, __ATOMIC_RELAXED);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(z >> (8 * i));
	rc_hex(b, 8, out);
	return RC_OK;
}

static int plan_new(struct plan *out, size_t n, struct rc_err *err)
{
	int rc;

	rc_now_iso(out->created, sizeof(out->created));
	rc = plan_id(out->id, err);
	if (rc)
		return rc;
	out->sites = rc_calloc(n + 1, sizeof(*out->sites));
	out->nsites = n;
	return RC_OK;
}

int engine_fetch_scope(struct engine *e, const struct spec_site *site,
		       const char *const *rental_ids, size_t n, struct rc_err *err)
{
	int rc;

	if (!e->sg || e->snap_loaded)
		return rc_errf(err, RC_EINVAL, "a scoped plan needs the PMS API and a fresh engine");
	rc = sg_fetch_scope(e->sg, e->spec, site, rental_ids, n,
			    vendor_of(site)->scope == VENDOR_SCOPE_CUSTOMER, &e->snap, &e->touched, err);
	if (rc)
		return rc;
	snap_groups_build(&e->groups, &e->snap);
	e->snap_loaded = true;
	return RC_OK;
}

int engine_plan_fetched(struct engine *e, const struct spec_site *site, struct plan *out,
			struct rc_err *err)
{
	struct engine_opts o = { .refresh = false };
	struct site_plan *sp;
	int rc;

	rc = plan_new(out, 1, err);
	if (rc)
		return rc;
	sp = &out->sites[0];
	site_plan_init(sp, site);
	sp->scoped = true;
	rc = engine_plan_one(e, &o, sp, err);
	plan_totals(out);
	return rc;
}

int engine_plan_scope(struct engine *e, const struct spec_site *site,
		      const char *const *rental_ids, size_t n, struct plan *out,
		      struct rc_err *err)
{
	int rc = engine_fetch_scope(e, site, rental_ids, n, err);

	return rc ? rc : engine_plan_fetched(e, site, out, err);
}

/* Plan the selected sites into out: kept whole (fn NULL) or handed to fn
 * one by one. */
static int plan_all(struct engine *e, const struct engine_opts *o, struct plan *out,
		    engine_site_fn fn, void *payload, struct rc_err *err)
{
	const struct spec_site **sites = NULL;
	struct progress prog;
	size_t n, i;
	int rc;

	rc = engine_select_sites(e->spec, o, &sites, &n, err);
	if (rc)
		return rc;
	/* shown from the start: a line every few seconds counts from here */
	progress_start(&prog, o->refresh ? "refreshing" : "planning",
		       o->refresh ? "refreshed" : "planned", "sites", (unsigned)n);
	progress_show(&prog, e->log, false);
	rc = engine_load_pms(e, o, err);
	if (!rc)
		rc = plan_new(out, n, err);
	if (rc) {
		free(sites);
		return rc;
	}
	prog.records = e->snap.nunits + e->snap.nrentals + e->snap.nusers;
	progress_show(&prog, e->log, false);
	for (i = 0; i < n; i++) /* initialised when its turn comes (engine_plan_sites) */
		out->sites[i].site = sites[i];
	if (fn)
		engine_plan_sites_stream(e, o, out->sites, n, &prog, fn, payload);
	else
		engine_plan_sites(e, o, out->sites, n, &prog);
	free(sites);
	plan_totals(out);
	progress_show(&prog, e->log, true);
	return RC_OK;
}

int engine_plan(struct engine *e, const struct engine_opts *o,
		struct plan *out, struct rc_err *err)
{
	return plan_all(e, o, out, NULL, NULL, err);
}

int engine_plan_stream(struct engine *e, const struct engine_opts *o, struct plan *out,
		       engine_site_fn fn, void *payload, struct rc_err *err)
{
	return plan_all(e, o, out, fn, payload, err);
}
