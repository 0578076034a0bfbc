/*
 * bench_serve.c: `reconcile serve` under signed Storeganise webhooks
 * (issue 12): a libcurl multi load generator (lib/load.h) at a given rate
 * against serve running with the simulator; the simulator's request log,
 * which stamps each request's arrival on its monotonic clock, tells when
 * the vendor call a move-in caused arrived (lib/movein.h matches each
 * move-in to its create). See --help.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>

#include "bench.h"
#include "gen.h"
#include "load.h"
#include "movein.h"

static const char usage[] =
"Usage: bench_serve [options]\n"
"\n"
"For each size (2 OpenTech sites of 200, then 2,000 units, half rented),\n"
"converges the simulator with reconcile apply, then runs reconcile serve\n"
"(restarted before each phase, so that each starts idle) under four phases\n"
"of signed webhooks:\n"
"\n"
"  1 ev/s          move-ins only (job.unit_moveIn.completed), --slow-events\n"
"  1,000 ev/s      1 % move-ins, the rest unitRental.updated of rented units,\n"
"                  for --fast-seconds\n"
"  flood           --flood unitRental.updated as fast as serve answers (ingest)\n"
"  move-in burst   --burst move-ins as fast as serve answers (end to end)\n"
"\n"
"A move-in's rental, customer and unit are added to the simulator's PMS\n"
"before its phase (not timed); its code is generated and written back by\n"
"reconcile. Reports per phase: ingest (webhooks answered 200 per s), answer\n"
"p50/p99, webhook -> first vendor call p50/p99 (the OpenTech create's\n"
"arrival at the simulator), move-ins processed per s, PMS and vendor calls\n"
"per move-in; then the goals of issue 12, with the disk's fdatasync cost at\n"
"the state dir beside them.\n"
"\n"
"Options:\n"
"  --units N[,N]        units per site (default 200,2000)\n"
"  --slow-events N      move-ins of the 1 ev/s phase (default 20)\n"
"  --fast-rate N        events/s of the fast phase (default 1000)\n"
"  --fast-seconds N     its length (default 5)\n"
"  --hot N              updated events go to N rented units only (default 0:\n"
"                       all of them, round robin)\n"
"  --flood N            events of the flood phase (default 5000)\n"
"  --burst N            move-ins of the burst phase (default 1000, at most what\n"
"                       is still vacant)\n"
"  --inflight N         unanswered webhooks at most (default 64, serve's\n"
"                       default max_connections_per_address; above it the\n"
"                       spec allows N). By Little's law the ingest is at most\n"
"                       N / the answer's time: a sender's concurrency bounds it\n"
"  --timeout N          seconds to wait for a phase's move-ins (default 300)\n"
"  --phases LIST        the phases to run, of slow,fast,flood,burst (default\n"
"                       all). Issue 12's scoped cost (a one-rental run flat\n"
"                       from 200 to 20,000 units per site):\n"
"                         bench_serve --units 200,20000 --phases slow\n"
"                       prints the 20,000-unit figures' ratio to the 200 ones\n"
"  --sync-delay MS      run on an emulated slow disk: every flush of every\n"
"                       process of the benchmark (fsync, fdatasync, a write\n"
"                       to a file opened O_DSYNC) takes MS ms more (the\n"
"                       LD_PRELOAD module libbench_slowsync.so, next to this\n"
"                       program). Issue 12's ingest goal is for fdatasync ~4 ms:\n"
"                         bench_serve --sync-delay 4 --phases flood\n"
"  --rental-workers N   the spec's serve.rental_workers (one-rental runs at\n"
"                       once; default: serve's, 64). Each holds its worker\n"
"                       through two commits: on a slow disk the burst is\n"
"                       bound by it (--sync-delay 4 --phases burst)\n"
"  -h, --help           this text\n"
"\n"
"Environment: RECONCILE_BIN, RECONCILE_SIM_BIN (default: next to this\n"
"program), TMPDIR, E2E_KEEP=1 keeps the temp dir (with each phase's simulator\n"
"log, requests-phaseN.json, and serve's stderr, serve-phaseN.err). Never run\n"
"by ctest.\n";

#define SECRET "e2e-webhook-secret" /* E2E_SG_WEBHOOK_SECRET (gen_set_credentials) */
#define NSITES 2
#define MAX_SIZES 2
enum { P_SLOW, P_FAST, P_FLOOD, P_BURST, NPHASES };

struct opts {
	unsigned sizes[MAX_SIZES], nsizes;
	unsigned slow, fast_rate, fast_s, hot, flood, burst, inflight, timeout;
	unsigned rental_workers; /* 0: serve's default */
	bool phase[NPHASES];     /* which phases run */
	double sync_delay;       /* ms added to every flush (--sync-delay), 0: none */
};

