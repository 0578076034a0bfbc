/*
 * plan_ops.c: an operation in the plan's JSON, as a small jansson tree
 * (plan_to_json, and flags the direct writer does not take) or written
 * straight into the writer's buffer: the same bytes, one tree fewer per
 * operation (tests/unit/test_plan_stream.c compares the two).
 */
#define _GNU_SOURCE
#include "plan_int.h"

#include <string.h>

static json_t *code_ref_json(const struct code_ref *r)
{
	switch (r->src) {
	case CODE_PMS_RENTAL:
		return json_pack("{s:s, s:s, s:s}", "source", "pms_rental", "ref", r->ref_id,
				 "field", r->field);
	case CODE_PMS_USER:
		return json_pack("{s:s, s:s, s:s}", "source", "pms_user", "ref", r->ref_id,
				 "field", r->field);
	case CODE_GENERATED:
		return json_pack("{s:s, s:i, s:s?, s:s?}", "source", "generated", "slot",
				 (int)r->slot, "ref", r->ref_id, "field", r->field);
	case CODE_VENDOR_RESULT:
		return json_pack("{s:s, s:i}", "source", "vendor_result", "slot", (int)r->slot);
	default:
		return json_null();
	}
}

static const char *const tf_names[] = { "first_name", "last_name", "email", "phone",
					"access_code", "access_profile", "time_group", "portals",
					"window", "enabled" };
#define NTF (sizeof(tf_names) / sizeof(tf_names[0]))

json_t *plan_op_json(const struct site_plan *sp, const struct op *op)
{
	json_t *j = json_object(), *ch, *t, *ws;
	unsigned i;

	json_object_set_new(j, "site", json_string(sp->site->name));
	json_object_set_new(j, "seq", json_integer(op->seq));
	json_object_set_new(j, "op", json_string(op_kind_name(op->kind)));
	json_object_set_new(j, "rule", json_string(op->rule ? op->rule : ""));
	json_object_set_new(j, "reason", json_string(op->reason ? op->reason : ""));
#define OPT(k, v) if (v) json_object_set_new(j, k, json_string(v))
	OPT("unit", op->unit);
	OPT("unit_id", op->unit_vid);
	OPT("tenant_id", op->tenant_vid);
	OPT("rental_id", op->rental_id);
	OPT("user_id", op->user_id);
#undef OPT
	if (op->result_slot >= 0)
		json_object_set_new(j, "result_slot", json_integer(op->result_slot));
	if (op->id_ref.src != CODE_NONE)
		json_object_set_new(j, "tenant_ref", code_ref_json(&op->id_ref));
	if (op->kind == OP_TENANT_CREATE || op->kind == OP_TENANT_UPDATE) {
		t = json_pack("{s:s?, s:s?, s:s?, s:s?, s:I, s:I}", "first_name", op->t.first_name,
			      "last_name", op->t.last_name, "email", op->t.email, "phone",
			      op->t.phone, "access_profile", (json_int_t)op->t.access_profile,
			      "time_group", (json_int_t)op->t.time_group);
		json_object_set_new(t, "access_code", code_ref_json(&op->t.code));
		if (op->t.portals) {
			json_object_set_new(t, "portals", json_string(op->t.portals));
			json_object_set_new(t, "valid_from", json_string(op->t.valid_from ? op->t.valid_from : ""));
			json_object_set_new(t, "valid_to", json_string(op->t.valid_to ? op->t.valid_to : ""));
			json_object_set_new(t, "max_uses", json_integer(op->t.max_uses));
			json_object_set_new(t, "enabled", json_boolean(op->t.enabled));
		}
		json_object_set_new(j, "tenant", t);
		ch = json_array();
		for (i = 0; i < NTF; i++)
			if (op->changed & (1u << i))
				json_array_append_new(ch, json_string(tf_names[i]));
		json_object_set_new(j, "changed", ch);
	}
	if (op->kind == OP_PMS_WRITE) {
		json_object_set_new(j, "collection", json_string(op->collection));
		json_object_set_new(j, "object_id", json_string(op->object_id));
		ws = json_array();
		for (i = 0; i < op->nw; i++) {
			const struct op_write *w = &op->w[i];
			json_t *x = json_pack("{s:s}", "field", w->field);

			if (w->type == WB_CODE) {
				json_object_set_new(x, "type", json_string("code"));
				json_object_set_new(x, "value", code_ref_json(&w->code));
			} else if (w->type == WB_BOOL) {
				json_object_set_new(x, "type", json_string("bool"));
				json_object_set_new(x, "value", json_boolean(w->b));
			} else if (w->type == WB_RESULT) {
				json_object_set_new(x, "type", json_string("result"));
				json_object_set_new(x, "value", code_ref_json(&w->code));
			} else if (w->type == WB_NOW) {
				json_object_set_new(x, "type", json_string("now"));
			} else if (w->type == WB_STRING) {
				json_object_set_new(x, "type", json_string("string"));
				json_object_set_new(x, "value", json_string(w->str));
			} else {
				json_object_set_new(x, "type", json_string("null"));
			}
			json_array_append_new(ws, x);
		}
		json_object_set_new(j, "fields", ws);
	}
	return j;
}


/* ------------------------------------------------------ direct writing */

/* What code_ref_json would make: false where it makes nothing (a PMS
 * reference without its id or field: json_pack fails, the member is not
 * set). */
