/*
 * bench_plan_file.c: `reconcile plan --pms-snapshot FILE` as a whole
 * process (issue 13), against its floor measured in the same run: a child
 * that only parses the same file with json_load_file. Wall time and max RSS
 * (wait4) of each, the median of N runs, rows interleaved so that a noisy
 * neighbour hits every row alike. See --help.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "gen.h"

static const char usage[] =
"Usage: bench_plan_file [options]\n"
"\n"
"Generates a facility (sites of --units-per-site units, half rented, every\n"
"code in the PMS), prepares two state directories with the simulator and\n"
"reconcile apply (not timed), then times whole reconcile processes against\n"
"a child that only runs json_load_file on the same snapshot (the floor):\n"
"\n"
"  text       plan --pms-snapshot S --refresh=false, vendor empty (every\n"
"             rented unit a create: a first sync)\n"
"  json       the same with --json\n"
"  json+out   the same with --json --out FILE\n"
"  in sync    plan --pms-snapshot S --refresh=false, vendor in sync (no-ops)\n"
"  api        plan through the PMS API and a vendor refresh (simulator), in\n"
"             sync; no floor, RSS against the 150 MB goal\n"
"\n"
"Prints, per size, a table: median time and RSS, the floor's, the ratios and\n"
"whether the goals of issue 13 are met; with two sizes, the growth.\n"
"\n"
"Options:\n"
"  --units N[,N...]      total units per size (default 100000; 1000000 for 1M)\n"
"  --units-per-site N    (default 200)\n"
"  --mix OT,PTI,OA       percent of sites per vendor (default 100,0,0)\n"
"  --runs N              runs per row, median reported (default 5)\n"
"  --no-api              skip the api row\n"
"  --no-sync             skip the in-sync and api rows and their set-up (a first\n"
"                        sync of every create: the longest part at 1M units);\n"
"                        the growth is then that of the text row\n"
"  --setup-concurrency N serve.vendor_concurrency of the untimed setup apply\n"
"                        (default 32)\n"
"  -h, --help            this text\n"
"\n"
"Environment: RECONCILE_BIN, RECONCILE_SIM_BIN (default: next to this\n"
"program), TMPDIR, E2E_KEEP=1 keeps the temp dir. Never run by ctest.\n";

#define MAX_RUNS 64
#define MAX_SIZES 4
enum { R_TEXT, R_JSON, R_OUT, R_SYNC, R_API, NROWS };
enum { F_EMPTY, F_SYNC, NFLOORS };

struct opts {
	unsigned long units[MAX_SIZES];
	unsigned nsizes, per_site, runs, setup_conc;
	unsigned mix[3];
	bool api, sync;
};

struct sample {
	double wall[MAX_RUNS], rss[MAX_RUNS];  /* seconds, MB */
	unsigned n;
	int bad_status;                         /* last non-zero exit, or 0 */
	double med_wall, med_rss;
};

/* One size's files and results. */
struct size_run {
	unsigned long units;
	unsigned per_site;               /* units per site */
	char dir[256];
	char snap[PATH_MAX], snap_sync[PATH_MAX];
	char spec_empty[PATH_MAX], spec_sync[PATH_MAX];
	struct e2e sim;                  /* the in-sync simulator (the api row) */
	struct sample row[NROWS], floor[NFLOORS];
	char summary[NROWS][48];         /* what the plan says: +add ~change -destroy */
};

static const char *const row_names[NROWS] = { "text (vendor empty)", "--json", "--json --out",
					      "in sync", "api (PMS API + refresh)" };
/* Goals of issue 13 per row: time and RSS ratio to the floor. */
static const double goal_time[NROWS] = { 1.2, 1.2, 1.5, 1.2, 0 };
static const double goal_rss[NROWS] = { 0.5, 0.5, 0.5, 0.5, 0 };

