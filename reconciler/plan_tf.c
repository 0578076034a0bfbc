/*
 * plan_tf.c: a resource change in Terraform's JSON output format.
 *
 * Terraform's plan representation (`terraform show -json`, format 1.2) is
 * what plan viewers, policy checkers and CI annotators read, so the plan's
 * resource_changes follow it field for field where the concept exists:
 *
 *   address        opentech_unit.lisbon["A-101"]  (type.name[index])
 *   mode           "managed" (everything reconcile changes is managed)
 *   type, name     the resource type and the site
 *   index          the unit, rental or customer (the for_each key)
 *   provider_name  "reconcile/<the type's prefix>" (never a registry name)
 *   change         actions, before, after, after_unknown,
 *                  before_sensitive, after_sensitive
 *
 * Terraform's rules that the engine's own changes do not follow, applied
 * here so the engine keeps its richer view for the text plan:
 * - a create has before null (the engine shows a vacant unit's status) and
 *   a delete after null (the engine shows the unit left vacant);
 * - a value only the apply can know is left out of after and marked true
 *   in after_unknown (the engine writes "(known after apply)");
 * - a secret is never in the plan: its value is "(sensitive)" and it is
 *   marked true in before_sensitive / after_sensitive; both masks are
 *   derived from the values, so a value and its mark cannot disagree;
 *   a null before or after has the mask false, as Terraform writes it.
 * Our own fields are named reconcile_*, which Terraform cannot take.
 */
#define _GNU_SOURCE
#include "plan_int.h"

#include <stdlib.h>
#include <string.h>

#define UNKNOWN_AFTER_APPLY "(known after apply)"

static const char *const action_names[][2] = {
	{ "no-op", NULL }, { "create", NULL }, { "update", NULL },
	{ "delete", NULL }, { "delete", "create" },
};

/* The mask of v's secrets (new): an object of the keys whose value is
 * "(sensitive)", nested objects recursed; false for a null v. */
static json_t *sensitive_mask(json_t *v)
{
	json_t *m, *x, *sub;
	const char *k;

	if (!json_is_object(v))
		return json_false();
	m = json_object();
	json_object_foreach(v, k, x) {
		if (json_is_string(x) && !strcmp(json_string_value(x), PLAN_SENSITIVE)) {
			json_object_set_new(m, k, json_true());
		} else if (json_is_object(x)) {
			sub = sensitive_mask(x);
			if (json_object_size(sub))
				json_object_set_new(m, k, sub);
			else
				json_decref(sub);
		}
	}
	return m;
}

/* Moves the values only the apply knows out of v (borrowed, edited) into
 * an after_unknown mask (new). */
static json_t *take_unknown(json_t *v)
{
	json_t *m = json_object(), *x, *sub;
	const char *k;
	void *tmp;

	if (!json_is_object(v))
		return m;
	json_object_foreach_safe(v, tmp, k, x) {
		if (json_is_string(x) && !strcmp(json_string_value(x), UNKNOWN_AFTER_APPLY)) {
			json_object_set_new(m, k, json_true());
			json_object_del(v, k);
		} else if (json_is_object(x)) {
			sub = take_unknown(x);
			if (json_object_size(sub))
				json_object_set_new(m, k, sub);
			else
				json_decref(sub);
		}
	}
	return m;
}

/* The change's before and after as Terraform has them (new, may be
 * null): built from the change's attributes, which stay as they are. */
static void tf_values(const struct rchange *c, json_t **before, json_t **after)
{
	*before = c->action == ACT_CREATE ? json_null() : ra_to_json(&c->before);
	*after = c->action == ACT_DELETE ? json_null() : ra_to_json(&c->after);
	/* an update of an object whose prior values the plan does not hold:
	 * Terraform never has a null before on an update */
	if (json_is_null(*before) && c->action != ACT_CREATE) {
		json_decref(*before);
		*before = json_object();
	}
	if (json_is_null(*after) && c->action != ACT_DELETE) {
		json_decref(*after);
		*after = json_object();
	}
}

/* The provider of a type: its prefix up to the first '_', as Terraform
 * derives a resource's default provider. */
static const char *provider_name_str(const char *type, char *buf, size_t size)
{
	const char *u = strchr(type, '_');
	int n = u ? (int)(u - type) : (int)strlen(type);

	snprintf(buf, size, "reconcile/%.*s", n, type);
	return buf;
}

static json_t *provider_name(const char *type)
{
	char buf[96];

	return json_string(provider_name_str(type, buf, sizeof(buf)));
}

