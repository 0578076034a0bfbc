/*
 * apply.c: executing a plan (docs/architecture.md, decision 3).
 *
 * Per site, operations run in plan order. Before each call the journal
 * records the intent (committed, durable); after it, the result. A call
 * whose outcome is unknown (timeout, crash) stays "in doubt": the next
 * plan refreshes the site and settles it from what the vendor shows, so a
 * create is never repeated blindly. The first failure stops the site
 * (later operations may depend on it); other sites go on. Once a site is
 * done, one LMDB write transaction stores its observed state, the PMS
 * records (R4 edges), its generation and its meta.
 */
#define _GNU_SOURCE
#include "engine.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "core/fiber.h"
#include "desired.h"
#include "r10.h"
#include "providers/http.h"

/* ------------------------------------------------------------ codes */

static const char *pms_code(struct apply_site *a, const struct code_ref *r)
{
	const struct pms_snapshot *s = &a->e->snap;

	if (r->src == CODE_PMS_RENTAL) {
		const struct pms_rental *x = pms_find_rental(s, r->ref_id);

		return x ? pms_cf_get(&x->cf, r->field) : NULL;
	}
	if (r->src == CODE_PMS_USER) {
		const struct pms_user *x = pms_find_user(s, r->ref_id);

		return x ? pms_cf_get(&x->cf, r->field) : NULL;
	}
	return NULL;
}

static void mark_in_use(struct apply_site *a, const unsigned char h[RC_HASH_LEN])
{
	char hex[2 * RC_HASH_LEN + 1];

	rc_hex(h, RC_HASH_LEN, hex);
	rc_map_put(&a->in_use, rc_arena_strdup(&a->arena, hex), 1);
}

/* R6: taken when this run knows it (build_in_use, codes it generated) or
 * the state's code index does (units a scoped run did not load, codes
 * held for no tenant); an unreadable index counts as taken. */
static bool code_in_use(const char *code, void *payload)
{
	struct apply_site *a = payload;
	unsigned char h[RC_HASH_LEN];
	char hex[2 * RC_HASH_LEN + 1];
	struct store_txn *t = NULL;
	struct rc_err err;
	bool used = true;

	store_secret_hash(a->e->store, a->sp->site->name, code, h);
	rc_hex(h, RC_HASH_LEN, hex);
	if (rc_map_get(&a->in_use, hex, NULL) || engine_code_is_pending(a->e, hex))
		return true;
	if (store_txn_begin(a->e->store, false, &t, &err) != RC_OK ||
	    store_code_in_use(t, a->sp->site->name, h, &used, &err) != RC_OK) {
		used = true; /* unknown is taken: never a code that may be in use */
		a->code_err = err;
	}
	store_txn_abort(t);
	return used;
}

/* R6: every code active at the site, so that a new one is unique. Walks
 * the site's units only (the snapshot's groups), never the whole PMS. */
static void build_in_use(struct apply_site *a)
{
	const struct pms_snapshot *s = &a->e->snap;
	const struct snap_groups *g = &a->e->groups;
	const struct vendor *v = vendor_of(a->sp->site);
	const char *field = vendor_field(a->sp->site, v->code_field);
	unsigned char h[RC_HASH_LEN];
	size_t i, pos, ri, k;

	for (i = 0; i < a->sp->obs.nunits; i++)
		for (k = 0; k < a->sp->obs.units[i].ntenants; k++)
			if (a->sp->obs.units[i].tenants[k].code_known)
				mark_in_use(a, a->sp->obs.units[i].tenants[k].code_hash);
	/* codes the vendor holds for no tenant (guests, staff) are taken too */
	for (k = 0; k + RC_HASH_LEN <= a->sp->obs.held_codes.len; k += RC_HASH_LEN)
		mark_in_use(a, (const unsigned char *)a->sp->obs.held_codes.p + k);
	if (!field || !a->e->snap_loaded || !rc_map_get(&g->site_pos, a->sp->site->pms_site_id, &pos))
		return;
	for (i = 0; i < g->counts[pos]; i++) {
		const struct pms_unit *u = &s->units[g->order[g->starts[pos] + i]];
		const char *c;

		if (!rc_map_get(&g->occ, u->id, &ri))
			continue;
		if (v->code_on == PMS_OBJ_USER) { /* one code per customer */
			const struct pms_user *cu = pms_find_user(s, s->rentals[ri].owner_id);

			c = cu ? pms_cf_get(&cu->cf, field) : NULL;
		} else {
			c = pms_cf_get(&s->rentals[ri].cf, field);
		}
		if (c && *c) {
			store_secret_hash(a->e->store, a->sp->site->name, c, h);
			mark_in_use(a, h);
		}
	}
}

