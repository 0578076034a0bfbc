/*
 * demo.c: reconcile demo. Starts the bundled simulator seeded with
 * contrib/demo/seed.json, writes contrib/demo/spec.json.in pointing at it
 * with the credentials of contrib/demo/demo.env, and runs plan, apply and
 * plan again with this very binary, showing each command; then each
 * vendor's descriptor says what the simulator now holds. With --keep it
 * stops after the first plan, the simulator left running, so that README.md's
 * tour goes on from there by hand (tests/docs/readme_examples checks it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "core/common.h"
#include "providers/http.h"
#include "providers/vendor.h"

/* From CMake (GNUInstallDirs): where the package puts the demo. */
#ifndef RECONCILE_DATADIR
#define RECONCILE_DATADIR "/usr/local/share/reconcile"
#endif
#ifndef RECONCILE_BINDIR
#define RECONCILE_BINDIR "/usr/local/bin"
#endif

static const char demo_usage[] =
"Usage: reconcile demo [--dir DIR] [--keep]\n"
"\n"
"Runs reconcile against the bundled simulator of Storeganise and the\n"
"access-control vendors (contrib/sim) seeded with contrib/demo/seed.json: a\n"
"sample facility per vendor with rented, vacant and overdue units, a\n"
"hand-made drift, a mapping error and a customer renting several units\n"
"(contrib/demo/README.md); the spec is contrib/demo/spec.json.in.\n"
"Installed, these files are in " RECONCILE_DATADIR "/demo; the\n"
"environment variables RECONCILE_DEMO_DIR and RECONCILE_SIM_BIN override\n"
"where the data files and the simulator are found.\n"
"It shows 'reconcile plan', 'reconcile apply' and 'reconcile plan' again.\n"
"\n"
"  --dir DIR   where the spec and the LMDB state go (default ./demo-out;\n"
"              its state is reset)\n"
"  --keep      stop after the first plan, nothing applied, and leave the\n"
"              simulator running: the environment to export and the\n"
"              commands to go on with (README.md's tour) are printed\n";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static char *self_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return rc_strdup(".");
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return rc_strdup(buf);
}

/* Where the demo's data and the simulator are looked for, in order:
 * $RECONCILE_DEMO_DIR; share/reconcile/demo beside this binary's bin dir
 * (an install moved with --prefix); the source tree ($RECONCILE_SOURCE_DIR,
 * then the one this binary was built from) unless this binary is the
 * installed one; then
 * the installed data dir (RECONCILE_DATADIR/demo). */

/* The directories that may hold seed.json, spec.json.in and demo.env
 * (new strings, NULL-terminated; free with free_dirs). */
static void demo_dirs(const char *bindir, char *dirs[6])
{
	const char *env = getenv("RECONCILE_DEMO_DIR");
	const char *src = getenv("RECONCILE_SOURCE_DIR");
	int n = 0;

	if (env && *env)
		dirs[n++] = rc_strdup(env);
	dirs[n++] = rc_sprintf("%s/../share/reconcile/demo", bindir); /* installed elsewhere */
	if (strcmp(bindir, RECONCILE_BINDIR) != 0) { /* a build tree or a copy */
		if (src && *src)
			dirs[n++] = rc_sprintf("%s/contrib/demo", src);
		dirs[n++] = rc_strdup(RECONCILE_SOURCE_DIR "/contrib/demo");
	}
	dirs[n++] = rc_strdup(RECONCILE_DATADIR "/demo");
	dirs[n] = NULL;
}

static void free_dirs(char **dirs)
{
	for (; *dirs; dirs++)
		free(*dirs);
}

