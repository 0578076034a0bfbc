/*
 * plan_render.c: a plan for people (Terraform's + ~ - manner) and for
 * machines (JSON, format_version 1.0), and a saved plan read back.
 *
 * Secrets never reach either form: operations carry code references
 * ({"source":"pms_rental","ref":...}) and resource changes show
 * "(sensitive)" with an after_sensitive mask.
 */
#define _GNU_SOURCE
#include "plan.h"

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

static void value_text(json_t *v, bool sensitive, struct rc_buf *out)
{
	char *s;

	if (sensitive || (json_is_string(v) && !strcmp(json_string_value(v), PLAN_SENSITIVE))) {
		rc_buf_puts(out, "(sensitive value)");
		return;
	}
	if (!v) {
		rc_buf_puts(out, "(none)");
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	rc_buf_puts(out, s ? s : "?");
	free(s);
}

static int key_width(json_t *a, json_t *b)
{
	const char *k;
	json_t *v;
	int w = 0;

	json_object_foreach(a, k, v)
		if ((int)strlen(k) > w)
			w = (int)strlen(k);
	json_object_foreach(b, k, v)
		if ((int)strlen(k) > w)
			w = (int)strlen(k);
	return w;
}

static void attrs_update(const struct rchange *c, const struct colors *col,
			 struct rc_buf *out)
{
	json_t *b = c->before ? c->before : json_object();
	json_t *a = c->after ? c->after : json_object();
	int w = key_width(b, a);
	const char *k;
	json_t *v;

	json_object_foreach(a, k, v) {
		json_t *old = json_object_get(b, k);
		bool sens = json_is_true(json_object_get(c->after_sensitive, k));

		if (old && json_equal(old, v) && !sens)
			continue;
		if (old && !json_equal(old, v) && !sens && json_is_string(v) &&
		    !strcmp(json_string_value(v), PLAN_SENSITIVE))
			continue;
		if (!old || (json_is_null(old) && !json_is_null(v))) {
			rc_buf_printf(out, "      %s+%s %-*s = ", col->add, col->off, w, k);
			value_text(v, sens, out);
		} else {
			rc_buf_printf(out, "      %s~%s %-*s = ", col->chg, col->off, w, k);
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
	if (!c->before)
		json_decref(b);
	if (!c->after)
		json_decref(a);
}

static void attrs_all(json_t *o, json_t *sens, const char *sign, const char *color,
		      const struct colors *col, struct rc_buf *out)
{
	int w = key_width(o, NULL);
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		rc_buf_printf(out, "      %s%s%s %-*s = ", color, sign, col->off, w, k);
		value_text(v, json_is_true(json_object_get(sens, k)), out);
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

	rc_buf_printf(out, "  %s# %s%s %s\n", col->bold, c->address, col->off, what[c->action]);
	rc_buf_printf(out, "  # (%s: %s)\n", c->rule, c->reason);
	rc_buf_printf(out, "  %s%s%s %s {\n", color, sign, col->off, c->address);
	if (c->action == ACT_CREATE || c->action == ACT_REPLACE)
		attrs_all(c->after, c->after_sensitive, "+", col->add, col, out);
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

static json_t *code_ref_json(const struct code_ref *r)
{
	switch (r->src) {
	case CODE_PMS_RENTAL:
		return json_pack("{s:s, s:s, s:s}", "source", "pms_rental", "ref", r->ref_id,
				 "field", r->field);
	case CODE_PMS_USER:
		return json_pack("{s:s, s:s, s:s}", "source", "pms_user", "ref", r->ref_id,
				 "field", r->field);
	case CODE_GENERATED:
		return json_pack("{s:s, s:i, s:s?, s:s?}", "source", "generated", "slot",
				 (int)r->slot, "ref", r->ref_id, "field", r->field);
	case CODE_VENDOR_RESULT:
		return json_pack("{s:s, s:i}", "source", "vendor_result", "slot", (int)r->slot);
	default:
		return json_null();
	}
}

static const char *const tf_names[] = { "first_name", "last_name", "email", "phone",
					"access_code", "access_profile", "time_group", "portals",
					"window", "enabled" };
#define NTF (sizeof(tf_names) / sizeof(tf_names[0]))

static json_t *op_json(const struct site_plan *sp, const struct op *op)
{
	json_t *j = json_object(), *ch, *t, *ws;
	unsigned i;

	json_object_set_new(j, "site", json_string(sp->site->name));
	json_object_set_new(j, "seq", json_integer(op->seq));
	json_object_set_new(j, "op", json_string(op_kind_name(op->kind)));
	json_object_set_new(j, "rule", json_string(op->rule ? op->rule : ""));
	json_object_set_new(j, "reason", json_string(op->reason ? op->reason : ""));
#define OPT(k, v) if (v) json_object_set_new(j, k, json_string(v))
	OPT("unit", op->unit);
	OPT("unit_id", op->unit_vid);
	OPT("tenant_id", op->tenant_vid);
	OPT("rental_id", op->rental_id);
	OPT("user_id", op->user_id);
#undef OPT
	if (op->result_slot >= 0)
		json_object_set_new(j, "result_slot", json_integer(op->result_slot));
	if (op->id_ref.src != CODE_NONE)
		json_object_set_new(j, "tenant_ref", code_ref_json(&op->id_ref));
	if (op->kind == OP_TENANT_CREATE || op->kind == OP_TENANT_UPDATE) {
		t = json_pack("{s:s?, s:s?, s:s?, s:s?, s:I, s:I}", "first_name", op->t.first_name,
			      "last_name", op->t.last_name, "email", op->t.email, "phone",
			      op->t.phone, "access_profile", (json_int_t)op->t.access_profile,
			      "time_group", (json_int_t)op->t.time_group);
		json_object_set_new(t, "access_code", code_ref_json(&op->t.code));
		if (op->t.portals) {
			json_object_set_new(t, "portals", json_string(op->t.portals));
			json_object_set_new(t, "valid_from", json_string(op->t.valid_from ? op->t.valid_from : ""));
			json_object_set_new(t, "valid_to", json_string(op->t.valid_to ? op->t.valid_to : ""));
			json_object_set_new(t, "max_uses", json_integer(op->t.max_uses));
			json_object_set_new(t, "enabled", json_boolean(op->t.enabled));
		}
		json_object_set_new(j, "tenant", t);
		ch = json_array();
		for (i = 0; i < NTF; i++)
			if (op->changed & (1u << i))
				json_array_append_new(ch, json_string(tf_names[i]));
		json_object_set_new(j, "changed", ch);
	}
	if (op->kind == OP_PMS_WRITE) {
		json_object_set_new(j, "collection", json_string(op->collection));
		json_object_set_new(j, "object_id", json_string(op->object_id));
		ws = json_array();
		for (i = 0; i < op->nw; i++) {
			const struct op_write *w = &op->w[i];
			json_t *x = json_pack("{s:s}", "field", w->field);

			if (w->type == WB_CODE) {
				json_object_set_new(x, "type", json_string("code"));
				json_object_set_new(x, "value", code_ref_json(&w->code));
			} else if (w->type == WB_BOOL) {
				json_object_set_new(x, "type", json_string("bool"));
				json_object_set_new(x, "value", json_boolean(w->b));
			} else if (w->type == WB_RESULT) {
				json_object_set_new(x, "type", json_string("result"));
				json_object_set_new(x, "value", code_ref_json(&w->code));
			} else if (w->type == WB_NOW) {
				json_object_set_new(x, "type", json_string("now"));
			} else if (w->type == WB_STRING) {
				json_object_set_new(x, "type", json_string("string"));
				json_object_set_new(x, "value", json_string(w->str));
			} else {
				json_object_set_new(x, "type", json_string("null"));
			}
			json_array_append_new(ws, x);
		}
		json_object_set_new(j, "fields", ws);
	}
	return j;
}

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
 * element of site i at index k, NULL past the site's last). */
struct member {
	const char *key;
	json_t *(*value)(const struct plan *p);
	json_t *(*elem)(const struct site_plan *sp, size_t k);
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
	return k < sp->nops ? op_json(sp, &sp->ops[k]) : NULL;
}

static json_t *e_finding(const struct site_plan *sp, size_t k)
{
	return k < sp->nfindings ? finding_json(sp, &sp->findings[k]) : NULL;
}

/* Terraform's members first (see plan_tf.c), then ours, all reconcile_*. */
static const struct member members[] = {
	{ "format_version", v_tf_format, NULL }, { "terraform_version", v_tf_version, NULL },
	{ "timestamp", v_created, NULL }, { "resource_changes", NULL, e_change },
	{ "errored", v_errored, NULL }, { "complete", v_complete, NULL },
	{ "applyable", v_applyable, NULL },
	{ "reconcile_format_version", v_format, NULL }, { "reconcile_version", v_version, NULL },
	{ "reconcile_plan_id", v_id, NULL }, { "reconcile_sites", NULL, e_site },
	{ "reconcile_operations", NULL, e_op }, { "reconcile_findings", NULL, e_finding },
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

/* Writes what json_dumpf(plan_to_json(p), f, flags) would, one member or
 * array element at a time: jansson dumps each small tree; the
 * punctuation around them is written here, as jansson's dump.c lays it
 * out (so the bytes are the same). */
struct jw {
	FILE *f;
	size_t flags;
	int indent;          /* JSON_INDENT(n): n, 0 for one line */
	int depth;           /* of the value being dumped: its lines are padded */
	int rc;
	size_t n;            /* bytes in buf */
	char buf[1 << 16];   /* jansson hands over a token at a time: one
			      * fwrite per token was a third of --json's cost */
};

static void jw_flush(struct jw *w)
{
	if (w->n && fwrite(w->buf, 1, w->n, w->f) != w->n)
		w->rc = -1;
	w->n = 0;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->n + n > sizeof(w->buf))
		jw_flush(w);
	if (n > sizeof(w->buf)) {
		if (fwrite(s, 1, n, w->f) != n)
			w->rc = -1;
		return;
	}
	memcpy(w->buf + w->n, s, n);
	w->n += n;
}

static void jw_pad(struct jw *w, int depth)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)(w->indent * depth);

	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		jw_put(w, spaces, k);
		n -= k;
	}
}

/* jansson's dump_indent: a new line at depth, or a space after a comma
 * on one line (none with JSON_COMPACT). */
static void jw_indent(struct jw *w, int depth, bool space)
{
	if (w->indent) {
		jw_put(w, "\n", 1);
		jw_pad(w, depth);
	} else if (space && !(w->flags & JSON_COMPACT)) {
		jw_put(w, " ", 1);
	}
}

/* json_dump_callback's output, each new line padded to w->depth (a
 * string never holds a raw newline: jansson escapes it). */
static int jw_cb(const char *buf, size_t size, void *data)
{
	struct jw *w = data;
	const char *nl;
	size_t n;

	if (!w->indent) { /* one line: nothing to pad */
		jw_put(w, buf, size);
		return w->rc;
	}
	while (size) {
		nl = memchr(buf, '\n', size);
		n = nl ? (size_t)(nl - buf) + 1 : size;
		jw_put(w, buf, n);
		if (nl)
			jw_pad(w, w->depth);
		buf += n;
		size -= n;
	}
	return w->rc;
}

/* Dump v (stolen) as a value at depth. */
/* One line: straight into the buffer (json_dumpb), no callback per token. */
static int jw_dumpb(struct jw *w, json_t *v)
{
	size_t flags = w->flags | JSON_ENCODE_ANY, n;

	n = json_dumpb(v, w->buf + w->n, sizeof(w->buf) - w->n, flags);
	if (n && n <= sizeof(w->buf) - w->n) {
		w->n += n;
		return 0;
	}
	jw_flush(w);
	n = json_dumpb(v, w->buf, sizeof(w->buf), flags);
	if (n && n <= sizeof(w->buf)) {
		w->n = n;
		return 0;
	}
	return json_dump_callback(v, jw_cb, w, flags); /* larger than the buffer */
}

static void jw_value(struct jw *w, json_t *v, int depth)
{
	w->depth = depth;
	if (!v)
		w->rc = -1;
	else if (!w->indent ? jw_dumpb(w, v) != 0
		 : json_dump_callback(v, jw_cb, w, w->flags | JSON_ENCODE_ANY) != 0)
		w->rc = -1;
	json_decref(v);
}

static void jw_member(struct jw *w, const struct plan *p, const struct member *m)
{
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
		for (k = 0; !w->rc && (v = m->elem(&p->sites[i], k)); k++) {
			if (n++)
				jw_put(w, ",", 1);
			jw_indent(w, 2, n > 1);
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
	w->depth = w->rc = 0;
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
