/*
 * apply_int.h: what apply.c (a site's codes, effects, write-backs and its
 * one commit) and apply_run.c (running its operations: journal, chains,
 * fibers) share. Internal to apply.
 */
#ifndef RC_APPLY_INT_H
#define RC_APPLY_INT_H

#include "engine.h"
#include "providers/vendor.h"

struct apply_site {
	struct engine *e;
	struct site_plan *sp;
	const struct op *ops;           /* the ops to run (fresh or saved) */
	size_t nops;
	char **gen;                     /* generated codes by slot (secrets) */
	unsigned ngen;
	char **results;                 /* vendor one-time secrets by slot (an invite link) */
	unsigned nresults;
	struct rc_map in_use;           /* hex hashes of the site's codes */
	struct rc_map blocked;          /* units, rentals, customers a failure holds back */
	struct rc_map stamped;          /* rentals whose sync stamp was written */
	struct jbatch *jb;              /* the group-committed journal (fibers), or NULL */
	struct journal_entry *tail;     /* the last results, not yet durable: they
					 * commit with the site (commit_fn); new */
	size_t ntail;
	struct rc_err code_err;         /* why the code index could not be read, if it could not */
	struct rc_arena arena;
};

/* Show how far the apply is (at most 5 times a second; final: the end). */
void apply_progress(const struct engine *e, struct apply_result *res, bool final);
/* A code_ref's clear value at apply time (provider_code_fn): a PMS code,
 * a code generated now (R6), or a secret an earlier op returned. */
const char *apply_resolve_code(const struct code_ref *r, void *payload);
/* What op (succeeded, result res) changed in the observed state. */
void apply_effect(struct apply_site *a, const struct op *op, const struct op_result *res);
/* One PMS write-back (OP_PMS_WRITE). */
int apply_pms_write(struct apply_site *a, const struct op *op, struct rc_err *err);
/* Run the site's operations (a->ops): journal intent and result around each
 * call, dependent ones in order, independent ones at once when fibers are
 * attached; a failure holds back only what depends on it. The first
 * failure's code, err its message. */
int apply_run_ops(struct apply_site *a, struct provider *prov, const struct vendor *v,
		  const char *plan_id, struct apply_result *res, struct rc_err *err);

#endif
