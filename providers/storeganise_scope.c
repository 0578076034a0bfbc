/*
 * storeganise_scope.c: the part of a site some rentals touch, for a
 * webhook's run (sg_fetch_scope in storeganise.h), in as few calls as the
 * API allows: a move-in costs the rental (with its unit and customer,
 * include=unit,owner) and its unit's occupied rentals (R3 needs all of
 * them); the site comes from what the last whole read kept, and a
 * move-out job is read only when the rental names one.
 *
 * An embedded unit or customer without "customFields" (an API that does
 * not nest them: docs/pms-api.md, [inferred]) is read on its own, as before.
 */
#define _GNU_SOURCE
#include "storeganise_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

struct scope {
	struct sg_client *c;
	struct sg_parse p;
	const char *site_id;
	struct rc_map site_ids, units_seen, units_listed, rentals_seen, owners_have;
	struct sg_keep units, rentals;
};

/* The site: kept from the last whole read, else one GET (then kept). */
static int scope_site(struct scope *s)
{
	json_t *o = json_object_get(s->c->sites, s->site_id), *arr;
	char *esc, *path;
	int rc = RC_OK;

	if (o)
		json_incref(o);
	if (!o) {
		esc = http_escape(s->site_id);
		path = rc_sprintf("sites/%s?include=customFields", esc);
		rc = sg_get(s->c, path, &o, s->p.err);
		free(path);
		free(esc);
		if (rc == RC_ENOTFOUND)
			rc_err_prefix(s->p.err, "not found");
		if (!rc && !json_is_object(o))
			rc = rc_errf(s->p.err, RC_EPARSE, "Storeganise GET /v1/admin/sites/%s: expected "
				     "an object", s->site_id);
		if (!rc)
			sg_site_cache_put(s->c, o);
	}
	if (!rc) {
		arr = json_pack("[O]", o);
		rc = sg_parse_array(&s->p, arr, sg_parse_site, NULL);
		json_decref(arr);
	}
	json_decref(o);
	return rc;
}

/* An object the rental's answer nests (borrowed), parsed when it carries
 * its custom fields; false when it must be read on its own. */
static bool nested(struct scope *s, json_t *o, sg_parse_fn fn, const struct sg_keep *keep,
		   int *rc)
{
	json_t *arr;

	if (!json_is_object(o) || !json_object_get(o, "customFields") ||
	    !json_is_string(json_object_get(o, "id")))
		return false;
	arr = json_pack("[O]", o);
	*rc = sg_parse_array(&s->p, arr, fn, keep);
	json_decref(arr);
	return true;
}

/* One rental asked about: its unit and owner ids (copied into the arena),
 * if it is of the site; its nested unit and customer into the snapshot.
 * RC_ENOTFOUND when it is gone. */
static int scope_rental(struct scope *s, const char *rental_id, const char **unit_id,
			const char **owner_id)
{
	char *esc = http_escape(rental_id), *path;
	struct rc_arena *arena = &s->p.snap->arena;
	const char *u, *w, *site;
	json_t *o = NULL;
	int rc;

	*unit_id = *owner_id = NULL;
	path = rc_sprintf("unit-rentals/%s?include=unit,owner,customFields", esc);
	rc = sg_get(s->c, path, &o, s->p.err);
	if (rc)
		goto out;
	u = json_string_value(json_object_get(o, "unitId"));
	w = json_string_value(json_object_get(o, "ownerId"));
	site = json_string_value(json_object_get(o, "siteId"));
	if (!u || !w) {
		rc = rc_errf(s->p.err, RC_EPARSE, "Storeganise GET /v1/admin/unit-rentals/%s: "
			     "unitId or ownerId missing", esc);
		goto out;
	}
	if (site && strcmp(site, s->site_id))
		goto out; /* of another site */
	*unit_id = rc_arena_strdup(arena, u);
	*owner_id = rc_arena_strdup(arena, w);
	nested(s, json_object_get(o, "unit"), sg_parse_unit, &s->units, &rc);
	if (!rc && !rc_map_get(&s->owners_have, w, NULL) &&
	    nested(s, json_object_get(o, "owner"), sg_parse_user, NULL, &rc) && !rc)
		rc_map_put(&s->owners_have, *owner_id, 1);
out:
	json_decref(o);
	free(path);
	free(esc);
	return rc;
}

/* A unit (if of the site, once) and, once, its occupied rentals. */
static int scope_unit(struct scope *s, const char *unit_id)
{
	char *esc, *q;
	int rc = RC_OK;

	if (!rc_map_get(&s->units_seen, unit_id, NULL))
		rc = sg_get_one(s->c, "units", unit_id, &s->p, sg_parse_unit, &s->units);
	if (rc || rc_map_get(&s->units_listed, unit_id, NULL))
		return rc;
	rc_map_put(&s->units_listed, rc_arena_strdup(&s->p.snap->arena, unit_id), 1);
	esc = http_escape(unit_id);
	q = rc_sprintf("unit-rentals?unitId=%s&state=occupied&include=customFields", esc);
	rc = sg_list(s->c, q, &s->p, sg_parse_rental, &s->rentals);
	free(q);
	free(esc);
	return rc;
}

