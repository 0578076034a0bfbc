/*
 * diff.h: desired x observed -> ordered minimal operations (R7), one
 * function per vendor (diff_<vendor>.c, named by its descriptor), and the
 * helpers they share (diff.c).
 *
 * Pure: a diff reads the snapshot, the observed state in sp->obs and the
 * last PMS records, and writes operations, resource changes, findings and
 * the records to keep into sp. It does no I/O; codes are compared by the
 * keyed hash the context gives.
 */
#ifndef RC_DIFF_H
#define RC_DIFF_H

#include "desired.h"
#include "plan.h"

/* What a scoped plan (serve: some rentals' webhooks) may vacate or
 * revoke: the vendor units of its PMS units, its rentals (even ended
 * ones), and their customers. Keys borrowed. */
struct diff_scope {
	struct rc_map units, rentals, owners;
};

struct diff_ctx {
	struct site_plan *sp;
	const struct pms_snapshot *snap;
	const struct snap_groups *groups;
	const struct pms_recs *last;  /* the site's rentals when last converged */
	struct rc_hasher hash;        /* keyed hashes of codes (R6) */
	const char *regen_user;       /* `codes regenerate`: a new code for this user */
	size_t mark;                  /* first op of the unit being diffed */
	const struct diff_scope *scope; /* NULL: the whole site */
};

/* May the diff vacate or remove what belongs to this vendor unit, rental
 * or customer? Always, unless the plan is scoped. */
bool diff_unit_in_scope(const struct diff_ctx *c, const char *vendor_unit);
bool diff_rental_in_scope(const struct diff_ctx *c, const char *rental_id);
bool diff_owner_in_scope(const struct diff_ctx *c, const char *user_id);

/* Keyed hash of a code for this site. */
void diff_hash(struct diff_ctx *c, const char *code, unsigned char out[RC_HASH_LEN]);
/* Add an OP_PMS_WRITE of w[0..n) to collection/id, and its resource change;
 * cur (borrowed, may be NULL) holds the object's custom fields as read,
 * shown as the change's before (a code as "(sensitive)"). */
struct op *diff_pms_write(struct diff_ctx *c, const char *collection,
			  const char *id, const char *unit_name, const struct pms_cfs *cur,
			  const struct op_write *w, unsigned n, const char *rule);
/* Remember the rental's PMS state for edge detection once applied (R4);
 * the sync stamp the engine last wrote is carried over. */
void diff_remember(struct diff_ctx *c, const struct dunit *d,
		   const unsigned char *code_hash);

#endif
