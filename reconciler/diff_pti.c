/*
 * diff_pti.c: desired x observed -> operations for PTI StorLogix sites
 * (docs/rules.md PT1-PT8 on top of R1-R10).
 *
 * The observed state holds two kinds of records: a unit record per PTI unit
 * name (Rented to a StorLogix user id, or Vacant) and a user record
 * "@<PMS user id>" per customer (StorLogix id, details, code hash, access
 * level, zone, suspended). Per customer with rented units at the site, in
 * unit order:
 *   [PMS write on the user: generated code]      code of record first (PT2, PT6)
 *   user add | user edit (changed fields; all on a re-push, PT7)
 *   [unit.vacate of a unit rented to someone else] unit.rent per unit
 *   user suspend | unsuspend (PT4: while any of its units is delinquent)
 *   [PMS write on the user: pti_userId, reset of pti_regenerateCode] (PT1, PT6)
 *   [PMS write per rental: pti_synced = now (PT7), overlock mirror (R4)]
 * then vacates of units no longer rented, then removal (cards) of customers
 * with no unit left (PT5).
 */
#define _GNU_SOURCE
#include "diff.h"
#include "providers/pti.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTI_UNIT_MAX 10
#define PTI_CODE_MAX 10

struct pcust {
	const struct pms_user *user;
	const struct dunit *units[64];
	size_t n;
	bool delinquent, force;
};

struct pstate {
	struct diff_ctx *c;
	struct pcust *cust;
	size_t ncust;
	struct rc_map idx;       /* user id -> cust index */
};

/* The site's code of PTI custom field f. */
static const char *F(const struct pstate *s, enum pti_field f)
{
	return spec_field(s->c->sp->site, f);
}

/* PT7: a pti_synced newer than what the engine last wrote forces a push. */
static bool repush(struct pstate *s, const struct dunit *d)
{
	const char *v = pms_cf_get(&d->rental->cf, F(s, PTI_F_SYNCED));
	const struct pms_rec *rec = pms_recs_find(s->c->last, d->rental->id);

	if (!v || !*v)
		return false;
	return !rec || strcmp(v, rec->synced) > 0;
}

static void group(struct pstate *s, const struct desired_site *d)
{
	size_t i, k;

	rc_map_init(&s->idx);
	s->cust = rc_calloc(d->n + 1, sizeof(*s->cust));
	for (i = 0; i < d->n; i++) {
		const struct dunit *u = &d->units[i];

		if (!u->rental || u->error || !u->user)
			continue;
		if (strlen(u->vname) > PTI_UNIT_MAX) {
			sp_add_finding(s->c->sp, FIND_BAD_VALUE, SEV_ERROR, u->pu->name, u->vname, "R2",
				       "PTI unit names have at most %d characters (PTI answers -3): unit left as it is",
				       PTI_UNIT_MAX);
			continue;
		}
		if (!rc_map_get(&s->idx, u->user->id, &k)) {
			k = s->ncust++;
			rc_map_put(&s->idx, u->user->id, k);
			s->cust[k].user = u->user;
		}
		if (s->cust[k].n < 64)
			s->cust[k].units[s->cust[k].n++] = u;
		s->cust[k].delinquent |= u->status == VU_DELINQUENT;
		s->cust[k].force |= repush(s, u);
	}
}

static struct op *pop(struct pstate *s, enum op_kind k, const char *unit, const char *rule,
		      const char *reason)
{
	struct op *op = sp_add_op(s->c->sp, k);

	op->unit = sp_str(s->c->sp, unit);
	op->rule = rule;
	op->reason = sp_str(s->c->sp, reason);
	return op;
}

