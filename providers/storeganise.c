/* storeganise.c: see storeganise.h. */
#define _GNU_SOURCE
#include "storeganise_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "core/fiber.h"

/* ---------------------------------------------------------------- API */

int sg_client_new(struct sg_client **out, const struct spec *spec,
		  struct rc_err *err)
{
	struct sg_client *c;
	char *key = NULL;
	int rc;

	rc = spec_secret_read(&spec->pms.api_key, "the Storeganise API key",
			      NULL, &key, err);
	if (rc)
		return rc;
	c = rc_calloc(1, sizeof(*c));
	rc = http_client_peer(&c->http, &spec->pms_http, "storeganise", err);
	if (rc) {
		rc_free_secret(key);
		free(c);
		return rc;
	}
	c->base = http_base_url(spec->pms.base_url);
	c->auth_header = rc_sprintf("Authorization: ApiKey %s", key);
	c->page_size = spec->pms.page_size ? spec->pms.page_size : 1000;
	c->sites = json_object();
	rc_free_secret(key);
	*out = c;
	return RC_OK;
}

/* The kept answer of path for the calling fiber's run (stolen), or NULL. */
static json_t *memo_take(struct sg_client *c, const char *path)
{
	const void *f = fiber_current();
	json_t *o;
	size_t i;

	for (i = 0; f && i < SG_MEMO_MAX; i++) {
		if (c->memo[i].fiber != f || strcmp(c->memo[i].path, path))
			continue;
		o = c->memo[i].o;
		free(c->memo[i].path);
		memset(&c->memo[i], 0, sizeof(c->memo[i]));
		return o;
	}
	return NULL;
}

/* Keep o (borrowed: a reference is taken) for the calling fiber's run;
 * not kept off a fiber or when every slot is taken. */
static void memo_keep(struct sg_client *c, const char *path, json_t *o)
{
	const void *f = fiber_current();
	size_t i;

	for (i = 0; f && i < SG_MEMO_MAX; i++) {
		if (c->memo[i].fiber)
			continue;
		c->memo[i] = (struct sg_memo){ rc_strdup(path), f, json_incref(o) };
		return;
	}
}

/* Drop the answers kept for fiber f's run; f NULL: all of them. */
static void memo_drop(struct sg_client *c, const void *f)
{
	size_t i;

	for (i = 0; i < SG_MEMO_MAX; i++) {
		if (!c->memo[i].fiber || (f && c->memo[i].fiber != f))
			continue;
		free(c->memo[i].path);
		json_decref(c->memo[i].o);
		memset(&c->memo[i], 0, sizeof(c->memo[i]));
	}
}

void sg_memo_end(struct sg_client *c)
{
	const void *f = fiber_current();

	if (c && f) /* off a fiber nothing was kept */
		memo_drop(c, f);
}

void sg_client_free(struct sg_client *c)
{
	if (!c)
		return;
	memo_drop(c, NULL);
	http_client_free(c->http);
	json_decref(c->sites);
	rc_free_secret(c->auth_header);
	free(c->base);
	free(c);
}

/* GET path (relative to /v1/admin/) and parse the JSON answer. *out new.
 * RC_ENOTFOUND on 404, RC_EAUTH on 401/403, RC_EVENDOR on other statuses. */
int sg_get(struct sg_client *c, const char *path, json_t **out,
		  struct rc_err *err)
{
	const char *hdrs[] = { c->auth_header, "Accept: application/json", NULL };
	struct http_resp resp;
	struct http_req req = { 0 };
	char *url = rc_sprintf("%s/v1/admin/%s", c->base, path), *what;
	int rc;

	*out = memo_take(c, path);
	if (*out) {
		free(url);
		return RC_OK;
	}
	http_resp_init(&resp);
	req.method = "GET";
	req.url = url;
	req.headers = hdrs;
	req.idempotent = true;
	req.parse_json = true; /* a cut page is fetched again */
	rc = http_do(c->http, &req, &resp, err);
	if (rc) {
		rc_err_prefix(err, "Storeganise");
		goto out;
	}
	if (resp.status != 200) {
		what = rc_sprintf("GET /v1/admin/%s", path);
		rc = http_status_error("Storeganise", what, &resp, NULL, 0, err);
		free(what);
		goto out;
	}
	*out = resp.json;
	resp.json = NULL;
	if (!*out)
		rc = rc_errf(err, RC_EPARSE, "Storeganise GET /v1/admin/%s: an empty answer", path);
out:
	http_resp_free(&resp);
	free(url);
	return rc;
}

