/*
 * report_ops.c: the report's rows from a plan's operations, and the two
 * sides of a row's subject (report_rows.h).
 *
 * An operation names a vendor record: a vendor unit (by its mapping
 * value), a rental's record (an invite, by the rental id) or a customer's
 * record (one user for all of the customer's units). Its row names the PMS
 * units it concerns, what the PMS says of them and what the vendor holds.
 * Status operations on one subject make one row: per vendor unit, per
 * rental record, or per customer where one user spans the customer's units
 * (its units' rents and vacates join the customer's row).
 */
#define _GNU_SOURCE
#include "report_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/vendor.h"

/* ---------------------------------------------------------- subjects */

static const struct dunit *dunit_in(const struct rsite *rs, const struct rc_map *m,
				    const char *key)
{
	size_t i;

	return rs->have_d && key && rc_map_get(m, key, &i) ? &rs->d.units[i] : NULL;
}

/* The customer's managed units with an occupied rental (no error). */
static bool customer_unit(const struct dunit *d, const char *user_id)
{
	return d->rental && d->user && !d->error && !strcmp(d->user->id, user_id);
}

static const char *customer_units(struct rsite *rs, const char *user_id)
{
	struct rc_buf b;
	const char *s;
	size_t i;

	rc_buf_init(&b);
	for (i = 0; rs->have_d && i < rs->d.n; i++)
		if (customer_unit(&rs->d.units[i], user_id))
			rc_buf_printf(&b, "%s%s", b.len ? ", " : "", rs->d.units[i].pu->name);
	s = rs_str(rs, b.p ? b.p : "");
	rc_buf_free(&b);
	return s;
}

void rs_subject(struct rsite *rs, const char *record, const char *rental_id,
		const char *user_id, struct subject *out)
{
	memset(out, 0, sizeof(*out));
	out->record = record && *record ? record : NULL;
	out->units = "";
	out->d = dunit_in(rs, &rs->by_vname, out->record);
	if (out->d) {
		out->kind = SUBJ_UNIT;
		out->units = out->d->pu->name;
		return;
	}
	if (rs->v->records == VENDOR_RECORDS_RENTALS && (out->record || rental_id)) {
		out->kind = SUBJ_RENTAL;
		out->rental_id = rental_id && *rental_id ? rental_id : out->record;
		out->d = dunit_in(rs, &rs->by_rental, out->rental_id);
		out->units = out->d ? out->d->pu->name : "";
		return;
	}
	if (user_id && *user_id) {
		rs_subject_customer(rs, user_id, out->record, out);
		return;
	}
	out->kind = SUBJ_NONE;
}

void rs_subject_unit(struct rsite *rs, const char *pms_unit, struct subject *out)
{
	const struct dunit *d = dunit_in(rs, &rs->by_name, pms_unit);

	if (!d) {
		memset(out, 0, sizeof(*out));
		out->kind = SUBJ_NONE;
		out->units = pms_unit ? pms_unit : "";
		return;
	}
	if (rs->v->records == VENDOR_RECORDS_RENTALS) {
		rs_subject(rs, NULL, d->rental ? d->rental->id : NULL, NULL, out);
		out->units = d->pu->name;
		return;
	}
	rs_subject(rs, d->vname, NULL, NULL, out);
}

bool rs_customer_row(const struct rsite *rs, const char *user_id)
{
	return rs->v->scope == VENDOR_SCOPE_CUSTOMER && user_id && *user_id;
}

void rs_subject_customer(struct rsite *rs, const char *user_id, const char *record,
			 struct subject *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = SUBJ_CUSTOMER;
	out->record = record;
	out->user_id = user_id;
	out->units = customer_units(rs, user_id);
}

/* ------------------------------------------------------- the PMS side */

static const char *pms_unit(struct rsite *rs, const struct dunit *d)
{
	const char *owner = d->user ? d->user->id : d->rental ? d->rental->owner_id : "?";

	if (!d->rental)
		return "Vacant (no occupied rental)";
	if (d->status == VU_DELINQUENT)
		return rs_printf(rs, "Delinquent: rental %s of customer %s, %s", d->rental->id, owner,
				 d->overdue ? "overdue" : "overlock flag set");
	return rs_printf(rs, "Rented: rental %s of customer %s", d->rental->id, owner);
}

