/*
 * apply_run.c: running a site's operations (docs/architecture.md,
 * decision 3). Each call sits between its journal intent (durable before
 * the call) and its result; a create whose answer was lost is settled at
 * once where the vendor can tell, never sent again blindly.
 *
 * Operations that share a vendor unit, a rental, a customer or a PMS
 * object form a chain: run in plan order, one after another (a code is in
 * the PMS before it is pushed, a user exists before its units are rented
 * to it). A failure holds back the rest of its chain; other chains go on.
 * With fibers attached (serve, and the CLI's apply), chains run at once on
 * worker fibers, the vendors' connection limits bounding what is in
 * flight, and their journal entries are group-committed: one durable
 * transaction for the intents that are about to be sent (each still
 * before its own call) and the results that came back meanwhile. A result
 * not yet committed when the process dies leaves its intent open: the
 * next plan treats it as in doubt and settles it, exactly as for a crash
 * between a call and its own result's commit, so batching loses nothing.
 */
#define _GNU_SOURCE
#include "apply_int.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fiber.h"


/* Stop before the next call: a signal (cancel), or a fence that says no. */
static bool apply_stopped(const struct engine *e)
{
	return (e->cancel && *e->cancel) || (e->fence && !e->fence(e->fence_arg));
}

static void journal_fill(struct journal_entry *je, const struct op *op,
			 const char *plan_id)
{
	memset(je, 0, sizeof(*je));
	snprintf(je->op, sizeof(je->op), "%s", op_kind_name(op->kind));
	snprintf(je->unit, sizeof(je->unit), "%s", op->unit ? op->unit : "");
	snprintf(je->rental_id, sizeof(je->rental_id), "%s", op->rental_id ? op->rental_id
				  : op->object_id ? op->object_id : "");
	snprintf(je->user_id, sizeof(je->user_id), "%s", op->user_id ? op->user_id : "");
	snprintf(je->vendor_id, sizeof(je->vendor_id), "%s", op->tenant_vid ? op->tenant_vid : "");
	snprintf(je->plan_id, sizeof(je->plan_id), "%s", plan_id);
	snprintf(je->detail, sizeof(je->detail), "%s (%s)", op->reason ? op->reason : "",
		 op->rule ? op->rule : "");
}

/* The vendor call of op (or the PMS write) into r; cerr its error. */
static int call_op(struct apply_site *a, struct provider *prov, const struct vendor *v,
		   const struct op *op, struct op_result *r, struct rc_err *cerr)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc_err_clear(cerr);
	if (op->kind == OP_PMS_WRITE)
		rc = apply_pms_write(a, op, cerr);
	else
		rc = v->apply(prov, op, apply_resolve_code, a, r, cerr);
	if (rc) {
		rc_free_secret(r->secret);
		r->secret = NULL;
	}
	return rc;
}

/* A create whose answer was lost: asked at once whether the vendor made it
 * (adopted: RC_OK), else *resend says whether sending it again is safe. */
static int settle_now(struct apply_site *a, struct provider *prov, const struct vendor *v,
		      const struct op *op, struct op_result *r, bool *resend, struct rc_err *cerr)
{
	struct rc_err serr;
	int rc;

	*resend = false;
	if (!v->settle || op->kind != OP_TENANT_CREATE || !r->in_doubt)
		return cerr->code ? cerr->code : RC_ERR;
	memset(r, 0, sizeof(*r));
	rc_err_clear(&serr);
	rc = v->settle(prov, op, apply_resolve_code, a, r, &serr);
	if (!rc) {
		rc_log(a->e->log, RC_LOG_INFO, "site %s: %s %s: the unanswered create had reached the vendor: adopted",
		       a->sp->site->name, op_kind_name(op->kind), op->unit ? op->unit : "");
		return RC_OK;
	}
	rc_free_secret(r->secret);
	r->secret = NULL;
	*resend = rc == RC_ENOTFOUND;
	r->in_doubt = !*resend; /* could not tell: in doubt until the next refresh */
	return cerr->code ? cerr->code : RC_ERR;
}

/* ------------------------------------------------------------ journal */

