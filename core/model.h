/*
 * model.h: the engine's data model, vendor- and transport-neutral.
 *
 *  - struct pms_snapshot: what the PMS says (sites, units, rentals, users),
 *    as compact structs whose strings live in one arena. Only the custom
 *    fields whose codes the spec names are kept.
 *  - struct obs_site: what a vendor says (or, for vendors that cannot be
 *    read back, what the engine last applied), per vendor unit.
 *
 * Nothing here knows about HTTP, LMDB or JSON.
 */
#ifndef RC_MODEL_H
#define RC_MODEL_H

#include "common.h"

/* ------------------------------------------------------------------ PMS */

enum pms_unit_state {
	PMS_UNIT_OTHER = 0,
	PMS_UNIT_AVAILABLE,
	PMS_UNIT_RESERVED,
	PMS_UNIT_OCCUPIED,
	PMS_UNIT_BLOCKED,
	PMS_UNIT_ARCHIVED
};

/* The PMS objects a custom field may live on. */
enum pms_obj {
	PMS_OBJ_NONE = 0,
	PMS_OBJ_SITE,
	PMS_OBJ_UNIT,
	PMS_OBJ_RENTAL,
	PMS_OBJ_USER
};

enum pms_rental_state {
	PMS_RENTAL_OTHER = 0,
	PMS_RENTAL_RESERVED,
	PMS_RENTAL_OCCUPIED,
	PMS_RENTAL_ENDED     /* "ended" or "completed" */
};

/* One custom field value, normalised to text: strings as they are,
 * numbers in decimal, booleans "true"/"false". JSON null is not stored.
 * An object or an array is no value of any field the engine reads: it is
 * kept as bad (val NULL), so that the rules report it and leave the unit
 * alone rather than take the field for empty (and, say, generate a code
 * over it). */
struct pms_cf {
	const char *code;  /* borrowed from the arena */
	const char *val;   /* NULL when bad */
	bool bad;
};

struct pms_cfs {
	struct pms_cf *v;
	unsigned n;
};

/* Returns the value (borrowed) or NULL when absent or null. */
const char *pms_cf_get(const struct pms_cfs *c, const char *code);
/* Truthy custom field: true, "true", "1", "yes", "on" (case-insensitive). */
bool pms_cf_true(const struct pms_cfs *c, const char *code);
/* The code of the first field of c holding a value of the wrong JSON type
 * (borrowed), or NULL. */
const char *pms_cf_bad(const struct pms_cfs *c);
bool pms_cf_is_bad(const struct pms_cfs *c, const char *code);

struct pms_site {
	const char *id;
	const char *code;
	const char *title;
	struct pms_cfs cf;
};

struct pms_unit {
	const char *id;
	const char *site_id;
	const char *name;
	enum pms_unit_state state;
	struct pms_cfs cf;
};

struct pms_rental {
	const char *id;
	const char *unit_id;
	const char *site_id;
	const char *owner_id;
	enum pms_rental_state state;
	const char *start_date;    /* "YYYY-MM-DD" or NULL */
	const char *end_date;      /* scheduled move-out date or NULL: the pending
				    * move-out job's, else the rental's own */
	const char *move_out_job_id; /* the PMS's move-out job of the rental, or NULL */
	bool overdue;
	struct pms_cfs cf;
};

struct pms_user {
	const char *id;
	const char *first_name;
	const char *last_name;
	const char *email;
	const char *phone;
	bool overdue;
	struct pms_cfs cf;
};

struct pms_snapshot {
	struct rc_arena arena;
	struct pms_site *sites;
	size_t nsites, capsites;
	struct pms_unit *units;
	size_t nunits, capunits;
	struct pms_rental *rentals;
	size_t nrentals, caprentals;
	struct pms_user *users;
	size_t nusers, capusers;
	/* indexes by id -> array index, built by pms_snapshot_index() */
	struct rc_map site_idx, unit_idx, rental_idx, user_idx;
};

void pms_snapshot_init(struct pms_snapshot *s);
void pms_snapshot_free(struct pms_snapshot *s);
/* Append slots; returned pointers are valid until the next append. */
struct pms_site *pms_add_site(struct pms_snapshot *s);
struct pms_unit *pms_add_unit(struct pms_snapshot *s);
struct pms_rental *pms_add_rental(struct pms_snapshot *s);
struct pms_user *pms_add_user(struct pms_snapshot *s);
/* (Re)build the id indexes. Fails on a duplicate id (names it). */
int pms_snapshot_index(struct pms_snapshot *s, struct rc_err *err);
/* Lookups (borrowed; NULL when absent). Require pms_snapshot_index(). */
const struct pms_site *pms_find_site(const struct pms_snapshot *s, const char *id);
const struct pms_unit *pms_find_unit(const struct pms_snapshot *s, const char *id);
const struct pms_rental *pms_find_rental(const struct pms_snapshot *s, const char *id);
const struct pms_user *pms_find_user(const struct pms_snapshot *s, const char *id);