static const char *pms_customer(struct rsite *rs, const char *user_id)
{
	struct rc_buf units, rentals, late;
	const char *s;
	size_t i, n = 0;

	rc_buf_init(&units);
	rc_buf_init(&rentals);
	rc_buf_init(&late);
	for (i = 0; rs->have_d && i < rs->d.n; i++) {
		const struct dunit *d = &rs->d.units[i];

		if (!customer_unit(d, user_id))
			continue;
		rc_buf_printf(&units, "%s%s", n ? ", " : "", d->pu->name);
		rc_buf_printf(&rentals, "%s%s", n++ ? ", " : "", d->rental->id);
		if (d->status == VU_DELINQUENT)
			rc_buf_printf(&late, "%s%s (%s)", late.len ? ", " : "", d->pu->name,
				      d->overdue ? "overdue" : "overlock flag set");
	}
	if (!n)
		s = rs_printf(rs, "customer %s rents no unit here", user_id);
	else
		s = rs_printf(rs, "customer %s rents %s (rental%s %s), %s%s", user_id, units.p,
			      n == 1 ? "" : "s", rentals.p, late.len ? "delinquent: " : "in good standing",
			      late.len ? late.p : "");
	rc_buf_free(&units);
	rc_buf_free(&rentals);
	rc_buf_free(&late);
	return s;
}

const char *rs_pms_side(struct rsite *rs, const struct subject *s)
{
	switch (s->kind) {
	case SUBJ_UNIT:
		return pms_unit(rs, s->d);
	case SUBJ_RENTAL:
		return s->d ? pms_unit(rs, s->d)
			    : rs_printf(rs, "rental %s is no longer occupied (ended, or moved out)",
					s->rental_id ? s->rental_id : "?");
	case SUBJ_CUSTOMER:
		return pms_customer(rs, s->user_id);
	default:
		return rs_printf(rs, "no managed unit maps to %s", s->record ? s->record : "it");
	}
}

/* ---------------------------------------------------- the vendor side */

static const char *on_off(struct rsite *rs, bool enabled)
{
	const char *off = rs->v->tenant_off_word;

	if (enabled)
		return off ? rs_printf(rs, "not %s", off) : "enabled";
	return off ? off : "disabled";
}

/* A tenant; on a unit of a vendor whose user spans the customer's units,
 * the unit only names that user (its state is the user's record). */
static const char *tenant_text(struct rsite *rs, const struct obs_tenant *t, bool on_unit)
{
	bool state = !on_unit || rs->v->scope != VENDOR_SCOPE_CUSTOMER;

	return rs_printf(rs, "%s %s%s%s%s%s", rs->v->tenant_word, t->vendor_id ? t->vendor_id : "?",
			 t->rental_id ? " for rental " : "", t->rental_id ? t->rental_id : "",
			 state ? ", " : "", state ? on_off(rs, t->enabled) : "");
}

const char *rs_vendor_record(struct rsite *rs, enum subj_kind kind, const char *record)
{
	const struct obs_unit *u = record ? obs_find_unit(&rs->sp->obs, record) : NULL;
	const char *tw = rs->v->tenant_word;

	if (kind == SUBJ_CUSTOMER || kind == SUBJ_RENTAL) {
		if (!u || !u->ntenants)
			return rs_printf(rs, "no %s for the %s", tw,
					 kind == SUBJ_CUSTOMER ? "customer" : "rental");
		return tenant_text(rs, &u->tenants[0], false);
	}
	if (!u)
		return rs->sp->obs.readable ? "no such unit" : "nothing recorded";
	if (!u->ntenants)
		return rs_printf(rs, "%s, no %s", vu_status_name(u->status), tw);
	if (u->ntenants > 1)
		return rs_printf(rs, "%s, %zu %ss", vu_status_name(u->status), u->ntenants, tw);
	return rs_printf(rs, "%s, %s", vu_status_name(u->status), tenant_text(rs, &u->tenants[0], true));
}

