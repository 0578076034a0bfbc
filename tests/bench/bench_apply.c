/*
 * bench_apply.c: `reconcile apply --auto-approve` of N OpenTech creates
 * against the simulator with a per-API latency standing in for a distant
 * vendor (issue 13), against its floor measured in the same run: a raw
 * libcurl multi client replaying the same requests (method, path, query,
 * bodies) with the same number in flight, keep-alive, on a fresh simulator.
 * See --help.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"
#include "gen.h"
#include "multi.h"

static const char usage[] =
"Usage: bench_apply [options]\n"
"\n"
"Generates OpenTech sites (half their units rented, every code in the PMS,\n"
"the vendor empty) holding N creates, starts the simulator with a latency\n"
"on the OpenTech API (POST /_sim/settings), and times, each on a fresh\n"
"simulator:\n"
"\n"
"  reconcile   reconcile apply --auto-approve (the whole process: PMS read,\n"
"              vendor refresh, plan, N creates, journal)\n"
"  floor       a raw libcurl multi client making the requests reconcile made\n"
"              (from the simulator's log; create bodies as reconcile sends\n"
"              them), at most --concurrency in flight per API, keep-alive\n"
"  serial      reconcile apply with serve.vendor_concurrency 1 (the product\n"
"              has no serial flag: one request in flight per vendor is the\n"
"              nearest), on the first sites holding --serial-creates creates\n"
"\n"
"Prints creates/s of each, reconcile's ratio to the floor (goal of issue 13:\n"
">= 0.7x) and to serial (goal >= 20x), and the disk's fdatasync cost at the\n"
"state dir.\n"
"\n"
"Options:\n"
"  --creates N          creates to make (default 20000; rounded up to whole sites)\n"
"  --units-per-site N   (default 2000, so 1000 creates a site)\n"
"  --latency-ms N       OpenTech latency (default 50)\n"
"  --jitter-ms N        uniform extra 0..N ms (default 0)\n"
"  --concurrency N      serve.vendor_concurrency of the spec, and the floor's\n"
"                       requests in flight per API (default 4, the product's\n"
"                       default)\n"
"  --serial-creates N   creates of the serial run (default 1000; 0: skip it)\n"
"  -h, --help           this text\n"
"\n"
"Environment: RECONCILE_BIN, RECONCILE_SIM_BIN (default: next to this\n"
"program), TMPDIR, E2E_KEEP=1 keeps the temp dir. Never run by ctest.\n";

struct opts {
	unsigned creates, per_site, latency, jitter, conc, serial;
};

enum { G_SG, G_OT, G_OTHER };

/* What one side did. */
struct side {
	double wall;
	long rss_kb;            /* reconcile only */
	double cpu;             /* reconcile only: user + system s */
	size_t requests, creates, failed;
	unsigned max_inflight;  /* OpenTech, from the simulator's log (reconcile) */
	int status;
};

struct bench {
	struct opts o;
	struct gen g;
	char dir[256], seed[PATH_MAX], spec[PATH_MAX], spec_serial[PATH_MAX];
	json_t *log;            /* reconcile's requests (the simulator's log) */
	struct side rec, floor, serial;
	unsigned serial_sites;
	double fsync_p50, fsync_p99;
};

static void parse(int argc, char **argv, struct opts *o)
{
	enum { O_CREATES = 256, O_UPS, O_LAT, O_JIT, O_CONC, O_SERIAL };
	static const struct option lo[] = {
		{ "creates", required_argument, 0, O_CREATES }, { "units-per-site", required_argument, 0, O_UPS },
		{ "latency-ms", required_argument, 0, O_LAT }, { "jitter-ms", required_argument, 0, O_JIT },
		{ "concurrency", required_argument, 0, O_CONC }, { "serial-creates", required_argument, 0, O_SERIAL },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	int c;

	for (;;) {
		c = getopt_long(argc, argv, "h", lo, NULL);
		if (c == -1)
			break;
		switch (c) {
		case O_CREATES: o->creates = (unsigned)bench_uarg("--creates", optarg, 1); break;
		case O_UPS: o->per_site = (unsigned)bench_uarg("--units-per-site", optarg, 1); break;
		case O_LAT: o->latency = (unsigned)bench_uarg("--latency-ms", optarg, 0); break;
		case O_JIT: o->jitter = (unsigned)bench_uarg("--jitter-ms", optarg, 0); break;
		case O_CONC: o->conc = (unsigned)bench_uarg("--concurrency", optarg, 1); break;
		case O_SERIAL: o->serial = (unsigned)bench_uarg("--serial-creates", optarg, 0); break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); exit(2);
		}
	}
	if (optind < argc || o->per_site < 2 || o->per_site > 999999 || o->conc > 64 ||
	    o->latency > 600000 || o->jitter > 600000)
		bench_die("bad arguments (2..999999 units per site, concurrency 1..64); see --help");
}

