/* cli_plan.c: reconcile plan, apply and validate. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <ev.h>

#include "cli.h"
#include "commit.h"
#include "engine.h"
#include "core/fiber.h"
#include "providers/http.h"
#include "providers/vendor.h"

static const char plan_usage[] =
"Usage: reconcile plan -c SPEC [options]\n"
"\n"
"Reads the PMS and each site's vendor, and shows the operations that would\n"
"bring the vendor in line with the PMS. Changes nothing.\n"
"\n"
"Options:\n"
"  -c, --config SPEC        the spec file (required)\n"
"  -s, --site NAME          only this site (repeatable)\n"
"      --json               print the plan as JSON (format_version 1.0)\n"
"  -o, --out FILE           save the plan for 'reconcile apply FILE' (written\n"
"                           to a temp file, then renamed over FILE; FILE must\n"
"                           be absent or a regular file: a device, directory\n"
"                           or FIFO is refused)\n"
"      --detailed-exitcode  exit 0 = no changes, 1 = error, 2 = changes\n"
"      --refresh=false      plan from the cached vendor state (faster; may be\n"
"                           out of date)\n"
"      --pms-snapshot FILE  read the PMS from a snapshot file\n"
"                           {sites, units, unitRentals, users} instead of the API\n"
"  -q, --quiet              no progress of the refresh (on a terminal it\n"
"                           updates in place; elsewhere one line every 5 s\n"
"                           and the last)\n"
"      --no-color           no colour even on a terminal (NO_COLOR works too)\n"
"  -h, --help               this text\n"
"\n"
"Gate codes never appear in the output: they show as (sensitive value).\n";

static const char apply_usage[] =
"Usage: reconcile apply -c SPEC [PLANFILE] [options]\n"
"\n"
"Without PLANFILE: plans, shows the plan and asks for confirmation (on a\n"
"terminal), then performs it. With PLANFILE (from 'reconcile plan --out'):\n"
"performs exactly that plan, or refuses it as stale when a site's state or\n"
"its PMS data changed since.\n"
"\n"
"Options:\n"
"  -c, --config SPEC        the spec file (required)\n"
"  -s, --site NAME          only this site (repeatable; not with PLANFILE)\n"
"      --auto-approve       do not ask for confirmation\n"
"      --allow-destructive  allow vacating more units than max_destructive (R10)\n"
"      --refresh=false      plan from the cached vendor state\n"
"  -q, --quiet              no progress of the refresh and the apply (on a\n"
"                           terminal it updates in place; elsewhere one line\n"
"                           every 5 s and the last)\n"
"      --no-color           no colour\n"
"  -h, --help               this text\n"
"\n"
"Only one apply runs at a time per state directory.\n";

static const char validate_usage[] =
"Usage: reconcile validate -c SPEC\n"
"\n"
"Checks the spec file: syntax, unknown keys, types, credential references.\n"
"Reports the JSON path of the first problem. Also reports credentials that\n"
"cannot be resolved on this machine (warnings).\n";

struct cli_opts {
	const char *spec;
	const char *sites[64];
	size_t nsites;
	bool json, detailed, no_color, auto_approve, allow_destructive, help;
	bool refresh;
	const char *out, *snapshot, *planfile;
};

enum { O_JSON = 256, O_DETAILED, O_REFRESH, O_SNAPSHOT, O_NOCOLOR, O_AUTO, O_DESTR };

static int parse(int argc, char **argv, struct cli_opts *o, const char *usage)
{
	static const struct option lo[] = {
		{ "config", required_argument, 0, 'c' }, { "site", required_argument, 0, 's' },
		{ "out", required_argument, 0, 'o' }, { "help", no_argument, 0, 'h' },
		{ "json", no_argument, 0, O_JSON }, { "detailed-exitcode", no_argument, 0, O_DETAILED },
		{ "refresh", required_argument, 0, O_REFRESH },
		{ "pms-snapshot", required_argument, 0, O_SNAPSHOT },
		{ "no-color", no_argument, 0, O_NOCOLOR }, { "auto-approve", no_argument, 0, O_AUTO },
		{ "allow-destructive", no_argument, 0, O_DESTR }, { "quiet", no_argument, 0, 'q' },
		{ 0, 0, 0, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->refresh = true;
	optind = 1;
	for (;;) {
		c = getopt_long(argc, argv, "c:s:o:hq", lo, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'c': o->spec = optarg; break;
		case 's':
			if (o->nsites == 64)
				return cli_error("too many --site options", NULL);
			o->sites[o->nsites++] = optarg;
			break;
		case 'o': o->out = optarg; break;
		case 'h': o->help = true; break;
		case O_JSON: o->json = true; break;
		case O_DETAILED: o->detailed = true; break;
		case O_REFRESH:
			if (strcmp(optarg, "false") && strcmp(optarg, "true"))
				return cli_error("--refresh takes true or false", NULL);
			o->refresh = strcmp(optarg, "false") != 0;
			break;
		case O_SNAPSHOT: o->snapshot = optarg; break;
		case O_NOCOLOR: o->no_color = true; break;
		case O_AUTO: o->auto_approve = true; break;
		case 'q': cli_set_quiet(true); break;
		case O_DESTR: o->allow_destructive = true; break;
		default:
			fputs(usage, stderr);
			return EXIT_ERROR;
		}
	}
	if (o->help) {
		fputs(usage, stdout);
		return -1;
	}
	if (optind < argc)
		o->planfile = argv[optind++];
	if (optind < argc)
		return cli_error("too many arguments", "see --help");
	if (!o->spec)
		return cli_error("-c SPEC is required", "see --help");
	return EXIT_OK;
}

bool cli_color(int fd, bool no_color_flag)
{
	const char *term = getenv("TERM"), *no = getenv("NO_COLOR");

	if (no_color_flag || (no && *no)) /* no-color.org: only a non-empty value */
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fd);
}