/* Page through a list until a short page; parse each page as it arrives.
 * p->where points into this frame while it runs, and is NULL after. */
int sg_list(struct sg_client *c, const char *path_query,
		   struct sg_parse *p, sg_parse_fn fn, const struct sg_keep *keep)
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
			goto out;
		rc = sg_parse_array(p, page, fn, keep);
		got = json_is_array(page) ? json_array_size(page) : 0;
		json_decref(page);
		if (rc || got < c->page_size)
			goto out;
		offset += got;
	}
out:
	p->where = NULL;
	return rc;
}

static int fetch_site(struct sg_client *c, const char *site_id,
		      struct sg_parse *p)
{
	char *esc = http_escape(site_id);
	char *q;
	int rc;

	q = rc_sprintf("units?siteId=%s&include=customFields", esc);
	rc = sg_list(c, q, p, sg_parse_unit, NULL);
	free(q);
	if (!rc) {
		q = rc_sprintf("unit-rentals?siteId=%s&state=occupied&include=customFields", esc);
		rc = sg_list(c, q, p, sg_parse_rental, NULL);
		free(q);
	}
	free(esc);
	return rc;
}

/* GET collection/id into the snapshot through fn, if keep keeps it.
 * RC_ENOTFOUND (err set) on 404. */
int sg_get_one(struct sg_client *c, const char *collection, const char *id,
		   struct sg_parse *p, sg_parse_fn fn, const struct sg_keep *keep)
{
	char where[256], *esc = http_escape(id), *path;
	json_t *o = NULL, *arr;
	int rc;

	path = rc_sprintf("%s/%s?include=customFields", collection, esc);
	snprintf(where, sizeof(where), "Storeganise GET /v1/admin/%s/%s", collection, esc);
	p->where = where;
	rc = sg_get(c, path, &o, p->err);
	if (rc == RC_ENOTFOUND) {
		rc_err_prefix(p->err, "not found");
	} else if (!rc && !json_is_object(o)) {
		rc = rc_errf(p->err, RC_EPARSE, "%s: expected an object", where);
	} else if (!rc) {
		arr = json_pack("[O]", o);
		rc = sg_parse_array(p, arr, fn, keep);
		json_decref(arr);
	}
	json_decref(o);
	free(path);
	free(esc);
	p->where = NULL;
	return rc;
}

/* ------------------------------------------------- move-out jobs (OA2) */

/* Storeganise keeps a scheduled move-out on a job, not on the rental
 * (docs/pms-api.md §3): a rental naming a move-out job takes the job's
 * date while the job is pending. A few jobs are read one by one; more
 * through one paged list of pending move-out jobs, so that a whole read
 * never costs a GET per rental. */
#define SG_JOBS_ONE_BY_ONE 50

static int take_job(struct sg_parse *p, json_t *o)
{
	sg_move_outs_take(p->ctx, o);
	return RC_OK;
}

static int read_move_outs(struct sg_client *c, struct sg_move_outs *m, struct sg_parse *p)
{
	const char *env = getenv("RECONCILE_SG_JOBS_ONE_BY_ONE"); /* tuning, tests */
	size_t limit = env ? (size_t)strtoul(env, NULL, 10) : SG_JOBS_ONE_BY_ONE, i;
	json_t *job = NULL;
	int rc = RC_OK;

	if (m->jobs.n > limit) {
		/* ids are checked, so a list that ignored its filters is slow, not wrong */
		p->ctx = m;
		rc = sg_list(c, "jobs?type=unit_moveOut&state=ready,running", p, take_job, NULL);
		p->ctx = NULL;
		return rc;
	}
	for (i = 0; !rc && i < m->jobs.cap; i++) {
		if (!m->jobs.keys[i])
			continue;
		rc = sg_get_raw(c, "jobs", m->jobs.keys[i], &job, p->err);
		if (!rc) {
			sg_move_outs_take(m, job);
		} else if (rc == RC_ENOTFOUND) { /* a job that is gone schedules nothing */
			rc_err_clear(p->err);
			rc = RC_OK;
		}
		json_decref(job);
		job = NULL;
	}
	return rc;
}

/* Rentals [from, n) of p->snap take the dates of their pending move-out
 * jobs. A job that cannot be read fails the read (R10). */
int sg_resolve_move_outs(struct sg_client *c, struct sg_parse *p, size_t from)
{
	struct sg_move_outs m;
	int rc = RC_OK;

	sg_move_outs_init(&m, p->snap, from);
	if (m.jobs.n)
		rc = read_move_outs(c, &m, p);
	sg_move_outs_finish(&m, rc == RC_OK);
	return rc;
}

