/*
 * bench_cluster.c: `reconcile serve` in cluster mode (issue 16, item 5) on
 * loopback: a real 3-node NATS JetStream cluster (tests/e2e/nats_cluster.h),
 * the simulator, and 1, 2, then 3 instances sharing the sites, under signed
 * move-in webhooks sent round robin to every instance (lib/load.h); beside
 * them, in the same run, the floor: the same load against one instance
 * without a cluster section. Then kill -9 of one instance and its
 * takeover. See --help.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "gen.h"
#include "load.h"
#include "movein.h"
#include "nats_cluster.h"
#include "state/cluster_lease.h"

static const char usage[] =
"Usage: bench_cluster [options]\n"
"\n"
"Converges a generated facility of OpenTech sites with reconcile apply,\n"
"starts a 3-node NATS JetStream cluster on 127.0.0.1 (nats-server), then\n"
"runs reconcile serve as:\n"
"\n"
"  single   one instance without a cluster section (the floor)\n"
"  cluster  1, 2, ... --instances instances sharing the sites' shards\n"
"           (fresh lease bucket and event stream each, R3)\n"
"\n"
"each with fresh state dirs, started and settled (its start-up runs done),\n"
"under two phases of signed move-in webhooks (job.unit_moveIn.completed of a\n"
"rental added to the PMS just before), sent round robin to every instance:\n"
"\n"
"  paced   --rate move-ins per s for --seconds\n"
"  burst   --burst move-ins as fast as answered (--inflight per instance)\n"
"\n"
"Reports per phase and instance count: webhooks answered 200 per s, answer\n"
"p50/p99, move-ins processed per s end to end (from the first webhook sent\n"
"to the last vendor create answered), webhook -> first vendor call (the\n"
"create's arrival at the simulator) p50/p99, creates made (each move-in\n"
"once), and the ratios to the floor. Then, with the most instances: kill -9\n"
"of the one whose shards hold the most sites, move-ins of those sites sent\n"
"to the others at --takeover-rate meanwhile, and the time from the kill to\n"
"the first lease take of one of its shards, to all of them taken, and to\n"
"the first vendor call for one of its sites.\n"
"\n"
"Options:\n"
"  --sites N            OpenTech sites (default 16)\n"
"  --units-per-site N   units per site, half rented (default 1000); the odd\n"
"                       ones are the move-ins' (each used once)\n"
"  --instances N        the most instances (default 3, at most 8)\n"
"  --rate N             move-ins per s of the paced phase (default 100)\n"
"  --seconds N          its length (default 10)\n"
"  --burst N            move-ins of the burst phase (default 500; 0: none)\n"
"  --inflight N         unanswered webhooks at most per instance (default 64:\n"
"                       serve holds 64 connections per client address)\n"
"  --shards N           cluster.shards (default 64)\n"
"  --ttl N              cluster.lease_ttl_s (default 15, serve's)\n"
"  --takeover-rate N    move-ins per s to the dead one's sites during the\n"
"                       takeover (default 10; 0: no takeover phase)\n"
"  --timeout N          seconds to wait for a phase's move-ins (default 120)\n"
"  -h, --help           this text\n"
"\n"
"Environment: RECONCILE_BIN, RECONCILE_SIM_BIN (default: next to this\n"
"program), NATS_SERVER_BIN (default: nats-server on PATH or in /usr/sbin),\n"
"TMPDIR, E2E_KEEP=1 keeps the temp dir (specs, serve logs, nats-server\n"
"logs). Never run by ctest (bench/smoke runs it tiny).\n";

#define SECRET "e2e-webhook-secret" /* E2E_SG_WEBHOOK_SECRET (gen_set_credentials) */
#define MAX_INST 8
#define MAX_CFG (MAX_INST + 1)
enum { PH_PACED, PH_BURST, NPH };

struct opts {
	unsigned sites, units, instances, rate, seconds, burst, inflight, shards, ttl, tk_rate, timeout;
};

