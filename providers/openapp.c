/*
 * openapp.c: the OpenApp provider (access invites, vendor-apis.md §3).
 *
 * API model (what is UNKNOWN there is decided here and mirrored by
 * contrib/sim/sim_openapp.c):
 *  - every call: "Authorization: Bearer <API token>", "X-Org: <org ULID>";
 *    creates add "Idempotency-Key: reconcile:<site>:<rental>", so that a
 *    retried create (timeout after the vendor committed) never makes two;
 *  - one invite per rental: external_ref {source "storeganise",
 *    record_id <rental id>}; its name "Storeganise rental <id> @ <site>"
 *    scopes it to the site when an integration serves several sites;
 *  - refresh lists the integration's invites filtered by external_source
 *    (limit 200 / offset until `total`), skipping revoked and expired ones;
 *    the observed "unit" of an invite is its rental id;
 *  - create sends schedules[] (the current spec), answers the one-time
 *    invite_url, handed back as op_result.secret (written to the PMS, OA4);
 *  - update is one PUT carrying every changed field (is_enabled, schedules,
 *    portal_ids, max_uses); vacate is revoke, or DELETE when the spec asks;
 *  - 429 + Retry-After is waited out by http_do.
 */
#define _GNU_SOURCE
#include "provider.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

struct provider {
	const struct spec_site *site;
	struct http_client *http;
	char *base;           /* .../api/v1/integrations/<id> */
	char *auth;           /* "Authorization: Bearer ..." (secret) */
	char *org;            /* "X-Org: ..." */
};

static void oa_close(struct provider *p)
{
	if (!p)
		return;
	http_client_free(p->http);
	free(p->base);
	rc_free_secret(p->auth);
	free(p->org);
	free(p);
}

static int oa_open(struct provider **out, const struct spec_site *site,
		   const struct pms_site *pms_site, struct rc_err *err)
{
	const struct spec_openapp *o = &site->openapp;
	struct provider *p = rc_calloc(1, sizeof(*p));
	char *key = NULL;
	size_t n;
	int rc;

	(void)pms_site;
	p->site = site;
	rc = spec_secret_read(&o->api_key, "the OpenApp API token", NULL, &key, err);
	if (!rc)
		rc = http_client_new(&p->http, &(struct http_opts){ .pool = "openapp" }, err);
	if (rc) {
		rc_free_secret(key);
		oa_close(p);
		return rc_err_prefix(err, "site %s", site->name);
	}
	p->base = rc_sprintf("%s", o->base_url);
	n = strlen(p->base);
	while (n && p->base[n - 1] == '/')
		p->base[--n] = '\0';
	free(p->base);
	p->base = rc_sprintf("%.*s/integrations/%s", (int)n, o->base_url, o->integration_id);
	p->auth = rc_sprintf("Authorization: Bearer %s", key);
	p->org = rc_sprintf("X-Org: %s", o->org_id);
	rc_free_secret(key);
	*out = p;
	return RC_OK;
}

/* One call; path is relative to the integration. idem_key may be NULL. */
static int call(struct provider *p, const char *method, const char *path, json_t *body,
		const char *idem_key, struct http_resp *resp, struct rc_err *err)
{
	char *url = rc_sprintf("%s/%s", p->base, path), *text = NULL, *ik = NULL;
	const char *hdrs[6] = { p->auth, p->org, "Accept: application/json",
				"Content-Type: application/json", NULL, NULL };
	struct http_req req = { 0 };
	int rc;

	if (idem_key) {
		ik = rc_sprintf("Idempotency-Key: %s", idem_key);
		hdrs[4] = ik;
	}
	if (body)
		text = json_dumps(body, JSON_COMPACT);
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = text;
	req.body_len = text ? strlen(text) : 0;
	/* with an Idempotency-Key even a create may be retried */
	req.idempotent = strcmp(method, "POST") != 0 || idem_key != NULL;
	rc = http_do(p->http, &req, resp, err);
	if (rc)
		rc_err_prefix(err, "OpenApp");
	free(url);
	free(text);
	free(ik);
	return rc;
}

static int api_error(const char *what, const struct http_resp *r, struct rc_err *err)
{
	json_t *j = json_loadb(r->body.p ? r->body.p : "", r->body.len, 0, NULL);
	const char *code = json_string_value(json_object_get(j, "error_code"));
	const char *msg = json_string_value(json_object_get(j, "message"));
	int rc;

	rc = rc_errf(err, r->status == 401 || r->status == 403 ? RC_EAUTH
			  : r->status == 404 ? RC_ENOTFOUND : RC_EVENDOR,
		     "OpenApp: %s: HTTP %ld%s%s%s%s%s", what, r->status, code ? " " : "",
		     code ? code : "", msg ? " (" : "", msg ? msg : "", msg ? ")" : "");
	json_decref(j);
	return rc;
}