static int parse_units(const char *s, struct opts *o)
{
	char *end;

	o->nsizes = 0;
	while (*s && o->nsizes < MAX_SIZES) {
		o->units[o->nsizes] = strtoul(s, &end, 10);
		if (end == s || !o->units[o->nsizes] || (*end && *end != ','))
			return -1;
		o->nsizes++;
		s = *end ? end + 1 : end;
	}
	return *s ? -1 : 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_UNITS = 256, O_UPS, O_MIX, O_RUNS, O_NOAPI, O_SETUP, O_NOSYNC };
	static const struct option lo[] = {
		{ "units", required_argument, 0, O_UNITS }, { "units-per-site", required_argument, 0, O_UPS },
		{ "mix", required_argument, 0, O_MIX }, { "runs", required_argument, 0, O_RUNS },
		{ "no-api", no_argument, 0, O_NOAPI }, { "no-sync", no_argument, 0, O_NOSYNC }, { "setup-concurrency", required_argument, 0, O_SETUP },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	int c;

	for (;;) {
		c = getopt_long(argc, argv, "h", lo, NULL);
		if (c == -1)
			break;
		switch (c) {
		case O_UNITS:
			if (parse_units(optarg, o))
				bench_die("--units takes N or N,N,... (at most %d sizes)", MAX_SIZES);
			break;
		case O_UPS: o->per_site = (unsigned)bench_uarg("--units-per-site", optarg, 1); break;
		case O_MIX:
			if (gen_parse_mix(optarg, o->mix))
				bench_die("--mix takes OT,PTI,OA percentages summing to 100");
			break;
		case O_RUNS: o->runs = (unsigned)bench_uarg("--runs", optarg, 1); break;
		case O_NOAPI: o->api = false; break;
		case O_NOSYNC: o->sync = o->api = false; break;
		case O_SETUP: o->setup_conc = (unsigned)bench_uarg("--setup-concurrency", optarg, 1); break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); exit(2);
		}
	}
	if (optind < argc || o->runs > MAX_RUNS || o->setup_conc > 64)
		bench_die("bad arguments (at most %d runs, setup concurrency 64); see --help", MAX_RUNS);
	return 0;
}

/* ----------------------------------------------------------- set-up */

/* Sites of --units-per-site units (default 200, issue 13's facility). */
static unsigned per_site(const struct opts *o, unsigned long units)
{
	unsigned long per = o->per_site ? o->per_site : 200;

	if (units < per || per > 999999)
		bench_die("--units %lu: not a whole site of %lu units", units, per);
	return (unsigned)per;
}

static void write_spec(const struct gen *g, const struct e2e *sim, const char *state,
		       unsigned conc, const char *path)
{
	struct gen_spec gs = { sim->base, state, conc, NULL };
	struct rc_err err;

	if (gen_write_spec(g, &gs, path, &err))
		bench_die("%s", err.msg);
}

/* reconcile apply --auto-approve with spec (untimed set-up): dies unless 0. */
static void setup_apply(struct size_run *s, const char *spec, const char *what)
{
	const char *args[] = { "apply", "-c", spec, "--auto-approve", NULL };
	char out[PATH_MAX], errp[PATH_MAX];
	struct bench_proc p;

	snprintf(out, sizeof(out), "%s/setup-%s.out", s->dir, what);
	snprintf(errp, sizeof(errp), "%s/setup-%s.err", s->dir, what);
	bench_reconcile(args, s->dir, out, errp, &p);
	if (p.status != 0)
		bench_die("set-up apply (%s) exited %d: see %s (E2E_KEEP=1 keeps it)", what, p.status, errp);
	fprintf(stderr, "  set-up apply (%s): %.1f s, %.0f MB\n", what, p.wall, (double)p.rss_kb / 1024);
}

/*
 * Two state directories: "empty" holds the vendor's units with no tenant
 * (an apply against a PMS without rentals: no operation, the observed
 * state saved), "sync" the state after a first sync (an apply of every
 * create). The in-sync snapshot is the PMS after that apply, dumped
 * through the API (write-backs included).
 */
static void prepare(struct size_run *s, const struct opts *o)
{
	struct gen g = { (unsigned)(s->units / s->per_site), s->per_site,
			 { o->mix[0], o->mix[1], o->mix[2] }, false };
	char seed[PATH_MAX], state[PATH_MAX], setup[PATH_MAX];
	struct rc_err err;
	struct e2e sim;

	e2e_mkdtemp(s->dir, sizeof(s->dir));
	snprintf(s->snap, sizeof(s->snap), "%s/snapshot.json", s->dir);
	snprintf(s->snap_sync, sizeof(s->snap_sync), "%s/snapshot-sync.json", s->dir);
	snprintf(seed, sizeof(seed), "%s/seed-empty.json", s->dir);
	if (gen_write_seed(&g, seed, &err))
		bench_die("%s", err.msg);
	g.rentals = true;
	if (gen_write_snapshot(&g, s->snap, &err))
		bench_die("%s", err.msg);
	bench_sim_start(&sim, s->dir, seed);
	snprintf(state, sizeof(state), "%s/state-empty", s->dir);
	snprintf(s->spec_empty, sizeof(s->spec_empty), "%s/spec-empty.json", s->dir);
	write_spec(&g, &sim, state, 0, s->spec_empty);
	setup_apply(s, s->spec_empty, "vendor-empty");
	bench_sim_stop(&sim);
	if (!o->sync)
		return;

	snprintf(seed, sizeof(seed), "%s/seed.json", s->dir);
	if (gen_write_seed(&g, seed, &err))
		bench_die("%s", err.msg);
	bench_sim_start(&s->sim, s->dir, seed);
	snprintf(state, sizeof(state), "%s/state-sync", s->dir);
	snprintf(setup, sizeof(setup), "%s/spec-setup.json", s->dir);
	write_spec(&g, &s->sim, state, o->setup_conc, setup);
	setup_apply(s, setup, "first-sync");
	snprintf(s->spec_sync, sizeof(s->spec_sync), "%s/spec-sync.json", s->dir);
	write_spec(&g, &s->sim, state, 0, s->spec_sync);
	bench_dump_pms(&s->sim, s->snap_sync);
}