/* What one phase measured. */
struct phase_res {
	bool ran;
	unsigned events, answered, moveins, matched, creates;
	unsigned st503, st0;     /* answered 503 (not in JetStream: the sender retries), not answered */
	unsigned early;          /* created before its webhook was sent (a whole-site run) */
	double ingest, ans_p50, ans_p99, eps, fv_p50, fv_p99;
};

/* One configuration: single-process, or a cluster of n instances. */
struct cfg {
	bool cluster;
	int n;
	struct phase_res ph[NPH];
};

/* The takeover after kill -9. */
struct takeover {
	bool ran;
	int victim, dead_shards, dead_sites;
	double first_take, all_taken, first_call; /* seconds after the kill; < 0: not seen */
	struct phase_res load;                    /* the move-ins sent meanwhile */
};

/* The whole run. */
struct world {
	struct opts o;
	char dir[256], seed[PATH_MAX], spec[PATH_MAX], state[PATH_MAX];
	struct e2e t;                  /* the simulator */
	struct nats_cluster nc;
	unsigned *next;                /* per site: move-ins taken so far */
	double fsync_p50, fsync_p99;
	struct cfg cfg[MAX_CFG];
	int ncfg;
	struct takeover tk;
	double t0;                     /* bench_now() at the start */
};

static void parse(int argc, char **argv, struct opts *o)
{
	enum { O_SITES = 256, O_UNITS, O_INST, O_RATE, O_SEC, O_BURST, O_INFL, O_SHARDS, O_TTL, O_TKR,
	       O_TIMEOUT };
	static const struct option lo[] = {
		{ "sites", required_argument, 0, O_SITES }, { "units-per-site", required_argument, 0, O_UNITS },
		{ "instances", required_argument, 0, O_INST }, { "rate", required_argument, 0, O_RATE },
		{ "seconds", required_argument, 0, O_SEC }, { "burst", required_argument, 0, O_BURST },
		{ "inflight", required_argument, 0, O_INFL }, { "shards", required_argument, 0, O_SHARDS },
		{ "ttl", required_argument, 0, O_TTL }, { "takeover-rate", required_argument, 0, O_TKR },
		{ "timeout", required_argument, 0, O_TIMEOUT }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	int c;

	for (;;) {
		c = getopt_long(argc, argv, "h", lo, NULL);
		if (c == -1)
			break;
		switch (c) {
		case O_SITES: o->sites = (unsigned)bench_uarg("--sites", optarg, 1); break;
		case O_UNITS: o->units = (unsigned)bench_uarg("--units-per-site", optarg, 4); break;
		case O_INST: o->instances = (unsigned)bench_uarg("--instances", optarg, 1); break;
		case O_RATE: o->rate = (unsigned)bench_uarg("--rate", optarg, 1); break;
		case O_SEC: o->seconds = (unsigned)bench_uarg("--seconds", optarg, 1); break;
		case O_BURST: o->burst = (unsigned)bench_uarg("--burst", optarg, 0); break;
		case O_INFL: o->inflight = (unsigned)bench_uarg("--inflight", optarg, 1); break;
		case O_SHARDS: o->shards = (unsigned)bench_uarg("--shards", optarg, 1); break;
		case O_TTL: o->ttl = (unsigned)bench_uarg("--ttl", optarg, 2); break;
		case O_TKR: o->tk_rate = (unsigned)bench_uarg("--takeover-rate", optarg, 0); break;
		case O_TIMEOUT: o->timeout = (unsigned)bench_uarg("--timeout", optarg, 1); break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); exit(2);
		}
	}
	if (optind < argc)
		bench_die("unexpected argument %s; see --help", argv[optind]);
	if (o->instances > MAX_INST || o->units >= 1000000 || o->shards > 4096 || o->ttl > 600)
		bench_die("--instances is at most %d, --units-per-site below 10^6, --shards at most "
			  "4096, --ttl at most 600", MAX_INST);
}

/* ----------------------------------------------------------- set-up */