/* The journal of a site whose chains run on fibers: intents wait for the
 * next group commit (a zero timer on the loop, once every runnable fiber
 * has queued what it has, starts a fiber that commits them through the
 * state's writer: the loop never waits on the disk); results join it
 * without waiting. One commit at a time: what queues meanwhile goes in
 * the next. */
struct jbatch {
	struct apply_site *a;
	struct journal_entry **intents;  /* borrowed: on the waiting fibers' frames */
	size_t ni, capi;
	struct journal_entry *results;
	size_t nr, capr;
	struct fiber_waitq waiters;      /* the fibers whose intents are pending */
	ev_timer flush;
	bool committing;                 /* a commit fiber runs */
	struct fiber_waitq idle;         /* who waits for it to end */
	int rc;                          /* a failed commit: nothing more is called */
	struct rc_err err;
};

/* Commit what is pending in one transaction; wake its fibers. What is
 * queued while it commits waits for the next. */
static void jbatch_commit(struct jbatch *b)
{
	struct journal_entry **in = b->intents, *res = b->results;
	size_t ni = b->ni, nr = b->nr;
	struct fiber_waitq wq = b->waiters; /* a waitq may move */

	b->intents = NULL;
	b->results = NULL;
	b->ni = b->capi = b->nr = b->capr = 0;
	memset(&b->waiters, 0, sizeof(b->waiters));
	if ((ni || nr) && !b->rc)
		b->rc = store_journal_batch(b->a->e->store, b->a->sp->site->name, in, ni, res, nr,
					    &b->err);
	free(in);
	free(res);
	fiber_waitq_wake_all(&wq);
}

static void jbatch_fiber(void *arg)
{
	struct jbatch *b = arg;

	while (b->ni || b->nr)
		jbatch_commit(b);
}

static void jbatch_fiber_done(void *arg)
{
	struct jbatch *b = arg;

	b->committing = false;
	fiber_waitq_wake_all(&b->idle);
	if (b->ni || b->nr) { /* queued as it ended */
		ev_timer_set(&b->flush, 0., 0.);
		ev_timer_start(fiber_loop(), &b->flush);
	}
}

static void jbatch_flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct jbatch *b = w->data;

	(void)loop;
	(void)revents;
	if (b->committing)
		return; /* its loop takes what is pending */
	b->committing = true;
	if (fiber_spawn(jbatch_fiber, b, jbatch_fiber_done) != 0) {
		b->committing = false;
		jbatch_commit(b); /* no fiber: at once, on the loop */
	}
}

/* Once no commit fiber runs: the last results go to the site's own
 * commit (a->tail), one durable commit fewer per run. A crash before it
 * leaves their intents open, as a crash before their own commit did. */
static void jbatch_finish(struct jbatch *b, bool on_fiber)
{
	ev_timer_stop(fiber_loop(), &b->flush);
	while (b->committing) {
		if (on_fiber)
			fiber_waitq_wait(&b->idle);
		else
			ev_run(fiber_loop(), EVRUN_ONCE);
	}
	if (!b->ni && !b->rc) { /* no intent waits: nothing needs them durable now */
		b->a->tail = b->results;
		b->a->ntail = b->nr;
		b->results = NULL;
		b->nr = b->capr = 0;
		return;
	}
	jbatch_commit(b);
}

/* je's intent, and next's when not NULL (both borrowed: their seqs are
 * set), durable on return. */
static int journal_intent(struct apply_site *a, struct journal_entry *je,
			  struct journal_entry *next, struct rc_err *err)
{
	struct journal_entry *both[2] = { je, next };
	struct jbatch *b = a->jb;

	if (!b)
		return store_journal_batch(a->e->store, a->sp->site->name, both, next ? 2 : 1,
					   NULL, 0, err);
	*RC_PUSH(b->intents, b->ni, b->capi) = je;
	if (next)
		*RC_PUSH(b->intents, b->ni, b->capi) = next;
	if (!ev_is_active(&b->flush)) {
		ev_timer_set(&b->flush, 0., 0.);
		ev_timer_start(fiber_loop(), &b->flush);
	}
	fiber_waitq_wait(&b->waiters); /* durable before the call */
	if (b->rc)
		*err = b->err;
	return b->rc;
}

static int journal_result(struct apply_site *a, const struct journal_entry *je,
			  struct rc_err *err)
{
	struct jbatch *b = a->jb;

