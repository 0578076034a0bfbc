/*
 * plan_file.c: reading a saved plan (the JSON of plan_to_json) back into
 * operations, checking its format version and that it matches the spec.
 */
#define _GNU_SOURCE
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(struct rc_err *err, const char *where, const char *what)
{
	return rc_errf(err, RC_EINVAL, "saved plan: %s: %s", where, what);
}

static const char *str(struct site_plan *sp, json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? sp_str(sp, json_string_value(v)) : NULL;
}

static int code_ref(struct site_plan *sp, json_t *v, struct code_ref *r,
		    const char *where, struct rc_err *err)
{
	const char *src = json_string_value(json_object_get(v, "source"));

	memset(r, 0, sizeof(*r));
	if (json_is_null(v) || !v)
		return RC_OK;
	r->ref_id = str(sp, v, "ref");
	r->field = str(sp, v, "field");
	if (src && !strcmp(src, "pms_rental"))
		r->src = CODE_PMS_RENTAL;
	else if (src && !strcmp(src, "pms_user"))
		r->src = CODE_PMS_USER;
	else if (src && !strcmp(src, "generated"))
		r->src = CODE_GENERATED;
	else if (src && !strcmp(src, "vendor_result"))
		r->src = CODE_VENDOR_RESULT;
	else
		return bad(err, where, "unknown access_code source");
	r->slot = (unsigned)json_integer_value(json_object_get(v, "slot"));
	if (r->src == CODE_GENERATED && r->slot >= sp->ngen)
		return bad(err, where, "generated code slot out of range");
	if (r->src == CODE_VENDOR_RESULT && r->slot >= sp->nresults)
		return bad(err, where, "vendor result slot out of range");
	if (r->src != CODE_GENERATED && r->src != CODE_VENDOR_RESULT && (!r->ref_id || !r->field))
		return bad(err, where, "access_code reference is incomplete");
	return RC_OK;
}

static int read_writes(struct site_plan *sp, struct op *op, json_t *arr,
		       const char *where, struct rc_err *err)
{
	size_t i;
	json_t *w;
	int rc;

	if (!json_is_array(arr) || json_array_size(arr) > OP_MAX_WRITES)
		return bad(err, where, "fields must be an array of at most 6");
	op->w = rc_arena_alloc(&sp->arena, json_array_size(arr) * sizeof(*op->w) + 1);
	json_array_foreach(arr, i, w) {
		struct op_write *x = &op->w[i];
		const char *type = json_string_value(json_object_get(w, "type"));
		json_t *v = json_object_get(w, "value");

		x->field = str(sp, w, "field");
		if (!x->field || !type)
			return bad(err, where, "a field needs \"field\" and \"type\"");
		if (!strcmp(type, "code")) {
			x->type = WB_CODE;
			rc = code_ref(sp, v, &x->code, where, err);
			if (rc)
				return rc;
		} else if (!strcmp(type, "result")) {
			x->type = WB_RESULT;
			rc = code_ref(sp, v, &x->code, where, err);
			if (rc)
				return rc;
		} else if (!strcmp(type, "now")) {
			x->type = WB_NOW;
		} else if (!strcmp(type, "bool") && json_is_boolean(v)) {
			x->type = WB_BOOL;
			x->b = json_is_true(v);
		} else if (!strcmp(type, "string") && json_is_string(v)) {
			x->type = WB_STRING;
			x->str = sp_str(sp, json_string_value(v));
		} else if (!strcmp(type, "null")) {
			x->type = WB_NULL;
		} else {
			return bad(err, where, "bad field type or value");
		}
	}
	op->nw = (unsigned)i;
	return RC_OK;
}

