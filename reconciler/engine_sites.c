/*
 * engine_sites.c: the sites of a plan, several at once.
 *
 * A plan with --refresh reads each site's vendor: with 1,000 sites one
 * after another, a refresh is 1,000 round trips of the slowest vendor in
 * a row. With the fiber scheduler attached (the CLI attaches it around
 * plan, apply and report), up to ENGINE_SITES_AT_ONCE sites are read and
 * planned at once, each on a fiber whose calls go through curl multi on
 * the loop, bounded per vendor as apply's are. Sites share nothing they
 * write: each has its own provider session and site plan; the snapshot
 * and the spec are read only. A timer shows the progress every second,
 * so that the line off a terminal keeps coming while one site's list is
 * read.
 *
 * A streamed plan (engine_plan_stream) hands each site to its writer as
 * soon as it and every site before it are planned, then lets it go
 * (site_plan_release): sites finish out of order, so those done ahead
 * wait for the ones before them, and a site does not start more than
 * SITES_AHEAD past the first one not handed over (a slow site holds back
 * a bounded window, not the whole plan). Every few sites the state's map
 * pages read so far are let go (store_drop_pages): a plan in sync reads
 * the whole observed state once, and its pages would otherwise all stay
 * in the resident set (47 MB of 103 MB at 100k units).
 */
#define _GNU_SOURCE
#include "engine.h"

#include <ev.h>
#include <stdio.h>
#include <string.h>

#include "core/fiber.h"

#define SITES_AHEAD (2 * ENGINE_SITES_AT_ONCE)

/* Sites handed over in order (a streamed plan). */
struct handover {
	struct site_plan *sites;
	bool *done;
	size_t n, next;             /* the first site not handed over */
	struct fiber_waitq ahead;   /* sites waiting for the window */
	engine_site_fn fn;
	void *payload;
	struct store *store;
};

struct site_job {
	struct engine *e;
	const struct engine_opts *o;
	struct site_plan *sp;
	struct progress *prog;
	struct handover *h;         /* NULL: the plan is kept whole */
	size_t i;
};

/* Site i is planned: it and those after it that are done go to the
 * writer, in order, and are let go. */
static void hand_over(struct handover *h, size_t i)
{
	h->done[i] = true;
	while (h->next < h->n && h->done[h->next]) {
		h->fn(&h->sites[h->next], h->payload);
		site_plan_release(&h->sites[h->next]);
		h->next++;
		if (h->next % ENGINE_SITES_AT_ONCE == 0) /* the state read so far */
			store_drop_pages(h->store);
	}
	fiber_waitq_wake_all(&h->ahead);
}

/* Records a refresh read, for its progress: a site's vendor units and the
 * tenants on them. */
static unsigned long obs_records(const struct obs_site *o)
{
	unsigned long n = o->nunits;
	size_t i;

	for (i = 0; i < o->nunits; i++)
		n += o->units[i].ntenants;
	return n;
}

static void site_job(void *arg)
{
	struct site_job *j = arg;
	struct rc_err err;

	while (j->h && fiber_current() && j->i >= j->h->next + SITES_AHEAD)
		fiber_waitq_wait(&j->h->ahead);
	/* not before: an observed state's first arena chunk is 64 KiB, 320 MB
	 * for 5,000 sites held from the start */
	site_plan_init(j->sp, j->sp->site);
	rc_err_clear(&err);
	if (engine_plan_one(j->e, j->o, j->sp, &err)) {
		j->sp->failed = true;
		snprintf(j->sp->fail_msg, sizeof(j->sp->fail_msg), "%s", err.msg);
	}
	j->prog->count++;
	if (j->sp->refreshed)
		j->prog->records += obs_records(&j->sp->obs);
	progress_show(j->prog, j->e->log, false);
	if (j->h)
		hand_over(j->h, j->i);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct site_job *j = w->data;

	(void)loop;
	(void)revents;
	progress_show(j->prog, j->e->log, false);
}

static void concurrently(struct site_job *jobs, size_t n)
{
	ev_timer tick;

	ev_timer_init(&tick, tick_cb, 1., 1.);
	tick.data = &jobs[0];
	ev_timer_start(fiber_loop(), &tick);
	fiber_run_all(site_job, jobs, sizeof(*jobs), n, ENGINE_SITES_AT_ONCE);
	ev_timer_stop(fiber_loop(), &tick);
}

/* Plan sites[0..n); with h, each handed over as soon as it can be. */
static void plan_sites(struct engine *e, const struct engine_opts *o, struct site_plan *sites,
		       size_t n, struct progress *prog, struct handover *h)
{
	struct site_job *jobs = rc_calloc(n + 1, sizeof(*jobs));
	size_t i;

	for (i = 0; i < n; i++)
		jobs[i] = (struct site_job){ e, o, &sites[i], prog, h, i };
	if (n && fiber_loop() && !fiber_current()) /* one site too: its progress ticks */
		concurrently(jobs, n);
	else
		for (i = 0; i < n; i++)
			site_job(&jobs[i]);
	free(jobs);
}

void engine_plan_sites(struct engine *e, const struct engine_opts *o,
		       struct site_plan *sites, size_t n, struct progress *prog)
{
	plan_sites(e, o, sites, n, prog, NULL);
}

void engine_plan_sites_stream(struct engine *e, const struct engine_opts *o,
			      struct site_plan *sites, size_t n, struct progress *prog,
			      engine_site_fn fn, void *payload)
{
	struct handover h = { sites, rc_calloc(n + 1, sizeof(bool)), n, 0, { 0 }, fn, payload,
			      e->store };

	plan_sites(e, o, sites, n, prog, &h);
	free(h.done);
}
