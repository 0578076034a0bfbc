/* plan.c: plan containers and builders. See plan.h. */
#define _GNU_SOURCE
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *finding_kind_name(enum finding_kind k)
{
	switch (k) {
	case FIND_UNMANAGED_RENTED: return "unmanaged_rented";
	case FIND_NAME_MISMATCH: return "mapping_name_mismatch";
	case FIND_NO_VENDOR_UNIT: return "mapping_unknown_vendor_unit";
	case FIND_DUPLICATE_MAPPING: return "mapping_duplicate";
	case FIND_DOUBLE_OCCUPANCY: return "double_occupancy";
	case FIND_BAD_VALUE: return "bad_pms_value";
	case FIND_MISSING_OWNER: return "missing_customer";
	case FIND_IN_DOUBT: return "operation_in_doubt";
	case FIND_NOT_READABLE: return "vendor_not_readable";
	default: return "finding";
	}
}

void site_plan_init(struct site_plan *sp, const struct spec_site *site)
{
	memset(sp, 0, sizeof(*sp));
	sp->site = site;
	rc_arena_init(&sp->arena);
	obs_site_init(&sp->obs, site ? site->name : "");
}

void site_plan_release(struct site_plan *sp)
{
	bool readable = sp->obs.readable;
	size_t i;

	for (i = 0; i < sp->nchanges; i++) {
		ra_free(&sp->changes[i].before);
		ra_free(&sp->changes[i].after);
	}
	free(sp->changes);
	free(sp->ops);
	free(sp->findings);
	free(sp->recs);
	free(sp->resolved);
	sp->changes = NULL;
	sp->ops = NULL;
	sp->findings = NULL;
	sp->recs = NULL;
	sp->resolved = NULL;
	sp->nchanges = sp->capchanges = sp->capops = sp->nfindings = sp->capfindings = 0;
	sp->nrecs = sp->caprecs = sp->nresolved = 0;
	obs_site_free(&sp->obs);
	sp->obs.readable = readable; /* the baseline (plan_site_baseline) */
	rc_arena_free(&sp->arena);
}

void site_plan_free(struct site_plan *sp)
{
	site_plan_release(sp);
	memset(sp, 0, sizeof(*sp));
}

void plan_free(struct plan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nsites; i++)
		site_plan_free(&p->sites[i]);
	free(p->sites);
	memset(p, 0, sizeof(*p));
}

const char *sp_str(struct site_plan *sp, const char *s)
{
	return rc_arena_strdup(&sp->arena, s);
}

/* One vsnprintf into a stack buffer, the result copied to the arena: no
 * heap buffer, no measuring pass (a reason per operation at 100k units). */
const char *sp_printf(struct site_plan *sp, const char *fmt, ...)
{
	char small[256];
	struct rc_buf b;
	va_list ap;
	const char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(small))
		return rc_arena_strndup(&sp->arena, small, (size_t)n);
	rc_buf_init(&b);
	va_start(ap, fmt);
	rc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	s = rc_arena_strdup(&sp->arena, b.p ? b.p : "");
	rc_buf_free(&b);
	return s;
}

/* <type>.<site>["<name>"], concatenated in the arena. */
static const char *address(struct site_plan *sp, const char *type, const char *name)
{
	const char *site = sp->site->name;
	size_t lt, ls, ln;
	char *a, *p;

	type = type ? type : "(null)"; /* as printf's %s showed it */
	name = name ? name : "(null)";
	lt = strlen(type);
	ls = strlen(site);
	ln = strlen(name);
	a = rc_arena_alloc(&sp->arena, lt + ls + ln + 6);
	p = a;

	memcpy(p, type, lt);
	p += lt;
	*p++ = '.';
	memcpy(p, site, ls);
	p += ls;
	memcpy(p, "[\"", 2);
	p += 2;
	memcpy(p, name, ln);
	p += ln;
	memcpy(p, "\"]", 3);
	return a;
}

struct op *sp_add_op(struct site_plan *sp, enum op_kind kind)
{
	struct op *op;

	op = RC_PUSH(sp->ops, sp->nops, sp->capops);
	op->kind = kind;
	op->seq = (unsigned)sp->nops;
	op->t.access_profile = -1;
	op->t.time_group = -1;
	op->t.max_uses = -1;
	op->result_slot = -1;
	return op;
}

struct rchange *sp_add_change(struct site_plan *sp, const char *type,
			      const char *name, enum rc_action action,
			      const char *rule, const char *reason)
{
	struct rchange *c;

	c = RC_PUSH(sp->changes, sp->nchanges, sp->capchanges);
	c->type = sp_str(sp, type);
	c->name = sp_str(sp, name);
	c->address = address(sp, type, name);
	c->action = action;
	c->rule = sp_str(sp, rule);
	c->reason = sp_str(sp, reason);
	if (action == ACT_CREATE)
		sp->add++;
	else if (action == ACT_UPDATE)
		sp->change++;
	else if (action == ACT_DELETE)
		sp->destroy++;
	else if (action == ACT_REPLACE) {
		sp->add++;
		sp->destroy++;
	}
	return c;
}

void sp_add_finding(struct site_plan *sp, enum finding_kind kind,
		    enum severity sev, const char *unit, const char *vunit,
		    const char *rule, const char *fmt, ...)
{
	struct finding *f;
	struct rc_buf b;
	va_list ap;

	f = RC_PUSH(sp->findings, sp->nfindings, sp->capfindings);
	f->kind = kind;
	f->sev = sev;
	sp->nerrors += sev == SEV_ERROR;
	sp->nwarnings += sev == SEV_WARNING;
	f->unit = sp_str(sp, unit);
	f->vendor_unit = sp_str(sp, vunit);
	f->rule = sp_str(sp, rule);
	rc_buf_init(&b);
	va_start(ap, fmt);
	rc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	f->message = sp_str(sp, b.p ? b.p : "");
	rc_buf_free(&b);
}

void sp_add_rec(struct site_plan *sp, const struct pms_rec *r)
{
	*RC_PUSH(sp->recs, sp->nrecs, sp->caprecs) = *r;
}

void plan_totals(struct plan *p)
{
	size_t i;

	p->add = p->change = p->destroy = p->errors = 0;
	for (i = 0; i < p->nsites; i++) {
		const struct site_plan *sp = &p->sites[i];

		p->add += sp->add;
		p->change += sp->change;
		p->destroy += sp->destroy;
		p->errors += sp->failed + sp->nerrors;
	}
}

bool plan_has_changes(const struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nsites; i++)
		if (p->sites[i].nops)
			return true;
	return false;
}