/* What one phase measured. */
struct result {
	bool ran;
	unsigned events, moveins, answered, matched, early;
	double rate, wall, ingest, ans_p50, ans_p99, fv_p50, fv_p99, moveins_s;
	double pms_per_mi, ot_per_mi, pms_before;  /* < 0: not measured */
	double queue_left;
	double cpu_ms;        /* serve's CPU (user + system) per event, ms; < 0: unknown */
	double floor_p50, floor_p99;        /* 1 ev/s: the disk's floor (struct floor), ms */
	double slow_commits[2], commits[2]; /* serve's durable commits over 5 ms, and all:
					     * the state's lane, the events' (its /metrics) */
};

/* One size: its simulator, spec and state, what is still vacant. */
struct size_run {
	unsigned units;
	char dir[256], seed[PATH_MAX], state[PATH_MAX];
	struct e2e t;             /* simulator (base, pid) and spec (t.spec, t.dir) */
	unsigned next_vacant;     /* move-ins take odd units 1, 3, ... of both sites in turn */
	unsigned inflight;        /* --inflight: serve allows that many connections */
	unsigned rental_workers;  /* --rental-workers (0: serve's default) */
	double fsync_p50, fsync_p99;
	struct result res[NPHASES];
};

static const char *const phase_names[NPHASES] = { "1 ev/s, move-ins", "fast, 1 % move-ins",
						  "flood (updated)", "move-in burst" };

static unsigned parse_sizes(const char *s, unsigned out[MAX_SIZES])
{
	unsigned n = 0;
	char *end;

	while (*s && n < MAX_SIZES) {
		out[n] = (unsigned)strtoul(s, &end, 10);
		if (end == s || out[n] < 4 || out[n] > 999999 || (*end && *end != ','))
			bench_die("--units takes N or N,N (4..999999)");
		n++;
		s = *end ? end + 1 : end;
	}
	if (*s)
		bench_die("--units takes at most %d sizes", MAX_SIZES);
	return n;
}

/* --phases slow,fast,flood,burst */
static void parse_phases(const char *s, bool out[NPHASES])
{
	static const char *const names[NPHASES] = { "slow", "fast", "flood", "burst" };
	size_t len;
	int p;

	memset(out, 0, NPHASES * sizeof(*out));
	while (*s) {
		len = strcspn(s, ",");
		for (p = 0; p < NPHASES; p++)
			if (strlen(names[p]) == len && !strncmp(s, names[p], len))
				break;
		if (p == NPHASES)
			bench_die("--phases takes a list of slow, fast, flood, burst (got \"%.*s\")",
				  (int)len, s);
		out[p] = true;
		s += len + (s[len] == ',');
	}
}

static double sync_delay_arg(const char *v)
{
	char *end;
	double ms = strtod(v, &end);

	if (end == v || *end || !(ms > 0 && ms <= 1000))
		bench_die("--sync-delay takes milliseconds, more than 0 and at most 1000 (got \"%s\")", v);
	return ms;
}

static void parse(int argc, char **argv, struct opts *o)
{
	enum { O_UNITS = 256, O_SLOW, O_FRATE, O_FSEC, O_HOT, O_FLOOD, O_BURST, O_INFL, O_TIMEOUT,
	       O_PHASES, O_SYNCD, O_RWORK };
	static const struct option lo[] = {
		{ "units", required_argument, 0, O_UNITS }, { "slow-events", required_argument, 0, O_SLOW },
		{ "fast-rate", required_argument, 0, O_FRATE }, { "fast-seconds", required_argument, 0, O_FSEC },
		{ "hot", required_argument, 0, O_HOT }, { "flood", required_argument, 0, O_FLOOD },
		{ "burst", required_argument, 0, O_BURST }, { "inflight", required_argument, 0, O_INFL },
		{ "timeout", required_argument, 0, O_TIMEOUT }, { "phases", required_argument, 0, O_PHASES },
		{ "sync-delay", required_argument, 0, O_SYNCD },
		{ "rental-workers", required_argument, 0, O_RWORK },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	int c;

	for (;;) {
		c = getopt_long(argc, argv, "h", lo, NULL);
		if (c == -1)
			break;
		switch (c) {
		case O_UNITS: o->nsizes = parse_sizes(optarg, o->sizes); break;
		case O_SLOW: o->slow = (unsigned)bench_uarg("--slow-events", optarg, 1); break;
		case O_FRATE: o->fast_rate = (unsigned)bench_uarg("--fast-rate", optarg, 1); break;
		case O_FSEC: o->fast_s = (unsigned)bench_uarg("--fast-seconds", optarg, 1); break;
		case O_HOT: o->hot = (unsigned)bench_uarg("--hot", optarg, 0); break;
		case O_FLOOD: o->flood = (unsigned)bench_uarg("--flood", optarg, 1); break;
		case O_BURST: o->burst = (unsigned)bench_uarg("--burst", optarg, 1); break;
		case O_INFL: o->inflight = (unsigned)bench_uarg("--inflight", optarg, 1); break;
		case O_TIMEOUT: o->timeout = (unsigned)bench_uarg("--timeout", optarg, 1); break;
		case O_PHASES: parse_phases(optarg, o->phase); break;
		case O_SYNCD: o->sync_delay = sync_delay_arg(optarg); break;
		case O_RWORK:
			o->rental_workers = (unsigned)bench_uarg("--rental-workers", optarg, 1);
			if (o->rental_workers > 256)
				bench_die("--rental-workers takes 1..256 (serve.rental_workers; got %s)", optarg);
			break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); exit(2);
		}
	}
	if (optind < argc)
		bench_die("unexpected argument %s; see --help", argv[optind]);
}

