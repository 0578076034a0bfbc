/*
 * report.c: building the mismatch report from a plan (see report.h).
 * Rows come from three places: the plan's findings (mapping, occupancy,
 * bad PMS values, a vendor that cannot be read), the plan's operations
 * (report_ops.c: what differs and what the engine would do) and the
 * journal (calls whose last attempt failed or is in doubt, with what the
 * next apply does about them, read from the current plan). Rendering is
 * report_render.c and report_html.c.
 */
#define _GNU_SOURCE
#include "report_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/vendor.h"

const char *severity_name(enum severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "info";
}

const char *rs_str(struct rsite *rs, const char *s)
{
	return rc_arena_strdup(&rs->r->arena, s ? s : "");
}

const char *rs_printf(struct rsite *rs, const char *fmt, ...)
{
	struct rc_buf b;
	const char *s;
	va_list ap;

	rc_buf_init(&b);
	va_start(ap, fmt);
	rc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	s = rs_str(rs, b.p);
	rc_buf_free(&b);
	return s;
}

/* Each of the ", "-joined PMS units counts as mismatched. */
static void count_units(struct rsite *rs, const char *units)
{
	const char *p = units, *end;
	char *name;

	while (p && *p) {
		end = strstr(p, ", ");
		name = end ? strndup(p, (size_t)(end - p)) : strdup(p);
		if (!rc_map_get(&rs->mism, name, NULL))
			rc_map_put(&rs->mism, rc_arena_strdup(&rs->r->arena, name), 1);
		free(name);
		p = end ? end + 2 : NULL;
	}
}

struct report_row *rs_row(struct rsite *rs, enum severity sev, const char *cls,
			  const char *units, const char *rule)
{
	return rs_row_ex(rs, sev, cls, units, rule,
			 sev != SEV_INFO && strcmp(cls, "unmanaged_rented") != 0);
}

struct report_row *rs_row_ex(struct rsite *rs, enum severity sev, const char *cls,
			     const char *units, const char *rule, bool mismatch)
{
	struct report *r = rs->r;
	struct report_row *x = RC_PUSH(r->rows, r->nrows, r->caprows);

	x->sev = sev;
	x->cls = cls;
	x->site = rs_str(rs, rs->sp->site->name);
	x->unit = rs_str(rs, units);
	x->rule = rs_str(rs, rule);
	x->pms = x->vendor = x->action = x->time = "";
	if (mismatch)
		count_units(rs, units);
	return x;
}

/* ------------------------------------------------------------ a site */

/* The PMS side by the plan's own rules: the managed units of the site with
 * their rental, customer and status (R1-R5), against the PMS records of
 * the last convergence (R4 edges), indexed three ways. */
static void rsite_open(struct rsite *rs, struct report *r, struct engine *e,
		       const struct site_plan *sp)
{
	struct store_txn *t = NULL;
	struct rc_err err;
	size_t i;

	memset(rs, 0, sizeof(*rs));
	rs->r = r;
	rs->e = e;
	rs->sp = sp;
	rs->v = vendor_of(sp->site);
	pms_recs_init(&rs->last);
	rc_map_init(&rs->by_vname);
	rc_map_init(&rs->by_rental);
	rc_map_init(&rs->by_name);
	rc_map_init(&rs->mism);
	rs->as_of = !sp->obs.readable ? " (as last applied)" : sp->refreshed ? ""
		  : " (cached, not read now)";
	site_plan_init(&rs->scratch, sp->site);
	if (sp->failed || !sp->pms_site || !e->snap_loaded)
		return;
	if (!store_txn_begin(e->store, false, &t, &err)) {
		store_pms_load(t, sp->site->name, &rs->last, &err);
		store_txn_abort(t);
	}
	rs->scratch.pms_site = sp->pms_site;
	desired_collect(&rs->scratch, &e->snap, &e->groups, rs->v, &rs->last, &rs->d, NULL);
	rs->have_d = true;
	for (i = 0; i < rs->d.n; i++) {
		const struct dunit *d = &rs->d.units[i];

		if (!rc_map_get(&rs->by_vname, d->vname, NULL))
			rc_map_put(&rs->by_vname, d->vname, i);
		rc_map_put(&rs->by_name, d->pu->name, i);
		if (d->rental)
			rc_map_put(&rs->by_rental, d->rental->id, i);
	}
}

static void rsite_close(struct rsite *rs)
{
	desired_free(&rs->d);
	site_plan_free(&rs->scratch);
	pms_recs_free(&rs->last);
	rc_map_free(&rs->by_vname);
	rc_map_free(&rs->by_rental);
	rc_map_free(&rs->by_name);
	rc_map_free(&rs->mism);
}