	if (!b)
		return store_journal_result(a->e->store, a->sp->site->name, je, err);
	*RC_PUSH(b->results, b->nr, b->capr) = *je;
	if (b->rc)
		*err = b->err;
	return b->rc;
}

#define MAX_RESENDS 2

/* A chain's PMS write and the vendor call right after it in that chain
 * (a generated code is written back before it is pushed: a move-in's
 * path) commit their intents together, one durable commit fewer before
 * the vendor call. When the second does not go out after all (the write
 * failed, a signal, the fence), its intent is closed as failed, "not
 * sent" (pair_drop); a crash in between leaves it open, in doubt, and the
 * next plan settles it like any other (docs/rules.md R7). */
struct pair {
	const struct op *next;       /* the vendor call whose intent rides along, or NULL */
	struct journal_entry je;     /* its intent, once committed (seq set) */
	bool pending;                /* committed and not yet taken by run_op */
};

static const struct op *pair_next(const struct op *op, const struct op *next)
{
	return op->kind == OP_PMS_WRITE && next && next->kind != OP_PMS_WRITE ? next : NULL;
}

/* p's intent was committed and its call will not be made: closed. */
static int pair_drop(struct apply_site *a, struct pair *p, const char *why, struct rc_err *err)
{
	if (!p->pending)
		return RC_OK;
	p->pending = false;
	p->je.state = JOURNAL_FAILED;
	snprintf(p->je.error, sizeof(p->je.error), "not sent: %s", why);
	rc_now_iso(p->je.time, sizeof(p->je.time));
	return journal_result(a, &p->je, err);
}

/* Before op (next: the op after it in its chain, or NULL): a pending
 * intent that is not op's is closed (not sent: why), and a new pair is
 * set up when op is a PMS write. */
static int pair_step(struct apply_site *a, struct pair *p, const struct op *op,
		     const struct op *next, struct rc_err *err)
{
	int rc = RC_OK;

	if (p->pending && p->next != op)
		rc = pair_drop(a, p, "the operation before it in its chain did not complete", err);
	if (!p->pending) {
		memset(p, 0, sizeof(*p));
		p->next = pair_next(op, next);
	}
	return rc;
}

/* One operation between its journal intent and result. A create left in
 * doubt is settled at once where the vendor can tell (adopted, or sent
 * again as a new journaled attempt: never twice in one attempt). A failure
 * of the journal itself sets *fatal: nothing more may be called. pair
 * (may be NULL): op is its next (its intent is there, already durable),
 * or op is a PMS write and pair->next's intent is committed with op's. */
static int run_op(struct apply_site *a, struct provider *prov,
		  const struct vendor *v, const struct op *op, const char *plan_id,
		  struct pair *pair, struct apply_result *res, bool *fatal, struct rc_err *err)
{
	struct journal_entry je;
	struct op_result r;
	struct rc_err cerr;
	bool resend = false;
	int rc, tries = 0;

