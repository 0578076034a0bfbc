/*
 * sim_storeganise.c: the Storeganise admin API subset (docs/pms-api.md §1).
 *
 * Modelled: `Authorization: ApiKey <key>`; bare JSON arrays paged by
 * limit (default 100, max 1000) and offset in insertion order; custom
 * fields only with include=customFields; filters siteId, unitId, ownerId,
 * type (jobs), state (comma list), updatedAfter, ids (a design extension
 * for users); jobs as the API shows them (a rental's scheduled move-out is
 * its moveOutJobId's job: type unit_moveOut, state ready or running,
 * data.date), set by the seed or /_sim/insert and /_sim/patch;
 * single objects, include=unit,owner on a rental; PUT {"customFields":{..}}
 * merged per key (null deletes) and `updated` bumped; errors as
 * {"error":{"message":...}}.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const struct {
	const char *path;
	const char *key;
} colls[] = {
	{ "sites", "sites" }, { "units", "units" }, { "unit-rentals", "unitRentals" },
	{ "users", "users" }, { "jobs", "jobs" },
};

static json_t *err_body(const char *msg)
{
	return json_pack("{s:{s:s}}", "error", "message", msg);
}

static bool in_list(const char *list, const char *v)
{
	size_t n = strlen(v);
	const char *p = list;

	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == n && !strncmp(p, v, n))
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

static bool wants(const struct sim_req *r, const char *what)
{
	const char *inc = sim_query(r, "include");

	return inc && in_list(inc, what);
}

/* A copy of o as the API shows it (customFields only when asked). */
static json_t *view(const struct sim_req *r, json_t *o)
{
	json_t *c = json_deep_copy(o);

	if (!wants(r, "customFields"))
		json_object_del(c, "customFields");
	else if (!json_object_get(c, "customFields"))
		json_object_set_new(c, "customFields", json_object());
	return c;
}

static bool match(const struct sim_req *r, json_t *o)
{
	static const char *const filters[] = { "siteId", "unitId", "ownerId", "type", NULL };
	const char *v, *st, *after, *ids;
	char id[64];
	size_t i;

	for (i = 0; filters[i]; i++) {
		v = sim_query(r, filters[i]);
		if (v && strcmp(json_string_value(json_object_get(o, filters[i])) ?: "", v))
			return false;
	}
	st = sim_query(r, "state");
	if (st && !in_list(st, json_string_value(json_object_get(o, "state")) ?: ""))
		return false;
	after = sim_query(r, "updatedAfter");
	if (after && strcmp(json_string_value(json_object_get(o, "updated")) ?: "", after) <= 0)
		return false;
	ids = sim_query(r, "ids");
	if (ids && !in_list(ids, sim_id_text(json_object_get(o, "id"), id, sizeof(id))))
		return false;
	return true;
}

/* The objects a listing looks at, in insertion order (borrowed): those of
 * the most selective filter given, from its index, or all of them. */
static json_t *candidates(const struct sim_req *r, json_t *arr)
{
	static const char *const keys[] = { "unitId", "ownerId", "siteId", NULL };
	const char *v;
	size_t i;

	for (i = 0; keys[i]; i++) {
		v = sim_query(r, keys[i]);
		if (v)
			return sim_ix_all(arr, keys[i], v); /* NULL: none */
	}
	return arr;
}

static void list(const struct sim_req *r, json_t *arr, struct sim_resp *out)
{
	const char *ls = sim_query(r, "limit"), *os = sim_query(r, "offset");
	long limit = ls ? atol(ls) : 100, offset = os ? atol(os) : 0, seen = 0;
	json_t *res = json_array(), *o;
	size_t i;

	if (limit <= 0 || limit > 1000)
		limit = limit <= 0 ? 100 : 1000;
	json_array_foreach(candidates(r, arr), i, o) {
		if (!match(r, o))
			continue;
		if (seen++ < offset)
			continue;
		if ((long)json_array_size(res) >= limit)
			break;
		json_array_append_new(res, view(r, o));
	}
	sim_reply(out, 200, res);
}