/* Nothing to compare with: a vendor that cannot be read, never applied
 * from this state directory. */
static bool no_baseline(const struct site_plan *sp)
{
	return !sp->failed && !sp->obs.readable && !sp->have_obs;
}

/* ---------------------------------------------------------- findings */

static void not_readable_row(struct rsite *rs, const struct finding *f)
{
	const char *title = rs->v->spec.title;
	struct report_row *x;
	unsigned rented = 0;
	size_t i;

	if (!no_baseline(rs->sp)) {
		x = rs_row(rs, SEV_INFO, "vendor_not_readable", "", f->rule);
		x->pms = "-";
		x->vendor = rs_str(rs, f->message);
		x->action = rs_printf(rs, "plans from what it last applied: a change made by hand in %s "
				      "stays until that %s is pushed again", title, rs->v->tenant_word);
		return;
	}
	for (i = 0; rs->have_d && i < rs->d.n; i++)
		rented += rs->d.units[i].rental != NULL;
	x = rs_row(rs, SEV_WARNING, "no_applied_state", "", f->rule);
	x->pms = rs_printf(rs, "%u managed unit%s, %u rented", rs->sp->managed,
			   rs->sp->managed == 1 ? "" : "s", rented);
	x->vendor = rs_printf(rs, "unknown: %s has no read API and this state directory holds nothing "
			      "reconcile applied to the site (new or lost)", title);
	x->action = rs_printf(rs, "the next apply pushes what the PMS holds (%zu operation%s) and "
			      "records it; later plans and reports compare with that", rs->sp->nops,
			      rs->sp->nops == 1 ? "" : "s");
}

/* The vendor side of a finding's unit, or "-" when it has none. */
static const char *finding_vendor(struct rsite *rs, const struct finding *f,
				  const struct subject *s)
{
	if (s->kind != SUBJ_NONE)
		return rs_vendor_side(rs, s);
	if (f->vendor_unit && rs->v->records == VENDOR_RECORDS_UNITS)
		return rs_printf(rs, "%s%s", rs_vendor_record(rs, SUBJ_UNIT, f->vendor_unit), rs->as_of);
	return "-";
}

static void from_findings(struct rsite *rs)
{
	static const char *const action[] = {
		[FIND_UNMANAGED_RENTED] = "none: set the mapping field to sync the unit",
		[FIND_NAME_MISMATCH] = "synced by the mapping field; align the names",
		[FIND_NO_VENDOR_UNIT] = "none until the mapping or the vendor unit is fixed",
		[FIND_DUPLICATE_MAPPING] = "none until the mapping is fixed",
		[FIND_DOUBLE_OCCUPANCY] = "none until one rental ends",
		[FIND_BAD_VALUE] = "none until the PMS field is fixed",
		[FIND_MISSING_OWNER] = "none: the unit is left as it is",
		[FIND_IN_DOUBT] = "adopted, not created again",
		[FIND_NOT_READABLE] = "",
	};
	const struct site_plan *sp = rs->sp;
	struct report_row *x;
	struct subject s;
	size_t i;

	for (i = 0; i < sp->nfindings; i++) {
		const struct finding *f = &sp->findings[i];

		if (f->kind == FIND_NOT_READABLE) {
			not_readable_row(rs, f);
			continue;
		}
		if (f->unit)
			rs_subject_unit(rs, f->unit, &s);
		else
			rs_subject(rs, f->vendor_unit, NULL, NULL, &s);
		x = rs_row(rs, f->sev, finding_kind_name(f->kind), f->unit ? f->unit : s.units, f->rule);
		x->pms = rs_str(rs, f->message);
		x->vendor = f->kind == FIND_UNMANAGED_RENTED ? "-" : finding_vendor(rs, f, &s);
		x->action = f->kind < sizeof(action) / sizeof(action[0]) && action[f->kind]
			? action[f->kind] : "none";
	}
	if (sp->failed) {
		x = rs_row(rs, SEV_ERROR, "site_unreadable", "", "R10");
		x->pms = rs_str(rs, sp->fail_msg);
		x->vendor = "-";
		x->action = "nothing is planned for this site";
	}
}

/* ---------------------------------------------------------- journal */

struct jctx {
	struct report *r;
	struct rc_map last;          /* "op unit object" -> index into entries */
	struct journal_entry *entries;
	size_t n, cap;
};