/* ----------------------------------------------------------- set-up */

/* --sync-delay: run this program again with the slow-flush module preloaded,
 * so that every process it starts (serve, the simulator) and its own probe
 * and floor see the same slow disk. Returns in the preloaded run. */
static void slow_disk(char **argv, const struct opts *o)
{
	char so[PATH_MAX], us[32], *slash;
	const char *asan = getenv("ASAN_OPTIONS");
	char *aopts;

	if (o->sync_delay <= 0 || getenv("BENCH_SYNC_DELAY_US"))
		return;
	snprintf(so, sizeof(so), "%s", bench_self());
	slash = strrchr(so, '/');
	snprintf(slash ? slash + 1 : so, sizeof(so) - (size_t)(slash ? slash + 1 - so : 0),
		 "libbench_slowsync.so");
	if (access(so, R_OK) != 0)
		bench_die("%s: not found; build the bench_slowsync target (cmake --build build)", so);
	snprintf(us, sizeof(us), "%.0f", o->sync_delay * 1000);
	/* a sanitized build wants its runtime first; the module is not sanitized */
	aopts = rc_sprintf("%s%sverify_asan_link_order=0", asan ? asan : "", asan && *asan ? ":" : "");
	if (setenv("BENCH_SYNC_DELAY_US", us, 1) || setenv("LD_PRELOAD", so, 1) ||
	    setenv("ASAN_OPTIONS", aopts, 1))
		bench_die("cannot set the environment for --sync-delay");
	free(aopts);
	execv(bench_self(), argv);
	bench_die("cannot run %s again with %s preloaded", bench_self(), so);
}

static void prepare(struct size_run *s)
{
	struct gen g = { NSITES, s->units, { 100, 0, 0 }, true };
	/* only the start-up sync; serve takes as many connections as the load keeps */
	struct gen_spec gs = { NULL, s->state, 0, "1h", s->inflight > 64 ? s->inflight : 0,
			       s->rental_workers };
	const char *args[] = { "apply", "-c", s->t.spec, "--auto-approve", NULL };
	char out[PATH_MAX + 16];
	struct bench_proc p;
	struct rc_err err;

	e2e_mkdtemp(s->dir, sizeof(s->dir));
	snprintf(s->seed, sizeof(s->seed), "%s/seed.json", s->dir);
	snprintf(s->state, sizeof(s->state), "%s/state", s->dir);
	if (gen_write_seed(&g, s->seed, &err))
		bench_die("%s", err.msg);
	bench_sim_start(&s->t, s->dir, s->seed);
	snprintf(s->t.dir, sizeof(s->t.dir), "%s", s->dir); /* serve's cwd, bg.out, bg.err */
	snprintf(s->t.spec, sizeof(s->t.spec), "%s/spec.json", s->dir);
	gs.sim = s->t.base;
	if (gen_write_spec(&g, &gs, s->t.spec, &err))
		bench_die("%s", err.msg);
	snprintf(out, sizeof(out), "%s/converge.err", s->dir);
	bench_reconcile(args, s->dir, NULL, out, &p);
	if (p.status != 0)
		bench_die("the converging apply exited %d (see %s)", p.status, out);
	bench_fsync_cost(s->state, 200, &s->fsync_p50, &s->fsync_p99);
	s->next_vacant = 0;
}

/* The site and unit of the n-th move-in: odd units, both sites in turn. */
static void vacant(unsigned n, unsigned *k, unsigned *i)
{
	*k = n % NSITES;
	*i = 2 * (n / NSITES) + 1;
}

/* ------------------------------------------------------------ phases */

struct phase {
	double rate;           /* events/s; 0: as fast as answered */
	unsigned events;
	unsigned movein_every; /* every n-th event is a move-in; 0: none */
};

static struct phase phase_of(const struct opts *o, int p)
{
	struct phase ph = { 0, 0, 0 };

	switch (p) {
	case P_SLOW: ph = (struct phase){ 1, o->slow, 1 }; break;
	case P_FAST: ph = (struct phase){ o->fast_rate, o->fast_rate * o->fast_s, 100 }; break;
	case P_FLOOD: ph = (struct phase){ 0, o->flood, 0 }; break;
	case P_BURST: ph = (struct phase){ 0, o->burst, 1 }; break;
	}
	return ph;
}

