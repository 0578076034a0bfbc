/*
 * plan.h: a plan, per site: the observed state it was computed from, the
 * ordered operations, the resource changes shown to people and machines,
 * the findings (mapping errors, double occupancy, ...) and the fingerprints
 * that make a saved plan refusable when stale.
 */
#ifndef RC_PLAN_H
#define RC_PLAN_H

#include <jansson.h>
#include <stdio.h>

#include "core/log.h"
#include "core/model.h"
#include "core/op.h"
#include "specs/spec.h"

/* What resource changes show for a secret: rendered "(sensitive value)". */
#define PLAN_SENSITIVE "(sensitive)"

enum rc_action {
	ACT_NOOP = 0,
	ACT_CREATE,
	ACT_UPDATE,
	ACT_DELETE,
	ACT_REPLACE      /* ["delete","create"] */
};

enum finding_kind {
	FIND_UNMANAGED_RENTED = 1, /* R1: rented unit with no mapping */
	FIND_NAME_MISMATCH,        /* R2: mapping != PMS unit name (synced) */
	FIND_NO_VENDOR_UNIT,       /* R2: mapping names no vendor unit */
	FIND_DUPLICATE_MAPPING,    /* R2: two PMS units map to one vendor unit */
	FIND_DOUBLE_OCCUPANCY,     /* R3 */
	FIND_BAD_VALUE,            /* a PMS field the engine cannot use */
	FIND_MISSING_OWNER,        /* rental whose customer is not in the PMS */
	FIND_IN_DOUBT,             /* journal entry whose outcome is unknown */
	FIND_NOT_READABLE          /* the vendor cannot be read: drift unseen */
};
const char *finding_kind_name(enum finding_kind k);

enum severity { SEV_INFO = 0, SEV_WARNING, SEV_ERROR };

struct finding {
	enum finding_kind kind;
	enum severity sev;
	const char *unit;          /* PMS unit name (or NULL) */
	const char *vendor_unit;   /* mapping value (or NULL) */
	const char *rule;          /* "R2" */
	const char *message;       /* never a secret */
};

/* One attribute of a resource change's before or after: a flat list, not
 * a jansson tree per change (100k units: three trees of ~1 KB per change
 * were most of the plan's memory, and dumping and freeing them most of
 * --json's cost). Keys and strings are borrowed: static, or held as long
 * as the plan's operations hold theirs (the plan's arena, the spec, the
 * snapshot). */
enum attr_kind { AV_NULL = 0, AV_STR, AV_INT, AV_BOOL, AV_JSON };

struct rattr {
	const char *key;
	union {
		const char *s;     /* AV_STR */
		long long i;       /* AV_INT, AV_BOOL (0 or 1) */
		json_t *j;         /* AV_JSON: owned (a vendor's raw value: rare) */
	} v;
	unsigned char kind;        /* enum attr_kind */
	bool sensitive;            /* after: a secret (the text shows none of it) */
};

/* An object of attributes in insertion order; set false: JSON null. */
struct rattrs {
	struct rattr *a;           /* in the site plan's arena */
	unsigned n, cap;
	bool set;
};

struct rchange {
	const char *address;       /* <vendor>_unit.<site>["<unit>"] */
	const char *type;          /* "<vendor>_unit", "storeganise_rental" */
	bool writeback;            /* a PMS object the engine writes back to (R8) */
	const char *name;          /* unit or rental */
	enum rc_action action;
	const char *rule;
	const char *reason;
	struct rattrs before;      /* not set on create */
	struct rattrs after;       /* not set on delete; secrets marked */
};

