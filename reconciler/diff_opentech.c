/*
 * diff_opentech.c: desired x observed -> operations for OpenTech sites
 * (docs/rules.md OT1-OT5 on top of R1-R9).
 *
 * Per managed unit, in mapping-name order:
 *   [PMS write: generated code (+ overlock mirror)]   before the vendor, so
 *                                                     the code of record is
 *                                                     in the PMS first (OT4)
 *   [vacate] [tenant.create | tenant.update] [tenant.enable] [tenant.remove]
 *   [unit.enable | unit.disable]
 *   [PMS write: overlock mirror, re-sync reset]       after the vendor calls
 * A unit already in its desired state gets no operation (R7).
 */
#define _GNU_SOURCE
#include "diff.h"
#include "providers/opentech.h"

#include <stdlib.h>
#include <string.h>

#define OT_CODE_MAX 10

struct ot_unit {
	const struct dunit *d;
	const struct obs_unit *ou;
	const struct obs_tenant *t;    /* the tenant that stays, or NULL */
	bool replace;                  /* another rental's tenant is there */
	struct op_tenant want;
	unsigned char want_hash[RC_HASH_LEN];
	bool want_hash_known;
	bool generate;
	bool force;                    /* OT5 re-sync */
};

static bool same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* A tenant as the change shows it, into r (borrowed strings: the desired
 * tenant's are the operation's, the observed one's the plan's). */
static void tenant_attrs(struct site_plan *sp, struct rattrs *r, const char *status,
			 const struct op_tenant *t, const struct obs_tenant *o, bool has_code)
{
	ra_object(sp, r, 1 + (t ? 6u : o ? 7u : 0u) + has_code);
	ra_str(sp, r, "status", status);
	if (t) {
		ra_str(sp, r, "first_name", or_empty(t->first_name));
		ra_str(sp, r, "last_name", or_empty(t->last_name));
		ra_str(sp, r, "email", or_empty(t->email));
		ra_str(sp, r, "phone", or_empty(t->phone));
		if (t->access_profile >= 0)
			ra_int(sp, r, "access_profile", t->access_profile);
		if (t->time_group >= 0)
			ra_int(sp, r, "time_group", t->time_group);
	} else if (o) {
		ra_str(sp, r, "first_name", or_empty(o->first_name));
		ra_str(sp, r, "last_name", or_empty(o->last_name));
		ra_str(sp, r, "email", or_empty(o->email));
		ra_str(sp, r, "phone", or_empty(o->phone));
		if (o->access_profile >= 0)
			ra_int(sp, r, "access_profile", o->access_profile);
		if (o->time_group >= 0)
			ra_int(sp, r, "time_group", o->time_group);
		ra_str(sp, r, "visitor_id", or_empty(o->vendor_id));
	}
	if (has_code)
		ra_str(sp, r, "access_code", PLAN_SENSITIVE);
}

/* The desired tenant (OT1, OT2, OT4). Returns false on a PMS value the
 * engine cannot use (finding added). */