	do {
		if (!tries && pair && pair->pending && pair->next == op) {
			je = pair->je;
			pair->pending = false;
			rc = RC_OK;
		} else {
			bool with = !tries && pair && pair->next && pair->next != op;

			journal_fill(&je, op, plan_id);
			if (with)
				journal_fill(&pair->je, pair->next, plan_id);
			rc = journal_intent(a, &je, with ? &pair->je : NULL, err);
			if (with && !rc)
				pair->pending = true;
		}
		if (rc) {
			*fatal = true;
			return rc;
		}
		rc = call_op(a, prov, v, op, &r, &cerr);
		if (rc && r.in_doubt)
			rc = settle_now(a, prov, v, op, &r, &resend, &cerr);
		je.state = rc ? (r.in_doubt ? JOURNAL_UNKNOWN : JOURNAL_FAILED) : JOURNAL_OK;
		if (r.vendor_id[0])
			snprintf(je.vendor_id, sizeof(je.vendor_id), "%s", r.vendor_id);
		snprintf(je.error, sizeof(je.error), "%s", rc ? cerr.msg : "");
		rc_now_iso(je.time, sizeof(je.time));
		if (journal_result(a, &je, err)) {
			rc_free_secret(r.secret);
			*fatal = true;
			return err->code;
		}
	} while (rc && resend && ++tries <= MAX_RESENDS);
	if (r.gone && v->effect)
		v->effect(&a->sp->obs, op, NULL); /* the vendor lost it: forget it (op.h) */
	if ((!rc || r.in_doubt) && op_is_destructive(op->kind))
		res->vacated++; /* it may have happened: R10 counts it */
	if (rc) {
		if (r.in_doubt)
			res->in_doubt++;
		else
			res->failed++;
		/* credentials refused, or told to wait: every call would fail */
		*fatal = rc == RC_EAUTH || rc == RC_EWAIT;
		return rc_errf(err, rc, "site %s, %s %s: %s", a->sp->site->name,
			       op_kind_name(op->kind), op->unit ? op->unit : "", cerr.msg);
	}
	res->ok++;
	if (op->result_slot >= 0 && (unsigned)op->result_slot < a->nresults) {
		/* a later op writes it back: the secret, else the new id */
		rc_free_secret(a->results[op->result_slot]);
		a->results[op->result_slot] = r.secret ? r.secret : rc_strdup(r.vendor_id);
		r.secret = NULL;
	}
	rc_free_secret(r.secret);
	apply_effect(a, op, &r);
	return RC_OK;
}

/* What a failed (or skipped) operation holds back: later operations on
 * the same vendor unit, rental or customer depend on it (a create before
 * its rent, a code written back before it is pushed); others go on. */
static void block(struct apply_site *a, const struct op *op)
{
	const char *keys[] = { op->unit, op->rental_id, op->user_id, op->object_id };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i] && *keys[i])
			rc_map_put(&a->blocked, rc_arena_strdup(&a->arena, keys[i]), 1);
}

static bool blocked(const struct apply_site *a, const struct op *op)
{
	const char *keys[] = { op->unit, op->rental_id, op->user_id, op->object_id };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i] && rc_map_get(&a->blocked, keys[i], NULL))
			return true;
	return false;
}

/* Operations from i on are not run: none of their rentals converged. */
static void block_rest(struct apply_site *a, size_t i, struct apply_result *res)
{
	res->skipped += (unsigned)(a->nops - i);
	for (; i < a->nops; i++)
		block(a, &a->ops[i]);
}

/* The site's operations in plan order. A failure holds back what depends
 * on it and the rest go on; the first failure is the site's error (with
 * the count of the others). A signal, or a failure every later call would
 * meet, stops the site. */
static int run_seq(struct apply_site *a, struct provider *prov, const struct vendor *v,
		   const char *plan_id, struct apply_result *res, struct rc_err *err)
{
	struct engine *e = a->e;
	struct site_plan *sp = a->sp;
	const struct op *op;
	struct rc_err oerr;
	struct pair pr;
	unsigned failures = 0;
	bool fatal = false;
	int rc = RC_OK, orc;
	size_t i;

	memset(&pr, 0, sizeof(pr));
	for (i = 0; i < a->nops && !fatal; i++) {
		op = &a->ops[i];
		if (pair_step(a, &pr, op, i + 1 < a->nops ? &a->ops[i + 1] : NULL, &oerr)) {
			if (!failures++) {
				rc = oerr.code;
				*err = oerr;
			}
			fatal = true;
			break;
		}
		if (apply_stopped(e)) {
			pair_drop(a, &pr, "the apply stopped", &oerr);
			/* a signal, or the lease lost: what ran is journaled; the rest
			 * is planned again (at the next start, by the shard's owner) */
			orc = rc_errf(&oerr, RC_ERR, "site %s: stopped (%s) before %s %s (%zu operation%s left)",
				      sp->site->name, e->cancel && *e->cancel ? "a signal" : "its lease was lost",
				      op_kind_name(op->kind), op->unit ? op->unit : "",
				      a->nops - i, a->nops - i == 1 ? "" : "s");
			block_rest(a, i, res);
			if (!rc)
				*err = oerr;
			return rc ? rc : orc;
		}
		if (blocked(a, op)) {
			res->skipped++;
			block(a, op);
			continue;
		}
		rc_log(e->log, RC_LOG_DEBUG, "site %s: %zu/%zu %s %s", sp->site->name, i + 1, a->nops,
		       op_kind_name(op->kind), op->unit ? op->unit : "");
		rc_err_clear(&oerr);
		orc = run_op(a, prov, v, op, plan_id, &pr, res, &fatal, &oerr);
		apply_progress(e, res, false);
		if (!orc)
			continue;
		block(a, op);
		if (!failures++) {
			rc = orc;
			*err = oerr;
		}
	}
	if (pair_drop(a, &pr, "the apply stopped", &oerr) && !rc) {
		rc = oerr.code;
		*err = oerr;
	}
	if (fatal)
		block_rest(a, i, res);
	if (failures > 1)
		rc_err_prefix(err, "%u operations failed, the first", failures);
	return rc;
}


