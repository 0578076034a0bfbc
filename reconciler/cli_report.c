/* cli_report.c: reconcile report. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

static const char report_usage[] =
"Usage: reconcile report -c SPEC [options]\n"
"\n"
"Shows where the access-control systems and the PMS disagree, and why,\n"
"without changing anything (no vendor write, no PMS write). Per site: managed\n"
"units, in sync, mismatched, last successful sync; then one row per finding\n"
"(class, PMS units, rule, what the PMS says, what the vendor holds, what the\n"
"next apply would do), most severe first. A vendor that cannot be read shows\n"
"what reconcile last applied (\"as last applied\"); a site it never applied\n"
"from this state directory is not compared (no_applied_state). The classes\n"
"are listed in README.md. Gate codes are never shown.\n"
"\n"
"Options:\n"
"  -c, --config SPEC        the spec file (required)\n"
"  -s, --site NAME          only this site (repeatable)\n"
"  -f, --format FORMAT      text (default), json, csv (RFC 4180) or html\n"
"                           (one self-contained page)\n"
"  -o, --out FILE           write the report to FILE instead of stdout (to a\n"
"                           temp file renamed over FILE; FILE must be absent\n"
"                           or a regular file: a device, directory or FIFO is\n"
"                           refused)\n"
"      --refresh=false      use the cached vendor state\n"
"      --pms-snapshot FILE  read the PMS from a snapshot file\n"
"      --detailed-exitcode  exit 0 = no findings, 1 = error, 2 = findings\n"
"  -q, --quiet              no progress of the refresh (on a terminal it\n"
"                           updates in place; elsewhere one line every 5 s\n"
"                           and the last)\n"
"      --no-color           no colour (text)\n"
"  -h, --help               this text\n";

enum { O_REFRESH = 256, O_SNAPSHOT, O_DETAILED, O_NOCOLOR };

struct ropts {
	const char *spec, *out, *snapshot;
	const char *sites[64];
	size_t nsites;
	enum report_format fmt;
	bool refresh, detailed, no_color;
};

static int parse(int argc, char **argv, struct ropts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, 0, 'c' }, { "site", required_argument, 0, 's' },
		{ "format", required_argument, 0, 'f' }, { "out", required_argument, 0, 'o' },
		{ "help", no_argument, 0, 'h' }, { "refresh", required_argument, 0, O_REFRESH },
		{ "pms-snapshot", required_argument, 0, O_SNAPSHOT },
		{ "detailed-exitcode", no_argument, 0, O_DETAILED },
		{ "no-color", no_argument, 0, O_NOCOLOR }, { "quiet", no_argument, 0, 'q' },
		{ 0, 0, 0, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->refresh = true;
	optind = 1;
	for (;;) {
		c = getopt_long(argc, argv, "c:s:f:o:hq", lo, NULL);
		if (c == -1)
			break;
		if (c == 'c') {
			o->spec = optarg;
		} else if (c == 's' && o->nsites < 64) {
			o->sites[o->nsites++] = optarg;
		} else if (c == 'f') {
			if (!strcmp(optarg, "text"))
				o->fmt = REPORT_TEXT;
			else if (!strcmp(optarg, "json"))
				o->fmt = REPORT_JSON;
			else if (!strcmp(optarg, "csv"))
				o->fmt = REPORT_CSV;
			else if (!strcmp(optarg, "html"))
				o->fmt = REPORT_HTML;
			else
				return cli_error("--format takes text, json, csv or html", NULL);
		} else if (c == 'o') {
			o->out = optarg;
		} else if (c == 'h') {
			fputs(report_usage, stdout);
			return -1;
		} else if (c == O_REFRESH) {
			if (strcmp(optarg, "false") && strcmp(optarg, "true"))
				return cli_error("--refresh takes true or false", NULL);
			o->refresh = strcmp(optarg, "false") != 0;
		} else if (c == O_SNAPSHOT) {
			o->snapshot = optarg;
		} else if (c == O_DETAILED) {
			o->detailed = true;
		} else if (c == O_NOCOLOR) {
			o->no_color = true;
		} else if (c == 'q') {
			cli_set_quiet(true);
		} else {
			fputs(report_usage, stderr);
			return EXIT_ERROR;
		}
	}
	if (optind < argc)
		return cli_error("report takes no positional argument", "see --help");
	if (!o->spec)
		return cli_error("-c SPEC is required", "see --help");
	return EXIT_OK;
}

static int emit(const struct ropts *o, const struct rc_buf *b)
{
	struct rc_err err;

	if (!o->out) {
		fputs(b->p ? b->p : "", stdout);
		return EXIT_OK;
	}
	if (rc_write_file(o->out, b->p ? b->p : "", b->len, &err))
		return cli_error(err.msg, NULL);
	fprintf(stderr, "reconcile: report written to %s\n", o->out);
	return EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
	struct engine_opts eo = { 0 };
	struct spec *spec = NULL;
	struct report rep = { 0 };
	struct plan p = { 0 };
	struct rc_err err;
	struct engine e;
	struct rc_buf b;
	struct ropts o;
	size_t i;
	bool conc;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	rc_err_clear(&err);
	if (o.out && rc_check_target(o.out, &err)) /* before the work, not after */
		return cli_error(err.msg, NULL);
	if (cli_load_spec(o.spec, &spec, &err))
		return cli_error(err.msg, "run 'reconcile validate -c SPEC' for details");
	if (engine_open(&e, spec, o.snapshot, cli_log(), &err)) {
		rc = cli_error(err.msg, NULL);
		goto out;
	}
	eo.refresh = o.refresh;
	eo.sites = o.sites;
	eo.nsites = o.nsites;
	conc = cli_concurrency_begin(&e);
	rc = engine_plan(&e, &eo, &p, &err);
	cli_concurrency_end(&e, conc);
	if (rc || report_build(&e, &p, &rep, &err)) {
		rc = cli_error(err.msg, NULL);
		goto out;
	}
	rc_buf_init(&b);
	report_render(&rep, o.fmt, !o.out && cli_color(STDOUT_FILENO, o.no_color),
		      o.out ? 80 : cli_width(STDOUT_FILENO), &b);
	rc = emit(&o, &b);
	rc_buf_free(&b);
	plan_log_failures(&p, cli_log()); /* the report shows them too; stderr says it failed */
	for (i = 0; !rc && i < rep.nsites; i++)
		if (rep.sites[i].error)
			rc = EXIT_ERROR;
	if (!rc && o.detailed && rep.nrows)
		rc = EXIT_CHANGES;
out:
	report_free(&rep);
	plan_free(&p);
	engine_close(&e);
	spec_free(spec);
	return rc;
}