static unsigned changed(const struct op_tenant *w, const struct obs_tenant *t,
			const unsigned char *hash, bool hash_known)
{
	unsigned ch = 0;

	ch |= !rc_streq(t->first_name ? t->first_name : "", w->first_name ? w->first_name : "")
		? TF_FIRST_NAME : 0;
	ch |= !rc_streq(t->last_name ? t->last_name : "", w->last_name ? w->last_name : "")
		? TF_LAST_NAME : 0;
	ch |= !rc_streq(t->email ? t->email : "", w->email ? w->email : "") ? TF_EMAIL : 0;
	ch |= !rc_streq(t->phone ? t->phone : "", w->phone ? w->phone : "") ? TF_PHONE : 0;
	if (!hash_known || !t->code_known || !rc_ct_equal(t->code_hash, hash, RC_HASH_LEN))
		ch |= TF_CODE;
	if (w->access_profile >= 0 && t->access_profile != w->access_profile)
		ch |= TF_ACCESS_PROFILE;
	if (w->time_group >= 0 && t->time_group != w->time_group)
		ch |= TF_TIME_GROUP;
	return ch;
}

/* The customer's desired user; false on a PMS value the engine cannot use. */
static bool want_user(struct pstate *s, const struct pcust *pc, struct op_tenant *w,
		      unsigned char hash[RC_HASH_LEN], bool *hash_known, bool *regen, bool *flag)
{
	const struct pti_conf *o = s->c->sp->site->conf;
	const struct pms_user *u = pc->user;
	const char *code = pms_cf_get(&u->cf, F(s, PTI_F_ACCESS_CODE));
	long lvl = parse_override(pms_cf_get(&u->cf, F(s, PTI_F_ACCESS_LEVEL)));
	long zone = parse_override(pms_cf_get(&u->cf, F(s, PTI_F_ZONE)));

	memset(w, 0, sizeof(*w));
	*flag = pms_cf_true(&u->cf, F(s, PTI_F_REGENERATE));
	*regen = *flag || rc_streq(s->c->regen_user, u->id);
	if (lvl == -2 || zone == -2 || (code && *code && !*regen && !code_valid(code, PTI_CODE_MAX))) {
		sp_add_finding(s->c->sp, FIND_BAD_VALUE, SEV_ERROR, pc->units[0]->pu->name,
			       pc->units[0]->vname, lvl == -2 || zone == -2 ? "PT3" : "PT2",
			       "customer %s: %s is not usable: customer left as it is", u->id,
			       lvl == -2 ? F(s, PTI_F_ACCESS_LEVEL) : zone == -2 ? F(s, PTI_F_ZONE)
								  : F(s, PTI_F_ACCESS_CODE));
		return false;
	}
	w->first_name = u->first_name;
	w->last_name = u->last_name;
	w->email = u->email;
	w->phone = u->phone;
	w->access_profile = lvl >= 0 ? lvl : o->access_level;
	w->time_group = zone >= 0 ? zone : o->zone;
	w->max_uses = -1;
	w->code.ref_id = u->id;
	w->code.field = F(s, PTI_F_ACCESS_CODE);
	*hash_known = false;
	if (code && *code && !*regen) {
		w->code.src = CODE_PMS_USER;
		diff_hash(s->c, code, hash);
		*hash_known = true;
	} else {
		w->code.src = CODE_GENERATED;
		w->code.slot = s->c->sp->ngen++;
	}
	return true;
}

/* The customer's PMS writes: before the PTI calls its new code (PT2, PT6);
 * after them the StorLogix id (a new user's, or the known one the PMS
 * lacks: R8, issue 10.3) and the reset of a regenerate request. */
static void user_writes(struct pstate *s, const struct pcust *pc, const struct op_tenant *w,
			int result_slot, const char *known_id, bool regen, bool flag, bool before)
{
	struct op_write wr[3];
	unsigned n = 0;

	memset(wr, 0, sizeof(wr));
	if (before && w->code.src == CODE_GENERATED) {
		wr[n].field = F(s, PTI_F_ACCESS_CODE);
		wr[n].type = WB_CODE;
		wr[n++].code = w->code;
	}
	if (!before && result_slot >= 0) {
		wr[n].field = F(s, PTI_F_USER_ID);
		wr[n].type = WB_RESULT;
		wr[n].code.src = CODE_VENDOR_RESULT;
		wr[n++].code.slot = (unsigned)result_slot;
	} else if (!before && known_id) {
		wr[n].field = F(s, PTI_F_USER_ID);
		wr[n].type = WB_STRING;
		wr[n++].str = known_id;
	}
	if (!before && flag) {
		wr[n].field = F(s, PTI_F_REGENERATE);
		wr[n++].type = WB_BOOL;
	}
	if (n)
		diff_pms_write(s->c, "users", pc->user->id, pc->units[0]->pu->name, &pc->user->cf, wr, n,
			       before ? (regen ? "PT6" : "PT2")
			       : result_slot >= 0 || known_id ? "PT1" : "PT6");
}

