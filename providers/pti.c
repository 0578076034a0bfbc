/*
 * pti.c: the PTI StorLogix Cloud provider (docs/vendor-apis.md §2).
 *
 * API model (PTI publishes no reference; what is UNKNOWN is decided here
 * and mirrored by contrib/sim/sim_pti.c):
 *  - token: POST {base}/authtoken with "Authorization: Basic
 *    base64(<integrator client id>:<integrator API key>)", form
 *    grant_type=client_credentials, site_key, oper_token =
 *    urlencode(base64("<site code>:<username>:<password>")); bearer after;
 *  - writes are form-encoded; answers are JSON {"ResultCode": n, ...}: n < 0
 *    is an error (-3 unit name over 10 characters, -22 unit already vacant:
 *    success, -404 not found, -5 code in use), users/add answers the new
 *    StorLogix user id as ResultCode;
 *  - a users/add for an InterfaceId the site already has is answered -409
 *    with that user's id as "StorLogixId", and changes nothing. That is how
 *    an add whose answer was lost (kill -9, timeout, 502: in doubt, R7) is
 *    recognised when the next plan adds the customer again: the user is
 *    adopted and a users/edit gives it every field of the add. A user made
 *    by another tool (the Storeganise add-on: InterfaceId = the PMS user id
 *    too) is adopted the same way. So a users/add is safe to send again:
 *    its lost or cut answers are retried at once, like any idempotent
 *    call, and an add stays in doubt only when every attempt failed;
 *  - -404 for the user an op addresses (asked again with its cards when
 *    units/rent answers it, which may mean the unit) says PTI no longer has
 *    the user: the op fails with res->gone set, apply marks the user record
 *    gone, and the next plan adds the user again (docs/rules.md PT1);
 *  - user = one per customer per site, InterfaceId = the PMS user id;
 *    AccessLevel and TimeZone are user fields; a code is a card;
 *  - no read API (PT8): refresh is not offered, the engine keeps what it
 *    applied.
 * Credentials: integrator client id and API key from the spec; site key,
 * site code, username and password from the spec or the PMS site's custom
 * fields (seed 001).
 */
#define _GNU_SOURCE
#include "pti.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "vendor.h"

/* users/add's answer when the site has a user with that InterfaceId
 * (Decided; the answer's StorLogixId names it). */
#define PTI_RC_EXISTS -409
/* A unit or user PTI does not know. */
#define PTI_RC_NOT_FOUND -404

struct provider {
	const struct spec_site *site;
	const struct pti_conf *conf;
	struct http_client *http;
	char *base;
	char *basic;     /* "Authorization: Basic ..." (secret) */
	char *form;      /* grant form (secret) */
	struct http_token token;
};

/* ------------------------------------------------------------ settings */

static const struct spec_field_def pti_fields[PTI_NFIELDS] = {
	[PTI_F_UNIT_NAME] = { "pti_unit_name", "pti_unitName", PMS_OBJ_UNIT },
	[PTI_F_ACCESS_CODE] = { "pti_access_code", "pti_accessCode", PMS_OBJ_USER },
	[PTI_F_USER_ID] = { "pti_user_id", "pti_userId", PMS_OBJ_USER },
	[PTI_F_ZONE] = { "pti_zone", "pti_zone", PMS_OBJ_USER },
	[PTI_F_ACCESS_LEVEL] = { "pti_access_level", "pti_accessLevel", PMS_OBJ_USER },
	[PTI_F_REGENERATE] = { "pti_regenerate", "pti_regenerateCode", PMS_OBJ_USER },
	[PTI_F_SYNCED] = { "pti_synced", "pti_synced", PMS_OBJ_RENTAL },
	[PTI_F_OVERLOCKED] = { "pti_overlocked", "pti_overlocked", PMS_OBJ_RENTAL },
};

static void pti_conf_free(void *conf)
{
	struct pti_conf *p = conf;

	free(p->base_url);
	spec_secret_free(&p->client_id);
	spec_secret_free(&p->api_key);
	spec_secret_free(&p->site_key);
	spec_secret_free(&p->site_code);
	spec_secret_free(&p->username);
	spec_secret_free(&p->password);
	free(p);
}

