/* r10.c: R10 Safety. See r10.h. */
#define _GNU_SOURCE
#include "r10.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

unsigned r10_limit(const struct spec_site *site, unsigned managed)
{
	unsigned share = (unsigned)(site->max_destructive * managed);

	return share > site->max_destructive_min ? share : site->max_destructive_min;
}

int r10_check_empty(const struct site_plan *sp, size_t pms_units, size_t records_before,
		    struct rc_err *err)
{
	size_t before = records_before, i;

	if (pms_units)
		return RC_OK;
	for (i = 0; i < sp->obs.nunits; i++)
		if (sp->obs.units[i].status != VU_VACANT)
			before++;
	if (!before)
		return RC_OK;
	return rc_errf(err, RC_EREFUSED,
		       "the PMS returned no units for site %s (PMS id %s) where rented units existed before: "
		       "refusing to treat that as \"everything is vacant\" (R10)",
		       sp->site->name, sp->site->pms_site_id);
}

bool r10_refused(const struct site_plan *sp, bool allow, unsigned before, struct rc_err *err)
{
	if (!sp->destructive)
		before = 0; /* a plan that vacates nothing is never held back */
	if (allow || sp->destructive + before <= sp->limit_destructive)
		return false;
	if (before)
		rc_errf(err, RC_EREFUSED,
			"site %s: the plan would vacate %u more of %u managed units after %u in the last hour, "
			"more than the limit of %u (max_destructive); check the PMS, then stop serve and run "
			"`reconcile apply --allow-destructive` if it is right (R10)",
			sp->site->name, sp->destructive, sp->managed, before, sp->limit_destructive);
	else
		rc_errf(err, RC_EREFUSED,
			"site %s: the plan would vacate %u of %u managed units, more than the limit of %u "
			"(max_destructive); check the PMS, then re-run with --allow-destructive if it is right (R10)",
			sp->site->name, sp->destructive, sp->managed, sp->limit_destructive);
	return true;
}

int r10_vacated_last_hour(struct store *s, const char *site, unsigned *out,
			  struct rc_err *err)
{
	struct store_txn *t = NULL;
	int rc = store_txn_begin(s, false, &t, err);

	*out = 0;
	if (!rc)
		rc = store_r10_count(t, site, time(NULL), out, err);
	if (t)
		store_txn_abort(t);
	return rc;
}
