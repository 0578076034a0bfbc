/*
 * null.c: "null", a test-only fourth vendor. It exists to prove that a
 * vendor is added by one provider file (this one: settings, transport,
 * descriptor), one diff file (diff_null.c), one row in a table
 * (vendors.c here) and one simulator module (sim_null.c): nothing else of
 * reconcile names it.
 *
 * Its API (the simulator's /null/ module), JSON over HTTP:
 *   GET  /units                       {"units": [{"name", "status": "Vacant" |
 *                                      "Rented" | "Delinquent", "tenant": null |
 *                                      {"id", "rental", "name", "code"}}]}
 *   POST /units/{name}/tenant         {"rental", "name", "code"} -> {"id"}
 *   PUT  /units/{name}/tenant         {"name"?, "code"?}
 *   POST /units/{name}/status         {"status": "Rented" | "Delinquent"}
 *   POST /units/{name}/vacate
 * with "Authorization: Bearer <api key>".
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/http.h"
#include "providers/vendor.h"

enum { NULL_F_UNIT = 0, NULL_F_CODE, NULL_NFIELDS };

struct null_conf {
	char *base_url;
	struct spec_secret api_key;
};

struct provider {
	const struct spec_site *site;
	struct http_client *http;
	char *base, *auth;          /* auth: a secret */
};

static const struct spec_field_def null_fields[NULL_NFIELDS] = {
	[NULL_F_UNIT] = { "null_unit", "null_unit", PMS_OBJ_UNIT },
	[NULL_F_CODE] = { "null_code", "null_code", PMS_OBJ_RENTAL },
};

static void conf_free(void *conf)
{
	struct null_conf *c = conf;

	free(c->base_url);
	spec_secret_free(&c->api_key);
	free(c);
}

static int conf_load(struct spec_ld *l, json_t *o, const char *path, void **out)
{
	static const char *const keys[] = { "base_url", "api_key_env", "api_key_file", NULL };
	struct null_conf *c = rc_calloc(1, sizeof(*c));
	int rc = spec_check_keys(l, o, path, keys);

	if (!rc)
		rc = spec_get_url(l, o, path, "base_url", true, &c->base_url);
	if (!rc)
		rc = spec_get_secret(l, o, path, "api_key", false, true, &c->api_key);
	if (rc) {
		conf_free(c);
		return rc;
	}
	*out = c;
	return RC_OK;
}

static void conf_secrets(const void *conf, spec_secret_cb fn, void *payload)
{
	fn(&((const struct null_conf *)conf)->api_key, "null.api_key", payload);
}

static void null_close(struct provider *p)
{
	if (!p)
		return;
	http_client_free(p->http);
	free(p->base);
	rc_free_secret(p->auth);
	free(p);
}

static int null_open(struct provider **out, const struct spec_site *site,
		     const struct pms_site *pms_site, struct rc_err *err)
{
	const struct null_conf *c = site->conf;
	struct provider *p = rc_calloc(1, sizeof(*p));
	char *key = NULL;
	int rc;

	(void)pms_site;
	p->site = site;
	rc = spec_secret_read(&c->api_key, "the null API key", NULL, &key, err);
	if (!rc)
		rc = http_client_peer(&p->http, site->http, "null", err);
	if (rc) {
		rc_free_secret(key);
		null_close(p);
		return rc;
	}
	p->base = rc_strdup(c->base_url);
	p->auth = rc_sprintf("Authorization: Bearer %s", key);
	rc_free_secret(key);
	*out = p;
	return RC_OK;
}

/* One call; a non-2xx answer is an error naming it (code redacted). */
static int call(struct provider *p, const char *method, const char *path, json_t *body,
		const char *code, struct http_resp *resp, struct rc_err *err)
{
	const char *hdrs[] = { p->auth, "Content-Type: application/json", NULL };
	char *url = rc_sprintf("%s%s", p->base, path), *text = body ? json_dumps(body, 0) : NULL;
	struct http_req req = { method, url, hdrs, text, text ? strlen(text) : 0,
				strcmp(method, "POST") != 0, 0 };
	int rc = http_do(p->http, &req, resp, err);

	if (!rc && (resp->status < 200 || resp->status > 299))
		rc = http_status_error("null", path, resp, &code, 1, err);
	if (text)
		explicit_bzero(text, strlen(text));
	free(text);
	free(url);
	return rc;
}

static enum vu_status status_of(const char *s)
{
	return !s ? VU_UNKNOWN : !strcmp(s, "Vacant") ? VU_VACANT : !strcmp(s, "Rented") ? VU_RENTED
	       : !strcmp(s, "Delinquent") ? VU_DELINQUENT : VU_UNKNOWN;
}

static int null_refresh(struct provider *p, struct obs_site *o, const struct rc_hasher *hash,
			struct rc_err *err)
{
	struct http_resp resp;
	json_t *j = NULL, *u;
	size_t i;
	int rc;