static int pti_conf_load(struct spec_ld *l, json_t *o, const char *path, void **out)
{
	static const char *const keys[] = { "base_url", "client_id_env", "client_id_file",
		"api_key_env", "api_key_file", "site_key_env", "site_key_file", "site_key_site_field",
		"site_code_env", "site_code_file", "site_code_site_field", "username_env",
		"username_file", "username_site_field", "password_env", "password_file",
		"password_site_field", "access_level", "zone", NULL };
	struct pti_conf *p = rc_calloc(1, sizeof(*p));
	int rc = spec_check_keys(l, o, path, keys);

	if (!rc)
		rc = spec_get_url(l, o, path, "base_url", true, &p->base_url);
	if (!rc)
		rc = spec_get_secret(l, o, path, "client_id", false, true, &p->client_id);
	if (!rc)
		rc = spec_get_secret(l, o, path, "api_key", false, true, &p->api_key);
	/* the site's own credentials may live in PMS site custom fields, as
	 * the Storeganise PTI add-on keeps them (seed 001) */
	if (!rc)
		rc = spec_get_secret(l, o, path, "site_key", true, true, &p->site_key);
	if (!rc)
		rc = spec_get_secret(l, o, path, "site_code", true, true, &p->site_code);
	if (!rc)
		rc = spec_get_secret(l, o, path, "username", true, true, &p->username);
	if (!rc)
		rc = spec_get_secret(l, o, path, "password", true, true, &p->password);
	if (!rc)
		rc = spec_get_int(l, o, path, "access_level", 0, LONG_MAX, -1, &p->access_level);
	if (!rc)
		rc = spec_get_int(l, o, path, "zone", 0, LONG_MAX, -1, &p->zone);
	if (rc) {
		pti_conf_free(p);
		return rc;
	}
	*out = p;
	return RC_OK;
}

static void pti_conf_secrets(const void *conf, spec_secret_cb fn, void *payload)
{
	const struct pti_conf *p = conf;

	fn(&p->client_id, "pti.client_id", payload);
	fn(&p->api_key, "pti.api_key", payload);
	fn(&p->site_key, "pti.site_key", payload);
	fn(&p->site_code, "pti.site_code", payload);
	fn(&p->username, "pti.username", payload);
	fn(&p->password, "pti.password", payload);
}

/* ------------------------------------------------------------ session */

static void pti_close(struct provider *p)
{
	if (!p)
		return;
	http_client_free(p->http);
	free(p->base);
	rc_free_secret(p->basic);
	rc_free_secret(p->form);
	http_token_free(&p->token);
	free(p);
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *o = rc_calloc(1, 4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)s, (int)n);
	return o;
}

static int read_creds(struct provider *p, const struct pms_site *ps, char *v[6],
		      struct rc_err *err)
{
	const struct pti_conf *o = p->conf;
	const struct spec_secret *sec[6] = { &o->client_id, &o->api_key, &o->site_key,
					     &o->site_code, &o->username, &o->password };
	static const char *const what[6] = { "the PTI client id", "the PTI API key",
		"the PTI site key", "the PTI site code", "the PTI username", "the PTI password" };
	int i, rc = RC_OK;

	for (i = 0; i < 6 && !rc; i++)
		rc = spec_secret_read(sec[i], what[i],
				      sec[i]->site_field && ps ? pms_cf_get(&ps->cf, sec[i]->site_field) : NULL,
				      &v[i], err);
	return rc;
}

