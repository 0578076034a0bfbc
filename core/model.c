/* model.c: see model.h. */
#include "model.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *pms_cf_get(const struct pms_cfs *c, const char *code)
{
	unsigned i;

	if (!c || !code)
		return NULL;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].code, code) == 0)
			return c->v[i].val;
	return NULL;
}

const char *pms_cf_bad(const struct pms_cfs *c)
{
	unsigned i;

	for (i = 0; c && i < c->n; i++)
		if (c->v[i].bad)
			return c->v[i].code;
	return NULL;
}

bool pms_cf_is_bad(const struct pms_cfs *c, const char *code)
{
	unsigned i;

	for (i = 0; c && code && i < c->n; i++)
		if (!strcmp(c->v[i].code, code))
			return c->v[i].bad;
	return false;
}

bool pms_cf_true(const struct pms_cfs *c, const char *code)
{
	const char *v = pms_cf_get(c, code);

	if (!v)
		return false;
	return strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	       strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0;
}

void pms_snapshot_init(struct pms_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	rc_arena_init(&s->arena);
}

void pms_snapshot_free(struct pms_snapshot *s)
{
	free(s->sites);
	free(s->units);
	free(s->rentals);
	free(s->users);
	rc_map_free(&s->site_idx);
	rc_map_free(&s->unit_idx);
	rc_map_free(&s->rental_idx);
	rc_map_free(&s->user_idx);
	rc_arena_free(&s->arena);
	memset(s, 0, sizeof(*s));
}

struct pms_site *pms_add_site(struct pms_snapshot *s)
{
	return RC_PUSH(s->sites, s->nsites, s->capsites);
}

struct pms_unit *pms_add_unit(struct pms_snapshot *s)
{
	return RC_PUSH(s->units, s->nunits, s->capunits);
}

struct pms_rental *pms_add_rental(struct pms_snapshot *s)
{
	return RC_PUSH(s->rentals, s->nrentals, s->caprentals);
}

struct pms_user *pms_add_user(struct pms_snapshot *s)
{
	return RC_PUSH(s->users, s->nusers, s->capusers);
}

static int index_one(struct rc_map *m, const char *what, const char *id,
		     size_t i, struct rc_err *err)
{
	if (!id)
		return rc_errf(err, RC_EINVAL, "%s #%zu has no id", what, i);
	if (rc_map_get(m, id, NULL))
		return rc_errf(err, RC_EINVAL, "duplicate %s id %s", what, id);
	rc_map_put(m, id, i);
	return RC_OK;
}

int pms_snapshot_index(struct pms_snapshot *s, struct rc_err *err)
{
	size_t i;
	int rc;

	rc_map_free(&s->site_idx);
	rc_map_free(&s->unit_idx);
	rc_map_free(&s->rental_idx);
	rc_map_free(&s->user_idx);
	for (i = 0; i < s->nsites; i++) {
		rc = index_one(&s->site_idx, "site", s->sites[i].id, i, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < s->nunits; i++) {
		rc = index_one(&s->unit_idx, "unit", s->units[i].id, i, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < s->nrentals; i++) {
		rc = index_one(&s->rental_idx, "unit rental",
			       s->rentals[i].id, i, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < s->nusers; i++) {
		rc = index_one(&s->user_idx, "user", s->users[i].id, i, err);
		if (rc)
			return rc;
	}
	return RC_OK;
}

const struct pms_site *pms_find_site(const struct pms_snapshot *s, const char *id)
{
	size_t i;

	return rc_map_get(&s->site_idx, id, &i) ? &s->sites[i] : NULL;
}

const struct pms_unit *pms_find_unit(const struct pms_snapshot *s, const char *id)
{
	size_t i;

	return rc_map_get(&s->unit_idx, id, &i) ? &s->units[i] : NULL;
}

const struct pms_rental *pms_find_rental(const struct pms_snapshot *s,
					 const char *id)
{
	size_t i;

	return rc_map_get(&s->rental_idx, id, &i) ? &s->rentals[i] : NULL;
}

const struct pms_user *pms_find_user(const struct pms_snapshot *s, const char *id)
{
	size_t i;

	return rc_map_get(&s->user_idx, id, &i) ? &s->users[i] : NULL;
}

/* -------------------------------------------------------------- vendor */

const char *vu_status_name(enum vu_status s)
{
	switch (s) {
	case VU_VACANT: return "Vacant";
	case VU_RENTED: return "Rented";
	case VU_DELINQUENT: return "Delinquent";
	default: return "Unknown";
	}
}

void obs_site_init(struct obs_site *o, const char *site)
{
	memset(o, 0, sizeof(*o));
	rc_arena_init(&o->arena);
	o->site = rc_arena_strdup(&o->arena, site);
	o->readable = true;
}

void obs_site_free(struct obs_site *o)
{
	size_t i;

	for (i = 0; i < o->nunits; i++)
		free(o->units[i].tenants);
	free(o->units);
	rc_map_free(&o->idx);
	rc_buf_free(&o->held_codes);
	rc_arena_free(&o->arena);
	memset(o, 0, sizeof(*o));
}

struct obs_unit *obs_add_unit(struct obs_site *o, const char *name)
{
	struct obs_unit *u;

	u = RC_PUSH(o->units, o->nunits, o->capunits);
	u->name = rc_arena_strdup(&o->arena, name);
	u->status = VU_UNKNOWN;
	return u;
}

struct obs_tenant *obs_add_tenant(struct obs_site *o, struct obs_unit *u)
{
	struct obs_tenant *t;

	(void)o;
	t = RC_PUSH(u->tenants, u->ntenants, u->captenants);
	t->access_profile = -1;
	t->time_group = -1;
	t->enabled = true;
	return t;
}

void obs_site_index(struct obs_site *o)
{
	size_t i;

	rc_map_free(&o->idx);
	for (i = 0; i < o->nunits; i++)
		rc_map_put(&o->idx, o->units[i].name, i);
}

const struct obs_unit *obs_find_unit(const struct obs_site *o, const char *name)
{
	size_t i;

	return rc_map_get(&o->idx, name, &i) ? &o->units[i] : NULL;
}

struct obs_unit *obs_find_unit_mut(struct obs_site *o, const char *name)
{
	size_t i;

	return rc_map_get(&o->idx, name, &i) ? &o->units[i] : NULL;
}

/* ---------------------------------------------------------- PMS records */

void pms_recs_init(struct pms_recs *r)
{
	memset(r, 0, sizeof(*r));
}

void pms_recs_free(struct pms_recs *r)
{
	free(r->v);
	rc_map_free(&r->idx);
	memset(r, 0, sizeof(*r));
}

struct pms_rec *pms_recs_add(struct pms_recs *r)
{
	return RC_PUSH(r->v, r->n, r->cap);
}

void pms_recs_index(struct pms_recs *r)
{
	size_t i;

	rc_map_free(&r->idx);
	for (i = 0; i < r->n; i++)
		rc_map_put(&r->idx, r->v[i].rental_id, i);
}

const struct pms_rec *pms_recs_find(const struct pms_recs *r, const char *rental_id)
{
	size_t i;

	return r && rental_id && rc_map_get(&r->idx, rental_id, &i) ? &r->v[i] : NULL;
}