struct site_plan {
	const struct spec_site *site;      /* borrowed from the spec */
	const struct pms_site *pms_site;   /* borrowed from the snapshot */
	struct obs_site obs;               /* observed state used */
	bool have_obs;                     /* false: nothing to compare with (a
					    * vendor that cannot be read and was
					    * never applied from this state) */
	bool refreshed;
	struct rc_arena arena;             /* strings of ops, changes, findings */
	struct op *ops;
	size_t nops, capops;
	struct rchange *changes;
	size_t nchanges, capchanges;
	struct finding *findings;
	size_t nfindings, capfindings;
	unsigned add, change, destroy;     /* resource counts */
	unsigned nerrors, nwarnings;       /* findings of severity error, warning */
	unsigned managed;                  /* managed units (R1) */
	unsigned destructive;              /* units vacated/revoked (R10) */
	unsigned limit_destructive;        /* R10 limit for this site */
	unsigned ngen;                     /* generated code slots (R6) */
	unsigned nresults;                 /* vendor-result slots (one-time secrets) */
	bool failed;                       /* the site could not be planned */
	bool scoped;                       /* only some rentals' units (serve) */
	char fail_msg[RC_ERR_MSG_LEN];
	uint64_t generation;
	char pms_fp[2 * RC_HASH_LEN + 1];  /* HMAC of the PMS input */
	char obs_fp[2 * RC_HASH_LEN + 1];  /* HMAC of the observed input */
	/* PMS state to remember once the site converges (R4) */
	struct pms_rec *recs;
	size_t nrecs, caprecs;
	/* in-doubt journal entries this plan settles */
	uint64_t *resolved;
	size_t nresolved;
};

struct plan {
	char id[40];
	char created[40];
	struct site_plan *sites;
	size_t nsites;
	unsigned add, change, destroy;
	unsigned errors;                   /* findings of severity error */
	bool from_file;                    /* loaded from a saved plan */
};

void site_plan_init(struct site_plan *sp, const struct spec_site *site);
void site_plan_free(struct site_plan *sp);
/* Let go of what a site plan holds once it is written (a streamed plan,
 * engine_plan_stream): operations, changes, findings, records, the
 * observed state, the arena. What the summary and the sites' JSON need
 * stays: the counts (nops keeps the number of operations, ops is NULL),
 * the fingerprints, the baseline, the error. */
void site_plan_release(struct site_plan *sp);
void plan_free(struct plan *p);

/* Builders used by the diff. Strings passed in are copied to the arena. */
struct op *sp_add_op(struct site_plan *sp, enum op_kind kind);
struct rchange *sp_add_change(struct site_plan *sp, const char *type,
			      const char *name, enum rc_action action,
			      const char *rule, const char *reason);
