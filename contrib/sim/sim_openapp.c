/*
 * sim_openapp.c: OpenApp access invites (docs/vendor-apis.md §3), under
 * /openapp/api/v1/.
 *
 * Modelled: Bearer API key; X-Org required (403 when missing or wrong);
 * ULID ids; invites with states active / disabled / revoked / expired;
 * create with schedules[] (or the older top-level valid_from/valid_to);
 * the invite token and URL returned once; Idempotency-Key replay (same
 * answer without token or URL, idempotent_replay true; 409
 * idempotency_key_conflict for another body) while the key's invite is not
 * revoked or deleted (keep_idempotency_keys: forever); one live invite per
 * (external source, record id): a second create is 409
 * external_reference_conflict; PUT updates (schedules replace all windows,
 * portal_ids replace grants, is_enabled); revoke, restore, DELETE,
 * regenerate-token (400 invitation_revoked on a revoked invite, like PUT).
 * 429 with Retry-After comes from /_sim/faults.
 * Seed: {"openapp": {"api_key", "org_id", "integrations": [{"id",
 * "portals": [{"id", "name"}]}], "invites": []}}.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static json_t *oa(void)
{
	return json_object_get(sim_state(), "openapp");
}

static json_t *oarr(const char *k)
{
	json_t *a = json_object_get(oa(), k);

	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(oa(), k, a);
	}
	return a;
}

static json_t *err(const char *code, const char *msg)
{
	return json_pack("{s:s, s:s}", "error_code", code, "message", msg);
}

/* A ULID-looking id: 26 Crockford base32 characters. */
static void ulid(char out[27])
{
	static const char a[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char hex[40];
	int i;

	sim_random_hex(hex, 16);
	for (i = 0; i < 26; i++)
		out[i] = a[(unsigned char)hex[i] % 32];
	out[26] = '\0';
}

static const char *state_of(json_t *inv)
{
	const char *to = json_string_value(json_object_get(inv, "valid_to"));
	char now[40];

	if (json_object_get(inv, "revoked_at") && !json_is_null(json_object_get(inv, "revoked_at")))
		return "revoked";
	sim_now_iso(now, sizeof(now));
	if (to && strcmp(to, now) < 0)
		return "expired";
	return json_is_true(json_object_get(inv, "is_enabled")) ? "active" : "disabled";
}

static json_t *item(json_t *inv)
{
	json_t *c = json_deep_copy(inv);

	json_object_del(c, "_token");
	json_object_set_new(c, "state", json_string(state_of(inv)));
	return c;
}

static bool has_portal(json_t *integ, const char *id)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(integ, "portals"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "id")) ?: "", id))
			return true;
	return false;
}

/* schedules / portal_ids of a create or update body into inv; NULL or an error. */
static json_t *set_fields(json_t *integ, json_t *inv, json_t *b)
{
	json_t *sched = json_object_get(b, "schedules"), *pids = json_object_get(b, "portal_ids");
	json_t *from = json_object_get(b, "valid_from"), *to = json_object_get(b, "valid_to"), *v;
	size_t i;

	if (json_is_array(sched) && json_array_size(sched)) {
		from = json_object_get(json_array_get(sched, 0), "valid_from");
		to = json_object_get(json_array_get(sched, 0), "valid_to");
	}
	if (from || to) {
		if (!json_is_string(from) || !json_is_string(to) ||
		    strcmp(json_string_value(from), json_string_value(to)) >= 0)
			return err("invitation_validation_failed", "valid_from must be before valid_to");
		json_object_set(inv, "valid_from", from);
		json_object_set(inv, "valid_to", to);
	}
	if (pids) {
		json_t *granted = json_array();

		json_array_foreach(pids, i, v) {
			if (!json_is_string(v) || !has_portal(integ, json_string_value(v))) {
				json_decref(granted);
				return err("invitation_portal_not_found", "unknown portal id");
			}
			json_array_append_new(granted, json_pack("{s:O, s:b}", "id", v, "is_linked", 1));
		}
		json_object_set_new(inv, "granted_portals", granted);
	}
	if (json_object_get(b, "is_enabled"))
		json_object_set(inv, "is_enabled", json_object_get(b, "is_enabled"));
	if (json_object_get(b, "max_uses"))
		json_object_set(inv, "max_uses", json_object_get(b, "max_uses"));
	if (json_object_get(b, "name"))
		json_object_set(inv, "name", json_object_get(b, "name"));
	return NULL;
}

/* Index of invites by external reference. */
#define BY_REF "external_ref.source+external_ref.record_id"

/* Invites that may have this external reference (borrowed, may be NULL). */
static json_t *by_ref(const char *src, const char *rec)
{
	char key[512];

	snprintf(key, sizeof(key), "%s\x1f%s", src, rec);
	return sim_ix_all(oarr("invites"), BY_REF, key);
}