/* The rental's write-backs after the customer's calls: pti_synced when
 * they pushed, or when it is empty and nothing needs pushing (PTI holds
 * the rental's access as the engine last applied it: a stamp held back
 * by a failure is written once the customer is in sync) (PT7); the
 * overlock mirror (R4). They carry the customer, so a failed PTI call
 * holds them back: pti_synced never records a push that did not happen. */
static void rental_writes(struct pstate *s, const struct dunit *d, const char *user_id,
			  bool pushed)
{
	struct op_write wr[2];
	unsigned n = 0;
	struct op *op;

	memset(wr, 0, sizeof(wr));
	if (pushed || !*(pms_cf_get(&d->rental->cf, F(s, PTI_F_SYNCED)) ?: "")) {
		wr[n].field = F(s, PTI_F_SYNCED);
		wr[n++].type = WB_NOW;
	}
	if (d->write_flag) {
		wr[n].field = F(s, PTI_F_OVERLOCKED);
		wr[n].type = WB_BOOL;
		wr[n++].b = d->flag;
	}
	if (!n)
		return;
	op = diff_pms_write(s->c, "unit-rentals", d->rental->id, d->pu->name, &d->rental->cf, wr, n,
			    d->write_flag ? "R4" : "PT7");
	if (pushed)
		op->user_id = user_id;
}

static void set_who(struct op *op, const char *vid, int slot, const char *user_id)
{
	op->user_id = user_id;
	op->tenant_vid = vid;
	if (!vid) {
		op->id_ref.src = CODE_VENDOR_RESULT;
		op->id_ref.slot = (unsigned)slot;
	}
}

/* The customer's resource in the plan (PT1): the rule and reason of its
 * first PTI call, and its code marked where it changes (regenerated, PT6,
 * or pushed), although a PMS write of a new code comes first. */
static void user_change(struct pstate *s, const struct pcust *pc, const struct obs_tenant *ut,
			size_t mark, bool cur_susp)
{
	struct site_plan *sp = s->c->sp;
	const struct op *first = NULL;
	struct rchange *rc;
	size_t i;

	for (i = mark; !first && i < sp->nops; i++)
		if (sp->ops[i].kind != OP_PMS_WRITE)
			first = &sp->ops[i];
	if (!first)
		return; /* only write-backs: their own resource shows them */
	rc = sp_add_change(sp, "pti_user", pc->user->id,
			   first->kind == OP_TENANT_CREATE ? ACT_CREATE : ACT_UPDATE, first->rule,
			   first->reason);
	if (ut) {
		ra_object(sp, &rc->before, 2);
		ra_bool(sp, &rc->before, "suspended", cur_susp);
		ra_str(sp, &rc->before, "access_code", PLAN_SENSITIVE);
	}
	ra_object(sp, &rc->after, 3);
	ra_int(sp, &rc->after, "units", (int)pc->n);
	ra_bool(sp, &rc->after, "suspended", pc->delinquent);
	ra_str(sp, &rc->after, "access_code", PLAN_SENSITIVE);
	if (first->kind == OP_TENANT_CREATE ||
	    (first->kind == OP_TENANT_UPDATE && (first->changed & TF_CODE)))
		ra_mark_sensitive(&rc->after, "access_code");
}

/* What the engine knows of a customer's PTI user. */
struct puser {
	char uname[96];              /* its observed record: "@<PMS user id>" */
	const struct obs_tenant *ut; /* the user as last applied, or NULL */
	const char *vid;             /* its StorLogix id: recorded, else pti_userId */
	const char *lost;            /* the id PTI said it does not know (10.4) */
	int slot;                    /* a new user's id: its result slot, else -1 */
};

static void find_user(struct pstate *s, const struct pcust *pc, const char *pti_id,
		      struct puser *pu)
{
	const struct obs_unit *U;

