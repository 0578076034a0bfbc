/* rules.c: a site's plan from plain inputs. See rules.h. */
#define _GNU_SOURCE
#include "rules.h"

#include <string.h>

#include "r10.h"

/* What a scoped plan may vacate: the vendor units of its PMS units, the
 * snapshot's rentals and customers, and those it was asked about (an
 * ended rental is in no list). Keys borrowed from d, snap and touched. */
static void scope_build(struct diff_scope *sc, const struct desired_site *d,
			const struct pms_snapshot *snap, const struct sg_touched *t)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		rc_map_put(&sc->units, d->units[i].vname, 1);
	for (i = 0; i < snap->nrentals; i++) {
		rc_map_put(&sc->rentals, snap->rentals[i].id, 1);
		rc_map_put(&sc->owners, snap->rentals[i].owner_id, 1);
	}
	for (i = 0; i < t->rentals.cap; i++)
		if (t->rentals.keys[i])
			rc_map_put(&sc->rentals, t->rentals.keys[i], 1);
	for (i = 0; i < t->owners.cap; i++)
		if (t->owners.keys[i])
			rc_map_put(&sc->owners, t->owners.keys[i], 1);
}

int rules_plan_site(struct site_plan *sp, const struct rules_in *in, struct rc_err *err)
{
	const struct vendor *v = vendor_of(sp->site);
	struct desired_site d;
	struct diff_scope scope;
	struct diff_ctx dc;
	int rc = RC_OK;

	memset(&scope, 0, sizeof(scope));
	memset(&dc, 0, sizeof(dc));
	desired_collect(sp, in->snap, in->groups, v, in->last, &d, in->fp);
	if (!in->touched)
		rc = r10_check_empty(sp, d.pms_units, in->last ? in->last->n : 0, err);
	if (rc)
		goto out;
	if (in->touched)
		scope_build(&scope, &d, in->snap, in->touched);
	if (in->touched && in->load_scope)
		rc = in->load_scope(sp, &scope, in->load_payload, err);
	if (rc)
		goto out;
	dc.sp = sp;
	dc.snap = in->snap;
	dc.groups = in->groups;
	dc.last = in->last;
	dc.hash = in->hash;
	dc.regen_user = in->regen_user;
	dc.scope = in->touched ? &scope : NULL;
	rc = v->diff(&dc, &d);
	if (!rc)
		sp->limit_destructive = r10_limit(sp->site, sp->managed);
out:
	desired_free(&d);
	rc_map_free(&scope.units);
	rc_map_free(&scope.rentals);
	rc_map_free(&scope.owners);
	return rc;
}
