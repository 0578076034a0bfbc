/*
 * storeganise_int.h: the Storeganise JSON parsers (storeganise_parse.c),
 * shared by the API client and the snapshot-file loader (storeganise.c).
 * Each parser turns one API object into a compact struct of the snapshot
 * (strings in its arena) and keeps only the custom fields the spec names.
 * Internal to providers/.
 */
#ifndef RC_STOREGANISE_INT_H
#define RC_STOREGANISE_INT_H

#include <jansson.h>

#include "storeganise.h"

struct http_client;

/* The custom-field codes the spec names: only these are kept. */
struct sg_wanted {
	struct rc_map codes;
};

/* New: the codes of every site of spec (free w->codes with rc_map_free). */
void sg_wanted_build(struct sg_wanted *w, const struct spec *spec);

struct sg_parse {
	struct pms_snapshot *snap;
	const struct sg_wanted *wanted;
	const char *where;         /* "GET /v1/admin/units?siteId=X offset 0" (borrowed
				    * from sg_list's or sg_get_one's frame while it
				    * runs, NULL after), or a snapshot file's path */
	size_t item;               /* index in the page (or the file's section) */
	const char *section;       /* a snapshot file's: "units"; NULL: a page */
	uint64_t byte;             /* a snapshot file's: the item's offset */
	struct rc_err *err;
	void *ctx;                 /* the caller's, for parsers of its own */
};

typedef int (*sg_parse_fn)(struct sg_parse *p, json_t *o);

/* Which objects of a page to keep (NULL members: no filter). */
struct sg_keep {
	const struct rc_map *site_ids;   /* units/rentals: by siteId */
	bool no_site_kept;               /* rentals: one with no siteId takes its unit's, later */
	const struct rc_map *user_ids;   /* users: by id */
	struct rc_map *seen;             /* skip ids already parsed; record new ones */
};

/* One object into p->snap (borrowed o); errors name p->where and the item. */
int sg_parse_site(struct sg_parse *p, json_t *o);
int sg_parse_unit(struct sg_parse *p, json_t *o);
int sg_parse_rental(struct sg_parse *p, json_t *o);
int sg_parse_user(struct sg_parse *p, json_t *o);
/* The move-out day a job schedules (borrowed from job): data.date, else
 * data.moveOutDate, while the job is "ready" or "running" (a cancelled or
 * completed job schedules nothing); NULL otherwise. */
const char *sg_job_move_out_date(json_t *job);
/* The move-out jobs a read meets: rentals [from, n) of snap naming one
 * take its date (over their own endDate / moveOutDate, the fallback). */
struct sg_move_outs {
	struct pms_snapshot *snap;
	size_t from;             /* the first rental of this read */
	struct rc_map jobs;      /* job id (the snapshot's) -> a rental naming it */
	const char **dates;      /* by that rental's index - from: the job's date */
};
/* The job ids of rentals [from, n) (m->jobs.n of them). */
void sg_move_outs_init(struct sg_move_outs *m, struct pms_snapshot *s, size_t from);
/* One job of a PMS answer (borrowed): its date, if one of m's and pending. */
void sg_move_outs_take(struct sg_move_outs *m, json_t *job);
/* With assign, the dates found become the rentals' end dates; frees m. */
void sg_move_outs_finish(struct sg_move_outs *m, bool assign);
/* Every object of arr that keep keeps, through fn (arr borrowed). */
int sg_parse_array(struct sg_parse *p, json_t *arr, sg_parse_fn fn,
		   const struct sg_keep *keep);
/* One item (borrowed o, p->item set): through fn if it is an object keep
 * keeps; not an object is an error naming the item. */
int sg_parse_item(struct sg_parse *p, json_t *o, sg_parse_fn fn, const struct sg_keep *keep);

/* ---- the API client (storeganise.c), shared with the scoped read
 * (storeganise_scope.c) ---- */
#define SG_MEMO_MAX 16       /* runs that found a new rental's site at once */

struct sg_client {
	struct http_client *http;
	char *base;          /* .../api, no trailing slash */
	char *auth_header;   /* "Authorization: ApiKey ..." (secret) */
	unsigned page_size;
	json_t *sites;       /* site id -> the last site object read (a webhook's
			      * run reads its site from here; every whole read
			      * renews it) */
	struct sg_memo {     /* a rental read to find its site, kept for the
			      * scoped read of the same run (sg_memo_end) */
		char *path;
		const void *fiber;   /* the run's fiber */
		json_t *o;
	} memo[SG_MEMO_MAX];
};

/* GET path (relative to /v1/admin/) and parse the JSON answer. *out new.
 * RC_ENOTFOUND on 404, RC_EAUTH on 401/403, RC_EVENDOR on other statuses. */
int sg_get(struct sg_client *c, const char *path, json_t **out, struct rc_err *err);
/* Page through a list until a short page; parse each page as it arrives. */
int sg_list(struct sg_client *c, const char *path_query, struct sg_parse *p, sg_parse_fn fn,
	    const struct sg_keep *keep);
/* GET collection/id?include=customFields through fn, if keep keeps it.
 * RC_ENOTFOUND (err set) on 404. */
int sg_get_one(struct sg_client *c, const char *collection, const char *id, struct sg_parse *p,
	       sg_parse_fn fn, const struct sg_keep *keep);
/* GET collection/id (new reference); RC_ENOTFOUND on 404. */
int sg_get_raw(struct sg_client *c, const char *collection, const char *id, json_t **out,
	       struct rc_err *err);
/* Rentals [from, n) of p->snap take the dates of their pending move-out
 * jobs. A job that cannot be read fails the read (R10). */
int sg_resolve_move_outs(struct sg_client *c, struct sg_parse *p, size_t from);
/* The customers of owners (keys): one GET each when they are few, else
 * the paged list; a customer that is gone is skipped. */
int sg_fetch_owners(struct sg_client *c, const struct rc_map *owners, struct sg_parse *p,
		    const struct sg_keep *keep);
/* Keep a site object (borrowed) for later webhook runs. */
void sg_site_cache_put(struct sg_client *c, json_t *site);

#endif
