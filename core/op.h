/*
 * op.h: operations, the vocabulary between the diff and the providers.
 *
 * An operation is a vendor-neutral verb with typed parameters. The diff
 * emits them in a valid order; providers translate each into HTTP calls.
 * Secrets (gate codes) are never stored in an op: an op names where its code
 * comes from (struct code_ref) and the apply step resolves it from the PMS
 * snapshot or from the codes generated during that apply.
 */
#ifndef RC_OP_H
#define RC_OP_H

#include "common.h"
#include "model.h"

enum op_kind {
	OP_NONE = 0,
	/* vendor: tenant lifecycle (OpenTech visitor, PTI user, OpenApp invite) */
	OP_TENANT_CREATE,     /* create the tenant on the unit (unit -> Rented) */
	OP_TENANT_UPDATE,     /* one call carrying every changed field */
	OP_TENANT_REMOVE,     /* remove a stray tenant (extra visitor) */
	OP_TENANT_ENABLE,     /* per-tenant lock-out lifted */
	OP_UNIT_VACATE,       /* move-out: unit -> Vacant, tenants deactivated */
	OP_UNIT_DISABLE,      /* delinquent: overlock on */
	OP_UNIT_ENABLE,       /* overlock off: back to Rented */
	OP_UNIT_RENT,         /* PTI: rent the unit to the customer's user */
	/* PMS write-back (R8) */
	OP_PMS_WRITE,
	OP__COUNT
};

/* Stable names used in plan JSON and the journal, e.g. "tenant.create". */
const char *op_kind_name(enum op_kind k);
enum op_kind op_kind_parse(const char *s);
/* True for operations R10 counts as destructive. */
bool op_is_destructive(enum op_kind k);

enum code_src {
	CODE_NONE = 0,
	CODE_PMS_RENTAL,      /* the rental's code field (ref_id = rental id) */
	CODE_PMS_USER,        /* the user's code field (ref_id = user id) */
	CODE_GENERATED,       /* generated at apply time, slot n */
	CODE_VENDOR_RESULT    /* returned by an earlier op of this apply, slot n
			       * (OpenApp's one-time invite URL, OA4) */
};

struct code_ref {
	enum code_src src;
	const char *ref_id;   /* rental or user id */
	const char *field;    /* custom-field code holding it */
	unsigned slot;        /* CODE_GENERATED */
};

/* Bits of struct op_tenant that an update changes. */
enum tenant_field {
	TF_FIRST_NAME = 1u << 0,
	TF_LAST_NAME = 1u << 1,
	TF_EMAIL = 1u << 2,
	TF_PHONE = 1u << 3,
	TF_CODE = 1u << 4,
	TF_ACCESS_PROFILE = 1u << 5,
	TF_TIME_GROUP = 1u << 6,
	TF_ALL = 0x7f,
	/* OpenApp invites */
	TF_PORTALS = 1u << 7,
	TF_WINDOW = 1u << 8,
	TF_ENABLED = 1u << 9,
	TF_INVITE_ALL = TF_PORTALS | TF_WINDOW | TF_ENABLED
};

struct op_tenant {
	const char *first_name;
	const char *last_name;
	const char *email;
	const char *phone;
	struct code_ref code;
	long access_profile;  /* -1: leave to the vendor's default */
	long time_group;
	/* OpenApp invite (OA1-OA3) */
	const char *portals;  /* comma-separated portal ids, sorted */
	const char *valid_from, *valid_to;   /* RFC 3339 UTC */
	long max_uses;        /* -1: unlimited */
	bool enabled;
};

enum wb_type {
	WB_NULL = 0,
	WB_STRING,
	WB_BOOL,
	WB_CODE,      /* a secret from `code` (generated code, invite URL) */
	WB_RESULT,    /* an id an earlier op returned (code.slot; not secret) */
	WB_NOW        /* the time of the write (PT7 pti_synced) */
};

/* One custom field written back to the PMS. */
struct op_write {
	const char *field;    /* custom-field code */
	enum wb_type type;
	const char *str;      /* WB_STRING (never a secret) */
	bool b;               /* WB_BOOL */
	struct code_ref code; /* WB_CODE: the secret comes from here */
};

#define OP_MAX_WRITES 6

struct op {
	enum op_kind kind;
	unsigned seq;             /* position in the site's plan, from 1 */
	const char *unit;         /* vendor unit name (R2 mapping) */
	const char *unit_vid;     /* vendor unit id */
	const char *tenant_vid;   /* vendor tenant id (update/remove/enable) */
	const char *rental_id;
	const char *user_id;
	const char *rule;         /* rule id, e.g. "OT3" */
	const char *reason;       /* one sentence, never a secret */
	struct op_tenant t;       /* create/update */
	unsigned changed;         /* TF_* bits (update) */
	int result_slot;          /* >= 0: keep this op's result there */
	struct code_ref id_ref;   /* vendor tenant id from an earlier op's
				   * result, when tenant_vid is not known yet */
	/* OP_PMS_WRITE */
	const char *collection;   /* "unit-rentals" | "users" | "units" */
	const char *object_id;
	struct op_write *w;       /* nw writes, in the plan's arena (a third of
				   * every op's size when it was an array) */
	unsigned nw;
};

/* What a provider reports back from one operation. */
struct op_result {
	char vendor_id[64];       /* id of what was created, if any */
	bool in_doubt;            /* the call may or may not have happened */
	double retry_after;       /* a refusal's Retry-After (seconds), else <= 0:
				   * the vendor is not called again before */
	char *secret;             /* new: a one-time secret the vendor returned
				   * (invite URL); the caller wipes and frees it */
	bool gone;                /* the vendor says the tenant op addresses does
				   * not exist (deleted by hand, data lost): apply
				   * calls the vendor's effect with a NULL effect,
				   * which forgets it (the next plan creates it) */
};

/* The facts of an operation that succeeded, for its effect on the observed
 * state (never a clear code). */
struct op_effect {
	const char *vendor_id;            /* what the vendor created ("" none) */
	const char *tenant_vid;           /* the tenant addressed: op->tenant_vid,
					   * or the id an earlier op returned */
	const unsigned char *code_hash;   /* keyed hash of the code sent, or NULL */
};

/* What the vendor holds once op succeeded, as a refresh would show it:
 * tenants created, updated, removed, units rented, vacated, (dis)abled.
 * A unit op names that o lacks is added for creates and rents (an
 * applied state is all that is known of a vendor that cannot be read).
 * Vendors with more to record wrap it (struct vendor's effect). */
void op_effect_default(struct obs_site *o, const struct op *op, const struct op_effect *e);

#endif