/* ------------------------------------------------------------- chains */

static size_t uf_find(size_t *parent, size_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Group the site's operations into chains: ops sharing a vendor unit,
 * rental, customer or PMS object end in one chain, in plan order. *out
 * (new) holds the op indexes chain after chain; starts[c] where chain c
 * begins (starts[n] = nops). Returns the number of chains. */
static size_t chains_build(const struct apply_site *a, size_t **out, size_t **starts)
{
	size_t *parent = rc_calloc(a->nops + 1, sizeof(size_t)), *chain_of, *count;
	size_t i, k, j, n = 0, r;
	struct rc_map first;

	rc_map_init(&first);
	for (i = 0; i < a->nops; i++) {
		const struct op *op = &a->ops[i];
		const char *keys[] = { op->unit, op->rental_id, op->user_id, op->object_id };

		parent[i] = i;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (!keys[k] || !*keys[k])
				continue;
			if (rc_map_get(&first, keys[k], &j))
				parent[uf_find(parent, i)] = uf_find(parent, j);
			else
				rc_map_put(&first, keys[k], i);
		}
	}
	chain_of = rc_calloc(a->nops + 1, sizeof(size_t));
	count = rc_calloc(a->nops + 1, sizeof(size_t));
	for (i = 0; i < a->nops; i++)
		chain_of[i] = SIZE_MAX;
	for (i = 0; i < a->nops; i++) { /* chains numbered by their first op */
		r = uf_find(parent, i);
		if (chain_of[r] == SIZE_MAX)
			chain_of[r] = n++;
		count[chain_of[r]]++;
	}
	*starts = rc_calloc(n + 1, sizeof(size_t));
	for (k = 1; k <= n; k++)
		(*starts)[k] = (*starts)[k - 1] + count[k - 1];
	memset(count, 0, (a->nops + 1) * sizeof(size_t));
	*out = rc_calloc(a->nops + 1, sizeof(size_t));
	for (i = 0; i < a->nops; i++) {
		k = chain_of[uf_find(parent, i)];
		(*out)[(*starts)[k] + count[k]++] = i;
	}
	free(parent);
	free(chain_of);
	free(count);
	rc_map_free(&first);
	return n;
}

/* The chains of a site run by worker fibers. */
struct runner {
	struct apply_site *a;
	struct provider *prov;
	const struct vendor *v;
	const char *plan_id;
	struct apply_result *res;
	size_t *order, *starts, nchains, next;
	unsigned running;
	struct fiber_waitq idle;         /* a caller on a fiber waits here */
	bool fatal, waiting_fiber;
	unsigned failures;
	int rc;
	struct rc_err err;
	bool stopped;                /* a signal or the fence stopped the apply */
};

