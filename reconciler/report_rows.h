/*
 * report_rows.h: building a report's rows, shared by report.c (findings,
 * journal, summary) and report_ops.c (operations). Not part of the API.
 *
 * Every row states both sides: the PMS side as the plan's own rules read
 * it (desired_collect, with the PMS records of the last convergence), the
 * vendor side from the observed state the plan compared with, and how that
 * state was seen (read now, cached, or as last applied by a vendor that
 * cannot be read). Vendor words come from the vendor's descriptor.
 */
#ifndef RC_REPORT_ROWS_H
#define RC_REPORT_ROWS_H

#include "desired.h"
#include "report.h"

/* What a row is about. */
enum subj_kind {
	SUBJ_NONE = 0,       /* a vendor record no managed unit maps to */
	SUBJ_UNIT,           /* a managed unit (its vendor unit) */
	SUBJ_RENTAL,         /* a rental's own vendor record (an invite) */
	SUBJ_CUSTOMER        /* a customer's vendor record (one user for all its units) */
};

struct subject {
	enum subj_kind kind;
	const struct dunit *d;     /* the unit (SUBJ_UNIT; SUBJ_RENTAL while occupied) */
	const char *record;        /* the vendor's observed record (obs unit name), or NULL */
	const char *rental_id;     /* SUBJ_RENTAL */
	const char *user_id;       /* SUBJ_CUSTOMER */
	const char *units;         /* PMS unit names, ", "-joined; "" when none */
};

/* One site's rows in the making. Strings are the report's (its arena). */
struct rsite {
	struct report *r;
	struct engine *e;                 /* borrowed: snapshot, store */
	const struct site_plan *sp;       /* borrowed */
	const struct vendor *v;
	struct site_plan scratch;         /* owned: desired_collect's findings, dropped */
	struct desired_site d;            /* owned: the PMS side of each managed unit */
	struct pms_recs last;             /* owned: the site's rentals at the last convergence */
	bool have_d;
	struct rc_map by_vname, by_rental, by_name;  /* -> index into d.units (keys borrowed) */
	struct rc_map mism;               /* PMS units with a mismatch (keys in the arena) */
	const char *as_of;                /* how the vendor side was seen, appended to it */
};

const char *rs_str(struct rsite *rs, const char *s);
const char *rs_printf(struct rsite *rs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A new row of the site; its units (", "-joined) count as mismatched
 * unless the row is information or about an unmanaged unit. */
struct report_row *rs_row(struct rsite *rs, enum severity sev, const char *cls,
			  const char *units, const char *rule);
/* The same, saying whether its units count as mismatched. */
struct report_row *rs_row_ex(struct rsite *rs, enum severity sev, const char *cls,
			     const char *units, const char *rule, bool mismatch);

/* The subject of a vendor record, rental or customer named by an operation
 * or a journal entry (any may be NULL). */
void rs_subject(struct rsite *rs, const char *record, const char *rental_id,
		const char *user_id, struct subject *out);
/* The same for a PMS unit named by a finding or a write-back. */
void rs_subject_unit(struct rsite *rs, const char *pms_unit, struct subject *out);
/* A customer's subject, whatever record an operation of it names: vendors
 * whose user spans the customer's units (VENDOR_SCOPE_CUSTOMER). */
bool rs_customer_row(const struct rsite *rs, const char *user_id);
void rs_subject_customer(struct rsite *rs, const char *user_id, const char *record,
			 struct subject *out);
/* The PMS side of a subject, and the vendor side (with rs->as_of). */
const char *rs_pms_side(struct rsite *rs, const struct subject *s);
const char *rs_vendor_side(struct rsite *rs, const struct subject *s);
/* The same vendor side without rs->as_of (to join several). */
const char *rs_vendor_record(struct rsite *rs, enum subj_kind kind, const char *record);

/* Rows for the plan's operations of the site (report_ops.c). */
void report_from_ops(struct rsite *rs);

#endif