	memset(pu, 0, sizeof(*pu));
	pu->slot = -1;
	snprintf(pu->uname, sizeof(pu->uname), "%c%s", PTI_USER_PREFIX, pc->user->id);
	U = obs_find_unit(&s->c->sp->obs, pu->uname);
	if (U && U->status == PTI_USER_GONE)
		pu->lost = U->ntenants && U->tenants[0].vendor_id ? U->tenants[0].vendor_id : "?";
	else if (U && U->ntenants)
		pu->ut = &U->tenants[0];
	/* a lost user's pti_userId names it too: not used again */
	pu->vid = pu->ut ? pu->ut->vendor_id : pu->lost ? NULL : pti_id;
}

/* The user's add or edit (PT1, PT6, PT7). */
static void user_op(struct pstate *s, const struct pcust *pc, const struct op_tenant *w,
		    const unsigned char *hash, bool hash_known, bool regen, struct puser *pu)
{
	struct site_plan *sp = s->c->sp;
	struct op *op;
	unsigned ch;

	if (!pu->vid) {
		op = pop(s, OP_TENANT_CREATE, pu->uname, "PT1", pu->lost
			 ? sp_printf(sp, "PTI no longer has user %s of the customer (deleted in PTI, or "
				     "PTI lost its data): add it again", pu->lost)
			 : "a customer with units here and no PTI user: add it");
		op->t = *w;
		op->changed = TF_ALL;
		op->user_id = pc->user->id;
		pu->slot = op->result_slot = (int)sp->nresults++;
		return;
	}
	ch = pc->force || !pu->ut ? TF_ALL : changed(w, pu->ut, hash, hash_known);
	if (regen)
		ch |= TF_CODE;
	if (!ch)
		return;
	op = pop(s, OP_TENANT_UPDATE, pu->uname, pc->force ? "PT7" : regen ? "PT6" : "PT1",
		 pc->force ? "re-push requested (pti_synced): push every field"
		 : !pu->ut ? "PTI user known from the PMS (pti_userId): push its details"
		 : regen ? "new code requested (pti_regenerateCode)"
		 : "user details differ from the PMS");
	op->t = *w;
	op->changed = ch;
	set_who(op, pu->vid, -1, pc->user->id);
}

/* Each unit rented to the user (PT1), after a vacate when another user
 * holds it (R9); a unit recorded for the lost user needs none. */
static void unit_ops(struct pstate *s, const struct pcust *pc, const struct puser *pu)
{
	struct site_plan *sp = s->c->sp;
	struct op *op;
	size_t i;

	for (i = 0; i < pc->n; i++) {
		const struct obs_unit *ur = obs_find_unit(&sp->obs, pc->units[i]->vname);
		const char *holder = ur && ur->status == VU_RENTED && ur->ntenants
			? ur->tenants[0].vendor_id : NULL;
		bool mine = holder && pu->vid && rc_streq(holder, pu->vid);

		if (mine && !pc->force)
			continue;
		if (ur && ur->status == VU_RENTED && !mine && !(pu->lost && rc_streq(holder, pu->lost))) {
			pop(s, OP_UNIT_VACATE, pc->units[i]->vname, "R9",
			    "the unit is rented to another PTI user: vacate it first");
			sp->destructive++;
		}
		op = pop(s, OP_UNIT_RENT, pc->units[i]->vname, pc->force ? "PT7" : "PT1",
			 sp_printf(sp, "rental %s occupies the unit: rent it to the customer",
				   pc->units[i]->rental->id));
		op->rental_id = pc->units[i]->rental->id;
		set_who(op, pu->vid, pu->slot, pc->user->id);
	}
}