static void pending_code(struct apply_site *a, const unsigned char h[RC_HASH_LEN], bool add)
{
	char hex[2 * RC_HASH_LEN + 1];

	rc_hex(h, RC_HASH_LEN, hex);
	engine_code_pending(a->e, hex, add);
}

const char *apply_resolve_code(const struct code_ref *r, void *payload)
{
	struct apply_site *a = payload;
	struct rc_err err;
	unsigned char h[RC_HASH_LEN];
	char *buf;

	if (r->src == CODE_VENDOR_RESULT)
		return r->slot < a->nresults ? a->results[r->slot] : NULL;
	if (r->src != CODE_GENERATED)
		return pms_code(a, r);
	if (r->slot >= a->ngen)
		return NULL;
	if (a->gen[r->slot])
		return a->gen[r->slot];
	buf = rc_calloc(1, 16);
	if (code_generate(buf, a->sp->site->code_length, code_in_use, a, &err)) {
		free(buf);
		return NULL;
	}
	store_secret_hash(a->e->store, a->sp->site->name, buf, h);
	mark_in_use(a, h);
	pending_code(a, h, true); /* taken for the site's concurrent runs too */
	a->gen[r->slot] = buf;
	return buf;
}

/* ----------------------------------------------------------- effects */

/* Keep the observed model in step with what the vendor now holds. */
void apply_effect(struct apply_site *a, const struct op *op,
			 const struct op_result *res)
{
	const struct vendor *v = vendor_of(a->sp->site);
	unsigned char h[RC_HASH_LEN];
	struct op_effect e = { res->vendor_id, op->tenant_vid, NULL };
	const char *code;

	if (op->kind == OP_PMS_WRITE)
		return;
	if (!e.tenant_vid && op->id_ref.src != CODE_NONE)
		e.tenant_vid = apply_resolve_code(&op->id_ref, a); /* a user an earlier op created */
	code = (op->changed & TF_CODE) ? apply_resolve_code(&op->t.code, a) : NULL;
	if (code) {
		store_secret_hash(a->e->store, a->sp->site->name, code, h);
		e.code_hash = h;
	}
	if (v->effect)
		v->effect(&a->sp->obs, op, &e);
	else
		op_effect_default(&a->sp->obs, op, &e);
}

/* -------------------------------------------------------------- run */

/* Remember the sync stamp the engine wrote for this rental (a re-push
 * request is a newer stamp than this). */
static void note_synced(struct apply_site *a, const struct op *op, const char *now)
{
	size_t i;

	for (i = 0; i < a->sp->nrecs; i++)
		if (!strcmp(a->sp->recs[i].rental_id, op->object_id))
			snprintf(a->sp->recs[i].synced, sizeof(a->sp->recs[i].synced), "%s", now);
	rc_map_put(&a->stamped, rc_arena_strdup(&a->arena, op->object_id), 1);
}

/* A rental held back by a failure keeps its record as it was, but a sync
 * stamp written to the PMS is the engine's own from now on: were it not
 * recorded, the next plan would take it for a re-push request. */
static int keep_stamp(struct store_txn *t, const struct site_plan *sp, const struct pms_rec *nr,
		      struct rc_err *err)
{
	struct pms_rec r;
	int rc = store_pms_get(t, sp->site->name, nr->rental_id, &r, err);