const char *rs_vendor_side(struct rsite *rs, const struct subject *s)
{
	return rs_printf(rs, "%s%s", rs_vendor_record(rs, s->kind, s->record), rs->as_of);
}

/* The tenant an operation addresses in its record (the first if unnamed). */
static const struct obs_tenant *op_tenant(const struct rsite *rs, const struct op *op)
{
	const struct obs_unit *u = op->unit ? obs_find_unit(&rs->sp->obs, op->unit) : NULL;
	size_t i;

	for (i = 0; u && i < u->ntenants; i++)
		if (op->tenant_vid && rc_streq(u->tenants[i].vendor_id, op->tenant_vid))
			return &u->tenants[i];
	return u && u->ntenants ? &u->tenants[0] : NULL;
}

/* ------------------------------------------------------- status rows */

/* A status row in the making: several operations of one subject. */
struct status_acc {
	size_t row;
	struct rc_buf cust, units, action;   /* vendor side: customer record, units */
};

struct ops_ctx {
	struct rsite *rs;
	struct rc_map key_of;                /* subject key -> index into acc */
	struct status_acc *acc;
	size_t n, cap;
};

static bool is_status_op(const struct op *op, const struct subject *s)
{
	switch (op->kind) {
	case OP_TENANT_CREATE:
	case OP_UNIT_VACATE:
	case OP_UNIT_ENABLE:
	case OP_UNIT_DISABLE:
	case OP_UNIT_RENT:
		return true;
	case OP_TENANT_REMOVE:
		return s->kind != SUBJ_UNIT; /* a customer's or rental's access goes */
	default:
		return false;
	}
}

static struct status_acc *status_start(struct ops_ctx *c, const char *key, const struct op *op,
				       const struct subject *row_subj)
{
	struct rsite *rs = c->rs;
	struct status_acc *a = RC_PUSH(c->acc, c->n, c->cap);
	struct report_row *x = rs_row(rs, SEV_ERROR, "status_mismatch", row_subj->units, op->rule);

	rc_map_put(&c->key_of, rs_str(rs, key), c->n - 1);
	a->row = (size_t)(x - rs->r->rows);
	rc_buf_init(&a->cust);
	rc_buf_init(&a->units);
	rc_buf_init(&a->action);
	x->pms = rs_pms_side(rs, row_subj);
	rc_buf_printf(&a->action, "%s (%s)", op_kind_name(op->kind), op->reason ? op->reason : "");
	return a;
}

/* Is "<record>: " an entry of the "; "-separated list b? */
static bool listed(const struct rc_buf *b, const char *record)
{
	size_t n = strlen(record);
	const char *p;

	for (p = b->p; p && *p; p = strstr(p, "; ") ? strstr(p, "; ") + 2 : NULL)
		if (!strncmp(p, record, n) && p[n] == ':')
			return true;
	return false;
}

static void status_op(struct ops_ctx *c, const struct op *op, const struct subject *s)
{
	struct rsite *rs = c->rs;
	struct subject cs;
	const struct subject *row_subj = s;
	struct status_acc *a;
	char key[200];
	size_t i;
	bool cust = rs_customer_row(rs, op->user_id), fresh;

	if (cust) {
		rs_subject_customer(rs, op->user_id, NULL, &cs);
		row_subj = &cs;
	}
	snprintf(key, sizeof(key), "%c:%s", cust ? 'u' : 'r',
		 cust ? op->user_id : s->record ? s->record : s->rental_id ? s->rental_id : "");
	fresh = !rc_map_get(&c->key_of, key, &i);
	a = fresh ? status_start(c, key, op, row_subj) : &c->acc[i];
	if (!fresh)
		rc_buf_printf(&a->action, ", %s%s%s", op_kind_name(op->kind),
			      s->kind == SUBJ_UNIT && cust ? " " : "",
			      s->kind == SUBJ_UNIT && cust ? s->record : "");
	if (!cust || s->kind == SUBJ_CUSTOMER) {
		if (!a->cust.len)
			rc_buf_puts(&a->cust, rs_vendor_record(rs, s->kind, s->record));
	} else if (s->record && !listed(&a->units, s->record)) {
		rc_buf_printf(&a->units, "%s%s: %s", a->units.len ? "; " : "", s->record,
			      rs_vendor_record(rs, SUBJ_UNIT, s->record));
	}
}