/* Every occupied rental of these customers at the site (one vendor user
 * per customer holds all its units there: PTI). */
static int scope_owners_rentals(struct scope *s, const struct rc_map *owners)
{
	char *esc, *sesc = http_escape(s->site_id), *q;
	size_t i;
	int rc = RC_OK;

	for (i = 0; !rc && i < owners->cap; i++) {
		if (!owners->keys[i])
			continue;
		esc = http_escape(owners->keys[i]);
		q = rc_sprintf("unit-rentals?ownerId=%s&siteId=%s&state=occupied&include=customFields",
			       esc, sesc);
		rc = sg_list(s->c, q, &s->p, sg_parse_rental, &s->rentals);
		free(q);
		free(esc);
	}
	free(sesc);
	return rc;
}

/* The customers of the snapshot's rentals not read yet. */
static int scope_customers(struct scope *s)
{
	const struct pms_snapshot *snap = s->p.snap;
	struct rc_map want;
	size_t i;
	int rc = RC_OK;

	rc_map_init(&want);
	for (i = 0; i < snap->nrentals; i++)
		if (!rc_map_get(&s->owners_have, snap->rentals[i].owner_id, NULL))
			rc_map_put(&want, snap->rentals[i].owner_id, 1);
	if (want.n)
		rc = sg_fetch_owners(s->c, &want, &s->p, NULL);
	rc_map_free(&want);
	return rc;
}

/* The rentals asked about: each one's unit, and what touched records. */
static int scope_asked(struct scope *s, const char *const *rental_ids, size_t n,
		       struct rc_map *owners, struct sg_touched *touched, size_t *nunits)
{
	const char *unit_id, *owner_id;
	struct rc_arena *arena = &s->p.snap->arena;
	size_t i;
	int rc = RC_OK;

	for (i = 0; !rc && i < n; i++) {
		rc = scope_rental(s, rental_ids[i], &unit_id, &owner_id);
		if (rc || !unit_id)
			continue;
		rc_map_put(owners, owner_id, 1);
		if (touched) { /* an ended rental is in no list: its customer may be leaving */
			rc_map_put(&touched->rentals, rc_arena_strdup(arena, rental_ids[i]), 1);
			rc_map_put(&touched->owners, owner_id, 1);
		}
		rc = scope_unit(s, unit_id);
		(*nunits)++;
	}
	return rc;
}

static void scope_free(struct scope *s)
{
	rc_map_free(&s->site_ids);
	rc_map_free(&s->units_seen);
	rc_map_free(&s->units_listed);
	rc_map_free(&s->rentals_seen);
	rc_map_free(&s->owners_have);
}

int sg_fetch_scope(struct sg_client *c, const struct spec *spec, const struct spec_site *site,
		   const char *const *rental_ids, size_t n, bool owners_rentals,
		   struct pms_snapshot *out, struct sg_touched *touched, struct rc_err *err)
{
	struct sg_wanted w;
	struct scope s;
	struct rc_map owners;
	size_t i, nunits = 0, first = out->nrentals;
	int rc;

	memset(&s, 0, sizeof(s));
	sg_wanted_build(&w, spec);
	rc_map_init(&owners);
	s.c = c;
	s.site_id = site->pms_site_id;
	s.p.snap = out;
	s.p.wanted = &w;
	s.p.err = err;
	s.units = (struct sg_keep){ .site_ids = &s.site_ids, .seen = &s.units_seen };
	s.rentals = (struct sg_keep){ .site_ids = &s.site_ids, .seen = &s.rentals_seen };
	rc_map_put(&s.site_ids, site->pms_site_id, 1);
	rc = scope_site(&s);
	if (!rc)
		rc = scope_asked(&s, rental_ids, n, &owners, touched, &nunits);
	if (!rc && !nunits)
		rc = rc_errf(err, RC_ENOTFOUND, "no rental of site %s among those asked for", site->name);
	for (i = 0; !rc && i < out->nrentals; i++)
		rc_map_put(&owners, out->rentals[i].owner_id, 1);
	if (!rc && owners_rentals)
		rc = scope_owners_rentals(&s, &owners);
	for (i = 0; !rc && i < out->nrentals; i++)
		rc = scope_unit(&s, out->rentals[i].unit_id);
	if (!rc)
		rc = sg_resolve_move_outs(c, &s.p, first);
	if (!rc)
		rc = scope_customers(&s);
	if (!rc)
		rc = pms_snapshot_index(out, err);
	rc_map_free(&owners);
	scope_free(&s);
	rc_map_free(&w.codes);
	return rc;
}
