/*
 * opentech.c: the OpenTech Alliance (INSOMNIAC CIA / IoE) provider.
 *
 * API model (docs/vendor-apis.md §1; what is UNKNOWN there is decided here and
 * mirrored by contrib/sim/sim_opentech.c):
 *  - auth: POST {auth}/auth/token, form grant_type=password, username = the
 *    operator's API key, password = API secret, client_id/client_secret =
 *    the integrator's application. JSON {access_token, expires_in (seconds)}.
 *    The token is reused until 60 s before expiry (half its life when that
 *    is under 2 min); a 401 still triggers one new grant and one retry.
 *  - every Access Control call: Bearer token, "api-version: 2.0".
 *  - hosts: production *.insomniaccia.com, testing *.insomniaccia-dev.com;
 *    the spec's base_url replaces both (simulator).
 *  - the spec's property number is resolved to the numeric facility id with
 *    GET /facilities (cached for the session).
 *  - refresh: GET /facilities/{fid}/units and /visitors; a tenant is a
 *    visitor with isTenant true. Codes, when the vendor returns them, are
 *    hashed on arrival; those of other visitors (guests, staff, vendors)
 *    are kept as hashes only, as codes in use (R6).
 *  - 409 counts as "already in the requested state" (success).
 */
#define _GNU_SOURCE
#include "opentech.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "vendor.h"

struct provider {
	const struct spec_site *site;
	const struct opentech_conf *conf;
	struct http_client *http;
	char *auth_base;
	char *ac_base;
	char *api_key, *api_secret, *client_id, *client_secret; /* secrets */
	struct http_token token;
	char facility_id[32];
};

/* ------------------------------------------------------------ settings */

static const struct spec_field_def ot_fields[OT_NFIELDS] = {
	[OT_F_UNIT_ID] = { "ot_unit_id", "opentech_unitId", PMS_OBJ_UNIT },
	[OT_F_ACCESS_PROFILE] = { "ot_access_profile", "opentech_accessProfileId", PMS_OBJ_UNIT },
	[OT_F_TIME_GROUP] = { "ot_time_group", "opentech_timeGroupId", PMS_OBJ_UNIT },
	[OT_F_ACCESS_CODE] = { "ot_access_code", "opentech_accessCode", PMS_OBJ_RENTAL },
	[OT_F_OVERLOCKED] = { "ot_overlocked", "opentech_overlocked", PMS_OBJ_RENTAL },
	[OT_F_RESYNC] = { "ot_resync", "opentech_resync", PMS_OBJ_RENTAL },
};

static void ot_conf_free(void *conf)
{
	struct opentech_conf *ot = conf;

	free(ot->environment);
	free(ot->base_url);
	free(ot->property_number);
	spec_secret_free(&ot->api_key);
	spec_secret_free(&ot->api_secret);
	spec_secret_free(&ot->client_id);
	spec_secret_free(&ot->client_secret);
	free(ot);
}

static int ot_conf_load(struct spec_ld *l, json_t *o, const char *path, void **out)
{
	static const char *const keys[] = { "environment", "base_url", "property_number",
		"api_key_env", "api_key_file", "api_secret_env", "api_secret_file",
		"client_id_env", "client_id_file", "client_secret_env", "client_secret_file",
		"access_profile_id", "time_group_id", NULL };
	struct opentech_conf *ot = rc_calloc(1, sizeof(*ot));
	int rc = spec_check_keys(l, o, path, keys);

	if (!rc)
		rc = spec_get_str(l, o, path, "environment", false, &ot->environment);
	if (!rc)
		rc = spec_get_url(l, o, path, "base_url", false, &ot->base_url);
	if (!rc && !!ot->environment == !!ot->base_url)
		rc = spec_fail(l, path, "give exactly one of \"environment\" (production or testing) or \"base_url\"");
	if (!rc && ot->environment && strcmp(ot->environment, "production") &&
	    strcmp(ot->environment, "testing"))
		rc = spec_fail(l, path, "environment must be \"production\" or \"testing\"");
	if (!rc)
		rc = spec_get_str(l, o, path, "property_number", true, &ot->property_number);
	if (!rc)
		rc = spec_get_secret(l, o, path, "api_key", false, true, &ot->api_key);
	if (!rc)
		rc = spec_get_secret(l, o, path, "api_secret", false, true, &ot->api_secret);
	if (!rc)
		rc = spec_get_secret(l, o, path, "client_id", false, true, &ot->client_id);
	if (!rc)
		rc = spec_get_secret(l, o, path, "client_secret", false, true, &ot->client_secret);
	if (!rc)
		rc = spec_get_int(l, o, path, "access_profile_id", 0, LONG_MAX, -1, &ot->access_profile_id);
	if (!rc)
		rc = spec_get_int(l, o, path, "time_group_id", 0, LONG_MAX, -1, &ot->time_group_id);
	if (rc) {
		ot_conf_free(ot);
		return rc;
	}
	*out = ot;
	return RC_OK;
}