/* ----------------------------------------------------------- set-up */

static void prepare(struct bench *b)
{
	unsigned per = b->o.per_site / 2;
	struct rc_err err;

	b->g.sites = (b->o.creates + per - 1) / per;
	b->g.units = b->o.per_site;
	b->g.mix[0] = 100;
	b->g.rentals = true;
	b->serial_sites = (b->o.serial + per - 1) / per;
	if (b->serial_sites > b->g.sites)
		b->serial_sites = b->g.sites;
	if (b->serial_sites > 30)
		bench_die("--serial-creates needs more than 30 sites: raise --units-per-site");
	e2e_mkdtemp(b->dir, sizeof(b->dir));
	snprintf(b->seed, sizeof(b->seed), "%s/seed.json", b->dir);
	if (gen_write_seed(&b->g, b->seed, &err))
		bench_die("%s", err.msg);
	bench_fsync_cost(b->dir, 200, &b->fsync_p50, &b->fsync_p99);
}

/* A fresh simulator with the latency, and a spec pointing at it. */
static void sim_up(struct bench *b, struct e2e *sim, const char *spec, const char *state,
		   unsigned conc)
{
	struct gen_spec gs = { NULL, NULL, conc, NULL };
	char path[PATH_MAX];
	struct rc_err err;

	bench_sim_start(sim, b->dir, b->seed);
	bench_sim_latency(sim, "opentech", (int)b->o.latency, (int)b->o.jitter);
	snprintf(path, sizeof(path), "%s/%s", b->dir, state);
	gs.sim = sim->base;
	gs.state_dir = path;
	if (spec && gen_write_spec(&b->g, &gs, spec, &err))
		bench_die("%s", err.msg);
	sim_clear_requests(sim);
}

/* ------------------------------------------------------------ count */

static bool is_create(json_t *e)
{
	const char *m = json_string_value(json_object_get(e, "method"));
	const char *p = json_string_value(json_object_get(e, "path"));
	unsigned fid;
	int end = 0;

	return m && p && !strcmp(m, "POST") &&
	       sscanf(p, "/opentech/facilities/%u/visitors%n", &fid, &end) == 1 && !p[end];
}

static int cmp_ev(const void *a, const void *b)
{
	const double *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The most requests to api the simulator held at once (arrival to answer). */
static unsigned max_inflight(json_t *log, const char *api)
{
	double (*ev)[2] = rc_calloc(2 * json_array_size(log) + 1, sizeof(*ev));
	size_t i, n = 0;
	unsigned cur = 0, max = 0;
	json_t *e;

	json_array_foreach(log, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "api")) ?: "", api))
			continue;
		ev[n][0] = json_real_value(json_object_get(e, "at"));
		ev[n++][1] = 1;
		ev[n][0] = json_real_value(json_object_get(e, "answered"));
		ev[n++][1] = -1;
	}
	qsort(ev, n, sizeof(*ev), cmp_ev); /* an answer and an arrival at once: either order */
	for (i = 0; i < n; i++) {
		cur = (unsigned)((int)cur + (int)ev[i][1]);
		max = cur > max ? cur : max;
	}
	free(ev);
	return max;
}

static void count_log(json_t *log, struct side *s)
{
	size_t i;
	json_t *e;

	s->requests = json_array_size(log);
	json_array_foreach(log, i, e) {
		long st = (long)json_integer_value(json_object_get(e, "status"));

		if (st < 200 || st > 299)
			s->failed++;
		else if (is_create(e))
			s->creates++;
	}
	s->max_inflight = max_inflight(log, "opentech");
}

/* ------------------------------------------------------------- runs */

static void run_reconcile(struct bench *b, const char *spec, const char *const *sites,
			  const char *what, struct side *s, json_t **log)
{
	const char *args[40] = { "apply", "-c", spec, "--auto-approve" };
	char out[PATH_MAX], errp[PATH_MAX];
	struct bench_proc p;
	struct e2e sim;
	int n = 4;

	sim_up(b, &sim, spec, what, s == &b->serial ? 1 : b->o.conc);
	for (; sites && *sites && n < 38; sites++) {
		args[n++] = "--site";
		args[n++] = *sites;
	}
	args[n] = NULL;
	snprintf(out, sizeof(out), "%s/%s.out", b->dir, what);
	snprintf(errp, sizeof(errp), "%s/%s.err", b->dir, what);
	fprintf(stderr, "  %s...\n", what);
	bench_reconcile(args, b->dir, out, errp, &p);
	s->wall = p.wall;
	s->rss_kb = p.rss_kb;
	s->cpu = p.cpu;
	s->status = p.status;
	if (p.status != 0)
		fprintf(stderr, "  %s: exit %d (see %s; E2E_KEEP=1 keeps it)\n", what, p.status, errp);
	*log = bench_sim_requests(&sim);
	count_log(*log, s);
	bench_sim_stop(&sim);
}

