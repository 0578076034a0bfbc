/*
 * sim_pti.c: PTI StorLogix Cloud (docs/vendor-apis.md §2), under /pti/.
 *
 * PTI publishes no API reference; this models the one public client
 * (HB-PTI) and the Storeganise error page, with these design choices (the
 * same as providers/pti.c): every answer is HTTP 200 with
 * {"ResultCode": n, "Message": ...} where n < 0 is an error (-3 unit name
 * over 10 characters, -22 unit already vacant, -404 not found, -5 access
 * code in use at the site, -401 bad operator credentials) and users/add
 * answers the new StorLogix user id as ResultCode, or -409 with the
 * existing user's id (StorLogixId) when the site has a user with that
 * InterfaceId (a replayed add: nothing changes); writes are form-encoded;
 * a user's code is a "card" (users/{id}/cards, cards/{id}); AccessLevel
 * and TimeZone are user fields. There is no read API for units or users:
 * /_sim/state is the only way to look.
 * Seed: {"pti": {"clients": [{"client_id","api_key"}], "sites": [{"id",
 * "site_key","site_code","username","password"}], "token_ttl", "units":
 * [{"site","name","status","user"}], "users": [], "cards": []}}.
 */
#define _GNU_SOURCE
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static json_t *pti(void)
{
	return json_object_get(sim_state(), "pti");
}

static json_t *parr(const char *k)
{
	json_t *a = json_object_get(pti(), k);

	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(pti(), k, a);
	}
	return a;
}

static void result(struct sim_resp *out, long code, const char *msg)
{
	sim_reply(out, 200, json_pack("{s:I, s:s}", "ResultCode", (json_int_t)code, "Message", msg));
}

static char *b64dec(const char *s)
{
	size_t n = strlen(s);
	unsigned char *o = calloc(1, n + 4);
	int len = EVP_DecodeBlock(o, (const unsigned char *)s, (int)n);

	if (len < 0) {
		free(o);
		return NULL;
	}
	while (len > 0 && n > 0 && s[n - 1] == '=') {
		len--;
		n--;
	}
	o[len] = '\0';
	return (char *)o;
}

static bool field_is(json_t *o, const char *k, const char *v)
{
	return v && !strcmp(json_string_value(json_object_get(o, k)) ?: "", v);
}

static void token(const struct sim_req *r, struct sim_resp *out)
{
	const char *auth = sim_header(r, "Authorization");
	char *basic = auth && !strncmp(auth, "Basic ", 6) ? b64dec(auth + 6) : NULL;
	char *key = sim_form(r, "site_key"), *ot = sim_form(r, "oper_token"), *oper = NULL;
	char *gt = sim_form(r, "grant_type"), tok[65], cred[512];
	json_t *c, *s, *site = NULL, *tokens;
	bool client = false;
	size_t i;

	json_array_foreach(parr("clients"), i, c) {
		snprintf(cred, sizeof(cred), "%s:%s", json_string_value(json_object_get(c, "client_id")) ?: "",
			 json_string_value(json_object_get(c, "api_key")) ?: "");
		client = client || (basic && !strcmp(basic, cred));
	}
	oper = ot ? b64dec(ot) : NULL;
	json_array_foreach(parr("sites"), i, s) {
		snprintf(cred, sizeof(cred), "%s:%s:%s", json_string_value(json_object_get(s, "site_code")) ?: "",
			 json_string_value(json_object_get(s, "username")) ?: "",
			 json_string_value(json_object_get(s, "password")) ?: "");
		if (field_is(s, "site_key", key) && oper && !strcmp(oper, cred))
			site = s;
	}
	if (!client) {
		sim_reply(out, 401, json_pack("{s:s, s:s}", "error", "invalid_client",
					      "error_description", "invalid partner credentials"));
	} else if (!gt || strcmp(gt, "client_credentials") || !site) {
		sim_reply(out, 400, json_pack("{s:s, s:s}", "error", "invalid_grant",
					      "error_description", "invalid credentials"));
	} else {
		json_int_t ttl = json_integer_value(json_object_get(pti(), "token_ttl"));

		tokens = json_object_get(pti(), "_tokens");
		if (!json_is_object(tokens)) {
			tokens = json_object();
			json_object_set_new(pti(), "_tokens", tokens);
		}
		sim_random_hex(tok, 32);
		json_object_set_new(tokens, tok, json_pack("{s:O, s:I}", "site", json_object_get(site, "id"),
			"expires", (json_int_t)time(NULL) + (ttl > 0 ? ttl : 3600)));
		sim_reply(out, 200, json_pack("{s:s, s:s, s:I}", "access_token", tok, "token_type", "bearer",
					      "expires_in", ttl > 0 ? ttl : (json_int_t)3600));
	}
	free(basic);
	free(key);
	free(ot);
	free(oper);
	free(gt);
}

