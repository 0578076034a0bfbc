/*
 * pti.c: the PTI StorLogix Cloud provider (vendor-apis.md §2).
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
 *  - user = one per customer per site, InterfaceId = the PMS user id;
 *    AccessLevel and TimeZone are user fields; a code is a card;
 *  - no read API (PT8): refresh is not offered, the engine keeps what it
 *    applied.
 * Credentials: integrator client id and API key from the spec; site key,
 * site code, username and password from the spec or the PMS site's custom
 * fields (seed 001).
 */
#define _GNU_SOURCE
#include "provider.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

struct provider {
	const struct spec_site *site;
	struct http_client *http;
	char *base;
	char *basic;     /* "Authorization: Basic ..." (secret) */
	char *form;      /* grant form (secret) */
	char *token;     /* secret */
	double expiry;
};

static void pti_close(struct provider *p)
{
	if (!p)
		return;
	http_client_free(p->http);
	free(p->base);
	rc_free_secret(p->basic);
	rc_free_secret(p->form);
	rc_free_secret(p->token);
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
	const struct spec_pti *o = &p->site->pti;
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
	size_t n;
	int rc, i;

	p->site = site;
	rc = read_creds(p, pms_site, v, err);
	if (!rc)
		rc = http_client_new(&p->http, &(struct http_opts){ .pool = "pti" }, err);
	if (!rc) {
		p->base = rc_strdup(site->pti.base_url);
		n = strlen(p->base);
		while (n && p->base[n - 1] == '/')
			p->base[--n] = '\0';
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
		return rc_err_prefix(err, "site %s", site->name);
	}
	*out = p;
	return RC_OK;
}

static int get_token(struct provider *p, bool force, struct rc_err *err)
{
	const char *hdrs[] = { p->basic, "Content-Type: application/x-www-form-urlencoded",
			       "Accept: application/json", NULL };
	struct http_req req = { 0 };
	struct http_resp resp;
	char *url;
	json_t *j;
	int rc;

	if (!force && p->token && rc_now_mono() < p->expiry)
		return RC_OK;
	url = rc_sprintf("%s/authtoken", p->base);
	http_resp_init(&resp);
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = p->form;
	req.body_len = strlen(p->form);
	req.idempotent = true;
	rc = http_do(p->http, &req, &resp, err);
	if (rc) {
		rc_err_prefix(err, "PTI authentication");
	} else if (resp.status != 200) {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		rc = rc_errf(err, RC_EAUTH, "PTI authentication failed (HTTP %ld: %s): check the integrator "
			     "credentials and the site key, site code, username and password of site %s",
			     resp.status, json_string_value(json_object_get(j, "error_description")) ?: "-",
			     p->site->name);
		json_decref(j);
	} else {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		if (!json_is_string(json_object_get(j, "access_token"))) {
			rc = rc_errf(err, RC_EPARSE, "PTI authentication: no access_token in the answer");
		} else {
			rc_free_secret(p->token);
			p->token = rc_strdup(json_string_value(json_object_get(j, "access_token")));
			p->expiry = rc_now_mono() - 60 +
				(json_is_integer(json_object_get(j, "expires_in"))
				 ? (double)json_integer_value(json_object_get(j, "expires_in")) : 3600.0);
		}
		json_decref(j);
	}
	http_resp_free(&resp);
	free(url);
	return rc;
}

