/*
 * diff_openapp.c: desired x observed -> operations for OpenApp sites
 * (docs/rules.md OA1-OA5 on top of R1-R10).
 *
 * A unit is managed when its portal field (openapp_portalIds) is set. Each
 * occupied rental of a managed unit has one invite (observed "unit" = the
 * rental id): on the unit's portals plus the site's lobby portals (OA1),
 * valid from the rental's start to its scheduled move-out, else open-ended
 * (start + 10 years) or a rolling window of validity_days renewed once half
 * of it is used (OA2), enabled unless delinquent (OA3). The rental's
 * invite is the one the refresh calls current (live, else expired: it is
 * updated, never created again); a rental with none gets a create under
 * the key the refresh derived (the observed unit's vendor id, OA5). A new
 * invite's one-time URL is written back right after the create, and an
 * invite whose URL the PMS lacks gets a renewed link and the write (OA4).
 * An invite whose rental is no longer occupied at the site is revoked (or
 * deleted by spec), unless it has expired; invites of occupied rentals on
 * unmanaged or erroneous units are left alone (R1).
 *
 * Decisions: a missing start date is read as 2000-01-01 (never "today",
 * which would change the plan daily); windows are whole UTC days; an
 * open-ended window reaches at least 5 years ahead (open_end).
 */
#define _GNU_SOURCE
#include "diff.h"
#include "providers/openapp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPEN_ENDED_DAYS 3650