static json_t *site_of(const struct sim_req *r)
{
	const char *auth = sim_header(r, "Authorization");
	json_t *t;

	if (!auth || strncmp(auth, "Bearer ", 7))
		return NULL;
	t = json_object_get(json_object_get(pti(), "_tokens"), auth + 7);
	if (!t || json_integer_value(json_object_get(t, "expires")) < (json_int_t)time(NULL))
		return NULL;
	return json_object_get(t, "site");
}

static const char *itext(json_int_t v, char *buf, size_t n)
{
	snprintf(buf, n, "%" JSON_INTEGER_FORMAT, v);
	return buf;
}

static json_t *find_unit(json_t *site, const char *name)
{
	json_t *u;
	size_t i;

	json_array_foreach(sim_ix_all(parr("units"), "name", name), i, u)
		if (json_equal(json_object_get(u, "site"), site) && field_is(u, "name", name))
			return u;
	return NULL;
}

static json_t *find_user(json_t *site, json_int_t id)
{
	json_t *u;
	size_t i;
	char key[32];

	json_array_foreach(sim_ix_all(parr("users"), "id", itext(id, key, sizeof(key))), i, u)
		if (json_equal(json_object_get(u, "site"), site) &&
		    json_integer_value(json_object_get(u, "id")) == id)
			return u;
	return NULL;
}

static bool code_in_use(json_t *site, const char *code, json_int_t except)
{
	json_t *c;
	size_t i;

	json_array_foreach(sim_ix_all(parr("cards"), "code", code), i, c) {
		json_t *u = find_user(site, json_integer_value(json_object_get(c, "user")));

		if (u && json_integer_value(json_object_get(c, "user")) != except && field_is(c, "code", code))
			return true;
	}
	return false;
}

static void set_card(json_t *site, json_int_t uid, const char *code)
{
	json_t *cards = parr("cards"), *c, *old;
	char id[33], key[32];
	size_t i;

	/* a copy: the index's list shrinks as cards go */
	old = json_copy(sim_ix_all(cards, "user", itext(uid, key, sizeof(key))));
	json_array_foreach(old, i, c)
		if (json_integer_value(json_object_get(c, "user")) == uid)
			sim_ix_remove(cards, c);
	json_decref(old);
	(void)site;
	sim_random_hex(id, 8);
	sim_ix_append(cards, json_pack("{s:s, s:I, s:s}", "ObjectId", id, "user", uid, "code", code));
}

static const char *const user_fields[][2] = {
	{ "FirstName", "first_name" }, { "LastName", "last_name" }, { "EmailAddress", "email" },
	{ "MobilePhone", "phone" }, { "InterfaceId", "interface_id" },
};

static void user_form(const struct sim_req *r, json_t *u)
{
	size_t i;
	char *v;

	for (i = 0; i < sizeof(user_fields) / sizeof(user_fields[0]); i++) {
		v = sim_form(r, user_fields[i][0]);
		if (v)
			json_object_set_new(u, user_fields[i][1], json_string(v));
		free(v);
	}
	v = sim_form(r, "AccessLevel");
	if (v)
		json_object_set_new(u, "access_level", json_integer(atoll(v)));
	free(v);
	v = sim_form(r, "TimeZone");
	if (v)
		json_object_set_new(u, "zone", json_integer(atoll(v)));
	free(v);
}

/* The user of the site whose InterfaceId is iid, or NULL. */
static json_t *find_interface(json_t *site, const char *iid)
{
	json_t *u;
	size_t i;

	json_array_foreach(sim_ix_all(parr("users"), "interface_id", iid ? iid : ""), i, u)
		if (json_equal(json_object_get(u, "site"), site) && field_is(u, "interface_id", iid))
			return u;
	return NULL;
}

/* users/add. An InterfaceId the site already has is answered -409 with
 * that user's id (StorLogixId), and nothing changes: a replayed add whose
 * first answer was lost is recognised (Decided, docs/vendor-apis.md §2.4). */
static void users_add(const struct sim_req *r, json_t *site, struct sim_resp *out)
{
	char *code = sim_form(r, "AccessCode"), *iid = sim_form(r, "InterfaceId");
	json_int_t max = sim_ix_max(parr("users"), "id", 100);
	json_t *u = iid && *iid ? find_interface(site, iid) : NULL;

	if (u) {
		sim_reply(out, 200, json_pack("{s:i, s:s, s:O}", "ResultCode", -409, "Message",
					      "a user with this InterfaceId exists", "StorLogixId",
					      json_object_get(u, "id")));
	} else if (!code || !*code || strspn(code, "0123456789") != strlen(code)) {
		result(out, -6, "invalid access code");
	} else if (code_in_use(site, code, -1)) {
		result(out, -5, "access code in use at this site");
	} else {
		u = json_pack("{s:I, s:O, s:b}", "id", max + 1, "site", site, "suspended", 0);
		user_form(r, u);
		sim_ix_append(parr("users"), u);
		set_card(site, max + 1, code);
		result(out, max + 1, "user added");
	}
	free(code);
	free(iid);
}