/* The facility generated and converged by one apply, the simulator
 * running, the disk's fdatasync measured, the NATS cluster started. */
static void prepare(struct world *w)
{
	struct gen g = { w->o.sites, w->o.units, { 100, 0, 0 }, true };
	struct gen_spec gs = { NULL, w->state, 0, "1h" }; /* only the start-up runs */
	const char *args[] = { "apply", "-c", w->spec, "--auto-approve", NULL };
	char out[PATH_MAX + 16];
	struct bench_proc p;
	struct rc_err err;

	e2e_mkdtemp(w->dir, sizeof(w->dir));
	snprintf(w->seed, sizeof(w->seed), "%s/seed.json", w->dir);
	snprintf(w->spec, sizeof(w->spec), "%s/spec.json", w->dir);
	snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
	if (gen_write_seed(&g, w->seed, &err))
		bench_die("%s", err.msg);
	bench_sim_start(&w->t, w->dir, w->seed);
	gs.sim = w->t.base;
	if (gen_write_spec(&g, &gs, w->spec, &err))
		bench_die("%s", err.msg);
	snprintf(out, sizeof(out), "%s/converge.err", w->dir);
	bench_reconcile(args, w->dir, NULL, out, &p);
	if (p.status != 0)
		bench_die("the converging apply exited %d (see %s)", p.status, out);
	bench_fsync_cost(w->state, 200, &w->fsync_p50, &w->fsync_p99);
	w->next = rc_calloc(w->o.sites, sizeof(unsigned));
	if (!nats_find(w->nc.bin, sizeof(w->nc.bin)))
		bench_die("nats-server is not installed (apt-get install nats-server)");
	if (!nats_cluster_start(&w->nc, w->dir))
		bench_die("the NATS cluster did not start");
}

/* A vacant unit of site k for a move-in (odd units, each once). */
static unsigned take_vacant(struct world *w, unsigned k)
{
	unsigned i = 2 * w->next[k] + 1;

	if (i >= w->o.units)
		bench_die("site %u has no vacant unit left: raise --units-per-site", k);
	w->next[k]++;
	return i;
}

/* n move-in webhooks (new), over the sites of sites[0..ns) in turn, each
 * added to the PMS; *mi their (site, unit) pairs (new). tag names them. */
static struct load_ev *make_moveins(struct world *w, const char *tag, unsigned n,
				    const unsigned *sites, unsigned ns, unsigned (**mi)[2])
{
	struct load_ev *ev = rc_calloc(n + 1, sizeof(*ev));
	unsigned j, k, i;

	*mi = rc_calloc(n + 1, sizeof(**mi));
	for (j = 0; j < n; j++) {
		k = sites[j % ns];
		i = take_vacant(w, k);
		movein_add(&w->t, k, i);
		snprintf(ev[j].id, sizeof(ev[j].id), "%s-%u", tag, j);
		movein_rental(k, i, ev[j].rental, sizeof(ev[j].rental));
		ev[j].movein = true;
		(*mi)[j][0] = k;
		(*mi)[j][1] = i;
	}
	return ev;
}

/* -------------------------------------------------------- instances */

static double metric_sum(const struct nats_serve *in, int n, const char *name)
{
	double v, sum = 0;
	int i;

	for (i = 0; i < n; i++) {
		v = in[i].pid ? e2e_serve_metric(in[i].port, name) : -1;
		sum += v > 0 ? v : 0;
	}
	return sum;
}

/* The shards whose consumer is bound, over the instances. */
static int all_bound(const struct nats_serve *in, int n)
{
	int i, k, sum = 0;

	for (i = 0; i < n; i++) {
		k = nats_serve_bound(&in[i]);
		sum += k > 0 ? k : 0;
	}
	return sum;
}

/* Every instance idle twice in a row a second apart: a shard's takeover
 * run may be queued just after a settle saw an empty queue. */