void sp_add_finding(struct site_plan *sp, enum finding_kind kind,
		    enum severity sev, const char *unit, const char *vunit,
		    const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
const char *sp_str(struct site_plan *sp, const char *s);
const char *sp_printf(struct site_plan *sp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sp_add_rec(struct site_plan *sp, const struct pms_rec *r);

/* ---- attributes (plan_attrs.c) ----
 * Setting a key that is there replaces its value in place (its position
 * and its sensitive mark kept), as json_object_set does; a new key goes
 * last. Each call makes o set (an object, maybe empty). */
void ra_object(struct site_plan *sp, struct rattrs *o, unsigned cap_hint);
void ra_str(struct site_plan *sp, struct rattrs *o, const char *key, const char *s);
void ra_int(struct site_plan *sp, struct rattrs *o, const char *key, long long i);
void ra_bool(struct site_plan *sp, struct rattrs *o, const char *key, bool b);
void ra_null(struct site_plan *sp, struct rattrs *o, const char *key);
/* v stolen; a string, integer, boolean or null is kept as such. */
void ra_json(struct site_plan *sp, struct rattrs *o, const char *key, json_t *v);
/* Mark key (already set) a secret. */
void ra_mark_sensitive(struct rattrs *o, const char *key);
/* Every key of src set in dst (json_object_update), marks added; or only
 * the keys dst lacks (json_object_update_missing). */
void ra_update(struct site_plan *sp, struct rattrs *dst, const struct rattrs *src, bool missing_only);
const struct rattr *ra_get(const struct rattrs *o, const char *key);
/* The string value of key, or NULL (absent, or not a string). */
const char *ra_get_str(const struct rattrs *o, const char *key);
bool ra_sensitive(const struct rattrs *o, const char *key);
/* Same kind and value (json_equal). */
bool ra_equal(const struct rattr *a, const struct rattr *b);
/* The object as a jansson tree (new; null when not set). */
json_t *ra_to_json(const struct rattrs *o);
void ra_free(struct rattrs *o);

/* The JSON text of s (quoted, escaped as jansson's dump does with flags:
 * JSON_ENSURE_ASCII and JSON_ESCAPE_SLASH honoured) handed to put in
 * runs. s must be valid UTF-8 (what the plan holds: parsed by jansson). */
void plan_json_str(const char *s, size_t flags,
		   void (*put)(void *ctx, const char *p, size_t n), void *ctx);
/* The same, appended to out. */
void plan_json_str_buf(const char *s, size_t flags, struct rc_buf *out);
/* One value as json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) writes it. */
void ra_value_text(const struct rattr *a, struct rc_buf *out);

/* Recompute the totals of p from its sites' counts (released sites too). */
void plan_totals(struct plan *p);
bool plan_has_changes(const struct plan *p);

/* ---- rendering (plan_render.c) ---- */
struct render_opts {
	bool color;
	bool show_noop_sites;
};
/* The sites that could not be planned: their count, their names appended
 * to names (may be NULL) as "a, b". */
size_t plan_failed_sites(const struct plan *p, struct rc_buf *names);
/* What the site's vendor side was compared with: "vendor" (read now),
 * "cache" (--refresh=false), "applied" (what reconcile last applied, for a
 * vendor that cannot be read), "none" (nothing: never applied from this
 * state directory); NULL for a site that could not be planned. */
const char *plan_site_baseline(const struct site_plan *sp);
/* Each site that could not be planned, as an error line of log. */
void plan_log_failures(const struct plan *p, const struct rc_log *log);
/* Human output in Terraform's manner. Sites that could not be planned are
 * named by the closing line; their errors are the caller's to print (on
 * stderr: plan_log_failures). */
void plan_render_text(const struct plan *p, const struct render_opts *o,
		      struct rc_buf *out);
/* The same text written to f as it is produced (one resource change at a
 * time, never the whole plan in memory). 0, or -1 when a write failed. */
int plan_write_text(const struct plan *p, const struct render_opts *o, FILE *f);
/* Machine output (format_version "1.0") as one tree: new reference. For
 * tests and small plans; output goes through plan_write_json. */
json_t *plan_to_json(const struct plan *p);
/* One resource change in Terraform's JSON output format (new). */
json_t *plan_tf_change(const struct site_plan *sp, const struct rchange *c);
/* Write to f the bytes json_dumpf(plan_to_json(p), f, flags) would write
 * (no trailing newline), one resource change, operation, finding or site
 * at a time: no tree of the whole plan is built. 0, or -1 when a write
 * failed. */
int plan_write_json(const struct plan *p, FILE *f, size_t flags);

/* A plan written site by site as it is planned (engine_plan_stream), each
 * site let go once written (site_plan_release): the same bytes as
 * plan_write_text and plan_write_json of the whole plan, which use them.
 * Sites are handed in order. What must follow every site (the findings
 * after all the changes; the sites, operations and findings after all the
 * resource changes) waits in a temporary file in $TMPDIR (unlinked; in
 * memory when none can be made) until the end. p (borrowed, outlives the
 * writer) gives the id and time stamp when the first site comes, and at
 * the end the totals (plan_totals) and the sites that failed. _close
 * writes the rest when finished (false: the plan failed, nothing more is
 * written) and frees the writer: 0, or -1 when a write failed. */
struct plan_text;
struct plan_text *plan_text_open(const struct plan *p, const struct render_opts *o, FILE *f);
int plan_text_site(struct plan_text *t, const struct site_plan *sp);
int plan_text_close(struct plan_text *t, bool finished);
struct plan_json;
struct plan_json *plan_json_open(const struct plan *p, FILE *f, size_t flags);
int plan_json_site(struct plan_json *j, const struct site_plan *sp);
int plan_json_close(struct plan_json *j, bool finished);
/* Rebuild a plan from plan_to_json output (a saved plan). Ops only; the
 * caller re-plans to compare fingerprints. */
int plan_from_json(json_t *j, const struct spec *spec, struct plan *out,
		   struct rc_err *err);

/* reconcile_format_version: 2.0 since the plan follows Terraform's JSON
 * output format (its own members renamed reconcile_*). */
#define PLAN_FORMAT_VERSION "2.0"
/* format_version: the Terraform JSON plan format the members follow. */
#define PLAN_TF_FORMAT_VERSION "1.2"

#endif
