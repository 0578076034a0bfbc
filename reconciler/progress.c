/* progress.c: see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <string.h>

#include "core/common.h"

void progress_start(struct progress *p, const char *doing, const char *did, const char *noun,
		    unsigned total)
{
	memset(p, 0, sizeof(*p));
	p->doing = doing;
	p->did = did;
	p->noun = noun;
	p->total = total;
	p->started = rc_now_mono();
}

/* ", 12/s", ", 0.4/s", ", 840 records/s": of records when some were read,
 * else of the counted things; "" while there is none to tell. */
static void rate_text(const struct progress *p, double el, char *buf, size_t n)
{
	double rate = el > 0.05 ? (p->records ? p->records : p->count) / el : 0;

	buf[0] = '\0';
	if (rate > 0)
		snprintf(buf, n, rate < 10 ? ", %.1f%s/s" : ", %.0f%s/s", rate,
			 p->records ? " records" : "");
}

/* ", about 2 min 5 s left", ", less than a minute left", or "" (unknown
 * before the first thing is done), from the pace of the counted things. */
static void left_text(const struct progress *p, double el, char *buf, size_t n)
{
	long left;

	buf[0] = '\0';
	if (!p->count || p->count >= p->total || el <= 0)
		return;
	left = (long)((p->total - p->count) * (el / p->count) + 0.5);
	if (left >= 60)
		snprintf(buf, n, ", about %ld min %ld s left", left / 60, left % 60);
	else
		snprintf(buf, n, ", less than a minute left");
}

void progress_show(struct progress *p, const struct rc_log *log, bool final)
{
	double now = rc_now_mono(), el = now - p->started;
	char rate[48], left[64], records[48] = "";

	if (!p->total || (!final && (now - p->shown < 0.2 || p->count >= p->total)))
		return; /* all done: the final line says it */
	p->shown = now;
	rate_text(p, el, rate, sizeof(rate));
	if (p->records)
		snprintf(records, sizeof(records), ", %lu records read", p->records);
	if (final) { /* a rate of a run too short to time would say nothing */
		rc_log_progress(log, true, "%s: %u of %u %s%s in %.1f s%s%s%s", p->did, p->count,
				p->total, p->noun, records, el, rate[0] ? " (" : "",
				rate[0] ? rate + 2 : "", rate[0] ? ")" : "");
		return;
	}
	left_text(p, el, left, sizeof(left));
	rc_log_progress(log, false, "%s: %u of %u %s%s%s%s", p->doing, p->count, p->total,
			p->noun, records, rate, left);
}
