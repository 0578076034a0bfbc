/*
 * desired.h: the vendor-neutral part of the desired state (docs/rules.md
 * R1-R6): which units are managed and how they map (R1, R2), who occupies
 * them (R3), whether they are delinquent and which overlock mirror to write
 * (R4), their status (R5), and code helpers (R6). The per-vendor diff
 * (diff_<vendor>.c) turns these into operations.
 *
 * Pure: plain inputs in, desired state out; no LMDB, no HTTP.
 */
#ifndef RC_DESIRED_H
#define RC_DESIRED_H

#include "core/model.h"
#include "plan.h"
#include "providers/vendor.h"

/* Units of each site and occupied rentals of each unit, built once per
 * snapshot so that planning a site costs O(units of that site). */
struct snap_groups {
	struct rc_map site_pos;   /* site id -> index in starts/counts */
	size_t *order;            /* unit indexes grouped by site */
	size_t *starts, *counts;
	struct rc_map occ;        /* unit id -> rental index (first occupied) */
	struct rc_map occ2;       /* unit id -> second occupied rental (R3) */
};

void snap_groups_build(struct snap_groups *g, const struct pms_snapshot *s);
void snap_groups_free(struct snap_groups *g);

/* One managed (or rented-but-unmanaged) unit of a site. */
struct dunit {
	const struct pms_unit *pu;
	const char *vname;                 /* mapping value (R2) */
	const struct pms_rental *rental;   /* occupied rental, or NULL */
	const struct pms_user *user;       /* its customer, or NULL */
	enum vu_status status;             /* desired (R5) */
	bool overdue;
	bool flag;                         /* overlock flag after the mirror */
	bool write_flag;                   /* R4: mirror write needed */
	bool error;                        /* no operation for this unit */
};

struct desired_site {
	struct dunit *units;               /* managed units, sorted by vname */
	size_t n;
	size_t pms_units;                  /* all units of the site in the PMS */
};

/* Build the managed units of sp's site (R1-R5) as its vendor v maps them
 * (mapping and overlock fields, VENDOR_MAP_* checks), adding findings to
 * sp and the PMS fingerprint input to fp (may be NULL). last holds the
 * PMS records of the site's rentals when it last converged (R4 edges; may
 * be NULL: no edges known). */
void desired_collect(struct site_plan *sp, const struct pms_snapshot *snap,
		     const struct snap_groups *g, const struct vendor *v,
		     const struct pms_recs *last, struct desired_site *out,
		     struct rc_buf *fp);
void desired_free(struct desired_site *d);

/* R6 ---------------------------------------------------------------- */
/* True when code is all digits and 1..maxlen long. */
bool code_valid(const char *code, size_t maxlen);
/* True for codes nobody should have: one repeated digit, or a run that
 * steps by +1 or -1 throughout (123456, 987654, 890123). */
bool code_trivial(const char *code);
/* Generate a code of `len` digits from the CSPRNG, not trivial, no leading
 * zero, and not in_use(hash) (checked through the callback). buf must hold
 * len+1 bytes. */
int code_generate(char *buf, size_t len,
		  bool (*in_use)(const char *code, void *payload),
		  void *payload, struct rc_err *err);

/* Parse an integer override field: -1 when absent, -2 when invalid. */
long parse_override(const char *v);

#endif