static void run_serial(struct bench *b)
{
	char names[30][16];
	const char *sites[31];
	unsigned k;
	json_t *log = NULL;

	for (k = 0; k < b->serial_sites; k++) {
		snprintf(names[k], sizeof(names[k]), "site%u", k);
		sites[k] = names[k];
	}
	sites[k] = NULL;
	snprintf(b->spec_serial, sizeof(b->spec_serial), "%s/spec-serial.json", b->dir);
	run_reconcile(b, b->spec_serial, sites, "serial", &b->serial, &log);
	json_decref(log);
}

/* ------------------------------------------------------------ floor */

#define OT_FORM "grant_type=password&username=demo-opentech-key&password=demo-opentech-secret" \
		"&client_id=demo-integrator&client_secret=demo-integrator-secret"

/* A bearer token for the floor's OpenTech calls (new). */
static char *ot_token(struct e2e *sim)
{
	const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	char url[128], *body = NULL, *tok = NULL;
	long st = 0;
	json_t *j;

	snprintf(url, sizeof(url), "%s/opentech/auth/token", sim->base);
	if (bench_http("POST", url, hdrs, OT_FORM, &st, &body) || st != 200)
		bench_die("OpenTech token: HTTP %ld", st);
	j = json_loads(body, 0, NULL);
	tok = rc_strdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	free(body);
	if (!tok)
		bench_die("OpenTech token: no access_token");
	return tok;
}

struct replay {
	struct mreq *r;
	size_t n;
	bool *create;
	struct curl_slist *sg, *form, *json;
	unsigned *next;         /* per site: the next rented unit to create */
};

/* The body reconcile sent for this logged request (new or NULL). */
static char *replay_body(struct replay *x, const struct bench *b, json_t *e, bool create)
{
	const char *m = json_string_value(json_object_get(e, "method"));
	const char *p = json_string_value(json_object_get(e, "path"));
	unsigned fid = 0, k;

	if (create) {
		sscanf(p, "/opentech/facilities/%u/visitors", &fid);
		k = fid - 100000;
		if (k >= b->g.sites || x->next[k] >= b->g.units)
			bench_die("replay: a create for facility %u that the data does not hold", fid);
		x->next[k] += 2;
		return gen_ot_create_body(k, x->next[k] - 2);
	}
	if (!strcmp(p, "/opentech/auth/token"))
		return rc_strdup(OT_FORM);
	if (!strcmp(m, "PUT"))
		return rc_strdup("{\"customFields\":{}}"); /* none expected: every code is in the PMS */
	return strcmp(m, "GET") ? rc_strdup("{}") : NULL;
}

static void replay_build(struct replay *x, const struct bench *b, struct e2e *sim)
{
	char *tok = ot_token(sim), *auth = rc_sprintf("Authorization: Bearer %s", tok);
	size_t i;
	json_t *e;

	x->sg = curl_slist_append(NULL, "Authorization: ApiKey demo-storeganise-key");
	x->form = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
	x->json = curl_slist_append(NULL, auth);
	x->json = curl_slist_append(x->json, "api-version: 2.0");
	x->json = curl_slist_append(x->json, "Content-Type: application/json");
	x->n = json_array_size(b->log);
	x->r = rc_calloc(x->n + 1, sizeof(*x->r));
	x->create = rc_calloc(x->n + 1, sizeof(bool));
	x->next = rc_calloc(b->g.sites + 1, sizeof(unsigned));
	json_array_foreach(b->log, i, e) {
		const char *api = json_string_value(json_object_get(e, "api")) ?: "";
		const char *path = json_string_value(json_object_get(e, "path")) ?: "";
		const char *q = json_string_value(json_object_get(e, "query")) ?: "";
		struct mreq *r = &x->r[i];

		x->create[i] = is_create(e);
		r->method = json_string_value(json_object_get(e, "method"));
		r->url = rc_sprintf("%s%s%s%s", sim->base, path, *q ? "?" : "", q);
		r->body = replay_body(x, b, e, x->create[i]);
		r->group = !strcmp(api, "storeganise") ? G_SG : !strcmp(api, "opentech") ? G_OT : G_OTHER;
		r->headers = r->group == G_SG ? x->sg : !strcmp(path, "/opentech/auth/token") ? x->form : x->json;
	}
	free(auth);
	free(tok);
}