	if (rc == RC_ENOTFOUND) {
		rc_err_clear(err);
		memset(&r, 0, sizeof(r));
		snprintf(r.rental_id, sizeof(r.rental_id), "%s", nr->rental_id);
		rc = RC_OK;
	}
	if (rc)
		return rc;
	memcpy(r.synced, nr->synced, sizeof(r.synced));
	return store_pms_put(t, sp->site->name, &r, err);
}

int apply_pms_write(struct apply_site *a, const struct op *op, struct rc_err *err)
{
	struct sg_field_write w[OP_MAX_WRITES];
	char now[40];
	unsigned i;
	int rc;

	if (!a->e->sg)
		return rc_errf(err, RC_EINVAL,
			       "write-back needs the PMS API: apply cannot run from --pms-snapshot");
	memset(w, 0, sizeof(w));
	rc_now_iso(now, sizeof(now));
	for (i = 0; i < op->nw; i++) {
		w[i].code = op->w[i].field;
		switch (op->w[i].type) {
		case WB_CODE:
			w[i].type = SG_VAL_STRING;
			w[i].str = apply_resolve_code(&op->w[i].code, a);
			if (!w[i].str)
				return rc_errf(err, RC_ERR, "rental %s: no access code could be generated%s%s",
					       op->object_id, a->code_err.msg[0] ? ": " : "",
					       a->code_err.msg);
			break;
		case WB_BOOL:
			w[i].type = SG_VAL_BOOL;
			w[i].b = op->w[i].b;
			break;
		case WB_STRING:
			w[i].type = SG_VAL_STRING;
			w[i].str = op->w[i].str;
			break;
		case WB_RESULT:
			w[i].type = SG_VAL_STRING;
			w[i].str = apply_resolve_code(&op->w[i].code, a);
			if (!w[i].str)
				return rc_errf(err, RC_ERR, "%s %s: the vendor id to write back is not known",
					       op->collection, op->object_id);
			break;
		case WB_NOW:
			w[i].type = SG_VAL_STRING;
			w[i].str = now;
			break;
		default:
			w[i].type = SG_VAL_NULL;
		}
	}
	rc = sg_put_custom_fields(a->e->sg, op->collection, op->object_id, w, op->nw, err);
	for (i = 0; !rc && i < op->nw; i++)
		if (op->w[i].type == WB_NOW)
			note_synced(a, op, now);
	return rc;
}

/* The site's occupied rentals in the snapshot (borrowed ids): their PMS
 * records stay, those of ended or vanished rentals go (O(site units)). */
static void occupied_rentals(const struct engine *e, const struct site_plan *sp,
			     struct rc_map *keep)
{
	const struct snap_groups *g = &e->groups;
	size_t pos, i, ri;

	if (!sp->pms_site || !rc_map_get(&g->site_pos, sp->pms_site->id, &pos))
		return;
	for (i = 0; i < g->counts[pos]; i++) {
		const char *uid = e->snap.units[g->order[g->starts[pos] + i]].id;

		if (rc_map_get(&g->occ, uid, &ri))
			rc_map_put(keep, e->snap.rentals[ri].id, 1);
		if (rc_map_get(&g->occ2, uid, &ri))
			rc_map_put(keep, e->snap.rentals[ri].id, 1);
	}
}

/* The Retry-After deadlines vendors gave, copied on the loop for the
 * commit (which may run in the writer thread). */
struct wait_copy {
	char host[160];
	double until;
};

struct waits {
	struct wait_copy *v;
	size_t n, cap;
};

static void wait_copy(const char *host, double until, void *payload)
{
	struct waits *w = payload;
	struct wait_copy *c = RC_PUSH(w->v, w->n, w->cap);

	snprintf(c->host, sizeof(c->host), "%s", host);
	c->until = until;
}

/* The observed state: a scoped run writes the units it loaded (changed
 * ones only; the others it never read), a whole-site run the site; the
 * codes held for no tenant when the vendor was just read. */
