/*
 * plan_render.c: a plan for people (Terraform's + ~ - manner) and for
 * machines (JSON, format_version 1.0), and a saved plan read back.
 *
 * Secrets never reach either form: operations carry code references
 * ({"source":"pms_rental","ref":...}) and resource changes show
 * "(sensitive)" with an after_sensitive mask.
 */
#define _GNU_SOURCE
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- text */

struct colors {
	const char *add, *chg, *del, *warn, *err, *bold, *off;
};

static void set_colors(struct colors *c, bool on)
{
	c->add = on ? "\033[32m" : "";
	c->chg = on ? "\033[33m" : "";
	c->del = on ? "\033[31m" : "";
	c->warn = on ? "\033[33m" : "";
	c->err = on ? "\033[1;31m" : "";
	c->bold = on ? "\033[1m" : "";
	c->off = on ? "\033[0m" : "";
}

static bool is_secret(const struct rattr *v)
{
	return v->kind == AV_STR && !strcmp(v->v.s, PLAN_SENSITIVE);
}

static void value_text(const struct rattr *v, bool sensitive, struct rc_buf *out)
{
	if (sensitive || (v && is_secret(v))) {
		rc_buf_puts(out, "(sensitive value)");
		return;
	}
	if (!v) {
		rc_buf_puts(out, "(none)");
		return;
	}
	ra_value_text(v, out);
}

/* printf's "%s": a NULL shows as "(null)". */
static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

/* "      <color><sign><off> <key padded to w> = ": printf's "%-*s"
 * without printf (a third of the text's cost at 100k units). */
static void attr_head(struct rc_buf *out, const char *color, const char *sign,
		      const char *off, int w, const char *key)
{
	static const char spaces[] = "                                ";
	int pad = w - (int)strlen(key);

	rc_buf_puts(out, "      ");
	rc_buf_puts(out, color);
	rc_buf_puts(out, sign);
	rc_buf_puts(out, off);
	rc_buf_puts(out, " ");
	rc_buf_puts(out, key);
	while (pad > 0) {
		int k = pad < (int)sizeof(spaces) - 1 ? pad : (int)sizeof(spaces) - 1;

		rc_buf_add(out, spaces, (size_t)k);
		pad -= k;
	}
	rc_buf_puts(out, " = ");
}

static int key_width(const struct rattrs *a, const struct rattrs *b)
{
	unsigned i;
	int w = 0;

	for (i = 0; a && i < a->n; i++)
		if ((int)strlen(a->a[i].key) > w)
			w = (int)strlen(a->a[i].key);
	for (i = 0; b && i < b->n; i++)
		if ((int)strlen(b->a[i].key) > w)
			w = (int)strlen(b->a[i].key);
	return w;
}

static void attrs_update(const struct rchange *c, const struct colors *col,
			 struct rc_buf *out)
{
	int w = key_width(&c->before, &c->after);
	unsigned i;

	for (i = 0; i < c->after.n; i++) {
		const struct rattr *v = &c->after.a[i];
		const struct rattr *old = ra_get(&c->before, v->key);
		bool sens = v->sensitive;

		if (old && ra_equal(old, v) && !sens)
			continue;
		if (old && !ra_equal(old, v) && !sens && is_secret(v))
			continue;
		if (!old || (old->kind == AV_NULL && v->kind != AV_NULL)) {
			attr_head(out, col->add, "+", col->off, w, v->key);
			value_text(v, sens, out);
		} else {
			attr_head(out, col->chg, "~", col->off, w, v->key);
			if (sens) {
				rc_buf_puts(out, "(sensitive value)");
			} else {
				value_text(old, false, out);
				rc_buf_puts(out, " -> ");
				value_text(v, false, out);
			}
		}
		rc_buf_puts(out, "\n");
	}
}

