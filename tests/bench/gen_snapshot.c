/*
 * gen_snapshot.c: writes a generated facility (tests/bench/lib/gen.h) to a
 * directory: the Storeganise snapshot file, a matching spec and a
 * simulator seed. See --help.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen.h"

static const char usage[] =
"Usage: gen_snapshot [options]\n"
"\n"
"Generates SITES sites of UNITS units each, a vendor per site after the mix,\n"
"every other unit rented (half), one customer per rental, every rental's code\n"
"of record in the PMS. Writes to DIR:\n"
"  snapshot.json  {sites, units, unitRentals, users} in the Storeganise API's\n"
"                 shapes, for 'reconcile plan --pms-snapshot DIR/snapshot.json'\n"
"  spec.json      the spec (state_dir DIR/state; URLs of --sim)\n"
"  seed.json      a reconcile-sim seed with the same PMS data and every\n"
"                 vendor's units vacant (unless --no-seed)\n"
"\n"
"Options:\n"
"  --sites N           number of sites (default 500)\n"
"  --units-per-site N  units per site (default 200, at most 999999)\n"
"  --units N           total units: sets --sites to N / units-per-site\n"
"  --mix OT,PTI,OA     percent of the sites per vendor (default 100,0,0)\n"
"  --empty             no rentals and no customers (every unit available)\n"
"  --out DIR           output directory, made if absent (default: a new\n"
"                      $TMPDIR/reconcile-bench-XXXXXX, printed; kept)\n"
"  --sim URL           simulator base URL in the spec (default\n"
"                      http://127.0.0.1:9, unused by --refresh=false plans)\n"
"  --no-seed           do not write seed.json\n"
"  -h, --help          this text\n"
"\n"
"Example:\n"
"  build/gen_snapshot --units 100000 --out /tmp/s100k\n"
"  build/reconcile plan -c /tmp/s100k/spec.json --pms-snapshot /tmp/s100k/snapshot.json\n";

struct opts {
	struct gen g;
	unsigned long total;
	const char *out, *sim;
	bool seed, total_given;
};

/* A whole number up to 10^9, or 0 (refused by the caller) when malformed. */
static unsigned long number(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	return end == s || *end || *s == '-' || v > 1000000000ul ? 0 : v;
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_SITES = 256, O_UPS, O_UNITS, O_MIX, O_EMPTY, O_OUT, O_SIM, O_NOSEED };
	static const struct option lo[] = {
		{ "sites", required_argument, 0, O_SITES }, { "units-per-site", required_argument, 0, O_UPS },
		{ "units", required_argument, 0, O_UNITS }, { "mix", required_argument, 0, O_MIX },
		{ "empty", no_argument, 0, O_EMPTY }, { "out", required_argument, 0, O_OUT },
		{ "sim", required_argument, 0, O_SIM }, { "no-seed", no_argument, 0, O_NOSEED },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	int c;

	for (;;) {
		c = getopt_long(argc, argv, "h", lo, NULL);
		if (c == -1)
			break;
		switch (c) {
		case O_SITES: o->g.sites = (unsigned)number(optarg); break;
		case O_UPS: o->g.units = (unsigned)number(optarg); break;
		case O_UNITS:
			o->total = number(optarg);
			o->total_given = true;
			break;
		case O_MIX:
			if (!gen_parse_mix(optarg, o->g.mix))
				break;
			fputs("gen_snapshot: --mix takes OT,PTI,OA percentages summing to 100\n", stderr);
			return 1;
		case O_EMPTY: o->g.rentals = false; break;
		case O_OUT: o->out = optarg; break;
		case O_SIM: o->sim = optarg; break;
		case O_NOSEED: o->seed = false; break;
		case 'h': fputs(usage, stdout); return -1;
		default: fputs(usage, stderr); return 1;
		}
	}
	if (o->total)
		o->g.sites = (unsigned)(o->total / (o->g.units ? o->g.units : 1));
	else if (o->total_given)
		o->g.sites = 0;
	if (optind < argc || !o->g.sites || !o->g.units || o->g.units > 999999) {
		fputs("gen_snapshot: need at least one site of 1..999999 units (see --help)\n", stderr);
		return 1;
	}
	return 0;
}

static int make_out(struct opts *o, char *dir, size_t n)
{
	const char *tmp = getenv("TMPDIR");

	if (o->out) {
		snprintf(dir, n, "%s", o->out);
		if (mkdir(dir, 0755) && errno != EEXIST) { /* the parent must exist */
			perror(dir);
			return 1;
		}
		/* absolute: the spec's state_dir is read relative to the spec's dir */
		if (!realpath(o->out, dir)) {
			perror(o->out);
			return 1;
		}
		return 0;
	}
	snprintf(dir, n, "%s/reconcile-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .g = { 500, 200, { 100, 0, 0 }, true }, .sim = "http://127.0.0.1:9",
			  .seed = true };
	char dir[PATH_MAX], path[PATH_MAX + 32], state[PATH_MAX + 32];
	struct gen_spec gs = { 0 };
	struct rc_err err;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (make_out(&o, dir, sizeof(dir)))
		return 1;
	snprintf(path, sizeof(path), "%s/snapshot.json", dir);
	rc = gen_write_snapshot(&o.g, path, &err);
	snprintf(state, sizeof(state), "%s/state", dir);
	gs.sim = o.sim;
	gs.state_dir = state;
	snprintf(path, sizeof(path), "%s/spec.json", dir);
	if (!rc)
		rc = gen_write_spec(&o.g, &gs, path, &err);
	snprintf(path, sizeof(path), "%s/seed.json", dir);
	if (!rc && o.seed)
		rc = gen_write_seed(&o.g, path, &err);
	if (rc) {
		fprintf(stderr, "gen_snapshot: %s\n", err.msg);
		return 1;
	}
	printf("%s: %u sites x %u units (%lu), mix %u,%u,%u%s\n", dir, o.g.sites, o.g.units,
	       (unsigned long)o.g.sites * o.g.units, o.g.mix[0], o.g.mix[1], o.g.mix[2],
	       o.g.rentals ? ", half rented" : ", empty");
	return 0;
}