static int pti_open(struct provider **out, const struct spec_site *site,
		    const struct pms_site *pms_site, struct rc_err *err)
{
	struct provider *p = rc_calloc(1, sizeof(*p));
	char *v[6] = { 0 }, *pair = NULL, *enc = NULL, *oper = NULL, *oper64 = NULL, *oe = NULL;
	char *sk = NULL;
	int rc, i;

	p->site = site;
	p->conf = site->conf;
	rc = read_creds(p, pms_site, v, err);
	if (!rc)
		rc = http_client_peer(&p->http, site->http, "pti", err);
	if (!rc) {
		p->base = http_base_url(p->conf->base_url);
		pair = rc_sprintf("%s:%s", v[0], v[1]);
		enc = b64(pair);
		p->basic = rc_sprintf("Authorization: Basic %s", enc);
		oper = rc_sprintf("%s:%s:%s", v[3], v[4], v[5]);
		oper64 = b64(oper);
		oe = http_escape(oper64);
		sk = http_escape(v[2]);
		p->form = rc_sprintf("grant_type=client_credentials&site_key=%s&oper_token=%s", sk, oe);
	}
	for (i = 0; i < 6; i++)
		rc_free_secret(v[i]);
	rc_free_secret(pair);
	rc_free_secret(enc);
	rc_free_secret(oper);
	rc_free_secret(oper64);
	rc_free_secret(oe);
	rc_free_secret(sk);
	if (rc) {
		pti_close(p);
		return rc;
	}
	*out = p;
	return RC_OK;
}

/* The token grant (http_token_fetch_fn): the integrator's Basic
 * credentials and the site's key and operator token. */
static int fetch_token(void *payload, char **value, double *ttl, struct rc_err *err)
{
	struct provider *p = payload;
	const char *hdrs[] = { p->basic, "Content-Type: application/x-www-form-urlencoded",
			       "Accept: application/json", NULL };
	struct http_req req = { 0 };
	struct http_resp resp;
	char *url = rc_sprintf("%s/authtoken", p->base), msg[200];
	json_t *j = NULL;
	int rc;

	http_resp_init(&resp);
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = p->form;
	req.body_len = strlen(p->form);
	req.idempotent = true; /* a token grant has no side effect */
	req.parse_json = true;
	rc = http_do(p->http, &req, &resp, err);
	if (rc) {
		rc_err_prefix(err, "PTI authentication");
	} else if (resp.status != 200) {
		http_error_text(&resp.body, NULL, 0, msg, sizeof(msg));
		rc = rc_errf(err, RC_EAUTH, "PTI authentication failed (HTTP %ld%s%s): check the integrator "
			     "credentials and the site key, site code, username and password of site %s",
			     resp.status, *msg ? ": " : "", msg, p->site->name);
	} else {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		if (!json_is_string(json_object_get(j, "access_token"))) {
			rc = rc_errf(err, RC_EPARSE, "PTI authentication: no access_token in the answer");
		} else {
			*value = rc_strdup(json_string_value(json_object_get(j, "access_token")));
			*ttl = json_is_integer(json_object_get(j, "expires_in"))
				? (double)json_integer_value(json_object_get(j, "expires_in")) : 0;
		}
		json_decref(j);
		explicit_bzero(resp.body.p, resp.body.len);
	}
	http_resp_free(&resp);
	free(url);
	return rc;
}

/* One call; answers the ResultCode (or an error). res (may be NULL) learns
 * whether the vendor may have acted without saying so, and a refusal's
 * Retry-After. */
static int call(struct provider *p, const char *method, const char *path, const char *form,
		bool idem, long *result, json_t **body, struct op_result *res, struct rc_err *err)
{
	const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded",
			       "Accept: application/json", NULL };
	struct http_req req = { 0 };
	struct http_resp resp;
	char *url = rc_sprintf("%s/%s", p->base, path), *what;
	json_t *j = NULL;
	int rc;

	http_resp_init(&resp);
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = form;
	req.body_len = form ? strlen(form) : 0;
	req.idempotent = idem;
	req.parse_json = true; /* a cut answer: read again, or in doubt */
	rc = http_do_bearer(p->http, &p->token, fetch_token, p, &req, &resp, err);
	if (res) {
		res->in_doubt = http_op_in_doubt(&resp, idem);
		res->retry_after = resp.retry_after;
	}
	if (!rc && resp.status != 200) {
		what = rc_sprintf("%s %s", method, path);
		rc = http_status_error("PTI", what, &resp, NULL, 0, err);
		free(what);
	}
	if (!rc) {
		j = json_loadb(resp.body.p, resp.body.len, JSON_DECODE_ANY, NULL);
		if (!j)
			rc = rc_errf(err, RC_EPARSE, "PTI %s %s: malformed JSON", method, path);
		*result = json_is_integer(json_object_get(j, "ResultCode"))
			? (long)json_integer_value(json_object_get(j, "ResultCode")) : 0;
	}
	if (body)
		*body = j;
	else
		json_decref(j);
	http_resp_free(&resp);
	free(url);
	return rc;
}