static void replay_free(struct replay *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		free(x->r[i].url);
		free(x->r[i].body);
	}
	free(x->r);
	free(x->create);
	free(x->next);
	curl_slist_free_all(x->sg);
	curl_slist_free_all(x->form);
	curl_slist_free_all(x->json);
}

static void run_floor(struct bench *b)
{
	unsigned limit[MULTI_GROUPS] = { b->o.conc, b->o.conc, b->o.conc, 0 };
	struct replay x;
	struct e2e sim;
	json_t *log;
	size_t i;

	memset(&x, 0, sizeof(x));
	fprintf(stderr, "  floor (raw libcurl multi)...\n");
	sim_up(b, &sim, NULL, NULL, b->o.conc);
	replay_build(&x, b, &sim);
	sim_clear_requests(&sim);
	b->floor.wall = multi_run(x.r, x.n, limit);
	b->floor.requests = x.n;
	for (i = 0; i < x.n; i++) {
		if (x.r[i].status < 200 || x.r[i].status > 299)
			b->floor.failed++;
		else if (x.create[i])
			b->floor.creates++;
	}
	log = bench_sim_requests(&sim);
	b->floor.max_inflight = max_inflight(log, "opentech");
	json_decref(log);
	bench_sim_stop(&sim);
	replay_free(&x);
}

/* ----------------------------------------------------------- report */

static void print_side(const char *name, const struct side *s)
{
	char rss[32] = "-", cpu[32] = "-";

	if (s->rss_kb) {
		snprintf(rss, sizeof(rss), "%.0f MB", (double)s->rss_kb / 1024);
		snprintf(cpu, sizeof(cpu), "%.1f s", s->cpu);
	}
	printf("%-34s %9zu %8zu %7zu %9.1f s %9.1f %9u %9s %9s%s\n", name, s->requests, s->creates,
	       s->failed, s->wall, s->wall > 0 ? (double)s->creates / s->wall : 0, s->max_inflight,
	       rss, cpu, s->status ? "  (exit status not 0)" : "");
}

static void report(const struct bench *b)
{
	double rec = b->rec.wall > 0 ? (double)b->rec.creates / b->rec.wall : 0;
	double flo = b->floor.wall > 0 ? (double)b->floor.creates / b->floor.wall : 0;
	double ser = b->serial.wall > 0 ? (double)b->serial.creates / b->serial.wall : 0;

	printf("\nbench_apply: %u creates (%u OpenTech sites x %u units, half rented), OpenTech latency "
	       "%u ms + 0..%u ms, vendor_concurrency %u\n", b->g.sites * (b->g.units / 2), b->g.sites,
	       b->g.units, b->o.latency, b->o.jitter, b->o.conc);
	printf("%s; fdatasync at the state dir: p50 %.2f ms, p99 %.2f ms\n\n", bench_machine(),
	       b->fsync_p50, b->fsync_p99);
	printf("%-34s %9s %8s %7s %11s %9s %9s %9s %9s\n", "", "requests", "creates", "not 2xx", "wall",
	       "creates/s", "OT flight", "RSS", "CPU");
	print_side("reconcile apply", &b->rec);
	print_side("floor: raw libcurl multi", &b->floor);
	if (b->o.serial)
		print_side("serial: vendor_concurrency 1", &b->serial);
	printf("\nreconcile / floor: %.2fx   goal >= 0.7x: %s\n", flo > 0 ? rec / flo : 0,
	       flo > 0 && rec / flo >= 0.7 ? "goal met" : "goal not met");
	if (b->o.serial)
		printf("reconcile / serial: %.1fx   goal >= 20x: %s\n", ser > 0 ? rec / ser : 0,
		       ser > 0 && rec / ser >= 20 ? "goal met" : "goal not met");
	printf("(OT flight: the most OpenTech requests the simulator held at once, from its log;\n"
	       " CPU: reconcile's user + system time: near its wall time, reconcile is CPU-bound)\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct bench b = { .o = { 20000, 2000, 50, 0, 4, 1000 } };

	bench_init(argv[0]);
	parse(argc, argv, &b.o);
	prepare(&b);
	fprintf(stderr, "bench_apply: %u sites x %u units in %s\n", b.g.sites, b.g.units, b.dir);
	snprintf(b.spec, sizeof(b.spec), "%s/spec.json", b.dir);
	run_reconcile(&b, b.spec, NULL, "reconcile", &b.rec, &b.log);
	if (b.rec.creates < b.g.sites * (b.g.units / 2))
		fprintf(stderr, "  warning: reconcile made %zu creates of %u (the simulator keeps the last "
			"100,000 requests)\n", b.rec.creates, b.g.sites * (b.g.units / 2));
	run_floor(&b);
	if (b.o.serial)
		run_serial(&b);
	report(&b);
	json_decref(b.log);
	e2e_rmdtemp(b.dir);
	return 0;
}