	http_resp_init(&resp);
	rc = call(p, "GET", "/units", NULL, NULL, &resp, err);
	if (!rc) {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		if (!json_is_array(json_object_get(j, "units")))
			rc = rc_errf(err, RC_EPARSE, "null: GET /units: expected {\"units\": [...]}");
	}
	json_array_foreach(rc ? NULL : json_object_get(j, "units"), i, u) {
		json_t *t = json_object_get(u, "tenant");
		const char *name = json_string_value(json_object_get(u, "name"));
		struct obs_unit *ou;
		struct obs_tenant *ot;

		if (!name)
			continue;
		ou = obs_add_unit(o, name);
		ou->vendor_id = ou->name;
		ou->status = status_of(json_string_value(json_object_get(u, "status")));
		if (!json_is_object(t))
			continue;
		ot = obs_add_tenant(o, ou);
		ot->vendor_id = rc_arena_strdup(&o->arena, json_string_value(json_object_get(t, "id")));
		ot->first_name = rc_arena_strdup(&o->arena, json_string_value(json_object_get(t, "name")));
		ot->rental_id = rc_arena_strdup(&o->arena, json_string_value(json_object_get(t, "rental")));
		if (json_is_string(json_object_get(t, "code"))) {
			hash->fn(hash->payload, o->site, json_string_value(json_object_get(t, "code")),
				 ot->code_hash);
			ot->code_known = true;
		}
	}
	obs_site_index(o);
	if (resp.body.p)
		explicit_bzero(resp.body.p, resp.body.len); /* codes */
	json_decref(j);
	http_resp_free(&resp);
	return rc;
}

static int null_apply(struct provider *p, const struct op *op, provider_code_fn code_fn,
		      void *cp, struct op_result *res, struct rc_err *err)
{
	const char *code = (op->changed & TF_CODE) ? code_fn(&op->t.code, cp) : NULL;
	char *esc = http_escape(op->unit), path[256];
	const char *method = "POST";
	struct http_resp resp;
	json_t *body = NULL, *j;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((op->changed & TF_CODE) && !code) {
		free(esc);
		return rc_errf(err, RC_EINVAL, "null unit %s: its code is not available", op->unit);
	}
	if (op->kind == OP_TENANT_CREATE || op->kind == OP_TENANT_UPDATE) {
		snprintf(path, sizeof(path), "/units/%s/tenant", esc);
		method = op->kind == OP_TENANT_CREATE ? "POST" : "PUT";
		body = json_pack("{s:s?, s:s?, s:s?}", "rental", op->rental_id, "name",
				 (op->changed & TF_FIRST_NAME) ? op->t.first_name : NULL, "code", code);
	} else if (op->kind == OP_UNIT_VACATE) {
		snprintf(path, sizeof(path), "/units/%s/vacate", esc);
	} else if (op->kind == OP_UNIT_DISABLE || op->kind == OP_UNIT_ENABLE) {
		snprintf(path, sizeof(path), "/units/%s/status", esc);
		body = json_pack("{s:s}", "status", op->kind == OP_UNIT_DISABLE ? "Delinquent" : "Rented");
	} else {
		free(esc);
		return rc_errf(err, RC_EINVAL, "null cannot perform %s", op_kind_name(op->kind));
	}
	http_resp_init(&resp);
	rc = call(p, method, path, body, code, &resp, err);
	res->in_doubt = rc == RC_EHTTP && op->kind == OP_TENANT_CREATE;
	if (!rc && op->kind == OP_TENANT_CREATE) {
		j = json_loadb(resp.body.p, resp.body.len, 0, NULL);
		snprintf(res->vendor_id, sizeof(res->vendor_id), "%s",
			 json_string_value(json_object_get(j, "id")) ?: "");
		json_decref(j);
	}
	http_resp_free(&resp);
	json_decref(body);
	free(esc);
	return rc;
}

vendor_diff_fn diff_null; /* diff_null.c */

const struct vendor null_vendor = {
	.spec = {
		.name = "null",
		.title = "Null",
		.fields = null_fields,
		.nfields = NULL_NFIELDS,
		.conf_load = conf_load,
		.conf_free = conf_free,
		.conf_secrets = conf_secrets,
	},
	.caps = VENDOR_CAN_READ | VENDOR_RETURNS_CODES,
	.open = null_open,
	.refresh = null_refresh,
	.apply = null_apply,
	.close = null_close,
	.diff = diff_null,
	.map_field = NULL_F_UNIT,
	.overlock_field = -1,
	.map_flags = VENDOR_MAP_UNIQUE,
	.code_on = PMS_OBJ_RENTAL,
	.code_field = NULL_F_CODE,
	.scope = VENDOR_SCOPE_RENTAL,
	.tenant_word = "tenant",
	.code_rule = "R6",
};
