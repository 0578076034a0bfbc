/*
 * sim_opentech.c: OpenTech Alliance auth + Access Control v2.0
 * (docs/vendor-apis.md §1, simulator notes §5).
 *
 * Modelled, where the vendor is UNKNOWN (the same choices as
 * providers/opentech.c): token errors as OAuth {"error":"invalid_client"};
 * a missing "api-version: 2.0" is 400; a second tenant on a unit is
 * accepted (so that a duplicate can be observed); visitors' codes are
 * returned on reads unless the seed sets hide_codes; a vacate removes the
 * unit's visitors from the active list; tokens expire after token_ttl s.
 * Non-tenant visitors (guests of a tenant, on its unit; staff and vendors of
 * the facility, with no unit; portal visitors) share the resource, in the
 * shape OpenTech lists them: isTenant false, unitId or null,
 * isPortalVisitor, their own code. A code already held by another visitor
 * is accepted (the vendor's rule is UNKNOWN), so a collision can be seen.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static json_t *ot(void)
{
	return json_object_get(sim_state(), "opentech");
}

static json_t *arr(const char *k)
{
	json_t *a = json_object_get(ot(), k);

	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(ot(), k, a);
	}
	return a;
}

static json_t *msg(const char *m)
{
	return json_pack("{s:s}", "message", m);
}

static void token(const struct sim_req *r, struct sim_resp *out)
{
	char *gt = sim_form(r, "grant_type"), *u = sim_form(r, "username");
	char *pw = sim_form(r, "password"), *ci = sim_form(r, "client_id");
	char *cs = sim_form(r, "client_secret");
	json_t *c, *a, *tokens = json_object_get(ot(), "_tokens");
	bool client = false;
	size_t i;
	char tok[65];
	json_int_t ttl = json_integer_value(json_object_get(ot(), "token_ttl"));

	json_array_foreach(arr("clients"), i, c)
		if (ci && cs && !strcmp(ci, json_string_value(json_object_get(c, "client_id")) ?: "") &&
		    !strcmp(cs, json_string_value(json_object_get(c, "client_secret")) ?: ""))
			client = true;
	if (!gt || strcmp(gt, "password")) {
		sim_reply(out, 400, json_pack("{s:s}", "error", "unsupported_grant_type"));
		goto out;
	}
	if (!client) {
		sim_reply(out, 400, json_pack("{s:s}", "error", "invalid_client"));
		goto out;
	}
	json_array_foreach(arr("accounts"), i, a)
		if (u && pw && !strcmp(u, json_string_value(json_object_get(a, "api_key")) ?: "") &&
		    !strcmp(pw, json_string_value(json_object_get(a, "api_secret")) ?: ""))
			break;
	if (i == json_array_size(arr("accounts"))) {
		sim_reply(out, 400, json_pack("{s:s}", "error", "invalid_grant"));
		goto out;
	}
	if (!json_is_object(tokens)) {
		tokens = json_object();
		json_object_set_new(ot(), "_tokens", tokens);
	}
	if (ttl <= 0)
		ttl = 3600;
	sim_random_hex(tok, 32);
	json_object_set_new(tokens, tok, json_pack("{s:I, s:I}", "account", (json_int_t)i,
						   "expires", (json_int_t)time(NULL) + ttl));
	sim_reply(out, 200, json_pack("{s:s, s:s, s:s, s:I}", "resource", "accesscontrol",
				      "token_type", "Bearer", "access_token", tok, "expires_in", ttl));
out:
	free(gt);
	free(u);
	free(pw);
	free(ci);
	free(cs);
}

/* The account of the bearer token, or NULL (answer set). */
static json_t *account(const struct sim_req *r, struct sim_resp *out)
{
	const char *auth = sim_header(r, "Authorization"), *ver = sim_header(r, "api-version");
	json_t *t;

	if (!auth || strncmp(auth, "Bearer ", 7)) {
		sim_reply(out, 401, msg("Unauthorized"));
		return NULL;
	}
	t = json_object_get(json_object_get(ot(), "_tokens"), auth + 7);
	if (!t || json_integer_value(json_object_get(t, "expires")) < (json_int_t)time(NULL)) {
		sim_reply(out, 401, msg("Unauthorized"));
		return NULL;
	}
	if (!ver || strcmp(ver, "2.0")) {
		sim_reply(out, 400, msg("Unsupported api-version"));
		return NULL;
	}
	return json_array_get(arr("accounts"), (size_t)json_integer_value(json_object_get(t, "account")));
}

