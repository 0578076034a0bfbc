/* r10.c: R10 Safety. See r10.h. */
#define _GNU_SOURCE
#include "r10.h"

#include <stdlib.h>
#include <string.h>

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

unsigned r10_window_count(struct r10_window *w, double now)
{
	size_t k = 0;

	while (k < w->n && now - w->marks[k].t >= R10_WINDOW_S)
		w->vacated -= w->marks[k++].n;
	if (k) {
		w->n -= k;
		memmove(w->marks, w->marks + k, w->n * sizeof(*w->marks));
	}
	return w->vacated;
}

void r10_window_mark(struct r10_window *w, double now, unsigned n)
{
	struct r10_mark *m;

	if (!n)
		return;
	m = RC_PUSH(w->marks, w->n, w->cap);
	m->t = now;
	m->n = n;
	w->vacated += n;
}

void r10_window_free(struct r10_window *w)
{
	free(w->marks);
	memset(w, 0, sizeof(*w));
}
