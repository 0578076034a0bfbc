/*
 * report_render.c: the report as text (colour on a terminal), JSON
 * (format_version 1.0) and CSV (RFC 4180); HTML is report_html.c.
 * Rendering reads the built report only: no LMDB, no network.
 */
#define _GNU_SOURCE
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_COL_MAX 24   /* widest UNIT column of the text form */

static void render_json(const struct report *r, struct rc_buf *out)
{
	json_t *j = json_object(), *sites = json_array(), *rows = json_array();
	size_t i, n[3] = { 0, 0, 0 };
	char *s;

	for (i = 0; i < r->nsites; i++) {
		const struct report_site *x = &r->sites[i];

		/* in_sync and mismatched are null when there is nothing to
		 * compare with (baseline "none") */
		json_array_append_new(sites, json_pack("{s:s, s:s, s:i, s:o, s:o, s:s?, s:s?, s:b, s:s?}",
			"name", x->name, "vendor", x->vendor, "managed_units", (int)x->managed,
			"in_sync", x->compared ? json_integer(x->in_sync) : json_null(),
			"mismatched", x->compared ? json_integer(x->mismatched) : json_null(),
			"last_successful_sync", *x->last_sync ? x->last_sync : NULL,
			"error", x->error, "vendor_readable", x->readable, "baseline", x->baseline));
	}
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *x = &r->rows[i];

		n[x->sev]++;
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}",
			"severity", severity_name(x->sev), "class", x->cls, "site", x->site,
			"unit", x->unit, "rule", x->rule, "pms", x->pms, "vendor", x->vendor,
			"action", x->action, "time", *x->time ? x->time : NULL));
	}
	json_object_set_new(j, "format_version", json_string(REPORT_FORMAT_VERSION));
	json_object_set_new(j, "generated", json_string(r->generated));
	json_object_set_new(j, "sites", sites);
	json_object_set_new(j, "findings", rows);
	json_object_set_new(j, "summary", json_pack("{s:i, s:i, s:i, s:i}", "findings",
		(int)r->nrows, "errors", (int)n[SEV_ERROR], "warnings", (int)n[SEV_WARNING],
		"info", (int)n[SEV_INFO]));
	s = json_dumps(j, JSON_INDENT(2));
	rc_buf_puts(out, s);
	rc_buf_puts(out, "\n");
	free(s);
	json_decref(j);
}

/* RFC 4180: quote a field holding a comma, a quote or a line break. */
static void csv_field(struct rc_buf *out, const char *s, bool last)
{
	const char *p;

	if (strpbrk(s, ",\"\r\n")) {
		rc_buf_puts(out, "\"");
		for (p = s; *p; p++) {
			if (*p == '"')
				rc_buf_puts(out, "\"");
			rc_buf_add(out, p, 1);
		}
		rc_buf_puts(out, "\"");
	} else {
		rc_buf_puts(out, s);
	}
	rc_buf_puts(out, last ? "\r\n" : ",");
}

static void render_csv(const struct report *r, struct rc_buf *out)
{
	size_t i;

	rc_buf_puts(out, "severity,site,unit,class,rule,pms,vendor,action,time\r\n");
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *x = &r->rows[i];
		const char *f[] = { severity_name(x->sev), x->site, x->unit, x->cls, x->rule,
				    x->pms, x->vendor, x->action, x->time };

		for (size_t k = 0; k < 9; k++)
			csv_field(out, f[k], k == 8);
	}
}

#define TEXT_INDENT 9 /* the detail lines start under SITE */

/* "label: text" at TEXT_INDENT, wrapped between words at width (0: one
 * line); a word longer than a line stays whole. */
static void detail_line(struct rc_buf *out, const char *label, const char *text, unsigned width)
{
	size_t col, start = TEXT_INDENT + 10, n;
	const char *p = text, *sp;

	rc_buf_printf(out, "%*s%-10s", TEXT_INDENT, "", label);
	col = start;
	while (*p) {
		sp = strchr(p, ' ');
		n = sp ? (size_t)(sp - p) : strlen(p);
		if (width && col > start && col + 1 + n > width) {
			rc_buf_printf(out, "\n%*s", (int)start, "");
			col = start;
		} else if (col > start) {
			rc_buf_puts(out, " ");
			col++;
		}
		rc_buf_add(out, p, n);
		col += n;
		p += n;
		while (*p == ' ')
			p++;
	}
	rc_buf_puts(out, "\n");
}

static void render_text(const struct report *r, bool color, unsigned width, struct rc_buf *out)
{
	const char *red = color ? "\033[31m" : "", *yel = color ? "\033[33m" : "";
	const char *off = color ? "\033[0m" : "", *bold = color ? "\033[1m" : "";
	int wc = 5, wu = 4;
	size_t i;

	for (i = 0; i < r->nrows; i++) {
		if ((int)strlen(r->rows[i].cls) > wc)
			wc = (int)strlen(r->rows[i].cls);
		/* a customer's list of units may be long: it overflows its
		 * column rather than widen every row */
		if ((int)strlen(r->rows[i].unit) > wu && strlen(r->rows[i].unit) <= UNIT_COL_MAX)
			wu = (int)strlen(r->rows[i].unit);
	}
	rc_buf_printf(out, "%sreconcile report%s  generated %s\n\n", bold, off, r->generated);
	for (i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];

		char sync[16], mism[16];

		snprintf(sync, sizeof(sync), "%4s", "?");
		snprintf(mism, sizeof(mism), "%4s", "?");
		if (s->compared) {
			snprintf(sync, sizeof(sync), "%4u", s->in_sync);
			snprintf(mism, sizeof(mism), "%4u", s->mismatched);
		}
		rc_buf_printf(out, "site %-16s %-8s managed %4u  in sync %s  mismatched %s\n",
			      s->name, s->vendor, s->managed, sync, mism);
		detail_line(out, "last sync", *s->last_sync ? s->last_sync : "never", width);
		if (s->error)
			detail_line(out, "ERROR:", s->error, width);
		else if (!s->compared)
			detail_line(out, "note:", "no applied state: not compared", width);
	}
	rc_buf_puts(out, "\n");
	if (!r->nrows) {
		rc_buf_puts(out, "No findings: the access-control systems match the PMS.\n");
		return;
	}
	rc_buf_printf(out, "%-7s  %-12s  %-*s  %-*s  %s\n", "SEV", "SITE", wu, "UNIT", wc, "CLASS",
		      "RULE");
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *x = &r->rows[i];
		const char *c = x->sev == SEV_ERROR ? red : x->sev == SEV_WARNING ? yel : "";
		char *act = *x->time ? rc_sprintf("%s @ %s", x->action, x->time) : NULL;

		rc_buf_printf(out, "%s%-7s%s  %-12s  %-*s  %-*s  %s\n", c, severity_name(x->sev), off,
			      x->site, wu, x->unit, wc, x->cls, x->rule);
		detail_line(out, "PMS:", x->pms, width);
		detail_line(out, "vendor:", x->vendor, width);
		detail_line(out, "would do:", act ? act : x->action, width);
		free(act);
	}
	rc_buf_printf(out, "\n%zu finding%s.\n", r->nrows, r->nrows == 1 ? "" : "s");
}

void report_render(const struct report *r, enum report_format f, bool color, unsigned width,
		   struct rc_buf *out)
{
	switch (f) {
	case REPORT_JSON:
		render_json(r, out);
		break;
	case REPORT_CSV:
		render_csv(r, out);
		break;
	case REPORT_HTML:
		report_render_html(r, out);
		break;
	default:
		render_text(r, color, width, out);
	}
}