static int write_observed(struct store_txn *t, const struct site_plan *sp, struct rc_err *err)
{
	size_t i;
	int rc = RC_OK;

	if (sp->scoped)
		for (i = 0; !rc && i < sp->obs.nunits; i++)
			rc = store_observed_put_unit(t, sp->site->name, &sp->obs.units[i], err);
	else
		rc = store_observed_put_site(t, &sp->obs, err);
	if (!rc && sp->refreshed)
		rc = store_observed_put_held(t, sp->site->name,
					     (const unsigned char *)sp->obs.held_codes.p,
					     sp->obs.held_codes.len / RC_HASH_LEN, err);
	return rc;
}

struct commit_job {
	struct apply_site *a;
	bool complete;
	const char *error;
	struct waits waits;
};

/* The site's meta: facility, last attempt (and sync, when complete), error. */
static int write_meta(struct store_txn *t, const struct commit_job *c, struct rc_err *err)
{
	const struct site_plan *sp = c->a->sp;
	struct store_site_meta meta;

	int rc = store_site_meta_get(t, sp->site->name, &meta, err);

	if (rc && rc != RC_ENOTFOUND) /* unreadable is not absent: the detail stays */
		return rc_err_prefix(err, "site meta");
	if (rc)
		memset(&meta, 0, sizeof(meta));
	rc_err_clear(err);
	if (sp->obs.facility_id)
		snprintf(meta.facility_id, sizeof(meta.facility_id), "%s", sp->obs.facility_id);
	rc_now_iso(meta.last_attempt, sizeof(meta.last_attempt));
	if (c->complete && !sp->scoped) /* last_sync: the whole site */
		memcpy(meta.last_sync, meta.last_attempt, sizeof(meta.last_sync));
	snprintf(meta.last_error, sizeof(meta.last_error), "%s", c->error ? c->error : "");
	return store_site_meta_put(t, sp->site->name, &meta, err);
}

/* The journal entries the plan's refresh settled: resolved. */
static int write_resolved(struct store_txn *t, const struct site_plan *sp, struct rc_err *err)
{
	struct journal_entry je;
	size_t i;
	int rc = RC_OK;

	for (i = 0; !rc && i < sp->nresolved; i++) {
		memset(&je, 0, sizeof(je));
		je.seq = sp->resolved[i];
		je.state = JOURNAL_RESOLVED;
		snprintf(je.op, sizeof(je.op), "settled");
		rc_now_iso(je.time, sizeof(je.time));
		snprintf(je.detail, sizeof(je.detail), "settled by refresh before plan");
		rc = store_journal_put(t, sp->site->name, &je, err);
	}
	return rc;
}

/* The commit as a store job: observed state, PMS records, generation,
 * meta, Retry-After deadlines (kept for the next process). It reads what
 * its waiting submitter leaves alone (store_job_fn). */
static int commit_fn(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct commit_job *c = arg;
	struct apply_site *a = c->a;
	struct site_plan *sp = a->sp;
	uint64_t gen;
	size_t i;
	int rc;

	rc = store_journal_results_put(t, sp->site->name, a->tail, a->ntail, err);
	if (!rc)
		rc = write_observed(t, sp, err);
	if (!rc && c->complete && !sp->scoped && sp->pms_site) {
		struct rc_map keep;

		rc_map_init(&keep);
		occupied_rentals(a->e, sp, &keep);
		rc = store_pms_keep_only(t, sp->site->name, &keep, err);
		rc_map_free(&keep);
	}
	/* the rentals whose operations all ran converged, even when others
	 * of the site failed: their records (R4 edges, sync stamps) are kept */
	for (i = 0; !rc && i < sp->nrecs; i++)
		if (!rc_map_get(&a->blocked, sp->recs[i].rental_id, NULL))
			rc = store_pms_put(t, sp->site->name, &sp->recs[i], err);
		else if (rc_map_get(&a->stamped, sp->recs[i].rental_id, NULL))
			rc = keep_stamp(t, sp, &sp->recs[i], err);
	if (!rc && a->nops)
		rc = store_generation_bump(t, sp->site->name, &gen, err);
	if (!rc)
		rc = write_meta(t, c, err);
	for (i = 0; !rc && i < c->waits.n; i++)
		rc = store_wait_put(t, c->waits.v[i].host, c->waits.v[i].until, err);
	if (!rc && c->complete)
		rc = write_resolved(t, sp, err);
	return rc;
}