unsigned cli_width(int fd)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;

	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	if (cols && atoi(cols) >= 40)
		return (unsigned)atoi(cols);
	return 80;
}

static bool g_quiet;          /* --quiet: no progress */
static bool g_progress_shown; /* an updating progress line is on the terminal */
static char g_progress[256];  /* its text, drawn again below a line printed over it */

/* Wipe the updating progress line: another line takes its place. */
static void progress_clear(void)
{
	if (g_progress_shown) {
		fputs("\r\033[K", stderr);
		g_progress_shown = false;
	}
}

int cli_error(const char *msg, const char *hint)
{
	progress_clear();
	fprintf(stderr, "reconcile: error: %s\n", msg);
	if (hint)
		fprintf(stderr, "reconcile: %s\n", hint);
	return EXIT_ERROR;
}

void cli_set_quiet(bool quiet)
{
	g_quiet = quiet;
}

/* A line on stderr: above an updating progress line, which stays last. */
static void cli_emit(void *payload, enum rc_log_level level, const char *msg)
{
	bool redraw = g_progress_shown;

	progress_clear();
	rc_log_stderr(payload, level, msg);
	if (redraw) {
		fprintf(stderr, "reconcile: %s", g_progress);
		g_progress_shown = true;
	}
}

/* Seconds between two progress lines off a terminal: 5, or
 * $RECONCILE_PROGRESS_INTERVAL (0.1 to 3600; tests use a short one). */
static double progress_interval(void)
{
	static double interval;
	const char *env;
	char *end;
	double v;

	if (interval)
		return interval;
	interval = 5;
	env = getenv("RECONCILE_PROGRESS_INTERVAL");
	if (!env || !*env)
		return interval;
	v = strtod(env, &end);
	if (*end || !(v >= 0.1 && v <= 3600))
		rc_log_stderr(NULL, RC_LOG_WARN, "RECONCILE_PROGRESS_INTERVAL: not a number of "
			      "seconds from 0.1 to 3600; progress every 5 s");
	else
		interval = v;
	return interval;
}