static int result_error(long code, const struct op *op, struct rc_err *err)
{
	switch (code) {
	case -3:
		return rc_errf(err, RC_EVENDOR,
			       "PTI: unit name \"%s\" is invalid (over 10 characters): fix the pti_unitName field",
			       op->unit);
	case PTI_RC_NOT_FOUND:
		return rc_errf(err, RC_ENOTFOUND,
			       "PTI: %s %s not found (renamed or deleted in PTI?)",
			       op->kind == OP_UNIT_RENT || op->kind == OP_UNIT_VACATE ? "unit" : "user",
			       op->kind == OP_UNIT_RENT || op->kind == OP_UNIT_VACATE ? op->unit
										   : op->tenant_vid ? op->tenant_vid : "?");
	case -5:
		return rc_errf(err, RC_EVENDOR, "PTI: the access code of customer %s is already used by "
			       "another user of the site", op->user_id ? op->user_id : "?");
	default:
		return rc_errf(err, RC_EVENDOR, "PTI: %s answered ResultCode %ld", op_kind_name(op->kind), code);
	}
}

static void form_add(struct rc_buf *b, const char *k, const char *v)
{
	char *e = http_escape(v ? v : "");

	rc_buf_printf(b, "%s%s=%s", b->len ? "&" : "", k, e);
	explicit_bzero(e, strlen(e));
	free(e);
}

static char *user_form(const struct op *op, unsigned ch, const char *code, bool create)
{
	struct rc_buf b;
	char num[32];

	rc_buf_init(&b);
	if (create) {
		form_add(&b, "InterfaceId", op->user_id);
		form_add(&b, "EasyCodeEligible", "true");
	}
	if (ch & TF_FIRST_NAME)
		form_add(&b, "FirstName", op->t.first_name);
	if (ch & TF_LAST_NAME)
		form_add(&b, "LastName", op->t.last_name);
	if (ch & TF_EMAIL)
		form_add(&b, "EmailAddress", op->t.email);
	if (ch & TF_PHONE)
		form_add(&b, "MobilePhone", op->t.phone);
	if ((ch & TF_CODE) && code)
		form_add(&b, "AccessCode", code);
	if ((ch & TF_ACCESS_PROFILE) && op->t.access_profile >= 0) {
		snprintf(num, sizeof(num), "%ld", op->t.access_profile);
		form_add(&b, "AccessLevel", num);
	}
	if ((ch & TF_TIME_GROUP) && op->t.time_group >= 0) {
		snprintf(num, sizeof(num), "%ld", op->t.time_group);
		form_add(&b, "TimeZone", num);
	}
	return rc_buf_steal(&b);
}

/* Remove access: delete every card of the user (PT5). A user PTI no
 * longer has holds no card: the goal is reached (res->gone). */
static int remove_cards(struct provider *p, const char *uid, const struct op *op,
			struct op_result *res, struct rc_err *err)
{
	char path[160];
	json_t *cards = NULL, *c;
	long result = 0;
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "users/%s/cards", uid);
	rc = call(p, "GET", path, NULL, true, &result, &cards, NULL, err);
	if (!rc && !json_is_array(cards) && result == PTI_RC_NOT_FOUND)
		res->gone = true;
	else if (!rc && !json_is_array(cards))
		rc = result < 0 ? result_error(result, op, err)
				: rc_errf(err, RC_EPARSE, "PTI: cards: not a list");
	json_array_foreach(cards, i, c) {
		if (rc)
			break;
		snprintf(path, sizeof(path), "cards/%s",
			 json_string_value(json_object_get(c, "ObjectId")) ?: "");
		rc = call(p, "DELETE", path, NULL, true, &result, NULL, NULL, err);
		if (!rc && result < 0 && result != PTI_RC_NOT_FOUND)
			rc = result_error(result, op, err);
	}
	json_decref(cards);
	return rc;
}

