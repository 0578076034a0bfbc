/*
 * openapp.c: the OpenApp provider (access invites, docs/vendor-apis.md §3).
 *
 * API model (what is UNKNOWN there is decided here and mirrored by
 * contrib/sim/sim_openapp.c):
 *  - every call: "Authorization: Bearer <API token>", "X-Org: <org ULID>";
 *    creates add an Idempotency-Key naming one invite of the rental (its
 *    k-th, idem_key), so that a retried create (timeout after the vendor
 *    committed) never makes two, and the create after a revoked invite
 *    makes a new one;
 *  - one invite per rental: external_ref {source "storeganise",
 *    record_id <rental id>}; its name "Storeganise rental <id> @ <site>"
 *    scopes it to the site when an integration serves several sites;
 *  - refresh lists the integration's invites filtered by external_source
 *    (limit 200 / offset until `total`); the observed "unit" is the rental
 *    id, its tenant the rental's current invite (live, else the latest
 *    expired), its vendor id the key of the rental's current or next
 *    invite (revoked ones counted);
 *  - create sends schedules[] (the current spec), answers the one-time
 *    invite_url, handed back as op_result.secret (written to the PMS, OA4);
 *    a replayed create has none: the link is renewed (regenerate-token);
 *  - update is one PUT carrying every changed field (is_enabled, schedules,
 *    portal_ids, max_uses), then a renewed link when the plan keeps the
 *    op's result (the PMS lost the URL); vacate is revoke, or DELETE when
 *    the spec asks;
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
		rc = http_client_peer(&p->http, site->http, "openapp", err);
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
	/* with an Idempotency-Key even a create may be retried; a second
	 * renewal of a link only replaces one that nobody has */
	req.idempotent = strcmp(method, "POST") != 0 || idem_key != NULL ||
			 strstr(path, "/regenerate-token") != NULL;
	req.parse_json = true; /* a cut answer: read again, or in doubt */
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

/* ------------------------------------------------- idempotency keys (OA5) */

/* One key names one invite of a rental: its k-th, counting those the
 * vendor shows revoked or replaced. "reconcile:<site>:<rental>" is the
 * first (the key of earlier versions), "...:<k>" the k-th. A retried or
 * in-doubt create sees the same invites, hence sends the same key; the
 * create after a revoked invite sends a new one. (new string) */
static char *idem_key(const char *site, const char *rental, unsigned k)
{
	return k > 1 ? rc_sprintf("reconcile:%s:%s:%u", site, rental, k)
		     : rc_sprintf("reconcile:%s:%s", site, rental);
}

/* k of a key idem_key made for this rental; 1 when it names none. */
static unsigned key_index(const char *key, const char *site, const char *rental)
{
	char *base = idem_key(site, rental, 1);
	size_t n = strlen(base);
	unsigned k = 1;

	if (key && !strncmp(key, base, n) && key[n] == ':')
		k = (unsigned)strtoul(key + n + 1, NULL, 10);
	free(base);
	return k > 1 ? k : 1;
}

/* ------------------------------------------------------------ refresh */

/* The invites of one rental the listing showed. */
struct seen {
	const char *rental;  /* obs arena */
	json_t *cur;         /* new ref: the live one, else the latest expired */
	unsigned n;          /* all of them, cur included */
};

struct listing {
	struct rc_map idx;   /* rental -> index in v */
	struct seen *v;
	size_t n, cap;
};

static bool is_state(json_t *inv, const char *st)
{
	return rc_streq(js(inv, "state"), st);
}

/* Whether inv is a better current invite than cur: a live one (active,
 * disabled, scheduled) stays; live beats expired; of two expired ones the
 * later window. */
static bool better(json_t *inv, json_t *cur)
{
	if (!cur)
		return true;
	if (!is_state(cur, "expired"))
		return false;
	if (!is_state(inv, "expired"))
		return true;
	return strcmp(js(inv, "valid_to") ?: "", js(cur, "valid_to") ?: "") > 0;
}

/* Revoked invites only count; an expired one is the rental's invite
 * while none is live (a later window revives it, OA2). */
static void list_add(const struct provider *p, struct obs_site *o, struct listing *l, json_t *inv)
{
	const char *rec = js(json_object_get(inv, "external_ref"), "record_id");
	struct seen *x;
	size_t i;

	if (!rec || !js(inv, "id") || !ours(p, inv))
		return;
	if (!rc_map_get(&l->idx, rec, &i)) {
		i = l->n;
		x = RC_PUSH(l->v, l->n, l->cap);
		x->rental = rc_arena_strdup(&o->arena, rec);
		rc_map_put(&l->idx, x->rental, i);
	}
	x = &l->v[i];
	x->n++;
	if (!is_state(inv, "revoked") && better(inv, x->cur)) {
		json_decref(x->cur);
		x->cur = json_incref(inv);
	}
}

