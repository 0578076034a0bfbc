/*
 * sim_apis.c: the APIs reconcile-sim serves, one row each: the path
 * prefix, the name (state section, /_sim/faults and /_sim/settings key)
 * and the module's handler. A test build may link another table with
 * more rows instead of this file (see contrib/sim/README.md).
 */
#include "sim.h"

const struct sim_api sim_apis[] = {
	{ "/storeganise/api/v1/admin/", "storeganise", sim_storeganise, sim_storeganise_seed },
	{ "/opentech/", "opentech", sim_opentech, NULL },
	{ "/openapp/api/v1/", "openapp", sim_openapp, NULL },
	{ "/pti/", "pti", sim_pti, NULL },
	{ NULL, NULL, NULL, NULL },
};
