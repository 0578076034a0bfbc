/*
 * test_plan_stream.c: the plan written as it is produced (plan_write_json,
 * plan_write_text) is byte for byte what the whole-tree rendering
 * (json_dumpf of plan_to_json, plan_render_text) gives, for every dump
 * flag the CLI uses and a few it does not; a failed write is reported;
 * and written site by site, each site let go once written (what `plan`
 * does: engine_plan_stream), the bytes are the same again.
 */
#define _GNU_SOURCE
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One OpenTech site with creates (a generated code written back first),
 * a vacate, an overdue tenant disabled, mapping findings, and a finding
 * whose text holds a newline and UTF-8. */
static void busy_site(struct fx *f)
{
	struct pms_rental *r;

	fx_unit(f, "u1", "A1", NULL);
	fx_unit(f, "u2", "A2", NULL);
	fx_unit(f, "u3", "A3", NULL);
	fx_unit(f, "u4", "A4", "NOPE");
	fx_unit(f, "u5", "A5", "B-5");
	fx_rental(f, "r1", "u1", "c1", false);                 /* code generated */
	r = fx_rental(f, "r2", "u2", "c2", true);              /* overdue */
	r->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
	fx_rental(f, "r4", "u4", "c4", false);
	fx_rental(f, "r5", "u5", "c5", false);
	fx_ounit(f, "A1", VU_VACANT);
	fx_ounit(f, "A2", VU_RENTED);
	fx_otenant(f, "A2", "482913", "r2");
	fx_ounit(f, "A3", VU_RENTED);                          /* vacated */
	fx_otenant(f, "A3", "777777", "r3");
	/* a name the JSON escapes: a quote, a slash, UTF-8 beyond the BMP */
	fx_unit(f, "u6", "C/6 \"caf\xc3\xa9\" \xf0\x9f\x94\x91", NULL);
	fx_rental(f, "r6", "u6", "c6", false);
	fx_ounit(f, "B-5", VU_VACANT);
	fx_ounit(f, "C/6 \"caf\xc3\xa9\" \xf0\x9f\x94\x91", VU_VACANT);
	fx_plan(f);
	sp_add_finding(&f->sp, FIND_BAD_VALUE, SEV_WARNING, "A9", NULL, "R2",
		       "two lines\nand \"quotes\", a tab\t, caf\xc3\xa9 / \xe2\x82\xac");
}

static char *streamed(const struct plan *p, size_t flags)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	assert_int_equal(plan_write_json(p, f, flags), 0);
	assert_int_equal(fclose(f), 0);
	return s;
}

static void same_json(const struct plan *p)
{
	static const size_t flags[] = {
		JSON_INDENT(2), JSON_INDENT(2) | JSON_SORT_KEYS, 0, JSON_COMPACT,
		JSON_INDENT(4) | JSON_ENSURE_ASCII | JSON_SORT_KEYS, JSON_INDENT(1),
		JSON_COMPACT | JSON_ENSURE_ASCII, JSON_ESCAPE_SLASH,
	};
	json_t *tree = plan_to_json(p), *back;
	json_error_t je;
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		char *want = json_dumps(tree, flags[i]);
		char *got = streamed(p, flags[i]);

		assert_non_null(want);
		assert_string_equal(got, want);
		back = json_loads(got, 0, &je);
		assert_non_null(back);
		assert_true(json_equal(back, tree));
		json_decref(back);
		free(want);
		free(got);
	}
	json_decref(tree);
}

static void test_json_streamed_equals_tree(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct site_plan failed;
	struct site_plan two[2];
	struct plan p = { .id = "0123456789abcdef", .created = "2026-12-01T00:00:00.000Z" };

	busy_site(f);
	assert_true(f->sp.nchanges >= 3);
	assert_true(f->sp.nops >= 4);
	assert_true(f->sp.nfindings >= 2);
	/* a second site that could not be planned: "error" set, no elements */
	site_plan_init(&failed, f->site);
	failed.failed = true;
	snprintf(failed.fail_msg, sizeof(failed.fail_msg), "vendor unreachable");
	two[0] = f->sp;
	two[1] = failed;
	p.sites = two;
	p.nsites = 2;
	plan_totals(&p);
	same_json(&p);
	/* the failed site first: the arrays start with the second site */
	two[0] = failed;
	two[1] = f->sp;
	same_json(&p);
	site_plan_free(&failed);
}

static void test_json_streamed_empty_plan(void **state)
{
	struct plan p = { .id = "x", .created = "y" };
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));

	same_json(&p);               /* no site: every array [] */
	fx_unit(f, "u1", "A1", NULL);
	fx_ounit(f, "A1", VU_VACANT);
	fx_plan(f);                  /* one site, nothing to do */
	p.sites = &f->sp;
	p.nsites = 1;
	plan_totals(&p);
	same_json(&p);
}

static void test_text_streamed_equals_buffer(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct plan p = { 0 };
	struct rc_buf b;
	char *s = NULL;
	size_t n = 0;
	FILE *out;
	int color;

	busy_site(f);
	p.sites = &f->sp;
	p.nsites = 1;
	plan_totals(&p);
	for (color = 0; color < 2; color++) {
		struct render_opts ro = { .color = color };

		rc_buf_init(&b);
		plan_render_text(&p, &ro, &b);
		out = open_memstream(&s, &n);
		assert_non_null(out);
		assert_int_equal(plan_write_text(&p, &ro, out), 0);
		assert_int_equal(fclose(out), 0);
		assert_string_equal(s, b.p);
		assert_null(strstr(s, "482913"));
		free(s);
		rc_buf_free(&b);
	}
}

