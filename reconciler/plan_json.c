/*
 * plan_json.c: a plan for machines (Terraform's JSON plan format 1.2, our
 * members reconcile_*), as one tree (plan_to_json: tests, small plans) or
 * written as it is produced, one site at a time (plan_json_*): the
 * resource changes go out as each site is planned; the sites, operations
 * and findings, which come after all of them, wait in spills (temporary
 * files, plan_int.h) and follow at the end, with the members that need the
 * whole plan (errored, applyable, the summary). The bytes are those of
 * json_dumpf(plan_to_json(p), f, flags) for any flags: members are written
 * in the dump's order, each element with jansson's punctuation.
 */
#define _GNU_SOURCE
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
	size_t i, nops = 0, warnings = 0;

	for (i = 0; i < p->nsites; i++) {
		nops += p->sites[i].nops;
		warnings += p->sites[i].nwarnings;
	}
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "add", (int)p->add, "change",
			 (int)p->change, "destroy", (int)p->destroy, "operations", (int)nops,
			 "errors", (int)p->errors, "warnings", (int)warnings);
}

/* The members of a plan's JSON, in plan_to_json's order: scalars and
 * the summary as one value, the arrays one element at a time (elem: the
 * element of site i at index k, NULL past the site's last; write, where
 * set: the same element written straight, for jw_direct flags). A value
 * is known from the start but for those marked whole (they need every
 * site: a streamed plan writes them at the end). */
struct member {
	const char *key;
	json_t *(*value)(const struct plan *p);
	json_t *(*elem)(const struct site_plan *sp, size_t k);
	void (*write)(struct jw *w, const struct site_plan *sp, size_t k);
	bool whole;
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
	{ "errored", v_errored, NULL, NULL, true }, { "complete", v_complete, NULL, NULL, true },
	{ "applyable", v_applyable, NULL, NULL, true },
	{ "reconcile_format_version", v_format, NULL }, { "reconcile_version", v_version, NULL },
	{ "reconcile_plan_id", v_id, NULL }, { "reconcile_sites", NULL, e_site },
	{ "reconcile_operations", NULL, e_op, w_op }, { "reconcile_findings", NULL, e_finding },
	{ "reconcile_summary", summary_json, NULL, NULL, true },
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

/* A member of a streamed plan: an array's elements go to the output
 * while it is the one being written (live), else to a spill. */
struct jstate {
	const struct member *m;
	struct jw *w;        /* where its elements go (arrays) */
	struct spill spill;  /* an array that is not live */
	size_t n;            /* its elements so far */
};

struct plan_json {
	const struct plan *p;
	struct jw *out;
	struct jstate st[NMEMBERS];
	size_t next;         /* the next member to write to out */
	size_t live;         /* the array member written live, or NMEMBERS */
	bool started;
	int rc;
};

static struct jw *jw_new(FILE *f, size_t flags)
{
	struct jw *w = rc_malloc(sizeof(*w));

	w->f = f;
	w->flags = flags;
	w->indent = (int)(flags & JSON_MAX_INDENT);
	w->depth = w->rc = w->lvl = 0;
	w->n = 0;
	return w;
}

static bool is_array(const struct member *m)
{
	return !m->value;
}

/* The key of member at index i of the output, with the punctuation
 * before it. */
static void put_key(struct plan_json *j, size_t i)
{
	struct jw *w = j->out;

	if (i)
		jw_put(w, ",", 1);
	jw_indent(w, 1, i > 0);
	jw_value(w, json_string(j->st[i].m->key), 1);
	jw_put(w, (w->flags & JSON_COMPACT) ? ":" : ": ", (w->flags & JSON_COMPACT) ? 1 : 2);
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct member *const *)a)->key,
		      (*(const struct member *const *)b)->key);
}

/* "{" and the members known from the start, up to the first array,
 * which is then written live; every later array gets a spill. */