static void customer(struct pstate *s, const struct pcust *pc)
{
	struct site_plan *sp = s->c->sp;
	const char *pti_id = pms_cf_get(&pc->user->cf, F(s, PTI_F_USER_ID));
	unsigned char hash[RC_HASH_LEN];
	bool hash_known, regen, flag, cur_susp, pushed;
	size_t mark = sp->nops, i;
	struct op_tenant w;
	struct puser pu;
	struct op *op;

	if (!want_user(s, pc, &w, hash, &hash_known, &regen, &flag))
		return;
	find_user(s, pc, pti_id, &pu);
	user_writes(s, pc, &w, -1, NULL, regen, flag, true);
	user_op(s, pc, &w, hash, hash_known, regen, &pu);
	unit_ops(s, pc, &pu);
	/* a user adopted from pti_userId may be suspended or not: say which */
	cur_susp = pu.ut ? !pu.ut->enabled : false;
	if (pc->delinquent != cur_susp || (pc->force && pc->delinquent) || (pu.vid && !pu.ut)) {
		op = pop(s, pc->delinquent ? OP_UNIT_DISABLE : OP_UNIT_ENABLE, pu.uname, "PT4",
			 pc->delinquent ? "a unit of the customer is delinquent: suspend"
					: "no unit of the customer is delinquent: unsuspend");
		set_who(op, pu.vid, pu.slot, pc->user->id);
	}
	pushed = sp->nops > mark;
	/* R8: the id the engine knows goes back to a PMS that lacks it */
	user_writes(s, pc, &w, pu.slot, pu.ut && !rc_streq(pti_id, pu.ut->vendor_id)
		    ? pu.ut->vendor_id : NULL, regen, flag, false);
	for (i = 0; i < pc->n; i++) {
		rental_writes(s, pc->units[i], pc->user->id, pushed);
		diff_remember(s->c, pc->units[i], NULL);
	}
	if (pushed)
		user_change(s, pc, pu.ut, mark, cur_susp);
}

/* Units rented in PTI that nobody rents now; customers with no unit left.
 * A customer who still rents a unit keeps its access even when none of its
 * units could be planned (an error finding: a bad value, two rentals on
 * one unit, a name PTI refuses): data the rules could not use never
 * removes a tenant. */
static void leaving(struct pstate *s, const struct desired_site *d)
{
	struct site_plan *sp = s->c->sp;
	struct rc_map keep, renters;
	size_t i;
	struct op *op;

	rc_map_init(&keep);
	rc_map_init(&renters);
	for (i = 0; i < d->n; i++) {
		if (d->units[i].rental || d->units[i].error)
			rc_map_put(&keep, d->units[i].vname, 1);
		if (d->units[i].rental && d->units[i].rental->owner_id)
			rc_map_put(&renters, d->units[i].rental->owner_id, 1);
	}
	for (i = 0; i < sp->obs.nunits; i++) {
		const struct obs_unit *u = &sp->obs.units[i];

		if (u->name[0] == PTI_USER_PREFIX || u->status != VU_RENTED ||
		    rc_map_get(&keep, u->name, NULL) || !diff_unit_in_scope(s->c, u->name))
			continue;
		op = pop(s, OP_UNIT_VACATE, u->name, "PT5", "no occupied rental: vacate the unit");
		sp->destructive++;
		sp_add_change(sp, "pti_unit", u->name, ACT_DELETE, "PT5", op->reason);
	}
	for (i = 0; i < sp->obs.nunits; i++) {
		const struct obs_unit *u = &sp->obs.units[i];

		if (u->name[0] != PTI_USER_PREFIX || u->status == PTI_USER_GONE || !u->ntenants ||
		    !u->tenants[0].code_known ||
		    rc_map_get(&s->idx, u->name + 1, NULL) || rc_map_get(&renters, u->name + 1, NULL) ||
		    !diff_owner_in_scope(s->c, u->name + 1))
			continue;
		op = pop(s, OP_TENANT_REMOVE, u->name, "PT5",
			 "the customer has no rented unit left here: remove its access");
		op->tenant_vid = u->tenants[0].vendor_id;
		op->user_id = sp_str(sp, u->name + 1);
		sp_add_change(sp, "pti_user", u->name + 1, ACT_DELETE, "PT5", op->reason);
	}
	rc_map_free(&keep);
	rc_map_free(&renters);
}

vendor_diff_fn diff_pti; /* the descriptor's (providers/pti.c) */

int diff_pti(struct diff_ctx *c, const struct desired_site *d)
{
	struct pstate s = { c, NULL, 0, { 0 } };
	size_t i;

	group(&s, d);
	for (i = 0; i < s.ncust; i++)
		customer(&s, &s.cust[i]);
	leaving(&s, d);
	rc_map_free(&s.idx);
	free(s.cust);
	return RC_OK;
}
