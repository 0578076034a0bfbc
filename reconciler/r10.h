/*
 * r10.h: R10 Safety in one place (docs/rules.md R10). A plan that would
 * vacate or revoke more than a site's share of its managed units is
 * refused at apply unless explicitly allowed; a PMS answer with no units
 * where rented units existed before fails the run; and serve, which
 * applies one webhook at a time, counts a site's vacates over a sliding
 * hour so that many small runs are held to the limit of one big plan.
 */
#ifndef RC_R10_H
#define RC_R10_H

#include "plan.h"
#include "state/store.h"

/* The site's limit for `managed` units: max_destructive of them, at
 * least max_destructive_min. */
unsigned r10_limit(const struct spec_site *site, unsigned managed);

/* An empty PMS answer for the site (pms_units 0) where rented units
 * existed before (records of rentals the engine converged, or observed
 * units not vacant) is RC_EREFUSED: never "everything is vacant". */
int r10_check_empty(const struct site_plan *sp, size_t pms_units, size_t records_before,
		    struct rc_err *err);

/* Apply's check: true (err set, RC_EREFUSED) when sp vacates more than
 * its limit, counting `before` units vacated in the last hour when it
 * vacates any; allow (--allow-destructive) lets it through. */
bool r10_refused(const struct site_plan *sp, bool allow, unsigned before, struct rc_err *err);

/* serve's sliding hour: the units the site's calls vacated (or may
 * have) in the last hour, kept by the state with the journal (store.h),
 * so that a restart forgets none. */
int r10_vacated_last_hour(struct store *s, const char *site, unsigned *out,
			  struct rc_err *err);

#endif