/* The phase's webhooks (new); its move-ins added to the PMS; *mi their
 * (site, unit) pairs, in event order (new). */
static struct load_ev *make_events(struct size_run *s, const struct opts *o, int p,
				   struct phase *ph, unsigned (**mi)[2], unsigned *nmi)
{
	unsigned vacant_left = NSITES * (s->units / 2) - s->next_vacant;
	unsigned rented = NSITES * ((s->units + 1) / 2), hot = o->hot && o->hot < rented ? o->hot : rented;
	struct load_ev *ev;
	unsigned n, k, i, u = 0;

	if (p == P_BURST && ph->events > vacant_left)
		ph->events = vacant_left;
	ev = rc_calloc(ph->events + 1, sizeof(*ev));
	*mi = rc_calloc(ph->events + 1, sizeof(**mi));
	*nmi = 0;
	for (n = 0; n < ph->events; n++) {
		snprintf(ev[n].id, sizeof(ev[n].id), "ev-%u-%d-%u", s->units, p, n);
		ev[n].movein = ph->movein_every && n % ph->movein_every == 0 && s->next_vacant <
			       NSITES * (s->units / 2);
		if (ev[n].movein) {
			vacant(s->next_vacant++, &k, &i);
			movein_add(&s->t, k, i);
			movein_rental(k, i, ev[n].rental, sizeof(ev[n].rental));
			(*mi)[*nmi][0] = k;
			(*mi)[(*nmi)++][1] = i;
		} else {
			k = u % NSITES;          /* rented units: even ones */
			i = 2 * ((u / NSITES) % (rented / NSITES));
			u = (u + 1) % hot;
			snprintf(ev[n].rental, sizeof(ev[n].rental), "r%u-%u", k, i);
		}
	}
	return ev;
}

/* serve, started, its start-up sync of every site done and the queue idle. */
static void serve_up(struct size_run *s, pid_t *pid, int *port)
{
	int i;

	e2e_serve_start(&s->t, pid, port);
	for (i = 0; i < 600; i++) {
		if (e2e_serve_metric(*port, "reconcile_duration_seconds_count ") >= NSITES)
			break;
		usleep(100000);
	}
	if (i == 600 || !e2e_serve_settle(*port))
		bench_die("serve did not finish its start-up sync (see %s/bg.err)", s->t.dir);
}

/* ---------------------------------------------------------- analysis */

static double count_api(json_t *log, const char *api)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(log, i, e)
		n += !strcmp(json_string_value(json_object_get(e, "api")) ?: "", api);
	return (double)n;
}

/* Storeganise reads (GET) that arrived in [from, to] (bench clock). */
static unsigned pms_reads_between(json_t *log, double off, double from, double to)
{
	unsigned n = 0;
	size_t i;
	json_t *e;

	json_array_foreach(log, i, e) {
		double at = json_real_value(json_object_get(e, "at")) + off;

		if (at >= from && at <= to &&
		    !strcmp(json_string_value(json_object_get(e, "api")) ?: "", "storeganise") &&
		    !strcmp(json_string_value(json_object_get(e, "method")) ?: "", "GET"))
			n++;
	}
	return n;
}

