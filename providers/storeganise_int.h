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

/* The custom-field codes the spec names: only these are kept. */
struct sg_wanted {
	struct rc_map codes;
};

/* New: the codes of every site of spec (free w->codes with rc_map_free). */
void sg_wanted_build(struct sg_wanted *w, const struct spec *spec);

struct sg_parse {
	struct pms_snapshot *snap;
	const struct sg_wanted *wanted;
	const char *where;         /* "GET /v1/admin/units?siteId=X offset 0" */
	size_t item;               /* index in the page */
	struct rc_err *err;
	void *ctx;                 /* the caller's, for parsers of its own */
};

typedef int (*sg_parse_fn)(struct sg_parse *p, json_t *o);

/* Which objects of a page to keep (NULL members: no filter). */
struct sg_keep {
	const struct rc_map *site_ids;   /* units/rentals: by siteId */
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
/* A snapshot file's optional "jobs" section (borrowed; NULL: none) into
 * out's rentals. */
int sg_parse_move_out_jobs(json_t *jobs, struct pms_snapshot *out, const char *path,
			   struct rc_err *err);
/* Every object of arr that keep keeps, through fn (arr borrowed). */
int sg_parse_array(struct sg_parse *p, json_t *arr, sg_parse_fn fn,
		   const struct sg_keep *keep);

#endif