/* The first dir of dirs holding name (new path), NULL when none does. */
static char *find_demo_file(char *const *dirs, const char *name)
{
	char *p;

	for (; *dirs; dirs++) {
		p = rc_sprintf("%s/%s", *dirs, name);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* The simulator: $RECONCILE_SIM_BIN, beside this binary, then the install
 * bin dir (new path); NULL with an error naming each place tried. */
static char *find_sim(const char *bindir)
{
	const char *env = getenv("RECONCILE_SIM_BIN");
	char *cand[3] = { 0 }, *found = NULL;
	int i, n = 0;

	if (env && *env)
		cand[n++] = rc_strdup(env);
	cand[n++] = rc_sprintf("%s/reconcile-sim", bindir);
	cand[n++] = rc_strdup(RECONCILE_BINDIR "/reconcile-sim");
	for (i = 0; i < n && !found; i++)
		if (access(cand[i], X_OK) == 0)
			found = rc_strdup(cand[i]);
	if (!found) {
		fprintf(stderr, "reconcile demo: cannot find the simulator reconcile-sim; looked for:\n");
		for (i = 0; i < n; i++)
			fprintf(stderr, "  %s\n", cand[i]);
		cli_error("no reconcile-sim", "build it (cmake --build build), install the package, "
			  "or set RECONCILE_SIM_BIN");
	}
	for (i = 0; i < n; i++)
		free(cand[i]);
	return found;
}

/* The demo's credentials (demo.env) into the environment; with out, the
 * export lines too. */
static int demo_env(const char *path, struct rc_buf *out)
{
	struct rc_err err;
	char *text = NULL, *line, *save = NULL, *eq;

	if (rc_read_file(path, &text, NULL, &err)) {
		fprintf(stderr, "reconcile demo: %s\n", err.msg);
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (line[0] == '#' || !eq)
			continue;
		*eq = '\0';
		setenv(line, eq + 1, 1);
		if (out)
			rc_buf_printf(out, "    export %s=%s\n", line, eq + 1);
	}
	free(text);
	return 0;
}

/* Start the simulator; returns its pid and port. */
static pid_t start_sim(const char *sim, const char *seed, int *port)
{
	int fd[2];
	pid_t pid;
	FILE *f;

	if (pipe(fd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		execl(sim, sim, "--seed", seed, "--port", "0", "--quiet", (char *)NULL);
		fprintf(stderr, "reconcile demo: cannot run %s: %s\n", sim, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (!f || fscanf(f, "%d", port) != 1) {
		if (f)
			fclose(f);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	fclose(f);
	return pid;
}

/* spec.json.in with "@SIM@" replaced by the simulator's URL. */
static int write_spec(const char *tmpl_path, const char *path, int port)
{
	struct rc_err err;
	struct rc_buf b;
	char sim[64], *tmpl = NULL, *p, *at;
	int rc;

	if (rc_read_file(tmpl_path, &tmpl, NULL, &err)) {
		fprintf(stderr, "reconcile demo: %s\n", err.msg);
		return -1;
	}
	snprintf(sim, sizeof(sim), "http://127.0.0.1:%d", port);
	rc_buf_init(&b);
	for (p = tmpl; (at = strstr(p, "@SIM@")); p = at + 5) {
		rc_buf_add(&b, p, (size_t)(at - p));
		rc_buf_puts(&b, sim);
	}
	rc_buf_puts(&b, p);
	rc = rc_write_file(path, b.p, b.len, &err);
	if (rc)
		fprintf(stderr, "reconcile demo: %s\n", err.msg);
	rc_buf_free(&b);
	free(tmpl);
	return rc;
}

/* Run this binary with args, showing the command line first. */
static const char *bold(bool on)
{
	return on ? "\033[1m" : "";
}

static const char *plain(bool on)
{
	return on ? "\033[0m" : "";
}

static int step(const char *title, const char *self, char *const args[])
{
	bool c = cli_color(STDOUT_FILENO, false);
	pid_t pid;
	int st, i;

	printf("\n%s==> %s%s\n$ reconcile", bold(c), title, plain(c));
	for (i = 1; args[i]; i++)
		printf(" %s", args[i]);
	printf("\n\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execv(self, args);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* plan, apply and plan again, which must find nothing left to do; with
 * keep the first plan only: README.md's tour goes on from there by hand. */
static int run_steps(const char *self, const char *spec, bool keep)
{
	char *plan[] = { "reconcile", "plan", "-c", (char *)spec, NULL };
	char *apply[] = { "reconcile", "apply", "-c", (char *)spec, "--auto-approve", NULL };
	char *again[] = { "reconcile", "plan", "-c", (char *)spec, "--detailed-exitcode", NULL };
	int rc;

	rc = step(keep ? "What would change (nothing is changed: --keep stops here)"
		       : "Step 1: what would change (nothing is changed yet)", self, plan);
	if (rc != 0)
		return 1;
	if (keep)
		return 0;
	rc = step("Step 2: apply it", self, apply);
	if (rc != 0)
		return 1;
	rc = step("Step 3: plan again: the facility has converged", self, again);
	printf("\n(exit code %d: 0 means no changes)\n", rc);
	return rc == 0 ? 0 : 1;
}

/* What the vendors now hold, from the simulator: each vendor's part of
 * its state, described by the vendor's descriptor. */
static void story(int port)
{
	struct http_client *c = NULL;
	struct http_resp r;
	struct http_req q = { 0 };
	struct rc_err err;
	struct rc_buf out;
	char url[96];
	json_t *st;
	size_t i;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/state", port);
	q.method = "GET";
	q.url = url;
	http_resp_init(&r);
	rc_buf_init(&out);
	if (http_client_new(&c, NULL, &err) || http_do(c, &q, &r, &err) || r.status != 200)
		goto out;
	st = json_loadb(r.body.p, r.body.len, 0, NULL);
	for (i = 0; vendor_table[i]; i++)
		if (vendor_table[i]->sim_describe)
			vendor_table[i]->sim_describe(json_object_get(st, vendor_table[i]->spec.name), &out);
	json_decref(st);
	printf("\n==> What the vendors hold now (from the simulator)\n");
	for (char *line = out.p; line && *line;) {
		char *nl = strchr(line, '\n');

		printf("  %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
		line = nl ? nl + 1 : NULL;
	}
out:
	rc_buf_free(&out);
	http_resp_free(&r);
	http_client_free(c);
}

/* The first of rel[] (paths relative to the demo's data dir: contrib/demo
 * in a source tree, share/reconcile/demo installed) that exists, as an
 * absolute path (new), NULL when none does. */
static char *beside_data(const char *datadir, const char *const rel[])
{
	char *p, *real;

	for (; *rel; rel++) {
		p = rc_sprintf("%s/%s", datadir, *rel);
		real = realpath(p, NULL);
		free(p);
		if (real)
			return real;
	}
	return NULL;
}

/* Files to read next, named where they are: the source tree's in a build,
 * share/doc/reconcile's in an install (CMakeLists.txt installs README.md
 * and specs/README.md there as README.md and spec.md). */
static void where_next(const char *seed, const char *spec, const char *state)
{
	static const char *const readme[] = { "../../README.md", "../../doc/reconcile/README.md",
					       NULL };
	static const char *const spec_md[] = { "../../specs/README.md",
						"../../doc/reconcile/spec.md", NULL };
	static const char *const here[] = { ".", NULL };
	char *datadir = rc_strdup(seed), *slash = strrchr(datadir, '/');
	char *tour, *format, *data;
	bool c = cli_color(STDOUT_FILENO, false);

	if (slash)
		*slash = '\0';
	tour = beside_data(datadir, readme);
	format = beside_data(datadir, spec_md);
	data = beside_data(datadir, here);
	printf("\n%s==> Where to look next%s\n", bold(c), plain(c));
	printf("  the spec:         %s%s%s%s\n", spec, format ? " (its format: " : "",
	       format ? format : "", format ? ")" : "");
	printf("  the state (LMDB): mdb_stat -a %s\n"
	       "                    mdb_dump -p -s journal %s (-p: printable)\n", state, state);
	printf("  the plan as JSON: reconcile plan -c %s --json\n", spec);
	if (tour)
		printf("  the tour:         %s (plan, apply, report, serve)\n", tour);
	if (data)
		printf("  the demo's data:  %s/ (its README.md says what is in it)\n", data);
	free(tour);
	free(format);
	free(data);
	free(datadir);
}

/* True when "reconcile" on $PATH is self, so that the commands printed
 * run this very binary. */
static bool self_on_path(const char *self)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *want = realpath(self, NULL), *cand, *real;
	bool found = false, mine = false;

	if (!path || !want) {
		free(want);
		return false;
	}
	copy = rc_strdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		cand = rc_sprintf("%s/reconcile", *dir ? dir : ".");
		real = access(cand, X_OK) == 0 ? realpath(cand, NULL) : NULL;
		if (real) {
			found = true;
			mine = strcmp(real, want) == 0;
		}
		free(real);
		free(cand);
	}
	free(copy);
	free(want);
	return mine;
}

/* --keep: what to export and run to follow README.md's tour. */
static void keep_next(pid_t pid, int port, const char *spec, const char *self,
		      const char *exports)
{
	bool c = cli_color(STDOUT_FILENO, false);
	char *bindir = rc_strdup(self), *slash = strrchr(bindir, '/');

	if (slash)
		*slash = '\0';
	printf("\n%s==> Go on by hand (README.md's tour): nothing is applied yet%s\n"
	       "  the simulator keeps running on http://127.0.0.1:%d (pid %d; stop it: kill %d)\n"
	       "  in your shell, first:\n%s"
	       "    export DEMO_SIM=http://127.0.0.1:%d\n",
	       bold(c), plain(c), port, (int)pid, (int)pid, exports, port);
	if (!self_on_path(self))
		printf("    export PATH=%s:$PATH\n", bindir);
	printf("  then:\n"
	       "    reconcile plan -c %s\n"
	       "    reconcile apply -c %s\n"
	       "    reconcile report -c %s\n"
	       "    reconcile serve -c %s --listen 127.0.0.1:8080 --log-format text\n",
	       spec, spec, spec, spec);
	free(bindir);
}

/* The demo's data files: seed, spec template, credentials. */
struct demo_files {
	char *seed, *spec_in, *env;
};

static int find_files(struct demo_files *f, const char *bindir)
{
	char *dirs[6];
	int i;

	demo_dirs(bindir, dirs);
	f->seed = find_demo_file(dirs, "seed.json");
	f->spec_in = find_demo_file(dirs, "spec.json.in");
	f->env = find_demo_file(dirs, "demo.env");
	if (!f->seed || !f->spec_in || !f->env) {
		fprintf(stderr, "reconcile demo: cannot find seed.json, spec.json.in and demo.env; "
			"looked in:\n");
		for (i = 0; dirs[i]; i++)
			fprintf(stderr, "  %s/\n", dirs[i]);
		cli_error("the demo's data files are missing",
			  "install the package, or set RECONCILE_DEMO_DIR (or RECONCILE_SOURCE_DIR "
			  "to the source tree)");
	}
	free_dirs(dirs);
	return f->seed && f->spec_in && f->env ? 0 : -1;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option lo[] = { { "dir", required_argument, 0, 'd' },
		{ "keep", no_argument, 0, 'k' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	const char *dir = "demo-out";
	char *bindir = self_dir(), *sim, *self, *spec, *state;
	struct demo_files files = { 0 };
	struct rc_buf exports;
	bool keep = false;
	int c, port = 0, rc = EXIT_ERROR;
	pid_t pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'k')
			keep = true;
		else {
			free(bindir);
			fputs(demo_usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? EXIT_OK : EXIT_ERROR;
		}
	}
	rc_buf_init(&exports);
	sim = find_sim(bindir);
	self = rc_sprintf("%s/reconcile", bindir);
	spec = rc_sprintf("%s/spec.json", dir);
	state = rc_sprintf("%s/state", dir);
	if (!sim || find_files(&files, bindir) || demo_env(files.env, &exports))
		goto out;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "reconcile demo: cannot create %s: %s\n", dir, strerror(errno));
		cli_error("no directory for the demo's spec and state",
			  "run it from a writable directory or give --dir DIR");
		goto out;
	}
	nftw(state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pid = start_sim(sim, files.seed, &port);
	if (pid < 0) {
		fprintf(stderr, "reconcile demo: %s did not start\n", sim);
		cli_error("the simulator did not start", "check that it runs: reconcile-sim --help");
		goto out;
	}
	printf("reconcile demo: simulator of the PMS and the vendors on http://127.0.0.1:%d (pid %d)\n"
	       "reconcile demo: spec written to %s (credentials by environment variable)\n",
	       port, (int)pid, spec);
	if (write_spec(files.spec_in, spec, port) == 0)
		rc = run_steps(self, spec, keep);
	if (rc == 0 && !keep)
		story(port);
	where_next(files.seed, spec, state);
	if (keep) {
		keep_next(pid, port, spec, self, exports.p ? exports.p : "");
	} else {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
out:
	rc_buf_free(&exports);
	free(bindir);
	free(sim);
	free(self);
	free(spec);
	free(state);
	free(files.seed);
	free(files.spec_in);
	free(files.env);
	return rc;
}