static void ot_conf_secrets(const void *conf, spec_secret_cb fn, void *payload)
{
	const struct opentech_conf *ot = conf;

	fn(&ot->api_key, "opentech.api_key", payload);
	fn(&ot->api_secret, "opentech.api_secret", payload);
	fn(&ot->client_id, "opentech.client_id", payload);
	fn(&ot->client_secret, "opentech.client_secret", payload);
}

/* ------------------------------------------------------------ session */

static void ot_close(struct provider *p);

static int ot_open(struct provider **out, const struct spec_site *site,
		   const struct pms_site *pms_site, struct rc_err *err)
{
	const struct opentech_conf *o = site->conf;
	struct provider *p = rc_calloc(1, sizeof(*p));
	int rc;

	(void)pms_site;
	p->site = site;
	p->conf = o;
	if (o->base_url) {
		p->auth_base = rc_strdup(o->base_url);
		p->ac_base = rc_strdup(o->base_url);
	} else if (o->environment && !strcmp(o->environment, "testing")) {
		p->auth_base = rc_strdup("https://auth.insomniaccia-dev.com");
		p->ac_base = rc_strdup("https://accesscontrol.insomniaccia-dev.com");
	} else {
		p->auth_base = rc_strdup("https://auth.insomniaccia.com");
		p->ac_base = rc_strdup("https://accesscontrol.insomniaccia.com");
	}
	rc = spec_secret_read(&o->api_key, "the OpenTech API key", NULL, &p->api_key, err);
	if (!rc)
		rc = spec_secret_read(&o->api_secret, "the OpenTech API secret",
				      NULL, &p->api_secret, err);
	if (!rc)
		rc = spec_secret_read(&o->client_id, "the OpenTech client id",
				      NULL, &p->client_id, err);
	if (!rc)
		rc = spec_secret_read(&o->client_secret, "the OpenTech client secret",
				      NULL, &p->client_secret, err);
	if (!rc)
		rc = http_client_peer(&p->http, site->http, "opentech", err);
	if (rc) {
		ot_close(p); /* frees what was read */
		return rc;
	}
	*out = p;
	return RC_OK;
}

static void ot_close(struct provider *p)
{
	if (!p)
		return;
	http_client_free(p->http);
	free(p->auth_base);
	free(p->ac_base);
	rc_free_secret(p->api_key);
	rc_free_secret(p->api_secret);
	rc_free_secret(p->client_id);
	rc_free_secret(p->client_secret);
	http_token_free(&p->token);
	free(p);
}

/* The token grant (http_token_fetch_fn): a password grant of the
 * operator's key and secret for the integrator's application. */