static bool settle_all(const struct nats_serve *in, int n)
{
	int round, i;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < n; i++)
			if (in[i].pid && !e2e_serve_settle(in[i].port))
				return false;
		sleep(1);
	}
	return true;
}

/* Start configuration c's instances in cdir (a cluster on bucket and
 * stream of their own), wait for the fair shares and the start-up runs. */
static void start_cfg(struct world *w, const struct cfg *c, int idx, struct nats_serve *in,
		      const char *cdir)
{
	char bucket[32], stream[32];
	struct nats_serve_conf conf = { bucket, stream, (int)w->o.shards, (int)w->o.ttl, NULL };
	unsigned share = (w->o.shards + (unsigned)c->n - 1) / (unsigned)c->n;
	double end;
	int i;

	snprintf(bucket, sizeof(bucket), "leases%d", idx);
	snprintf(stream, sizeof(stream), "events%d", idx);
	if (c->cluster && !nats_cluster_make_bucket(&w->nc, bucket, (int)w->o.ttl))
		bench_die("the JetStream cluster is not ready");
	for (i = 0; i < c->n; i++)
		if (!nats_serve_start(&in[i], c->cluster ? &w->nc : NULL, &conf, w->spec, cdir, i))
			bench_die("serve did not start");
	if (c->cluster && !nats_serve_wait_share(in, c->n, (1u << c->n) - 1, (int)w->o.shards,
						 (int)(w->o.shards / (unsigned)c->n), (int)share,
						 3.0 * w->o.ttl + 20))
		bench_die("%d instances did not share the %u shards", c->n, w->o.shards);
	for (end = bench_now() + 600; bench_now() < end; usleep(200000))
		if (metric_sum(in, c->n, "reconcile_duration_seconds_count ") >= w->o.sites &&
		    (!c->cluster || all_bound(in, c->n) >= (int)w->o.shards))
			break;
	if (bench_now() >= end || !settle_all(in, c->n))
		bench_die("serve did not finish its start-up runs (see %s)", cdir);
	if (c->cluster)
		fprintf(stderr, "  %.0f s: every shard's consumer bound\n", bench_now() - w->t0);
}

static void stop_cfg(struct nats_serve *in, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (in[i].pid && e2e_serve_stop(&in[i].pid) != 0)
			fprintf(stderr, "  instance %d did not exit 0 on SIGTERM (see %s)\n", i, in[i].err);
}

/* ------------------------------------------------------------ phases */

/* Answers: ingest and answer p50/p99 of ev[0..n) into r. */
static void answers(const struct load_ev *ev, unsigned n, struct phase_res *r)
{
	double *ms = rc_calloc(n + 1, sizeof(double)), first = 0, last = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		r->st503 += ev[i].status == 503;
		r->st0 += ev[i].status == 0;
		if (ev[i].status != 200)
			continue;
		ms[r->answered++] = (ev[i].done - ev[i].sent) * 1000;
		first = !first || ev[i].sent < first ? ev[i].sent : first;
		last = ev[i].done > last ? ev[i].done : last;
	}
	r->ingest = last > first ? r->answered / (last - first) : 0;
	r->ans_p50 = bench_pct(ms, r->answered, 50);
	r->ans_p99 = bench_pct(ms, r->answered, 99);
	free(ms);
}

/* Move-ins: webhook -> first vendor call, processed per s end to end. */
static void moveins(const struct load_ev *ev, unsigned n, const struct mi_time *mt,
		    struct phase_res *r)
{
	double *ms = rc_calloc(n + 1, sizeof(double)), first = 0, last = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		first = !first || ev[i].sent < first ? ev[i].sent : first;
		if (mt[i].at <= 0)
			continue;
		if (mt[i].at < ev[i].sent) {
			r->early++;
			continue;
		}
		ms[r->matched++] = (mt[i].at - ev[i].sent) * 1000;
		last = mt[i].answered > last ? mt[i].answered : last;
	}
	r->fv_p50 = bench_pct(ms, r->matched, 50);
	r->fv_p99 = bench_pct(ms, r->matched, 99);
	r->eps = last > first ? r->matched / (last - first) : 0;
	free(ms);
}