static bool code_ref_ok(const struct code_ref *r)
{
	return !((r->src == CODE_PMS_RENTAL || r->src == CODE_PMS_USER) && (!r->ref_id || !r->field));
}

/* A json_pack "s?" member: the string, or null. */
static void kstr_or_null(struct jw *w, const char *k, const char *s)
{
	jw_key(w, k);
	if (s)
		jw_str(w, s);
	else
		jw_raw(w, "null");
}

static void code_ref_write(struct jw *w, const char *key, const struct code_ref *r)
{
	if (!code_ref_ok(r))
		return;
	jw_key(w, key);
	switch (r->src) {
	case CODE_PMS_RENTAL:
	case CODE_PMS_USER:
		jw_open(w, '{');
		jw_kstr(w, "source", r->src == CODE_PMS_RENTAL ? "pms_rental" : "pms_user");
		jw_kstr(w, "ref", r->ref_id);
		jw_kstr(w, "field", r->field);
		jw_close(w, '}');
		break;
	case CODE_GENERATED:
		jw_open(w, '{');
		jw_kstr(w, "source", "generated");
		jw_kint(w, "slot", (int)r->slot);
		kstr_or_null(w, "ref", r->ref_id);
		kstr_or_null(w, "field", r->field);
		jw_close(w, '}');
		break;
	case CODE_VENDOR_RESULT:
		jw_open(w, '{');
		jw_kstr(w, "source", "vendor_result");
		jw_kint(w, "slot", (int)r->slot);
		jw_close(w, '}');
		break;
	default:
		jw_raw(w, "null");
	}
}

static void tenant_write(struct jw *w, const struct op *op)
{
	unsigned i;

	jw_key(w, "tenant");
	jw_open(w, '{');
	kstr_or_null(w, "first_name", op->t.first_name);
	kstr_or_null(w, "last_name", op->t.last_name);
	kstr_or_null(w, "email", op->t.email);
	kstr_or_null(w, "phone", op->t.phone);
	jw_kint(w, "access_profile", op->t.access_profile);
	jw_kint(w, "time_group", op->t.time_group);
	code_ref_write(w, "access_code", &op->t.code);
	if (op->t.portals) {
		jw_kstr(w, "portals", op->t.portals);
		jw_kstr(w, "valid_from", op->t.valid_from ? op->t.valid_from : "");
		jw_kstr(w, "valid_to", op->t.valid_to ? op->t.valid_to : "");
		jw_kint(w, "max_uses", op->t.max_uses);
		jw_key(w, "enabled");
		jw_bool(w, op->t.enabled);
	}
	jw_close(w, '}');
	jw_key(w, "changed");
	jw_open(w, '[');
	for (i = 0; i < NTF; i++)
		if (op->changed & (1u << i)) {
			jw_elem(w);
			jw_str(w, tf_names[i]);
		}
	jw_close(w, ']');
}

static void write_field(struct jw *w, const struct op_write *x)
{
	static const char *const types[] = {
		[WB_CODE] = "code", [WB_BOOL] = "bool", [WB_RESULT] = "result",
		[WB_NOW] = "now", [WB_STRING] = "string",
	};
	const char *type = (size_t)x->type < sizeof(types) / sizeof(types[0]) && types[x->type]
			   ? types[x->type] : "null";

	if (!x->field)
		return; /* json_pack failed: no element */
	jw_elem(w);
	jw_open(w, '{');
	jw_kstr(w, "field", x->field);
	jw_kstr(w, "type", type);
	if (x->type == WB_CODE || x->type == WB_RESULT) {
		code_ref_write(w, "value", &x->code);
	} else if (x->type == WB_BOOL) {
		jw_key(w, "value");
		jw_bool(w, x->b);
	} else if (x->type == WB_STRING) {
		jw_kstr(w, "value", x->str);
	}
	jw_close(w, '}');
}

void plan_op_write(struct jw *w, const struct site_plan *sp, const struct op *op)
{
	unsigned i;

	jw_open(w, '{');
	jw_kstr(w, "site", sp->site->name);
	jw_kint(w, "seq", op->seq);
	jw_kstr(w, "op", op_kind_name(op->kind));
	jw_kstr(w, "rule", op->rule ? op->rule : "");
	jw_kstr(w, "reason", op->reason ? op->reason : "");
	jw_kstr(w, "unit", op->unit);
	jw_kstr(w, "unit_id", op->unit_vid);
	jw_kstr(w, "tenant_id", op->tenant_vid);
	jw_kstr(w, "rental_id", op->rental_id);
	jw_kstr(w, "user_id", op->user_id);
	if (op->result_slot >= 0)
		jw_kint(w, "result_slot", op->result_slot);
	if (op->id_ref.src != CODE_NONE)
		code_ref_write(w, "tenant_ref", &op->id_ref);
	if (op->kind == OP_TENANT_CREATE || op->kind == OP_TENANT_UPDATE)
		tenant_write(w, op);
	if (op->kind == OP_PMS_WRITE) {
		jw_kstr(w, "collection", op->collection);
		jw_kstr(w, "object_id", op->object_id);
		jw_key(w, "fields");
		jw_open(w, '[');
		for (i = 0; i < op->nw; i++)
			write_field(w, &op->w[i]);
		jw_close(w, ']');
	}
	jw_close(w, '}');
}