static int fetch_token(void *payload, char **value, double *ttl, struct rc_err *err)
{
	const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded",
			       "Accept: application/json", NULL };
	struct provider *p = payload;
	struct http_req req = { 0 };
	struct http_resp resp;
	char *u = http_escape(p->api_key), *pw = http_escape(p->api_secret);
	char *ci = http_escape(p->client_id), *cs = http_escape(p->client_secret);
	char *body, *url, msg[200];
	json_t *j = NULL, *tok, *exp;
	int rc;

	body = rc_sprintf("grant_type=password&username=%s&password=%s&client_id=%s&client_secret=%s",
			  u, pw, ci, cs);
	url = rc_sprintf("%s/auth/token", p->auth_base);
	http_resp_init(&resp);
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = strlen(body);
	req.idempotent = true; /* a token grant has no side effect */
	req.parse_json = true;
	rc = http_do(p->http, &req, &resp, err);
	if (rc) {
		rc_err_prefix(err, "OpenTech authentication");
		goto out;
	}
	if (resp.status != 200) {
		http_error_text(&resp.body, NULL, 0, msg, sizeof(msg));
		rc = rc_errf(err, RC_EAUTH,
			     "OpenTech authentication failed (HTTP %ld%s%s): check the API key/secret "
			     "and the client id/secret of site %s",
			     resp.status, *msg ? ", " : "", msg, p->site->name);
		goto out;
	}
	j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
	tok = json_object_get(j, "access_token");
	exp = json_object_get(j, "expires_in");
	if (!json_is_string(tok)) {
		rc = rc_errf(err, RC_EPARSE, "OpenTech authentication: no access_token in the answer");
		goto out;
	}
	*value = rc_strdup(json_string_value(tok));
	*ttl = json_is_integer(exp) ? (double)json_integer_value(exp) : 0;
out:
	json_decref(j);
	if (resp.body.p)
		explicit_bzero(resp.body.p, resp.body.len);
	http_resp_free(&resp);
	rc_free_secret(u);
	rc_free_secret(pw);
	rc_free_secret(ci);
	rc_free_secret(cs);
	rc_free_secret(body);
	free(url);
	return rc;
}

/* One Access Control call with token handling. path starts with '/'. */
static int ac_call(struct provider *p, const char *method, const char *path,
		   const char *body, bool idempotent, struct http_resp *resp,
		   struct rc_err *err)
{
	const char *hdrs[] = { "api-version: 2.0", "Accept: application/json",
			       "Content-Type: application/json", NULL };
	struct http_req req = { 0 };
	char *url = rc_sprintf("%s%s", p->ac_base, path);
	int rc;

	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.idempotent = idempotent;
	req.parse_json = true; /* a cut answer: read again, or in doubt */
	rc = http_do_bearer(p->http, &p->token, fetch_token, p, &req, resp, err);
	if (rc)
		rc_err_prefix(err, "OpenTech");
	free(url);
	return rc;
}

/* Map a non-2xx answer to an error naming what failed (the code sent,
 * if any, redacted from the vendor's text). */
static int ac_error(struct provider *p, const char *what, const struct http_resp *r,
		    const char *secret, struct rc_err *err)
{
	char msg[256];

	http_error_text(&r->body, &secret, 1, msg, sizeof(msg));
	switch (r->status) {
	case 400:
		return rc_errf(err, RC_EVENDOR, "OpenTech rejected %s: %s", what,
			       *msg ? msg : "invalid data");
	case 401:
		return rc_errf(err, RC_EAUTH,
			       "OpenTech refused the token for %s twice; check the credentials of site %s",
			       what, p->site->name);
	case 403:
		return rc_errf(err, RC_EAUTH,
			       "OpenTech: %s is not permitted for these credentials (site %s)",
			       what, p->site->name);
	case 404:
		return rc_errf(err, RC_ENOTFOUND,
			       "OpenTech: %s: not found (deleted or renamed in OpenTech?)", what);
	default:
		return http_status_error("OpenTech", what, r, &secret, 1, err);
	}
}

static int ac_get_json(struct provider *p, const char *path, json_t **out,
		       struct rc_err *err)
{
	struct http_resp resp;
	int rc;

	*out = NULL;
	http_resp_init(&resp);
	rc = ac_call(p, "GET", path, NULL, true, &resp, err);
	if (!rc && resp.status != 200)
		rc = ac_error(p, path, &resp, NULL, err);
	if (!rc) {
		*out = resp.json;
		resp.json = NULL;
		if (!*out)
			rc = rc_errf(err, RC_EPARSE, "OpenTech GET %s: an empty answer", path);
	}
	http_resp_free(&resp);
	return rc;
}