static void status_finish(struct ops_ctx *c)
{
	struct rsite *rs = c->rs;
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct status_acc *a = &c->acc[i];
		struct report_row *x = &rs->r->rows[a->row];

		x->vendor = rs_printf(rs, "%s%s%s%s", a->cust.len ? a->cust.p : "",
				      a->cust.len && a->units.len ? "; " : "",
				      a->units.len ? a->units.p : "", rs->as_of);
		x->action = rs_str(rs, a->action.p);
		rc_buf_free(&a->cust);
		rc_buf_free(&a->units);
		rc_buf_free(&a->action);
	}
	free(c->acc);
	rc_map_free(&c->key_of);
}

/* ------------------------------------------------------- update rows */

static const struct rchange *change_of(const struct site_plan *sp, const char *name)
{
	size_t i;

	for (i = 0; name && i < sp->nchanges; i++)
		if (!strcmp(sp->changes[i].name, name) && !sp->changes[i].writeback)
			return &sp->changes[i];
	return NULL;
}

static const char *jstr(const struct rattrs *o, const char *k)
{
	const char *v = o ? ra_get_str(o, k) : NULL;

	return v ? v : "-";
}

/* A compared field, as the PMS wants it and as the vendor holds it. */
static void field_sides(struct rsite *rs, const struct op *op, const struct vendor_label *l,
			const struct obs_tenant *t, const char **pms, const char **vnd)
{
	const struct rchange *c = change_of(rs->sp, op->unit);
	const struct rattrs *before = c ? &c->before : NULL;

	switch (l->bit) {
	case TF_ACCESS_PROFILE:
		*pms = rs_printf(rs, "%s %ld", l->what, op->t.access_profile);
		*vnd = t ? rs_printf(rs, "%s %ld", l->what, t->access_profile) : "-";
		break;
	case TF_TIME_GROUP:
		*pms = rs_printf(rs, "%s %ld", l->what, op->t.time_group);
		*vnd = t ? rs_printf(rs, "%s %ld", l->what, t->time_group) : "-";
		break;
	case TF_PORTALS:
		*pms = rs_printf(rs, "%s %s", l->what, op->t.portals ? op->t.portals : "");
		*vnd = rs_printf(rs, "%s %s", l->what, jstr(before, "portals"));
		break;
	case TF_WINDOW:
		*pms = rs_printf(rs, "%s %s .. %s", l->what, op->t.valid_from ? op->t.valid_from : "",
				 op->t.valid_to ? op->t.valid_to : "");
		*vnd = rs_printf(rs, "%s %s .. %s", l->what, jstr(before, "valid_from"),
				 jstr(before, "valid_to"));
		break;
	default:
		*pms = *vnd = "-";
	}
}

static void label_row(struct rsite *rs, const struct op *op, const struct subject *s,
		      const struct vendor_label *l)
{
	bool status = l->bit == TF_ENABLED;
	struct report_row *x = rs_row(rs, status ? SEV_ERROR : SEV_WARNING, l->cls, s->units, l->rule);
	const char *pms, *vnd;

	if (status) {
		x->pms = rs_pms_side(rs, s);
		x->vendor = rs_vendor_side(rs, s);
		x->action = rs_printf(rs, "tenant.update: %s the %s", op->t.enabled ? "enable" : "disable",
				      l->what);
		return;
	}
	field_sides(rs, op, l, op_tenant(rs, op), &pms, &vnd);
	x->pms = pms;
	x->vendor = rs_printf(rs, "%s%s", vnd, rs->as_of);
	x->action = rs_printf(rs, "tenant.update (%s)", op->reason ? op->reason : "");
}