/* On a terminal, one line updated in place; elsewhere (CI, systemd, a
 * file) a line every few seconds and the last one, so that a long run is
 * never silent and never floods a log. */
static void cli_progress(void *payload, const char *msg, bool final)
{
	static double last;
	double now = rc_now_mono();

	(void)payload;
	if (g_quiet)
		return;
	if (isatty(STDERR_FILENO)) {
		/* cut to the terminal's width: a wrapped line could not be wiped */
		int room = (int)cli_width(STDERR_FILENO) - (int)strlen("reconcile: ") - 1;

		snprintf(g_progress, sizeof(g_progress), "%.*s", final ? (int)strlen(msg) : room, msg);
		fprintf(stderr, "\r\033[Kreconcile: %s%s", g_progress, final ? "\n" : "");
		g_progress_shown = !final;
		return;
	}
	if (!final && last && now - last < progress_interval())
		return;
	if (!last && !final) { /* the first: only once it has run a while */
		last = now;
		return;
	}
	last = final ? 0 : now;
	fprintf(stderr, "reconcile: %s\n", msg);
}

const struct rc_log *cli_log(void)
{
	static struct rc_log log = { cli_emit, NULL, RC_LOG_INFO, cli_progress };

	log.min = isatty(STDERR_FILENO) ? RC_LOG_INFO : RC_LOG_WARN;
	return &log;
}

int cli_load_spec(const char *path, struct spec **out, struct rc_err *err)
{
	return spec_load(path, vendor_specs(), out, err);
}

static int load(const struct cli_opts *o, struct spec **spec, struct engine *e,
		bool lock)
{
	struct rc_err err;

	rc_err_clear(&err);
	if (cli_load_spec(o->spec, spec, &err))
		return cli_error(err.msg, "run 'reconcile validate -c SPEC' for details");
	if (engine_open(e, *spec, o->snapshot, cli_log(), &err)) {
		engine_close(e);
		return cli_error(err.msg, NULL);
	}
	if (lock && store_lock(e->store, &err)) {
		engine_close(e);
		return cli_error(err.msg, NULL);
	}
	return EXIT_OK;
}

static void print_text(const struct plan *p, bool no_color)
{
	struct render_opts ro = { .color = cli_color(STDOUT_FILENO, no_color) };

	plan_write_text(p, &ro, stdout); /* a closed stdout: the exit code says the rest */
}

/* Where `plan` writes a plan as each site is made (engine_plan_stream):
 * the text or the JSON on stdout (the JSON on one line, as `terraform
 * show -json` prints it: pipe it to jq to read it), and the saved plan
 * (--out: the same JSON, to a temp file renamed over the target at the
 * end, so that a reader never sees half a plan). */
struct plan_sinks {
	struct plan_text *text;
	struct plan_json *json, *saved;
	struct rc_wfile w;
};

static void sink_site(const struct site_plan *sp, void *payload)
{
	struct plan_sinks *s = payload;
	/* stdout on the terminal the progress line is updated on: the text
	 * goes above that line, which is drawn again below it (cli_emit);
	 * the JSON, one line, is not cut by it: no progress once it starts */
	bool tty = isatty(STDOUT_FILENO);
	bool redraw = g_progress_shown && tty && !s->json;

	if (tty)
		progress_clear();
	if (tty && s->json)
		g_quiet = true;
	if (s->text)
		plan_text_site(s->text, sp);
	if (s->json)
		plan_json_site(s->json, sp);
	if (s->saved)
		plan_json_site(s->saved, sp);
	if (redraw) {
		fflush(stdout);
		fprintf(stderr, "reconcile: %s", g_progress);
		g_progress_shown = true;
	}
}

/* The sinks opened before the plan (the target's temp file too: an
 * unwritable directory fails before the work, not after). */