static int resolve_facility(struct provider *p, struct rc_err *err)
{
	const char *want = p->conf->property_number;
	json_t *arr = NULL, *f;
	size_t i;
	int rc;

	if (p->facility_id[0])
		return RC_OK;
	rc = ac_get_json(p, "/facilities", &arr, err);
	if (rc)
		return rc;
	if (!json_is_array(arr)) {
		json_decref(arr);
		return rc_errf(err, RC_EPARSE, "OpenTech GET /facilities: expected an array");
	}
	json_array_foreach(arr, i, f) {
		json_t *pn = json_object_get(f, "propertyNumber");
		json_t *id = json_object_get(f, "id");

		if (json_is_string(pn) && !strcmp(json_string_value(pn), want) &&
		    json_is_integer(id)) {
			snprintf(p->facility_id, sizeof(p->facility_id),
				 "%" JSON_INTEGER_FORMAT, json_integer_value(id));
			break;
		}
	}
	json_decref(arr);
	if (!p->facility_id[0])
		return rc_errf(err, RC_ENOTFOUND,
			       "OpenTech: no facility with property number \"%s\" in this account "
			       "(site %s; see Configuration > General > Property Number)",
			       want, p->site->name);
	return RC_OK;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long jlong(json_t *o, const char *k, long dflt)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

static void id_text(json_t *v, char *buf, size_t n)
{
	if (json_is_integer(v))
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, n, "%s", json_string_value(v));
	else
		buf[0] = '\0';
}

static enum vu_status parse_status(const char *s)
{
	if (!s)
		return VU_UNKNOWN;
	if (!strcmp(s, "Vacant"))
		return VU_VACANT;
	if (!strcmp(s, "Rented"))
		return VU_RENTED;
	if (!strcmp(s, "Delinquent"))
		return VU_DELINQUENT;
	return VU_UNKNOWN;
}

/* A code the facility holds for no tenant the engine manages: its keyed
 * hash is kept so that no generated code repeats it (R6). */
static void held_code(struct obs_site *o, const struct rc_hasher *hash, const char *code)
{
	unsigned char h[RC_HASH_LEN];

	if (!code || !*code)
		return;
	hash->fn(hash->payload, o->site, code, h);
	rc_buf_add(&o->held_codes, h, RC_HASH_LEN);
}