/*
 * Send ev[0..n) (move-ins mi) to the instances of in[] whose bit is in
 * mask, at rate (0: as fast as answered), wait for their creates, and
 * measure into r; *mt_out (may be NULL) gets the creates' times (new).
 * base and off: the visitors before, the simulator's clock offset.
 */
static void run_load(struct world *w, const struct nats_serve *in, int n, unsigned mask,
		     struct load_ev *ev, unsigned nev, unsigned (*mi)[2], double rate, long long base,
		     double off, struct phase_res *r, struct mi_time **mt_out)
{
	int ports[MAX_INST], np = 0, i;
	struct mi_time *mt = rc_calloc(nev + 1, sizeof(*mt));
	json_t *log, *ot, *e;
	size_t k;

	for (i = 0; i < n; i++)
		if ((mask & (1u << i)) && in[i].pid)
			ports[np++] = in[i].port;
	r->ran = true;
	r->events = r->moveins = nev;
	load_run(ev, nev, ports, (size_t)np, SECRET, rate, w->o.inflight * (unsigned)np);
	movein_wait_creates(&w->t, nev, w->o.timeout);
	log = bench_sim_requests(&w->t);
	ot = sim_state_of(&w->t, "opentech");
	json_array_foreach(log, k, e)
		r->creates += movein_is_create(e);
	movein_match(log, json_object_get(ot, "visitors"), base, off, w->o.sites, w->o.units, mi, nev, mt);
	answers(ev, nev, r);
	moveins(ev, nev, mt, r);
	json_decref(log);
	json_decref(ot);
	if (mt_out)
		*mt_out = mt;
	else
		free(mt);
}

/* One phase of configuration c: its move-ins over every site. */
static void run_phase(struct world *w, struct cfg *c, int idx, const struct nats_serve *in, int p)
{
	unsigned nev = p == PH_PACED ? w->o.rate * w->o.seconds : w->o.burst;
	unsigned *all = rc_calloc(w->o.sites, sizeof(unsigned)), (*mi)[2] = NULL, k;
	struct load_ev *ev;
	char tag[32];
	long long base;
	double off;

	if (!nev) {
		free(all);
		return;
	}
	fprintf(stderr, "  %.0f s: %s, %d instance%s: %s\n", bench_now() - w->t0,
		c->cluster ? "cluster" : "single-process", c->n, c->n == 1 ? "" : "s",
		p == PH_PACED ? "paced" : "burst");
	for (k = 0; k < w->o.sites; k++)
		all[k] = k;
	snprintf(tag, sizeof(tag), "c%d-p%d", idx, p);
	base = movein_max_visitor(&w->t);
	ev = make_moveins(w, tag, nev, all, w->o.sites, &mi);
	off = bench_sim_clock(&w->t, 20);
	sim_clear_requests(&w->t);
	run_load(w, in, c->n, ~0u, ev, nev, mi, p == PH_PACED ? w->o.rate : 0, base, off, &c->ph[p],
		 NULL);
	if (!settle_all(in, c->n))
		fprintf(stderr, "  the instances did not settle after the phase\n");
	free(ev);
	free(mi);
	free(all);
}

/* ---------------------------------------------------------- takeover */

/* The earliest time after `after` at which an instance of in[] other than
 * skip logged taking a shard marked in dead[], per shard into taken[]
 * (0: not seen). */
static void takes_after(const struct nats_serve *in, int n, int skip, const bool *dead,
			unsigned shards, double after, double *taken)
{
	char *text = NULL, *line, *save = NULL, *p, kind[16];
	struct rc_err err;
	unsigned shard;
	double at;
	int i;

	for (i = 0; i < n; i++) {
		if (i == skip || rc_read_file(in[i].err, &text, NULL, &err))
			continue;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			p = strstr(line, "cluster: shard ");
			if (p && sscanf(p, "cluster: shard %u %15s at %lf", &shard, kind, &at) == 3 &&
			    !strcmp(kind, "taken") && shard < shards && dead[shard] && at > after &&
			    (!taken[shard] || at < taken[shard]))
				taken[shard] = at;
		}
		free(text);
		text = NULL;
		save = NULL;
	}
}