/* Is the StorLogix user uid unknown to PTI? Asked when units/rent answers
 * -404, which may mean the unit or the user (a read: its cards). */
static bool user_missing(struct provider *p, const char *uid)
{
	char path[160];
	json_t *body = NULL;
	long result = 0;
	struct rc_err err;
	int rc;

	snprintf(path, sizeof(path), "users/%s/cards", uid);
	rc = call(p, "GET", path, NULL, true, &result, &body, NULL, &err);
	json_decref(body);
	return !rc && result == PTI_RC_NOT_FOUND;
}

/* Does a -404 to op name its user (not a unit)? Only units/rent can mean
 * either: it is asked again, with the user's cards. */
static bool names_user(struct provider *p, const struct op *op, const char *uid)
{
	switch (op->kind) {
	case OP_TENANT_UPDATE:
	case OP_UNIT_DISABLE:
	case OP_UNIT_ENABLE:
		return true;
	case OP_UNIT_RENT:
		return user_missing(p, uid);
	default:
		return false; /* a vacate names a unit; an add has no user yet */
	}
}

/* A -404 for the user an op addresses: PTI no longer has it (deleted by
 * hand, or its data lost). Apply forgets the user (res->gone) and the next
 * plan adds it again (issue 10.4); the rest of the site goes on. */
static int user_gone(const struct op *op, const char *uid, struct op_result *res,
		     struct rc_err *err)
{
	res->gone = true;
	return rc_errf(err, RC_ENOTFOUND, "PTI: user %s of customer %s not found (deleted in PTI, or "
		       "PTI lost its data?): the next apply adds the user again", uid,
		       op->user_id ? op->user_id : "?");
}

/* users/add. A replayed add (its first answer lost: in doubt, R7) is
 * answered PTI_RC_EXISTS with the id of the user it made; that user is
 * adopted and given every field of the add with a users/edit, so that it
 * holds what the plan says. *result: the user's id, or a ResultCode < 0. */
static int add_user(struct provider *p, const struct op *op, const char *code, long *result,
		    struct op_result *res, struct rc_err *err)
{
	char *form = user_form(op, TF_ALL, code, true), path[64];
	json_t *body = NULL, *v;
	long id = 0;
	int rc;

	/* idempotent by InterfaceId (-409 on a replay): retried like a read */
	rc = call(p, "POST", "users/add", form, true, result, &body, res, err);
	if (!rc && *result == PTI_RC_EXISTS) {
		v = json_object_get(body, "StorLogixId");
		id = json_is_integer(v) ? (long)json_integer_value(v)
		   : json_is_string(v) ? atol(json_string_value(v)) : 0;
		if (id <= 0)
			rc = rc_errf(err, RC_EVENDOR, "PTI: customer %s already has a user but PTI did not "
				     "say which (users/add answered %d without StorLogixId)",
				     op->user_id ? op->user_id : "?", PTI_RC_EXISTS);
	}
	if (!rc && id > 0) {
		explicit_bzero(form, strlen(form));
		free(form);
		form = user_form(op, TF_ALL, code, false);
		snprintf(path, sizeof(path), "users/edit/%ld", id);
		rc = call(p, "PUT", path, form, true, result, NULL, res, err);
		if (!rc && *result >= 0)
			*result = id;
	}
	json_decref(body);
	explicit_bzero(form, strlen(form));
	free(form);
	return rc;
}