/* A write that fails (a full disk) is an error, not a short plan. */
static void test_write_failure_reported(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct plan p = { 0 };
	FILE *full = fopen("/dev/full", "w");

	if (!full)
		skip();
	busy_site(f);
	p.sites = &f->sp;
	p.nsites = 1;
	plan_totals(&p);
	setvbuf(full, NULL, _IONBF, 0);
	assert_int_equal(plan_write_json(&p, full, JSON_INDENT(2)), -1);
	assert_int_equal(plan_write_text(&p, &(struct render_opts){ 0 }, full), -1);
	fclose(full);
}

/* A site with a resource change but no operation, and a warning. */
static void change_only(struct site_plan *sp, const struct spec_site *site)
{
	struct rchange *c;

	site_plan_init(sp, site);
	c = sp_add_change(sp, "opentech_unit", "Z1", ACT_UPDATE, "OT3", "shown only with operations");
	ra_object(sp, &c->before, 1);
	ra_str(sp, &c->before, "status", "Vacant");
	ra_object(sp, &c->after, 1);
	ra_str(sp, &c->after, "status", "Rented");
	sp_add_finding(sp, FIND_NAME_MISMATCH, SEV_WARNING, "Z1", "Z-1", "R2", "a finding first");
}

#define NFLAGS 4
static const size_t stream_flags[NFLAGS] = {
	JSON_COMPACT, JSON_INDENT(2), JSON_INDENT(2) | JSON_SORT_KEYS, 0,
};

/* Every form of p written whole, then site by site with each site let go
 * as soon as every writer has it: the same bytes (p is released). */
static void same_released(struct plan *p)
{
	char *want[NFLAGS + 2], *got[NFLAGS + 2];
	size_t nwant[NFLAGS + 2], ngot[NFLAGS + 2];
	FILE *f[NFLAGS + 2];
	struct plan_json *j[NFLAGS];
	struct plan_text *t[2];
	struct render_opts ro[2] = { { .color = false }, { .color = true } };
	size_t i, k;

	for (k = 0; k < NFLAGS + 2; k++) {
		f[k] = open_memstream(&want[k], &nwant[k]);
		assert_non_null(f[k]);
		if (k < NFLAGS)
			assert_int_equal(plan_write_json(p, f[k], stream_flags[k]), 0);
		else
			assert_int_equal(plan_write_text(p, &ro[k - NFLAGS], f[k]), 0);
		assert_int_equal(fclose(f[k]), 0);
		f[k] = open_memstream(&got[k], &ngot[k]);
		assert_non_null(f[k]);
		if (k < NFLAGS)
			j[k] = plan_json_open(p, f[k], stream_flags[k]);
		else
			t[k - NFLAGS] = plan_text_open(p, &ro[k - NFLAGS], f[k]);
	}
	for (i = 0; i < p->nsites; i++) {
		for (k = 0; k < NFLAGS; k++)
			assert_int_equal(plan_json_site(j[k], &p->sites[i]), 0);
		for (k = 0; k < 2; k++)
			assert_int_equal(plan_text_site(t[k], &p->sites[i]), 0);
		site_plan_release(&p->sites[i]);
		assert_null(p->sites[i].ops);
	}
	plan_totals(p);
	for (k = 0; k < NFLAGS + 2; k++) {
		if (k < NFLAGS)
			assert_int_equal(plan_json_close(j[k], true), 0);
		else
			assert_int_equal(plan_text_close(t[k - NFLAGS], true), 0);
		assert_int_equal(fclose(f[k]), 0);
		assert_string_equal(got[k], want[k]);
		free(want[k]);
		free(got[k]);
	}
}

static void test_released_sites_same_bytes(void **state)
{
	struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
	struct site_plan sites[3];
	struct plan p = { .id = "0123456789abcdef", .created = "2026-12-01T00:00:00.000Z" };
	unsigned errors;
	size_t i;

	busy_site(f);
	/* a change with no operation before the first site with some: it is
	 * held until then; a failed site last */
	change_only(&sites[0], f->site);
	sites[1] = f->sp;
	site_plan_init(&f->sp, f->site); /* the fixture's own: now empty */
	site_plan_init(&sites[2], f->site);
	sites[2].failed = true;
	snprintf(sites[2].fail_msg, sizeof(sites[2].fail_msg), "vendor unreachable");
	p.sites = sites;
	p.nsites = 3;
	plan_totals(&p);
	errors = p.errors;
	assert_true(p.add > 0 && errors >= 1);
	same_released(&p);
	assert_int_equal(p.errors, errors); /* the counts outlive the sites */
	/* a plan whose only change has no operation: neither shows it */
	change_only(&sites[0], f->site);
	p.nsites = 1;
	plan_totals(&p);
	same_released(&p);
	for (i = 0; i < 3; i++)
		site_plan_free(&sites[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_json_streamed_equals_tree),
		FX_TEST(test_json_streamed_empty_plan),
		FX_TEST(test_text_streamed_equals_buffer),
		FX_TEST(test_write_failure_reported),
		FX_TEST(test_released_sites_same_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