/* The rentals' customers: one GET each when they are few (a one-site
 * reconcile must not page through the whole business's customers), else
 * the paged list. A customer that is gone is skipped: R10 leaves its
 * unit alone. */
#define SG_OWNERS_ONE_BY_ONE 50

int sg_fetch_owners(struct sg_client *c, const struct rc_map *owners,
			struct sg_parse *p, const struct sg_keep *keep)
{
	size_t i;
	int rc = RC_OK;
	const char *env = getenv("RECONCILE_SG_OWNERS_ONE_BY_ONE"); /* tuning, tests */
	size_t limit = env ? (size_t)strtoul(env, NULL, 10) : SG_OWNERS_ONE_BY_ONE;

	if (owners->n > limit)
		return sg_list(c, "users?include=customFields", p, sg_parse_user, keep);
	for (i = 0; !rc && i < owners->cap; i++) {
		if (!owners->keys[i])
			continue;
		rc = sg_get_one(c, "users", owners->keys[i], p, sg_parse_user, NULL);
		if (rc == RC_ENOTFOUND) {
			rc_err_clear(p->err);
			rc = RC_OK;
		}
	}
	return rc;
}

void sg_site_cache_put(struct sg_client *c, json_t *site)
{
	const char *id = json_string_value(json_object_get(site, "id"));

	if (id && json_object_size(c->sites) < 100000)
		json_object_set(c->sites, id, site);
}

/* A site of the list: into the snapshot, and kept for webhook runs. */
static int parse_site_cached(struct sg_parse *p, json_t *o)
{
	sg_site_cache_put(p->ctx, o);
	return sg_parse_site(p, o);
}

int sg_fetch_snapshot(struct sg_client *c, const struct spec *spec,
		      const struct spec_site *const *sites, size_t n,
		      struct pms_snapshot *out, struct rc_err *err)
{
	struct sg_wanted w;
	struct sg_parse p = { 0 };
	struct rc_map want_sites, owners;
	struct sg_keep keep_users = { 0 };
	size_t i;
	int rc;

	sg_wanted_build(&w, spec);
	rc_map_init(&want_sites);
	rc_map_init(&owners);
	p.snap = out;
	p.wanted = &w;
	p.err = err;
	for (i = 0; i < (n ? n : spec->nsites); i++)
		rc_map_put(&want_sites, n ? sites[i]->pms_site_id
					  : spec->sites[i].pms_site_id, 1);

	/* paged like every list: the API answers 100 sites when not told more */
	p.ctx = c;
	rc = sg_list(c, "sites?include=customFields", &p, parse_site_cached,
		     &(struct sg_keep){ .user_ids = &want_sites });
	p.ctx = NULL;
	if (rc)
		goto out;
	for (i = 0; i < out->nsites; i++) {
		rc = fetch_site(c, out->sites[i].id, &p);
		if (rc)
			goto out;
	}
	rc = sg_resolve_move_outs(c, &p, 0);
	if (rc)
		goto out;
	for (i = 0; i < out->nrentals; i++)
		rc_map_put(&owners, out->rentals[i].owner_id, 1);
	keep_users.user_ids = &owners;
	if (owners.n)
		rc = sg_fetch_owners(c, &owners, &p, &keep_users);
	if (rc)
		goto out;
	rc = pms_snapshot_index(out, err);
out:
	rc_map_free(&want_sites);
	rc_map_free(&owners);
	rc_map_free(&w.codes);
	return rc;
}

static void refs_add_rental(struct sg_refs *r, json_t *v)
{
	size_t i;

	if (!json_is_string(v) || !json_string_length(v) || r->nrentals == SG_REFS_MAX)
		return;
	for (i = 0; i < r->nrentals; i++)
		if (!strcmp(r->rentals[i], json_string_value(v)))
			return;
	r->rentals[r->nrentals++] = rc_strdup(json_string_value(v));
}

static void refs_set(char **dst, json_t *v)
{
	if (!*dst && json_is_string(v) && json_string_length(v))
		*dst = rc_strdup(json_string_value(v));
}

void sg_refs_free(struct sg_refs *r)
{
	size_t i;

	for (i = 0; i < r->nrentals; i++)
		free(r->rentals[i]);
	free(r->unit_id);
	free(r->site_id);
	memset(r, 0, sizeof(*r));
}

int sg_get_raw(struct sg_client *c, const char *collection, const char *id, json_t **out,
		   struct rc_err *err)
{
	char *esc = http_escape(id), *path = rc_sprintf("%s/%s", collection, esc);
	int rc = sg_get(c, path, out, err);