static int pti_apply(struct provider *p, const struct op *op, provider_code_fn code_fn,
		     void *cp, struct op_result *res, struct rc_err *err)
{
	const char *uid = op->tenant_vid ? op->tenant_vid : code_fn ? code_fn(&op->id_ref, cp) : NULL;
	const char *code = NULL;
	char path[200], *form = NULL, *unit = NULL;
	long result = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((op->changed & TF_CODE) && code_fn)
		code = code_fn(&op->t.code, cp);
	if (op->kind != OP_TENANT_CREATE && op->kind != OP_UNIT_VACATE && !uid)
		return rc_errf(err, RC_EINVAL, "PTI: %s: the StorLogix user id is not known",
			       op_kind_name(op->kind));
	switch (op->kind) {
	case OP_TENANT_CREATE:
		rc = add_user(p, op, code, &result, res, err);
		if (!rc && result > 0)
			snprintf(res->vendor_id, sizeof(res->vendor_id), "%ld", result);
		break;
	case OP_TENANT_UPDATE:
		snprintf(path, sizeof(path), "users/edit/%s", uid);
		form = user_form(op, op->changed, code, false);
		rc = call(p, "PUT", path, form, true, &result, NULL, res, err);
		break;
	case OP_UNIT_RENT:
		unit = http_escape(op->unit);
		snprintf(path, sizeof(path), "units/rent/%s", unit);
		form = rc_sprintf("StorLogixId=%s", uid);
		rc = call(p, "POST", path, form, true, &result, NULL, res, err);
		break;
	case OP_UNIT_VACATE:
		unit = http_escape(op->unit);
		snprintf(path, sizeof(path), "units/vacate/%s", unit);
		rc = call(p, "DELETE", path, NULL, true, &result, NULL, res, err);
		if (result == -22)
			result = 0; /* already vacant: the goal is reached */
		break;
	case OP_UNIT_DISABLE:
	case OP_UNIT_ENABLE:
		snprintf(path, sizeof(path), "users/%s/suspended/%s", uid,
			 op->kind == OP_UNIT_DISABLE ? "true" : "false");
		rc = call(p, "POST", path, NULL, true, &result, NULL, res, err);
		break;
	case OP_TENANT_REMOVE:
		rc = remove_cards(p, uid, op, res, err);
		break;
	default:
		return rc_errf(err, RC_EINVAL, "PTI cannot perform %s", op_kind_name(op->kind));
	}
	if (!rc && result == PTI_RC_NOT_FOUND && names_user(p, op, uid))
		rc = user_gone(op, uid, res, err);
	else if (!rc && result < 0)
		rc = result_error(result, op, err);
	if (form) {
		explicit_bzero(form, strlen(form));
		free(form);
	}
	free(unit);
	return rc;
}

/* ----------------------------------------------------------- descriptor */

vendor_diff_fn diff_pti; /* reconciler/diff_pti.c */

/* A user the engine had no record of (known from pti_userId: a lost state
 * directory, a facility coming from the Storeganise add-on) becomes the
 * engine's own once a users/edit pushed every field to it (PT1). */
static struct obs_unit *adopted_user(struct obs_site *o, const struct op *op,
				     const struct op_effect *e)
{
	struct obs_unit *u;

	if (op->kind != OP_TENANT_UPDATE || (op->changed & TF_ALL) != TF_ALL || !e->tenant_vid)
		return NULL;
	obs_add_unit(o, op->unit)->status = VU_RENTED;
	obs_site_index(o);
	u = obs_find_unit_mut(o, op->unit);
	obs_add_tenant(o, u)->vendor_id = rc_arena_strdup(&o->arena, e->tenant_vid);
	return u;
}

/* PTI said the user op addressed does not exist: its record stays, with
 * the lost StorLogix id, marked gone (PTI_USER_GONE) for the next plan. */
static void forget_user(struct obs_site *o, const struct op *op)
{
	char name[96];
	struct obs_unit *u;

	if (op->unit && op->unit[0] == PTI_USER_PREFIX)
		snprintf(name, sizeof(name), "%s", op->unit);
	else
		snprintf(name, sizeof(name), "%c%s", PTI_USER_PREFIX, op->user_id ? op->user_id : "");
	u = obs_find_unit_mut(o, name);
	if (!u) {
		obs_add_unit(o, name);
		obs_site_index(o);
		u = obs_find_unit_mut(o, name);
	}
	if (!u->ntenants && op->tenant_vid)
		obs_add_tenant(o, u)->vendor_id = rc_arena_strdup(&o->arena, op->tenant_vid);
	u->status = PTI_USER_GONE;
}