/* One call; answers the ResultCode (or an error). */
static int call(struct provider *p, const char *method, const char *path, const char *form,
		bool idem, long *result, json_t **body, struct rc_err *err)
{
	struct http_req req = { 0 };
	struct http_resp resp;
	char *url = rc_sprintf("%s/%s", p->base, path), *auth = NULL;
	int rc = RC_OK, attempt;
	json_t *j = NULL;

	http_resp_init(&resp);
	for (attempt = 0; attempt < 2; attempt++) {
		rc = get_token(p, attempt > 0, err);
		if (rc)
			break;
		rc_free_secret(auth);
		auth = rc_sprintf("Authorization: Bearer %s", p->token);
		const char *hdrs[] = { auth, "Content-Type: application/x-www-form-urlencoded",
				       "Accept: application/json", NULL };
		req.method = method;
		req.url = url;
		req.headers = hdrs;
		req.body = form;
		req.body_len = form ? strlen(form) : 0;
		req.idempotent = idem;
		http_resp_free(&resp);
		http_resp_init(&resp);
		rc = http_do(p->http, &req, &resp, err);
		if (rc || resp.status != 401)
			break;
	}
	if (!rc && resp.status != 200)
		rc = rc_errf(err, resp.status == 401 ? RC_EAUTH : RC_EVENDOR, "PTI %s %s: HTTP %ld",
			     method, path, resp.status);
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
	if (rc && resp.timed_out)
		rc_err_prefix(err, "(outcome unknown)");
	http_resp_free(&resp);
	rc_free_secret(auth);
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
	case -404:
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

/* Remove access: delete every card of the user (PT5). */
static int remove_cards(struct provider *p, const char *uid, const struct op *op,
			struct rc_err *err)
{
	char path[160];
	json_t *cards = NULL, *c;
	long res = 0;
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "users/%s/cards", uid);
	rc = call(p, "GET", path, NULL, true, &res, &cards, err);
	if (!rc && !json_is_array(cards))
		rc = res < 0 ? result_error(res, op, err) : rc_errf(err, RC_EPARSE, "PTI: cards: not a list");
	json_array_foreach(cards, i, c) {
		if (rc)
			break;
		snprintf(path, sizeof(path), "cards/%s",
			 json_string_value(json_object_get(c, "ObjectId")) ?: "");
		rc = call(p, "DELETE", path, NULL, true, &res, NULL, err);
		if (!rc && res < 0 && res != -404)
			rc = result_error(res, op, err);
	}
	json_decref(cards);
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
		form = user_form(op, TF_ALL, code, true);
		rc = call(p, "POST", "users/add", form, false, &result, NULL, err);
		if (!rc && result > 0)
			snprintf(res->vendor_id, sizeof(res->vendor_id), "%ld", result);
		break;
	case OP_TENANT_UPDATE:
		snprintf(path, sizeof(path), "users/edit/%s", uid);
		form = user_form(op, op->changed, code, false);
		rc = call(p, "PUT", path, form, true, &result, NULL, err);
		break;
	case OP_UNIT_RENT:
		unit = http_escape(op->unit);
		snprintf(path, sizeof(path), "units/rent/%s", unit);
		form = rc_sprintf("StorLogixId=%s", uid);
		rc = call(p, "POST", path, form, true, &result, NULL, err);
		break;
	case OP_UNIT_VACATE:
		unit = http_escape(op->unit);
		snprintf(path, sizeof(path), "units/vacate/%s", unit);
		rc = call(p, "DELETE", path, NULL, true, &result, NULL, err);
		if (result == -22)
			result = 0; /* already vacant: the goal is reached */
		break;
	case OP_UNIT_DISABLE:
	case OP_UNIT_ENABLE:
		snprintf(path, sizeof(path), "users/%s/suspended/%s", uid,
			 op->kind == OP_UNIT_DISABLE ? "true" : "false");
		rc = call(p, "POST", path, NULL, true, &result, NULL, err);
		break;
	case OP_TENANT_REMOVE:
		rc = remove_cards(p, uid, op, err);
		break;
	default:
		return rc_errf(err, RC_EINVAL, "PTI cannot perform %s", op_kind_name(op->kind));
	}
	if (!rc && result < 0)
		rc = result_error(result, op, err);
	if (rc && op->kind == OP_TENANT_CREATE && strstr(err->msg, "outcome unknown"))
		res->in_doubt = true;
	if (form) {
		explicit_bzero(form, strlen(form));
		free(form);
	}
	free(unit);
	return rc;
}

static int pti_refresh(struct provider *p, struct obs_site *o,
		       void (*hash_fn)(const char *, unsigned char *, void *), void *hp,
		       struct rc_err *err)
{
	(void)o;
	(void)hash_fn;
	(void)hp;
	return rc_errf(err, RC_EINVAL, "PTI has no read API (PT8): site %s keeps what was applied",
		       p->site->name);
}

const struct provider_ops pti_provider = {
	.name = "pti",
	.caps = 0,  /* PT8: cannot read its state back */
	.open = pti_open,
	.refresh = pti_refresh,
	.apply = pti_apply,
	.close = pti_close,
};