static int sinks_open(struct plan_sinks *s, const struct plan *p, const struct cli_opts *o)
{
	struct render_opts ro = { .color = cli_color(STDOUT_FILENO, o->no_color) };
	struct rc_err err;

	memset(s, 0, sizeof(*s));
	if (o->out && rc_wfile_open(&s->w, o->out, &err))
		return cli_error(err.msg, NULL);
	if (o->out)
		s->saved = plan_json_open(p, s->w.f, JSON_COMPACT);
	if (o->json)
		s->json = plan_json_open(p, stdout, JSON_COMPACT);
	else
		s->text = plan_text_open(p, &ro, stdout);
	return EXIT_OK;
}

/* The end of what goes to stdout (finished false: the plan failed,
 * nothing more is written). */
static int sinks_close_stdout(struct plan_sinks *s, bool finished)
{
	int rc = EXIT_OK;

	if (s->text)
		plan_text_close(s->text, finished); /* a closed stdout: the exit code says the rest */
	if (s->json) {
		bool bad = plan_json_close(s->json, finished) != 0;

		if (finished && (bad || fputc('\n', stdout) == EOF || fflush(stdout) != 0))
			rc = cli_error("cannot write the plan to stdout", NULL);
	}
	s->text = NULL;
	s->json = NULL;
	return rc;
}

/* The saved plan's end: renamed over the target when save, else dropped. */
static int sinks_close_saved(struct plan_sinks *s, bool save, const char *path, const char *spec)
{
	struct rc_err err;
	bool wrote;

	if (!s->saved)
		return EXIT_OK;
	wrote = plan_json_close(s->saved, save) == 0;
	s->saved = NULL;
	if (!save) {
		rc_wfile_abort(&s->w);
		return EXIT_OK;
	}
	if (!wrote) {
		char *msg = rc_sprintf("%s: the plan could not be written: %s; nothing was saved",
				       path, strerror(errno));

		rc_wfile_abort(&s->w);
		cli_error(msg, NULL);
		free(msg);
		return EXIT_ERROR;
	}
	if (rc_wfile_commit(&s->w, &err))
		return cli_error(err.msg, NULL);
	fprintf(stderr, "\nSaved the plan to: %s\n\nTo perform exactly these actions, run:\n"
		"  reconcile apply -c %s %s\n", path, spec, path);
	return EXIT_OK;
}

int cmd_plan(int argc, char **argv)
{
	struct engine_opts eo = { 0 };
	struct cli_opts o;
	struct spec *spec = NULL;
	struct engine e;
	struct plan p = { 0 };
	struct plan_sinks sinks;
	struct rc_err err;
	bool conc;
	int rc;

	rc = parse(argc, argv, &o, plan_usage);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (o.planfile)
		return cli_error("plan takes no positional argument", "see --help");
	if (o.out && rc_check_target(o.out, &err)) /* before the work, not after */
		return cli_error(err.msg, NULL);
	rc = load(&o, &spec, &e, false);
	if (rc) {
		spec_free(spec);
		return rc;
	}
	eo.refresh = o.refresh;
	eo.sites = o.sites;
	eo.nsites = o.nsites;
	rc_err_clear(&err);
	rc = sinks_open(&sinks, &p, &o);
	if (rc)
		goto out;
	conc = cli_concurrency_begin(&e);
	rc = engine_plan_stream(&e, &eo, &p, sink_site, &sinks, &err);
	cli_concurrency_end(&e, conc);
	if (rc) {
		sinks_close_stdout(&sinks, false);
		sinks_close_saved(&sinks, false, o.out, o.spec);
		rc = cli_error(err.msg, NULL);
		goto out;
	}
	rc = sinks_close_stdout(&sinks, true);
	plan_log_failures(&p, cli_log());
	rc = sinks_close_saved(&sinks, !rc, o.out, o.spec) ? EXIT_ERROR : rc;
	if (!rc && p.errors && !o.detailed)
		rc = EXIT_OK; /* findings are reported; planning itself worked */
	if (!rc && o.detailed) {
		size_t i;

		for (i = 0; i < p.nsites; i++)
			if (p.sites[i].failed)
				rc = EXIT_ERROR;
		if (!rc && plan_has_changes(&p))
			rc = EXIT_CHANGES;
	}
	for (size_t i = 0; !o.detailed && i < p.nsites; i++)
		if (p.sites[i].failed)
			rc = EXIT_ERROR;
out:
	plan_free(&p);
	engine_close(&e);
	spec_free(spec);
	return rc;
}

