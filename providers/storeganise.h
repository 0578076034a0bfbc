/*
 * storeganise.h: the PMS provider (Storeganise admin API).
 *
 * Reads sites, units, occupied unit rentals and their owners into a
 * struct pms_snapshot, either over the API (Authorization: ApiKey, pages of
 * `limit`/`offset` until a short page, include=customFields) or from a
 * snapshot file {sites, units, unitRentals, users} in the API's own shapes.
 * Each page is parsed, turned into compact structs and released before the
 * next one is fetched (only the site objects stay, for webhook runs); a
 * file is streamed an element at a time (core/jscan.h), never held whole.
 * Only custom fields whose codes the spec names are kept. An answer that
 * cannot be read whole fails the call (R10).
 *
 * A rental's scheduled move-out is its pending move-out job's date
 * (moveOutJobId), else the rental's own endDate / moveOutDate: whole and
 * scoped reads read the jobs their rentals name (a few one by one, many
 * through the paged list of pending move-out jobs); snapshot files may
 * hold them in an optional "jobs" section.
 *
 * Writes custom fields back with PUT of only the changed keys.
 */
#ifndef RC_STOREGANISE_H
#define RC_STOREGANISE_H

#include "core/model.h"
#include "specs/spec.h"

struct sg_client;

int sg_client_new(struct sg_client **out, const struct spec *spec,
		  struct rc_err *err);
void sg_client_free(struct sg_client *c);

/* Fetch the snapshot of the given spec sites (all spec sites when n == 0)
 * into out (pms_snapshot_init'ed by the caller; indexed on return). */
int sg_fetch_snapshot(struct sg_client *c, const struct spec *spec,
		      const struct spec_site *const *sites, size_t n,
		      struct pms_snapshot *out, struct rc_err *err);

/* Fetch one rental and what hangs off it (unit, owner) for event-driven
 * work (finding its site: its move-out job is not read); appends to out
 * and re-indexes. RC_ENOTFOUND when it is gone. */
int sg_fetch_rental(struct sg_client *c, const struct spec *spec,
		    const char *rental_id, struct pms_snapshot *out,
		    struct rc_err *err);
/* On a fiber, sg_fetch_rental keeps its answer for the scoped read of the
 * same run (the same GET, moments later: one PMS round trip fewer before
 * a new rental's vendor call); this drops what the calling fiber's run
 * kept and did not use. A run reads a rental it was asked about after
 * its key was taken, so the kept answer is as fresh as a read of its own:
 * an event that arrives meanwhile makes the key run again. */
void sg_memo_end(struct sg_client *c);

/* What a scoped read was asked about: the site's rentals among those
 * asked, and their owners, even when a rental has ended (its customer
 * may be leaving). Keys live in the snapshot's arena. */
struct sg_touched {
	struct rc_map rentals, owners;
};

/* The part of a site that some rentals touch, for event-driven work: the
 * site; each rental's unit with that unit's occupied rentals; with
 * owners_rentals (a vendor user per customer holds all its units) every
 * occupied rental of those owners at the site and its unit; and the
 * owners. Rentals of another site are ignored. Appends to out and indexes
 * it; fills touched (may be NULL). RC_ENOTFOUND when a rental is gone or
 * none is of the site: the caller then reads the whole site. */
int sg_fetch_scope(struct sg_client *c, const struct spec *spec, const struct spec_site *site,
		   const char *const *rental_ids, size_t n, bool owners_rentals,
		   struct pms_snapshot *out, struct sg_touched *touched, struct rc_err *err);
/* What a webhook's object points at (new strings; sg_refs_free). */
#define SG_REFS_MAX 16
struct sg_refs {
	char *rentals[SG_REFS_MAX];
	size_t nrentals;
	bool truncated;          /* more rentals than SG_REFS_MAX */
	char *unit_id, *site_id;
};
void sg_refs_free(struct sg_refs *r);
/* A job's rentals (result.unitRentalId, data.unitRentalId / oldRentalId /
 * newRentalId), its unit (result, then the start step, then data: KR) and
 * site. RC_ENOTFOUND when the job is gone. */
int sg_resolve_job(struct sg_client *c, const char *job_id, struct sg_refs *out,
		   struct rc_err *err);
/* A unit's site. */
int sg_resolve_unit(struct sg_client *c, const char *unit_id, struct sg_refs *out,
		    struct rc_err *err);
/* A customer's occupied rentals. */
int sg_resolve_user(struct sg_client *c, const char *user_id, struct sg_refs *out,
		    struct rc_err *err);
/* Load a snapshot file, keeping the spec's sites only (and the users
 * their rentals name). RC_EIO when it cannot be read, RC_EPARSE when it is
 * malformed: err names the file, the byte offset and the JSON path. */
int sg_load_snapshot_file(const char *path, const struct spec *spec,
			  struct pms_snapshot *out, struct rc_err *err);

/* A custom-field value to write. */
enum sg_val_type { SG_VAL_NULL, SG_VAL_STRING, SG_VAL_BOOL };
struct sg_field_write {
	const char *code;
	enum sg_val_type type;
	const char *str;     /* SG_VAL_STRING (may be a secret: never logged) */
	bool b;              /* SG_VAL_BOOL */
};

/* PUT {"customFields":{...}} to /v1/admin/<collection>/<id>, where
 * collection is "unit-rentals", "users" or "units". */
int sg_put_custom_fields(struct sg_client *c, const char *collection,
			 const char *id, const struct sg_field_write *w,
			 unsigned n, struct rc_err *err);

#endif