static int journal_cb(const struct journal_entry *e, void *p)
{
	struct jctx *j = p;
	size_t at = j->n;
	char key[200];

	if (!strcmp(e->op, "settled"))
		return 0;
	*RC_PUSH(j->entries, j->n, j->cap) = *e;
	/* the last entry of each (operation, unit, rental or object) tells its state */
	snprintf(key, sizeof(key), "%s %s %s", e->op, e->unit, e->rental_id);
	if (rc_map_get(&j->last, key, NULL))
		rc_map_put(&j->last, key, at); /* the slot keeps its own key */
	else
		rc_map_put(&j->last, rc_arena_strdup(&j->r->arena, key), at);
	return 0;
}

/* Does the journal's detail ("<reason> (<rule>)") end with op's rule? Two
 * write-backs to one object differ by it (a code before the add, the id
 * after it). */
static bool same_rule(const struct op *op, const struct journal_entry *je)
{
	char tail[48];
	size_t n, m = strlen(je->detail);

	snprintf(tail, sizeof(tail), "(%s)", op->rule ? op->rule : "");
	n = strlen(tail);
	return m >= n && !strcmp(je->detail + m - n, tail);
}

/* The operation of the current plan that does again what je did. */
static const struct op *plan_op_like(const struct site_plan *sp, const struct journal_entry *je)
{
	size_t i;

	for (i = 0; i < sp->nops; i++) {
		const struct op *op = &sp->ops[i];
		const char *obj = op->rental_id ? op->rental_id : op->object_id ? op->object_id : "";

		if (strcmp(op_kind_name(op->kind), je->op) || !rc_streq(op->unit ? op->unit : "", je->unit) ||
		    strcmp(obj, je->rental_id))
			continue;
		if (op->kind != OP_PMS_WRITE || same_rule(op, je))
			return op;
	}
	return NULL;
}

/* Did the plan's refresh find what an interrupted create made? */
static bool adopted(const struct site_plan *sp, const struct journal_entry *je)
{
	size_t i;

	for (i = 0; i < sp->nfindings; i++)
		if (sp->findings[i].kind == FIND_IN_DOUBT &&
		    rc_streq(sp->findings[i].vendor_unit, je->unit))
			return true;
	return false;
}

/* What the next apply does about a call in doubt (intent or unknown). */
static const char *pending_action(struct rsite *rs, const struct journal_entry *je,
				  const struct op *m)
{
	const char *title = rs->v->spec.title, *tw = rs->v->tenant_word;

	if (!strcmp(je->op, op_kind_name(OP_PMS_WRITE)))
		return m ? "the next plan reads the PMS again and finds the field not written: "
			   "the next apply writes it again (the current plan holds it)"
			 : "the next plan reads the PMS again: nothing is left to write";
	if (!(rs->v->caps & VENDOR_CAN_READ))
		return m ? rs_printf(rs, "%s cannot be read, so whether it took effect is unknown: the "
				     "next apply closes the entry and sends it again (the current plan "
				     "holds it)", title)
			 : rs_printf(rs, "%s cannot be read, so whether it took effect is unknown: the "
				     "current plan does not hold it; the next apply closes the entry", title);
	if (!strcmp(je->op, op_kind_name(OP_TENANT_CREATE))) {
		if (adopted(rs->sp, je))
			return rs_printf(rs, "settled by a refresh of %s: the %s this call made is "
					 "adopted, not created again", title, tw);
		return m ? rs_printf(rs, "settled by a refresh of %s: no %s from this call is there, "
				     "so the next apply creates it", title, tw)
			 : rs_printf(rs, "settled by a refresh of %s: nothing is left to create", title);
	}
	return m ? rs_printf(rs, "settled by a refresh of %s: it did not take effect, so the next "
			     "apply repeats it", title)
		 : rs_printf(rs, "settled by a refresh of %s: nothing is left to do for it", title);
}