static bool confirm(void)
{
	char line[64];

	if (!isatty(STDIN_FILENO))
		return false;
	fputs("\nDo you want to perform these actions?\n"
	      "  reconcile will perform the actions described above.\n"
	      "  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", stdout);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return strcmp(line, "yes") == 0;
}

/* A saved plan is read as one tree: it is a regular file of bounded
 * size (RC_CAP_PLAN), not a device or FIFO that would never end. */
static int load_saved(const char *path, const struct spec *spec, struct plan *saved)
{
	json_error_t je;
	struct rc_err err;
	json_t *j;
	FILE *f;
	int fd, rc;

	rc_err_clear(&err);
	if (rc_open_regular(path, "a saved plan", RC_CAP_PLAN, &fd, NULL, &err))
		return cli_error(err.msg, NULL);
	f = fdopen(fd, "rb");
	if (!f) {
		fprintf(stderr, "reconcile: error: %s: %s\n", path, strerror(errno));
		close(fd);
		return EXIT_ERROR;
	}
	j = json_loadf(f, 0, &je);
	fclose(f);
	if (!j) {
		fprintf(stderr, "reconcile: error: %s:%d: %s\n", path, je.line, je.text);
		return EXIT_ERROR;
	}
	rc = plan_from_json(j, spec, saved, &err);
	json_decref(j);
	if (rc)
		return cli_error(err.msg, NULL);
	return EXIT_OK;
}

/* Retention after an apply (timer-driven applies have no serve to do it):
 * what the spec's "retention" says is old goes; a failure only warns. */
static void retention(struct engine *e, const struct spec *spec)
{
	struct store_retention r = { spec->retention.events_s, spec->retention.journal_s, 0 };
	struct store_pruned out = { 0 }, sum = { 0 };
	struct rc_err err;
	int i;

	for (i = 0; i < 100; i++) {
		if (store_prune(e->store, &r, time(NULL), &out, &err)) {
			rc_log(cli_log(), RC_LOG_WARN, "retention: %s", err.msg);
			break;
		}
		sum.events += out.events;
		sum.journal += out.journal;
		if (!out.more)
			break;
	}
	if (sum.events || sum.journal)
		fprintf(stderr, "Retention: dropped %zu webhook event%s and %zu journal entr%s "
			"(spec \"retention\").\n", sum.events, sum.events == 1 ? "" : "s",
			sum.journal, sum.journal == 1 ? "y" : "ies");
}

/* The fiber scheduler on a libev loop, HTTP over curl multi on it and the
 * journal's writer thread, for what runs next: plan reads several sites at
 * once, apply runs independent operations at once (the chains of each
 * site, at most serve.vendor_concurrency requests in flight per vendor and
 * to the PMS). Without them (no loop), one call at a time, as before.
 * Returns whether they were attached (cli_concurrency_end undoes it). */
bool cli_concurrency_begin(struct engine *e)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct rc_err err;

	if (!loop || http_loop_attach(loop, e->spec->serve.vendor_concurrency, &err))
		return false;
	fiber_attach(loop);
	if (commit_start(e->store, loop, &err)) /* no writer thread: each write at once */
		rc_err_clear(&err);
	return true;
}

void cli_concurrency_end(struct engine *e, bool attached)
{
	if (!attached)
		return;
	commit_stop(e->store);
	fiber_detach();
	http_loop_detach();
}

