/*
 * sim_apis.c (test build): contrib/sim/sim_apis.c with one more row, the
 * test-only "null" vendor's module. Linked into reconcile-sim-null.
 */
#include "sim.h"

void sim_null(const struct sim_req *r, struct sim_resp *out);

const struct sim_api sim_apis[] = {
	{ "/storeganise/api/v1/admin/", "storeganise", sim_storeganise, sim_storeganise_seed },
	{ "/opentech/", "opentech", sim_opentech, NULL },
	{ "/openapp/api/v1/", "openapp", sim_openapp, NULL },
	{ "/pti/", "pti", sim_pti, NULL },
	{ "/null/", "null", sim_null, NULL },
	{ NULL, NULL, NULL, NULL },
};
