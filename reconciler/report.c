/*
 * report.c: building the mismatch report from a plan, and its text, JSON
 * and CSV forms (HTML: report_html.c). See report.h.
 *
 * Rows come from three places: the plan's findings (mapping, occupancy,
 * bad PMS values), the plan's operations (what differs and what the
 * engine would do about it) and the journal (calls in doubt, calls whose
 * last attempt failed).
 */
#define _GNU_SOURCE
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/vendor.h"

const char *severity_name(enum severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "info";
}

static const char *S(struct report *r, const char *s)
{
	return rc_arena_strdup(&r->arena, s ? s : "");
}

static const char *F(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *F(struct report *r, const char *fmt, ...)
{
	struct rc_buf b;
	const char *s;
	va_list ap;

	rc_buf_init(&b);
	va_start(ap, fmt);
	rc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	s = S(r, b.p);
	rc_buf_free(&b);
	return s;
}

static struct report_row *add_row(struct report *r, enum severity sev, const char *cls,
				  const char *site, const char *unit, const char *rule)
{
	struct report_row *x = RC_PUSH(r->rows, r->nrows, r->caprows);

	x->sev = sev;
	x->cls = cls;
	x->site = S(r, site);
	x->unit = S(r, unit);
	x->rule = S(r, rule);
	x->pms = x->vendor = x->action = x->time = "";
	return x;
}

/* ---------------------------------------------------------- findings */

static const char *vendor_status(const struct site_plan *sp, const char *vunit)
{
	const struct obs_unit *u = vunit ? obs_find_unit(&sp->obs, vunit) : NULL;

	if (!u)
		return vunit ? "no such unit" : "-";
	return vu_status_name(u->status);
}

static void from_findings(struct report *r, const struct site_plan *sp)
{
	static const char *const action[] = {
		[FIND_UNMANAGED_RENTED] = "none: set the mapping field to sync the unit",
		[FIND_NAME_MISMATCH] = "synced by the mapping field; align the names",
		[FIND_NO_VENDOR_UNIT] = "none until the mapping or the vendor unit is fixed",
		[FIND_DUPLICATE_MAPPING] = "none until the mapping is fixed",
		[FIND_DOUBLE_OCCUPANCY] = "none until one rental ends",
		[FIND_BAD_VALUE] = "none until the PMS field is fixed",
		[FIND_MISSING_OWNER] = "none: the unit is left as it is",
		[FIND_IN_DOUBT] = "adopted, not created again",
		[FIND_NOT_READABLE] = "pushes what it last applied",
	};
	size_t i;

	for (i = 0; i < sp->nfindings; i++) {
		const struct finding *f = &sp->findings[i];
		struct report_row *x = add_row(r, f->sev, finding_kind_name(f->kind),
					       sp->site->name, f->unit ? f->unit : f->vendor_unit,
					       f->rule);

		x->pms = S(r, f->message);
		x->vendor = S(r, vendor_status(sp, f->vendor_unit));
		x->action = S(r, action[f->kind]);
	}
	if (sp->failed) {
		struct report_row *x = add_row(r, SEV_ERROR, "site_unreadable", sp->site->name,
					       "", "R10");

		x->pms = S(r, sp->fail_msg);
		x->vendor = "-";
		x->action = "nothing is planned for this site";
	}
}

/* ------------------------------------------------------------ ops */

static const struct rchange *unit_change(const struct site_plan *sp, const char *unit)
{
	size_t i;

	for (i = 0; unit && i < sp->nchanges; i++)
		if (!strcmp(sp->changes[i].name, unit) && !sp->changes[i].writeback)
			return &sp->changes[i];
	return NULL;
}

static const char *attr(json_t *o, const char *k)
{
	static char buf[64];
	json_t *v = json_object_get(o, k);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return "default";
}

/* A unit's status in a before/after object; invites have "enabled". */
static const char *status_of(json_t *o, const char *dflt)
{
	if (json_is_string(json_object_get(o, "status")))
		return json_string_value(json_object_get(o, "status"));
	if (json_is_boolean(json_object_get(o, "enabled")))
		return json_is_true(json_object_get(o, "enabled")) ? "Rented" : "Delinquent";
	return dflt;
}

/* The PMS's value of a compared tenant field, and the key of the
 * vendor's in a resource change's "before". */
static const char *field_text(struct report *r, const struct op *op, unsigned bit,
			      const char **key)
{
	*key = NULL;
	switch (bit) {
	case TF_ACCESS_PROFILE:
		*key = "access_profile";
		return F(r, "%ld", op->t.access_profile);
	case TF_TIME_GROUP:
		*key = "time_group";
		return F(r, "%ld", op->t.time_group);
	case TF_PORTALS:
		*key = "portals";
		return S(r, op->t.portals);
	case TF_WINDOW:
		*key = "valid_from";
		return F(r, "%s .. %s", op->t.valid_from ? op->t.valid_from : "",
			 op->t.valid_to ? op->t.valid_to : "");
	default:
		return "";
	}
}

/* One row for a compared field the vendor names (its label). */
static void label_row(struct report *r, const struct site_plan *sp, const struct vendor *v,
		      const struct op *op, const struct rchange *c, const struct vendor_label *l)
{
	json_t *before = c ? c->before : NULL;
	struct report_row *x;
	const char *key;

	if (l->bit == TF_ENABLED) {
		x = add_row(r, SEV_ERROR, l->cls, sp->site->name, op->unit, l->rule);
		x->pms = op->t.enabled ? "Rented (in good standing)" : "Delinquent";
		x->vendor = F(r, "%s %s", l->what, op->t.enabled ? "disabled" : "enabled");
		x->action = F(r, "tenant.update: %s the %s", op->t.enabled ? "enable" : "disable",
			      l->what);
		return;
	}
	x = add_row(r, SEV_WARNING, l->cls, sp->site->name, op->unit, l->rule);
	x->pms = F(r, "%s %s", l->what, field_text(r, op, l->bit, &key));
	if (l->bit == TF_WINDOW && before)
		x->vendor = F(r, "%s %s .. %s", l->what, attr(before, "valid_from"),
			      attr(before, "valid_to"));
	else if (key && (json_object_get(before, key) || (v->caps & VENDOR_CAN_READ)))
		x->vendor = F(r, "%s %s", l->what, attr(before, key));
	else
		x->vendor = F(r, "another %s", l->what);
	x->action = "tenant.update";
}

static void update_rows(struct report *r, const struct site_plan *sp, const struct op *op,
			const struct rchange *c)
{
	const struct vendor *v = vendor_of(sp->site);
	const char *site = sp->site->name;
	struct report_row *x;
	unsigned i;

	if ((op->changed & TF_ALL) == TF_ALL) {
		/* a requested re-push or an adoption: not a mismatch */
		x = add_row(r, SEV_INFO, "push_pending", site, op->unit, op->rule);
		x->pms = S(r, op->reason);
		x->vendor = "-";
		x->action = "tenant.update with every field";
		return;
	}
	if (op->changed & TF_CODE) {
		x = add_row(r, SEV_ERROR, "code_mismatch", site, op->unit, v->code_rule);
		x->pms = v->code_on == PMS_OBJ_USER
			? F(r, "the customer's code (user %s)", op->user_id ? op->user_id : "-")
			: F(r, "the rental's code (rental %s)", op->rental_id ? op->rental_id : "-");
		x->vendor = "a different or unknown code";
		x->action = "tenant.update: push the PMS code";
	}
	for (i = 0; i < v->nlabels; i++)
		if (op->changed & v->labels[i].bit)
			label_row(r, sp, v, op, c, &v->labels[i]);
	if (op->changed & (TF_FIRST_NAME | TF_LAST_NAME | TF_EMAIL | TF_PHONE)) {
		x = add_row(r, SEV_WARNING, "tenant_details_mismatch", site, op->unit, op->rule);
		x->pms = F(r, "%s %s", op->t.first_name ? op->t.first_name : "",
			   op->t.last_name ? op->t.last_name : "");
		x->vendor = F(r, "%s %s", attr(c ? c->before : NULL, "first_name"),
			      c ? attr(c->before, "last_name") : "");
		x->action = "tenant.update";
	}
}

static bool is_status_op(enum op_kind k)
{
	return k == OP_TENANT_CREATE || k == OP_UNIT_VACATE || k == OP_UNIT_ENABLE ||
	       k == OP_UNIT_DISABLE;
}

static void from_ops(struct report *r, const struct site_plan *sp)
{
	struct report_row *status = NULL;
	const char *last_unit = NULL;
	size_t i;

	for (i = 0; i < sp->nops; i++) {
		const struct op *op = &sp->ops[i];
		const struct rchange *c = unit_change(sp, op->unit);
		struct report_row *x;

		if (!rc_streq(op->unit, last_unit))
			status = NULL;
		last_unit = op->unit;
		if (op->kind == OP_PMS_WRITE) {
			x = add_row(r, SEV_INFO, "writeback_pending", sp->site->name, op->unit, op->rule);
			x->pms = F(r, "rental %s", op->object_id);
			x->vendor = "-";
			x->action = S(r, op->reason);
		} else if (is_status_op(op->kind) && status) {
			status->action = F(r, "%s, %s", status->action, op_kind_name(op->kind));
		} else if (is_status_op(op->kind)) {
			json_t *b = c ? c->before : NULL;

			status = add_row(r, SEV_ERROR, "status_mismatch", sp->site->name, op->unit, op->rule);
			status->pms = F(r, "%s%s%s", status_of(c ? c->after : NULL, "Vacant"),
					op->rental_id ? " (rental " : "", op->rental_id ? op->rental_id : "");
			if (op->rental_id)
				status->pms = F(r, "%s)", status->pms);
			status->vendor = F(r, "%s%s", b ? status_of(b, "Vacant") : vendor_status(sp, op->unit),
					   json_object_get(b, "visitor_id") ? ", with a tenant" : ", no tenant");
			status->action = F(r, "%s (%s)", op_kind_name(op->kind), op->reason);
		} else if (op->kind == OP_TENANT_UPDATE) {
			update_rows(r, sp, op, c);
		} else if (op->kind == OP_TENANT_REMOVE) {
			x = add_row(r, SEV_WARNING, "extra_tenant", sp->site->name, op->unit, op->rule);
			x->pms = "one tenant";
			x->vendor = F(r, "another %s (%s)", vendor_of(sp->site)->tenant_word,
				      op->tenant_vid);
			x->action = "tenant.remove";
		} else if (op->kind == OP_TENANT_ENABLE) {
			x = add_row(r, SEV_ERROR, "tenant_locked_out", sp->site->name, op->unit, op->rule);
			x->pms = "rented, in good standing";
			x->vendor = F(r, "the %s is locked out", vendor_of(sp->site)->tenant_word);
			x->action = "tenant.enable";
		}
	}
}

/* ---------------------------------------------------------- journal */

struct jctx {
	struct report *r;
	const char *site;
	struct rc_map last;          /* "op unit" -> index into entries */
	struct journal_entry *entries;
	size_t n, cap;
};

static int journal_cb(const struct journal_entry *e, void *p)
{
	struct jctx *j = p;
	size_t at = j->n;
	char key[160];

	if (!strcmp(e->op, "settled"))
		return 0;
	*RC_PUSH(j->entries, j->n, j->cap) = *e;
	/* the last entry of each (operation, unit, rental) tells its state */
	snprintf(key, sizeof(key), "%s %s %s", e->op, e->unit, e->rental_id);
	if (rc_map_get(&j->last, key, NULL))
		rc_map_put(&j->last, key, at); /* the slot keeps its own key */
	else
		rc_map_put(&j->last, rc_arena_strdup(&j->r->arena, key), at);
	return 0;
}

static void from_journal(struct report *r, struct engine *e, const struct site_plan *sp)
{
	struct jctx j = { r, sp->site->name, { 0 }, NULL, 0, 0 };
	struct store_txn *t = NULL;
	struct rc_err err;
	size_t i;

	rc_map_init(&j.last);
	if (store_txn_begin(e->store, false, &t, &err))
		return;
	store_journal_each(t, sp->site->name, false, journal_cb, &j, &err);
	store_txn_abort(t);
	for (i = 0; i < j.last.cap; i++) {
		const struct journal_entry *x;
		struct report_row *row;

		if (!j.last.keys[i])
			continue;
		x = &j.entries[j.last.vals[i]];
		if (x->state == JOURNAL_FAILED) {
			row = add_row(r, SEV_ERROR, "operation_failed", sp->site->name, x->unit, "R7");
			row->pms = S(r, x->detail);
			row->vendor = S(r, x->error);
			row->action = F(r, "%s is retried by the next apply", x->op);
			row->time = S(r, x->time);
		} else if (x->state == JOURNAL_INTENT || x->state == JOURNAL_UNKNOWN) {
			row = add_row(r, SEV_WARNING, "operation_pending", sp->site->name, x->unit, "R7");
			row->pms = S(r, x->detail);
			row->vendor = x->state == JOURNAL_UNKNOWN ? "outcome unknown (timeout)"
								   : "outcome unknown (interrupted)";
			row->action = "settled by the next plan or apply (refresh)";
			row->time = S(r, x->time);
		}
	}
	free(j.entries);
	rc_map_free(&j.last);
}

/* ---------------------------------------------------------- summary */

static int cmp_rows(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	int c;

	if (x->sev != y->sev)
		return (int)y->sev - (int)x->sev;
	c = strcmp(x->site, y->site);
	if (!c)
		c = strcmp(x->unit, y->unit);
	if (!c)
		c = strcmp(x->cls, y->cls);
	if (!c)
		c = strcmp(x->action, y->action);
	return c;
}

static void summarize(struct report *r, struct engine *e, const struct site_plan *sp,
		      size_t first_row, struct report_site *s)
{
	struct store_site_meta meta;
	struct store_txn *t = NULL;
	struct rc_map units;
	struct rc_err err;
	size_t i;

	s->name = S(r, sp->site->name);
	s->vendor = sp->site->vendor->name;
	s->managed = sp->managed;
	s->readable = sp->obs.readable;
	s->error = sp->failed ? S(r, sp->fail_msg) : NULL;
	s->last_sync = "";
	if (!store_txn_begin(e->store, false, &t, &err)) {
		if (!store_site_meta_get(t, sp->site->name, &meta, &err))
			s->last_sync = S(r, meta.last_sync);
		store_txn_abort(t);
	}
	rc_map_init(&units);
	for (i = first_row; i < r->nrows; i++)
		if (r->rows[i].unit[0] && r->rows[i].sev != SEV_INFO &&
		    strcmp(r->rows[i].cls, "unmanaged_rented") != 0)
			rc_map_put(&units, r->rows[i].unit, 1);
	s->mismatched = (unsigned)units.n;
	s->in_sync = s->managed > s->mismatched ? s->managed - s->mismatched : 0;
	rc_map_free(&units);
}

int report_build(struct engine *e, const struct plan *p, struct report *out,
		 struct rc_err *err)
{
	size_t i, first;

	(void)err;
	rc_arena_init(&out->arena);
	rc_now_iso(out->generated, sizeof(out->generated));
	out->sites = rc_calloc(p->nsites + 1, sizeof(*out->sites));
	out->nsites = p->nsites;
	for (i = 0; i < p->nsites; i++) {
		first = out->nrows;
		from_findings(out, &p->sites[i]);
		from_ops(out, &p->sites[i]);
		from_journal(out, e, &p->sites[i]);
		summarize(out, e, &p->sites[i], first, &out->sites[i]);
	}
	if (out->nrows > 1)
		qsort(out->rows, out->nrows, sizeof(*out->rows), cmp_rows);
	return RC_OK;
}

void report_free(struct report *r)
{
	free(r->rows);
	free(r->sites);
	rc_arena_free(&r->arena);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ render */

static void render_json(const struct report *r, struct rc_buf *out)
{
	json_t *j = json_object(), *sites = json_array(), *rows = json_array();
	size_t i, n[3] = { 0, 0, 0 };
	char *s;

	for (i = 0; i < r->nsites; i++) {
		const struct report_site *x = &r->sites[i];

		json_array_append_new(sites, json_pack("{s:s, s:s, s:i, s:i, s:i, s:s?, s:s?, s:b}",
			"name", x->name, "vendor", x->vendor, "managed_units", (int)x->managed,
			"in_sync", (int)x->in_sync, "mismatched", (int)x->mismatched,
			"last_successful_sync", *x->last_sync ? x->last_sync : NULL,
			"error", x->error, "vendor_readable", x->readable));
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

static void render_text(const struct report *r, bool color, struct rc_buf *out)
{
	const char *red = color ? "\033[31m" : "", *yel = color ? "\033[33m" : "";
	const char *off = color ? "\033[0m" : "", *bold = color ? "\033[1m" : "";
	int wc = 5, wu = 4;
	size_t i;

	for (i = 0; i < r->nrows; i++) {
		if ((int)strlen(r->rows[i].cls) > wc)
			wc = (int)strlen(r->rows[i].cls);
		if ((int)strlen(r->rows[i].unit) > wu)
			wu = (int)strlen(r->rows[i].unit);
	}
	rc_buf_printf(out, "%sreconcile report%s  generated %s\n\n", bold, off, r->generated);
	for (i = 0; i < r->nsites; i++) {
		const struct report_site *s = &r->sites[i];

		rc_buf_printf(out, "site %-16s %-8s managed %4u  in sync %4u  mismatched %4u  last sync %s%s%s\n",
			      s->name, s->vendor, s->managed, s->in_sync, s->mismatched,
			      *s->last_sync ? s->last_sync : "never", s->error ? "  ERROR: " : "",
			      s->error ? s->error : "");
	}
	rc_buf_puts(out, "\n");
	if (!r->nrows) {
		rc_buf_puts(out, "No findings: the access-control systems match the PMS.\n");
		return;
	}
	rc_buf_printf(out, "%-7s  %-12s  %-*s  %-*s  %-4s  %s\n", "SEV", "SITE", wu, "UNIT", wc,
		      "CLASS", "RULE", "PMS | VENDOR | WOULD DO");
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *x = &r->rows[i];
		const char *c = x->sev == SEV_ERROR ? red : x->sev == SEV_WARNING ? yel : "";

		rc_buf_printf(out, "%s%-7s%s  %-12s  %-*s  %-*s  %-4s  %s | %s | %s%s%s\n", c,
			      severity_name(x->sev), off, x->site, wu, x->unit, wc, x->cls, x->rule,
			      x->pms, x->vendor, x->action, *x->time ? " @ " : "", x->time);
	}
	rc_buf_printf(out, "\n%zu finding%s.\n", r->nrows, r->nrows == 1 ? "" : "s");
}

void report_render(const struct report *r, enum report_format f, bool color,
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
		render_text(r, color, out);
	}
}