static int read_op(struct site_plan *sp, json_t *o, size_t idx, struct rc_err *err)
{
	static const char *const tf[] = { "first_name", "last_name", "email", "phone",
					  "access_code", "access_profile", "time_group", "portals",
					  "window", "enabled" };
	char where[64];
	struct op *op;
	json_t *t, *ch, *v;
	size_t i;
	int rc = RC_OK;

	snprintf(where, sizeof(where), "$.reconcile_operations[%zu]", idx);
	op = sp_add_op(sp, op_kind_parse(json_string_value(json_object_get(o, "op"))));
	if (op->kind == OP_NONE)
		return bad(err, where, "unknown operation");
	op->unit = str(sp, o, "unit");
	op->unit_vid = str(sp, o, "unit_id");
	op->tenant_vid = str(sp, o, "tenant_id");
	op->rental_id = str(sp, o, "rental_id");
	op->user_id = str(sp, o, "user_id");
	op->rule = str(sp, o, "rule");
	op->reason = str(sp, o, "reason");
	t = json_object_get(o, "tenant");
	if (json_is_object(t)) {
		op->t.first_name = str(sp, t, "first_name");
		op->t.last_name = str(sp, t, "last_name");
		op->t.email = str(sp, t, "email");
		op->t.phone = str(sp, t, "phone");
		op->t.access_profile = (long)json_integer_value(json_object_get(t, "access_profile"));
		op->t.time_group = (long)json_integer_value(json_object_get(t, "time_group"));
		rc = code_ref(sp, json_object_get(t, "access_code"), &op->t.code, where, err);
		op->t.portals = str(sp, t, "portals");
		op->t.valid_from = str(sp, t, "valid_from");
		op->t.valid_to = str(sp, t, "valid_to");
		if (json_is_integer(json_object_get(t, "max_uses")))
			op->t.max_uses = (long)json_integer_value(json_object_get(t, "max_uses"));
		op->t.enabled = json_is_true(json_object_get(t, "enabled"));
	}
	if (!rc && json_object_get(o, "tenant_ref"))
		rc = code_ref(sp, json_object_get(o, "tenant_ref"), &op->id_ref, where, err);
	if (json_is_integer(json_object_get(o, "result_slot")))
		op->result_slot = (int)json_integer_value(json_object_get(o, "result_slot"));
	ch = json_object_get(o, "changed");
	json_array_foreach(ch, i, v)
		for (unsigned k = 0; k < 10; k++)
			if (json_is_string(v) && !strcmp(json_string_value(v), tf[k]))
				op->changed |= 1u << k;
	if (!rc && op->kind == OP_PMS_WRITE) {
		op->collection = str(sp, o, "collection");
		op->object_id = str(sp, o, "object_id");
		if (!op->collection || !op->object_id)
			return bad(err, where, "pms.write needs collection and object_id");
		rc = read_writes(sp, op, json_object_get(o, "fields"), where, err);
	}
	return rc;
}

static struct site_plan *find_site(struct plan *p, const char *name)
{
	size_t i;

	for (i = 0; name && i < p->nsites; i++)
		if (!strcmp(p->sites[i].site->name, name))
			return &p->sites[i];
	return NULL;
}

int plan_from_json(json_t *j, const struct spec *spec, struct plan *out,
		   struct rc_err *err)
{
	const char *fv = json_string_value(json_object_get(j, "reconcile_format_version"));
	json_t *sites = json_object_get(j, "reconcile_sites");
	json_t *ops = json_object_get(j, "reconcile_operations");
	json_t *s;
	size_t i;
	int rc;

	if (!fv && json_is_array(json_object_get(j, "operations")))
		return rc_errf(err, RC_ESTALE,
			       "saved plan: written by an older reconcile (plan format 1); run reconcile plan again");
	if (!fv && json_is_string(json_object_get(j, "terraform_version")))
		return bad(err, "$", "a Terraform plan, not a reconcile plan (no reconcile_format_version)");
	if (!fv || strncmp(fv, "2.", 2) != 0)
		return bad(err, "$.reconcile_format_version", "unsupported (this reconcile reads 2.x)");
	if (!json_is_array(sites) || !json_is_array(ops))
		return bad(err, "$", "not a reconcile plan (no reconcile_sites/reconcile_operations)");
	snprintf(out->id, sizeof(out->id), "%s",
		 json_string_value(json_object_get(j, "reconcile_plan_id")) ?: "");
	snprintf(out->created, sizeof(out->created), "%s",
		 json_string_value(json_object_get(j, "timestamp")) ?: "");
	out->from_file = true;
	out->sites = rc_calloc(json_array_size(sites) + 1, sizeof(*out->sites));
	json_array_foreach(sites, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		const struct spec_site *ss = name ? spec_find_site(spec, name) : NULL;
		struct site_plan *sp = &out->sites[out->nsites];

		if (!ss)
			return rc_errf(err, RC_ESTALE,
				       "saved plan: site %s is not in the spec any more; run reconcile plan again",
				       name ? name : "?");
		site_plan_init(sp, ss);
		out->nsites++;
		sp->generation = (uint64_t)json_integer_value(json_object_get(s, "generation"));
		sp->ngen = (unsigned)json_integer_value(json_object_get(s, "generated_codes"));
		sp->nresults = (unsigned)json_integer_value(json_object_get(s, "vendor_results"));
		snprintf(sp->pms_fp, sizeof(sp->pms_fp), "%s",
			 json_string_value(json_object_get(s, "pms_fingerprint")) ?: "");
		snprintf(sp->obs_fp, sizeof(sp->obs_fp), "%s",
			 json_string_value(json_object_get(s, "observed_fingerprint")) ?: "");
		if (json_is_string(json_object_get(s, "error")))
			return rc_errf(err, RC_EINVAL,
				       "saved plan: site %s could not be planned; it cannot be applied", name);
	}
	json_array_foreach(ops, i, s) {
		struct site_plan *sp = find_site(out, json_string_value(json_object_get(s, "site")));

		if (!sp)
			return bad(err, "$.reconcile_operations", "an operation names a site the plan does not hold");
		rc = read_op(sp, s, i, err);
		if (rc)
			return rc;
	}
	return RC_OK;
}