static void add_tenant(struct obs_site *o, struct obs_unit *u, json_t *inv, const char *rec)
{
	struct obs_tenant *t = obs_add_tenant(o, u);
	json_t *extra;
	char *ex;

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

/* One observed "unit" per rental: its current invite as the tenant (none
 * when all are revoked), and as vendor id the key of the rental's
 * current invite, or of its next one when it has none. */
static void list_to_obs(const struct provider *p, struct obs_site *o, struct listing *l)
{
	struct obs_unit *u;
	char *key;
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct seen *x = &l->v[i];

		u = obs_add_unit(o, x->rental);
		u->status = VU_VACANT;
		key = idem_key(p->site->name, x->rental, x->n - (x->cur ? 1 : 0) + 1);
		u->vendor_id = rc_arena_strdup(&o->arena, key);
		free(key);
		if (x->cur)
			add_tenant(o, u, x->cur, x->rental);
		json_decref(x->cur);
	}
	free(l->v);
	rc_map_free(&l->idx);
}

/* One page (new *out) of the integration's invites. */
static int list_page(struct provider *p, size_t offset, json_t **out, struct rc_err *err)
{
	struct http_resp resp;
	char path[128];
	json_t *j = NULL;
	int rc;

	snprintf(path, sizeof(path), "access-invites?external_source=storeganise&limit=%u&offset=%zu",
		 p->site->http->page_size, offset);
	http_resp_init(&resp);
	rc = call(p, "GET", path, NULL, NULL, &resp, err);
	if (!rc && resp.status != 200)
		rc = api_error("listing the invites", &resp, err);
	if (!rc) {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		if (!json_is_array(json_object_get(j, "items")) ||
		    !json_is_integer(json_object_get(j, "total")))
			rc = rc_errf(err, RC_EPARSE, "OpenApp: the invite list is not {items, total}");
	}
	http_resp_free(&resp);
	if (rc)
		json_decref(j);
	*out = rc ? NULL : j;
	return rc;
}

/* Every invite of the integration, revoked and expired ones included
 * (they tell the rental's next key, and an expired invite may be revived),
 * paged until `total` or an empty page. */
