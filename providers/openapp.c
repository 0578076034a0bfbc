/*
 * openapp.c: the OpenApp provider (access invites, docs/vendor-apis.md §3).
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
#include "openapp.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "vendor.h"

struct provider {
	const struct spec_site *site;
	const struct openapp_conf *conf;
	struct http_client *http;
	char *base;           /* .../api/v1/integrations/<id> */
	char *auth;           /* "Authorization: Bearer ..." (secret) */
	char *org;            /* "X-Org: ..." */
};

/* ------------------------------------------------------------ settings */

static const struct spec_field_def oa_fields[OA_NFIELDS] = {
	[OA_F_PORTAL_IDS] = { "oa_portal_ids", "openapp_portalIds", PMS_OBJ_UNIT },
	[OA_F_INVITE_URL] = { "oa_invite_url", "openapp_inviteUrl", PMS_OBJ_RENTAL },
};

static void oa_conf_free(void *conf)
{
	struct openapp_conf *a = conf;

	free(a->base_url);
	spec_secret_free(&a->api_key);
	free(a->org_id);
	free(a->integration_id);
	spec_strs_free(a->lobby_portal_ids, a->nlobby_portal_ids);
	free(a);
}

static int oa_conf_load(struct spec_ld *l, json_t *o, const char *path, void **out)
{
	static const char *const keys[] = { "base_url", "api_key_env", "api_key_file", "org_id",
		"integration_id", "lobby_portal_ids", "max_uses", "validity_days",
		"delete_on_vacate", NULL };
	struct openapp_conf *a = rc_calloc(1, sizeof(*a));
	int rc = spec_check_keys(l, o, path, keys);

	if (!rc)
		rc = spec_get_url(l, o, path, "base_url", true, &a->base_url);
	if (!rc)
		rc = spec_get_secret(l, o, path, "api_key", false, true, &a->api_key);
	if (!rc)
		rc = spec_get_str(l, o, path, "org_id", true, &a->org_id);
	if (!rc)
		rc = spec_get_str(l, o, path, "integration_id", true, &a->integration_id);
	if (!rc)
		rc = spec_get_int(l, o, path, "max_uses", 1, LONG_MAX, -1, &a->max_uses);
	if (!rc)
		rc = spec_get_int(l, o, path, "validity_days", 0, 36500, 0, &a->validity_days);
	if (!rc)
		rc = spec_get_bool(l, o, path, "delete_on_vacate", false, &a->delete_on_vacate);
	if (!rc)
		rc = spec_get_strs(l, o, path, "lobby_portal_ids", &a->lobby_portal_ids,
				   &a->nlobby_portal_ids);
	if (rc) {
		oa_conf_free(a);
		return rc;
	}
	*out = a;
	return RC_OK;
}

static void oa_conf_secrets(const void *conf, spec_secret_cb fn, void *payload)
{
	fn(&((const struct openapp_conf *)conf)->api_key, "openapp.api_key", payload);
}

