/* op.c: operation names and their default effect. See op.h. */
#include "op.h"

#include <string.h>

static const char *const names[OP__COUNT] = {
	[OP_NONE] = "none",
	[OP_TENANT_CREATE] = "tenant.create",
	[OP_TENANT_UPDATE] = "tenant.update",
	[OP_TENANT_REMOVE] = "tenant.remove",
	[OP_TENANT_ENABLE] = "tenant.enable",
	[OP_UNIT_VACATE] = "unit.vacate",
	[OP_UNIT_DISABLE] = "unit.disable",
	[OP_UNIT_ENABLE] = "unit.enable",
	[OP_UNIT_RENT] = "unit.rent",
	[OP_PMS_WRITE] = "pms.write",
};

const char *op_kind_name(enum op_kind k)
{
	return (k > OP_NONE && k < OP__COUNT && names[k]) ? names[k] : "none";
}

enum op_kind op_kind_parse(const char *s)
{
	int k;

	for (k = OP_NONE + 1; s && k < OP__COUNT; k++)
		if (names[k] && strcmp(names[k], s) == 0)
			return (enum op_kind)k;
	return OP_NONE;
}

bool op_is_destructive(enum op_kind k)
{
	return k == OP_UNIT_VACATE;
}

static struct obs_unit *effect_unit(struct obs_site *o, const struct op *op)
{
	struct obs_unit *u = op->unit ? obs_find_unit_mut(o, op->unit) : NULL;

	if (!u && op->unit && (op->kind == OP_TENANT_CREATE || op->kind == OP_UNIT_RENT)) {
		obs_add_unit(o, op->unit);
		obs_site_index(o);
		u = obs_find_unit_mut(o, op->unit);
		u->status = VU_VACANT;
	}
	return u;
}

static void effect_fields(struct obs_site *o, struct obs_unit *u, struct obs_tenant *t,
			  const struct op *op, const struct op_effect *e)
{
	if (op->changed & TF_FIRST_NAME)
		t->first_name = rc_arena_strdup(&o->arena, op->t.first_name);
	if (op->changed & TF_LAST_NAME)
		t->last_name = rc_arena_strdup(&o->arena, op->t.last_name);
	if (op->changed & TF_EMAIL)
		t->email = rc_arena_strdup(&o->arena, op->t.email);
	if (op->changed & TF_PHONE)
		t->phone = rc_arena_strdup(&o->arena, op->t.phone);
	if ((op->changed & TF_ACCESS_PROFILE) && op->t.access_profile >= 0)
		t->access_profile = op->t.access_profile;
	if ((op->changed & TF_TIME_GROUP) && op->t.time_group >= 0)
		t->time_group = op->t.time_group;
	if (op->changed & TF_ENABLED) {
		t->enabled = op->t.enabled;
		u->status = t->enabled ? VU_RENTED : VU_DELINQUENT;
	}
	if ((op->changed & TF_CODE) && e->code_hash) {
		memcpy(t->code_hash, e->code_hash, RC_HASH_LEN);
		t->code_known = true;
	}
}

void op_effect_default(struct obs_site *o, const struct op *op, const struct op_effect *e)
{
	struct obs_unit *u = op->kind == OP_PMS_WRITE ? NULL : effect_unit(o, op);
	struct obs_tenant *t = NULL;
	size_t i;

	if (!u)
		return;
	for (i = 0; e->tenant_vid && i < u->ntenants; i++)
		if (rc_streq(u->tenants[i].vendor_id, e->tenant_vid))
			t = &u->tenants[i];
	switch (op->kind) {
	case OP_TENANT_CREATE:
		t = obs_add_tenant(o, u);
		t->vendor_id = rc_arena_strdup(&o->arena, e->vendor_id);
		t->rental_id = rc_arena_strdup(&o->arena, op->rental_id);
		if (u->status == VU_VACANT || u->status == VU_UNKNOWN)
			u->status = VU_RENTED;
		effect_fields(o, u, t, op, e); /* the create carries every field */
		break;
	case OP_TENANT_UPDATE:
		if (t)
			effect_fields(o, u, t, op, e);
		break;
	case OP_TENANT_REMOVE:
		if (t) {
			*t = u->tenants[u->ntenants - 1];
			u->ntenants--;
		}
		break;
	case OP_UNIT_RENT:
		u->status = VU_RENTED;
		if (!u->ntenants)
			obs_add_tenant(o, u);
		u->tenants[0].vendor_id = rc_arena_strdup(&o->arena, e->tenant_vid);
		u->tenants[0].rental_id = rc_arena_strdup(&o->arena, op->rental_id);
		break;
	case OP_TENANT_ENABLE:
		if (t)
			t->enabled = true;
		break;
	case OP_UNIT_VACATE:
		u->ntenants = 0;
		u->status = VU_VACANT;
		break;
	case OP_UNIT_DISABLE:
	case OP_UNIT_ENABLE:
		u->status = op->kind == OP_UNIT_ENABLE ? VU_RENTED : VU_DELINQUENT;
		break;
	default:
		break;
	}
}