static const char *code_wanted(struct rsite *rs, const struct op *op)
{
	const struct code_ref *c = &op->t.code;

	if (c->src == CODE_GENERATED)
		return "a new code, generated at apply (not shown)";
	if (c->src == CODE_PMS_USER)
		return rs_printf(rs, "the customer's code (customer %s, not shown)", c->ref_id ? c->ref_id : "?");
	return rs_printf(rs, "the rental's code (rental %s, not shown)", c->ref_id ? c->ref_id : "?");
}

static const char *code_held(struct rsite *rs, const struct obs_tenant *t)
{
	if (t && t->code_known)
		return "a different code";
	if (!rs->sp->obs.readable)
		return "no code pushed";
	return "a code reconcile cannot compare (not shown by the vendor)";
}

static void details_row(struct rsite *rs, const struct op *op, const struct subject *s,
			const struct obs_tenant *t)
{
	static const struct { unsigned bit; const char *name; } f[] = {
		{ TF_FIRST_NAME, "first name" }, { TF_LAST_NAME, "last name" },
		{ TF_EMAIL, "email" }, { TF_PHONE, "phone" },
	};
	struct report_row *x = rs_row(rs, SEV_WARNING, "tenant_details_mismatch", s->units, op->rule);
	struct rc_buf which;
	size_t i;

	rc_buf_init(&which);
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (op->changed & f[i].bit)
			rc_buf_printf(&which, "%s%s", which.len ? ", " : "", f[i].name);
	x->pms = rs_printf(rs, "%s %s (differs: %s)", op->t.first_name ? op->t.first_name : "",
			   op->t.last_name ? op->t.last_name : "", which.p);
	x->vendor = t ? rs_printf(rs, "%s %s%s", t->first_name ? t->first_name : "",
				  t->last_name ? t->last_name : "", rs->as_of)
		      : rs_printf(rs, "no %s%s", rs->v->tenant_word, rs->as_of);
	x->action = rs_printf(rs, "tenant.update (%s)", op->reason ? op->reason : "");
	rc_buf_free(&which);
}

static void update_rows(struct rsite *rs, const struct op *op, const struct subject *s)
{
	const struct obs_tenant *t = op_tenant(rs, op);
	struct report_row *x;
	unsigned i;

	if ((op->changed & TF_ALL) == TF_ALL) {
		/* a requested re-push or an adoption: not a mismatch */
		x = rs_row(rs, SEV_INFO, "push_pending", s->units, op->rule);
		x->pms = rs_str(rs, op->reason);
		x->vendor = rs_vendor_side(rs, s);
		x->action = "tenant.update with every field";
		return;
	}
	if (op->changed & TF_CODE) {
		x = rs_row(rs, SEV_ERROR, "code_mismatch", s->units, rs->v->code_rule);
		x->pms = code_wanted(rs, op);
		x->vendor = rs_printf(rs, "%s%s", code_held(rs, t), rs->as_of);
		x->action = "tenant.update: push the code of record";
	}
	for (i = 0; i < rs->v->nlabels; i++)
		if (op->changed & rs->v->labels[i].bit)
			label_row(rs, op, s, &rs->v->labels[i]);
	if (op->changed & (TF_FIRST_NAME | TF_LAST_NAME | TF_EMAIL | TF_PHONE))
		details_row(rs, op, s, t);
}

/* ------------------------------------------------- other vendor rows */

static void tenant_row(struct rsite *rs, const struct op *op, const struct subject *s)
{
	const struct obs_tenant *t = op_tenant(rs, op);
	const char *vid = op->tenant_vid ? op->tenant_vid : "?";
	struct report_row *x;

	if (op->kind == OP_TENANT_REMOVE) {
		x = rs_row(rs, SEV_WARNING, "extra_tenant", s->units, op->rule);
		x->pms = rs_printf(rs, "one %s: %s", rs->v->tenant_word, rs_pms_side(rs, s));
		x->vendor = rs_printf(rs, "another %s (%s) too%s", rs->v->tenant_word, vid, rs->as_of);
		x->action = rs_printf(rs, "tenant.remove (%s)", op->reason ? op->reason : "");
		return;
	}
	x = rs_row(rs, SEV_ERROR, "tenant_locked_out", s->units, op->rule);
	x->pms = rs_pms_side(rs, s);
	x->vendor = rs_printf(rs, "%s %s is %s%s", rs->v->tenant_word, vid,
			      on_off(rs, t ? t->enabled : false), rs->as_of);
	x->action = rs_printf(rs, "tenant.enable (%s)", op->reason ? op->reason : "");
}