/* ------------------------------------------------------------ session */

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
	const struct openapp_conf *o = site->conf;
	struct provider *p = rc_calloc(1, sizeof(*p));
	char *key = NULL;
	int rc;

	(void)pms_site;
	p->site = site;
	p->conf = o;
	rc = spec_secret_read(&o->api_key, "the OpenApp API token", NULL, &key, err);
	if (!rc)
		rc = http_client_new(&p->http, &(struct http_opts){ .pool = "openapp" }, err);
	if (rc) {
		rc_free_secret(key);
		oa_close(p);
		return rc;
	}
	p->base = rc_sprintf("%s/integrations/%s", o->base_url, o->integration_id);
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
	return http_status_error("OpenApp", what, r, NULL, 0, err);
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
		      const struct rc_hasher *hash, struct rc_err *err)
{
	struct http_resp resp;
	size_t offset = 0, total = 0, i;
	char path[128];
	json_t *j = NULL, *items, *inv;
	int rc = RC_OK;

	(void)hash;
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
		if (p->conf->delete_on_vacate) {
			snprintf(path, sizeof(path), "access-invites/%s", op->tenant_vid);
			method = "DELETE";
		} else {
			snprintf(path, sizeof(path), "access-invites/%s/revoke", op->tenant_vid);
		}
		snprintf(what, sizeof(what), "%s invite %s (rental %s)",
			 p->conf->delete_on_vacate ? "deleting" : "revoking", op->tenant_vid,
			 op->unit);
		break;
	default:
		return rc_errf(err, RC_EINVAL, "OpenApp cannot perform %s", op_kind_name(op->kind));
	}
	http_resp_init(&resp);
	rc = call(p, method, path, body, op->kind == OP_TENANT_CREATE ? key : NULL, &resp, err);
	if (rc) {
		res->in_doubt = http_op_in_doubt(&resp, op->kind != OP_TENANT_CREATE);
		res->retry_after = resp.retry_after;
	} else if (resp.status < 200 || resp.status > 299) {
		rc = api_error(what, &resp, err);
		res->in_doubt = http_op_in_doubt(&resp, op->kind != OP_TENANT_CREATE);
		res->retry_after = resp.retry_after;
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

/* ----------------------------------------------------------- descriptor */

vendor_diff_fn diff_openapp; /* reconciler/diff_openapp.c */

/* The invite's portals and window, as refresh records them in extra. */
static void invite_extra(struct obs_site *o, struct obs_tenant *t, const struct op *op)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "p", op->t.portals ? op->t.portals : "", "f",
			      op->t.valid_from ? op->t.valid_from : "", "t",
			      op->t.valid_to ? op->t.valid_to : "");
	char *s;

	if (op->t.max_uses > 0)
		json_object_set_new(j, "m", json_integer(op->t.max_uses));
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	t->extra = rc_arena_strdup(&o->arena, s);
	free(s);
	json_decref(j);
}

/* An invite created or changed also holds its portals and window. */
static void oa_effect(struct obs_site *o, const struct op *op, const struct op_effect *e)
{
	struct obs_unit *u;
	size_t i;

	op_effect_default(o, op, e);
	if ((op->kind != OP_TENANT_CREATE && op->kind != OP_TENANT_UPDATE) ||
	    !(op->changed & (TF_PORTALS | TF_WINDOW)))
		return;
	u = obs_find_unit_mut(o, op->unit);
	for (i = 0; u && i < u->ntenants; i++)
		if (rc_streq(u->tenants[i].vendor_id,
			     op->kind == OP_TENANT_CREATE ? e->vendor_id : e->tenant_vid))
			invite_extra(o, &u->tenants[i], op);
}

static const struct vendor_label oa_labels[] = {
	{ TF_ENABLED, "status_mismatch", "OA3", "invite" },
	{ TF_PORTALS, "portals_mismatch", "OA1", "portals" },
	{ TF_WINDOW, "validity_mismatch", "OA2", "validity" },
};

/* The demo: each invite, its rental and portals. */
static void oa_sim_describe(json_t *state, struct rc_buf *out)
{
	json_t *x;
	size_t i;

	json_array_foreach(json_object_get(state, "invites"), i, x)
		rc_buf_printf(out, "OpenApp: invite %s for rental %s on %zu portals (door + lobby), %s; "
			      "its one-time URL went to the rental's custom field only\n",
			      js(x, "id") ?: "?", js(json_object_get(x, "external_ref"), "record_id") ?: "?",
			      json_array_size(json_object_get(x, "granted_portals")),
			      json_is_true(json_object_get(x, "is_enabled")) ? "enabled" : "disabled");
}

const struct vendor openapp_vendor = {
	.spec = {
		.name = "openapp",
		.title = "OpenApp",
		.fields = oa_fields,
		.nfields = OA_NFIELDS,
		.conf_load = oa_conf_load,
		.conf_free = oa_conf_free,
		.conf_secrets = oa_conf_secrets,
	},
	.caps = VENDOR_CAN_READ,
	.open = oa_open,
	.refresh = oa_refresh,
	.apply = oa_apply,
	.close = oa_close,
	.diff = diff_openapp,
	.effect = oa_effect,
	.map_field = OA_F_PORTAL_IDS,
	.overlock_field = -1, /* delinquent = overdue: the invite is disabled (OA3) */
	.map_flags = 0,       /* units may share portals */
	.code_on = PMS_OBJ_NONE,
	.code_field = -1,
	.scope = VENDOR_SCOPE_RENTAL,
	.records = VENDOR_RECORDS_RENTALS, /* an invite per rental, named by its id */
	.tenant_word = "invite",
	.labels = oa_labels,
	.nlabels = sizeof(oa_labels) / sizeof(oa_labels[0]),
	.sim_describe = oa_sim_describe,
};
