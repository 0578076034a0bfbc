/*
 * demo.c: reconcile demo. Starts the bundled simulator (Storeganise +
 * OpenTech) on a sample of two sites, writes a spec pointing at it, and runs
 * plan, apply and plan again with this very binary, showing each command.
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
#include "common.h"
#include "../providers/http.h"

static const char demo_usage[] =
"Usage: reconcile demo [--dir DIR] [--keep]\n"
"\n"
"Runs reconcile against the bundled simulator of Storeganise, OpenTech\n"
"Alliance, PTI StorLogix and OpenApp (contrib/sim) seeded with\n"
"contrib/demo/seed.json: two OpenTech sites of 25 units (rented, vacant,\n"
"overdue, a hand-made drift, a mapping error), a PTI site with a customer\n"
"renting three units, and an OpenApp site with door + lobby invites.\n"
"It shows 'reconcile plan', 'reconcile apply' and 'reconcile plan' again.\n"
"\n"
"  --dir DIR   where the spec and the LMDB state go (default ./demo-out;\n"
"              its state is reset)\n"
"  --keep      leave the simulator running at the end (its pid is printed)\n";

/* Demo credentials: they match the seed, and only ever reach the simulator. */
static const char *const demo_env[][2] = {
	{ "DEMO_SG_API_KEY", "demo-storeganise-key" },
	{ "DEMO_SG_WEBHOOK_SECRET", "demo-webhook-secret" },
	{ "DEMO_OT_API_KEY", "demo-opentech-key" },
	{ "DEMO_OT_API_SECRET", "demo-opentech-secret" },
	{ "DEMO_OT_CLIENT_ID", "demo-integrator" },
	{ "DEMO_OT_CLIENT_SECRET", "demo-integrator-secret" },
	{ "DEMO_PTI_CLIENT_ID", "demo-pti-partner" },
	{ "DEMO_PTI_API_KEY", "demo-pti-partner-key" },
	{ "DEMO_OPENAPP_API_KEY", "demo-openapp-key" },
};

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

