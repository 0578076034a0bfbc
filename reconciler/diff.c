/* diff.c: helpers shared by the vendor diffs. See diff.h. */
#define _GNU_SOURCE
#include "diff.h"

#include <string.h>

void diff_hash(struct diff_ctx *c, const char *code, unsigned char out[RC_HASH_LEN])
{
	c->hash.fn(c->hash.payload, c->sp->site->name, code, out);
}

/* The field's value as read (new): a code is never shown. */
static json_t *cur_value(const struct pms_cfs *cur, const struct op_write *w)
{
	const char *v = cur ? pms_cf_get(cur, w->field) : NULL;

	if (!v)
		return json_null();
	if (w->type == WB_CODE)
		return json_string(PLAN_SENSITIVE);
	if (w->type == WB_BOOL)
		return json_boolean(pms_cf_true(cur, w->field));
	return json_string(v);
}

struct op *diff_pms_write(struct diff_ctx *c, const char *collection,
			  const char *id, const char *unit_name, const struct pms_cfs *cur,
			  const struct op_write *w, unsigned n, const char *rule)
{
	struct op *op = sp_add_op(c->sp, OP_PMS_WRITE);
	struct rchange *rc;
	json_t *after = json_object(), *sens = json_object(), *before = json_object();
	const char *type;
	unsigned i;
	size_t k;

	op->collection = collection;
	op->object_id = sp_str(c->sp, id);
	op->unit = sp_str(c->sp, unit_name);
	op->rule = rule;
	n = n < OP_MAX_WRITES ? n : OP_MAX_WRITES;
	op->w = rc_arena_alloc(&c->sp->arena, n * sizeof(*op->w));
	for (i = 0; i < n; i++) {
		op->w[i] = w[i];
		op->w[i].field = sp_str(c->sp, w[i].field);
		op->w[i].str = sp_str(c->sp, w[i].str);
		json_object_set_new(before, w[i].field, cur_value(cur, &w[i]));
		switch (w[i].type) {
		case WB_CODE:
			json_object_set_new(after, w[i].field, json_string(PLAN_SENSITIVE));
			json_object_set_new(sens, w[i].field, json_true());
			break;
		case WB_BOOL:
			json_object_set_new(after, w[i].field, json_boolean(w[i].b));
			break;
		case WB_RESULT:
		case WB_NOW:
			json_object_set_new(after, w[i].field, json_string("(known after apply)"));
			break;
		case WB_STRING:
			json_object_set_new(after, w[i].field, json_string(w[i].str));
			break;
		default:
			json_object_set_new(after, w[i].field, json_null());
		}
	}
	op->nw = i;
	op->reason = sp_printf(c->sp, "write back %u custom field%s to %s %s",
			       op->nw, op->nw == 1 ? "" : "s",
			       strcmp(collection, "users") ? "rental" : "customer", id);
	type = strcmp(collection, "users") == 0 ? "storeganise_user" : "storeganise_rental";
	/* writes before and after the vendor calls show as one resource */
	for (k = 0; k < c->sp->nchanges; k++) {
		rc = &c->sp->changes[k];
		if (!strcmp(rc->type, type) && !strcmp(rc->name, id)) {
			json_object_update(rc->after, after);
			json_object_update(rc->after_sensitive, sens);
			if (rc->before)
				json_object_update_missing(rc->before, before);
			json_decref(after);
			json_decref(sens);
			json_decref(before);
			return op;
		}
	}
	rc = sp_add_change(c->sp, type, id, ACT_UPDATE, rule, op->reason);
	rc->writeback = true;
	rc->before = before;
	rc->after = after;
	rc->after_sensitive = sens;
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