/* One durable write transaction for the site (store_write: grouped with
 * others when a writer runs). */
static int commit_site(struct apply_site *a, bool complete, const char *error,
		       struct rc_err *err)
{
	struct commit_job c = { a, complete, error, { NULL, 0, 0 } };
	int rc;

	http_deadline_each(wait_copy, &c.waits);
	rc = store_write(a->e->store, commit_fn, &c, err);
	free(c.waits.v);
	return rc;
}

static int apply_site(struct engine *e, struct site_plan *sp, const struct op *ops,
		      size_t nops, const char *plan_id, struct apply_result *res,
		      struct rc_err *err)
{
	const struct vendor *v = vendor_of(sp->site);
	struct provider *prov = NULL;
	struct apply_site a;
	struct rc_err cerr;
	size_t i;
	int rc = RC_OK, crc;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.sp = sp;
	a.ops = ops;
	a.nops = nops;
	a.ngen = sp->ngen;
	a.gen = rc_calloc(sp->ngen + 1, sizeof(char *));
	a.nresults = sp->nresults;
	a.results = rc_calloc(sp->nresults + 1, sizeof(char *));
	rc_map_init(&a.in_use);
	rc_map_init(&a.blocked);
	rc_map_init(&a.stamped);
	rc_arena_init(&a.arena);
	build_in_use(&a);
	engine_inflight(e, sp->site->name, plan_id, true);
	if (nops && engine_provider(e, sp->site, sp->pms_site, &prov, err))
		rc = rc_err_prefix(err, "site %s", sp->site->name);
	if (!rc)
		rc = apply_run_ops(&a, prov, v, plan_id, res, err);
	rc_err_clear(&cerr);
	crc = commit_site(&a, rc == RC_OK, rc ? err->msg : NULL, &cerr);
	engine_inflight(e, sp->site->name, plan_id, false);
	/* a failed commit is said, with its site, also after failed operations */
	if (crc && !rc)
		rc = rc_errf(err, crc, "site %s: saving the state after apply: %s", sp->site->name,
			     *cerr.msg ? cerr.msg : rc_code_name(crc));
	else if (crc)
		rc_err_prefix(err, "site %s: saving the state after apply: %s; before it",
			      sp->site->name, *cerr.msg ? cerr.msg : rc_code_name(crc));
	for (i = 0; i < a.ngen; i++) { /* committed: the state knows them now */
		if (a.gen[i]) {
			unsigned char h[RC_HASH_LEN];

			store_secret_hash(e->store, sp->site->name, a.gen[i], h);
			pending_code(&a, h, false);
		}
		rc_free_secret(a.gen[i]);
	}
	free(a.gen);
	free(a.tail);
	for (i = 0; i < a.nresults; i++)
		rc_free_secret(a.results[i]);
	free(a.results);
	rc_map_free(&a.in_use);
	rc_map_free(&a.blocked);
	rc_map_free(&a.stamped);
	rc_arena_free(&a.arena);
	return rc;
}

/* A saved plan's site must match the fresh one exactly (docs/architecture.md, decision 2). */
static int check_fresh(const struct site_plan *saved, const struct site_plan *fresh,
		       struct rc_err *err)
{
	if (saved->generation != fresh->generation)
		return rc_errf(err, RC_ESTALE,
			       "saved plan is stale for site %s: the state changed since it was made "
			       "(generation %llu, now %llu); run reconcile plan again",
			       fresh->site->name, (unsigned long long)saved->generation,
			       (unsigned long long)fresh->generation);
	if (strcmp(saved->pms_fp, fresh->pms_fp) != 0)
		return rc_errf(err, RC_ESTALE,
			       "saved plan is stale for site %s: the PMS changed since it was made; run reconcile plan again",
			       fresh->site->name);
	if (strcmp(saved->obs_fp, fresh->obs_fp) != 0)
		return rc_errf(err, RC_ESTALE,
			       "saved plan is stale for site %s: the vendor's state changed since it was made; run reconcile plan again",
			       fresh->site->name);
	return RC_OK;
}