/* ------------------------------------------------------------ runs */

static void add_sample(struct sample *x, const struct bench_proc *p)
{
	x->wall[x->n] = p->wall;
	x->rss[x->n] = (double)p->rss_kb / 1024;
	x->n++;
	if (p->status != 0)
		x->bad_status = p->status;
}

/* What a plan's output says it would do, from its end. */
static void summarize(const char *path, char *out, size_t n)
{
	char *text = NULL, *p;
	unsigned a = 0, c = 0, d = 0;
	struct rc_err err;

	snprintf(out, n, "?");
	if (rc_read_file(path, &text, NULL, &err))
		return;
	p = strstr(text, "Plan: ");
	if (p && sscanf(p, "Plan: %u to add, %u to change, %u to destroy", &a, &c, &d) == 3)
		snprintf(out, n, "+%u ~%u -%u", a, c, d);
	else if (strstr(text, "No changes"))
		snprintf(out, n, "no changes");
	p = strstr(text, "\"summary\": {");
	if (p && sscanf(p, "\"summary\": { \"add\": %u, \"change\": %u, \"destroy\": %u", &a, &c, &d) == 3)
		snprintf(out, n, "+%u ~%u -%u", a, c, d);
	free(text);
}

static void run_row(struct size_run *s, int row, bool first)
{
	const char *snap = row == R_SYNC ? s->snap_sync : s->snap;
	const char *spec = row < R_SYNC ? s->spec_empty : s->spec_sync;
	char out[PATH_MAX], errp[PATH_MAX], saved[PATH_MAX];
	const char *args[12] = { "plan", "-c", spec };
	struct bench_proc p;
	int n = 3;

	snprintf(out, sizeof(out), "%s/row%d.out", s->dir, row);
	snprintf(errp, sizeof(errp), "%s/row%d.err", s->dir, row);
	snprintf(saved, sizeof(saved), "%s/row%d.plan", s->dir, row);
	if (row != R_API) {
		args[n++] = "--pms-snapshot";
		args[n++] = snap;
		args[n++] = "--refresh=false";
	}
	if (row == R_JSON || row == R_OUT)
		args[n++] = "--json";
	if (row == R_OUT) {
		args[n++] = "--out";
		args[n++] = saved;
	}
	args[n] = NULL;
	bench_reconcile(args, s->dir, out, errp, &p);
	add_sample(&s->row[row], &p);
	if (first)
		summarize(out, s->summary[row], sizeof(s->summary[row]));
	if (p.status != 0)
		fprintf(stderr, "  %s: exit %d (see %s)\n", row_names[row], p.status, errp);
}

static void run_floor(struct size_run *s, int f)
{
	const char *argv[] = { bench_self(), "--floor-parse", f == F_SYNC ? s->snap_sync : s->snap,
			       NULL };
	struct bench_proc p;

	bench_run(argv, s->dir, NULL, NULL, &p);
	add_sample(&s->floor[f], &p);
}

static void measure(struct size_run *s, const struct opts *o)
{
	unsigned r;
	int i;

	for (r = 0; r < o->runs; r++) {
		fprintf(stderr, "  run %u/%u\n", r + 1, o->runs);
		for (i = 0; i < NFLOORS; i++)
			if (i != F_SYNC || o->sync)
				run_floor(s, i);
		for (i = 0; i < NROWS; i++)
			if ((i != R_API || o->api) && (i != R_SYNC || o->sync))
				run_row(s, i, r == 0);
	}
	for (i = 0; i < NROWS; i++) {
		s->row[i].med_wall = bench_median(s->row[i].wall, s->row[i].n);
		s->row[i].med_rss = bench_median(s->row[i].rss, s->row[i].n);
	}
	for (i = 0; i < NFLOORS; i++) {
		s->floor[i].med_wall = bench_median(s->floor[i].wall, s->floor[i].n);
		s->floor[i].med_rss = bench_median(s->floor[i].rss, s->floor[i].n);
	}
}

/* ----------------------------------------------------------- report */