/* The instance whose shards hold the most sites: its index; dead[] marks
 * its shards, *sites (new) the sites in them. */
static int pick_victim(struct world *w, const struct nats_serve *in, int n, bool *dead,
		       unsigned **sites, unsigned *ns)
{
	bool *own = rc_calloc(w->o.shards, sizeof(bool));
	unsigned k, cnt, best = 0;
	char name[32];
	int i, v = -1;

	for (i = 0; i < n; i++) {
		nats_serve_owned(&in[i], (int)w->o.shards, own);
		for (cnt = 0, k = 0; k < w->o.sites; k++) {
			snprintf(name, sizeof(name), "site%u", k);
			cnt += own[cluster_shard_of(name, w->o.shards)];
		}
		if (cnt > best) {
			best = cnt;
			v = i;
		}
	}
	*sites = rc_calloc(w->o.sites + 1, sizeof(unsigned));
	*ns = 0;
	if (v >= 0) {
		nats_serve_owned(&in[v], (int)w->o.shards, dead);
		for (k = 0; k < w->o.sites; k++) {
			snprintf(name, sizeof(name), "site%u", k);
			if (dead[cluster_shard_of(name, w->o.shards)])
				(*sites)[(*ns)++] = k;
		}
	}
	free(own);
	return v;
}

/* kill -9 of one instance of the last cluster configuration; move-ins of
 * its sites sent to the others meanwhile (for 2 TTL + 5 s). */
static void run_takeover(struct world *w, struct nats_serve *in, int n)
{
	struct takeover *tk = &w->tk;
	bool *dead = rc_calloc(w->o.shards, sizeof(bool));
	double *taken = rc_calloc(w->o.shards, sizeof(double)), off, t_kill;
	unsigned *sites = NULL, ns = 0, nev, (*mi)[2] = NULL, s, j, left;
	struct mi_time *mt = NULL;
	struct load_ev *ev;
	long long base;

	tk->victim = pick_victim(w, in, n, dead, &sites, &ns);
	if (tk->victim < 0 || n < 2) {
		fprintf(stderr, "  no takeover: no instance owns a site, or only one instance\n");
		goto out;
	}
	fprintf(stderr, "  %.0f s: takeover: kill -9 of instance %d\n", bench_now() - w->t0, tk->victim);
	tk->ran = true;
	tk->dead_sites = (int)ns;
	for (s = 0; s < w->o.shards; s++)
		tk->dead_shards += dead[s];
	nev = w->o.tk_rate * (2 * w->o.ttl + 5); /* past the takeover: TTL, a tick, the binds */
	for (left = w->o.units, j = 0; j < ns; j++) /* round robin: the emptiest site bounds */
		if (w->o.units / 2 - w->next[sites[j]] < left)
			left = w->o.units / 2 - w->next[sites[j]];
	left *= ns;
	if (nev > left) {
		fprintf(stderr, "  only %u vacant units left in its sites: %u move-ins, not %u\n", left,
			left, nev);
		nev = left;
	}
	base = movein_max_visitor(&w->t);
	ev = make_moveins(w, "takeover", nev, sites, ns, &mi);
	off = bench_sim_clock(&w->t, 20);
	sim_clear_requests(&w->t);
	nats_serve_kill(&in[tk->victim]);
	t_kill = in[tk->victim].killed_at;
	run_load(w, in, n, ~(1u << tk->victim), ev, nev, mi, w->o.tk_rate, base, off, &tk->load, &mt);
	if (!nats_serve_wait_share(in, n, ((1u << n) - 1) & ~(1u << tk->victim), (int)w->o.shards,
				   (int)(w->o.shards / (unsigned)(n - 1)),
				   (int)((w->o.shards + (unsigned)n - 2) / (unsigned)(n - 1)), 3.0 * w->o.ttl))
		fprintf(stderr, "  the survivors did not share the shards in %u s\n", 3 * w->o.ttl);
	takes_after(in, n, tk->victim, dead, w->o.shards, t_kill, taken);
	tk->first_take = tk->all_taken = tk->first_call = -1;
	for (s = 0; s < w->o.shards; s++) {
		if (!dead[s] || !taken[s])
			continue;
		if (tk->first_take < 0 || taken[s] - t_kill < tk->first_take)
			tk->first_take = taken[s] - t_kill;
		if (taken[s] - t_kill > tk->all_taken)
			tk->all_taken = taken[s] - t_kill;
	}
	for (s = 0; s < w->o.shards; s++)
		if (dead[s] && !taken[s])
			tk->all_taken = -1; /* one never taken: not all */
	for (j = 0; j < nev; j++)
		if (mt[j].at > 0 && (tk->first_call < 0 || mt[j].at - t_kill < tk->first_call))
			tk->first_call = mt[j].at - t_kill;
	free(mt);
	free(ev);
	free(mi);
out:
	free(sites);
	free(taken);
	free(dead);
}

