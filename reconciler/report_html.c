/*
 * report_html.c: the report as one self-contained HTML page: no network
 * asset, a summary per site, an inline SVG chart of findings by class and
 * site, a table that can be filtered and sorted, and a print style.
 *
 * Test hook: opening the page with "#filter=TEXT" applies that filter on
 * load and writes the number of visible rows to body[data-visible]; a
 * script error is written to body[data-jserror].
 */
#define _GNU_SOURCE
#include "report.h"

#include <stdio.h>
#include <string.h>

static void esc(struct rc_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': rc_buf_puts(b, "&amp;"); break;
		case '<': rc_buf_puts(b, "&lt;"); break;
		case '>': rc_buf_puts(b, "&gt;"); break;
		case '"': rc_buf_puts(b, "&quot;"); break;
		case '\'': rc_buf_puts(b, "&#39;"); break;
		default: rc_buf_add(b, s, 1);
		}
	}
}

static const char css[] =
"body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d232a}"
"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}"
".muted{color:#66707a}table{border-collapse:collapse;width:100%}"
"th,td{border-bottom:1px solid #dde2e6;padding:5px 8px;text-align:left;vertical-align:top}"
"th{background:#f3f5f7;cursor:pointer;user-select:none;white-space:nowrap}"
"th.sorted-asc::after{content:' \\25B2'}th.sorted-desc::after{content:' \\25BC'}"
".sev-error{color:#b3261e;font-weight:600}.sev-warning{color:#8a5a00;font-weight:600}"
".sev-info{color:#35597a}#filter{padding:6px 8px;width:320px;margin:8px 0;font:inherit}"
".num{text-align:right}#findings td:nth-child(3){white-space:nowrap}svg text{font:12px system-ui,sans-serif}"
"@media print{#filter,.noprint{display:none}body{margin:0}th{background:#fff}"
"tr{page-break-inside:avoid}a{color:inherit}}";

static const char js[] =
"(function(){'use strict';"
"window.addEventListener('error',function(e){document.body.dataset.jserror=String(e.message);});"
"var input=document.getElementById('filter'),table=document.getElementById('findings');"
"var rows=Array.prototype.slice.call(table.tBodies[0].rows);"
"function apply(){var q=input.value.toLowerCase(),n=0;rows.forEach(function(r){"
"var show=!q||r.textContent.toLowerCase().indexOf(q)>=0;r.style.display=show?'':'none';if(show)n++;});"
"document.body.dataset.visible=String(n);document.getElementById('shown').textContent=n+' of '+rows.length;}"
"input.addEventListener('input',apply);"
"var dir={};Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){"
"th.addEventListener('click',function(){var d=dir[i]=-(dir[i]||-1);"
"rows.sort(function(a,b){var x=a.cells[i].dataset.key||a.cells[i].textContent,"
"y=b.cells[i].dataset.key||b.cells[i].textContent;return x<y?-d:x>y?d:0;});"
"rows.forEach(function(r){table.tBodies[0].appendChild(r);});"
"Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.className='';});"
"th.className=d>0?'sorted-asc':'sorted-desc';});});"
"var m=/^#filter=(.*)$/.exec(location.hash);if(m)input.value=decodeURIComponent(m[1]);apply();"
"document.body.dataset.ready='1';})();";

static const char *const palette[] = { "#2f6f9f", "#c0622f", "#5a8f3c", "#8d4f9e", "#b5962e", "#3d8c8c" };

/* Classes in order of first appearance (rows are sorted by severity). */
static size_t classes(const struct report *r, const char **out, size_t max)
{
	size_t i, k, n = 0;

	for (i = 0; i < r->nrows && n < max; i++) {
		for (k = 0; k < n && strcmp(out[k], r->rows[i].cls); k++)
			;
		if (k == n)
			out[n++] = r->rows[i].cls;
	}
	return n;
}

static unsigned count(const struct report *r, const char *cls, const char *site)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < r->nrows; i++)
		n += !strcmp(r->rows[i].cls, cls) && !strcmp(r->rows[i].site, site);
	return n;
}

/* Horizontal stacked bars: one per class, one colour per site. */
static void chart(const struct report *r, struct rc_buf *b)
{
	const char *cls[64];
	size_t nc = classes(r, cls, 64), i, s;
	unsigned max = 1, tot;
	int w = 760, lw = 210, bh = 20, h = (int)nc * (bh + 8) + 40;

	for (i = 0; i < nc; i++) {
		for (tot = 0, s = 0; s < r->nsites; s++)
			tot += count(r, cls[i], r->sites[s].name);
		if (tot > max)
			max = tot;
	}
	rc_buf_printf(b, "<svg id=\"chart\" role=\"img\" aria-label=\"Findings by class and site\" "
		      "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", w, h, w, h);
	for (i = 0; i < nc; i++) {
		int y = 10 + (int)i * (bh + 8), x = lw;

		rc_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8, y + 14);
		esc(b, cls[i]);
		rc_buf_puts(b, "</text>\n");
		for (tot = 0, s = 0; s < r->nsites; s++) {
			unsigned n = count(r, cls[i], r->sites[s].name);
			int bw = (int)((double)n * (w - lw - 60) / max);

			if (!n)
				continue;
			tot += n;
			rc_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
				      "<title>", x, y, bw > 1 ? bw : 1, bh, palette[s % 6]);
			esc(b, r->sites[s].name);
			rc_buf_printf(b, ": %u</title></rect>\n", n);
			x += bw;
		}
		rc_buf_printf(b, "<text x=\"%d\" y=\"%d\">%u</text>\n", x + 6, y + 14, tot);
	}
	for (s = 0; s < r->nsites; s++) {
		int x = lw + (int)s * 140, y = h - 18;

		rc_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			      "<text x=\"%d\" y=\"%d\">", x, y, palette[s % 6], x + 16, y + 11);
		esc(b, r->sites[s].name);
		rc_buf_puts(b, "</text>\n");
	}
	rc_buf_puts(b, "</svg>\n");
}