static void journal_row(struct rsite *rs, const struct journal_entry *je)
{
	const struct op *m = plan_op_like(rs->sp, je);
	bool failed = je->state == JOURNAL_FAILED, write = !strcmp(je->op, "pms.write");
	struct report_row *x;
	struct subject s;

	/* a write names its object: a rental, or a customer (a user id) */
	if (write && !rc_map_get(&rs->by_rental, je->rental_id, NULL) &&
	    rs->e->snap_loaded && pms_find_user(&rs->e->snap, je->rental_id))
		rs_subject_customer(rs, je->rental_id, NULL, &s);
	else if (write)
		rs_subject_unit(rs, je->unit, &s);
	else if (rs_customer_row(rs, je->user_id))
		rs_subject_customer(rs, je->user_id, je->unit, &s);
	else
		rs_subject(rs, je->unit, je->rental_id, je->user_id, &s);
	/* the units count as mismatched while the current plan still has
	 * the call to make */
	x = rs_row_ex(rs, failed && m ? SEV_ERROR : SEV_WARNING,
		      failed ? "operation_failed" : "operation_pending", s.units, "R7", m != NULL);
	x->pms = rs_printf(rs, "%s: %s", je->op, je->detail);
	x->vendor = failed ? rs_printf(rs, "failed: %s", je->error)
		  : je->state == JOURNAL_UNKNOWN ? "outcome unknown: no answer (timeout)"
		  : "outcome unknown: interrupted before the answer";
	if (rs->sp->failed)
		x->action = "unknown: the site could not be planned";
	else if (failed)
		x->action = m ? rs_printf(rs, "the next apply retries it: the current plan holds it "
					  "again (%s)", m->reason ? m->reason : "")
			      : "not retried: the current plan does not hold it";
	else
		x->action = pending_action(rs, je, m);
	x->time = rs_str(rs, je->time);
}

static void from_journal(struct rsite *rs)
{
	struct jctx j = { rs->r, { 0 }, NULL, 0, 0 };
	struct store_txn *t = NULL;
	struct rc_err err;
	size_t i;

	rc_map_init(&j.last);
	if (store_txn_begin(rs->e->store, false, &t, &err))
		return;
	store_journal_each(t, rs->sp->site->name, false, journal_cb, &j, &err);
	store_txn_abort(t);
	for (i = 0; i < j.last.cap; i++) {
		const struct journal_entry *x;

		if (!j.last.keys[i])
			continue;
		x = &j.entries[j.last.vals[i]];
		if (x->state == JOURNAL_FAILED || x->state == JOURNAL_INTENT ||
		    x->state == JOURNAL_UNKNOWN)
			journal_row(rs, x);
	}
	free(j.entries);
	rc_map_free(&j.last);
}

/* ---------------------------------------------------------- summary */

static int cmp_rows(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	int c;

	if (x->sev != y->sev)
		return (int)y->sev - (int)x->sev;
	c = strcmp(x->site, y->site);
	if (!c)
		c = strcmp(x->unit, y->unit);
	if (!c)
		c = strcmp(x->cls, y->cls);
	if (!c)
		c = strcmp(x->action, y->action);
	return c;
}

static void summarize(struct rsite *rs, struct report_site *s)
{
	const struct site_plan *sp = rs->sp;
	struct store_site_meta meta;
	struct store_txn *t = NULL;
	struct rc_err err;

	s->name = rs_str(rs, sp->site->name);
	s->vendor = sp->site->vendor->name;
	s->managed = sp->managed;
	s->readable = sp->obs.readable;
	s->baseline = plan_site_baseline(sp);
	s->compared = !sp->failed && !no_baseline(sp);
	s->error = sp->failed ? rs_str(rs, sp->fail_msg) : NULL;
	s->last_sync = "";
	if (!store_txn_begin(rs->e->store, false, &t, &err)) {
		if (!store_site_meta_get(t, sp->site->name, &meta, &err))
			s->last_sync = rs_str(rs, meta.last_sync);
		store_txn_abort(t);
	}
	s->mismatched = s->compared ? (unsigned)rs->mism.n : 0;
	s->in_sync = s->managed > s->mismatched && s->compared ? s->managed - s->mismatched : 0;
}

int report_build(struct engine *e, const struct plan *p, struct report *out,
		 struct rc_err *err)
{
	struct rsite rs;
	size_t i;

	(void)err;
	rc_arena_init(&out->arena);
	rc_now_iso(out->generated, sizeof(out->generated));
	out->sites = rc_calloc(p->nsites + 1, sizeof(*out->sites));
	out->nsites = p->nsites;
	for (i = 0; i < p->nsites; i++) {
		rsite_open(&rs, out, e, &p->sites[i]);
		from_findings(&rs);
		if (!no_baseline(&p->sites[i]))
			report_from_ops(&rs);
		from_journal(&rs);
		summarize(&rs, &out->sites[i]);
		rsite_close(&rs);
	}
	if (out->nrows > 1)
		qsort(out->rows, out->nrows, sizeof(*out->rows), cmp_rows);
	return RC_OK;
}

void report_free(struct report *r)
{
	free(r->rows);
	free(r->sites);
	rc_arena_free(&r->arena);
	memset(r, 0, sizeof(*r));
}
