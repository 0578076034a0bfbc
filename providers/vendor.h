/*
 * vendor.h: an access-control vendor is one descriptor, as a protocol is
 * one struct Curl_handler in curl: a `const struct vendor` in the vendor's
 * provider file holds everything the rest of reconcile needs to know of
 * it, and the engine, apply, report, serve, the spec loader and validate
 * iterate vendor_table (vendors.c) and never name a vendor.
 *
 * What a descriptor holds:
 *  - the spec loader's part (struct spec_vendor, first member): name,
 *    custom fields with their defaults, its settings loader, its secrets,
 *    its HTTP defaults where its API needs others (a longer timeout for
 *    lists that come whole) and its page size's default and maximum;
 *  - the transport: open a session for a site, refresh (vendor ->
 *    observed state), apply one operation, close (docs/architecture.md, decision 1);
 *  - the rules: its diff (desired x observed -> operations, in
 *    reconciler/diff_<vendor>.c) and how an applied operation changes what
 *    it holds (effect);
 *  - facts: which fields map units and carry the overlock flag (R1, R2,
 *    R4), where the code of record lives (R6), how far a one-rental run
 *    reaches (a PTI user spans the customer's units), rule ids and report
 *    wording, and what the demo says of its simulator's state.
 *
 * Adding a vendor: one provider file (descriptor, settings, transport),
 * one diff file, one row in vendors.c, one simulator module (contrib/sim).
 */
#ifndef RC_VENDOR_H
#define RC_VENDOR_H

#include "core/model.h"
#include "core/op.h"
#include "specs/spec.h"

struct provider;       /* one vendor session for one site (the vendor's own) */
struct diff_ctx;       /* reconciler/diff.h: the pure rules' context */
struct desired_site;   /* reconciler/desired.h: R1-R5 of one site */

/* Resolves a code_ref to the clear code at apply time (borrowed result). */
typedef const char *(*provider_code_fn)(const struct code_ref *ref, void *payload);

/* The diff of a vendor: its rules on top of R1-R10 (pure; diff.h). */
typedef int vendor_diff_fn(struct diff_ctx *c, const struct desired_site *d);

enum vendor_caps {
	VENDOR_CAN_READ = 1u << 0,       /* refresh reads the vendor's real state */
	VENDOR_RETURNS_CODES = 1u << 1   /* refresh sees codes (hashed on arrival) */
};

/* How the mapping field is checked (R2). */
enum vendor_map_flags {
	VENDOR_MAP_NAME_CHECK = 1u << 0, /* the field should equal the PMS unit name */
	VENDOR_MAP_UNIQUE = 1u << 1      /* two units may not map to one vendor unit */
};

/* What a run started by one rental's webhook must read and may change. */
enum vendor_scope {
	VENDOR_SCOPE_RENTAL = 0,         /* the rental's unit */
	VENDOR_SCOPE_CUSTOMER            /* every unit of its customer at the site
					  * (one vendor user spans them) */
};

/* What an observed record (struct obs_unit) of the vendor stands for. */
enum vendor_records {
	VENDOR_RECORDS_UNITS = 0,        /* a vendor unit, named by the mapping field
					  * (and, VENDOR_SCOPE_CUSTOMER, a record per
					  * customer that ops name with user_id) */
	VENDOR_RECORDS_RENTALS           /* one per rental, named by the rental id */
};

/* Report wording of a tenant field the vendor compares. */
struct vendor_label {
	unsigned bit;                    /* TF_* */
	const char *cls;                 /* report class: "access_profile_mismatch" */
	const char *rule;                /* "OT2" */
	const char *what;                /* "access profile" */
};

struct vendor {
	struct spec_vendor spec;         /* first: name, fields, settings */
	unsigned caps;                   /* VENDOR_CAN_READ, ... */

	/* ---- transport (no network before the first refresh or apply) ---- */
	/* A session for site: credentials read (pms_site's custom fields may
	 * hold some), an HTTP client. *out new (close). */
	int (*open)(struct provider **out, const struct spec_site *site,
		    const struct pms_site *pms_site, struct rc_err *err);
	/* The vendor's state of the site into out (obs_site_init'ed): codes
	 * are hashed through hash and never kept. Vendors without
	 * VENDOR_CAN_READ are never asked. */
	int (*refresh)(struct provider *p, struct obs_site *out,
		       const struct rc_hasher *hash, struct rc_err *err);
	/* Perform one vendor operation. res->in_doubt: the vendor may have
	 * acted although no success was seen. */
	int (*apply)(struct provider *p, const struct op *op, provider_code_fn code_fn,
		     void *code_payload, struct op_result *res, struct rc_err *err);
	/* A create left in doubt (its answer lost): ask the vendor whether it
	 * made it. RC_OK with res->vendor_id (and res->secret, a one-time link
	 * renewed) when it did: apply adopts it; RC_ENOTFOUND when it did not:
	 * apply may send it again, journaled as a new attempt; any other error:
	 * it stays in doubt for the next plan's refresh. NULL: always that. */
	int (*settle)(struct provider *p, const struct op *op, provider_code_fn code_fn,
		      void *code_payload, struct op_result *res, struct rc_err *err);
	void (*close)(struct provider *p);

	/* ---- rules ---- */
	vendor_diff_fn *diff;
	/* The change op made to what the vendor holds; NULL: op_effect_default. */
	void (*effect)(struct obs_site *o, const struct op *op, const struct op_effect *e);
	int map_field;                   /* spec.fields index of the unit mapping (R1, R2) */
	int overlock_field;              /* ... of the rental's overlock flag (R4), -1: none
					  * (delinquent means overdue) */
	unsigned map_flags;              /* VENDOR_MAP_* */
	enum pms_obj code_on;            /* where the code of record lives (R6):
					  * PMS_OBJ_RENTAL, PMS_OBJ_USER, PMS_OBJ_NONE */
	int code_field;                  /* its spec.fields index, -1: none */
	enum vendor_scope scope;
	char customer_prefix;            /* the observed record of a PMS customer is
					  * named by it and the user id (a PTI user:
					  * '@'); 0: the vendor keeps none */
	enum vendor_records records;     /* what its observed records stand for */

	/* ---- words ---- */
	const char *tenant_word;         /* "tenant visitor", "user", "invite" */
	const char *tenant_off_word;     /* a tenant that is not enabled: "suspended";
					  * NULL: "disabled" */
	const char *unreadable_rule;     /* cited when it cannot be read (PT8) */
	const char *code_rule;           /* the code of record's rule (OT4, PT2) */
	const char *regen_rule;          /* a new code on request (PT6); NULL: the
					  * vendor's codes are edited in the PMS */
	const struct vendor_label *labels;
	unsigned nlabels;

	/* ---- the simulator (contrib/sim) ---- */
	/* Lines saying what the vendor's part of the simulator state (its
	 * "/_sim/state" member, borrowed) holds, for the demo; may be NULL. */
	void (*sim_describe)(json_t *state, struct rc_buf *out);
};

/* Every vendor, NULL-terminated (vendors.c: one row each). */
extern const struct vendor *const vendor_table[];

/* The descriptor of a site's vendor (borrowed). */
const struct vendor *vendor_of(const struct spec_site *site);
/* The table as the spec loader takes it (borrowed, NULL-terminated). */
const struct spec_vendor *const *vendor_specs(void);
size_t vendor_count(void);
/* Position of v in vendor_table (metrics by vendor). */
size_t vendor_index(const struct vendor *v);
/* The vendor's custom-field code i at site (borrowed); NULL for i < 0. */
const char *vendor_field(const struct spec_site *site, int i);

#endif