static void run_chain(struct runner *w, size_t c)
{
	struct apply_site *a = w->a;
	const struct op *op;
	struct rc_err oerr;
	struct pair pr;
	size_t i, end = w->starts[c + 1];
	int orc;

	memset(&pr, 0, sizeof(pr));
	for (i = w->starts[c]; i < end; i++) {
		op = &a->ops[w->order[i]];
		if (pair_step(a, &pr, op, i + 1 < end ? &a->ops[w->order[i + 1]] : NULL, &oerr))
			w->fatal = true;
		if (!w->fatal && !w->stopped && apply_stopped(a->e)) {
			w->stopped = true;
			if (!w->rc) /* as run_seq says it: the site did not converge */
				w->rc = rc_errf(&w->err, RC_ERR, "site %s: stopped (%s) before %s %s",
						a->sp->site->name, a->e->cancel && *a->e->cancel
						? "a signal" : "its lease was lost", op_kind_name(op->kind),
						op->unit ? op->unit : "");
		}
		if (w->fatal || w->stopped || blocked(a, op)) {
			w->res->skipped++;
			block(a, op);
			continue;
		}
		rc_err_clear(&oerr);
		orc = run_op(a, w->prov, w->v, op, w->plan_id, &pr, w->res, &w->fatal, &oerr);
		apply_progress(a->e, w->res, false);
		if (!orc)
			continue;
		block(a, op);
		if (!w->failures++) {
			w->rc = orc;
			w->err = oerr;
		}
	}
	if (pair_drop(a, &pr, "the apply stopped", &oerr)) /* journal failed: jbatch has it */
		w->fatal = true;
}

static void worker(void *arg)
{
	struct runner *w = arg;

	/* also when the caller is not a fiber (the CLI's apply) */
	fiber_set_fence(w->a->e->fence, w->a->e->fence_arg);
	while (w->next < w->nchains)
		run_chain(w, w->next++);
}

static void worker_done(void *arg)
{
	struct runner *w = arg;

	if (--w->running)
		return;
	if (w->waiting_fiber)
		fiber_waitq_wake_all(&w->idle);
	else
		ev_break(fiber_loop(), EVBREAK_ONE);
}

/* Chains at once on up to `limit` worker fibers; the caller (a fiber in
 * serve, the loop's own context in the CLI) waits for all of them. */
static int run_concurrent(struct apply_site *a, struct provider *prov, const struct vendor *v,
			  const char *plan_id, struct apply_result *res, unsigned limit,
			  struct rc_err *err)
{
	struct runner w = { a, prov, v, plan_id, res, NULL, NULL, 0, 0, 0, { NULL, NULL },
			    false, false, 0, RC_OK, { 0, "" }, false };
	struct jbatch jb;
	unsigned i, n;

	memset(&jb, 0, sizeof(jb));
	jb.a = a;
	ev_timer_init(&jb.flush, jbatch_flush_cb, 0., 0.);
	jb.flush.data = &jb;
	a->jb = &jb;
	w.nchains = chains_build(a, &w.order, &w.starts);
	w.waiting_fiber = fiber_current() != NULL;
	n = w.nchains < limit ? (unsigned)w.nchains : limit;
	for (i = 0; i < n; i++) {
		w.running++; /* before: a worker may end inside fiber_spawn */
		if (fiber_spawn(worker, &w, worker_done) != 0)
			w.running--;
	}
	while (w.running) {
		if (w.waiting_fiber)
			fiber_waitq_wait(&w.idle);
		else
			ev_run(fiber_loop(), 0);
	}
	jbatch_finish(&jb, w.waiting_fiber); /* the last results */
	a->jb = NULL;
	if (jb.rc && !w.rc) {
		w.rc = jb.rc;
		w.err = jb.err;
	}
	for (i = 0; w.next < w.nchains; w.next++) /* never started (no fiber could be had) */
		for (i = (unsigned)w.starts[w.next]; i < w.starts[w.next + 1]; i++) {
			res->skipped++;
			block(a, &a->ops[w.order[i]]);
		}
	free(w.order);
	free(w.starts);
	if (w.rc)
		*err = w.err;
	if (w.failures > 1)
		rc_err_prefix(err, "%u operations failed, the first", w.failures);
	return w.rc;
}

int apply_run_ops(struct apply_site *a, struct provider *prov, const struct vendor *v,
		  const char *plan_id, struct apply_result *res, struct rc_err *err)
{
	unsigned limit = 2 * a->e->spec->serve.vendor_concurrency;
	int rc;

	/* each request asks the fence again just before it goes out (after
	 * any wait for a connection slot), on this fiber and its workers */
	fiber_set_fence(a->e->fence, a->e->fence_arg);
	if (!fiber_attached() || a->nops < 2)
		rc = run_seq(a, prov, v, plan_id, res, err);
	else
		rc = run_concurrent(a, prov, v, plan_id, res, limit > 64 ? 64 : limit ? limit : 1,
				    err);
	fiber_set_fence(NULL, NULL);
	return rc;
}
