/*
 * gen.h: generated facilities for the benchmarks: S sites of U units each,
 * a vendor per site (OpenTech, PTI or OpenApp, by a percentage mix), every
 * even-numbered unit rented (half the units), one customer per rental,
 * every rental's code of record in the PMS (so that a first sync writes
 * nothing back to the PMS for OpenTech).
 *
 * Writes, in the Storeganise API's own shapes:
 *  - a snapshot file {sites, units, unitRentals, users}, as
 *    `reconcile plan --pms-snapshot FILE` reads it;
 *  - a simulator seed (contrib/sim/README.md) with the same PMS data and
 *    every vendor's side empty: units exist, vacant, no tenant;
 *  - a spec for that simulator (credentials from the harness's E2E_*
 *    environment variables, set by gen_set_credentials).
 *
 * Names (k = site index, i = unit index, both from 0): spec site
 * "site<k>", PMS site id "sg<k>", unit id "u<k>-<i>" named "U<i>" (6 digits),
 * rental "r<k>-<i>", customer "c<k>-<i>"; OpenTech facility 100000+k,
 * property number "P<k>", vendor unit id (k+1)*10^6+i; PTI site key
 * "SK-<k>"; OpenApp integration "INT<k>", unit portal "P<k>-<i>", lobby
 * "L<k>".
 */
#ifndef RC_BENCH_GEN_H
#define RC_BENCH_GEN_H

#include <stdbool.h>
#include <stdio.h>

#include "core/common.h"

enum gen_vendor { GEN_OT, GEN_PTI, GEN_OA };

struct gen {
	unsigned sites;      /* number of sites */
	unsigned units;      /* units per site (< 10^6) */
	unsigned mix[3];     /* percent of the sites per vendor (enum gen_vendor), sum 100 */
	bool rentals;        /* false: every unit available, no rental, no customer */
};

/* Settings of a generated spec. */
struct gen_spec {
	const char *sim;            /* simulator base URL, http://127.0.0.1:PORT */
	const char *state_dir;      /* absolute */
	unsigned vendor_concurrency; /* serve.vendor_concurrency; 0: the product's default */
	const char *sync_interval;  /* per site; NULL: the product's default */
	unsigned per_address;       /* serve.max_connections_per_address; 0: the default */
	unsigned rental_workers;    /* serve.rental_workers; 0: the default */
};

/* Parse "OT,PTI,OA" percentages ("100,0,0"): 0, or -1 when malformed. */
int gen_parse_mix(const char *s, unsigned mix[3]);
enum gen_vendor gen_site_vendor(const struct gen *g, unsigned k);
bool gen_rented(unsigned i);
/* The rental's code of record (6 digits, unique in the site, never
 * trivial; 7 digits where the 6-digit one would be). buf >= 12. */
const char *gen_code(unsigned k, unsigned i, char *buf);
long long gen_ot_unit_id(unsigned k, unsigned i);
/* Site k and unit i of an OpenTech vendor unit id: 0, or -1. */
int gen_ot_unit_of(long long id, unsigned *k, unsigned *i);
/* The JSON body `reconcile apply` sends to create unit i's tenant at an
 * OpenTech site k (providers/opentech.c tenant_body) (new). */
char *gen_ot_create_body(unsigned k, unsigned i);

int gen_write_snapshot(const struct gen *g, const char *path, struct rc_err *err);
int gen_write_seed(const struct gen *g, const char *path, struct rc_err *err);
int gen_write_spec(const struct gen *g, const struct gen_spec *s, const char *path,
		   struct rc_err *err);
/* The E2E_* credential variables the specs name (the simulator seed's). */
void gen_set_credentials(void);

#endif