static void attrs_all(const struct rattrs *o, const char *sign, const char *color,
		      const struct colors *col, struct rc_buf *out)
{
	int w = key_width(o, NULL);
	unsigned i;

	for (i = 0; i < o->n; i++) {
		attr_head(out, color, sign, col->off, w, o->a[i].key);
		value_text(&o->a[i], o->a[i].sensitive, out);
		rc_buf_puts(out, "\n");
	}
}

static void change_text(const struct rchange *c, const struct colors *col,
			struct rc_buf *out)
{
	static const char *what[] = { "", "will be created", "will be updated in-place",
				      "will be destroyed", "must be replaced" };
	const char *sign = c->action == ACT_CREATE ? "+" : c->action == ACT_DELETE ? "-"
			 : c->action == ACT_REPLACE ? "-/+" : "~";
	const char *color = c->action == ACT_CREATE ? col->add : c->action == ACT_DELETE
			  ? col->del : c->action == ACT_REPLACE ? col->del : col->chg;

	rc_buf_puts(out, "  ");
	rc_buf_puts(out, col->bold);
	rc_buf_puts(out, "# ");
	rc_buf_puts(out, nz(c->address));
	rc_buf_puts(out, col->off);
	rc_buf_puts(out, " ");
	rc_buf_puts(out, what[c->action]);
	rc_buf_puts(out, "\n  # (");
	rc_buf_puts(out, nz(c->rule));
	rc_buf_puts(out, ": ");
	rc_buf_puts(out, nz(c->reason));
	rc_buf_puts(out, ")\n  ");
	rc_buf_puts(out, color);
	rc_buf_puts(out, sign);
	rc_buf_puts(out, col->off);
	rc_buf_puts(out, " ");
	rc_buf_puts(out, nz(c->address));
	rc_buf_puts(out, " {\n");
	if (c->action == ACT_CREATE || c->action == ACT_REPLACE)
		attrs_all(&c->after, "+", col->add, col, out);
	else if (c->action == ACT_DELETE)
		attrs_update(c, col, out);
	else
		attrs_update(c, col, out);
	rc_buf_puts(out, "    }\n\n");
}

static void findings_text(const struct plan *p, const struct colors *col,
			  struct rc_buf *out)
{
	size_t i, k;
	bool any = false;

	for (i = 0; i < p->nsites; i++) {
		const struct site_plan *sp = &p->sites[i];

		/* a site that could not be planned: its error goes to stderr
		 * (the caller's), the closing line names it */
		for (k = 0; k < sp->nfindings; k++) {
			const struct finding *f = &sp->findings[k];
			const char *lbl = f->sev == SEV_ERROR ? "Error" : f->sev == SEV_WARNING
					  ? "Warning" : "Note";

			const char *unit = f->unit ? f->unit : f->vendor_unit;

			rc_buf_printf(out, "%s%s:%s site %s%s%s: %s [%s]\n",
				      f->sev == SEV_ERROR ? col->err : col->warn, lbl, col->off,
				      sp->site->name, unit ? ", unit " : "", unit ? unit : "",
				      f->message, f->rule);
			any = true;
		}
		if (!sp->failed && sp->destructive > sp->limit_destructive)
			rc_buf_printf(out, "%sWarning:%s site %s: this plan vacates %u of %u managed units, "
				      "over the limit of %u: apply will refuse it without --allow-destructive (R10)\n",
				      col->warn, col->off, sp->site->name, sp->destructive,
				      sp->managed, sp->limit_destructive);
	}
	if (any)
		rc_buf_puts(out, "\n");
}

/* " Not planned (...): a, b." when sites failed, then the newline. */
static void not_planned(const struct plan *p, const struct colors *col, struct rc_buf *out)
{
	struct rc_buf names;

	rc_buf_init(&names);
	if (plan_failed_sites(p, &names))
		rc_buf_printf(out, " %sNot planned (see the errors):%s %s.", col->err, col->off, names.p);
	rc_buf_puts(out, "\n");
	rc_buf_free(&names);
}