/* A customer's user record (PTI_USER_PREFIX + PMS user id) keeps the user
 * when its cards go (PT5) and carries the suspension (PT4); a user added
 * again replaces a lost one; the rest as for any vendor. e NULL: the user
 * is gone (op_result.gone). */
static void pti_effect(struct obs_site *o, const struct op *op, const struct op_effect *e)
{
	struct obs_unit *u = op->unit ? obs_find_unit_mut(o, op->unit) : NULL;

	if (!e) {
		forget_user(o, op);
		return;
	}
	if (!u && op->unit && op->unit[0] == PTI_USER_PREFIX)
		u = adopted_user(o, op, e);
	if (!u || op->unit[0] != PTI_USER_PREFIX) {
		op_effect_default(o, op, e);
		return;
	}
	switch (op->kind) {
	case OP_TENANT_CREATE:
		u->ntenants = 0; /* one user per customer: the new one */
		op_effect_default(o, op, e);
		break;
	case OP_TENANT_REMOVE:
		if (u->ntenants)
			u->tenants[0].code_known = false;
		break;
	case OP_UNIT_DISABLE:
	case OP_UNIT_ENABLE:
		op_effect_default(o, op, e);
		if (u->ntenants)
			u->tenants[0].enabled = op->kind == OP_UNIT_ENABLE;
		break;
	default:
		op_effect_default(o, op, e);
	}
}

static const struct vendor_label pti_labels[] = {
	{ TF_ACCESS_PROFILE, "access_level_mismatch", "PT3", "access level" },
	{ TF_TIME_GROUP, "zone_mismatch", "PT3", "zone" },
};

/* The demo: each user with its units. */
static void pti_sim_describe(json_t *state, struct rc_buf *out)
{
	json_t *x, *y;
	size_t i, k, n;

	json_array_foreach(json_object_get(state, "users"), i, x) {
		n = 0;
		json_array_foreach(json_object_get(state, "units"), k, y)
			n += json_integer_value(json_object_get(y, "user")) ==
			     json_integer_value(json_object_get(x, "id"));
		rc_buf_printf(out, "PTI: user %" JSON_INTEGER_FORMAT " for customer %s rents %zu unit%s with one code%s\n",
			      json_integer_value(json_object_get(x, "id")),
			      json_string_value(json_object_get(x, "interface_id")) ?: "?", n,
			      n == 1 ? "" : "s",
			      json_is_true(json_object_get(x, "suspended")) ? " (suspended: overdue)" : "");
	}
}

const struct vendor pti_vendor = {
	.spec = {
		.name = "pti",
		.title = "PTI StorLogix",
		.fields = pti_fields,
		.nfields = PTI_NFIELDS,
		.conf_load = pti_conf_load,
		.conf_free = pti_conf_free,
		.conf_secrets = pti_conf_secrets,
	},
	.caps = 0, /* PT8: no read API */
	.open = pti_open,
	.apply = pti_apply,
	.close = pti_close,
	.diff = diff_pti,
	.effect = pti_effect,
	.map_field = PTI_F_UNIT_NAME,
	.overlock_field = PTI_F_OVERLOCKED,
	.map_flags = VENDOR_MAP_UNIQUE,
	.code_on = PMS_OBJ_USER,
	.code_field = PTI_F_ACCESS_CODE,
	.scope = VENDOR_SCOPE_CUSTOMER,
	.customer_prefix = PTI_USER_PREFIX,
	.tenant_word = "user",
	.tenant_off_word = "suspended", /* PT4 */
	.unreadable_rule = "PT8",
	.code_rule = "PT2",
	.regen_rule = "PT6",
	.labels = pti_labels,
	.nlabels = sizeof(pti_labels) / sizeof(pti_labels[0]),
	.sim_describe = pti_sim_describe,
};