/* ----------------------------------------------------- write-back rows */

static const char *object_word(const char *collection)
{
	if (!strcmp(collection, "users"))
		return "customer";
	if (!strcmp(collection, "units"))
		return "unit";
	return "rental";
}

static void write_value(struct rsite *rs, const struct op_write *w, struct rc_buf *b)
{
	switch (w->type) {
	case WB_CODE:
		if (w->code.src == CODE_GENERATED)
			rc_buf_puts(b, "a new code generated at apply (not shown), before it is pushed");
		else if (w->code.src == CODE_VENDOR_RESULT)
			rc_buf_printf(b, "the one-time secret %s returns (not shown), right after the call",
				      rs->v->spec.title);
		else
			rc_buf_puts(b, "a code (not shown)");
		break;
	case WB_RESULT:
		rc_buf_printf(b, "the id %s returns, after the call", rs->v->spec.title);
		break;
	case WB_NOW:
		rc_buf_puts(b, "the time of the push");
		break;
	case WB_BOOL:
		rc_buf_puts(b, w->b ? "true" : "false");
		break;
	case WB_STRING:
		rc_buf_printf(b, "\"%s\"", w->str ? w->str : "");
		break;
	default:
		rc_buf_puts(b, "cleared");
	}
}

static void writeback_row(struct rsite *rs, const struct op *op)
{
	struct rc_buf fields, what;
	struct subject s;
	struct report_row *x;
	unsigned i;

	if (!strcmp(op->collection, "users"))
		rs_subject_customer(rs, op->object_id, NULL, &s);
	else
		rs_subject_unit(rs, op->unit, &s);
	rc_buf_init(&fields);
	rc_buf_init(&what);
	for (i = 0; i < op->nw; i++) {
		rc_buf_printf(&fields, "%s%s", i ? ", " : "", op->w[i].field);
		rc_buf_printf(&what, "%s%s = ", i ? "; " : "", op->w[i].field);
		write_value(rs, &op->w[i], &what);
	}
	x = rs_row(rs, SEV_INFO, "writeback_pending", s.units, op->rule);
	x->pms = rs_printf(rs, "%s %s: %s", object_word(op->collection), op->object_id, fields.p);
	x->vendor = "-";
	x->action = rs_printf(rs, "pms.write: %s", what.p);
	rc_buf_free(&fields);
	rc_buf_free(&what);
}

void report_from_ops(struct rsite *rs)
{
	const struct site_plan *sp = rs->sp;
	struct ops_ctx c = { rs, { 0 }, NULL, 0, 0 };
	struct subject s;
	size_t i;

	rc_map_init(&c.key_of);
	for (i = 0; i < sp->nops; i++) {
		const struct op *op = &sp->ops[i];

		if (op->kind == OP_PMS_WRITE) {
			writeback_row(rs, op);
			continue;
		}
		rs_subject(rs, op->unit, op->rental_id, op->user_id, &s);
		if (rs_customer_row(rs, op->user_id) && op->kind == OP_TENANT_UPDATE)
			rs_subject_customer(rs, op->user_id, op->unit, &s);
		if (is_status_op(op, &s))
			status_op(&c, op, &s);
		else if (op->kind == OP_TENANT_UPDATE)
			update_rows(rs, op, &s);
		else if (op->kind == OP_TENANT_REMOVE || op->kind == OP_TENANT_ENABLE)
			tenant_row(rs, op, &s);
	}
	status_finish(&c);
}
