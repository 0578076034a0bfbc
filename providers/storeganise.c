/* storeganise.c: see storeganise.h. */
#define _GNU_SOURCE
#include "storeganise.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

struct sg_client {
	struct http_client *http;
	char *base;          /* .../api, no trailing slash */
	char *auth_header;   /* "Authorization: ApiKey ..." (secret) */
	unsigned page_size;
};

/* The custom-field codes the spec names: only these are kept. */
struct sg_wanted {
	struct rc_map codes;
};

static void wanted_add(struct sg_wanted *w, const char *code)
{
	if (code)
		rc_map_put(&w->codes, code, 1);
}

static void wanted_build(struct sg_wanted *w, const struct spec *spec)
{
	const struct spec_fields *f;
	size_t i;

	rc_map_init(&w->codes);
	for (i = 0; i < spec->nsites; i++) {
		f = &spec->sites[i].fields;
		const char *all[] = {
			f->ot_unit_id, f->ot_access_profile, f->ot_time_group,
			f->ot_access_code, f->ot_overlocked, f->ot_resync,
			f->pti_unit_name, f->pti_access_code, f->pti_user_id,
			f->pti_zone, f->pti_access_level, f->pti_regenerate,
			f->pti_synced, f->pti_overlocked, f->oa_portal_ids,
			f->oa_invite_url,
		};
		for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
			wanted_add(w, all[k]);
		wanted_add(w, spec->sites[i].pti.site_key.site_field);
		wanted_add(w, spec->sites[i].pti.site_code.site_field);
		wanted_add(w, spec->sites[i].pti.username.site_field);
		wanted_add(w, spec->sites[i].pti.password.site_field);
	}
}

/* ------------------------------------------------------------ parsing */

struct parse_ctx {
	struct pms_snapshot *snap;
	const struct sg_wanted *wanted;
	const char *where;         /* "GET /v1/admin/units?siteId=X offset 0" */
	size_t item;               /* index in the page */
	struct rc_err *err;
};

static int perr(struct parse_ctx *p, const char *field, const char *what)
{
	return rc_errf(p->err, RC_EPARSE, "%s: item %zu: field \"%s\": %s",
		       p->where, p->item, field, what);
}

/* Optional string: absent or null -> NULL. Numbers are accepted as text
 * because ids and phone numbers sometimes arrive as numbers. */
static int get_str(struct parse_ctx *p, json_t *o, const char *k,
		   bool required, const char **out)
{
	json_t *v = json_object_get(o, k);
	char num[32];

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return perr(p, k, "missing");
		return RC_OK;
	}
	if (json_is_string(v)) {
		*out = rc_arena_strndup(&p->snap->arena, json_string_value(v),
					json_string_length(v));
		return RC_OK;
	}
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		*out = rc_arena_strdup(&p->snap->arena, num);
		return RC_OK;
	}
	return perr(p, k, "expected a string");
}

/* Truthy: true, a non-empty string (overdue is a timestamp), a non-zero
 * number. */