static const struct site_plan *saved_site(const struct plan *saved, const char *name)
{
	size_t i;

	for (i = 0; i < saved->nsites; i++)
		if (!strcmp(saved->sites[i].site->name, name))
			return &saved->sites[i];
	return NULL;
}

/* One site of an apply: checked (planned, fresh, R10), then applied. */
struct site_run {
	struct engine *e;
	struct plan *p;
	const struct apply_opts *ao;
	struct apply_result *res;
	size_t i;
	int rc;
	struct rc_err err;
};

static void site_run(void *arg)
{
	struct site_run *r = arg;
	const struct apply_opts *ao = r->ao;
	struct site_plan *sp = &r->p->sites[r->i];
	const struct site_plan *sv = ao->saved ? saved_site(ao->saved, sp->site->name) : NULL;
	const struct op *ops = sv ? sv->ops : sp->ops;
	size_t nops = sv ? sv->nops : sp->nops;

	rc_err_clear(&r->err);
	r->rc = RC_OK;
	if (ao->saved && !sv)
		return;
	if (sp->failed) {
		r->rc = rc_errf(&r->err, RC_ERR, "site %s: %s", sp->site->name, sp->fail_msg);
	} else if (sv && check_fresh(sv, sp, &r->err)) {
		r->rc = r->err.code;
	} else if (r10_refused(sp, ao->allow_destructive, ao->destructive_before, &r->err)) {
		r->rc = r->err.code;
	} else {
		r->rc = apply_site(r->e, sp, ops, nops, ao->saved ? ao->saved->id : r->p->id, r->res,
				   &r->err);
		nops = 0; /* ran: counted as done */
	}
	r->res->progress.total -= (unsigned)nops; /* not run: not to wait for */
	if (r->rc) {
		r->res->sites_failed++;
		rc_log(r->e->log, RC_LOG_ERROR, "%s", r->err.msg);
	}
}

/* The CLI with fibers attached: up to ENGINE_SITES_AT_ONCE sites at once, so
 * that one site's last calls do not leave the vendors idle while the next
 * site waits (each site's own calls are bounded per vendor as ever). */
static void sites_concurrently(struct site_run *runs, size_t n)
{
	fiber_run_all(site_run, runs, sizeof(*runs), n, ENGINE_SITES_AT_ONCE);
}

int engine_apply(struct engine *e, struct plan *p, const struct apply_opts *ao,
		 struct apply_result *res, struct rc_err *err)
{
	struct site_run *runs = rc_calloc(p->nsites + 1, sizeof(*runs));
	unsigned total = 0;
	size_t i;
	int first = RC_OK;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < p->nsites; i++) {
		const struct site_plan *sv = ao->saved ? saved_site(ao->saved, p->sites[i].site->name)
						       : NULL;

		total += (unsigned)(ao->saved ? (sv ? sv->nops : 0) : p->sites[i].nops);
		runs[i] = (struct site_run){ e, p, ao, res, i, RC_OK, { 0, "" } };
	}
	progress_start(&res->progress, "applying", "applied", "operations", total);
	apply_progress(e, res, false); /* a line every few seconds counts from here */
	if (p->nsites > 1 && fiber_loop() && !fiber_current())
		sites_concurrently(runs, p->nsites);
	else
		for (i = 0; i < p->nsites; i++)
			site_run(&runs[i]);
	for (i = 0; i < p->nsites && !first; i++) /* the first failing site, in plan order */
		if (runs[i].rc) {
			first = runs[i].rc;
			*err = runs[i].err;
		}
	free(runs);
	apply_progress(e, res, true);
	return first;
}

void apply_progress(const struct engine *e, struct apply_result *res, bool final)
{
	res->progress.count = res->ok + res->failed + res->in_doubt + res->skipped;
	progress_show(&res->progress, e->log, final);
}
