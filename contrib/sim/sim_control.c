/*
 * sim_control.c: the /_sim/... control routes (see contrib/sim/README.md,
 * "Control"). Everything here runs with the state lock held.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_core.h"

/* ----------------------------------------------------------- control */

static json_t *ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *msg(const char *m)
{
	return json_pack("{s:s}", "message", m);
}

static json_t *collection(const char *name)
{
	char api[32];
	const char *dot = strchr(name, '.');

	if (!dot || (size_t)(dot - name) >= sizeof(api))
		return NULL;
	memcpy(api, name, (size_t)(dot - name));
	api[dot - name] = '\0';
	return json_object_get(json_object_get(sim_state(), api), dot + 1);
}

static void merge(json_t *obj, json_t *set)
{
	const char *k;
	json_t *v;

	json_object_foreach(set, k, v) {
		json_t *cur = json_object_get(obj, k);

		if (!strcmp(k, "customFields") && json_is_object(v)) {
			const char *ck;
			json_t *cv;

			if (!json_is_object(cur)) {
				cur = json_object();
				json_object_set_new(obj, k, cur);
			}
			json_object_foreach(v, ck, cv) {
				if (json_is_null(cv))
					json_object_del(cur, ck);
				else
					json_object_set(cur, ck, cv);
			}
		} else {
			json_object_set(obj, k, v);
		}
	}
}

/* An error text for a bad value of setting k, or NULL. */
static const char *bad_setting(json_t *st, const char *k, json_t *v)
{
	if (json_is_array(json_object_get(st, k)) || json_is_array(v) || json_is_object(v))
		return "not a setting";
	if ((!strcmp(k, "latency_ms") || !strcmp(k, "jitter_ms")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600000))
		return "latency_ms and jitter_ms are integers in 0..600000";
	if (!strcmp(k, "item_latency_us") &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000))
		return "item_latency_us is an integer in 0..1000000";
	return NULL;
}

/* {"opentech": {"token_ttl": 3, "latency_ms": 80}, ...}: set an API's
 * scalar settings (not its collections, which insert/patch/delete change). */
static void settings(json_t *b, struct sim_resp *out)
{
	const char *api, *k, *e;
	json_t *set, *v, *st;

	json_object_foreach(b, api, set) {
		st = json_object_get(sim_state(), api);
		if (!json_is_object(st) || !json_is_object(set)) {
			sim_reply(out, 400, msg("unknown api"));
			return;
		}
		json_object_foreach(set, k, v) {
			e = bad_setting(st, k, v);
			if (e) {
				sim_reply(out, 400, msg(e));
				return;
			}
		}
	}
	json_object_foreach(b, api, set)
		json_object_update(json_object_get(sim_state(), api), set);
	sim_ix_invalidate();
	sim_reply(out, 200, ok());
}

static void faults(const struct sim_req *r, json_t *b, struct sim_resp *out)
{
	char err[256];

	if (!strcmp(r->method, "DELETE")) {
		sim_faults_clear();
		sim_reply(out, 200, ok());
	} else if (!strcmp(r->method, "GET")) {
		sim_reply(out, 200, sim_faults_get());
	} else if (sim_faults_post(b, err, sizeof(err))) {
		sim_reply(out, 400, msg(err));
	} else {
		json_t *cur = sim_faults_get();

		sim_reply(out, 200, json_pack("{s:b, s:O}", "ok", 1, "seed", json_object_get(cur, "seed")));
		json_decref(cur);
	}
}

static void merge_cb(json_t *obj, void *set)
{
	merge(obj, set);
}

/* /_sim/patch, /_sim/insert, /_sim/delete: p is the route name. */
static void edit(const char *p, json_t *b, struct sim_resp *out)
{
	json_t *coll, *obj, *o;
	char ts[40], id[64];

	coll = collection(json_string_value(json_object_get(b, "collection")) ?: "");
	sim_id_text(json_object_get(b, "id"), id, sizeof(id));
	obj = json_is_array(coll) && *id ? sim_find_by_id(coll, id) : NULL;
	sim_now_iso(ts, sizeof(ts));
	if (!json_is_array(coll)) {
		sim_reply(out, 400, msg("unknown collection"));
	} else if (!strcmp(p, "insert")) {
		o = json_object_get(b, "object");
		if (!json_is_object(o)) {
			sim_reply(out, 400, msg("object must be a JSON object"));
			return;
		}
		if (!json_object_get(o, "id")) {
			sim_random_hex(id, 12);
			json_object_set_new(o, "id", json_string(id));
		}
		json_object_set_new(o, "created", json_string(ts));
		json_object_set_new(o, "updated", json_string(ts));
		sim_ix_append(coll, json_incref(o));
		sim_reply(out, 200, json_incref(o));
	} else if (!obj) {
		sim_reply(out, 404, msg("no such object"));
	} else if (!strcmp(p, "patch")) {
		sim_ix_patch(coll, obj, merge_cb, json_object_get(b, "set"));
		json_object_set_new(obj, "updated", json_string(ts));
		sim_reply(out, 200, json_incref(obj));
	} else {
		sim_ix_remove(coll, obj);
		sim_reply(out, 200, ok());
	}
}

void sim_control(const struct sim_req *r, struct sim_resp *out)
{
	const char *p = r->path + strlen("/_sim/");
	json_t *b = sim_json_body(r);
	char err[256];

	if (!strcmp(p, "health")) {
		sim_reply(out, 200, ok());
	} else if (!strcmp(p, "state")) {
		sim_reply(out, 200, json_deep_copy(sim_state()));
	} else if (!strcmp(p, "requests")) {
		if (!strcmp(r->method, "DELETE")) {
			sim_log_clear();
			sim_reply(out, 200, ok());
		} else {
			sim_reply(out, 200, sim_log_since(sim_query(r, "since")));
		}
	} else if (!strcmp(p, "settings")) {
		settings(b, out);
	} else if (!strcmp(p, "reset")) {
		if (sim_load(err, sizeof(err)))
			sim_reply(out, 500, msg(err));
		else
			sim_reply(out, 200, ok());
	} else if (!strcmp(p, "faults")) {
		faults(r, b, out);
	} else if (!strcmp(p, "patch") || !strcmp(p, "insert") || !strcmp(p, "delete")) {
		edit(p, b, out);
	} else {
		sim_reply(out, 404, msg("unknown /_sim route"));
	}
	json_decref(b);
}