static int ot_refresh(struct provider *p, struct obs_site *o,
		      const struct rc_hasher *hash, struct rc_err *err)
{
	json_t *units = NULL, *vis = NULL, *it;
	struct rc_map by_id;
	char path[128], id[32];
	size_t i, k;
	int rc;

	rc_map_init(&by_id);
	rc = resolve_facility(p, err);
	if (rc)
		goto out;
	o->facility_id = rc_arena_strdup(&o->arena, p->facility_id);
	snprintf(path, sizeof(path), "/facilities/%s/units", p->facility_id);
	rc = ac_get_json(p, path, &units, err);
	if (!rc) {
		snprintf(path, sizeof(path), "/facilities/%s/visitors", p->facility_id);
		rc = ac_get_json(p, path, &vis, err);
	}
	if (rc)
		goto out;
	if (!json_is_array(units) || !json_is_array(vis)) {
		rc = rc_errf(err, RC_EPARSE, "OpenTech: unit or visitor list is not an array");
		goto out;
	}
	json_array_foreach(units, i, it) {
		struct obs_unit *u;
		const char *num = jstr(it, "unitNumber");

		if (!num)
			continue;
		u = obs_add_unit(o, num);
		id_text(json_object_get(it, "id"), id, sizeof(id));
		u->vendor_id = rc_arena_strdup(&o->arena, id);
		u->status = parse_status(jstr(it, "status"));
	}
	/* Index by vendor unit id after all adds (the array may move). */
	for (k = 0; k < o->nunits; k++)
		rc_map_put(&by_id, o->units[k].vendor_id, k);
	json_array_foreach(vis, i, it) {
		struct obs_tenant *t;
		const char *code = jstr(it, "code");

		id_text(json_object_get(it, "unitId"), id, sizeof(id));
		if (!json_is_true(json_object_get(it, "isTenant")) || !rc_map_get(&by_id, id, &k)) {
			held_code(o, hash, code); /* a guest's, staff's, vendor's: taken (R6) */
			continue;
		}
		t = obs_add_tenant(o, &o->units[k]);
		id_text(json_object_get(it, "id"), id, sizeof(id));
		t->vendor_id = rc_arena_strdup(&o->arena, id);
		t->first_name = rc_arena_strdup(&o->arena, jstr(it, "firstName"));
		t->last_name = rc_arena_strdup(&o->arena, jstr(it, "lastName"));
		t->email = rc_arena_strdup(&o->arena, jstr(it, "email"));
		t->phone = rc_arena_strdup(&o->arena, jstr(it, "mobilePhoneNumber"));
		t->access_profile = jlong(it, "accessProfileId", -1);
		t->time_group = jlong(it, "timeGroupId", -1);
		t->enabled = !json_is_false(json_object_get(it, "isEnabled"));
		if (code) {
			hash->fn(hash->payload, o->site, code, t->code_hash);
			t->code_known = true;
		}
	}
	obs_site_index(o);
out:
	json_decref(units);
	json_decref(vis);
	rc_map_free(&by_id);
	return rc;
}