static json_t *live_for(const char *src, const char *rec)
{
	json_t *inv;
	size_t i;

	json_array_foreach(by_ref(src, rec), i, inv) {
		json_t *ref = json_object_get(inv, "external_ref");
		const char *st = state_of(inv);

		if (!strcmp(json_string_value(json_object_get(ref, "source")) ?: "", src) &&
		    !strcmp(json_string_value(json_object_get(ref, "record_id")) ?: "", rec) &&
		    (!strcmp(st, "active") || !strcmp(st, "disabled")))
			return inv;
	}
	return NULL;
}

/* What an Idempotency-Key holds (borrowed): {answer, request}, or NULL.
 * A key lives as long as its invite: once the invite is revoked or
 * deleted, the key is forgotten and a create under it makes a new invite
 * (an expired invite keeps it: a new window revives it).
 * keep_idempotency_keys: true keeps every key forever, as a vendor keeping
 * keys longer than invites would. */
static json_t *key_entry(json_t *idem, const char *key)
{
	json_t *e = key ? json_object_get(idem, key) : NULL, *inv;
	const char *id;

	if (!e || json_is_true(json_object_get(oa(), "keep_idempotency_keys")))
		return e;
	id = json_string_value(json_object_get(json_object_get(e, "answer"), "invite_link_id"));
	inv = sim_find_by_id(oarr("invites"), id ?: "");
	if (inv && strcmp(state_of(inv), "revoked"))
		return e;
	json_object_del(idem, key);
	return NULL;
}

/* A create under a key held: its answer again without token and URL, or
 * 409 idempotency_key_conflict when the body is not the one it was made
 * with. */
static void replay(json_t *e, json_t *b, struct sim_resp *out)
{
	json_t *resp;

	if (!json_equal(json_object_get(e, "request"), b)) {
		sim_reply(out, 409, err("idempotency_key_conflict",
					"this Idempotency-Key was used with another request"));
		return;
	}
	resp = json_deep_copy(json_object_get(e, "answer"));
	json_object_del(resp, "invite_token");
	json_object_del(resp, "invite_url");
	json_object_set_new(resp, "idempotent_replay", json_true());
	sim_reply(out, 200, resp);
}

static void create(const struct sim_req *r, json_t *integ, json_t *b, struct sim_resp *out)
{
	const char *key = sim_header(r, "Idempotency-Key");
	json_t *idem = json_object_get(oa(), "_idempotency"), *ref, *inv, *e, *resp;
	char id[27], tok[65], url[160], now[40];

	if (!json_is_object(idem)) {
		idem = json_object();
		json_object_set_new(oa(), "_idempotency", idem);
	}
	if (key_entry(idem, key)) {
		replay(key_entry(idem, key), b, out);
		return;
	}
	if (!json_is_object(b) || !json_is_array(json_object_get(b, "portal_ids"))) {
		sim_reply(out, 400, err("invitation_validation_failed", "portal_ids is required"));
		return;
	}
	ref = json_object_get(b, "external_ref");
	if (json_is_object(ref) && live_for(json_string_value(json_object_get(ref, "source")) ?: "",
					    json_string_value(json_object_get(ref, "record_id")) ?: "")) {
		sim_reply(out, 409, err("external_reference_conflict",
					"a live invite exists for this external record"));
		return;
	}
	ulid(id);
	sim_random_hex(tok, 24);
	sim_now_iso(now, sizeof(now));
	inv = json_pack("{s:s, s:b, s:i, s:n, s:s, s:s, s:n}", "id", id, "is_enabled", 1, "uses", 0,
			"max_uses", "created_at", now, "updated_at", now, "revoked_at");
	e = set_fields(integ, inv, b);
	if (e) {
		json_decref(inv);
		sim_reply(out, strstr(json_string_value(json_object_get(e, "error_code")), "portal")
			  ? 404 : 400, e);
		return;
	}
	if (json_is_object(ref))
		json_object_set(inv, "external_ref", ref);
	json_object_set_new(inv, "integration_id", json_string(json_string_value(json_object_get(integ, "id"))));
	json_object_set_new(inv, "_token", json_string(tok));
	sim_ix_append(oarr("invites"), json_incref(inv));
	snprintf(url, sizeof(url), "https://openapp.example/i/%s", tok);
	resp = item(inv);
	json_object_set_new(resp, "invite_link_id", json_string(id));
	json_object_set_new(resp, "invite_token", json_string(tok));
	json_object_set_new(resp, "invite_url", json_string(url));
	if (key)
		json_object_set_new(idem, key, json_pack("{s:O, s:O}", "answer", resp, "request", b));
	json_decref(inv);
	sim_reply(out, 200, resp);
}