/* -------------------------------------------------------------- vendor */

enum vu_status {
	VU_UNKNOWN = 0,
	VU_VACANT,
	VU_RENTED,
	VU_DELINQUENT
};
const char *vu_status_name(enum vu_status s); /* "Vacant", "Rented", ... */

#define RC_HASH_LEN 32

/* A tenant as the vendor holds it: an OpenTech tenant visitor, a PTI user,
 * an OpenApp invite. Strings borrowed from the owning obs_site arena. */
struct obs_tenant {
	const char *vendor_id;     /* visitor id / user id / invite id */
	const char *first_name;
	const char *last_name;
	const char *email;
	const char *phone;
	unsigned char code_hash[RC_HASH_LEN]; /* keyed hash, never the code */
	bool code_known;           /* false: vendor hides codes and we have no record */
	long access_profile;       /* -1 = not set / vendor default */
	long time_group;           /* -1 = not set / vendor default */
	bool enabled;
	const char *rental_id;     /* PMS rental we created it for; NULL = unknown */
	const char *extra;         /* vendor-specific JSON text (OpenApp: portals, window) */
};

struct obs_unit {
	const char *name;          /* vendor unit name: the mapping key (R2) */
	const char *vendor_id;     /* vendor's own unit id, as text */
	enum vu_status status;
	struct obs_tenant *tenants;
	size_t ntenants, captenants;
};

struct obs_site {
	struct rc_arena arena;
	const char *site;          /* spec site name */
	const char *facility_id;   /* resolved vendor facility id, if any */
	bool readable;             /* false: vendor has no read API (PT8) */
	struct obs_unit *units;
	size_t nunits, capunits;
	struct rc_map idx;         /* name -> index */
	struct rc_buf held_codes;  /* keyed hashes (RC_HASH_LEN bytes each) of codes
				    * the vendor holds for no tenant (OpenTech guests,
				    * staff, vendors): in use (R6); filled by a refresh
				    * and kept in the state's code index ('h'
				    * entries), which a scoped plan asks */
};

void obs_site_init(struct obs_site *o, const char *site);
void obs_site_free(struct obs_site *o);
struct obs_unit *obs_add_unit(struct obs_site *o, const char *name);
struct obs_tenant *obs_add_tenant(struct obs_site *o, struct obs_unit *u);
/* Rebuild the name index after adding units. */
void obs_site_index(struct obs_site *o);
const struct obs_unit *obs_find_unit(const struct obs_site *o, const char *name);
struct obs_unit *obs_find_unit_mut(struct obs_site *o, const char *name);

/* ------------------------------------------------- what the engine keeps */

/* The PMS state a rental had when the engine last converged it: edges of
 * R4 (overdue turned on or off), PT7 (pti_synced the engine wrote). */
struct pms_rec {
	char rental_id[64];
	bool overdue;          /* PMS overdue at last convergence */
	bool overlocked;       /* overlock flag at last convergence */
	char synced[40];       /* the sync stamp the engine last wrote (PT7) */
	unsigned char code_hash[RC_HASH_LEN]; /* last code pushed (hash) */
	bool has_code;
};

/* A set of records, found by rental id once indexed. */
struct pms_recs {
	struct pms_rec *v;
	size_t n, cap;
	struct rc_map idx;         /* rental id -> index (pms_recs_index) */
};
void pms_recs_init(struct pms_recs *r);
void pms_recs_free(struct pms_recs *r);
/* A zeroed record appended (valid until the next add); index again after. */
struct pms_rec *pms_recs_add(struct pms_recs *r);
void pms_recs_index(struct pms_recs *r);
/* Borrowed, NULL when absent (r may be NULL). */
const struct pms_rec *pms_recs_find(const struct pms_recs *r, const char *rental_id);

/* A keyed hash of a secret bound to a site (R6: codes are compared by
 * hash, never kept). The state holds the key; the rules only call this. */
struct rc_hasher {
	void (*fn)(void *payload, const char *site, const char *secret,
		   unsigned char out[RC_HASH_LEN]);
	void *payload;
};

#endif
