/* storeganise_parse.c: Storeganise API objects -> snapshot structs.
 * See storeganise_int.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storeganise_int.h"

#include "core/jscan.h"

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


/* Where the item is: "GET ...: item 3", or "file: byte 812: $.units[3]". */
static void item_where(const struct sg_parse *p, char *buf, size_t n)
{
	const char *where = p->where ? p->where : "Storeganise";

	if (p->section)
		snprintf(buf, n, "%s: byte %llu: $.%s[%zu]", where,
			 (unsigned long long)p->byte, p->section, p->item);
	else
		snprintf(buf, n, "%s: item %zu", where, p->item);
}

static int perr(struct sg_parse *p, const char *field, const char *what)
{
	char at[RC_ERR_MSG_LEN];

	item_where(p, at, sizeof(at));
	return rc_errf(p->err, RC_EPARSE, "%s: field \"%s\": %s", at, field, what);
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

static bool sg_keep_obj(const struct sg_keep *k, json_t *o)
{
	json_t *v;

	if (!k)
		return true;
	if (k->site_ids) {
		v = json_object_get(o, "siteId");
		if (!v || json_is_null(v))
			return k->no_site_kept;
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

int sg_parse_item(struct sg_parse *p, json_t *o, sg_parse_fn fn, const struct sg_keep *keep)
{
	char at[RC_ERR_MSG_LEN];

	if (!json_is_object(o)) {
		item_where(p, at, sizeof(at));
		return rc_errf(p->err, RC_EPARSE, "%s: expected an object", at);
	}
	if (!sg_keep_obj(keep, o) || seen_before(p, keep, o))
		return RC_OK;
	return fn(p, o);
}

/* Parse an array of objects (one page). */
int sg_parse_array(struct sg_parse *p, json_t *arr, sg_parse_fn fn,
		       const struct sg_keep *keep)
{
	size_t i;
	json_t *o;
	int rc;

	if (!json_is_array(arr))
		return rc_errf(p->err, RC_EPARSE, "%s: expected a JSON array",
			       p->where ? p->where : "Storeganise");
	json_array_foreach(arr, i, o) {
		p->item = i;
		rc = sg_parse_item(p, o, fn, keep);
		if (rc)
			return rc;
	}
	return RC_OK;
}

/* ------------------------------------------------------ snapshot files */

/* A snapshot file is read as it streams (core/jscan.h): the scanner finds
 * the top-level object's members and each element of their arrays, and
 * each element alone is decoded by jansson, parsed into the snapshot and
 * freed: no tree larger than one element lives. users and jobs depend on
 * the rentals (a user is kept when a kept rental names it; a job dates
 * one): met before unitRentals, they are walked over to check their
 * structure, their offset kept, and read after the end of the object by
 * going back to it (a regular file). */

enum { SEC_SITES, SEC_UNITS, SEC_RENTALS, SEC_USERS, SEC_JOBS, SEC_N };
static const char *const sec_name[SEC_N] = { "sites", "units", "unitRentals", "users", "jobs" };

struct sg_file {
	const char *path;
	struct jscan sc;
	struct sg_parse p;
	struct sg_keep keep[SEC_JOBS];
	struct rc_map want_sites, owners;
	struct rc_map keys;          /* top-level keys met (owned) */
	struct sg_move_outs jobs;
	bool seen[SEC_N];
	bool later[SEC_N];           /* met before unitRentals: read at the end */
	uint64_t later_off[SEC_N];
	struct rc_err *err;
};

/* The scanner's error (err holds its text), placed: "file: byte N: $.x". */
static int file_scan_err(struct sg_file *f, const char *jpath)
{
	return rc_err_prefix(f->err, "%s: byte %llu: %s", f->path,
			     (unsigned long long)jscan_err_offset(&f->sc), jpath);
}

/* One value's bytes decoded alone (new), or NULL with err set. The span
 * is exactly one value, so jansson's end-of-input check stays on: bytes
 * after the value in the span are an error, not ignored. */
static json_t *file_decode(struct sg_file *f, const struct jscan_span *v, const char *jpath)
{
	json_error_t je;
	json_t *o = json_loadb(v->p, v->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);

	if (!o)
		rc_errf(f->err, RC_EPARSE, "%s: byte %llu: %s: %s", f->path,
			(unsigned long long)(v->off + (uint64_t)je.position), jpath, je.text);
	return o;
}

/* One element of section sec (o borrowed) into the snapshot. */
static int file_take(struct sg_file *f, int sec, json_t *o, size_t i, uint64_t off)
{
	static const sg_parse_fn fns[SEC_JOBS] = { sg_parse_site, sg_parse_unit, sg_parse_rental,
						  sg_parse_user };

	if (sec == SEC_JOBS) {
		sg_move_outs_take(&f->jobs, o); /* not an object, or not ours: no date */
		return RC_OK;
	}
	if (sec < 0)
		return RC_OK; /* a member we do not read: decoded only to check it */
	f->p.section = sec_name[sec];
	f->p.item = i;
	f->p.byte = off;
	return sg_parse_item(&f->p, o, fns[sec], &f->keep[sec]);
}

static int file_item_err(struct sg_file *f, const char *name, size_t i)
{
	char jpath[96];

	snprintf(jpath, sizeof(jpath), "$.%.64s[%zu]", name, i);
	return file_scan_err(f, jpath);
}

/* The elements of the array next, each through file_take (skip: only
 * walked over). */
static int file_array(struct sg_file *f, int sec, const char *name, bool skip)
{
	struct jscan_span v;
	char jpath[96];
	size_t i = 0;
	json_t *o;
	int r, rc;

	if (jscan_open(&f->sc, '[', f->err))
		return file_item_err(f, name, 0);
	for (;;) {
		r = jscan_element(&f->sc, &i, &v, f->err);
		if (r < 0)
			return file_item_err(f, name, i);
		if (!r)
			return RC_OK;
		if (skip)
			continue;
		o = json_loadb(v.p, v.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
		if (!o) { /* again, for its message */
			snprintf(jpath, sizeof(jpath), "$.%.64s[%zu]", name, i - 1);
			file_decode(f, &v, jpath);
			return f->err->code;
		}
		rc = file_take(f, sec, o, i - 1, v.off);
		json_decref(o);
		if (rc)
			return rc;
	}
}

/* The value of member name (sec: its section, -1 for another member). */
static int file_member(struct sg_file *f, int sec, const char *name, bool skip)
{
	struct jscan_span v;
	char jpath[80];
	size_t i;
	json_t *o;
	int c, rc;

	snprintf(jpath, sizeof(jpath), "$.%.64s", name);
	rc = jscan_peek(&f->sc, &c, f->err);
	if (rc)
		return file_scan_err(f, jpath);
	if (c != '[' && sec >= 0)
		return rc_errf(f->err, RC_EPARSE, "%s: byte %llu: %s: expected a JSON array", f->path,
			       (unsigned long long)jscan_offset(&f->sc), jpath);
	if (c != '[') {
		rc = jscan_value(&f->sc, &v, f->err);
		if (rc)
			return file_scan_err(f, jpath);
		o = file_decode(f, &v, jpath);
		json_decref(o);
		return o ? RC_OK : f->err->code;
	}
	if (skip)
		return file_array(f, sec, name, true);
	if (sec == SEC_USERS)
		for (i = 0; i < f->p.snap->nrentals; i++)
			rc_map_put(&f->owners, f->p.snap->rentals[i].owner_id, 1);
	if (sec == SEC_JOBS)
		sg_move_outs_init(&f->jobs, f->p.snap, 0);
	rc = file_array(f, sec, name, false);
	if (sec == SEC_JOBS)
		sg_move_outs_finish(&f->jobs, rc == RC_OK);
	return rc;
}

/* A key's bytes (quoted, as written) decoded: *name new. */
static int file_key(struct sg_file *f, const struct jscan_span *key, char **name)
{
	json_t *k = file_decode(f, key, "$");

	*name = NULL;
	if (!k)
		return f->err->code;
	*name = rc_strndup(json_string_value(k), json_string_length(k));
	json_decref(k);
	return RC_OK;
}

/* The top-level object, member by member. */
static int file_object(struct sg_file *f)
{
	struct jscan_span key;
	size_t i = 0;
	char *name;
	int c, r, rc, sec;

	rc = jscan_peek(&f->sc, &c, f->err);
	if (rc)
		return file_scan_err(f, "$");
	if (c != '{')
		return rc_errf(f->err, RC_EPARSE, "%s: byte %llu: expected an object {sites, units, "
			       "unitRentals, users}%s", f->path,
			       (unsigned long long)jscan_offset(&f->sc), c < 0 ? ": the file is empty" : "");
	rc = jscan_open(&f->sc, '{', f->err);
	while (!rc) {
		r = jscan_member(&f->sc, &i, &key, f->err);
		if (r < 0)
			return file_scan_err(f, "$");
		if (!r)
			break;
		rc = file_key(f, &key, &name);
		if (rc)
			return rc;
		if (rc_map_get(&f->keys, name, NULL)) {
			rc = rc_errf(f->err, RC_EPARSE, "%s: byte %llu: $: the key \"%.64s\" is "
				     "there twice", f->path, (unsigned long long)key.off, name);
			free(name);
			return rc;
		}
		rc_map_put(&f->keys, name, 1);
		for (sec = SEC_N - 1; sec >= 0 && strcmp(name, sec_name[sec]); sec--)
			;
		if ((sec == SEC_USERS || sec == SEC_JOBS) && !f->seen[SEC_RENTALS]) {
			if (jscan_peek(&f->sc, &c, f->err))
				return file_scan_err(f, "$");
			f->later[sec] = true;
			f->later_off[sec] = jscan_offset(&f->sc);
		}
		rc = file_member(f, sec, name, sec >= 0 && f->later[sec]);
		if (sec >= 0)
			f->seen[sec] = true;
	}
	if (!rc && jscan_finish(&f->sc, f->err))
		rc = file_scan_err(f, "$");
	return rc;
}

/* Sections met before unitRentals, now that the rentals are known. */
static int file_later(struct sg_file *f)
{
	int sec, rc = RC_OK;

	for (sec = SEC_USERS; !rc && sec <= SEC_JOBS; sec++) {
		if (!f->later[sec])
			continue;
		rc = jscan_seek(&f->sc, f->later_off[sec], f->err);
		if (rc)
			return rc_err_prefix(f->err, "%s: byte %llu: $.%s: before unitRentals, it "
					     "is read after them: that needs a regular file",
					     f->path, (unsigned long long)f->later_off[sec],
					     sec_name[sec]);
		rc = file_member(f, sec, sec_name[sec], false);
	}
	return rc;
}

static int file_read(struct sg_file *f)
{
	int sec, rc = file_object(f);

	for (sec = SEC_SITES; !rc && sec < SEC_JOBS; sec++)
		if (!f->seen[sec])
			rc = rc_errf(f->err, RC_EPARSE, "%s: $.%s: missing", f->path, sec_name[sec]);
	return rc ? rc : file_later(f);
}

int sg_load_snapshot_file(const char *path, const struct spec *spec,
			  struct pms_snapshot *out, struct rc_err *err)
{
	struct sg_wanted w;
	struct sg_file f;
	size_t i;
	int fd, rc;

	rc = rc_open_regular(path, "a PMS snapshot", RC_CAP_SNAPSHOT, &fd, NULL, err);
	if (rc)
		return rc;
	memset(&f, 0, sizeof(f));
	f.path = path;
	f.err = err;
	jscan_init(&f.sc, fd, 0);
	sg_wanted_build(&w, spec);
	rc_map_init(&f.want_sites);
	rc_map_init(&f.owners);
	rc_map_init(&f.keys);
	for (i = 0; i < spec->nsites; i++)
		rc_map_put(&f.want_sites, spec->sites[i].pms_site_id, 1);
	f.keep[SEC_SITES].user_ids = &f.want_sites; /* sites by their id */
	f.keep[SEC_UNITS].site_ids = &f.want_sites;
	f.keep[SEC_RENTALS].site_ids = &f.want_sites;
	f.keep[SEC_RENTALS].no_site_kept = true; /* its unit's site, below */
	f.keep[SEC_USERS].user_ids = &f.owners;
	f.p.snap = out;
	f.p.wanted = &w;
	f.p.err = err;
	f.p.where = path;

	rc = file_read(&f);
	if (!rc)
		rc = pms_snapshot_index(out, err);
	/* Rentals without a siteId take their unit's. */
	for (i = 0; !rc && i < out->nrentals; i++) {
		const struct pms_unit *u;

		if (out->rentals[i].site_id)
			continue;
		u = pms_find_unit(out, out->rentals[i].unit_id);
		out->rentals[i].site_id = u ? u->site_id : NULL;
	}
	for (i = 0; i < f.keys.cap; i++)
		free((char *)f.keys.keys[i]);
	rc_map_free(&f.keys);
	rc_map_free(&f.want_sites);
	rc_map_free(&f.owners);
	rc_map_free(&w.codes);
	jscan_free(&f.sc);
	close(fd);
	return rc;
}