/* Answers: ingest, p50/p99. */
static void answers(const struct load_ev *ev, unsigned n, struct result *r)
{
	double *ms = rc_calloc(n + 1, sizeof(double)), first = 0, last = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
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

/* Move-ins: webhook -> first vendor call, processed per s, calls each. */
static void moveins(const struct load_ev *ev, unsigned n, const struct mi_time *mt,
		    json_t *log, double off, int p, struct result *r)
{
	double *ms = rc_calloc(r->moveins + 1, sizeof(double)), *before = rc_calloc(r->moveins + 1, sizeof(double));
	double first = 0, last = 0;
	unsigned i, j = 0;

	for (i = 0; i < n; i++) {
		if (!ev[i].movein)
			continue;
		if (mt[j].at > 0 && mt[j].at < ev[i].sent)
			r->early++;   /* a whole-site run took it before its webhook */
		else if (mt[j].at > 0) {
			before[r->matched] = pms_reads_between(log, off, ev[i].sent, mt[j].at);
			ms[r->matched++] = (mt[j].at - ev[i].sent) * 1000;
			first = !first || ev[i].sent < first ? ev[i].sent : first;
			last = mt[j].answered > last ? mt[j].answered : last;
		}
		j++;
	}
	r->fv_p50 = bench_pct(ms, r->matched, 50);
	r->fv_p99 = bench_pct(ms, r->matched, 99);
	r->moveins_s = last > first ? r->matched / (last - first) : 0;
	r->pms_per_mi = r->ot_per_mi = r->pms_before = -1;
	if ((p == P_SLOW || p == P_BURST) && r->moveins) { /* only move-ins ran */
		r->pms_per_mi = count_api(log, "storeganise") / r->moveins;
		r->ot_per_mi = count_api(log, "opentech") / r->moveins;
	}
	if (p == P_SLOW) /* one at a time: the window is the move-in's own */
		r->pms_before = bench_median(before, r->matched);
	free(ms);
	free(before);
}

/* -------------------------------------------------------------- run */

/* Under E2E_KEEP (the temp dir kept), the phase's simulator log and serve's
 * stderr go to files beside it, to see where a slow move-in's time went. */
static void keep_log(const struct size_run *s, int p, json_t *log)
{
	const char *keep = getenv("E2E_KEEP");
	char path[PATH_MAX], from[PATH_MAX];

	if (!keep || !*keep || !strcmp(keep, "0"))
		return;
	snprintf(path, sizeof(path), "%s/requests-phase%d.json", s->dir, p);
	if (json_dump_file(log, path, JSON_INDENT(1)))
		fprintf(stderr, "  could not write %s\n", path);
	snprintf(from, sizeof(from), "%s/bg.err", s->dir);
	snprintf(path, sizeof(path), "%s/serve-phase%d.err", s->dir, p);
	if (rename(from, path))
		fprintf(stderr, "  could not keep %s\n", from);
}

/* The simulator's lookups a move-in's run makes, made once before the
 * phase (read only): each of its indexes is built on first use, which at
 * 2,000 units takes it a few ms, and the phase's first move-in would wait
 * for that, not for serve. */
static void sim_warm(struct size_run *s, const unsigned mi[2])
{
	char url[512], rental[32];

	movein_rental(mi[0], mi[1], rental, sizeof(rental));
	snprintf(url, sizeof(url), "%s/storeganise/api/v1/admin/unit-rentals/%s?include=unit,owner,"
		 "customFields", s->t.base, rental);
	bench_http("GET", url, NULL, NULL, NULL, NULL);
	snprintf(url, sizeof(url), "%s/storeganise/api/v1/admin/unit-rentals?unitId=u%u-%u&"
		 "state=occupied&include=customFields&limit=1000&offset=0", s->t.base, mi[0], mi[1]);
	bench_http("GET", url, NULL, NULL, NULL, NULL);
}

/* The disk's floor of a move-in's path, measured beside the 1 ev/s phase
 * on the same disk: two durable LMDB commits in a row (serve's are the
 * event's and then the intents'), once a second like the webhooks, half a
 * second after each so as not to meet serve's. This disk flushes more
 * slowly after an idle moment, which the back-to-back fdatasync probe
 * does not show. */
struct floor {
	char dir[PATH_MAX];
	unsigned n;
	double start;        /* bench_now() when the first webhook goes */
	double *ms;          /* per round, new */
	pthread_t th;
};

static void floor_commit(MDB_env *env, unsigned round, int j)
{
	char key[32], val[256];
	MDB_val k, v = { sizeof(val), val };
	MDB_txn *txn;
	MDB_dbi dbi;

	memset(val, 'x', sizeof(val));
	snprintf(key, sizeof(key), "k%u-%d", round % 64, j);
	k.mv_data = key;
	k.mv_size = strlen(key);
	if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, NULL, 0, &dbi) ||
	    mdb_put(txn, dbi, &k, &v, 0) || mdb_txn_commit(txn))
		bench_die("the floor's LMDB commit failed");
}

static void *floor_main(void *p)
{
	struct floor *f = p;
	MDB_env *env;
	double at, t0;
	unsigned i;

	if (mkdir(f->dir, 0700) != 0 || mdb_env_create(&env) ||
	    mdb_env_set_mapsize(env, 64 << 20) || mdb_env_open(env, f->dir, MDB_NOTLS, 0600))
		bench_die("%s: cannot make the floor's LMDB environment", f->dir);
	for (i = 0; i < f->n; i++) {
		at = f->start + i + 0.5;
		t0 = bench_now();
		if (at > t0)
			usleep((useconds_t)((at - t0) * 1e6));
		t0 = bench_now();
		floor_commit(env, i, 0);
		floor_commit(env, i, 1);
		f->ms[i] = (bench_now() - t0) * 1000;
	}
	mdb_env_close(env);
	return NULL;
}

static void floor_start(struct floor *f, const struct size_run *s, unsigned n)
{
	snprintf(f->dir, sizeof(f->dir), "%s/floor-lmdb", s->dir);
	f->n = n;
	f->start = bench_now();
	f->ms = rc_calloc(n + 1, sizeof(*f->ms));
	if (pthread_create(&f->th, NULL, floor_main, f))
		bench_die("cannot start the floor's thread");
}

static void floor_end(struct floor *f, struct result *r)
{
	pthread_join(f->th, NULL);
	r->floor_p50 = bench_pct(f->ms, f->n, 50);
	r->floor_p99 = bench_pct(f->ms, f->n, 99);
	free(f->ms);
}