void plan_log_failures(const struct plan *p, const struct rc_log *log)
{
	size_t i;

	for (i = 0; i < p->nsites; i++)
		if (p->sites[i].failed)
			rc_log(log, RC_LOG_ERROR, "site %s: %s", p->sites[i].site->name,
			       p->sites[i].fail_msg);
}

size_t plan_failed_sites(const struct plan *p, struct rc_buf *names)
{
	size_t i, n = 0;

	for (i = 0; i < p->nsites; i++) {
		if (!p->sites[i].failed)
			continue;
		if (names)
			rc_buf_printf(names, "%s%s", n ? ", " : "", p->sites[i].site->name);
		n++;
	}
	return n;
}

/* What out holds so far to f (when f is set): out is then empty. */
static int text_flush(struct rc_buf *out, FILE *f)
{
	int rc = 0;

	if (!f || !out->len)
		return 0;
	if (fwrite(out->p, 1, out->len, f) != out->len)
		rc = -1;
	out->len = 0;
	out->p[0] = '\0';
	return rc;
}

/* The text of p appended to out; with f, written to f as it is produced
 * (out then holds one resource change at a time). 0, or -1 when a write
 * to f failed. */
static int render_text(const struct plan *p, const struct render_opts *o,
		       struct rc_buf *out, FILE *f)
{
	struct colors col;
	size_t i, k, nops = 0;
	int rc = 0;

	set_colors(&col, o && o->color);
	for (i = 0; i < p->nsites; i++)
		nops += p->sites[i].nops;
	if (nops) {
		rc_buf_puts(out, "reconcile will perform the following actions:\n\n");
		for (i = 0; i < p->nsites; i++)
			for (k = 0; k < p->sites[i].nchanges; k++) {
				change_text(&p->sites[i].changes[k], &col, out);
				rc |= text_flush(out, f);
			}
	}
	findings_text(p, &col, out);
	if (!nops && !plan_failed_sites(p, NULL)) {
		rc_buf_printf(out, "%sNo changes.%s The access-control systems match the PMS.\n",
			      col.bold, col.off);
		return rc | text_flush(out, f);
	}
	if (!nops)
		rc_buf_printf(out, "%sNo changes%s in the sites planned.", col.bold, col.off);
	else
		rc_buf_printf(out, "%sPlan:%s %u to add, %u to change, %u to destroy.", col.bold,
			      col.off, p->add, p->change, p->destroy);
	not_planned(p, &col, out);
	return rc | text_flush(out, f);
}

void plan_render_text(const struct plan *p, const struct render_opts *o,
		      struct rc_buf *out)
{
	render_text(p, o, out, NULL);
}

int plan_write_text(const struct plan *p, const struct render_opts *o, FILE *f)
{
	struct rc_buf b;
	int rc;

	rc_buf_init(&b);
	rc_buf_add(&b, "", 0);
	rc = render_text(p, o, &b, f);
	rc_buf_free(&b);
	return rc || fflush(f) != 0 || ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------- JSON */

/* What the site's vendor side was compared with: read from the vendor,
 * its cache (--refresh=false), what reconcile last applied (a vendor with
 * no read API), or nothing (never applied from this state directory). */
const char *plan_site_baseline(const struct site_plan *sp)
{
	if (sp->failed)
		return NULL;
	if (sp->refreshed)
		return "vendor";
	if (sp->obs.readable)
		return "cache";
	return sp->have_obs ? "applied" : "none";
}

static json_t *site_json(const struct site_plan *sp)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:s?, s:i, s:i, s:i, s:i, s:i, s:s?}",
			 "name", sp->site->name, "vendor", sp->site->vendor->name,
			 "pms_site_id", sp->site->pms_site_id, "generation",
			 (json_int_t)sp->generation, "pms_fingerprint", sp->pms_fp,
			 "observed_fingerprint", sp->obs_fp, "refreshed", sp->refreshed,
			 "baseline", plan_site_baseline(sp),
			 "managed_units", (int)sp->managed, "destructive", (int)sp->destructive,
			 "destructive_limit", (int)sp->limit_destructive,
			 "generated_codes", (int)sp->ngen, "vendor_results", (int)sp->nresults,
			 "error", sp->failed ? sp->fail_msg : NULL);
}