static bool want_tenant(struct diff_ctx *c, struct ot_unit *u)
{
	const struct spec_site *s = c->sp->site;
	const struct opentech_conf *ot = s->conf;
	const struct dunit *d = u->d;
	const char *code_field = spec_field(s, OT_F_ACCESS_CODE);
	const char *ap_field = spec_field(s, OT_F_ACCESS_PROFILE);
	const char *tg_field = spec_field(s, OT_F_TIME_GROUP);
	const char *code = pms_cf_get(&d->rental->cf, code_field);
	long ap = parse_override(pms_cf_get(&d->pu->cf, ap_field));
	long tg = parse_override(pms_cf_get(&d->pu->cf, tg_field));

	if (ap == -2 || tg == -2) {
		sp_add_finding(c->sp, FIND_BAD_VALUE, SEV_ERROR, d->pu->name, d->vname, "OT2",
			       "%s must be a whole number: unit left as it is",
			       ap == -2 ? ap_field : tg_field);
		return false;
	}
	if (code && *code && !code_valid(code, OT_CODE_MAX)) {
		sp_add_finding(c->sp, FIND_BAD_VALUE, SEV_ERROR, d->pu->name, d->vname, "OT4",
			       "rental %s: %s must be 1 to %d digits: unit left as it is",
			       d->rental->id, code_field, OT_CODE_MAX);
		return false;
	}
	u->want.first_name = d->user->first_name;
	u->want.last_name = d->user->last_name;
	u->want.email = d->user->email;
	u->want.phone = d->user->phone;
	u->want.access_profile = ap >= 0 ? ap : ot->access_profile_id;
	u->want.time_group = tg >= 0 ? tg : ot->time_group_id;
	if (code && *code) {
		u->want.code.src = CODE_PMS_RENTAL;
		u->want.code.ref_id = d->rental->id;
		u->want.code.field = code_field;
		diff_hash(c, code, u->want_hash);
		u->want_hash_known = true;
	} else {
		u->generate = true;
		u->want.code.src = CODE_GENERATED;
		u->want.code.slot = c->sp->ngen++;
		u->want.code.ref_id = d->rental->id;
		u->want.code.field = code_field;
	}
	u->force = pms_cf_true(&d->rental->cf, spec_field(s, OT_F_RESYNC));
	return true;
}

/* The fields tenant t holds that differ from the desired tenant. */
static unsigned tenant_diff(const struct ot_unit *u, const struct obs_tenant *t)
{
	unsigned ch = 0;

	if (!same_str(t->first_name, u->want.first_name))
		ch |= TF_FIRST_NAME;
	if (!same_str(t->last_name, u->want.last_name))
		ch |= TF_LAST_NAME;
	if (!same_str(t->email, u->want.email))
		ch |= TF_EMAIL;
	if (!same_str(t->phone, u->want.phone))
		ch |= TF_PHONE;
	if (u->generate || !u->want_hash_known || !t->code_known ||
	    !rc_ct_equal(t->code_hash, u->want_hash, RC_HASH_LEN))
		ch |= TF_CODE;
	if (u->want.access_profile >= 0 && t->access_profile != u->want.access_profile)
		ch |= TF_ACCESS_PROFILE;
	if (u->want.time_group >= 0 && t->time_group != u->want.time_group)
		ch |= TF_TIME_GROUP;
	return ch;
}

static unsigned changed_fields(const struct ot_unit *u)
{
	return u->force ? TF_ALL : tenant_diff(u, u->t);
}

/* How far tenant t is from the desired one: a code that already opens the
 * gate for the customer weighs more than every detail together. */
static unsigned distance(const struct ot_unit *u, const struct obs_tenant *t)
{
	unsigned ch = tenant_diff(u, t);

	return (unsigned)__builtin_popcount(ch & ~TF_CODE) + ((ch & TF_CODE) ? 8u : 0u);
}

/* Pick the tenant that stays (OT1): ours for this rental, else the one of
 * unknown origin closest to the PMS (adopted; R7: the others are removed,
 * so keeping the closest one makes the fewest calls and never rewrites a
 * stranger into the customer). A tenant created for another rental means
 * the unit changed hands: replace (R9). */
static void pick_tenant(struct ot_unit *u)
{
	const struct obs_unit *ou = u->ou;
	const struct obs_tenant *adopt = NULL;
	unsigned i, best = ~0u, d;

	u->t = NULL;
	u->replace = false;
	for (i = 0; i < ou->ntenants; i++) {
		if (ou->tenants[i].rental_id) {
			if (rc_streq(ou->tenants[i].rental_id, u->d->rental->id))
				u->t = &ou->tenants[i];
			continue;
		}
		d = distance(u, &ou->tenants[i]);
		if (d < best) {
			best = d;
			adopt = &ou->tenants[i];
		}
	}
	if (!u->t)
		u->t = adopt;
	if (!u->t && ou->ntenants)
		u->replace = true;
	if (u->t && ou->status == VU_VACANT)
		u->replace = true; /* a tenant on a Vacant unit is stale */
}

