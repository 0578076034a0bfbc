/*
 * report.h: the auditor's mismatch report. Built from a plan (never
 * applied), the plan's findings and the journal; rendered as text, JSON,
 * CSV (RFC 4180) or one self-contained HTML page. Read-only: building a
 * report never calls a vendor write nor writes to the PMS or LMDB.
 *
 * Every row names PMS units (never a vendor's record key) and states both
 * sides: what the PMS says and what the vendor holds, as read now, as
 * cached, or as last applied for a vendor that cannot be read. The
 * classes and their meaning are listed in README.md ("Reports for
 * auditors"). No row holds a gate code or another secret.
 */
#ifndef RC_REPORT_H
#define RC_REPORT_H

#include "engine.h"

#define REPORT_FORMAT_VERSION "1.0"

struct report_row {
	enum severity sev;
	const char *cls;      /* finding class, e.g. "status_mismatch" */
	const char *site;
	const char *unit;     /* PMS unit name or vendor unit ("" for the site) */
	const char *rule;     /* "R2", or a vendor's rule id */
	const char *pms;      /* what the PMS says (never a secret) */
	const char *vendor;   /* what the vendor says */
	const char *action;   /* what the engine would do */
	const char *time;     /* journal time, when the row comes from it */
};

struct report_site {
	const char *name;
	const char *vendor;
	unsigned managed, in_sync, mismatched;
	bool compared;           /* false: in_sync and mismatched are unknown (the
				  * site failed, or has nothing to compare with) */
	const char *baseline;    /* what the vendor side is: plan_site_baseline() */
	const char *last_sync;   /* "" when never */
	const char *error;       /* the site could not be read, or NULL */
	bool readable;           /* false: vendor drift cannot be seen */
};

struct report {
	struct rc_arena arena;
	char generated[40];
	struct report_row *rows;
	size_t nrows, caprows;
	struct report_site *sites;
	size_t nsites;
};

/* Build from a plan of e (engine_plan). *out is zeroed by the caller. */
int report_build(struct engine *e, const struct plan *p, struct report *out,
		 struct rc_err *err);
void report_free(struct report *r);

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_CSV, REPORT_HTML };

/* Render into out (appended); text wraps its detail lines at width
 * columns, between words (0: no wrapping). */
void report_render(const struct report *r, enum report_format f, bool color, unsigned width,
		   struct rc_buf *out);
/* Pieces shared with the HTML renderer (report_html.c). */
void report_render_html(const struct report *r, struct rc_buf *out);
const char *severity_name(enum severity s);

#endif