/* -------------------------------------------------------------- run */

static void run_cfg(struct world *w, int idx)
{
	struct cfg *c = &w->cfg[idx];
	struct nats_serve in[MAX_INST];
	char cdir[PATH_MAX];
	int p;

	memset(in, 0, sizeof(in));
	snprintf(cdir, sizeof(cdir), "%s/%s-%d", w->dir, c->cluster ? "cluster" : "single", c->n);
	if (mkdir(cdir, 0700))
		bench_die("mkdir %s", cdir);
	fprintf(stderr, "bench_cluster: %.0f s: %s, %d instance%s: starting\n", bench_now() - w->t0,
		c->cluster ? "cluster" : "single-process", c->n, c->n == 1 ? "" : "s");
	start_cfg(w, c, idx, in, cdir);
	for (p = 0; p < NPH; p++)
		run_phase(w, c, idx, in, p);
	if (c->cluster && c->n == (int)w->o.instances && w->o.tk_rate && c->n > 1)
		run_takeover(w, in, c->n);
	stop_cfg(in, c->n);
}

/* ----------------------------------------------------------- report */

static void report_phase(const struct world *w, int p)
{
	const struct cfg *floor = &w->cfg[0];
	int i;

	if (p == PH_PACED)
		printf("\npaced: %u move-ins per s for %u s, round robin to every instance\n", w->o.rate,
		       w->o.seconds);
	else
		printf("\nburst: %u move-ins as fast as answered (%u in flight at most per instance)\n", w->o.burst,
		       w->o.inflight);
	printf("%-15s %4s %6s %6s %9s %8s %8s %9s %9s %9s %9s %8s %8s\n", "mode", "inst", "events",
	       "200s", "ingest/s", "ans p50", "ans p99", "made", "m-in/s", "fvc p50", "fvc p99",
	       "x m-in/s", "x p99");
	for (i = 0; i < w->ncfg; i++) {
		const struct phase_res *r = &w->cfg[i].ph[p], *f = &floor->ph[p];
		char made[24];

		if (!r->ran)
			continue;
		snprintf(made, sizeof(made), "%u/%u", r->matched, r->moveins);
		printf("%-15s %4d %6u %6u %9.0f %6.1fms %6.1fms %9s %9.1f %7.1fms %7.1fms %8.2f %8.2f%s\n",
		       w->cfg[i].cluster ? "cluster" : "single-process", w->cfg[i].n, r->events, r->answered,
		       r->ingest, r->ans_p50, r->ans_p99, made, r->eps, r->fv_p50, r->fv_p99,
		       f->eps > 0 ? r->eps / f->eps : 0, f->fv_p99 > 0 ? r->fv_p99 / f->fv_p99 : 0,
		       r->creates > r->matched + r->early ? "  (more creates than move-ins made!)" : "");
		if (r->answered < r->events)
			printf("%-15s %4s not answered 200: %u answered 503, %u not answered\n", "", "",
			       r->st503, r->st0);
	}
}

