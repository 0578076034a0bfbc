/*
 * fixture.h: inputs for the rule tests, built by hand in a few lines, and
 * the plan of one site computed through the engine's own dispatch
 * (rules_plan_site: desired, R10, then the site vendor's diff). No LMDB,
 * no HTTP: the last PMS records are a plain set, codes are hashed with a
 * fixed key.
 *
 *   struct fx *f = fx_new(state, "opentech", OT_SETTINGS(""));
 *   fx_unit(f, "u1", "A1", NULL);              // mapped to its name
 *   fx_rental(f, "r1", "u1", "c1", false)->cf = fx_cfs(f, "opentech_accessCode=482913", NULL);
 *   fx_ounit(f, "A1", VU_VACANT);
 *   fx_plan(f);
 *   assert_string_equal(fx_ops(f), "create");
 *
 * The fixture belongs to the test's cmocka state: FX_TEST(fn) registers
 * fn with the setup and teardown that free it, also when an assertion
 * fails.
 */
#ifndef RC_TEST_FIXTURE_H
#define RC_TEST_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconciler/rules.h"

/* Settings objects of each vendor that load (credentials by variable
 * names that need not be set: nothing is read); extra members first. */
#define OT_SETTINGS(extra) "{" extra "\"base_url\":\"http://sim/opentech\",\"property_number\":\"P\"," \
	"\"api_key_env\":\"A\",\"api_secret_env\":\"B\",\"client_id_env\":\"C\",\"client_secret_env\":\"D\"}"
#define PTI_SETTINGS(extra) "{" extra "\"base_url\":\"http://sim/pti\",\"client_id_env\":\"A\"," \
	"\"api_key_env\":\"B\",\"site_key_env\":\"C\",\"site_code_env\":\"D\",\"username_env\":\"E\"," \
	"\"password_env\":\"F\",\"access_level\":1,\"zone\":1}"
#define OA_SETTINGS(extra) "{" extra "\"base_url\":\"http://sim/openapp/api/v1\",\"api_key_env\":\"A\"," \
	"\"org_id\":\"ORG\",\"integration_id\":\"INT\",\"lobby_portal_ids\":[\"L\"]}"

struct fx {
	struct spec *spec;                 /* one site: "s1", PMS site "S1" */
	const struct spec_site *site;
	struct pms_snapshot snap;
	struct snap_groups groups;
	struct site_plan sp;               /* sp.obs: the observed state */
	struct pms_recs last;              /* the last PMS records */
	struct sg_touched touched;         /* a scoped plan's rentals, owners */
	bool scoped, planned;
	const char *regen_user;
};

/* A fixture for one site of vendor with its settings object (JSON); it
 * is freed with the test (FX_TEST). */
struct fx *fx_new(void **state, const char *vendor, const char *settings);
#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
int fx_setup(void **state);
int fx_teardown(void **state);

/* A string kept as long as the fixture. */
const char *fx_str(struct fx *f, const char *s);
/* Custom fields from "code=value" strings, NULL-terminated; "code{}" is a
 * field holding a JSON object (a value of the wrong type). */
struct pms_cfs fx_cfs(struct fx *f, ...);
/* A unit named name whose mapping field (its vendor's) holds map: NULL
 * maps it to its own name, "" leaves it unmapped. */
struct pms_unit *fx_unit(struct fx *f, const char *id, const char *name, const char *map);
/* An occupied rental of unit_id, and its customer owner (Ana Ruiz). */
struct pms_rental *fx_rental(struct fx *f, const char *id, const char *unit_id,
			     const char *owner, bool overdue);
/* An occupied rental of a customer fx_rental already added. */
struct pms_rental *fx_rent_to(struct fx *f, const char *id, const char *unit_id,
			      const char *owner, bool overdue);
/* Observed: a vendor unit, and a tenant on it in sync with fx_rental's
 * customer (code NULL: its code is not known; rental_id NULL: not ours). */
struct obs_unit *fx_ounit(struct fx *f, const char *name, enum vu_status st);
struct obs_tenant *fx_otenant(struct fx *f, const char *unit, const char *code,
			      const char *rental_id);
/* The rental converged before with this overdue (and overlock) state. */
struct pms_rec *fx_last(struct fx *f, const char *rental_id, bool overdue);
/* Make the plan scoped to this rental of owner (serve's webhook). */
void fx_touch(struct fx *f, const char *rental_id, const char *owner);
/* The fixture's keyed hash of a code at the site. */
void fx_hash(struct fx *f, const char *code, unsigned char out[RC_HASH_LEN]);

/* Plan the site (asserts it planned). */
void fx_plan(struct fx *f);
/* The plan's operations as "create,write,...", for exact comparisons. */
const char *fx_ops(struct fx *f);
size_t fx_findings(struct fx *f, enum finding_kind k);

#endif