/* serve's durable commits (reconcile_state_commit_seconds, per lane):
 * all of them, and those over 5 ms, the disk's stalls that a latency's
 * p99 is made of. */
static void commit_counts(int port, struct result *r)
{
	static const char *const lanes[2] = { "state", "events" };
	char name[128];
	int l;

	for (l = 0; l < 2; l++) {
		snprintf(name, sizeof(name), "reconcile_state_commit_seconds_count{lane=\"%s\"} ",
			 lanes[l]);
		r->commits[l] = e2e_serve_metric(port, name);
		snprintf(name, sizeof(name), "reconcile_state_commit_seconds_bucket{lane=\"%s\","
			 "le=\"0.005\"} ", lanes[l]);
		r->slow_commits[l] = r->commits[l] - e2e_serve_metric(port, name);
	}
}

static void run_phase(struct size_run *s, const struct opts *o, int p)
{
	struct phase ph = phase_of(o, p);
	struct result *r = &s->res[p];
	unsigned (*mi)[2] = NULL, nmi = 0;
	struct mi_time *mt;
	struct load_ev *ev;
	struct floor fl;
	long long base;
	json_t *log, *ot;
	double off, cpu0, cpu1;
	pid_t pid;
	int port;

	fprintf(stderr, "  %u units/site: %s\n", s->units, phase_names[p]);
	/* the visitors so far, before serve starts (its start-up sync of a
	 * converged facility creates none): at 20,000 units the simulator is
	 * slow for a while after dumping its state, and the first move-in would
	 * pay for it */
	base = movein_max_visitor(&s->t);
	serve_up(s, &pid, &port);
	ev = make_events(s, o, p, &ph, &mi, &nmi); /* after the start-up sync: webhooks bring them */
	if (!ph.events) {
		e2e_serve_stop(&pid);
		free(ev);
		free(mi);
		return;
	}
	if (nmi)
		sim_warm(s, mi[0]);
	off = bench_sim_clock(&s->t, 20);
	sim_clear_requests(&s->t);
	r->ran = true;
	r->events = ph.events;
	r->moveins = nmi;
	r->rate = ph.rate;
	cpu0 = bench_proc_cpu(pid);
	r->floor_p50 = r->floor_p99 = -1;
	if (p == P_SLOW)
		floor_start(&fl, s, ph.events);
	r->wall = load_run(ev, ph.events, &port, 1, SECRET, ph.rate, o->inflight);
	if (p == P_SLOW)
		floor_end(&fl, r);
	movein_wait_creates(&s->t, nmi, o->timeout);
	cpu1 = bench_proc_cpu(pid);
	r->cpu_ms = cpu0 < 0 || cpu1 < 0 ? -1 : (cpu1 - cpu0) * 1000 / ph.events;
	r->queue_left = e2e_serve_metric(port, "reconcile_queue_depth ");
	commit_counts(port, r);
	log = bench_sim_requests(&s->t);
	keep_log(s, p, log);
	ot = sim_state_of(&s->t, "opentech");
	mt = rc_calloc(nmi + 1, sizeof(*mt));
	movein_match(log, json_object_get(ot, "visitors"), base, off, NSITES, s->units, mi, nmi, mt);
	answers(ev, ph.events, r);
	moveins(ev, ph.events, mt, log, off, p, r);
	e2e_serve_stop(&pid);
	json_decref(log);
	json_decref(ot);
	free(mt);
	free(ev);
	free(mi);
}

/* ----------------------------------------------------------- report */

