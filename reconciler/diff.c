/* diff.c: helpers shared by the vendor diffs. See diff.h. */
#define _GNU_SOURCE
#include "diff.h"

#include <string.h>

void diff_hash(struct diff_ctx *c, const char *code, unsigned char out[RC_HASH_LEN])
{
	c->hash.fn(c->hash.payload, c->sp->site->name, code, out);
}

/* The field's value as read, set in before: a code is never shown. */
static void cur_value(struct site_plan *sp, struct rattrs *before, const struct pms_cfs *cur,
		      const struct op_write *w)
{
	const char *v = cur ? pms_cf_get(cur, w->field) : NULL;

	if (!v)
		ra_null(sp, before, w->field);
	else if (w->type == WB_CODE)
		ra_str(sp, before, w->field, PLAN_SENSITIVE);
	else if (w->type == WB_BOOL)
		ra_bool(sp, before, w->field, pms_cf_true(cur, w->field));
	else
		ra_str(sp, before, w->field, sp_str(sp, v));
}

/* The write's value as the plan shows it, set in after. */
static void new_value(struct site_plan *sp, struct rattrs *after, const struct op_write *w)
{
	switch (w->type) {
	case WB_CODE:
		ra_str(sp, after, w->field, PLAN_SENSITIVE);
		ra_mark_sensitive(after, w->field);
		break;
	case WB_BOOL:
		ra_bool(sp, after, w->field, w->b);
		break;
	case WB_RESULT:
	case WB_NOW:
		ra_str(sp, after, w->field, "(known after apply)");
		break;
	case WB_STRING:
		if (w->str)
			ra_str(sp, after, w->field, w->str);
		break; /* json_string(NULL) set nothing */
	default:
		ra_null(sp, after, w->field);
	}
}

struct op *diff_pms_write(struct diff_ctx *c, const char *collection,
			  const char *id, const char *unit_name, const struct pms_cfs *cur,
			  const struct op_write *w, unsigned n, const char *rule)
{
	struct site_plan *sp = c->sp;
	struct op *op = sp_add_op(sp, OP_PMS_WRITE);
	struct rattrs after = { 0 }, before = { 0 };
	struct rchange *rc;
	const char *type;
	unsigned i;
	size_t k;

	op->collection = collection;
	op->object_id = sp_str(sp, id);
	op->unit = sp_str(sp, unit_name);
	op->rule = rule;
	n = n < OP_MAX_WRITES ? n : OP_MAX_WRITES;
	op->w = rc_arena_alloc(&sp->arena, n * sizeof(*op->w));
	ra_object(sp, &before, n);
	ra_object(sp, &after, n);
	for (i = 0; i < n; i++) {
		op->w[i] = w[i];
		op->w[i].field = sp_str(sp, w[i].field);
		op->w[i].str = sp_str(sp, w[i].str);
		cur_value(sp, &before, cur, &op->w[i]);
		new_value(sp, &after, &op->w[i]);
	}
	op->nw = i;
	op->reason = sp_printf(sp, "write back %u custom field%s to %s %s",
			       op->nw, op->nw == 1 ? "" : "s",
			       strcmp(collection, "users") ? "rental" : "customer", id);
	type = strcmp(collection, "users") == 0 ? "storeganise_user" : "storeganise_rental";
	/* writes before and after the vendor calls show as one resource */
	for (k = 0; k < sp->nchanges; k++) {
		rc = &sp->changes[k];
		if (!strcmp(rc->type, type) && !strcmp(rc->name, id)) {
			ra_update(sp, &rc->after, &after, false);
			if (rc->before.set)
				ra_update(sp, &rc->before, &before, true);
			return op;
		}
	}
	rc = sp_add_change(sp, type, id, ACT_UPDATE, rule, op->reason);
	rc->writeback = true;
	rc->before = before;
	rc->after = after;
	return op;
}

void diff_remember(struct diff_ctx *c, const struct dunit *d,
		   const unsigned char *code_hash)
{
	const struct pms_rec *prev;
	struct pms_rec r;

	if (!d->rental)
		return;
	memset(&r, 0, sizeof(r));
	snprintf(r.rental_id, sizeof(r.rental_id), "%s", d->rental->id);
	prev = pms_recs_find(c->last, d->rental->id);
	if (prev)
		memcpy(r.synced, prev->synced, sizeof(r.synced));
	r.overdue = d->overdue;
	r.overlocked = d->flag;
	if (code_hash) {
		memcpy(r.code_hash, code_hash, RC_HASH_LEN);
		r.has_code = true;
	}
	sp_add_rec(c->sp, &r);
}

bool diff_unit_in_scope(const struct diff_ctx *c, const char *vendor_unit)
{
	return !c->scope || rc_map_get(&c->scope->units, vendor_unit, NULL);
}

bool diff_rental_in_scope(const struct diff_ctx *c, const char *rental_id)
{
	return !c->scope || rc_map_get(&c->scope->rentals, rental_id, NULL);
}

bool diff_owner_in_scope(const struct diff_ctx *c, const char *user_id)
{
	return !c->scope || rc_map_get(&c->scope->owners, user_id, NULL);
}
