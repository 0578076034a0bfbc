/*
 * opentech.c: the OpenTech Alliance (INSOMNIAC CIA / IoE) provider.
 *
 * API model (vendor-apis.md §1; what is UNKNOWN there is decided here and
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
 *    hashed on arrival.
 *  - 409 counts as "already in the requested state" (success).
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
	char *auth_base;
	char *ac_base;
	char *api_key, *api_secret, *client_id, *client_secret; /* secrets */
	char *token;          /* secret */
	double token_expiry;  /* monotonic seconds */
	char facility_id[32];
};

static void strip_slash(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		s[--n] = '\0';
}

static void ot_close(struct provider *p);

static int ot_open(struct provider **out, const struct spec_site *site,
		   const struct pms_site *pms_site, struct rc_err *err)
{
	const struct spec_opentech *o = &site->opentech;
	struct provider *p = rc_calloc(1, sizeof(*p));
	int rc;

	(void)pms_site;
	p->site = site;
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
	strip_slash(p->auth_base);
	strip_slash(p->ac_base);
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
		rc = http_client_new(&p->http, &(struct http_opts){ .pool = "opentech" }, err);
	if (rc) {
		rc_err_prefix(err, "site %s", site->name);
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
	rc_free_secret(p->token);
	free(p);
}

/* Best human message from an OpenTech error body: {"message":..} or an
 * ASP.NET model state {"Field":["msg"]}. Any occurrence of `secret` is
 * masked so that a vendor echoing a code cannot leak it. */
static void vendor_message(const struct rc_buf *body, const char *secret,
			   char *buf, size_t n)
{
	json_t *j = json_loadb(body->p ? body->p : "", body->len, 0, NULL);
	json_t *v;
	const char *k;
	char *text = NULL, *safe;

	buf[0] = '\0';
	if (json_is_string(json_object_get(j, "message"))) {
		text = rc_strdup(json_string_value(json_object_get(j, "message")));
	} else if (json_is_string(json_object_get(j, "error"))) {
		text = rc_strdup(json_string_value(json_object_get(j, "error")));
	} else if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			json_t *m = json_is_array(v) ? json_array_get(v, 0) : v;

			if (json_is_string(m)) {
				text = rc_sprintf("%s: %s", k, json_string_value(m));
				break;
			}
		}
	}
	json_decref(j);
	if (!text)
		return;
	safe = rc_redact(text, &secret, 1); /* whole, then cut to size */
	snprintf(buf, n, "%s", safe);
	rc_free_secret(text);
	rc_free_secret(safe);
}

static int get_token(struct provider *p, bool force, struct rc_err *err)
{
	const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded",
			       "Accept: application/json", NULL };
	struct http_req req = { 0 };
	struct http_resp resp;
	char *u = NULL, *pw = NULL, *ci = NULL, *cs = NULL, *body = NULL, *url;
	json_t *j = NULL, *tok, *exp;
	double ttl;
	char msg[200];
	int rc;

	if (!force && p->token && rc_now_mono() < p->token_expiry)
		return RC_OK;
	u = http_escape(p->api_key);
	pw = http_escape(p->api_secret);
	ci = http_escape(p->client_id);
	cs = http_escape(p->client_secret);
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
	rc = http_do(p->http, &req, &resp, err);
	if (rc) {
		rc_err_prefix(err, "OpenTech authentication");
		goto out;
	}
	if (resp.status != 200) {
		vendor_message(&resp.body, NULL, msg, sizeof(msg));
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
	rc_free_secret(p->token);
	p->token = rc_strdup(json_string_value(tok));
	ttl = json_is_integer(exp) && json_integer_value(exp) > 0 ?
		(double)json_integer_value(exp) : 3600.0;
	/* renew a minute early (half-way for short tokens), so that no call
	 * of a long serve run meets a 401 */
	p->token_expiry = rc_now_mono() + ttl - (ttl > 120 ? 60.0 : ttl / 2);
out:
	json_decref(j);
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
	struct http_req req = { 0 };
	char *auth = NULL, *url = rc_sprintf("%s%s", p->ac_base, path);
	int rc, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		rc = get_token(p, attempt > 0, err);
		if (rc)
			break;
		rc_free_secret(auth);
		auth = rc_sprintf("Authorization: Bearer %s", p->token);
		const char *hdrs[] = { auth, "api-version: 2.0",
				       "Accept: application/json",
				       "Content-Type: application/json", NULL };
		req.method = method;
		req.url = url;
		req.headers = hdrs;
		req.body = body;
		req.body_len = body ? strlen(body) : 0;
		req.idempotent = idempotent;
		http_resp_free(resp);
		http_resp_init(resp);
		rc = http_do(p->http, &req, resp, err);
		if (rc) {
			rc_err_prefix(err, "OpenTech");
			break;
		}
		if (resp->status != 401)
			break;
	}
	rc_free_secret(auth);
	free(url);
	return rc;
}

/* Map a non-2xx answer to an error naming what failed. */
static int ac_error(struct provider *p, const char *what,
		    const struct http_resp *r, const char *secret,
		    struct rc_err *err)
{
	char msg[256];

	vendor_message(&r->body, secret, msg, sizeof(msg));
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
		return rc_errf(err, RC_EVENDOR, "OpenTech: %s: HTTP %ld%s%s", what,
			       r->status, *msg ? ": " : "", msg);
	}
}

static int ac_get_json(struct provider *p, const char *path, json_t **out,
		       struct rc_err *err)
{
	struct http_resp resp;
	json_error_t je;
	int rc;

	*out = NULL;
	http_resp_init(&resp);
	rc = ac_call(p, "GET", path, NULL, true, &resp, err);
	if (!rc && resp.status != 200)
		rc = ac_error(p, path, &resp, NULL, err);
	if (!rc) {
		*out = json_loadb(resp.body.p, resp.body.len, 0, &je);
		if (!*out)
			rc = rc_errf(err, RC_EPARSE, "OpenTech GET %s: malformed JSON: %s",
				     path, je.text);
	}
	http_resp_free(&resp);
	return rc;
}

static int resolve_facility(struct provider *p, struct rc_err *err)
{
	const char *want = p->site->opentech.property_number;
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

static int ot_refresh(struct provider *p, struct obs_site *o,
		      void (*hash_fn)(const char *, unsigned char *, void *),
		      void *hp, struct rc_err *err)
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

		if (!json_is_true(json_object_get(it, "isTenant")))
			continue;
		id_text(json_object_get(it, "unitId"), id, sizeof(id));
		if (!rc_map_get(&by_id, id, &k))
			continue;
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
			hash_fn(code, t->code_hash, hp);
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
		res->in_doubt = resp.timed_out || resp.status == 0;
	} else if (resp.status == 409) {
		rc = RC_OK; /* already in the requested state */
	} else if (resp.status < 200 || resp.status > 299) {
		rc = ac_error(p, what, &resp, code, err);
		/* a 5xx may have committed: only a create cannot simply be
		 * retried, so only a create is in doubt */
		res->in_doubt = resp.status >= 500 && op->kind == OP_TENANT_CREATE;
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

const struct provider_ops opentech_provider = {
	.name = "opentech",
	.caps = PROV_CAN_READ | PROV_RETURNS_CODES,
	.open = ot_open,
	.refresh = ot_refresh,
	.apply = ot_apply,
	.close = ot_close,
};