/* v with dec decimals and a suffix, or "-" when v < 0 (not measured). */
static void fmt_opt(char *buf, size_t n, double v, int dec, const char *suffix)
{
	if (v < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.*f%s", dec, v, suffix);
}

static void report_size(const struct size_run *s)
{
	char rate[16], pm[16], om[16], pb[16], mi[24], cpu[16], sc[40];
	int p;

	printf("\nbench_serve: %d OpenTech sites x %u units, half rented; fdatasync at the state dir: "
	       "p50 %.2f ms, p99 %.2f ms%s\n", NSITES, s->units, s->fsync_p50, s->fsync_p99,
	       getenv("BENCH_SYNC_DELAY_US") ? " (an emulated slow disk: --sync-delay)" : "");
	printf("%-20s %6s %7s %6s %9s %8s %8s %9s %11s %11s %7s %6s %6s %6s %6s %7s %13s\n", "phase",
	       "events", "offered", "200s", "ingest/s", "ans p50", "ans p99", "m-in", "fvc p50", "fvc p99",
	       "m-in/s", "PMS/mi", "reads<", "OT/mi", "queue", "CPU/ev", "commits>5ms");
	for (p = 0; p < NPHASES; p++) {
		const struct result *r = &s->res[p];

		if (!r->ran)
			continue;
		fmt_opt(rate, sizeof(rate), r->rate > 0 ? r->rate : -1, 0, "/s");
		fmt_opt(pm, sizeof(pm), r->pms_per_mi, 1, "");
		fmt_opt(om, sizeof(om), r->ot_per_mi, 1, "");
		fmt_opt(pb, sizeof(pb), r->pms_before, 0, "");
		snprintf(mi, sizeof(mi), "%u/%u", r->matched, r->moveins);
		fmt_opt(cpu, sizeof(cpu), r->cpu_ms, 2, "ms");
		snprintf(sc, sizeof(sc), "%.0f/%.0f %.0f/%.0f", r->slow_commits[0], r->commits[0],
			 r->slow_commits[1], r->commits[1]);
		printf("%-20s %6u %7s %6u %9.0f %6.1fms %6.1fms %9s %9.1fms %9.1fms %7.1f %6s %6s %6s %6.0f %7s %13s%s\n",
		       phase_names[p], r->events, rate, r->answered, r->ingest, r->ans_p50, r->ans_p99,
		       mi, r->fv_p50, r->fv_p99, r->moveins_s, pm, pb, om, r->queue_left, cpu, sc,
		       r->early ? "  (some move-ins were created before their webhook)" : "");
	}
	if (s->res[P_SLOW].ran && s->res[P_SLOW].floor_p99 >= 0)
		printf("floor of the 1 ev/s phase, beside it on the same disk: two durable LMDB commits in a "
		       "row, once a second: p50 %.2f ms, p99 %.2f ms\n", s->res[P_SLOW].floor_p50,
		       s->res[P_SLOW].floor_p99);
	printf("(offered: the load's rate, '-' = as fast as answered; m-in: move-ins matched to their "
	       "vendor call / sent;\n fvc: webhook -> first vendor call; PMS/mi, OT/mi: calls per move-in (all "
	       "methods); reads<: PMS reads (GET)\n before the vendor call, p50; queue: serve's queue depth when the "
	       "phase's move-ins were done;\n CPU/ev: serve's user + system CPU time over the phase per event, "
	       "all its threads;\n commits>5ms: serve's durable LMDB commits that took over 5 ms / all, the "
	       "state's lane (a move-in's\n intents: its vendor call waits), then the events' (a webhook's 200 "
	       "waits): the disk's stalls)\n");
	fflush(stdout);
}

static const char *verdict(bool ok)
{
	return ok ? "goal met" : "goal not met";
}

/* " F (U units/site)" for each size whose phase p ran, into buf. */
static void per_size(char *buf, size_t n, const struct size_run *runs, unsigned nr, int p,
		     double (*f)(const struct result *), const char *unit)
{
	size_t len = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < nr && len < n; i++)
		if (runs[i].res[p].ran)
			len += (size_t)snprintf(buf + len, n - len, "%s%.1f%s (%u units/site)",
						len ? ", " : "", f(&runs[i].res[p]), unit, runs[i].units);
}

static double fv_p99(const struct result *r) { return r->fv_p99; }
static double moveins_s(const struct result *r) { return r->moveins_s; }
static double ingest(const struct result *r) { return r->ingest; }

/* A burst of fewer move-ins is over before a rate means anything (the
 * 200-unit size has about 50 vacant units left after the other phases). */
#define BURST_RATED 500

/* Whether f(result) <= max (or >= min when max < 0) for every size that ran
 * phase p (and every move-in matched), of those with at least min_mi
 * move-ins; "not run" when none did. */
static const char *goal_all(const struct size_run *runs, unsigned nr, int p,
			    double (*f)(const struct result *), double limit, bool at_most,
			    unsigned min_mi)
{
	bool ok = true, any = false, few = false;
	unsigned i;

	for (i = 0; i < nr; i++) {
		const struct result *r = &runs[i].res[p];

		if (!r->ran)
			continue;
		if (r->moveins < min_mi) {
			few = true;
			continue;
		}
		any = true;
		ok = ok && r->matched == r->moveins && (at_most ? f(r) <= limit : f(r) >= limit);
	}
	if (!any)
		return few ? "too few move-ins to rate (more units per site, or fewer in the other "
			     "phases)" : "not run";
	return ok && few ? "goal met (where rated)" : verdict(ok);
}