/* The JSON body of a create or an update (only the `changed` fields). */
static char *tenant_body(const struct op *op, unsigned changed,
			 const char *code, bool create)
{
	json_t *b = json_object();
	char *s;

	if (create) {
		json_object_set_new(b, "unitId", json_integer(strtoll(op->unit_vid, NULL, 10)));
		json_object_set_new(b, "isTenant", json_true());
	}
	if (changed & TF_FIRST_NAME)
		json_object_set_new(b, "firstName", json_string(op->t.first_name ? op->t.first_name : ""));
	if (changed & TF_LAST_NAME)
		json_object_set_new(b, "lastName", json_string(op->t.last_name ? op->t.last_name : ""));
	if (changed & TF_EMAIL)
		json_object_set_new(b, "email", json_string(op->t.email ? op->t.email : ""));
	if (changed & TF_PHONE)
		json_object_set_new(b, "mobilePhoneNumber", json_string(op->t.phone ? op->t.phone : ""));
	if ((changed & TF_CODE) && code)
		json_object_set_new(b, "accessCode", json_string(code));
	if ((changed & TF_ACCESS_PROFILE) && op->t.access_profile >= 0)
		json_object_set_new(b, "accessProfileId", json_integer(op->t.access_profile));
	if ((changed & TF_TIME_GROUP) && op->t.time_group >= 0)
		json_object_set_new(b, "timeGroupId", json_integer(op->t.time_group));
	s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

/* A 404 on a visitor's action: the visitor is gone (deleted by hand).
 * Apply forgets it (res->gone), so the next plan creates the tenant again
 * even from the cache; a remove has then reached its goal. */
static int visitor_gone(const struct op *op, struct op_result *res, struct rc_err *err)
{
	res->gone = true;
	if (op->kind == OP_TENANT_REMOVE)
		return RC_OK;
	return rc_errf(err, RC_ENOTFOUND, "OpenTech: visitor %s of unit %s is gone (deleted in "
		       "OpenTech?): the next apply creates the tenant again", op->tenant_vid, op->unit);
}

static int ot_apply(struct provider *p, const struct op *op,
		    provider_code_fn code_fn, void *cp, struct op_result *res,
		    struct rc_err *err)
{
	struct http_resp resp;
	char path[256], what[160];
	const char *code = NULL, *verb = NULL;
	char *body = NULL;
	bool idem = true;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = resolve_facility(p, err);
	if (rc)
		return rc;
	if ((op->kind == OP_TENANT_CREATE || (op->changed & TF_CODE)) && code_fn) {
		code = code_fn(&op->t.code, cp);
		if (!code)
			return rc_errf(err, RC_EINVAL,
				       "unit %s: the access code for this operation is not available",
				       op->unit);
	}
	switch (op->kind) {
	case OP_TENANT_CREATE:
		snprintf(path, sizeof(path), "/facilities/%s/visitors", p->facility_id);
		body = tenant_body(op, TF_ALL, code, true);
		idem = false; /* no client key: a retried create could duplicate */
		snprintf(what, sizeof(what), "the tenant visitor for unit %s", op->unit);
		break;
	case OP_TENANT_UPDATE:
		snprintf(path, sizeof(path), "/facilities/%s/visitors/%s/update",
			 p->facility_id, op->tenant_vid);
		body = tenant_body(op, op->changed, code, false);
		snprintf(what, sizeof(what), "the update of visitor %s on unit %s",
			 op->tenant_vid, op->unit);
		break;
	case OP_TENANT_REMOVE: verb = "remove"; break;
	case OP_TENANT_ENABLE: verb = "enable"; break;
	case OP_UNIT_VACATE: verb = "vacate"; break;
	case OP_UNIT_DISABLE: verb = "disable"; break;
	case OP_UNIT_ENABLE: verb = "enable"; break;
	default:
		return rc_errf(err, RC_EINVAL, "OpenTech cannot perform %s",
			       op_kind_name(op->kind));
	}
	if (verb && (op->kind == OP_TENANT_REMOVE || op->kind == OP_TENANT_ENABLE)) {
		snprintf(path, sizeof(path), "/facilities/%s/visitors/%s/%s",
			 p->facility_id, op->tenant_vid, verb);
		snprintf(what, sizeof(what), "%s of visitor %s on unit %s", verb,
			 op->tenant_vid, op->unit);
	} else if (verb) {
		snprintf(path, sizeof(path), "/facilities/%s/units/%s/%s",
			 p->facility_id, op->unit_vid, verb);
		snprintf(what, sizeof(what), "%s of unit %s", verb, op->unit);
	}
	http_resp_init(&resp);
	rc = ac_call(p, "POST", path, body, idem, &resp, err);
	if (rc) {
		res->in_doubt = http_op_in_doubt(&resp, idem);
		res->retry_after = resp.retry_after;
	} else if (resp.status == 409) {
		rc = RC_OK; /* already in the requested state */
	} else if (resp.status == 404 && op->tenant_vid) {
		rc = visitor_gone(op, res, err);
	} else if (resp.status < 200 || resp.status > 299) {
		rc = ac_error(p, what, &resp, code, err);
		/* a 5xx may have committed: only a create cannot simply be
		 * retried, so only a create is in doubt */
		res->in_doubt = http_op_in_doubt(&resp, idem); /* a create's 500/502/504 */
		res->retry_after = resp.retry_after;
	} else if (op->kind == OP_TENANT_CREATE) {
		json_t *j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		json_t *v = json_object_get(json_object_get(j, "visitor"), "id");

		if (!v)
			v = json_object_get(j, "id");
		id_text(v, res->vendor_id, sizeof(res->vendor_id));
		json_decref(j);
	}
	http_resp_free(&resp);
	if (body) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	return rc;
}

/* A create whose answer was lost: the unit's tenant visitor with the
 * create's name and e-mail, if OpenTech made it (the newest such). */
static int ot_settle(struct provider *p, const struct op *op, provider_code_fn code_fn,
		     void *cp, struct op_result *res, struct rc_err *err)
{
	json_t *arr = NULL, *v, *found = NULL;
	char path[160];
	size_t i;
	int rc;

	(void)code_fn;
	(void)cp;
	memset(res, 0, sizeof(*res));
	rc = resolve_facility(p, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/facilities/%s/units/%s/visitors", p->facility_id, op->unit_vid);
	rc = ac_get_json(p, path, &arr, err);
	if (!rc && !json_is_array(arr))
		rc = rc_errf(err, RC_EPARSE, "OpenTech GET %s: expected an array", path);
	json_array_foreach(rc ? NULL : arr, i, v)
		if (json_is_true(json_object_get(v, "isTenant")) &&
		    rc_streq(jstr(v, "firstName"), op->t.first_name) &&
		    rc_streq(jstr(v, "lastName"), op->t.last_name) &&
		    rc_streq(jstr(v, "email"), op->t.email))
			found = v;
	if (!rc && found)
		id_text(json_object_get(found, "id"), res->vendor_id, sizeof(res->vendor_id));
	else if (!rc)
		rc = rc_errf(err, RC_ENOTFOUND, "OpenTech: unit %s holds no tenant visitor of this create",
			     op->unit);
	json_decref(arr);
	return rc;
}

/* ----------------------------------------------------------- descriptor */

vendor_diff_fn diff_opentech; /* reconciler/diff_opentech.c */

/* What an op changed; with no effect (e NULL, res->gone), the visitor it
 * addressed is gone from OpenTech: forget it. */
static void ot_effect(struct obs_site *o, const struct op *op, const struct op_effect *e)
{
	struct obs_unit *u = op->unit ? obs_find_unit_mut(o, op->unit) : NULL;
	size_t i;

	if (e) {
		op_effect_default(o, op, e);
		return;
	}
	for (i = 0; u && i < u->ntenants; i++) {
		if (!rc_streq(u->tenants[i].vendor_id, op->tenant_vid))
			continue;
		u->tenants[i] = u->tenants[--u->ntenants];
		break;
	}
}

static const struct vendor_label ot_labels[] = {
	{ TF_ACCESS_PROFILE, "access_profile_mismatch", "OT2", "access profile" },
	{ TF_TIME_GROUP, "time_group_mismatch", "OT2", "time group" },
};

/* The demo: what the simulator's OpenTech units show. */
static void ot_sim_describe(json_t *state, struct rc_buf *out)
{
	json_t *u;
	size_t i, rented = 0, delinquent = 0, n = 0;

	json_array_foreach(json_object_get(state, "units"), i, u) {
		const char *st = json_string_value(json_object_get(u, "status"));

		n++;
		rented += st && !strcmp(st, "Rented");
		delinquent += st && !strcmp(st, "Delinquent");
	}
	rc_buf_printf(out, "OpenTech: %zu units, %zu Rented, %zu Delinquent (overlocked)\n",
		      n, rented, delinquent);
}

const struct vendor opentech_vendor = {
	.spec = {
		.name = "opentech",
		.title = "OpenTech",
		.fields = ot_fields,
		.nfields = OT_NFIELDS,
		.conf_load = ot_conf_load,
		.conf_free = ot_conf_free,
		.conf_secrets = ot_conf_secrets,
		/* units and visitors come whole, one answer each (vendor-apis.md
		 * §1): 20,000 visitors took 19.6 s, so a minute per attempt, and
		 * room for a retry after one that timed out */
		.http = { .timeout_ms = 60000, .max_elapsed_s = 180 },
	},
	.caps = VENDOR_CAN_READ | VENDOR_RETURNS_CODES,
	.open = ot_open,
	.refresh = ot_refresh,
	.apply = ot_apply,
	.settle = ot_settle,
	.close = ot_close,
	.diff = diff_opentech,
	.effect = ot_effect,
	.map_field = OT_F_UNIT_ID,
	.overlock_field = OT_F_OVERLOCKED,
	.map_flags = VENDOR_MAP_NAME_CHECK | VENDOR_MAP_UNIQUE,
	.code_on = PMS_OBJ_RENTAL,
	.code_field = OT_F_ACCESS_CODE,
	.scope = VENDOR_SCOPE_RENTAL,
	.tenant_word = "tenant visitor",
	.code_rule = "OT4",
	.labels = ot_labels,
	.nlabels = sizeof(ot_labels) / sizeof(ot_labels[0]),
	.sim_describe = ot_sim_describe,
};