json_t *plan_tf_change(const struct site_plan *sp, const struct rchange *c)
{
	json_t *acts = json_array(), *before, *after, *unknown, *ch;

	json_array_append_new(acts, json_string(action_names[c->action][0]));
	if (action_names[c->action][1])
		json_array_append_new(acts, json_string(action_names[c->action][1]));
	tf_values(c, &before, &after);
	unknown = take_unknown(after);
	ch = json_object();
	json_object_set_new(ch, "actions", acts);
	json_object_set_new(ch, "before_sensitive", sensitive_mask(before));
	json_object_set_new(ch, "after_sensitive", sensitive_mask(after));
	json_object_set_new(ch, "before", before);
	json_object_set_new(ch, "after", after);
	json_object_set_new(ch, "after_unknown", unknown);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s}",
			 "address", c->address, "mode", "managed", "type", c->type,
			 "name", sp->site->name, "index", c->name,
			 "provider_name", provider_name(c->type), "change", ch,
			 "reconcile_site", sp->site->name, "reconcile_rule", c->rule ? c->rule : "",
			 "reconcile_reason", c->reason ? c->reason : "");
}

/* ------------------------------------------------------ direct writing */

static bool is_unknown(const struct rattr *a)
{
	return a->kind == AV_STR && !strcmp(a->v.s, UNKNOWN_AFTER_APPLY);
}

static bool is_secret(const struct rattr *a)
{
	return a->kind == AV_STR && !strcmp(a->v.s, PLAN_SENSITIVE);
}

/* A value kept as a tree (rare) may nest objects, which the masks walk
 * into: such a change goes through plan_tf_change. */
static bool flat(const struct rattrs *o)
{
	unsigned i;

	for (i = 0; i < o->n; i++)
		if (o->a[i].kind == AV_JSON && json_is_object(o->a[i].v.j))
			return false;
	return true;
}

static void attr_write(struct jw *w, const struct rattr *a)
{
	char *s;

	switch (a->kind) {
	case AV_STR: jw_str(w, a->v.s); break;
	case AV_INT: jw_int(w, a->v.i); break;
	case AV_BOOL: jw_bool(w, a->v.i); break;
	case AV_JSON:
		s = json_dumps(a->v.j, w->flags | JSON_ENCODE_ANY);
		jw_raw(w, s ? s : "null");
		free(s);
		break;
	default: jw_raw(w, "null");
	}
}

/* One of before/after as Terraform has it: null (shown), {} (Terraform's
 * object where the plan holds none), or the attributes but the values
 * only the apply knows. */
static void values_write(struct jw *w, const struct rattrs *o, bool null, bool after)
{
	unsigned i;

	if (null) {
		jw_raw(w, "null");
		return;
	}
	jw_open(w, '{');
	for (i = 0; i < o->n; i++)
		if (!after || !is_unknown(&o->a[i])) {
			jw_key(w, o->a[i].key);
			attr_write(w, &o->a[i]);
		}
	jw_close(w, '}');
}

/* The keys of o whose value is secret (secret) or only known after the
 * apply (!secret), each true; false for a null o (a secret's mask). */
static void mask_write(struct jw *w, const struct rattrs *o, bool null, bool secret)
{
	unsigned i;

	if (null) {
		jw_raw(w, secret ? "false" : "{}");
		return;
	}
	jw_open(w, '{');
	for (i = 0; i < o->n; i++)
		if (secret ? is_secret(&o->a[i]) : is_unknown(&o->a[i])) {
			jw_key(w, o->a[i].key);
			jw_raw(w, "true");
		}
	jw_close(w, '}');
}

void plan_tf_write(struct jw *w, const struct site_plan *sp, const struct rchange *c)
{
	/* tf_values: a create's before and a delete's after are null, any
	 * other an object ({} when the plan holds none) */
	bool bnull = c->action == ACT_CREATE, anull = c->action == ACT_DELETE;
	char prov[96];

	if (!flat(&c->before) || !flat(&c->after)) {
		jw_value(w, plan_tf_change(sp, c), 2);
		return;
	}
	jw_open(w, '{');
	jw_kstr(w, "address", c->address);
	jw_kstr(w, "mode", "managed");
	jw_kstr(w, "type", c->type);
	jw_kstr(w, "name", sp->site->name);
	jw_kstr(w, "index", c->name);
	jw_key(w, "provider_name");
	jw_str(w, provider_name_str(c->type, prov, sizeof(prov)));
	jw_key(w, "change");
	jw_open(w, '{');
	jw_key(w, "actions");
	jw_open(w, '[');
	jw_elem(w);
	jw_str(w, action_names[c->action][0]);
	if (action_names[c->action][1]) {
		jw_elem(w);
		jw_str(w, action_names[c->action][1]);
	}
	jw_close(w, ']');
	jw_key(w, "before_sensitive");
	mask_write(w, &c->before, bnull, true);
	jw_key(w, "after_sensitive");
	mask_write(w, &c->after, anull, true);
	jw_key(w, "before");
	values_write(w, &c->before, bnull, false);
	jw_key(w, "after");
	values_write(w, &c->after, anull, true);
	jw_key(w, "after_unknown");
	mask_write(w, &c->after, anull, false);
	jw_close(w, '}');
	jw_kstr(w, "reconcile_site", sp->site->name);
	jw_kstr(w, "reconcile_rule", c->rule ? c->rule : "");
	jw_kstr(w, "reconcile_reason", c->reason ? c->reason : "");
	jw_close(w, '}');
}
