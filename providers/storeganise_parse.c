/* storeganise_parse.c: Storeganise API objects -> snapshot structs.
 * See storeganise_int.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storeganise_int.h"

/* The custom-field codes the spec names: only these are kept. */

static void wanted_add(struct sg_wanted *w, const char *code)
{
	if (code)
		rc_map_put(&w->codes, code, 1);
}

static void wanted_secret(const struct spec_secret *sec, const char *what, void *payload)
{
	(void)what;
	wanted_add(payload, sec->site_field); /* a credential kept on the PMS site */
}

void sg_wanted_build(struct sg_wanted *w, const struct spec *spec)
{
	const struct spec_site *s;
	size_t i;
	unsigned k;

	rc_map_init(&w->codes);
	for (i = 0; i < spec->nsites; i++) {
		s = &spec->sites[i];
		for (k = 0; k < s->vendor->nfields; k++)
			wanted_add(w, s->fields[k]);
		s->vendor->conf_secrets(s->conf, wanted_secret, w);
	}
}

/* ------------------------------------------------------------ parsing */


static int perr(struct sg_parse *p, const char *field, const char *what)
{
	return rc_errf(p->err, RC_EPARSE, "%s: item %zu: field \"%s\": %s",
		       p->where, p->item, field, what);
}

/* Optional string: absent or null -> NULL. Numbers are accepted as text
 * because ids and phone numbers sometimes arrive as numbers. */
static int get_str(struct sg_parse *p, json_t *o, const char *k,
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

static int get_cfs(struct sg_parse *p, json_t *o, struct pms_cfs *out)
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
		const char *val = NULL;

		if (!rc_map_get(&p->wanted->codes, k, NULL) || json_is_null(v))
			continue;
		out->v[out->n].bad = false;
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
			out->v[out->n].bad = true; /* an object or array: reported (model.h) */
		}
		out->v[out->n].code = rc_arena_strdup(&p->snap->arena, k);
		out->v[out->n].val = val ? rc_arena_strdup(&p->snap->arena, val) : NULL;
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

int sg_parse_site(struct sg_parse *p, json_t *o)
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

int sg_parse_unit(struct sg_parse *p, json_t *o)
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

int sg_parse_rental(struct sg_parse *p, json_t *o)
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
		rc = get_str(p, o, "moveOutJobId", false, &r->move_out_job_id);
	if (r->move_out_job_id && !*r->move_out_job_id)
		r->move_out_job_id = NULL;
	if (!rc)
		rc = get_cfs(p, o, &r->cf);
	r->state = rental_state(state);
	r->overdue = truthy(json_object_get(o, "overdue"));
	return rc;
}

const char *sg_job_move_out_date(json_t *job)
{
	const char *state = json_string_value(json_object_get(job, "state"));
	json_t *data = json_object_get(job, "data");
	const char *date = json_string_value(json_object_get(data, "date"));

	if (!state || (strcmp(state, "ready") && strcmp(state, "running")))
		return NULL; /* cancelled or completed: nothing scheduled */
	if (!date || !*date)
		date = json_string_value(json_object_get(data, "moveOutDate"));
	return date && *date ? date : NULL;
}

int sg_parse_user(struct sg_parse *p, json_t *o)
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



/* ------------------------------------------------- move-out jobs (OA2) */

void sg_move_outs_init(struct sg_move_outs *m, struct pms_snapshot *s, size_t from)
{
	size_t i;

	m->snap = s;
	m->from = from;
	rc_map_init(&m->jobs);
	for (i = from; i < s->nrentals; i++)
		if (s->rentals[i].move_out_job_id && !rc_map_get(&m->jobs, s->rentals[i].move_out_job_id, NULL))
			rc_map_put(&m->jobs, s->rentals[i].move_out_job_id, i);
	m->dates = rc_calloc(s->nrentals - from + 1, sizeof(*m->dates));
}

/* One job of the PMS answer (borrowed): its date, if it is one we want. */
void sg_move_outs_take(struct sg_move_outs *m, json_t *job)
{
	const char *id = json_string_value(json_object_get(job, "id"));
	const char *date = sg_job_move_out_date(job);
	size_t i;

	if (id && date && rc_map_get(&m->jobs, id, &i))
		m->dates[i - m->from] = rc_arena_strdup(&m->snap->arena, date);
}

/* The dates found become the rentals' end dates (over the rental's own
 * endDate / moveOutDate, the fallback); m is freed. */
void sg_move_outs_finish(struct sg_move_outs *m, bool assign)
{
	struct pms_rental *r;
	size_t i, j;

	for (i = m->from; assign && i < m->snap->nrentals; i++) {
		r = &m->snap->rentals[i];
		if (r->move_out_job_id && rc_map_get(&m->jobs, r->move_out_job_id, &j) &&
		    m->dates[j - m->from])
			r->end_date = m->dates[j - m->from];
	}
	free(m->dates);
	rc_map_free(&m->jobs);
}

/* A snapshot file's optional "jobs" (borrowed): the move-out jobs of its
 * rentals, in the API's shape. */
int sg_parse_move_out_jobs(json_t *jobs, struct pms_snapshot *out, const char *path,
			  struct rc_err *err)
{
	struct sg_move_outs m;
	json_t *job;
	size_t i;

	if (!jobs)
		return RC_OK;
	if (!json_is_array(jobs))
		return rc_errf(err, RC_EPARSE, "%s: $.jobs: expected a JSON array", path);
	sg_move_outs_init(&m, out, 0);
	json_array_foreach(jobs, i, job)
		sg_move_outs_take(&m, job);
	sg_move_outs_finish(&m, true);
	return RC_OK;
}

static bool sg_keep_obj(const struct sg_keep *k, json_t *o)
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

/* A scoped read asks overlapping questions (a unit's rentals, an owner's
 * rentals): each object is kept once. */
static bool seen_before(struct sg_parse *p, const struct sg_keep *k, json_t *o)
{
	json_t *id = json_object_get(o, "id");

	if (!k || !k->seen || !json_is_string(id))
		return false;
	if (rc_map_get(k->seen, json_string_value(id), NULL))
		return true;
	rc_map_put(k->seen, rc_arena_strdup(&p->snap->arena, json_string_value(id)), 1);
	return false;
}

/* Parse an array of objects (one page or one file section). */
int sg_parse_array(struct sg_parse *p, json_t *arr, sg_parse_fn fn,
		       const struct sg_keep *keep)
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
		if (!sg_keep_obj(keep, o) || seen_before(p, keep, o))
			continue;
		rc = fn(p, o);
		if (rc)
			return rc;
	}
	return RC_OK;
}

