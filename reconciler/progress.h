/*
 * progress.h: how far a long run is, as one line: a count of a total, the
 * records read, a rate and the time left. apply counts operations; a
 * refresh (plan, apply and report read the PMS and the vendors first)
 * counts sites and the records read.
 *
 * The line goes to the logger's progress callback (core/log.h), which the
 * program shows as it likes: the CLI (cli_plan.c) as one updating line on
 * a terminal, a line every few seconds elsewhere, nothing with --quiet;
 * serve not at all. This module only counts and words it.
 */
#ifndef RC_PROGRESS_H
#define RC_PROGRESS_H

#include <stdbool.h>

#include "core/log.h"

struct progress {
	const char *doing, *did;   /* "applying", "applied" (static strings) */
	const char *noun;          /* what is counted: "operations" (static) */
	unsigned total, count;
	unsigned long records;     /* records read so far (0: none shown) */
	double started, shown;     /* monotonic seconds */
};

/* Start a run of total things (its clock starts now). */
void progress_start(struct progress *p, const char *doing, const char *did, const char *noun,
		    unsigned total);
/* Hand the line to log (borrowed; NULL: dropped): at most 5 times a
 * second and not once all is counted, but always when final (the last
 * line of the run, with the time taken). Nothing for a run of nothing. */
void progress_show(struct progress *p, const struct rc_log *log, bool final);

#endif
