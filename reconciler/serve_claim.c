/* serve_claim.c: who may run in a site at once. See serve_int.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"
#include "providers/vendor.h"

bool serve_site_can_run(struct serve_site *st, bool whole)
{
	if (whole) {
		if (!st->whole && !st->scoped)
			return true;
		st->whole_waiting = true;
		return false;
	}
	return !st->whole && !st->whole_waiting;
}

bool serve_site_enter(struct serve *s, struct serve_site *st, bool whole)
{
	if (whole ? st->whole || st->scoped : st->whole || st->whole_waiting)
		return false;
	if (whole) {
		st->whole = true;
		st->whole_waiting = false;
	} else {
		st->scoped++;
	}
	if (++st->inside > s->site_max)
		s->site_max = st->inside;
	return true;
}

void serve_site_leave(struct serve_site *st, bool whole)
{
	if (whole)
		st->whole = false;
	else
		st->scoped--;
	st->inside--;
}

/* Once each: a customer of two rentals is one claim. */
static void add_key(struct serve_claims *c, size_t *cap, struct rc_map *seen, char kind,
		    const char *id)
{
	char *k = rc_sprintf("%c:%s", kind, id);

	if (rc_map_get(seen, k, NULL)) {
		free(k);
		return;
	}
	*RC_PUSH(c->keys, c->n, *cap) = k;
	rc_map_put(seen, k, 1);
}

/* What a one-rental run touches: the site's units of its snapshot, and
 * its customers where one vendor user spans a customer's units. */
static void claims_of(const struct engine *e, const struct spec_site *ss, struct serve_claims *c)
{
	const struct pms_snapshot *snap = &e->snap;
	bool customers = vendor_of(ss)->scope == VENDOR_SCOPE_CUSTOMER;
	struct rc_map seen;
	size_t i, cap = 0;

	memset(c, 0, sizeof(*c));
	rc_map_init(&seen);
	for (i = 0; i < snap->nunits; i++)
		if (rc_streq(snap->units[i].site_id, ss->pms_site_id))
			add_key(c, &cap, &seen, 'u', snap->units[i].id);
	for (i = 0; customers && i < snap->nrentals; i++)
		add_key(c, &cap, &seen, 'c', snap->rentals[i].owner_id);
	for (i = 0; customers && i < e->touched.owners.cap; i++)
		if (e->touched.owners.keys[i])
			add_key(c, &cap, &seen, 'c', e->touched.owners.keys[i]);
	rc_map_free(&seen);
}

static bool held(const struct serve_site *st, const struct serve_claims *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (rc_map_get(&st->claims, c->keys[i], NULL))
			return true;
	return st->whole;
}

void serve_claim(struct serve *s, struct serve_site *st, const struct engine *e,
		 const struct spec_site *ss, struct serve_claims *out)
{
	size_t i, holders;

	claims_of(e, ss, out);
	while (held(st, out))
		fiber_waitq_wait(&st->claimq); /* serve_unclaim wakes us */
	for (i = 0; i < out->n; i++) {
		holders = 0;
		if (rc_map_get(&st->claims, out->keys[i], &holders))
			rc_map_put(&st->claims, out->keys[i], holders + 1); /* keeps its key */
		else
			rc_map_put(&st->claims, rc_strdup(out->keys[i]), 1);
		/* counted apart from held(): a guard that sees it fail */
		if (holders + 1 > s->claim_max)
			s->claim_max = (unsigned)(holders + 1);
	}
}

void serve_unclaim(struct serve_site *st, struct serve_claims *c)
{
	const char *k;
	size_t i, holders;

	for (i = 0; i < c->n; i++) {
		if (rc_map_get(&st->claims, c->keys[i], &holders) && holders > 1) {
			rc_map_put(&st->claims, c->keys[i], holders - 1);
		} else {
			k = rc_map_del(&st->claims, c->keys[i]);
			free((char *)k);
		}
		free(c->keys[i]);
	}
	free(c->keys);
	memset(c, 0, sizeof(*c));
	fiber_waitq_wake_all(&st->claimq);
}