static const char *js(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The invite's portal ids, sorted and comma-joined (arena string). */
static const char *portal_list(struct obs_site *o, json_t *inv)
{
	json_t *g = json_object_get(inv, "granted_portals"), *x;
	const char *ids[64];
	struct rc_buf b;
	size_t i, n = 0;
	const char *s;

	if (!json_is_array(g))
		g = json_object_get(inv, "portal_ids");
	json_array_foreach(g, i, x) {
		const char *id = json_is_string(x) ? json_string_value(x) : js(x, "id");

		if (id && n < 64)
			ids[n++] = id;
	}
	qsort(ids, n, sizeof(ids[0]), cmp_str);
	rc_buf_init(&b);
	for (i = 0; i < n; i++)
		rc_buf_printf(&b, "%s%s", i ? "," : "", ids[i]);
	s = rc_arena_strdup(&o->arena, b.p ? b.p : "");
	rc_buf_free(&b);
	return s;
}

static bool ours(const struct provider *p, json_t *inv)
{
	const char *name = js(inv, "name");
	size_t n = name ? strlen(name) : 0, m = strlen(p->site->name);

	return name && n > m + 3 && !strcmp(name + n - m, p->site->name) &&
	       !strncmp(name + n - m - 3, " @ ", 3);
}

static void add_invite(const struct provider *p, struct obs_site *o, json_t *inv)
{
	const char *rec = js(json_object_get(inv, "external_ref"), "record_id");
	const char *state = js(inv, "state");
	struct obs_unit *u;
	struct obs_tenant *t;
	json_t *extra;
	char *ex;

	if (!rec || !ours(p, inv) || (state && (!strcmp(state, "revoked") || !strcmp(state, "expired"))))
		return;
	u = obs_add_unit(o, rec);
	t = obs_add_tenant(o, u);
	t->vendor_id = rc_arena_strdup(&o->arena, js(inv, "id"));
	t->rental_id = rc_arena_strdup(&o->arena, rec);
	t->enabled = json_is_true(json_object_get(inv, "is_enabled"));
	u->status = t->enabled ? VU_RENTED : VU_DELINQUENT;
	extra = json_pack("{s:s, s:s?, s:s?, s:O?}", "p", portal_list(o, inv), "f",
			  js(inv, "valid_from"), "t", js(inv, "valid_to"), "m",
			  json_object_get(inv, "max_uses"));
	ex = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
	t->extra = rc_arena_strdup(&o->arena, ex);
	free(ex);
	json_decref(extra);
}

static int oa_refresh(struct provider *p, struct obs_site *o,
		      void (*hash_fn)(const char *, unsigned char *, void *), void *hp,
		      struct rc_err *err)
{
	struct http_resp resp;
	size_t offset = 0, total = 0, i;
	char path[128];
	json_t *j = NULL, *items, *inv;
	int rc = RC_OK;

	(void)hash_fn;
	(void)hp;
	do {
		snprintf(path, sizeof(path), "access-invites?external_source=storeganise&limit=200&offset=%zu",
			 offset);
		http_resp_init(&resp);
		rc = call(p, "GET", path, NULL, NULL, &resp, err);
		if (!rc && resp.status != 200)
			rc = api_error("listing the invites", &resp, err);
		if (!rc) {
			j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
			items = json_object_get(j, "items");
			if (!json_is_array(items) || !json_is_integer(json_object_get(j, "total")))
				rc = rc_errf(err, RC_EPARSE, "OpenApp: the invite list is not {items, total}");
		}
		http_resp_free(&resp);
		if (rc)
			break;
		total = (size_t)json_integer_value(json_object_get(j, "total"));
		json_array_foreach(items, i, inv)
			add_invite(p, o, inv);
		offset += json_array_size(items);
		if (!json_array_size(items))
			break;
		json_decref(j);
		j = NULL;
	} while (offset < total);
	json_decref(j);
	obs_site_index(o);
	return rc;
}

static json_t *invite_body(const struct provider *p, const struct op *op, unsigned changed,
			   bool create)
{
	json_t *b = json_object(), *pids = json_array();
	const char *s = op->t.portals ? op->t.portals : "";

	while (*s) {
		size_t n = strcspn(s, ",");

		json_array_append_new(pids, json_stringn(s, n));
		s += n + (s[n] == ',');
	}
	if (create) {
		json_object_set_new(b, "name", json_sprintf("Storeganise rental %s @ %s", op->rental_id,
							     p->site->name));
		json_object_set_new(b, "external_ref", json_pack("{s:s, s:s}", "source", "storeganise",
								 "record_id", op->rental_id));
	}
	if (changed & TF_PORTALS)
		json_object_set_new(b, "portal_ids", pids);
	else
		json_decref(pids);
	if (changed & TF_WINDOW) {
		json_object_set_new(b, "schedules", json_pack("[{s:s, s:s}]", "valid_from",
			op->t.valid_from ? op->t.valid_from : "", "valid_to",
			op->t.valid_to ? op->t.valid_to : ""));
		json_object_set_new(b, "max_uses", op->t.max_uses > 0 ? json_integer(op->t.max_uses)
								      : json_null());
	}
	if (changed & TF_ENABLED)
		json_object_set_new(b, "is_enabled", json_boolean(op->t.enabled));
	return b;
}

/* A new one-time link for an invite whose URL was not seen: an idempotent
 * replay of a create answers without it. */
static int relink(struct provider *p, struct op_result *res, struct rc_err *err)
{
	struct http_resp resp;
	char path[160];
	json_t *j;
	int rc;

	snprintf(path, sizeof(path), "access-invites/%s/regenerate-token", res->vendor_id);
	http_resp_init(&resp);
	rc = call(p, "POST", path, NULL, NULL, &resp, err);
	if (!rc && resp.status != 200)
		rc = api_error("renewing the invite link", &resp, err);
	if (!rc) {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		if (js(j, "invite_url"))
			res->secret = rc_strdup(js(j, "invite_url"));
		json_decref(j);
		explicit_bzero(resp.body.p, resp.body.len);
	}
	http_resp_free(&resp);
	return rc;
}

static int oa_apply(struct provider *p, const struct op *op, provider_code_fn code_fn,
		    void *cp, struct op_result *res, struct rc_err *err)
{
	struct http_resp resp;
	json_t *body = NULL, *j;
	char path[160], what[160], key[200];
	const char *method = "POST";
	int rc;

	(void)code_fn;
	(void)cp;
	memset(res, 0, sizeof(*res));
	switch (op->kind) {
	case OP_TENANT_CREATE:
		snprintf(path, sizeof(path), "access-invites");
		snprintf(key, sizeof(key), "reconcile:%s:%s", p->site->name, op->rental_id);
		body = invite_body(p, op, TF_INVITE_ALL, true);
		snprintf(what, sizeof(what), "creating the invite of rental %s", op->rental_id);
		break;
	case OP_TENANT_UPDATE:
		snprintf(path, sizeof(path), "access-invites/%s", op->tenant_vid);
		method = "PUT";
		body = invite_body(p, op, op->changed, false);
		snprintf(what, sizeof(what), "updating invite %s (rental %s)", op->tenant_vid, op->rental_id);
		break;
	case OP_UNIT_VACATE:
		if (p->site->openapp.delete_on_vacate) {
			snprintf(path, sizeof(path), "access-invites/%s", op->tenant_vid);
			method = "DELETE";
		} else {
			snprintf(path, sizeof(path), "access-invites/%s/revoke", op->tenant_vid);
		}
		snprintf(what, sizeof(what), "%s invite %s (rental %s)",
			 p->site->openapp.delete_on_vacate ? "deleting" : "revoking", op->tenant_vid,
			 op->unit);
		break;
	default:
		return rc_errf(err, RC_EINVAL, "OpenApp cannot perform %s", op_kind_name(op->kind));
	}
	http_resp_init(&resp);
	rc = call(p, method, path, body, op->kind == OP_TENANT_CREATE ? key : NULL, &resp, err);
	if (rc) {
		res->in_doubt = resp.timed_out || resp.status == 0;
	} else if (resp.status < 200 || resp.status > 299) {
		rc = api_error(what, &resp, err);
		res->in_doubt = resp.status >= 500 && op->kind == OP_TENANT_CREATE;
	} else if (op->kind == OP_TENANT_CREATE) {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		snprintf(res->vendor_id, sizeof(res->vendor_id), "%s",
			 js(j, "invite_link_id") ? js(j, "invite_link_id") : js(j, "id") ? js(j, "id") : "");
		if (js(j, "invite_url"))
			res->secret = rc_strdup(js(j, "invite_url"));
		json_decref(j);
		explicit_bzero(resp.body.p, resp.body.len); /* token and URL */
		if (!res->secret && res->vendor_id[0])
			rc = relink(p, res, err); /* a replay carries no URL (OA4) */
	}
	http_resp_free(&resp);
	json_decref(body);
	return rc;
}

const struct provider_ops openapp_provider = {
	.name = "openapp",
	.caps = PROV_CAN_READ,
	.open = oa_open,
	.refresh = oa_refresh,
	.apply = oa_apply,
	.close = oa_close,
};