static struct op *unit_op(struct diff_ctx *c, const struct ot_unit *u,
			  enum op_kind k, const char *rule, const char *reason)
{
	struct op *op = sp_add_op(c->sp, k);

	op->unit = u->ou->name;
	op->unit_vid = u->ou->vendor_id;
	op->rental_id = u->d->rental ? u->d->rental->id : NULL;
	op->user_id = u->d->user ? u->d->user->id : NULL;
	op->rule = rule;
	op->reason = sp_str(c->sp, reason);
	if (k == OP_UNIT_VACATE)
		c->sp->destructive++;
	return op;
}

/* PMS write-backs of one rental: before the vendor calls when a code is
 * generated (with the overlock mirror), otherwise after them. */
static void pms_writes(struct diff_ctx *c, const struct ot_unit *u, bool before)
{
	const struct spec_site *s = c->sp->site;
	const struct dunit *d = u->d;
	struct op_write w[3];
	unsigned n = 0;

	memset(w, 0, sizeof(w));
	if (before != u->generate)
		goto resync;
	if (u->generate) {
		w[n].field = spec_field(s, OT_F_ACCESS_CODE);
		w[n].type = WB_CODE;
		w[n].code = u->want.code;
		n++;
	}
	if (d->write_flag) {
		w[n].field = spec_field(s, OT_F_OVERLOCKED);
		w[n].type = WB_BOOL;
		w[n].b = d->flag;
		n++;
	}
resync:
	if (!before && u->force) {
		w[n].field = spec_field(s, OT_F_RESYNC);
		w[n].type = WB_BOOL;
		w[n].b = false;
		n++;
	}
	if (n)
		diff_pms_write(c, "unit-rentals", d->rental->id, d->pu->name, &d->rental->cf, w, n,
			       u->generate && before ? "OT4" : d->write_flag ? "R4" : "OT5");
}

static void status_ops(struct diff_ctx *c, const struct ot_unit *u,
		       enum vu_status cur)
{
	enum vu_status want = u->d->status;
	bool paid = u->d->write_flag && !u->d->flag;

	if (want == VU_RENTED && (cur != VU_RENTED || u->force))
		unit_op(c, u, OP_UNIT_ENABLE, paid ? "R4" : u->force ? "OT5" : "OT3",
			paid ? "a payment cleared the overdue: lift the overlock"
			: cur == VU_DELINQUENT ? "Delinquent in OpenTech but in good standing in the PMS: lift the overlock"
			: u->force ? "re-sync requested: set the unit Rented"
			: "set the unit Rented");
	else if (want == VU_DELINQUENT && (cur != VU_DELINQUENT || u->force))
		unit_op(c, u, OP_UNIT_DISABLE, "R4",
			u->d->overdue ? "rental is overdue: overlock"
				      : "overlock flag set by staff: overlock");
}

