/*
 * rules.h: a site's plan from plain inputs, the pure heart of reconcile:
 * R1-R6 (desired.c), R10's empty-answer check and limit (r10.c), then
 * the site vendor's own rules (its descriptor's diff). The engine reads
 * the PMS, the vendor and LMDB around it; rule tests call it with inputs
 * they build, through this same dispatch.
 */
#ifndef RC_RULES_H
#define RC_RULES_H

#include "diff.h"
#include "providers/storeganise.h"

struct rules_in {
	const struct pms_snapshot *snap;   /* indexed */
	const struct snap_groups *groups;  /* of snap */
	const struct pms_recs *last;       /* the site's rentals when last converged:
					    * all of them for a whole-site plan (R10
					    * counts them); may be NULL */
	struct rc_hasher hash;             /* keyed hash of codes (R6) */
	const char *regen_user;            /* `codes regenerate`, or NULL */
	/* a scoped plan (serve): the rentals and customers it was asked
	 * about; NULL: the whole site */
	const struct sg_touched *touched;
	/* a scoped plan whose sp->obs is still empty: called once the scope
	 * is known, to read what it names (vendor units, rentals, customer
	 * records) into sp->obs, so that a one-rental plan reads its units,
	 * not the site's; NULL: sp->obs is already complete */
	int (*load_scope)(struct site_plan *sp, const struct diff_scope *scope, void *payload,
			  struct rc_err *err);
	void *load_payload;
	struct rc_buf *fp;                 /* PMS fingerprint input, or NULL */
};

/* Plan sp's site: sp is site_plan_init'ed with pms_site and the observed
 * state (sp->obs) set; operations, resource changes, findings and the
 * records to keep are added to it, and its R10 limit set. RC_EREFUSED
 * (R10) when the PMS gave no units where rented ones existed. */
int rules_plan_site(struct site_plan *sp, const struct rules_in *in, struct rc_err *err);

#endif