static void report(const struct world *w)
{
	const struct takeover *tk = &w->tk;

	printf("\nbench_cluster: %u OpenTech sites x %u units (half rented), %u shards, lease TTL %u s; "
	       "3-node nats-server JetStream cluster (R3) on 127.0.0.1; fdatasync at the state dir: "
	       "p50 %.2f ms, p99 %.2f ms; %s\n", w->o.sites, w->o.units, w->o.shards, w->o.ttl,
	       w->fsync_p50, w->fsync_p99, bench_machine());
	report_phase(w, PH_PACED);
	if (w->o.burst)
		report_phase(w, PH_BURST);
	printf("(made: move-ins whose vendor create was seen / sent; m-in/s: move-ins processed per s end "
	       "to end, first webhook sent to\n last create answered; fvc: webhook -> first vendor call; "
	       "x m-in/s, x p99: the ratio to the single-process floor)\n");
	if (tk->ran) {
		printf("\ntakeover after kill -9 of 1 of %u instances (%d shards, %d sites); %u move-ins of its "
		       "sites sent to the others from the kill on, %u per s:\n", w->o.instances, tk->dead_shards,
		       tk->dead_sites, tk->load.events, w->o.tk_rate);
		printf("  kill -> first lease take of one of its shards: %.2f s\n", tk->first_take);
		if (tk->all_taken >= 0)
			printf("  kill -> all its shards taken: %.2f s\n", tk->all_taken);
		else
			printf("  kill -> all its shards taken: not all were taken\n");
		printf("  kill -> first vendor call for one of its sites: %.2f s\n", tk->first_call);
		printf("  those move-ins: %u/%u answered 200, %u/%u made after their webhook, %u before it (by "
		       "a takeover's whole-site run); webhook -> first vendor call p50 %.0f ms, p99 %.0f ms; %u "
		       "creates in all (the sites' earlier move-ins never sent included)\n", tk->load.answered,
		       tk->load.events, tk->load.matched, tk->load.moveins, tk->load.early, tk->load.fv_p50,
		       tk->load.fv_p99, tk->load.creates);
		printf("  (goal of issue 16: taken over in <= 30 s: %s)\n",
		       tk->all_taken >= 0 && tk->all_taken <= 30 ? "goal met" : "goal not met");
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct world w = { .o = { 16, 1000, 3, 100, 10, 500, 64, 64, 15, 10, 120 } };
	int i;

	bench_init(argv[0]);
	w.t0 = bench_now();
	parse(argc, argv, &w.o);
	fprintf(stderr, "bench_cluster: %u sites x %u units: converging\n", w.o.sites, w.o.units);
	if ((unsigned long)(w.o.instances + 1) * (w.o.rate * w.o.seconds + w.o.burst) >
	    (unsigned long)w.o.sites * (w.o.units / 2))
		bench_die("%u configurations x %u move-ins need more vacant units than %u sites x %u / 2: "
			  "raise --units-per-site or --sites", w.o.instances + 1,
			  w.o.rate * w.o.seconds + w.o.burst, w.o.sites, w.o.units);
	prepare(&w);
	w.cfg[w.ncfg++] = (struct cfg){ .cluster = false, .n = 1 };
	for (i = 1; i <= (int)w.o.instances; i++)
		w.cfg[w.ncfg++] = (struct cfg){ .cluster = true, .n = i };
	for (i = 0; i < w.ncfg; i++)
		run_cfg(&w, i);
	nats_cluster_stop(&w.nc);
	bench_sim_stop(&w.t);
	report(&w);
	e2e_rmdtemp(w.dir);
	free(w.next);
	return 0;
}