static void print_row(const struct size_run *s, int row)
{
	const struct sample *x = &s->row[row];
	const struct sample *f = &s->floor[row == R_SYNC ? F_SYNC : F_EMPTY];
	double tr = x->med_wall / f->med_wall, mr = x->med_rss / f->med_rss;
	char goal[64], verdict[32];

	if (!x->n)
		return;
	if (row == R_API) {
		snprintf(goal, sizeof(goal), "RSS <= 150 MB at 100k");
		snprintf(verdict, sizeof(verdict), s->units != 100000 ? "n/a (not 100k)" :
			 x->med_rss <= 150 ? "goal met" : "goal not met");
		printf("%-24s %6.2f s %7.0f MB %9s %10s %7s %7s  %-14s %-28s %s%s\n", row_names[row],
		       x->med_wall, x->med_rss, "-", "-", "-", "-", s->summary[row], goal, verdict,
		       x->bad_status ? "  (a run failed)" : "");
		return;
	}
	snprintf(goal, sizeof(goal), "time <= %.1fx, RSS <= %.1fx", goal_time[row], goal_rss[row]);
	snprintf(verdict, sizeof(verdict), "%s",
		 tr <= goal_time[row] && mr <= goal_rss[row] ? "goal met" : "goal not met");
	printf("%-24s %6.2f s %7.0f MB %7.2f s %7.0f MB %6.2fx %6.2fx  %-14s %-28s %s%s\n",
	       row_names[row], x->med_wall, x->med_rss, f->med_wall, f->med_rss, tr, mr,
	       s->summary[row], goal, verdict, x->bad_status ? "  (a run failed)" : "");
}

static void report(const struct size_run *s, const struct opts *o)
{
	int i;

	printf("\nbench_plan_file: %lu units (%lu sites x %u, mix OT %u%% PTI %u%% OA %u%%), "
	       "median of %u runs\n", s->units, s->units / s->per_site, s->per_site, o->mix[0],
	       o->mix[1], o->mix[2], o->runs);
	if (o->sync)
		printf("snapshot %.1f MB (in sync: %.1f MB); %s\n", (double)bench_file_size(s->snap) / 1e6,
		       (double)bench_file_size(s->snap_sync) / 1e6, bench_machine());
	else
		printf("snapshot %.1f MB (no in-sync set-up: --no-sync); %s\n",
		       (double)bench_file_size(s->snap) / 1e6, bench_machine());
	printf("floor: a child running json_load_file on the same file, nothing else\n\n");
	printf("%-24s %8s %10s %9s %10s %7s %7s  %-14s %-28s %s\n", "row", "time", "RSS",
	       "floor", "floor RSS", "time x", "RSS x", "plan", "goal (issue 13)", "");
	for (i = 0; i < NROWS; i++)
		print_row(s, i);
	fflush(stdout);
}

/* 1M against 100k (or the largest size against the smallest). */
static void report_growth(const struct size_run *runs, unsigned n, const struct opts *o)
{
	const struct size_run *a = &runs[0], *b = &runs[n - 1];
	int row = o->sync ? R_SYNC : R_TEXT;
	double tr = b->row[row].med_wall / a->row[row].med_wall;
	double lim = 1.05 * (double)b->units / (double)a->units; /* 10.5 at 100k -> 1M */

	printf("\ngrowth %lu -> %lu units (%s): time x%.2f (goal <= x%.1f, 1.05 x the size ratio: %s), "
	       "RSS %.0f MB (goal <= 1 GB at 1M: %s)\n", a->units, b->units, row_names[row], tr, lim,
	       tr <= lim ? "goal met" : "goal not met", b->row[row].med_rss,
	       b->units != 1000000 ? "n/a" : b->row[row].med_rss <= 1024 ? "goal met" : "goal not met");
}

int main(int argc, char **argv)
{
	struct opts o = { { 100000 }, 1, 0, 5, 32, { 100, 0, 0 }, true, true };
	static struct size_run runs[MAX_SIZES];
	unsigned i;

	if (argc == 3 && !strcmp(argv[1], "--floor-parse")) {
		json_t *j = json_load_file(argv[2], JSON_REJECT_DUPLICATES, NULL);

		_exit(j ? 0 : 1); /* nothing else: not even freeing the tree */
	}
	bench_init(argv[0]);
	parse(argc, argv, &o);
	for (i = 0; i < o.nsizes; i++) {
		runs[i].units = o.units[i];
		runs[i].per_site = per_site(&o, runs[i].units);
		fprintf(stderr, "bench_plan_file: %lu units: preparing\n", runs[i].units);
		prepare(&runs[i], &o);
		measure(&runs[i], &o);
		bench_sim_stop(&runs[i].sim);
		report(&runs[i], &o);
		e2e_rmdtemp(runs[i].dir);
	}
	if (o.nsizes > 1)
		report_growth(runs, o.nsizes, &o);
	return 0;
}