static json_t *finding_json(const struct site_plan *sp, const struct finding *f)
{
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s}", "site", sp->site->name,
			 "kind", finding_kind_name(f->kind), "severity",
			 f->sev == SEV_ERROR ? "error" : f->sev == SEV_WARNING ? "warning" : "info",
			 "unit", f->unit, "vendor_unit", f->vendor_unit, "rule", f->rule,
			 "message", f->message);
}

static json_t *summary_json(const struct plan *p)
{
	size_t i, k, nops = 0, warnings = 0;

	for (i = 0; i < p->nsites; i++) {
		nops += p->sites[i].nops;
		for (k = 0; k < p->sites[i].nfindings; k++)
			warnings += p->sites[i].findings[k].sev == SEV_WARNING;
	}
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "add", (int)p->add, "change",
			 (int)p->change, "destroy", (int)p->destroy, "operations", (int)nops,
			 "errors", (int)p->errors, "warnings", (int)warnings);
}

/* The members of a plan's JSON, in plan_to_json's order: scalars and
 * the summary as one value, the arrays one element at a time (elem: the
 * element of site i at index k, NULL past the site's last; write, where
 * set: the same element written straight, for jw_direct flags). */
struct member {
	const char *key;
	json_t *(*value)(const struct plan *p);
	json_t *(*elem)(const struct site_plan *sp, size_t k);
	void (*write)(struct jw *w, const struct site_plan *sp, size_t k);
};

static json_t *v_tf_format(const struct plan *p) { (void)p; return json_string(PLAN_TF_FORMAT_VERSION); }
/* Readers require the member; no Terraform made this plan, so it names none. */
static json_t *v_tf_version(const struct plan *p) { (void)p; return json_string(""); }
static json_t *v_format(const struct plan *p) { (void)p; return json_string(PLAN_FORMAT_VERSION); }
static json_t *v_version(const struct plan *p) { (void)p; return json_string(RECONCILE_VERSION); }
static json_t *v_id(const struct plan *p) { return json_string(p->id); }
static json_t *v_created(const struct plan *p) { return json_string(p->created); }

/* A site that could not be planned makes the plan errored and
 * incomplete, as a Terraform plan that stopped on an error. */
static bool plan_errored(const struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nsites; i++)
		if (p->sites[i].failed)
			return true;
	return false;
}

static json_t *v_errored(const struct plan *p) { return json_boolean(plan_errored(p)); }
static json_t *v_complete(const struct plan *p) { return json_boolean(!plan_errored(p)); }

static json_t *v_applyable(const struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nsites; i++)
		if (p->sites[i].nops)
			return json_true();
	return json_false();
}

static json_t *e_site(const struct site_plan *sp, size_t k)
{
	return k ? NULL : site_json(sp);
}

static json_t *e_change(const struct site_plan *sp, size_t k)
{
	return k < sp->nchanges ? plan_tf_change(sp, &sp->changes[k]) : NULL;
}

static json_t *e_op(const struct site_plan *sp, size_t k)
{
	return k < sp->nops ? plan_op_json(sp, &sp->ops[k]) : NULL;
}

static void w_change(struct jw *w, const struct site_plan *sp, size_t k)
{
	plan_tf_write(w, sp, &sp->changes[k]);
}

static void w_op(struct jw *w, const struct site_plan *sp, size_t k)
{
	plan_op_write(w, sp, &sp->ops[k]);
}

static json_t *e_finding(const struct site_plan *sp, size_t k)
{
	return k < sp->nfindings ? finding_json(sp, &sp->findings[k]) : NULL;
}

