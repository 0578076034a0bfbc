/*
 * e2e_scale.c: the HTTP defaults hold at 20,000 units per site (issue 15).
 *
 * One spec with no "http" section and no page size, three sites of 20,000
 * units (half rented) against the simulator: one OpenTech, one PTI, one
 * OpenApp whose 10,000 rentals already have their invites (so that its
 * refresh reads them, page by page). OpenTech answers slowly in
 * proportion to what it lists (the simulator's item_latency_us): its
 * 20,000 units take about 16 s in one answer, past the 15 s that every
 * peer had before, as 20,000 visitors took 19.6 s in the field. The plan
 * must read everything and plan each site, and write the plan in the
 * spec's site order though the OpenTech site (site0) finishes last (the
 * plan is written site by site as it is made).
 *
 * The seed comes from the benchmarks' generator (tests/bench/lib/gen.c).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "gen.h"

#define UNITS 20000
/* OpenTech's cost of one listed item: 20,000 units in 16 s */
#define OT_ITEM_US 800

static const struct gen G = { .sites = 3, .units = UNITS, .mix = { 33, 33, 34 }, .rentals = true };

/* The OpenApp site's invites: one live invite per rental, as a converged
 * site has them (the provider's naming: providers/openapp.c). */
static void add_invites(json_t *seed, unsigned k)
{
	json_t *inv = json_object_get(json_object_get(seed, "openapp"), "invites");
	char id[32], rental[32], name[96], integ[16], portal[32];
	unsigned i;

	snprintf(integ, sizeof(integ), "INT%u", k);
	for (i = 0; i < UNITS; i++) {
		if (!gen_rented(i))
			continue;
		snprintf(id, sizeof(id), "inv%u-%u", k, i);
		snprintf(rental, sizeof(rental), "r%u-%u", k, i);
		snprintf(name, sizeof(name), "Storeganise rental %s @ site%u", rental, k);
		snprintf(portal, sizeof(portal), "P%u-%u", k, i);
		json_array_append_new(inv, json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:[s], s:b, s:s, s:n}",
			"id", id, "integration_id", integ, "name", name, "external_ref", "source",
			"storeganise", "record_id", rental, "portal_ids", portal, "is_enabled", 1,
			"valid_from", "2026-01-01T00:00:00Z", "valid_to"));
	}
}

/* The generator's seed, with the OpenApp site's invites, at path. */
static void write_seed(const char *path)
{
	struct rc_err err;
	json_t *seed;
	unsigned k;

	rc_err_clear(&err);
	if (gen_write_seed(&G, path, &err))
		fail_msg("%s", err.msg);
	seed = json_load_file(path, 0, NULL);
	assert_non_null(seed);
	for (k = 0; k < G.sites; k++)
		if (gen_site_vendor(&G, k) == GEN_OA)
			add_invites(seed, k);
	assert_int_equal(json_dump_file(seed, path, JSON_COMPACT), 0);
	json_decref(seed);
}

/* The generator's spec for the simulator of t, with no page size and no
 * "http" section: every HTTP setting is the product's default. */
static void write_spec(struct e2e *t)
{
	struct gen_spec gs = { .sim = t->base, .state_dir = NULL };
	char state[320];
	struct rc_err err;
	json_t *spec;

	snprintf(state, sizeof(state), "%s/state", t->dir);
	gs.state_dir = state;
	rc_err_clear(&err);
	if (gen_write_spec(&G, &gs, t->spec, &err))
		fail_msg("%s", err.msg);
	spec = json_load_file(t->spec, 0, NULL);
	assert_non_null(spec);
	json_object_del(json_object_get(spec, "pms"), "page_size");
	assert_null(json_object_get(spec, "http"));
	assert_int_equal(json_dump_file(spec, t->spec, JSON_INDENT(1)), 0);
	json_decref(spec);
}