static bool truthy(json_t *v)
{
	if (!v || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	return true;
}

static int get_cfs(struct parse_ctx *p, json_t *o, struct pms_cfs *out)
{
	json_t *cf = json_object_get(o, "customFields"), *v;
	const char *k;
	char num[64];
	unsigned n = 0;

	out->v = NULL;
	out->n = 0;
	if (!cf || json_is_null(cf))
		return RC_OK;
	if (!json_is_object(cf))
		return perr(p, "customFields", "expected an object");
	json_object_foreach(cf, k, v) {
		if (rc_map_get(&p->wanted->codes, k, NULL) && !json_is_null(v))
			n++;
	}
	if (!n)
		return RC_OK;
	out->v = rc_arena_alloc(&p->snap->arena, n * sizeof(*out->v));
	json_object_foreach(cf, k, v) {
		const char *val;

		if (!rc_map_get(&p->wanted->codes, k, NULL) || json_is_null(v))
			continue;
		if (json_is_string(v)) {
			val = json_string_value(v);
		} else if (json_is_boolean(v)) {
			val = json_is_true(v) ? "true" : "false";
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
			val = num;
		} else if (json_is_real(v)) {
			snprintf(num, sizeof(num), "%.15g", json_real_value(v));
			val = num;
		} else {
			continue; /* objects/arrays are not field values we use */
		}
		out->v[out->n].code = rc_arena_strdup(&p->snap->arena, k);
		out->v[out->n].val = rc_arena_strdup(&p->snap->arena, val);
		out->n++;
	}
	return RC_OK;
}

static enum pms_unit_state unit_state(const char *s)
{
	if (!s)
		return PMS_UNIT_OTHER;
	if (!strcmp(s, "available"))
		return PMS_UNIT_AVAILABLE;
	if (!strcmp(s, "reserved"))
		return PMS_UNIT_RESERVED;
	if (!strcmp(s, "occupied"))
		return PMS_UNIT_OCCUPIED;
	if (!strcmp(s, "blocked"))
		return PMS_UNIT_BLOCKED;
	if (!strcmp(s, "archived"))
		return PMS_UNIT_ARCHIVED;
	return PMS_UNIT_OTHER;
}

static enum pms_rental_state rental_state(const char *s)
{
	if (!s)
		return PMS_RENTAL_OTHER;
	if (!strcmp(s, "occupied"))
		return PMS_RENTAL_OCCUPIED;
	if (!strcmp(s, "reserved"))
		return PMS_RENTAL_RESERVED;
	if (!strcmp(s, "ended") || !strcmp(s, "completed"))
		return PMS_RENTAL_ENDED;
	return PMS_RENTAL_OTHER;
}

static int parse_site(struct parse_ctx *p, json_t *o)
{
	struct pms_site *s = pms_add_site(p->snap);
	json_t *title = json_object_get(o, "title");
	int rc;

	rc = get_str(p, o, "id", true, &s->id);
	if (!rc)
		rc = get_str(p, o, "code", false, &s->code);
	if (!rc)
		rc = get_cfs(p, o, &s->cf);
	if (json_is_object(title) && json_is_string(json_object_get(title, "en")))
		s->title = rc_arena_strdup(&p->snap->arena,
			json_string_value(json_object_get(title, "en")));
	else if (json_is_string(title))
		s->title = rc_arena_strdup(&p->snap->arena, json_string_value(title));
	return rc;
}

static int parse_unit(struct parse_ctx *p, json_t *o)
{
	struct pms_unit *u = pms_add_unit(p->snap);
	const char *state = NULL;
	int rc;

	rc = get_str(p, o, "id", true, &u->id);
	if (!rc)
		rc = get_str(p, o, "siteId", true, &u->site_id);
	if (!rc)
		rc = get_str(p, o, "name", true, &u->name);
	if (!rc)
		rc = get_str(p, o, "state", false, &state);
	if (!rc)
		rc = get_cfs(p, o, &u->cf);
	u->state = unit_state(state);
	return rc;
}

static int parse_rental(struct parse_ctx *p, json_t *o)
{
	struct pms_rental *r = pms_add_rental(p->snap);
	const char *state = NULL;
	int rc;

	rc = get_str(p, o, "id", true, &r->id);
	if (!rc)
		rc = get_str(p, o, "unitId", true, &r->unit_id);
	if (!rc)
		rc = get_str(p, o, "siteId", false, &r->site_id);
	if (!rc)
		rc = get_str(p, o, "ownerId", true, &r->owner_id);
	if (!rc)
		rc = get_str(p, o, "state", true, &state);
	if (!rc)
		rc = get_str(p, o, "startDate", false, &r->start_date);
	if (!rc)
		rc = get_str(p, o, "endDate", false, &r->end_date);
	if (!rc && !r->end_date)
		rc = get_str(p, o, "moveOutDate", false, &r->end_date);
	if (!rc)
		rc = get_cfs(p, o, &r->cf);
	r->state = rental_state(state);
	r->overdue = truthy(json_object_get(o, "overdue"));
	return rc;
}

static int parse_user(struct parse_ctx *p, json_t *o)
{
	struct pms_user *u = pms_add_user(p->snap);
	int rc;

	rc = get_str(p, o, "id", true, &u->id);
	if (!rc)
		rc = get_str(p, o, "firstName", false, &u->first_name);
	if (!rc)
		rc = get_str(p, o, "lastName", false, &u->last_name);
	if (!rc)
		rc = get_str(p, o, "email", false, &u->email);
	if (!rc)
		rc = get_str(p, o, "phone", false, &u->phone);
	if (!rc && !u->phone)
		rc = get_str(p, o, "mobile", false, &u->phone);
	if (!rc)
		rc = get_cfs(p, o, &u->cf);
	u->overdue = truthy(json_object_get(o, "overdue"));
	return rc;
}

typedef int (*parse_fn)(struct parse_ctx *p, json_t *o);

/* Which objects of a page to keep. */
struct keep {
	const struct rc_map *site_ids;   /* units/rentals: by siteId */
	const struct rc_map *user_ids;   /* users: by id */
};

static bool keep_obj(const struct keep *k, json_t *o)
{
	json_t *v;

	if (!k)
		return true;
	if (k->site_ids) {
		v = json_object_get(o, "siteId");
		return json_is_string(v) &&
		       rc_map_get(k->site_ids, json_string_value(v), NULL);
	}
	if (k->user_ids) {
		v = json_object_get(o, "id");
		return json_is_string(v) &&
		       rc_map_get(k->user_ids, json_string_value(v), NULL);
	}
	return true;
}

/* Parse an array of objects (one page or one file section). */
static int parse_array(struct parse_ctx *p, json_t *arr, parse_fn fn,
		       const struct keep *keep)
{
	size_t i;
	json_t *o;
	int rc;

	if (!json_is_array(arr))
		return rc_errf(p->err, RC_EPARSE, "%s: expected a JSON array",
			       p->where);
	json_array_foreach(arr, i, o) {
		p->item = i;
		if (!json_is_object(o))
			return rc_errf(p->err, RC_EPARSE,
				       "%s: item %zu: expected an object",
				       p->where, i);
		if (!keep_obj(keep, o))
			continue;
		rc = fn(p, o);
		if (rc)
			return rc;
	}
	return RC_OK;
}

/* ---------------------------------------------------------------- API */

int sg_client_new(struct sg_client **out, const struct spec *spec,
		  struct rc_err *err)
{
	struct sg_client *c;
	char *key = NULL;
	size_t n;
	int rc;

	rc = spec_secret_read(&spec->pms.api_key, "the Storeganise API key",
			      NULL, &key, err);
	if (rc)
		return rc;
	c = rc_calloc(1, sizeof(*c));
	rc = http_client_new(&c->http, &(struct http_opts){ .pool = "storeganise" }, err);
	if (rc) {
		rc_free_secret(key);
		free(c);
		return rc;
	}
	c->base = rc_strdup(spec->pms.base_url);
	n = strlen(c->base);
	while (n && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->auth_header = rc_sprintf("Authorization: ApiKey %s", key);
	c->page_size = spec->pms.page_size ? spec->pms.page_size : 1000;
	rc_free_secret(key);
	*out = c;
	return RC_OK;
}

void sg_client_free(struct sg_client *c)
{
	if (!c)
		return;
	http_client_free(c->http);
	rc_free_secret(c->auth_header);
	free(c->base);
	free(c);
}

/* Message from a Storeganise error body {"error":{"message":...}}. */
static void error_message(const struct http_resp *r, char *buf, size_t n)
{
	json_t *j = json_loadb(r->body.p, r->body.len, 0, NULL);
	json_t *m = json_object_get(json_object_get(j, "error"), "message");

	snprintf(buf, n, "%s", json_is_string(m) ? json_string_value(m) : "");
	json_decref(j);
}

/* GET path (relative to /v1/admin/) and parse the JSON answer. *out new. */
static int sg_get(struct sg_client *c, const char *path, json_t **out,
		  struct rc_err *err)
{
	const char *hdrs[] = { c->auth_header, "Accept: application/json", NULL };
	struct http_resp resp;
	struct http_req req = { 0 };
	json_error_t je;
	char *url = rc_sprintf("%s/v1/admin/%s", c->base, path);
	char msg[200];
	int rc;

	*out = NULL;
	http_resp_init(&resp);
	req.method = "GET";
	req.url = url;
	req.headers = hdrs;
	req.idempotent = true;
	rc = http_do(c->http, &req, &resp, err);
	if (rc) {
		rc_err_prefix(err, "Storeganise");
		goto out;
	}
	if (resp.status != 200) {
		error_message(&resp, msg, sizeof(msg));
		rc = rc_errf(err, resp.status == 401 || resp.status == 403 ? RC_EAUTH : RC_EHTTP,
			     "Storeganise GET /v1/admin/%s: HTTP %ld%s%s%s", path,
			     resp.status, *msg ? " (" : "", msg, *msg ? ")" : "");
		goto out;
	}
	*out = json_loadb(resp.body.p, resp.body.len, 0, &je);
	if (!*out)
		rc = rc_errf(err, RC_EPARSE,
			     "Storeganise GET /v1/admin/%s: malformed JSON at line %d: %s",
			     path, je.line, je.text);
out:
	http_resp_free(&resp);
	free(url);
	return rc;
}

/* Page through a list until a short page; parse each page as it arrives. */
static int sg_list(struct sg_client *c, const char *path_query,
		   struct parse_ctx *p, parse_fn fn, const struct keep *keep)
{
	char where[512];
	size_t offset = 0, got;
	json_t *page;
	char *path;
	int rc;

	for (;;) {
		path = rc_sprintf("%s%slimit=%u&offset=%zu", path_query,
				  strchr(path_query, '?') ? "&" : "?",
				  c->page_size, offset);
		snprintf(where, sizeof(where), "Storeganise GET /v1/admin/%s", path);
		p->where = where;
		rc = sg_get(c, path, &page, p->err);
		free(path);
		if (rc)
			return rc;
		rc = parse_array(p, page, fn, keep);
		got = json_is_array(page) ? json_array_size(page) : 0;
		json_decref(page);
		if (rc)
			return rc;
		if (got < c->page_size)
			return RC_OK;
		offset += got;
	}
}

static int fetch_site(struct sg_client *c, const char *site_id,
		      struct parse_ctx *p)
{
	char *esc = http_escape(site_id);
	char *q;
	int rc;

	q = rc_sprintf("units?siteId=%s&include=customFields", esc);
	rc = sg_list(c, q, p, parse_unit, NULL);
	free(q);
	if (!rc) {
		q = rc_sprintf("unit-rentals?siteId=%s&state=occupied&include=customFields", esc);
		rc = sg_list(c, q, p, parse_rental, NULL);
		free(q);
	}
	free(esc);
	return rc;
}

/* The rentals' customers: one GET each when they are few (a one-site
 * reconcile must not page through the whole business's customers), else
 * the paged list. */
#define SG_OWNERS_ONE_BY_ONE 50

static int fetch_owners(struct sg_client *c, const struct rc_map *owners,
			struct parse_ctx *p, const struct keep *keep)
{
	char where[256], *esc, *path;
	json_t *o = NULL;
	size_t i;
	int rc = RC_OK;
	const char *env = getenv("RECONCILE_SG_OWNERS_ONE_BY_ONE"); /* tuning, tests */
	size_t limit = env ? (size_t)strtoul(env, NULL, 10) : SG_OWNERS_ONE_BY_ONE;

	if (owners->n > limit)
		return sg_list(c, "users?include=customFields", p, parse_user, keep);
	for (i = 0; !rc && i < owners->cap; i++) {
		if (!owners->keys[i])
			continue;
		esc = http_escape(owners->keys[i]);
		path = rc_sprintf("users/%s?include=customFields", esc);
		snprintf(where, sizeof(where), "Storeganise GET /v1/admin/users/%s", esc);
		p->where = where;
		p->item = 0;
		rc = sg_get(c, path, &o, p->err);
		if (rc == RC_EHTTP && strstr(p->err->msg, "HTTP 404")) {
			rc_err_clear(p->err); /* a missing customer: R10 leaves its unit alone */
			rc = RC_OK;
		} else if (!rc && !json_is_object(o)) {
			rc = rc_errf(p->err, RC_EPARSE, "%s: expected an object", where);
		} else if (!rc) {
			rc = parse_user(p, o);
		}
		json_decref(o);
		o = NULL;
		free(path);
		free(esc);
	}
	return rc;
}

int sg_fetch_snapshot(struct sg_client *c, const struct spec *spec,
		      const struct spec_site *const *sites, size_t n,
		      struct pms_snapshot *out, struct rc_err *err)
{
	struct sg_wanted w;
	struct parse_ctx p = { 0 };
	struct rc_map want_sites, owners;
	struct keep keep_users = { 0 };
	json_t *arr = NULL;
	size_t i;
	int rc;

	wanted_build(&w, spec);
	rc_map_init(&want_sites);
	rc_map_init(&owners);
	p.snap = out;
	p.wanted = &w;
	p.err = err;
	for (i = 0; i < (n ? n : spec->nsites); i++)
		rc_map_put(&want_sites, n ? sites[i]->pms_site_id
					  : spec->sites[i].pms_site_id, 1);

	rc = sg_get(c, "sites?include=customFields", &arr, err);
	if (rc)
		goto out;
	p.where = "Storeganise GET /v1/admin/sites";
	rc = parse_array(&p, arr, parse_site, &(struct keep){ .user_ids = &want_sites });
	if (rc)
		goto out;
	for (i = 0; i < out->nsites; i++) {
		rc = fetch_site(c, out->sites[i].id, &p);
		if (rc)
			goto out;
	}
	for (i = 0; i < out->nrentals; i++)
		rc_map_put(&owners, out->rentals[i].owner_id, 1);
	keep_users.user_ids = &owners;
	if (owners.n)
		rc = fetch_owners(c, &owners, &p, &keep_users);
	if (rc)
		goto out;
	rc = pms_snapshot_index(out, err);
out:
	json_decref(arr);
	rc_map_free(&want_sites);
	rc_map_free(&owners);
	rc_map_free(&w.codes);
	return rc;
}

int sg_fetch_rental(struct sg_client *c, const struct spec *spec,
		    const char *rental_id, struct pms_snapshot *out,
		    struct rc_err *err)
{
	struct sg_wanted w;
	struct parse_ctx p = { 0 };
	json_t *o = NULL;
	char *esc = http_escape(rental_id), *path;
	char where[256];
	int rc;

	wanted_build(&w, spec);
	p.snap = out;
	p.wanted = &w;
	p.err = err;
	path = rc_sprintf("unit-rentals/%s?include=unit,owner,customFields", esc);
	snprintf(where, sizeof(where), "Storeganise GET /v1/admin/unit-rentals/%s", esc);
	p.where = where;
	rc = sg_get(c, path, &o, err);
	if (rc)
		goto out;
	if (!json_is_object(o)) {
		rc = rc_errf(err, RC_EPARSE, "%s: expected an object", where);
		goto out;
	}
	rc = parse_rental(&p, o);
	if (!rc && json_is_object(json_object_get(o, "unit")))
		rc = parse_unit(&p, json_object_get(o, "unit"));
	if (!rc && json_is_object(json_object_get(o, "owner")))
		rc = parse_user(&p, json_object_get(o, "owner"));
	if (!rc)
		rc = pms_snapshot_index(out, err);
out:
	json_decref(o);
	free(path);
	free(esc);
	rc_map_free(&w.codes);
	return rc;
}

int sg_load_snapshot_file(const char *path, const struct spec *spec,
			  struct pms_snapshot *out, struct rc_err *err)
{
	struct sg_wanted w;
	struct parse_ctx p = { 0 };
	struct rc_map want_sites, owners;
	json_error_t je;
	json_t *root;
	char where[512];
	size_t i;
	int rc = RC_OK;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return rc_errf(err, RC_EPARSE, "%s:%d:%d: %s", path, je.line,
			       je.column, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return rc_errf(err, RC_EPARSE,
			       "%s: expected an object {sites, units, unitRentals, users}",
			       path);
	}
	wanted_build(&w, spec);
	rc_map_init(&want_sites);
	rc_map_init(&owners);
	for (i = 0; i < spec->nsites; i++)
		rc_map_put(&want_sites, spec->sites[i].pms_site_id, 1);
	p.snap = out;
	p.wanted = &w;
	p.err = err;
	p.where = where;
	{
		const char *sect[] = { "sites", "units", "unitRentals", "users" };
		parse_fn fns[] = { parse_site, parse_unit, parse_rental, parse_user };

		for (i = 0; i < 4 && !rc; i++) {
			json_t *arr = json_object_get(root, sect[i]);
			struct keep k = { 0 };

			snprintf(where, sizeof(where), "%s: $.%s", path, sect[i]);
			if (!arr) {
				rc = rc_errf(err, RC_EPARSE, "%s: missing", where);
				break;
			}
			if (i == 0)
				k.user_ids = &want_sites; /* sites by their id */
			else if (i < 3)
				k.site_ids = &want_sites;
			else
				k.user_ids = &owners;
			if (i == 3)
				for (size_t r = 0; r < out->nrentals; r++)
					rc_map_put(&owners, out->rentals[r].owner_id, 1);
			rc = parse_array(&p, arr, fns[i], &k);
		}
	}
	/* Rentals without a siteId take their unit's. */
	if (!rc)
		rc = pms_snapshot_index(out, err);
	for (i = 0; !rc && i < out->nrentals; i++) {
		const struct pms_unit *u;

		if (out->rentals[i].site_id)
			continue;
		u = pms_find_unit(out, out->rentals[i].unit_id);
		out->rentals[i].site_id = u ? u->site_id : NULL;
	}
	rc_map_free(&want_sites);
	rc_map_free(&owners);
	rc_map_free(&w.codes);
	json_decref(root);
	return rc;
}

int sg_put_custom_fields(struct sg_client *c, const char *collection,
			 const char *id, const struct sg_field_write *w,
			 unsigned n, struct rc_err *err)
{
	const char *hdrs[] = { c->auth_header, "Accept: application/json",
			       "Content-Type: application/json", NULL };
	struct http_req req = { 0 };
	struct http_resp resp;
	json_t *body = json_object(), *cf = json_object();
	char *esc = http_escape(id), *url, *text;
	char msg[200];
	unsigned i;
	int rc;

	for (i = 0; i < n; i++) {
		json_t *v = w[i].type == SG_VAL_STRING ? json_string(w[i].str)
			  : w[i].type == SG_VAL_BOOL ? json_boolean(w[i].b)
			  : json_null();
		json_object_set_new(cf, w[i].code, v);
	}
	json_object_set_new(body, "customFields", cf);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	url = rc_sprintf("%s/v1/admin/%s/%s", c->base, collection, esc);
	http_resp_init(&resp);
	req.method = "PUT";
	req.url = url;
	req.headers = hdrs;
	req.body = text;
	req.body_len = strlen(text);
	req.idempotent = true; /* a PUT of the same keys is idempotent */
	rc = http_do(c->http, &req, &resp, err);
	if (rc) {
		rc_err_prefix(err, "Storeganise");
	} else if (resp.status < 200 || resp.status > 299) {
		error_message(&resp, msg, sizeof(msg));
		rc = rc_errf(err, RC_EHTTP, "Storeganise PUT /v1/admin/%s/%s: HTTP %ld%s%s%s",
			     collection, esc, resp.status, *msg ? " (" : "", msg,
			     *msg ? ")" : "");
	}
	http_resp_free(&resp);
	explicit_bzero(text, strlen(text));
	free(text);
	free(url);
	free(esc);
	return rc;
}