/* Terraform's members first (see plan_tf.c), then ours, all reconcile_*. */
static const struct member members[] = {
	{ "format_version", v_tf_format, NULL }, { "terraform_version", v_tf_version, NULL },
	{ "timestamp", v_created, NULL }, { "resource_changes", NULL, e_change, w_change },
	{ "errored", v_errored, NULL }, { "complete", v_complete, NULL },
	{ "applyable", v_applyable, NULL },
	{ "reconcile_format_version", v_format, NULL }, { "reconcile_version", v_version, NULL },
	{ "reconcile_plan_id", v_id, NULL }, { "reconcile_sites", NULL, e_site },
	{ "reconcile_operations", NULL, e_op, w_op }, { "reconcile_findings", NULL, e_finding },
	{ "reconcile_summary", summary_json, NULL },
};
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

json_t *plan_to_json(const struct plan *p)
{
	json_t *j = json_object(), *a, *v;
	size_t m, i, k;

	for (m = 0; m < NMEMBERS; m++) {
		if (members[m].value) {
			json_object_set_new(j, members[m].key, members[m].value(p));
			continue;
		}
		a = json_array();
		for (i = 0; i < p->nsites; i++)
			for (k = 0; (v = members[m].elem(&p->sites[i], k)); k++)
				json_array_append_new(a, v);
		json_object_set_new(j, members[m].key, a);
	}
	return j;
}

/* ---------------------------------------------------- streamed JSON */

/* The elements of site sp a member writes straight. */
static size_t count(const struct member *m, const struct site_plan *sp)
{
	return m->write == w_change ? sp->nchanges : sp->nops;
}

static void jw_member(struct jw *w, const struct plan *p, const struct member *m)
{
	bool direct = m->write && jw_direct(w);
	size_t i, k, n = 0;
	json_t *v;

	jw_value(w, json_string(m->key), 1);
	jw_put(w, (w->flags & JSON_COMPACT) ? ":" : ": ", (w->flags & JSON_COMPACT) ? 1 : 2);
	if (m->value) {
		jw_value(w, m->value(p), 1);
		return;
	}
	jw_put(w, "[", 1);
	for (i = 0; i < p->nsites && !w->rc; i++)
		for (k = 0; !w->rc; k++) {
			if (direct && k >= count(m, &p->sites[i]))
				break;
			v = direct ? NULL : m->elem(&p->sites[i], k);
			if (!direct && !v)
				break;
			if (n++)
				jw_put(w, ",", 1);
			jw_indent(w, 2, n > 1);
			if (direct)
				m->write(w, &p->sites[i], k);
			else
				jw_value(w, v, 2);
		}
	if (n)
		jw_indent(w, 1, false);
	jw_put(w, "]", 1);
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct member *const *)a)->key,
		      (*(const struct member *const *)b)->key);
}

int plan_write_json(const struct plan *p, FILE *f, size_t flags)
{
	const struct member *order[NMEMBERS];
	struct jw *w = rc_malloc(sizeof(*w));
	size_t m;
	int rc;

	w->f = f;
	w->flags = flags;
	w->indent = (int)(flags & JSON_MAX_INDENT);
	w->depth = w->rc = w->lvl = 0;
	w->n = 0;
	for (m = 0; m < NMEMBERS; m++)
		order[m] = &members[m];
	if (flags & JSON_SORT_KEYS)
		qsort(order, NMEMBERS, sizeof(order[0]), member_cmp);
	jw_put(w, "{", 1);
	for (m = 0; m < NMEMBERS && !w->rc; m++) {
		if (m)
			jw_put(w, ",", 1);
		jw_indent(w, 1, m > 0);
		jw_member(w, p, order[m]);
	}
	jw_indent(w, 0, false);
	jw_put(w, "}", 1);
	jw_flush(w);
	rc = w->rc || ferror(f) ? -1 : 0;
	free(w);
	return rc;
}