static int oa_refresh(struct provider *p, struct obs_site *o,
		      const struct rc_hasher *hash, struct rc_err *err)
{
	struct listing l;
	size_t offset = 0, total = 0, i, got = 0;
	json_t *j = NULL, *inv;
	int rc = RC_OK;

	(void)hash;
	memset(&l, 0, sizeof(l));
	rc_map_init(&l.idx);
	do {
		rc = list_page(p, offset, &j, err);
		if (rc)
			break;
		total = (size_t)json_integer_value(json_object_get(j, "total"));
		json_array_foreach(json_object_get(j, "items"), i, inv)
			list_add(p, o, &l, inv);
		got = json_array_size(json_object_get(j, "items"));
		offset += got;
		json_decref(j);
	} while (got && offset < total);
	list_to_obs(p, o, &l);
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

/* One call answered 2xx, else an error; res learns whether the vendor
 * may have acted (in doubt) and any Retry-After. The caller frees resp. */
static int send(struct provider *p, const char *method, const char *path, json_t *body,
		const char *key, const char *what, bool idempotent, struct http_resp *resp,
		struct op_result *res, struct rc_err *err)
{
	int rc = call(p, method, path, body, key, resp, err);

	if (!rc && (resp->status < 200 || resp->status > 299))
		rc = api_error(what, resp, err);
	if (rc) {
		res->in_doubt = http_op_in_doubt(resp, idempotent);
		res->retry_after = resp->retry_after;
	}
	return rc;
}

/* A new one-time link for invite id (OA4) into res->secret. *gone: the
 * vendor says the invite is no more (404, or revoked). Renewing twice is
 * harmless (nobody holds a link the PMS never got): idempotent. */
static int relink(struct provider *p, const char *id, struct op_result *res, bool *gone,
		  struct rc_err *err)
{
	struct http_resp resp;
	char path[160], what[160];
	json_t *j;
	int rc;

	snprintf(path, sizeof(path), "access-invites/%s/regenerate-token", id);
	snprintf(what, sizeof(what), "renewing the link of invite %s", id);
	http_resp_init(&resp);
	rc = send(p, "POST", path, NULL, NULL, what, true, &resp, res, err);
	if (gone) {
		j = rc ? json_loadb(resp.body.p, resp.body.len, 0, NULL) : NULL;
		*gone = resp.status == 404 || rc_streq(js(j, "error_code"), "invitation_revoked");
		json_decref(j);
	}
	if (!rc) {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		if (js(j, "invite_url"))
			res->secret = rc_strdup(js(j, "invite_url"));
		json_decref(j);
		if (!res->secret)
			rc = rc_errf(err, RC_EVENDOR, "OpenApp %s: the answer holds no invite_url", what);
	}
	explicit_bzero(resp.body.p, resp.body.len); /* token and URL */
	http_resp_free(&resp);
	return rc;
}

/* One POST access-invites of body under key: the new invite's id and URL
 * into res (a replay, the vendor having kept the key, has no URL).
 * *conflict: the vendor holds the key for another body (409
 * idempotency_key_conflict). */
static int post_create(struct provider *p, const struct op *op, json_t *body, const char *key,
		       struct op_result *res, bool *conflict, struct rc_err *err)
{
	struct http_resp resp;
	char what[160];
	json_t *j;
	int rc;

	snprintf(what, sizeof(what), "creating the invite of rental %s", op->rental_id);
	http_resp_init(&resp);
	rc = send(p, "POST", "access-invites", body, key, what, false, &resp, res, err);
	j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
	*conflict = rc && resp.status == 409 && rc_streq(js(j, "error_code"), "idempotency_key_conflict");
	if (!rc) {
		snprintf(res->vendor_id, sizeof(res->vendor_id), "%s",
			 js(j, "invite_link_id") ? js(j, "invite_link_id") : js(j, "id") ? js(j, "id") : "");
		if (js(j, "invite_url"))
			res->secret = rc_strdup(js(j, "invite_url"));
		if (!res->vendor_id[0])
			rc = rc_errf(err, RC_EVENDOR, "OpenApp %s: the answer holds no invite id", what);
	}
	json_decref(j);
	explicit_bzero(resp.body.p, resp.body.len); /* token and URL */
	http_resp_free(&resp);
	return rc;
}

/* The create under the key the refresh derived (op->unit_vid, else the
 * rental's first). A replay is followed by a renewed link (OA4). When the
 * key cannot make this invite (it replays an invite gone or revoked
 * since, as a vendor keeping keys longer than invites does, and a
 * deletion the refresh cannot count; or the vendor holds it for another
 * body), the create is sent again under "<key>~<digest of the body>": a
 * retry of this attempt still sends the same keys. */
#define OA_KEY_TRIES 4

static int create_invite(struct provider *p, const struct op *op, struct op_result *res,
			 struct rc_err *err)
{
	json_t *body = invite_body(p, op, TF_INVITE_ALL, true);
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS), *next;
	char *key = op->unit_vid && *op->unit_vid ? rc_strdup(op->unit_vid)
						   : idem_key(p->site->name, op->rental_id, 1);
	bool gone = false, conflict = false;
	unsigned i;
	int rc = RC_OK;

	for (i = 0; i < OA_KEY_TRIES; i++) {
		rc = post_create(p, op, body, key, res, &conflict, err);
		if (!rc && !res->secret)
			rc = relink(p, res->vendor_id, res, &gone, err);
		if (!rc || !(conflict || gone))
			break;
		rc_err_clear(err);
		next = rc_sprintf("%s~%016llx", key, (unsigned long long)rc_hash_str(text));
		free(key);
		key = next;
		memset(res, 0, sizeof(*res));
		conflict = gone = false;
	}
	if (i == OA_KEY_TRIES)
		rc = rc_errf(err, RC_EVENDOR, "OpenApp: creating the invite of rental %s: %d idempotency "
			     "keys in a row named invites that are gone; create it by hand",
			     op->rental_id, OA_KEY_TRIES);
	free(key);
	free(text);
	json_decref(body);
	return rc;
}

/* The changed groups in one PUT; an update whose result the plan keeps
 * (result_slot) also renews the link, for the PMS write after it (OA4). */
static int update_invite(struct provider *p, const struct op *op, struct op_result *res,
			 struct rc_err *err)
{
	struct http_resp resp;
	char path[160], what[160];
	json_t *body;
	int rc = RC_OK;