static bool allowed(json_t *acct, json_int_t fid)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(acct, "facilities"), i, f)
		if (json_integer_value(f) == fid)
			return true;
	return false;
}

/* The index key of an integer. */
static const char *itext(json_int_t v, char *buf, size_t n)
{
	snprintf(buf, n, "%" JSON_INTEGER_FORMAT, v);
	return buf;
}

static json_t *find_in(const char *coll, json_int_t fid, json_int_t id)
{
	json_t *o;
	size_t i;
	char key[32];

	json_array_foreach(sim_ix_all(arr(coll), "id", itext(id, key, sizeof(key))), i, o)
		if (json_integer_value(json_object_get(o, "id")) == id &&
		    (!fid || json_integer_value(json_object_get(o, "facilityId")) == fid))
			return o;
	return NULL;
}

static json_t *visitor_view(json_t *v)
{
	json_t *c = json_deep_copy(v), *u;
	char name[256];

	json_object_del(c, "facilityId");
	u = find_in("units", 0, json_integer_value(json_object_get(v, "unitId")));
	if (u)
		json_object_set(c, "unitNumber", json_object_get(u, "unitNumber"));
	snprintf(name, sizeof(name), "%s %s", json_string_value(json_object_get(v, "firstName")) ?: "",
		 json_string_value(json_object_get(v, "lastName")) ?: "");
	json_object_set_new(c, "name", json_string(name));
	if (!json_is_boolean(json_object_get(c, "isPortalVisitor")))
		json_object_set_new(c, "isPortalVisitor", json_false());
	json_object_set_new(c, "isLockedOut", json_boolean(!json_is_true(json_object_get(v, "isEnabled"))));
	if (json_is_true(json_object_get(ot(), "hide_codes")))
		json_object_del(c, "code");
	return c;
}

static json_t *unit_view(json_t *u)
{
	json_t *c = json_deep_copy(u);

	json_object_del(c, "facilityId");
	return c;
}

/* Fields of a create/update body; returns an error body or NULL. */
static json_t *set_visitor_fields(json_t *v, json_t *b)
{
	static const char *const keys[] = { "firstName", "lastName", "email", "mobilePhoneNumber",
					    "accessProfileId", "timeGroupId", NULL };
	json_t *code = json_object_get(b, "accessCode");
	size_t i;

	if (code) {
		const char *c = json_string_value(code);

		if (!c || !*c || strlen(c) > 10 || strspn(c, "0123456789") != strlen(c))
			return json_pack("{s:[s]}", "AccessCode", "The access code must be 1 to 10 digits.");
		json_object_set(v, "code", code);
	}
	for (i = 0; keys[i]; i++)
		if (json_object_get(b, keys[i]))
			json_object_set(v, keys[i], json_object_get(b, keys[i]));
	return NULL;
}

