/*
 * diff.h: desired x observed -> ordered minimal operations (R7), one
 * function per vendor. Shared helpers for the vendor diffs live in diff.c.
 */
#ifndef RC_DIFF_H
#define RC_DIFF_H

#include "desired.h"
#include "plan.h"

#define DIFF_SENSITIVE "(sensitive)"

struct diff_ctx {
	struct site_plan *sp;
	struct store *store;     /* keyed hashes of codes (R6) */
	const struct pms_snapshot *snap;
	const struct snap_groups *groups;
	const char *regen_user;  /* PT6 by command: a new code for this user */
	size_t mark;             /* first op of the unit being diffed */
	/* a scoped plan: observed entries (vendor unit names, PTI "@user",
	 * OpenApp rental ids) that may be vacated; NULL = the whole site */
	const struct rc_map *scope;
};

/* May the diff vacate or remove this observed entry? */
bool diff_in_scope(const struct diff_ctx *c, const char *obs_name);

/* Keyed hash of a code for this site. */
void diff_hash(struct diff_ctx *c, const char *code, unsigned char out[RC_HASH_LEN]);
/* Add an OP_PMS_WRITE of w[0..n) to collection/id, and its resource change. */
struct op *diff_pms_write(struct diff_ctx *c, const char *collection,
			  const char *id, const char *unit_name,
			  const struct op_write *w, unsigned n, const char *rule);
/* Remember the rental's PMS state for edge detection once applied (R4). */
void diff_remember(struct diff_ctx *c, const struct dunit *d,
		   const unsigned char *code_hash);

int diff_opentech(struct diff_ctx *c, const struct desired_site *d);
int diff_openapp(struct diff_ctx *c, const struct desired_site *d);
/* t: read txn for the last PMS records (PT7), may be NULL. */
int diff_pti(struct diff_ctx *c, const struct desired_site *d, struct store_txn *t);

#endif
