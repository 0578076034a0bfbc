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

/* The findings of one site, and its R10 warning; *any: a finding was
 * written (a blank line follows them all). */
static void findings_text(const struct site_plan *sp, const struct colors *col,
			  struct rc_buf *out, bool *any)
{
	size_t k;

	/* a site that could not be planned: its error goes to stderr (the
	 * caller's), the closing line names it */
	for (k = 0; k < sp->nfindings; k++) {
		const struct finding *f = &sp->findings[k];
		const char *lbl = f->sev == SEV_ERROR ? "Error" : f->sev == SEV_WARNING
				  ? "Warning" : "Note";
		const char *unit = f->unit ? f->unit : f->vendor_unit;

		rc_buf_printf(out, "%s%s:%s site %s%s%s: %s [%s]\n",
			      f->sev == SEV_ERROR ? col->err : col->warn, lbl, col->off,
			      sp->site->name, unit ? ", unit " : "", unit ? unit : "",
			      f->message, f->rule);
		*any = true;
	}
	if (!sp->failed && sp->destructive > sp->limit_destructive)
		rc_buf_printf(out, "%sWarning:%s site %s: this plan vacates %u of %u managed units, "
			      "over the limit of %u: apply will refuse it without --allow-destructive (R10)\n",
			      col->warn, col->off, sp->site->name, sp->destructive,
			      sp->managed, sp->limit_destructive);
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

/* What out holds to f: out is then empty. */
static int text_flush(struct rc_buf *out, FILE *f)
{
	int rc = 0;

	if (!out->len)
		return 0;
	if (fwrite(out->p, 1, out->len, f) != out->len)
		rc = -1;
	out->len = 0;
	out->p[0] = '\0';
	return rc;
}

/* The text written site by site: the resource changes as they come (once
 * a site has an operation: a plan without any shows none), the findings
 * held in a spill until every change is written, then the summary. */
struct plan_text {
	const struct plan *p;
	FILE *f;
	struct colors col;
	struct rc_buf out;   /* the changes not written yet */
	struct spill finds;  /* the findings' lines */
	size_t nops;         /* operations of the sites so far */
	bool any;            /* a finding was written */
	int rc;
};

struct plan_text *plan_text_open(const struct plan *p, const struct render_opts *o, FILE *f)
{
	struct plan_text *t = rc_calloc(1, sizeof(*t));

	t->p = p;
	t->f = f;
	set_colors(&t->col, o && o->color);
	rc_buf_init(&t->out);
	rc_buf_add(&t->out, "", 0);
	if (spill_open(&t->finds))
		t->rc = -1;
	return t;
}

int plan_text_site(struct plan_text *t, const struct site_plan *sp)
{
	struct rc_buf fb;
	size_t k;

	if (sp->nops && !t->nops) { /* the first operation: the changes so far go out */
		if (fputs("reconcile will perform the following actions:\n\n", t->f) == EOF)
			t->rc = -1;
		t->rc |= text_flush(&t->out, t->f);
	}
	t->nops += sp->nops;
	for (k = 0; k < sp->nchanges; k++) {
		change_text(&sp->changes[k], &t->col, &t->out);
		if (t->nops)
			t->rc |= text_flush(&t->out, t->f);
	}
	rc_buf_init(&fb);
	findings_text(sp, &t->col, &fb, &t->any);
	if (fb.len && t->finds.f && fwrite(fb.p, 1, fb.len, t->finds.f) != fb.len)
		t->rc = -1;
	rc_buf_free(&fb);
	return t->rc;
}

/* The findings, then the closing lines. */
static void text_finish(struct plan_text *t)
{
	const struct plan *p = t->p;
	const struct colors *col = &t->col;
	struct rc_buf *out = &t->out;

	out->len = 0; /* no operation: the changes are not shown */
	out->p[0] = '\0';
	if (t->finds.f && spill_drain(&t->finds, t->f))
		t->rc = -1;
	if (t->any)
		rc_buf_puts(out, "\n");
	if (!t->nops && !plan_failed_sites(p, NULL)) {
		rc_buf_printf(out, "%sNo changes.%s The access-control systems match the PMS.\n",
			      col->bold, col->off);
	} else {
		if (!t->nops)
			rc_buf_printf(out, "%sNo changes%s in the sites planned.", col->bold, col->off);
		else
			rc_buf_printf(out, "%sPlan:%s %u to add, %u to change, %u to destroy.",
				      col->bold, col->off, p->add, p->change, p->destroy);
		not_planned(p, col, out);
	}
	t->rc |= text_flush(out, t->f);
}

int plan_text_close(struct plan_text *t, bool finished)
{
	int rc;

	if (finished)
		text_finish(t);
	rc = t->rc || fflush(t->f) != 0 || ferror(t->f) ? -1 : 0;
	spill_close(&t->finds);
	rc_buf_free(&t->out);
	free(t);
	return rc;
}

int plan_write_text(const struct plan *p, const struct render_opts *o, FILE *f)
{
	struct plan_text *t = plan_text_open(p, o, f);
	size_t i;

	for (i = 0; i < p->nsites; i++)
		plan_text_site(t, &p->sites[i]);
	return plan_text_close(t, true);
}

void plan_render_text(const struct plan *p, const struct render_opts *o,
		      struct rc_buf *out)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		abort(); /* out of memory, as rc_malloc */
	plan_write_text(p, o, f);
	fclose(f);
	rc_buf_add(out, s, n);
	free(s);
}