static void users_edit(const struct sim_req *r, json_t *site, json_int_t id, struct sim_resp *out)
{
	json_t *u = find_user(site, id);
	char *code = sim_form(r, "AccessCode");

	if (!u)
		result(out, -404, "user not found");
	else if (code && (!*code || strspn(code, "0123456789") != strlen(code)))
		result(out, -6, "invalid access code");
	else if (code && code_in_use(site, code, id))
		result(out, -5, "access code in use at this site");
	else {
		user_form(r, u);
		if (code)
			set_card(site, id, code);
		result(out, 0, "user updated");
	}
	free(code);
}

static void cards(json_t *site, json_int_t uid, struct sim_resp *out)
{
	json_t *arr = json_array(), *c;
	char key[32];
	size_t i;

	if (!find_user(site, uid)) {
		result(out, -404, "user not found");
		json_decref(arr);
		return;
	}
	json_array_foreach(sim_ix_all(parr("cards"), "user", itext(uid, key, sizeof(key))), i, c)
		if (json_integer_value(json_object_get(c, "user")) == uid)
			json_array_append_new(arr, json_pack("{s:O}", "ObjectId", json_object_get(c, "ObjectId")));
	sim_reply(out, 200, arr);
}

static void unit_op(const struct sim_req *r, json_t *site, const char *act, const char *name,
		    struct sim_resp *out)
{
	json_t *u = find_unit(site, name);
	char *sid;

	if (strlen(name) > 10) {
		result(out, -3, "invalid unit name (more than 10 characters)");
	} else if (!u) {
		result(out, -404, "unit not found");
	} else if (!strcmp(act, "vacate")) {
		if (field_is(u, "status", "vacant")) {
			result(out, -22, "unit already vacant");
			return;
		}
		json_object_set_new(u, "status", json_string("vacant"));
		json_object_set_new(u, "user", json_null());
		result(out, 0, "unit vacated");
	} else {
		sid = sim_form(r, "StorLogixId");
		if (!sid || !find_user(site, atoll(sid))) {
			result(out, -404, "user not found");
		} else {
			json_object_set_new(u, "status", json_string("rented"));
			json_object_set_new(u, "user", json_integer(atoll(sid)));
			result(out, 0, "unit rented");
		}
		free(sid);
	}
}

void sim_pti(const struct sim_req *r, struct sim_resp *out)
{
	const char *p = r->api_path;
	json_t *site;
	char seg[5][64];
	int n = 0;

	if (!strcmp(p, "authtoken") && !strcmp(r->method, "POST")) {
		token(r, out);
		return;
	}
	site = site_of(r);
	if (!site) {
		sim_reply(out, 401, json_pack("{s:s}", "error_description", "invalid or expired token"));
		return;
	}
	memset(seg, 0, sizeof(seg));
	while (*p && n < 5) {
		size_t len = strcspn(p, "/");

		snprintf(seg[n++], sizeof(seg[0]), "%.*s", (int)len, p);
		p += len + (p[len] == '/');
	}
	if (n == 2 && !strcmp(seg[0], "users") && !strcmp(seg[1], "add") && !strcmp(r->method, "POST"))
		users_add(r, site, out);
	else if (n == 3 && !strcmp(seg[0], "users") && !strcmp(seg[1], "edit") && !strcmp(r->method, "PUT"))
		users_edit(r, site, atoll(seg[2]), out);
	else if (n == 3 && !strcmp(seg[0], "users") && !strcmp(seg[2], "cards"))
		cards(site, atoll(seg[1]), out);
	else if (n == 4 && !strcmp(seg[0], "users") && !strcmp(seg[2], "suspended")) {
		json_t *u = find_user(site, atoll(seg[1]));

		if (!u) {
			result(out, -404, "user not found");
		} else {
			json_object_set_new(u, "suspended", json_boolean(!strcmp(seg[3], "true")));
			result(out, 0, "ok");
		}
	} else if (n == 2 && !strcmp(seg[0], "cards") && !strcmp(r->method, "DELETE")) {
		json_t *cs = parr("cards"), *c = sim_ix_first(cs, "ObjectId", seg[1]);

		if (!c || !field_is(c, "ObjectId", seg[1])) {
			result(out, -404, "card not found");
		} else {
			sim_ix_remove(cs, c);
			result(out, 0, "card deleted");
		}
	} else if (n == 3 && !strcmp(seg[0], "units") &&
		   ((!strcmp(seg[1], "rent") && !strcmp(r->method, "POST")) ||
		    (!strcmp(seg[1], "vacate") && !strcmp(r->method, "DELETE"))))
		unit_op(r, site, seg[1], seg[2], out);
	else
		sim_reply(out, 404, json_pack("{s:s}", "Message", "no such route"));
}
