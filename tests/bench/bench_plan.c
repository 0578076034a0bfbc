/*
 * bench_plan.c: planning cost without I/O: the rules (rules_plan_site:
 * desired + diff) for S OpenTech sites of U units each, half of them
 * rented, observed state in sync except 1 %.
 *
 *   build/bench_plan [sites] [units_per_site]     (default 1000 x 1000)
 *
 * Prints units/s. Goal: a 100k-unit full plan in well under 2 s on 2 vCPUs
 * (jansson parses ~190k records/s there), i.e. the engine is never the
 * bottleneck.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "providers/vendor.h"
#include "reconciler/rules.h"

static void hash_fn(void *payload, const char *site, const char *secret,
		    unsigned char out[RC_HASH_LEN])
{
	unsigned int n = 0;
	char msg[256];
	int len = snprintf(msg, sizeof(msg), "%s|%s", site, secret);

	(void)payload;
	HMAC(EVP_sha256(), "bench", 5, (const unsigned char *)msg, (size_t)len, out, &n);
}

/* A spec of n OpenTech sites "site<i>-0" (PMS id the same). */
static struct spec *make_spec(size_t n)
{
	struct rc_buf b;
	struct spec *s = NULL;
	struct rc_err err;
	size_t i;

	rc_buf_init(&b);
	rc_buf_puts(&b, "{\"version\":1,\"pms\":{\"type\":\"storeganise\",\"base_url\":\"http://x\","
		    "\"api_key_env\":\"K\"},\"sites\":[");
	for (i = 0; i < n; i++)
		rc_buf_printf(&b, "%s{\"name\":\"site%zu-0\",\"pms_site_id\":\"site%zu-0\",\"vendor\":\"opentech\","
			      "\"opentech\":{\"base_url\":\"http://x\",\"property_number\":\"P\",\"api_key_env\":\"A\","
			      "\"api_secret_env\":\"B\",\"client_id_env\":\"C\",\"client_secret_env\":\"D\"}}",
			      i ? "," : "", i, i);
	rc_buf_puts(&b, "]}");
	if (spec_load_buf(b.p, b.len, "bench.json", vendor_specs(), &s, &err))
		fprintf(stderr, "bench: %s\n", err.msg);
	rc_buf_free(&b);
	return s;
}

static const char *dup(struct rc_arena *a, const char *prefix, size_t i, size_t j)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s%zu-%zu", prefix, i, j);
	return rc_arena_strdup(a, buf);
}

static struct pms_cf *cf1(struct rc_arena *a, const char *code, const char *val)
{
	struct pms_cf *c = rc_arena_alloc(a, sizeof(*c));

	c->code = code;
	c->val = val;
	return c;
}

static const char usage[] =
"Usage: bench_plan [sites] [units_per_site]     (default 1000 x 1000)\n"
"\n"
"The rules alone (rules_plan_site: desired + the OpenTech diff) over a\n"
"snapshot built in memory, half the units rented, the observed state in\n"
"sync but 1 %: prints units/s. No I/O, no parse; see bench_plan_file for\n"
"whole processes. Never run by ctest (but by bench/smoke at a tiny size).\n";

/* A positive count from argv, or exit 2 with the usage. */
static size_t count_arg(int argc, char **argv, int i, size_t dflt)
{
	char *end;
	size_t v;

	if (argc <= i)
		return dflt;
	v = strtoul(argv[i], &end, 10);
	if (end == argv[i] || *end || *argv[i] == '-' || !v) {
		fputs(usage, stderr);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	size_t nsites, nunits;
	struct pms_snapshot snap;
	struct snap_groups g;
	struct spec *spec;
	const struct rc_hasher hash = { hash_fn, NULL };
	struct rc_err err;
	double t0, t1, t2;
	size_t i, j, ops = 0;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	nsites = count_arg(argc, argv, 1, 1000);
	nunits = count_arg(argc, argv, 2, 1000);
	spec = make_spec(nsites);

	if (!spec)
		return 1;
	pms_snapshot_init(&snap);
	t0 = rc_now_mono();
	for (i = 0; i < nsites; i++) {
		struct pms_site *s = pms_add_site(&snap);

		s->id = dup(&snap.arena, "site", i, 0);
		for (j = 0; j < nunits; j++) {
			struct pms_unit *u = pms_add_unit(&snap);

			u->id = dup(&snap.arena, "u", i, j);
			u->site_id = s->id;
			u->name = dup(&snap.arena, "U", i, j);
			u->cf.v = cf1(&snap.arena, "opentech_unitId", u->name);
			u->cf.n = 1;
			if (j % 2)
				continue;
			struct pms_rental *r = pms_add_rental(&snap);

			r->id = dup(&snap.arena, "r", i, j);
			r->unit_id = u->id;
			r->site_id = s->id;
			r->owner_id = dup(&snap.arena, "c", i, j);
			r->state = PMS_RENTAL_OCCUPIED;
			r->cf.v = cf1(&snap.arena, "opentech_accessCode", "482913");
			r->cf.n = 1;
			struct pms_user *c = pms_add_user(&snap);

			c->id = r->owner_id;
			c->first_name = "Ana";
			c->last_name = "Ruiz";
		}
	}
	if (pms_snapshot_index(&snap, &err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return 1;
	}
	snap_groups_build(&g, &snap);
	t1 = rc_now_mono();
	for (i = 0; i < nsites; i++) {
		struct site_plan sp;
		struct rules_in in = { &snap, &g, NULL, hash, NULL, NULL, NULL };

		site_plan_init(&sp, &spec->sites[i]);
		sp.pms_site = &snap.sites[i];
		for (j = 0; j < nunits; j++) {
			struct obs_unit *ou = obs_add_unit(&sp.obs, snap.units[i * nunits + j].name);

			ou->vendor_id = "1";
			ou->status = VU_VACANT;
			if (j % 2 == 0 && j % 100) {
				struct obs_tenant *t = obs_add_tenant(&sp.obs, ou);

				ou->status = VU_RENTED;
				t->vendor_id = "v";
				t->first_name = "Ana";
				t->last_name = "Ruiz";
				t->access_profile = -1;
				t->time_group = -1;
				t->code_known = true;
				hash_fn(NULL, spec->sites[i].name, "482913", t->code_hash);
				t->rental_id = NULL;
			}
		}
		obs_site_index(&sp.obs);
		if (rules_plan_site(&sp, &in, &err))
			fprintf(stderr, "bench: %s\n", err.msg);
		ops += sp.nops;
		site_plan_free(&sp);
	}
	t2 = rc_now_mono();
	printf("bench_plan: %zu sites x %zu units: build %.2f s, desired+diff %.2f s "
	       "(%.0f units/s), %zu operations\n", nsites, nunits, t1 - t0, t2 - t1,
	       (double)(nsites * nunits) / (t2 - t1), ops);
	snap_groups_free(&g);
	pms_snapshot_free(&snap);
	spec_free(spec);
	return 0;
}
