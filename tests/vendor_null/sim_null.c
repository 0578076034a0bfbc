/*
 * sim_null.c: the simulator module of the test-only "null" vendor (the API
 * null.c describes), under /null/. State: {"null": {"api_key": "...",
 * "units": [{"name", "status", "tenant": null | {"id", "rental", "name",
 * "code"}}]}}.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "sim.h"

static json_t *section(void)
{
	return json_object_get(sim_state(), "null");
}

static json_t *unit_named(const char *name, size_t len)
{
	json_t *u;
	size_t i;

	json_array_foreach(json_object_get(section(), "units"), i, u) {
		const char *n = json_string_value(json_object_get(u, "name"));

		if (n && strlen(n) == len && !strncmp(n, name, len))
			return u;
	}
	return NULL;
}

static bool authorized(const struct sim_req *r)
{
	const char *auth = sim_header(r, "Authorization");
	const char *key = json_string_value(json_object_get(section(), "api_key"));
	char want[160];

	snprintf(want, sizeof(want), "Bearer %s", key ? key : "");
	return auth && !strcmp(auth, want);
}

/* POST|PUT units/{name}/tenant, POST units/{name}/status|vacate. */
static void unit_call(const struct sim_req *r, json_t *u, const char *what, struct sim_resp *out)
{
	json_t *b = sim_json_body(r), *t = json_object_get(u, "tenant");
	static unsigned long next_id = 1;
	char id[32];

	if (!strcmp(what, "tenant") && !strcmp(r->method, "POST")) {
		snprintf(id, sizeof(id), "nt%lu", next_id++);
		json_object_set_new(u, "tenant", json_pack("{s:s, s:O?, s:O?, s:O?}", "id", id, "rental",
				    json_object_get(b, "rental"), "name", json_object_get(b, "name"),
				    "code", json_object_get(b, "code")));
		if (!strcmp(json_string_value(json_object_get(u, "status")) ?: "", "Vacant"))
			json_object_set_new(u, "status", json_string("Rented"));
		sim_reply(out, 201, json_pack("{s:s}", "id", id));
	} else if (!strcmp(what, "tenant") && !strcmp(r->method, "PUT") && json_is_object(t)) {
		json_object_update_existing(t, json_is_object(b) ? b : NULL);
		sim_reply(out, 200, json_object());
	} else if (!strcmp(what, "status") && json_is_string(json_object_get(b, "status"))) {
		json_object_set(u, "status", json_object_get(b, "status"));
		sim_reply(out, 200, json_object());
	} else if (!strcmp(what, "vacate")) {
		json_object_set_new(u, "tenant", json_null());
		json_object_set_new(u, "status", json_string("Vacant"));
		sim_reply(out, 200, json_object());
	} else {
		sim_reply(out, 400, json_pack("{s:s}", "message", "bad request"));
	}
	json_decref(b);
}

void sim_null(const struct sim_req *r, struct sim_resp *out)
{
	const char *p = r->api_path, *slash;
	json_t *u;

	if (!authorized(r)) {
		sim_reply(out, 401, json_pack("{s:s}", "message", "bad key"));
		return;
	}
	if (!strcmp(p, "units") && !strcmp(r->method, "GET")) {
		sim_reply(out, 200, json_pack("{s:O}", "units", json_object_get(section(), "units")));
		return;
	}
	if (strncmp(p, "units/", 6) || !(slash = strchr(p + 6, '/'))) {
		sim_reply(out, 404, json_pack("{s:s}", "message", "no such route"));
		return;
	}
	u = unit_named(p + 6, (size_t)(slash - p - 6));
	if (!u)
		sim_reply(out, 404, json_pack("{s:s}", "message", "no such unit"));
	else
		unit_call(r, u, slash + 1, out);
}