static void start(struct plan_json *j)
{
	const struct member *order[NMEMBERS];
	size_t m;

	j->started = true;
	for (m = 0; m < NMEMBERS; m++)
		order[m] = &members[m];
	if (j->out->flags & JSON_SORT_KEYS)
		qsort(order, NMEMBERS, sizeof(order[0]), member_cmp);
	jw_put(j->out, "{", 1);
	j->live = NMEMBERS;
	for (m = 0; m < NMEMBERS; m++)
		j->st[m].m = order[m];
	for (m = 0; m < NMEMBERS && j->next == m; m++) {
		if (order[m]->whole)
			break;
		put_key(j, m);
		j->next = m + 1;
		if (!is_array(order[m])) {
			jw_value(j->out, order[m]->value(j->p), 1);
			continue;
		}
		jw_put(j->out, "[", 1);
		j->st[m].w = j->out;
		j->live = m;
		break;
	}
	for (m = j->next; m < NMEMBERS; m++) {
		if (!is_array(order[m]))
			continue;
		if (spill_open(&j->st[m].spill)) {
			j->rc = -1;
			continue;
		}
		j->st[m].w = jw_new(j->st[m].spill.f, j->out->flags);
	}
}

struct plan_json *plan_json_open(const struct plan *p, FILE *f, size_t flags)
{
	struct plan_json *j = rc_calloc(1, sizeof(*j));

	j->p = p;
	j->out = jw_new(f, flags);
	return j;
}

/* The elements a member writes straight for site sp. */
static size_t count(const struct member *m, const struct site_plan *sp)
{
	return m->write == w_change ? sp->nchanges : sp->nops;
}

static void site_elems(struct jstate *s, const struct site_plan *sp)
{
	struct jw *w = s->w;
	bool direct = s->m->write && jw_direct(w);
	size_t k;
	json_t *v;

	for (k = 0; !w->rc; k++) {
		if (direct && k >= count(s->m, sp))
			break;
		v = direct ? NULL : s->m->elem(sp, k);
		if (!direct && !v)
			break;
		if (s->n++)
			jw_put(w, ",", 1);
		jw_indent(w, 2, s->n > 1);
		if (direct)
			s->m->write(w, sp, k);
		else
			jw_value(w, v, 2);
	}
}

int plan_json_site(struct plan_json *j, const struct site_plan *sp)
{
	size_t m;

	if (!j->started)
		start(j);
	for (m = 0; m < NMEMBERS; m++)
		if (j->st[m].w)
			site_elems(&j->st[m], sp);
	return j->rc || j->out->rc ? -1 : 0;
}

/* An array's end; a spilled one's elements first. */
static void end_array(struct plan_json *j, size_t m)
{
	struct jstate *s = &j->st[m];

	if (s->w && s->w != j->out) {
		jw_flush(s->w);
		jw_flush(j->out);
		if (s->w->rc || spill_drain(&s->spill, j->out->f))
			j->rc = -1;
		free(s->w);
		s->w = NULL;
	}
	if (s->n)
		jw_indent(j->out, 1, false);
	jw_put(j->out, "]", 1);
}

static void finish(struct plan_json *j)
{
	size_t m;

	if (!j->started)
		start(j);
	if (j->live < NMEMBERS)
		end_array(j, j->live);
	for (m = j->next; m < NMEMBERS; m++) {
		put_key(j, m);
		if (is_array(j->st[m].m)) {
			jw_put(j->out, "[", 1);
			end_array(j, m);
		} else {
			jw_value(j->out, j->st[m].m->value(j->p), 1);
		}
	}
	jw_indent(j->out, 0, false);
	jw_put(j->out, "}", 1);
	jw_flush(j->out);
}

int plan_json_close(struct plan_json *j, bool finished)
{
	size_t m;
	int rc;

	if (finished)
		finish(j);
	rc = j->rc || j->out->rc || ferror(j->out->f) ? -1 : 0;
	for (m = 0; m < NMEMBERS; m++)
		if (j->st[m].w && j->st[m].w != j->out) {
			spill_close(&j->st[m].spill);
			free(j->st[m].w);
		}
	free(j->out);
	free(j);
	return rc;
}

int plan_write_json(const struct plan *p, FILE *f, size_t flags)
{
	struct plan_json *j = plan_json_open(p, f, flags);
	size_t i;

	for (i = 0; i < p->nsites; i++)
		plan_json_site(j, &p->sites[i]);
	return plan_json_close(j, true);
}