/* Operations of the plan for one site, of one kind (NULL: any). */
static size_t site_ops(json_t *plan, const char *site, const char *kind)
{
	json_t *o;
	size_t i, n = 0;

	json_array_foreach(json_object_get(plan, "reconcile_operations"), i, o)
		if (!strcmp(json_string_value(json_object_get(o, "site")) ?: "", site) &&
		    (!kind || !strcmp(json_string_value(json_object_get(o, "op")) ?: "", kind)))
			n++;
	return n;
}

/* The site (member key, "siteN") of each element of a never goes back
 * to an earlier site of the spec; *n: the elements. */
static void in_site_order(json_t *a, const char *key, size_t *n)
{
	json_t *o;
	size_t i;
	int last = 0, k;

	json_array_foreach(a, i, o) {
		const char *s = json_string_value(json_object_get(o, key));

		assert_non_null(s);
		assert_int_equal(strncmp(s, "site", 4), 0);
		k = atoi(s + 4);
		assert_true(k >= last);
		last = k;
	}
	*n = json_array_size(a);
}

/* GET requests whose path holds path and whose query holds query. */
static size_t gets(json_t *reqs, const char *path, const char *query)
{
	json_t *q;
	size_t i, n = 0;

	json_array_foreach(reqs, i, q)
		if (!strcmp(json_string_value(json_object_get(q, "method")) ?: "", "GET") &&
		    strstr(json_string_value(json_object_get(q, "path")) ?: "", path) &&
		    strstr(json_string_value(json_object_get(q, "query")) ?: "", query))
			n++;
	return n;
}

static void test_defaults_hold_at_20000_units_per_site(void **state)
{
	const char *args[] = { "plan", "-c", NULL, "--json", "--detailed-exitcode", NULL };
	char dir[256], seed[300];
	json_t *plan, *reqs;
	struct e2e t;
	struct run r;
	size_t n;

	(void)state;
	e2e_mkdtemp(dir, sizeof(dir));
	snprintf(seed, sizeof(seed), "%s/seed.json", dir);
	write_seed(seed);
	e2e_start_site(&t, seed, "{}");
	write_spec(&t);
	gen_set_credentials();
	json_decref(sim_post(&t, "/_sim/settings", json_pack("{s:{s:i}}", "opentech",
							      "item_latency_us", OT_ITEM_US)));
	args[2] = t.spec;
	r = e2e_reconcile(&t, args);
	if (r.status != 2)
		fail_msg("plan exited %d: %s", r.status, r.err);
	plan = parse_json(r.out);
	assert_non_null(plan);
	/* each site planned: OpenTech and PTI create their 10,000 tenants;
	 * OpenApp's 10,000 invites were read, each found for its rental
	 * (updated to the spec's portals, never created again) */
	assert_int_equal(site_ops(plan, "site0", "tenant.create"), UNITS / 2);
	assert_int_equal(site_ops(plan, "site1", "tenant.create"), UNITS / 2);
	assert_int_equal(site_ops(plan, "site2", "tenant.create"), 0);
	assert_int_equal(site_ops(plan, "site2", "tenant.update"), UNITS / 2);
	/* in the spec's order, whichever site finished first */
	in_site_order(json_object_get(plan, "reconcile_sites"), "name", &n);
	assert_int_equal(n, 3);
	in_site_order(json_object_get(plan, "resource_changes"), "name", &n);
	assert_true(n >= UNITS);
	in_site_order(json_object_get(plan, "reconcile_operations"), "site", &n);
	assert_true(n >= 3 * UNITS / 2);
	reqs = sim_requests(&t);
	/* the invites came in pages of 200, the PMS's lists in pages of 1,000 */
	assert_int_equal(gets(reqs, "/access-invites", "limit=200"), UNITS / 2 / 200);
	assert_int_equal(gets(reqs, "/access-invites", ""), UNITS / 2 / 200);
	assert_true(gets(reqs, "/storeganise/", "limit=1000") >= 3 * UNITS / 1000);
	assert_int_equal(gets(reqs, "/units", "limit=100&"), 0);
	json_decref(reqs);
	json_decref(plan);
	run_free(&r);
	e2e_stop(&t);
	e2e_rmdtemp(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_hold_at_20000_units_per_site),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