	if (!rc && !json_is_object(*out))
		rc = rc_errf(err, RC_EPARSE, "Storeganise GET /v1/admin/%s/%s: expected an object",
			     collection, esc);
	free(path);
	free(esc);
	return rc;
}

int sg_resolve_job(struct sg_client *c, const char *job_id, struct sg_refs *out,
		   struct rc_err *err)
{
	json_t *j = NULL, *res, *data, *step;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sg_get_raw(c, "jobs", job_id, &j, err);
	if (rc)
		goto out;
	res = json_object_get(j, "result");
	data = json_object_get(j, "data");
	refs_add_rental(out, json_object_get(res, "unitRentalId"));
	refs_add_rental(out, json_object_get(data, "unitRentalId"));
	refs_add_rental(out, json_object_get(data, "oldRentalId"));
	refs_add_rental(out, json_object_get(data, "newRentalId"));
	/* the unit: result first, then the start step, then data (KR) */
	refs_set(&out->unit_id, json_object_get(res, "unitId"));
	json_array_foreach(json_object_get(j, "steps"), i, step)
		if (rc_streq(json_string_value(json_object_get(step, "type")), "start"))
			refs_set(&out->unit_id, json_object_get(json_object_get(step, "result"), "unitId"));
	refs_set(&out->unit_id, json_object_get(data, "unitId"));
	refs_set(&out->site_id, json_object_get(res, "siteId"));
out:
	json_decref(j);
	return rc;
}

int sg_resolve_unit(struct sg_client *c, const char *unit_id, struct sg_refs *out,
		    struct rc_err *err)
{
	json_t *u = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sg_get_raw(c, "units", unit_id, &u, err);
	if (!rc) {
		out->unit_id = rc_strdup(unit_id);
		refs_set(&out->site_id, json_object_get(u, "siteId"));
	}
	json_decref(u);
	return rc;
}

int sg_resolve_user(struct sg_client *c, const char *user_id, struct sg_refs *out,
		    struct rc_err *err)
{
	char *esc = http_escape(user_id), *path;
	json_t *arr = NULL, *o;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	path = rc_sprintf("unit-rentals?ownerId=%s&state=occupied&limit=%u", esc, SG_REFS_MAX);
	rc = sg_get(c, path, &arr, err);
	if (!rc && !json_is_array(arr))
		rc = rc_errf(err, RC_EPARSE, "Storeganise GET /v1/admin/unit-rentals?ownerId=%s: "
			     "expected an array", esc);
	if (!rc) {
		json_array_foreach(arr, i, o)
			refs_add_rental(out, json_object_get(o, "id"));
		if (json_array_size(arr) >= SG_REFS_MAX)
			out->truncated = true;
	}
	json_decref(arr);
	free(path);
	free(esc);
	return rc;
}

int sg_fetch_rental(struct sg_client *c, const struct spec *spec,
		    const char *rental_id, struct pms_snapshot *out,
		    struct rc_err *err)
{
	struct sg_wanted w;
	struct sg_parse p = { 0 };
	json_t *o = NULL;
	char *esc = http_escape(rental_id), *path;
	char where[256];
	int rc;

	sg_wanted_build(&w, spec);
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
	memo_keep(c, path, o);
	rc = sg_parse_rental(&p, o);
	if (!rc && json_is_object(json_object_get(o, "unit")))
		rc = sg_parse_unit(&p, json_object_get(o, "unit"));
	if (!rc && json_is_object(json_object_get(o, "owner")))
		rc = sg_parse_user(&p, json_object_get(o, "owner"));
	if (!rc)
		rc = pms_snapshot_index(out, err);
out:
	json_decref(o);
	free(path);
	free(esc);
	rc_map_free(&w.codes);
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
	char *esc = http_escape(id), *url, *text, *what;
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
		const char **sent = rc_calloc(n + 1, sizeof(*sent));
		unsigned ns = 0;

		for (i = 0; i < n; i++)
			if (w[i].type == SG_VAL_STRING)
				sent[ns++] = w[i].str; /* a gate code the PMS may echo */
		what = rc_sprintf("PUT /v1/admin/%s/%s", collection, esc);
		rc = http_status_error("Storeganise", what, &resp, sent, ns, err);
		free(what);
		free(sent);
	}
	http_resp_free(&resp);
	explicit_bzero(text, strlen(text));
	free(text);
	free(url);
	free(esc);
	return rc;
}