int cmd_apply(int argc, char **argv)
{
	struct engine_opts eo = { 0 };
	struct apply_opts ao = { 0 };
	struct apply_result res;
	struct cli_opts o;
	struct spec *spec = NULL;
	struct engine e;
	struct plan p = { 0 }, saved = { 0 };
	struct rc_err err;
	const char *names[64];
	size_t i;
	bool conc = false;
	int rc;

	rc = parse(argc, argv, &o, apply_usage);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (o.snapshot)
		return cli_error("apply reads the PMS over its API (it must write back); "
				 "--pms-snapshot is for plan only", NULL);
	if (o.planfile && o.nsites)
		return cli_error("--site cannot narrow a saved plan", NULL);
	rc = load(&o, &spec, &e, true);
	if (rc) {
		spec_free(spec);
		return rc;
	}
	eo.refresh = o.planfile ? true : o.refresh;
	eo.sites = o.sites;
	eo.nsites = o.nsites;
	if (o.planfile) {
		rc = load_saved(o.planfile, spec, &saved);
		if (rc)
			goto out;
		for (i = 0; i < saved.nsites && i < 64; i++)
			names[i] = saved.sites[i].site->name;
		eo.sites = names;
		eo.nsites = i;
		ao.saved = &saved;
	}
	rc_err_clear(&err);
	conc = cli_concurrency_begin(&e);
	if (engine_plan(&e, &eo, &p, &err)) {
		rc = cli_error(err.msg, NULL);
		goto out;
	}
	if (!o.planfile) {
		print_text(&p, o.no_color);
		plan_log_failures(&p, cli_log());
		if (plan_has_changes(&p) && !o.auto_approve && !confirm()) {
			rc = cli_error(isatty(STDIN_FILENO) ? "apply cancelled"
				       : "apply needs confirmation and stdin is not a terminal",
				       "use --auto-approve, or save a plan with 'reconcile plan --out FILE' and apply that file");
			goto out;
		}
	}
	ao.allow_destructive = o.allow_destructive;
	rc = engine_apply(&e, &p, &ao, &res, &err);
	cli_concurrency_end(&e, conc); /* the writer's last commits, before retention's */
	conc = false;
	printf("\n%s Operations: %u succeeded, %u failed, %u in doubt, %u not run.\n",
	       rc ? "Apply failed." : "Apply complete!", res.ok, res.failed, res.in_doubt,
	       res.skipped);
	if (rc) {
		fprintf(stderr, "reconcile: %u site%s did not converge; run 'reconcile plan' to see what remains\n",
			res.sites_failed, res.sites_failed == 1 ? "" : "s");
		rc = EXIT_ERROR;
	}
	retention(&e, spec);
out:
	cli_concurrency_end(&e, conc);
	plan_free(&p);
	plan_free(&saved);
	engine_close(&e);
	spec_free(spec);
	return rc;
}

/* Warn about credentials this machine cannot resolve (validate); those
 * kept in PMS site custom fields are read at plan time. */
static void check_secret(const struct spec_secret *sec, const char *what, void *payload)
{
	unsigned *n = payload;
	struct rc_err err;
	char *v = NULL;

	if (!spec_secret_set(sec) || sec->site_field)
		return;
	rc_err_clear(&err);
	if (spec_secret_read(sec, what, NULL, &v, &err) == RC_OK) {
		rc_free_secret(v);
		return;
	}
	printf("  warning: %s\n", err.msg);
	(*n)++;
}

int cmd_validate(int argc, char **argv)
{
	struct cli_opts o;
	struct spec *spec = NULL;
	struct rc_err err;
	unsigned nwarn = 0;
	size_t i;
	int rc;

	rc = parse(argc, argv, &o, validate_usage);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	rc_err_clear(&err);
	if (cli_load_spec(o.spec, &spec, &err))
		return cli_error(err.msg, NULL);
	printf("%s: valid spec, %zu site%s\n", o.spec, spec->nsites, spec->nsites == 1 ? "" : "s");
	for (i = 0; i < spec->nsites; i++)
		printf("  %-20s %-9s PMS site %s\n", spec->sites[i].name,
		       spec->sites[i].vendor->name, spec->sites[i].pms_site_id);
	spec_secrets_each(spec, check_secret, &nwarn);
	if (nwarn)
		printf("  (credentials are read when plan or apply run; set them before)\n");
	spec_free(spec);
	return EXIT_OK;
}