static void report_goals(const struct size_run *runs, unsigned n, const struct opts *o)
{
	const struct size_run *a = &runs[0], *b = &runs[n - 1];
	const struct result *as = &a->res[P_SLOW], *bs = &b->res[P_SLOW];
	char buf[256];

	printf("\ngoals of issue 12 (fdatasync p50 %.2f ms at the state dir%s; %s):\n",
	       a->fsync_p50, n > 1 ? " of the first size" : "", bench_machine());
	if (as->ran) {
		printf("  webhook -> first vendor call, 1 ev/s, %u units/site: p50 %.1f ms, p99 %.1f ms "
		       "(goal p99 <= 5 ms): %s%s; the disk's floor beside it (two durable LMDB commits in a "
		       "row once a second): p50 %.2f ms, p99 %.2f ms\n", a->units, as->fv_p50, as->fv_p99,
		       verdict(as->fv_p99 <= 5 && as->matched == as->moveins),
		       o->sync_delay > 0 ? " (the goal is for this machine's own disk: on the slow one "
		       "the intents' commit alone, two flushes, takes longer)" : "", as->floor_p50,
		       as->floor_p99);
		if (n > 1 && bs->ran)
			printf("  same, %u units/site (the scoped cost, item 1): p50 %.1f ms, p99 %.1f ms = "
			       "x%.2f (p50) / x%.2f (p99) the %u-unit figures (goal <= x1.2): %s; commits over "
			       "5 ms in these two phases (state + events): %.0f + %.0f, then %.0f + %.0f\n",
			       b->units, bs->fv_p50, bs->fv_p99, bs->fv_p50 / as->fv_p50,
			       bs->fv_p99 / as->fv_p99, a->units,
			       verdict(bs->fv_p50 <= 1.2 * as->fv_p50 && bs->fv_p99 <= 1.2 * as->fv_p99 &&
				       bs->matched == bs->moveins), as->slow_commits[0],
			       as->slow_commits[1], bs->slow_commits[0], bs->slow_commits[1]);
		if (n > 1 && bs->ran && as->cpu_ms > 0 && bs->cpu_ms >= 0)
			printf("  serve's CPU per move-in at 1 ev/s: %.2f ms (%u units/site), %.2f ms (%u) = x%.2f "
			       "(the same cost, less sensitive to a loaded machine than latency)\n", as->cpu_ms,
			       a->units, bs->cpu_ms, b->units, bs->cpu_ms / as->cpu_ms);
	}
	if (o->phase[P_FAST]) {
		per_size(buf, sizeof(buf), runs, n, P_FAST, fv_p99, " ms");
		printf("  same under %u ev/s (1 %% move-ins): p99 %s (goal <= 20 ms at 1,000 ev/s): %s\n",
		       o->fast_rate, buf, o->fast_rate < 1000 ? "n/a (not 1,000 ev/s)" :
		       goal_all(runs, n, P_FAST, fv_p99, 20, true, 0));
	}
	if (o->phase[P_BURST]) {
		per_size(buf, sizeof(buf), runs, n, P_BURST, moveins_s, "");
		printf("  move-ins processed per s, end to end (burst): %s (goal >= 1000): %s\n", buf,
		       goal_all(runs, n, P_BURST, moveins_s, 1000, false, BURST_RATED));
	}
	if (o->phase[P_FLOOD]) {
		per_size(buf, sizeof(buf), runs, n, P_FLOOD, ingest, "/s");
		printf("  ingest, webhooks answered 200 per s (flood): %s (goal >= 5000 with fdatasync "
		       "~4 ms; this disk: %.2f ms): %s%s\n", buf, a->fsync_p50,
		       goal_all(runs, n, P_FLOOD, ingest, 5000, false, 0),
		       a->fsync_p50 < 3 ? " on this faster disk (the goal's disk: bench_serve "
		       "--sync-delay 4 --phases flood)" : "");
	}
	if (bs->ran)
		printf("  calls per move-in (1 ev/s, %u units/site): %.0f PMS reads before the vendor call, "
		       "%.1f PMS calls in all, %.1f vendor (goal <= 3 PMS reads + 1 vendor): %s\n", b->units,
		       bs->pms_before, bs->pms_per_mi, bs->ot_per_mi,
		       verdict(bs->pms_before <= 3 && bs->ot_per_mi <= 1.0));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct opts o = { { 200, 2000 }, 2, 20, 1000, 5, 0, 5000, 1000, 64, 300, 0,
			  { true, true, true, true } };
	static struct size_run runs[MAX_SIZES];
	unsigned i;
	int p;

	bench_init(argv[0]);
	parse(argc, argv, &o);
	slow_disk(argv, &o);
	for (i = 0; i < o.nsizes; i++) {
		runs[i].units = o.sizes[i];
		runs[i].inflight = o.inflight;
		runs[i].rental_workers = o.rental_workers;
		fprintf(stderr, "bench_serve: %d sites x %u units: converging\n", NSITES, runs[i].units);
		prepare(&runs[i]);
		if (o.sync_delay > 0 && runs[i].fsync_p50 < o.sync_delay)
			bench_die("--sync-delay %.1f: fdatasync still costs %.2f ms, the module did not load",
				  o.sync_delay, runs[i].fsync_p50);
		for (p = 0; p < NPHASES; p++)
			if (o.phase[p])
				run_phase(&runs[i], &o, p);
		bench_sim_stop(&runs[i].t);
		report_size(&runs[i]);
		e2e_rmdtemp(runs[i].dir);
	}
	report_goals(runs, o.nsizes, &o);
	return 0;
}