static char *find_seed(void)
{
	const char *src = getenv("RECONCILE_SOURCE_DIR");
	char *p;

	if (src) {
		p = rc_sprintf("%s/contrib/demo/seed.json", src);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	p = rc_sprintf("%s/contrib/demo/seed.json", RECONCILE_SOURCE_DIR);
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
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

static int write_spec(const char *path, int port)
{
	struct rc_err err;
	char *s = rc_sprintf(
"{\n"
"  \"version\": 1,\n"
"  \"state_dir\": \"state\",\n"
"  \"pms\": {\n"
"    \"type\": \"storeganise\",\n"
"    \"base_url\": \"http://127.0.0.1:%d/storeganise/api\",\n"
"    \"api_key_env\": \"DEMO_SG_API_KEY\",\n"
"    \"webhook_secret_env\": \"DEMO_SG_WEBHOOK_SECRET\"\n"
"  },\n"
"  \"sites\": [\n"
"    { \"name\": \"lisbon\", \"pms_site_id\": \"5e1700000000000000000001\", \"vendor\": \"opentech\",\n"
"      \"opentech\": { \"base_url\": \"http://127.0.0.1:%d/opentech\", \"property_number\": \"LIS-001\",\n"
"        \"api_key_env\": \"DEMO_OT_API_KEY\", \"api_secret_env\": \"DEMO_OT_API_SECRET\",\n"
"        \"client_id_env\": \"DEMO_OT_CLIENT_ID\", \"client_secret_env\": \"DEMO_OT_CLIENT_SECRET\",\n"
"        \"access_profile_id\": 1, \"time_group_id\": 0 } },\n"
"    { \"name\": \"porto\", \"pms_site_id\": \"5e1700000000000000000002\", \"vendor\": \"opentech\",\n"
"      \"opentech\": { \"base_url\": \"http://127.0.0.1:%d/opentech\", \"property_number\": \"POR-002\",\n"
"        \"api_key_env\": \"DEMO_OT_API_KEY\", \"api_secret_env\": \"DEMO_OT_API_SECRET\",\n"
"        \"client_id_env\": \"DEMO_OT_CLIENT_ID\", \"client_secret_env\": \"DEMO_OT_CLIENT_SECRET\" } },\n"
"    { \"name\": \"faro\", \"pms_site_id\": \"5e1700000000000000000003\", \"vendor\": \"pti\",\n"
"      \"pti\": { \"base_url\": \"http://127.0.0.1:%d/pti\", \"client_id_env\": \"DEMO_PTI_CLIENT_ID\",\n"
"        \"api_key_env\": \"DEMO_PTI_API_KEY\", \"site_key_site_field\": \"pti_siteKey\",\n"
"        \"site_code_site_field\": \"pti_siteCode\", \"username_site_field\": \"pti_username\",\n"
"        \"password_site_field\": \"pti_password\", \"access_level\": 1, \"zone\": 1 } },\n"
"    { \"name\": \"braga\", \"pms_site_id\": \"5e1700000000000000000004\", \"vendor\": \"openapp\",\n"
"      \"openapp\": { \"base_url\": \"http://127.0.0.1:%d/openapp/api/v1\", \"api_key_env\": \"DEMO_OPENAPP_API_KEY\",\n"
"        \"org_id\": \"01DEMOORG00000000000000000\", \"integration_id\": \"01DEMOINTEGRATION000000000\",\n"
"        \"lobby_portal_ids\": [\"01PORTALLOBBY0000000000000\"], \"max_uses\": 50 } }\n"
"  ]\n"
"}\n", port, port, port, port, port);
	int rc = rc_write_file(path, s, strlen(s), &err);

	free(s);
	if (rc)
		fprintf(stderr, "reconcile demo: %s\n", err.msg);
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

static int run_steps(const char *self, const char *spec)
{
	char *plan[] = { "reconcile", "plan", "-c", (char *)spec, NULL };
	char *apply[] = { "reconcile", "apply", "-c", (char *)spec, "--auto-approve", NULL };
	char *again[] = { "reconcile", "plan", "-c", (char *)spec, "--detailed-exitcode", NULL };
	int rc;

	rc = step("Step 1: what would change (nothing is changed yet)", self, plan);
	if (rc != 0)
		return 1;
	rc = step("Step 2: apply it", self, apply);
	if (rc != 0)
		return 1;
	rc = step("Step 3: plan again: the facility has converged", self, again);
	printf("\n(exit code %d: 0 means no changes)\n", rc);
	return rc == 0 ? 0 : 1;
}

/* What the vendors now hold, from the simulator: the PTI customer with
 * several units (one user, one code) and the OpenApp invites. */
static void story(int port)
{
	struct http_client *c = NULL;
	struct http_resp r;
	struct http_req q = { 0 };
	struct rc_err err;
	char url[96];
	json_t *st, *x, *y;
	size_t i, k, n;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/state", port);
	q.method = "GET";
	q.url = url;
	http_resp_init(&r);
	if (http_client_new(&c, NULL, &err) || http_do(c, &q, &r, &err) || r.status != 200)
		goto out;
	st = json_loadb(r.body.p, r.body.len, 0, NULL);
	printf("\n==> What the vendors hold now (from the simulator)\n");
	json_array_foreach(json_object_get(json_object_get(st, "pti"), "users"), i, x) {
		n = 0;
		json_array_foreach(json_object_get(json_object_get(st, "pti"), "units"), k, y)
			n += json_integer_value(json_object_get(y, "user")) ==
			     json_integer_value(json_object_get(x, "id"));
		printf("  PTI (faro): user %" JSON_INTEGER_FORMAT " for customer %s rents %zu unit%s with one code%s\n",
		       json_integer_value(json_object_get(x, "id")),
		       json_string_value(json_object_get(x, "interface_id")) ?: "?", n, n == 1 ? "" : "s",
		       json_is_true(json_object_get(x, "suspended")) ? " (suspended: overdue)" : "");
	}
	json_array_foreach(json_object_get(json_object_get(st, "openapp"), "invites"), i, x)
		printf("  OpenApp (braga): invite %s for rental %s on %zu portals (door + lobby), %s; "
		       "its one-time URL went to the rental's openapp_inviteUrl only\n",
		       json_string_value(json_object_get(x, "id")) ?: "?",
		       json_string_value(json_object_get(json_object_get(x, "external_ref"), "record_id")) ?: "?",
		       json_array_size(json_object_get(x, "granted_portals")),
		       json_is_true(json_object_get(x, "is_enabled")) ? "enabled" : "disabled");
	json_decref(st);
out:
	http_resp_free(&r);
	http_client_free(c);
}

int cmd_demo(int argc, char **argv)
{
	static const struct option lo[] = { { "dir", required_argument, 0, 'd' },
		{ "keep", no_argument, 0, 'k' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	const char *dir = "demo-out";
	char *bindir = self_dir(), *sim, *seed, *self, *spec, *state;
	bool keep = false;
	int c, port = 0, rc = EXIT_ERROR;
	size_t i;
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
	sim = rc_sprintf("%s/reconcile-sim", bindir);
	self = rc_sprintf("%s/reconcile", bindir);
	spec = rc_sprintf("%s/spec.json", dir);
	state = rc_sprintf("%s/state", dir);
	seed = find_seed();
	if (!seed) {
		cli_error("cannot find contrib/demo/seed.json", "set RECONCILE_SOURCE_DIR to the source tree");
		goto out;
	}
	mkdir(dir, 0700);
	nftw(state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pid = start_sim(sim, seed, &port);
	if (pid < 0) {
		cli_error("the simulator did not start", "build it: cmake --build build (target reconcile-sim)");
		goto out;
	}
	for (i = 0; i < sizeof(demo_env) / sizeof(demo_env[0]); i++)
		setenv(demo_env[i][0], demo_env[i][1], 1);
	printf("reconcile demo: simulator of Storeganise, OpenTech, PTI and OpenApp on http://127.0.0.1:%d (pid %d)\n"
	       "reconcile demo: spec written to %s (credentials by environment variable)\n",
	       port, (int)pid, spec);
	if (write_spec(spec, port) == 0)
		rc = run_steps(self, spec);
	if (rc == 0)
		story(port);
	printf("\n%s==> Where to look next%s\n"
	       "  %s             the spec (see specs/README.md for the format)\n"
	       "  %s/                LMDB state: mdb_stat -a %s\n"
	       "  reconcile plan -c %s --json   the plan for machines\n"
	       "  README.md                         plan/apply tour, exit codes, the rules\n",
	       bold(cli_color(STDOUT_FILENO, false)), plain(cli_color(STDOUT_FILENO, false)),
	       spec, state, state, spec);
	if (keep) {
		printf("  the simulator keeps running (pid %d): curl http://127.0.0.1:%d/_sim/requests\n"
		       "  to run reconcile against it, first export:\n", (int)pid, port);
		for (i = 0; i < sizeof(demo_env) / sizeof(demo_env[0]); i++)
			printf("    export %s=%s\n", demo_env[i][0], demo_env[i][1]);
	} else {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
out:
	free(bindir);
	free(sim);
	free(self);
	free(spec);
	free(state);
	free(seed);
	return rc;
}