static void list(const struct sim_req *r, json_t *integ, struct sim_resp *out)
{
	const char *src = sim_query(r, "external_source"), *rec = sim_query(r, "external_record_id");
	const char *st = sim_query(r, "state"), *ls = sim_query(r, "limit"), *os = sim_query(r, "offset");
	long limit = ls ? atol(ls) : 50, offset = os ? atol(os) : 0, seen = 0;
	json_t *items = json_array(), *inv;
	size_t i;

	if (limit <= 0 || limit > 200)
		limit = 200;
	json_array_foreach(src && rec ? by_ref(src, rec) : oarr("invites"), i, inv) {
		json_t *ref = json_object_get(inv, "external_ref");

		if (strcmp(json_string_value(json_object_get(inv, "integration_id")) ?: "",
			   json_string_value(json_object_get(integ, "id"))))
			continue;
		if (src && strcmp(json_string_value(json_object_get(ref, "source")) ?: "", src))
			continue;
		if (rec && strcmp(json_string_value(json_object_get(ref, "record_id")) ?: "", rec))
			continue;
		if (st && strcmp(state_of(inv), st))
			continue;
		if (seen++ >= offset && (long)json_array_size(items) < limit)
			json_array_append_new(items, item(inv));
	}
	sim_reply(out, 200, json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)seen));
}

static void invite_route(const struct sim_req *r, json_t *integ, const char *id,
			 const char *act, json_t *b, struct sim_resp *out)
{
	json_t *inv = sim_find_by_id(oarr("invites"), id), *e;
	char now[40], tok[65], url[160];

	sim_now_iso(now, sizeof(now));
	if (!inv) {
		sim_reply(out, 404, err("invitation_not_found", "no such invite"));
	} else if (!act && !strcmp(r->method, "PUT")) {
		if (!strcmp(state_of(inv), "revoked")) {
			sim_reply(out, 400, err("invitation_revoked", "the invite is revoked"));
			return;
		}
		e = set_fields(integ, inv, b);
		if (e) {
			sim_reply(out, 400, e);
			return;
		}
		json_object_set_new(inv, "updated_at", json_string(now));
		sim_reply(out, 200, item(inv));
	} else if (!act && !strcmp(r->method, "DELETE")) {
		sim_ix_remove(oarr("invites"), inv);
		sim_reply(out, 200, NULL);
	} else if (act && !strcmp(act, "revoke")) {
		json_object_set_new(inv, "revoked_at", json_string(now));
		sim_reply(out, 200, item(inv));
	} else if (act && !strcmp(act, "restore")) {
		json_object_set_new(inv, "revoked_at", json_null());
		sim_reply(out, 200, item(inv));
	} else if (act && !strcmp(act, "regenerate-token") && !strcmp(state_of(inv), "revoked")) {
		sim_reply(out, 400, err("invitation_revoked", "the invite is revoked"));
	} else if (act && !strcmp(act, "regenerate-token")) {
		sim_random_hex(tok, 24);
		json_object_set_new(inv, "_token", json_string(tok));
		snprintf(url, sizeof(url), "https://openapp.example/i/%s", tok);
		sim_reply(out, 200, json_pack("{s:s, s:s, s:s}", "invite_link_id", id, "invite_token",
					      tok, "invite_url", url));
	} else {
		sim_reply(out, 404, err("not_found", "no such route"));
	}
}

void sim_openapp(const struct sim_req *r, struct sim_resp *out)
{
	const char *auth = sim_header(r, "Authorization"), *org = sim_header(r, "X-Org");
	const char *key = json_string_value(json_object_get(oa(), "api_key"));
	char seg[5][64];
	const char *p = r->api_path;
	json_t *integ, *b;
	int n = 0;

	if (!auth || !key || strncmp(auth, "Bearer ", 7) || strcmp(auth + 7, key)) {
		sim_reply(out, 401, err("invitation_unauthorized", "invalid API key"));
		return;
	}
	if (!org || strcmp(org, json_string_value(json_object_get(oa(), "org_id")) ?: "")) {
		sim_reply(out, 403, err("invitation_forbidden", "missing or wrong X-Org"));
		return;
	}
	memset(seg, 0, sizeof(seg));
	while (*p && n < 5) {
		size_t len = strcspn(p, "/");

		snprintf(seg[n++], sizeof(seg[0]), "%.*s", (int)len, p);
		p += len + (p[len] == '/');
	}
	integ = n >= 2 && !strcmp(seg[0], "integrations") ? sim_find_by_id(oarr("integrations"), seg[1]) : NULL;
	if (!integ) {
		sim_reply(out, 404, err("integration_not_found", "no such integration"));
		return;
	}
	b = sim_json_body(r);
	if (n == 3 && !strcmp(seg[2], "access-portals"))
		sim_reply(out, 200, json_pack("{s:O, s:I}", "items", json_object_get(integ, "portals"),
					      "total", (json_int_t)json_array_size(json_object_get(integ, "portals"))));
	else if (n == 3 && !strcmp(seg[2], "access-invites") && !strcmp(r->method, "GET"))
		list(r, integ, out);
	else if (n == 3 && !strcmp(seg[2], "access-invites") && !strcmp(r->method, "POST"))
		create(r, integ, b, out);
	else if (n >= 4 && !strcmp(seg[2], "access-invites"))
		invite_route(r, integ, seg[3], n == 5 ? seg[4] : NULL, b, out);
	else
		sim_reply(out, 404, err("not_found", "no such route"));
	json_decref(b);
}