static void put(const struct sim_req *r, json_t *o, struct sim_resp *out)
{
	json_t *b = sim_json_body(r), *cf, *v, *cur;
	const char *k;
	char ts[40];

	if (!json_is_object(b) || json_object_size(b) != 1 ||
	    !json_is_object(json_object_get(b, "customFields"))) {
		sim_reply(out, 400, err_body("only {\"customFields\":{...}} can be written here"));
		json_decref(b);
		return;
	}
	cf = json_object_get(b, "customFields");
	cur = json_object_get(o, "customFields");
	if (!json_is_object(cur)) {
		cur = json_object();
		json_object_set_new(o, "customFields", cur);
	}
	json_object_foreach(cf, k, v) {
		if (json_is_null(v))
			json_object_del(cur, k);
		else
			json_object_set(cur, k, v);
	}
	sim_now_iso(ts, sizeof(ts));
	json_object_set_new(o, "updated", json_string(ts));
	json_decref(b);
	sim_reply(out, 200, json_deep_copy(o));
}

static void one(const struct sim_req *r, const char *coll, json_t *o, struct sim_resp *out)
{
	json_t *v = view(r, o), *st = sim_state(), *sg = json_object_get(st, "storeganise");
	char id[64];

	if (!strcmp(coll, "unitRentals")) {
		if (wants(r, "unit")) {
			json_t *u = sim_find_by_id(json_object_get(sg, "units"),
				sim_id_text(json_object_get(o, "unitId"), id, sizeof(id)));

			if (u)
				json_object_set_new(v, "unit", view(r, u));
		}
		if (wants(r, "owner")) {
			json_t *u = sim_find_by_id(json_object_get(sg, "users"),
				sim_id_text(json_object_get(o, "ownerId"), id, sizeof(id)));

			if (u)
				json_object_set_new(v, "owner", view(r, u));
		}
	}
	sim_reply(out, 200, v);
}

void sim_storeganise(const struct sim_req *r, struct sim_resp *out)
{
	json_t *sg = json_object_get(sim_state(), "storeganise"), *arr, *o;
	const char *auth = sim_header(r, "Authorization");
	const char *key = json_string_value(json_object_get(sg, "api_key"));
	const char *slash = strchr(r->api_path, '/');
	size_t i, n = slash ? (size_t)(slash - r->api_path) : strlen(r->api_path);
	char msg[160];

	if (!auth || !key || strncmp(auth, "ApiKey ", 7) || strcmp(auth + 7, key)) {
		sim_reply(out, 401, err_body("invalid or missing API key"));
		return;
	}
	for (i = 0; i < sizeof(colls) / sizeof(colls[0]); i++)
		if (strlen(colls[i].path) == n && !strncmp(colls[i].path, r->api_path, n))
			break;
	if (i == sizeof(colls) / sizeof(colls[0])) {
		sim_reply(out, 404, err_body("no such resource"));
		return;
	}
	arr = json_object_get(sg, colls[i].key);
	if (!json_is_array(arr)) {
		arr = json_array();
		json_object_set_new(sg, colls[i].key, arr);
	}
	if (!slash || !slash[1]) {
		if (strcmp(r->method, "GET"))
			sim_reply(out, 405, err_body("method not allowed"));
		else
			list(r, arr, out);
		return;
	}
	o = sim_find_by_id(arr, slash + 1);
	if (!o) {
		snprintf(msg, sizeof(msg), "%s %s not found", colls[i].path, slash + 1);
		sim_reply(out, 404, err_body(msg));
	} else if (!strcmp(r->method, "GET")) {
		one(r, colls[i].key, o, out);
	} else if (!strcmp(r->method, "PUT")) {
		put(r, o, out);
	} else {
		sim_reply(out, 405, err_body("method not allowed"));
	}
}

void sim_storeganise_seed(json_t *state)
{
	json_t *sg = json_object_get(state, "storeganise"), *arr, *o;
	const char *k;
	char ts[40];
	size_t i;

	sim_now_iso(ts, sizeof(ts));
	json_object_foreach(sg, k, arr) {
		if (!json_is_array(arr))
			continue;
		json_array_foreach(arr, i, o) {
			if (!json_object_get(o, "created"))
				json_object_set_new(o, "created", json_string(ts));
			if (!json_object_get(o, "updated"))
				json_object_set_new(o, "updated", json_string(ts));
		}
	}
}