	if (op->changed) {
		snprintf(path, sizeof(path), "access-invites/%s", op->tenant_vid);
		snprintf(what, sizeof(what), "updating invite %s (rental %s)", op->tenant_vid,
			 op->rental_id);
		body = invite_body(p, op, op->changed, false);
		http_resp_init(&resp);
		rc = send(p, "PUT", path, body, NULL, what, true, &resp, res, err);
		http_resp_free(&resp);
		json_decref(body);
	}
	if (!rc && op->result_slot >= 0)
		rc = relink(p, op->tenant_vid, res, NULL, err);
	return rc;
}

static int oa_apply(struct provider *p, const struct op *op, provider_code_fn code_fn,
		    void *cp, struct op_result *res, struct rc_err *err)
{
	struct http_resp resp;
	char path[160], what[160];
	bool del = p->conf->delete_on_vacate;
	int rc;

	(void)code_fn;
	(void)cp;
	memset(res, 0, sizeof(*res));
	if (op->kind == OP_TENANT_CREATE)
		return create_invite(p, op, res, err);
	if (op->kind == OP_TENANT_UPDATE)
		return update_invite(p, op, res, err);
	if (op->kind != OP_UNIT_VACATE)
		return rc_errf(err, RC_EINVAL, "OpenApp cannot perform %s", op_kind_name(op->kind));
	snprintf(path, sizeof(path), del ? "access-invites/%s" : "access-invites/%s/revoke",
		 op->tenant_vid);
	snprintf(what, sizeof(what), "%s invite %s (rental %s)", del ? "deleting" : "revoking",
		 op->tenant_vid, op->unit);
	http_resp_init(&resp);
	rc = send(p, del ? "DELETE" : "POST", path, NULL, NULL, what, true, &resp, res, err);
	http_resp_free(&resp);
	return rc;
}

/* A create whose answer was lost: the rental's live invite, if OpenApp
 * made it, adopted with a new one-time link (the first went with the
 * lost answer). */
static int oa_settle(struct provider *p, const struct op *op, provider_code_fn code_fn,
		     void *cp, struct op_result *res, struct rc_err *err)
{
	struct http_resp resp;
	char path[256], *rec = http_escape(op->rental_id);
	json_t *j, *inv, *found = NULL;
	size_t i;
	int rc;

	(void)code_fn;
	(void)cp;
	memset(res, 0, sizeof(*res));
	snprintf(path, sizeof(path), "access-invites?external_source=storeganise&external_record_id=%s", rec);
	free(rec);
	http_resp_init(&resp);
	rc = call(p, "GET", path, NULL, NULL, &resp, err);
	if (!rc && resp.status != 200)
		rc = api_error("looking for an unanswered invite", &resp, err);
	j = rc ? NULL : json_loadb(resp.body.p, resp.body.len, 0, NULL);
	json_array_foreach(json_object_get(j, "items"), i, inv) {
		const char *state = js(inv, "state");

		if (ours(p, inv) && !(state && (!strcmp(state, "revoked") || !strcmp(state, "expired"))))
			found = inv;
	}
	if (found) {
		snprintf(res->vendor_id, sizeof(res->vendor_id), "%s", js(found, "id") ?: "");
		rc = relink(p, res->vendor_id, res, NULL, err);
	} else if (!rc) {
		rc = rc_errf(err, RC_ENOTFOUND, "OpenApp: rental %s has no live invite", op->rental_id);
	}
	json_decref(j);
	http_resp_free(&resp);
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

/* An invite created or changed also holds its portals and window; the
 * key of a rental whose invite was revoked or deleted moves on, as the
 * next refresh will say (a deleted one it cannot count: the create then
 * settles on a new key, create_invite). */
static void oa_effect(struct obs_site *o, const struct op *op, const struct op_effect *e)
{
	struct obs_unit *u;
	char *key;
	size_t i;

	op_effect_default(o, op, e);
	u = obs_find_unit_mut(o, op->unit);
	if (u && op->kind == OP_UNIT_VACATE && op->rental_id) {
		key = idem_key(o->site, op->rental_id,
			       key_index(u->vendor_id, o->site, op->rental_id) + 1);
		u->vendor_id = rc_arena_strdup(&o->arena, key);
		free(key);
	}
	if ((op->kind != OP_TENANT_CREATE && op->kind != OP_TENANT_UPDATE) ||
	    !(op->changed & (TF_PORTALS | TF_WINDOW)))
		return;
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
		/* list routes page with limit + offset, at most 200 (vendor-apis.md §3.5) */
		.http = { .page_size = 200 },
		.page_max = 200,
	},
	.caps = VENDOR_CAN_READ,
	.open = oa_open,
	.refresh = oa_refresh,
	.apply = oa_apply,
	.settle = oa_settle,
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