struct oa_want {
	const char *portals, *from, *to;
	long max_uses;
	bool enabled;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Unit portals + lobby portals: trimmed, sorted, unique, comma-joined. */
static const char *portal_set(struct site_plan *sp, const char *unit_list)
{
	const struct openapp_conf *o = sp->site->conf;
	char *copy = rc_strdup(unit_list), *tok, *save = NULL;
	const char *v[128];
	struct rc_buf b;
	size_t n = 0, i;
	const char *s;

	for (tok = strtok_r(copy, ", ", &save); tok && n < 100; tok = strtok_r(NULL, ", ", &save))
		v[n++] = tok;
	for (i = 0; i < o->nlobby_portal_ids && n < 128; i++)
		v[n++] = o->lobby_portal_ids[i];
	if (n > 1)
		qsort(v, n, sizeof(v[0]), cmp_str);
	rc_buf_init(&b);
	for (i = 0; i < n; i++)
		if (!i || strcmp(v[i], v[i - 1]))
			rc_buf_printf(&b, "%s%s", b.len ? "," : "", v[i]);
	s = sp_str(sp, b.p ? b.p : "");
	rc_buf_free(&b);
	free(copy);
	return s;
}

/* "YYYY-MM-DD" (+ days) -> "YYYY-MM-DDT<hms>Z"; NULL on a bad date. */
static const char *day(struct site_plan *sp, const char *ymd, long days, const char *hms)
{
	struct tm tm;
	time_t t;
	char buf[32];

	memset(&tm, 0, sizeof(tm));
	if (!ymd || sscanf(ymd, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return NULL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) + days * 86400;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
	return sp_printf(sp, "%sT%sZ", buf, hms);
}

static const char *today(struct site_plan *sp, long days)
{
	time_t t = time(NULL) + days * 86400;
	struct tm tm;
	char buf[16];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
	return day(sp, buf, 0, "23:59:59");
}

/* Open-ended: start + 10 years, in further steps of 10 years while less
 * than half of that is left, so that a rental older than 10 years still
 * gets a window ahead of it, and the window changes once a decade. */
static const char *open_end(struct site_plan *sp, const char *start)
{
	const time_t step = (time_t)OPEN_ENDED_DAYS * 86400;
	time_t t, now = time(NULL);
	struct tm tm;
	long k = 1;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(start, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return NULL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	while (t + k * step < now + step / 2)
		k++;
	return day(sp, start, k * OPEN_ENDED_DAYS, "23:59:59");
}

static bool want_invite(struct diff_ctx *c, const struct dunit *d, const json_t *obs_extra,
			struct oa_want *w)
{
	const struct openapp_conf *o = c->sp->site->conf;
	const char *start = d->rental->start_date ? d->rental->start_date : "2000-01-01";
	const char *seen_to = json_string_value(json_object_get(obs_extra, "t"));

	w->portals = portal_set(c->sp, d->vname);
	w->from = day(c->sp, start, 0, "00:00:00");
	if (d->rental->end_date)
		w->to = day(c->sp, d->rental->end_date, 0, "23:59:59");
	else if (o->validity_days > 0) {
		/* rolling: renew only once half of the window is used */
		w->to = today(c->sp, o->validity_days);
		if (seen_to && strcmp(seen_to, today(c->sp, o->validity_days / 2)) >= 0)
			w->to = sp_str(c->sp, seen_to);
	} else
		w->to = open_end(c->sp, start);
	w->max_uses = o->max_uses;
	w->enabled = d->status != VU_DELINQUENT;
	if (!*w->portals || !w->from || !w->to) {
		sp_add_finding(c->sp, FIND_BAD_VALUE, SEV_ERROR, d->pu->name, d->vname, "OA2",
			       "rental %s: %s", d->rental->id,
			       !*w->portals ? "the unit's portal field lists no portal"
					    : "its start or move-out date is not a YYYY-MM-DD date");
		return false;
	}
	return true;
}

/* The invite as the change shows it, into r. */
static void invite_attrs(struct site_plan *sp, struct rattrs *r, const struct oa_want *w, bool url)
{
	ra_object(sp, r, 6);
	ra_str(sp, r, "portals", w->portals);
	ra_str(sp, r, "valid_from", w->from);
	ra_str(sp, r, "valid_to", w->to);
	ra_bool(sp, r, "enabled", w->enabled);
	if (w->max_uses > 0)
		ra_int(sp, r, "max_uses", w->max_uses);
	else
		ra_null(sp, r, "max_uses");
	if (url) {
		ra_str(sp, r, "invite_url", PLAN_SENSITIVE);
		ra_mark_sensitive(r, "invite_url");
	}
}

/* A string of the observed invite's extra (copied: ex is the caller's),
 * or null. */
static void ex_str(struct site_plan *sp, struct rattrs *r, const char *key, json_t *ex,
		   const char *k)
{
	const char *v = json_string_value(json_object_get(ex, k));

	if (v)
		ra_str(sp, r, key, sp_str(sp, v));
	else
		ra_null(sp, r, key);
}

static unsigned changed_bits(const struct oa_want *w, const struct obs_tenant *t, json_t *ex)
{
	json_t *m = json_object_get(ex, "m");
	long seen_max = json_is_integer(m) ? (long)json_integer_value(m) : -1;
	unsigned ch = 0;

	if (!rc_streq(json_string_value(json_object_get(ex, "p")), w->portals))
		ch |= TF_PORTALS;
	if (!rc_streq(json_string_value(json_object_get(ex, "f")), w->from) ||
	    !rc_streq(json_string_value(json_object_get(ex, "t")), w->to) ||
	    seen_max != (w->max_uses > 0 ? w->max_uses : -1))
		ch |= TF_WINDOW;
	if (t->enabled != w->enabled)
		ch |= TF_ENABLED;
	return ch;
}

static struct op *invite_op(struct diff_ctx *c, enum op_kind k, const struct dunit *d,
			    const char *rental, const struct oa_want *w, const char *rule,
			    const char *reason)
{
	struct op *op = sp_add_op(c->sp, k);

	op->unit = sp_str(c->sp, rental);
	op->rental_id = sp_str(c->sp, rental);
	op->user_id = d && d->user ? d->user->id : NULL;
	op->rule = rule;
	op->reason = sp_str(c->sp, reason);
	if (w) {
		op->t.portals = w->portals;
		op->t.valid_from = w->from;
		op->t.valid_to = w->to;
		op->t.max_uses = w->max_uses;
		op->t.enabled = w->enabled;
	}
	return op;
}

/* The one-time URL of the op's result written back to the rental (OA4). */
static void url_write(struct diff_ctx *c, const struct dunit *d, struct op *op)
{
	struct op_write wr = { .field = spec_field(c->sp->site, OA_F_INVITE_URL), .type = WB_CODE };

	op->result_slot = (int)c->sp->nresults;
	wr.code.src = CODE_VENDOR_RESULT;
	wr.code.slot = c->sp->nresults++;
	diff_pms_write(c, "unit-rentals", d->rental->id, d->pu->name, &d->rental->cf, &wr, 1,
		       "OA4");
}

static void create(struct diff_ctx *c, const struct dunit *d, const struct obs_unit *ou,
		   const struct oa_want *w)
{
	struct rchange *rc;
	struct op *op;

	op = invite_op(c, OP_TENANT_CREATE, d, d->rental->id, w, "OA1",
		       w->enabled ? "occupied rental without an invite: create it"
				  : "occupied (and delinquent) rental without an invite: create it disabled");
	op->changed = TF_INVITE_ALL;
	/* the key of the rental's next invite, as the refresh counted them (OA5) */
	op->unit_vid = ou && ou->vendor_id ? sp_str(c->sp, ou->vendor_id) : NULL;
	rc = sp_add_change(c->sp, "openapp_invite", d->rental->id, ACT_CREATE, "OA1", op->reason);
	invite_attrs(c->sp, &rc->after, w, true);
	url_write(c, d, op);
}

static const char *update_reason(struct diff_ctx *c, unsigned ch, bool link,
				 const struct oa_want *w)
{
	const char *what = ch & TF_ENABLED ? (w->enabled ? "delinquency settled: enable the invite"
							 : "delinquent: disable the invite")
			 : "the invite's portals or validity differ from the PMS";

	if (!link)
		return what;
	if (!ch)
		return "the PMS has no link for the invite (a lost write-back, or a cleared field): renew it";
	return sp_printf(c->sp, "%s; the PMS has no link for it: renew it", what);
}

/* One PUT for what differs; a missing URL in the PMS renews the link in
 * the same operation and writes it back (OA4, R8: a lost write-back is
 * seen, never silently dropped). */
static void update(struct diff_ctx *c, const struct dunit *d, const struct obs_tenant *t,
		   json_t *ex, const struct oa_want *w)
{
	const char *url = pms_cf_get(&d->rental->cf, spec_field(c->sp->site, OA_F_INVITE_URL));
	bool link = !url || !*url;
	unsigned ch = changed_bits(w, t, ex);
	struct rchange *rc;
	struct op *op;

	if (!ch && !link)
		return;
	op = invite_op(c, OP_TENANT_UPDATE, d, d->rental->id, w,
		       ch & TF_ENABLED ? "OA3" : ch ? "OA2" : "OA4", update_reason(c, ch, link, w));
	op->changed = ch;
	op->tenant_vid = t->vendor_id;
	rc = sp_add_change(c->sp, "openapp_invite", d->rental->id, ACT_UPDATE, op->rule, op->reason);
	ra_object(c->sp, &rc->before, 5);
	ex_str(c->sp, &rc->before, "portals", ex, "p");
	ex_str(c->sp, &rc->before, "valid_from", ex, "f");
	ex_str(c->sp, &rc->before, "valid_to", ex, "t");
	ra_bool(c->sp, &rc->before, "enabled", t->enabled);
	ra_json(c->sp, &rc->before, "max_uses", json_incref(json_object_get(ex, "m")));
	invite_attrs(c->sp, &rc->after, w, link);
	if (link)
		url_write(c, d, op);
}

static void rented(struct diff_ctx *c, const struct dunit *d)
{
	const struct obs_unit *ou = obs_find_unit(&c->sp->obs, d->rental->id);
	const struct obs_tenant *t = ou && ou->ntenants ? &ou->tenants[0] : NULL;
	json_t *ex = t && t->extra ? json_loads(t->extra, 0, NULL) : NULL;
	struct oa_want w;

	if (want_invite(c, d, ex, &w)) {
		if (t)
			update(c, d, t, ex, &w);
		else
			create(c, d, ou, &w);
	}
	json_decref(ex);
}

/* An invite whose window ended opens nothing (expired at the vendor). */
static bool expired(const struct obs_tenant *t)
{
	json_t *ex = t->extra ? json_loads(t->extra, 0, NULL) : NULL;
	const char *to = json_string_value(json_object_get(ex, "t"));
	time_t now = time(NULL);
	struct tm tm;
	char buf[32];
	bool r;

	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = to && *to && strcmp(to, buf) < 0;
	json_decref(ex);
	return r;
}

/* Occupied rentals of the site, managed or not (R1: never touch those). */
static void occupied_set(struct diff_ctx *c, struct rc_map *occ)
{
	const struct snap_groups *g = c->groups;
	size_t pos, i, ri;

	rc_map_init(occ);
	if (!g || !c->sp->pms_site || !rc_map_get(&g->site_pos, c->sp->pms_site->id, &pos))
		return;
	for (i = 0; i < g->counts[pos]; i++) {
		const struct pms_unit *u = &c->snap->units[g->order[g->starts[pos] + i]];

		if (rc_map_get(&g->occ, u->id, &ri))
			rc_map_put(occ, c->snap->rentals[ri].id, 1);
		if (rc_map_get(&g->occ2, u->id, &ri))
			rc_map_put(occ, c->snap->rentals[ri].id, 1);
	}
}

vendor_diff_fn diff_openapp; /* the descriptor's (providers/openapp.c) */

int diff_openapp(struct diff_ctx *c, const struct desired_site *d)
{
	const bool del = ((const struct openapp_conf *)c->sp->site->conf)->delete_on_vacate;
	struct rc_map occ;
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->units[i].rental && !d->units[i].error && d->units[i].user)
			rented(c, &d->units[i]);
	occupied_set(c, &occ);
	for (i = 0; i < c->sp->obs.nunits; i++) {
		const struct obs_unit *ou = &c->sp->obs.units[i];
		struct rchange *rc;
		struct op *op;

		if (!ou->ntenants || rc_map_get(&occ, ou->name, NULL) || !diff_rental_in_scope(c, ou->name) ||
		    expired(&ou->tenants[0]))
			continue;
		op = invite_op(c, OP_UNIT_VACATE, NULL, ou->name, NULL, "OA3",
			       del ? "the rental is no longer occupied: delete its invite"
				   : "the rental is no longer occupied: revoke its invite");
		op->tenant_vid = ou->tenants[0].vendor_id;
		c->sp->destructive++;
		rc = sp_add_change(c->sp, "openapp_invite", ou->name, ACT_DELETE, "OA3", op->reason);
		ra_bool(c->sp, &rc->before, "enabled", ou->tenants[0].enabled);
	}
	rc_map_free(&occ);
	return RC_OK;
}
