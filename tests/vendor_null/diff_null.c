/*
 * diff_null.c: the rules of the test-only "null" vendor (null.c) on top
 * of R1-R10: a rented unit holds one tenant for its rental with the
 * rental's code (generated and written back first when the PMS has none,
 * R6, R8), named after the customer; a delinquent one is Delinquent; a
 * vacant one is vacated. Small on purpose: it shows what a vendor's diff
 * is given and must produce, through the same dispatch as the others.
 */
#define _GNU_SOURCE
#include <string.h>

#include "reconciler/diff.h"

enum { NULL_F_UNIT = 0, NULL_F_CODE };

static struct op *unit_op(struct diff_ctx *c, const struct dunit *d, const struct obs_unit *ou,
			  enum op_kind k, const char *rule, const char *reason)
{
	struct op *op = sp_add_op(c->sp, k);

	op->unit = ou->name;
	op->unit_vid = ou->vendor_id;
	op->rental_id = d->rental ? d->rental->id : NULL;
	op->user_id = d->user ? d->user->id : NULL;
	op->rule = rule;
	op->reason = reason;
	if (k == OP_UNIT_VACATE)
		c->sp->destructive++;
	return op;
}

/* The tenant the unit should hold: the code from the PMS, or generated. */
static void want(struct diff_ctx *c, const struct dunit *d, struct op_tenant *t,
		 unsigned char hash[RC_HASH_LEN], bool *generate)
{
	const char *field = spec_field(c->sp->site, NULL_F_CODE);
	const char *code = pms_cf_get(&d->rental->cf, field);

	memset(t, 0, sizeof(*t));
	t->first_name = d->user->first_name;
	t->access_profile = t->time_group = t->max_uses = -1;
	t->code.ref_id = d->rental->id;
	t->code.field = field;
	*generate = !code || !*code;
	if (*generate) {
		t->code.src = CODE_GENERATED;
		t->code.slot = c->sp->ngen++;
	} else {
		t->code.src = CODE_PMS_RENTAL;
		diff_hash(c, code, hash);
	}
}

static void rented(struct diff_ctx *c, const struct dunit *d, const struct obs_unit *ou)
{
	const struct obs_tenant *t = ou->ntenants ? &ou->tenants[0] : NULL;
	unsigned char hash[RC_HASH_LEN];
	struct op_write w = { 0 };
	struct op_tenant tw;
	bool generate, ours;
	struct op *op;
	unsigned ch = 0;

	want(c, d, &tw, hash, &generate);
	ours = t && rc_streq(t->rental_id, d->rental->id);
	if (generate) {
		w.field = tw.code.field;
		w.type = WB_CODE;
		w.code = tw.code;
		diff_pms_write(c, "unit-rentals", d->rental->id, d->pu->name, &d->rental->cf, &w, 1,
			       "R8");
	}
	if (t && !ours)
		unit_op(c, d, ou, OP_UNIT_VACATE, "R9", "the unit holds another rental's tenant");
	if (!ours) {
		op = unit_op(c, d, ou, OP_TENANT_CREATE, "R5", "an occupied rental: its tenant");
		op->t = tw;
		op->changed = TF_FIRST_NAME | TF_CODE;
	} else {
		ch |= rc_streq(t->first_name, tw.first_name) ? 0 : TF_FIRST_NAME;
		ch |= !generate && t->code_known && rc_ct_equal(t->code_hash, hash, RC_HASH_LEN) ? 0 : TF_CODE;
		if (ch) {
			op = unit_op(c, d, ou, OP_TENANT_UPDATE, "R7", "the tenant differs from the PMS");
			op->t = tw;
			op->changed = ch;
			op->tenant_vid = t->vendor_id;
		}
	}
	if (d->status == VU_DELINQUENT && ou->status != VU_DELINQUENT)
		unit_op(c, d, ou, OP_UNIT_DISABLE, "R4", "the rental is overdue");
	else if (d->status == VU_RENTED && ou->status == VU_DELINQUENT)
		unit_op(c, d, ou, OP_UNIT_ENABLE, "R4", "the overdue is settled");
	diff_remember(c, d, generate ? NULL : hash);
}

/* The unit's resource change: its status before and after, the code
 * masked (R6). */
static void change(struct diff_ctx *c, const struct dunit *d, const struct obs_unit *ou,
		   const struct op *last)
{
	enum rc_action a = d->status == VU_VACANT ? ACT_DELETE : ou->ntenants ? ACT_UPDATE : ACT_CREATE;
	struct rchange *rc = sp_add_change(c->sp, "null_unit", ou->name, a, last->rule, last->reason);

	ra_str(c->sp, &rc->before, "status", vu_status_name(ou->status));
	ra_str(c->sp, &rc->after, "status", vu_status_name(d->status));
	if (d->status != VU_VACANT) {
		ra_str(c->sp, &rc->after, "access_code", PLAN_SENSITIVE);
		ra_mark_sensitive(&rc->after, "access_code");
	}
}

vendor_diff_fn diff_null; /* the descriptor's (null.c) */

int diff_null(struct diff_ctx *c, const struct desired_site *d)
{
	size_t i, mark;

	for (i = 0; i < d->n; i++) {
		const struct dunit *u = &d->units[i];
		const struct obs_unit *ou = obs_find_unit(&c->sp->obs, u->vname);

		if (u->error)
			continue;
		if (!ou) {
			sp_add_finding(c->sp, FIND_NO_VENDOR_UNIT, SEV_ERROR, u->pu->name, u->vname, "R2",
				       "no null unit is named \"%s\"", u->vname);
			continue;
		}
		mark = c->sp->nops;
		if (u->status == VU_VACANT && (ou->ntenants || ou->status != VU_VACANT))
			unit_op(c, u, ou, OP_UNIT_VACATE, "R5", "no occupied rental: move-out");
		else if (u->status != VU_VACANT)
			rented(c, u, ou);
		if (c->sp->nops > mark)
			change(c, u, ou, &c->sp->ops[c->sp->nops - 1]);
	}
	return RC_OK;
}