static void rented_unit(struct diff_ctx *c, struct ot_unit *u)
{
	const char *st = vu_status_name(u->d->status);
	struct rchange *rc;
	enum vu_status cur = u->ou->status;
	size_t i;
	unsigned changed = 0;
	const struct op *first;
	struct op *op;

	pick_tenant(u);
	if (u->t && !u->replace)
		changed = changed_fields(u);
	pms_writes(c, u, true);
	if (u->replace) {
		unit_op(c, u, OP_UNIT_VACATE, "R9",
			"the unit holds another rental's tenant: move that one out first");
		cur = VU_VACANT;
	}
	if (!u->t || u->replace) {
		op = unit_op(c, u, OP_TENANT_CREATE, "OT1",
			     sp_printf(c->sp, "rental %s occupies the unit: create its tenant",
				       u->d->rental->id));
		op->t = u->want;
		op->changed = TF_ALL;
		if (cur == VU_VACANT)
			cur = VU_RENTED;
	} else if (changed) {
		op = unit_op(c, u, OP_TENANT_UPDATE, u->force ? "OT5" : "OT1",
			     u->force ? "re-sync requested: push every field"
				      : "tenant details differ from the PMS");
		op->t = u->want;
		op->changed = changed;
		op->tenant_vid = u->t->vendor_id;
	}
	if (u->t && !u->replace && !u->t->enabled) {
		op = unit_op(c, u, OP_TENANT_ENABLE, "OT3", "the tenant visitor was locked out by hand");
		op->tenant_vid = u->t->vendor_id;
	}
	for (i = 0; !u->replace && i < u->ou->ntenants; i++) {
		if (&u->ou->tenants[i] == u->t)
			continue;
		op = unit_op(c, u, OP_TENANT_REMOVE, "OT1", "a second tenant visitor on the unit");
		op->tenant_vid = u->ou->tenants[i].vendor_id;
	}
	status_ops(c, u, cur);
	pms_writes(c, u, false);
	first = NULL;
	for (i = c->mark; !first && i < c->sp->nops; i++)
		if (c->sp->ops[i].kind != OP_PMS_WRITE)
			first = &c->sp->ops[i];
	if (!first)
		return; /* only PMS write-backs: their own resource shows them */
	rc = sp_add_change(c->sp, "opentech_unit", u->ou->name,
			   u->replace ? ACT_REPLACE : !u->t ? ACT_CREATE : ACT_UPDATE,
			   first->rule, first->reason);
	if (u->t || u->ou->ntenants)
		tenant_attrs(c->sp, &rc->before, vu_status_name(u->ou->status), NULL,
			     u->t ? u->t : &u->ou->tenants[0], true);
	else
		tenant_attrs(c->sp, &rc->before, vu_status_name(u->ou->status), NULL, NULL, false);
	tenant_attrs(c->sp, &rc->after, st, &u->want, NULL, true);
	/* the mask marks the code only where it changes: that is what shows */
	if (!u->t || u->replace || (changed & TF_CODE))
		ra_mark_sensitive(&rc->after, "access_code");
}

static void vacant_unit(struct diff_ctx *c, struct ot_unit *u)
{
	struct rchange *rc;

	if (u->ou->status == VU_VACANT && !u->ou->ntenants)
		return;
	unit_op(c, u, OP_UNIT_VACATE, "OT3", "no occupied rental: move-out");
	rc = sp_add_change(c->sp, "opentech_unit", u->ou->name, ACT_DELETE, "OT3",
			   "no occupied rental: move-out");
	tenant_attrs(c->sp, &rc->before, vu_status_name(u->ou->status), NULL,
		     u->ou->ntenants ? &u->ou->tenants[0] : NULL, u->ou->ntenants > 0);
	tenant_attrs(c->sp, &rc->after, "Vacant", NULL, NULL, false);
}

vendor_diff_fn diff_opentech; /* the descriptor's (providers/opentech.c) */

int diff_opentech(struct diff_ctx *c, const struct desired_site *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct ot_unit u;

		memset(&u, 0, sizeof(u));
		u.d = &d->units[i];
		if (u.d->error)
			continue;
		u.ou = obs_find_unit(&c->sp->obs, u.d->vname);
		if (!u.ou) {
			sp_add_finding(c->sp, FIND_NO_VENDOR_UNIT, SEV_ERROR, u.d->pu->name,
				       u.d->vname, "R2",
				       "no OpenTech unit is named \"%s\": create it in OpenTech or fix %s",
				       u.d->vname, spec_field(c->sp->site, OT_F_UNIT_ID));
			continue;
		}
		c->mark = c->sp->nops;
		if (u.d->status == VU_VACANT) {
			vacant_unit(c, &u);
			continue;
		}
		if (!want_tenant(c, &u))
			continue;
		rented_unit(c, &u);
		diff_remember(c, u.d, u.want_hash_known ? u.want_hash : NULL);
	}
	return RC_OK;
}