static void create_visitor(json_int_t fid, json_t *b, struct sim_resp *out)
{
	json_t *unit = NULL, *v, *e;
	json_int_t max = sim_ix_max(arr("visitors"), "id", 9000);

	if (!json_is_object(b)) {
		sim_reply(out, 400, msg("A JSON body is required."));
		return;
	}
	if (json_object_get(b, "unitId"))
		unit = find_in("units", fid, json_integer_value(json_object_get(b, "unitId")));
	if (json_is_true(json_object_get(b, "isTenant")) && !unit) {
		sim_reply(out, 400, msg("A visitor cannot be marked as a tenant if they are not assigned to a unit."));
		return;
	}
	v = json_pack("{s:I, s:I, s:O, s:b, s:b, s:I, s:I, s:b}", "id", max + 1, "facilityId", fid,
		      "unitId", unit ? json_object_get(unit, "id") : json_null(), "isTenant",
		      json_is_true(json_object_get(b, "isTenant")), "isPortalVisitor",
		      json_is_true(json_object_get(b, "isPortalVisitor")), "accessProfileId", (json_int_t)1,
		      "timeGroupId", (json_int_t)0, "isEnabled", 1);
	e = set_visitor_fields(v, b);
	if (e) {
		json_decref(v);
		sim_reply(out, 400, e);
		return;
	}
	sim_ix_append(arr("visitors"), json_incref(v));
	if (unit && json_is_true(json_object_get(v, "isTenant")) &&
	    !strcmp(json_string_value(json_object_get(unit, "status")) ?: "", "Vacant"))
		json_object_set_new(unit, "status", json_string("Rented"));
	sim_reply(out, 200, json_pack("{s:o, s:o}", "visitor", visitor_view(v), "unit",
				      unit ? unit_view(unit) : json_null()));
	json_decref(v);
}

static void visitor_action(json_int_t fid, json_int_t vid, const char *act, json_t *b,
			   struct sim_resp *out)
{
	json_t *v = find_in("visitors", fid, vid), *e;

	if (!v) {
		sim_reply(out, 404, msg("Visitor not found."));
		return;
	}
	if (!strcmp(act, "update")) {
		e = set_visitor_fields(v, json_is_object(b) ? b : NULL);
		if (e) {
			sim_reply(out, 400, e);
			return;
		}
	} else if (!strcmp(act, "disable") || !strcmp(act, "enable")) {
		json_object_set_new(v, "isEnabled", json_boolean(!strcmp(act, "enable")));
	} else if (!strcmp(act, "remove")) {
		sim_reply(out, 200, visitor_view(v));
		sim_ix_remove(arr("visitors"), v);
		return;
	} else {
		sim_reply(out, 404, msg("No such action."));
		return;
	}
	sim_reply(out, 200, visitor_view(v));
}

static void unit_action(json_int_t fid, json_int_t uid, const char *act, struct sim_resp *out)
{
	json_t *u = find_in("units", fid, uid), *vis = arr("visitors"), *on, *v;
	const char *st;
	char key[32];
	size_t i;

	if (!u) {
		sim_reply(out, 404, msg("Unit not found."));
		return;
	}
	st = json_string_value(json_object_get(u, "status")) ?: "Vacant";
	if (!strcmp(act, "vacate")) {
		/* a copy: the index's list shrinks as visitors go */
		on = json_copy(sim_ix_all(vis, "unitId", itext(uid, key, sizeof(key))));
		json_array_foreach(on, i, v)
			if (json_integer_value(json_object_get(v, "unitId")) == uid)
				sim_ix_remove(vis, v);
		json_decref(on);
		json_object_set_new(u, "status", json_string("Vacant"));
	} else if (!strcmp(act, "disable") || !strcmp(act, "enable")) {
		if (!strcmp(st, "Vacant")) {
			sim_reply(out, 400, msg("The unit is vacant."));
			return;
		}
		json_object_set_new(u, "status", json_string(!strcmp(act, "disable") ? "Delinquent" : "Rented"));
	} else {
		sim_reply(out, 404, msg("No such action."));
		return;
	}
	sim_reply(out, 200, unit_view(u));
}

static void list_of(const char *coll, json_int_t fid, json_int_t uid, struct sim_resp *out)
{
	json_t *res = json_array(), *o, *cands;
	char key[32];
	size_t i;

	cands = uid ? sim_ix_all(arr(coll), "unitId", itext(uid, key, sizeof(key)))
		    : sim_ix_all(arr(coll), "facilityId", itext(fid, key, sizeof(key)));
	json_array_foreach(cands, i, o) {
		if (json_integer_value(json_object_get(o, "facilityId")) != fid)
			continue;
		if (uid && json_integer_value(json_object_get(o, "unitId")) != uid)
			continue;
		json_array_append_new(res, !strcmp(coll, "visitors") ? visitor_view(o) : unit_view(o));
	}
	sim_reply(out, 200, res);
}