static void sites_table(const struct report *r, struct rc_buf *b)
{
	size_t i;

	rc_buf_puts(b, "<table id=\"sites\"><thead><tr><th>Site</th><th>Vendor</th>"
		    "<th class=\"num\">Managed units</th><th class=\"num\">In sync</th>"
		    "<th class=\"num\">Mismatched</th><th>Last successful sync</th><th>Notes</th>"
		    "</tr></thead><tbody>\n");
	for (i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];

		rc_buf_puts(b, "<tr><td>");
		esc(b, s->name);
		rc_buf_puts(b, "</td><td>");
		esc(b, s->vendor);
		rc_buf_printf(b, "</td><td class=\"num\">%u</td>", s->managed);
		if (s->compared)
			rc_buf_printf(b, "<td class=\"num\">%u</td><td class=\"num\">%u</td>",
				      s->in_sync, s->mismatched);
		else
			rc_buf_puts(b, "<td class=\"num\">?</td><td class=\"num\">?</td>");
		rc_buf_puts(b, "<td>");
		esc(b, *s->last_sync ? s->last_sync : "never");
		rc_buf_puts(b, "</td><td>");
		if (s->error)
			esc(b, s->error);
		else if (!s->compared)
			rc_buf_puts(b, "no applied state: the vendor cannot be read and nothing was applied "
				    "from this state directory, so nothing is compared");
		else if (!s->readable)
			rc_buf_puts(b, "vendor state cannot be read back: its side is what reconcile last "
				    "applied, and drift made by hand is not visible");
		rc_buf_puts(b, "</td></tr>\n");
	}
	rc_buf_puts(b, "</tbody></table>\n");
}

static void findings_table(const struct report *r, struct rc_buf *b)
{
	static const char *const head[] = { "Severity", "Site", "Unit", "Class", "Rule",
					    "PMS says", "Vendor says", "Engine would do", "Time" };
	size_t i, k;

	rc_buf_puts(b, "<input id=\"filter\" type=\"search\" placeholder=\"Filter findings\" "
		    "aria-label=\"Filter findings\"> <span class=\"muted\" id=\"shown\"></span>\n"
		    "<table id=\"findings\"><thead><tr>");
	for (k = 0; k < 9; k++)
		rc_buf_printf(b, "<th>%s</th>", head[k]);
	rc_buf_puts(b, "</tr></thead><tbody>\n");
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *x = &r->rows[i];
		const char *cells[] = { x->site, x->unit, x->cls, x->rule, x->pms, x->vendor,
					x->action, x->time };

		rc_buf_printf(b, "<tr><td class=\"sev-%s\" data-key=\"%d\">%s</td>",
			      severity_name(x->sev), 2 - (int)x->sev, severity_name(x->sev));
		for (k = 0; k < 8; k++) {
			rc_buf_puts(b, "<td>");
			esc(b, cells[k]);
			rc_buf_puts(b, "</td>");
		}
		rc_buf_puts(b, "</tr>\n");
	}
	rc_buf_puts(b, "</tbody></table>\n");
}

void report_render_html(const struct report *r, struct rc_buf *b)
{
	rc_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		    "<title>reconcile report</title><style>");
	rc_buf_puts(b, css);
	rc_buf_puts(b, "</style></head><body>\n<h1>Access-control mismatch report</h1>\n"
		    "<div class=\"muted\">generated ");
	esc(b, r->generated);
	rc_buf_printf(b, " &middot; %zu finding%s &middot; gate codes are never shown</div>\n",
		      r->nrows, r->nrows == 1 ? "" : "s");
	rc_buf_puts(b, "<h2>Sites</h2>\n");
	sites_table(r, b);
	if (r->nrows) {
		rc_buf_puts(b, "<h2>Findings by class and site</h2>\n");
		chart(r, b);
	}
	rc_buf_puts(b, "<h2>Findings</h2>\n");
	findings_table(r, b);
	if (!r->nrows)
		rc_buf_puts(b, "<p>No findings: the access-control systems match the PMS.</p>\n");
	rc_buf_puts(b, "<script>");
	rc_buf_puts(b, js);
	rc_buf_puts(b, "</script>\n</body></html>\n");
}