static void facilities(json_t *acct, const struct sim_req *r, struct sim_resp *out)
{
	const char *pn = sim_query(r, "propertyNumber");
	json_t *res = json_array(), *mine = json_object(), *f;
	char key[32];
	size_t i;

	json_array_foreach(json_object_get(acct, "facilities"), i, f) /* a set: one probe each */
		json_object_set_new(mine, itext(json_integer_value(f), key, sizeof(key)), json_true());
	json_array_foreach(arr("facilities"), i, f) {
		/* allowed() for every facility scans the account's list: quadratic
		 * (5,000 sites: ~6 s per listing) */
		if (!json_object_get(mine, itext(json_integer_value(json_object_get(f, "id")), key,
						  sizeof(key))))
			continue;
		if (pn && strcmp(pn, json_string_value(json_object_get(f, "propertyNumber")) ?: ""))
			continue;
		json_array_append(res, f);
	}
	json_decref(mine);
	if (!strcmp(r->api_path, "facilities/detail")) {
		sim_reply(out, json_array_size(res) ? 200 : 404,
			  json_array_size(res) ? json_incref(json_array_get(res, 0)) : msg("Facility not found."));
		json_decref(res);
		return;
	}
	sim_reply(out, 200, res);
}

/* facilities/{fid}[/units[/{uid}[/act|/visitors]]|/visitors[/{vid}/act]] */
static void facility_routes(json_t *acct, const struct sim_req *r, struct sim_resp *out)
{
	char seg[6][64];
	int n = 0;
	const char *p = r->api_path;
	json_int_t fid;
	json_t *b;

	memset(seg, 0, sizeof(seg));
	while (*p && n < 6) {
		size_t len = strcspn(p, "/");

		snprintf(seg[n++], sizeof(seg[0]), "%.*s", (int)len, p);
		p += len + (p[len] == '/');
	}
	if (n == 1 || !strcmp(seg[1], "detail")) {
		facilities(acct, r, out);
		return;
	}
	fid = atoll(seg[1]);
	if (!find_in("facilities", 0, fid)) {
		sim_reply(out, 404, msg("Facility not found."));
		return;
	}
	if (!allowed(acct, fid)) {
		sim_reply(out, 403, msg("Forbidden."));
		return;
	}
	b = sim_json_body(r);
	if (n == 2 && !strcmp(r->method, "GET"))
		sim_reply(out, 200, json_incref(find_in("facilities", 0, fid)));
	else if (n == 3 && !strcmp(seg[2], "units") && !strcmp(r->method, "GET"))
		list_of("units", fid, 0, out);
	else if (n == 3 && !strcmp(seg[2], "visitors") && !strcmp(r->method, "GET"))
		list_of("visitors", fid, 0, out);
	else if (n == 3 && !strcmp(seg[2], "visitors") && !strcmp(r->method, "POST"))
		create_visitor(fid, b, out);
	else if (n == 5 && !strcmp(seg[2], "units") && !strcmp(seg[4], "visitors"))
		list_of("visitors", fid, atoll(seg[3]), out);
	else if (n == 5 && !strcmp(seg[2], "units") && !strcmp(r->method, "POST"))
		unit_action(fid, atoll(seg[3]), seg[4], out);
	else if (n == 5 && !strcmp(seg[2], "visitors") && !strcmp(r->method, "POST"))
		visitor_action(fid, atoll(seg[3]), seg[4], b, out);
	else
		sim_reply(out, 404, msg("No such route."));
	json_decref(b);
}

void sim_opentech(const struct sim_req *r, struct sim_resp *out)
{
	json_t *acct;

	if (!strcmp(r->api_path, "auth/token") && !strcmp(r->method, "POST")) {
		token(r, out);
		return;
	}
	acct = account(r, out);
	if (!acct)
		return;
	if (!strncmp(r->api_path, "facilities", 10) &&
	    (r->api_path[10] == '\0' || r->api_path[10] == '/'))
		facility_routes(acct, r, out);
	else
		sim_reply(out, 404, msg("No such route."));
}
