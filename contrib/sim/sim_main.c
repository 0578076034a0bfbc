/*
 * sim_main.c: reconcile-sim's entry point: options, the state and its
 * lock, loading the seed (and the default faults). See
 * contrib/sim/README.md.
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "sim_core.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *g_state;          /* new */
static const char *g_seed_path, *g_faults_path;
static bool g_quiet;

json_t *sim_state(void)
{
	return g_state;
}

void sim_lock(void)
{
	pthread_mutex_lock(&g_lock);
}

void sim_unlock(void)
{
	pthread_mutex_unlock(&g_lock);
}

bool sim_is_quiet(void)
{
	return g_quiet;
}

/* The default faults: the seed's "_faults" (taken out of the state), or
 * the --faults file instead when given (new, may be NULL). */
static int default_faults(json_t *seed, json_t **faults, char *err, size_t n)
{
	json_error_t je;

	*faults = json_incref(json_object_get(seed, "_faults"));
	json_object_del(seed, "_faults");
	if (!g_faults_path)
		return 0;
	json_decref(*faults);
	*faults = json_load_file(g_faults_path, 0, &je);
	if (!*faults) {
		snprintf(err, n, "%s:%d: %s", g_faults_path, je.line, je.text);
		return -1;
	}
	return 0;
}

int sim_load(char *err, size_t n)
{
	const struct sim_api *a;
	json_error_t je;
	json_t *s = json_load_file(g_seed_path, 0, &je), *faults = NULL;
	int rc = -1;

	if (!s) {
		snprintf(err, n, "%s:%d: %s", g_seed_path, je.line, je.text);
		return -1;
	}
	if (default_faults(s, &faults, err, n) || sim_faults_set_default(faults, err, n))
		goto out;
	sim_ix_clear();
	json_decref(g_state);
	g_state = json_incref(s);
	for (a = sim_apis; a->prefix; a++)
		if (a->seed)
			a->seed(g_state);
	sim_log_reset();
	rc = 0;
out:
	json_decref(faults);
	json_decref(s);
	return rc;
}

static const char usage[] =
"Usage: reconcile-sim --seed FILE [--faults FILE] [--port N] [--bind ADDR]\n"
"                     [--threads N] [--quiet]\n"
"\n"
"Simulates the Storeganise admin API (/storeganise/api/v1/admin/...), the\n"
"OpenTech Alliance auth + Access Control v2.0 API (/opentech/...), OpenApp\n"
"access invites (/openapp/api/v1/...) and PTI StorLogix (/pti/...), with control\n"
"endpoints under /_sim/ (state, requests, settings, faults, ...). --faults\n"
"loads a fault configuration (the shape POST /_sim/faults takes). --threads\n"
"sets the size of the server's thread pool (default 1). Prints the port it listens on, alone\n"
"on the first line of stdout. See contrib/sim/README.md.\n";

/* 0, or the exit status for bad arguments. */
static int options(int argc, char **argv, struct sockaddr_in *sa, unsigned *threads)
{
	const char *bind_addr = "127.0.0.1";
	int i, port = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			g_seed_path = argv[++i];
		else if (!strcmp(argv[i], "--faults") && i + 1 < argc)
			g_faults_path = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			bind_addr = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			*threads = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--quiet"))
			g_quiet = true;
		else {
			fputs(usage, strcmp(argv[i], "--help") ? stderr : stdout);
			return strcmp(argv[i], "--help") ? 64 : -1;
		}
	}
	if (!g_seed_path || *threads < 1 || *threads > 64 || port < 0 || port > 65535) {
		fputs(usage, stderr);
		return 64;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, bind_addr, &sa->sin_addr) != 1) {
		fprintf(stderr, "reconcile-sim: bad --bind address %s\n", bind_addr);
		return 64;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d = NULL;
	unsigned threads = 1;
	char err[512];
	sigset_t stop;
	int sig, rc = options(argc, argv, &sa, &threads);

	if (rc)
		return rc < 0 ? 0 : rc;
	/* blocked in every thread (they inherit the mask): main waits for them */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (sim_load(err, sizeof(err))) {
		fprintf(stderr, "reconcile-sim: %s\n", err);
		rc = 1;
		goto out;
	}
	if (sim_wait_start()) {
		fprintf(stderr, "reconcile-sim: cannot start the timer thread\n");
		rc = 1;
		goto out;
	}
	d = sim_server_start(&sa, threads);
	if (!d) {
		fprintf(stderr, "reconcile-sim: cannot listen on port %u\n", ntohs(sa.sin_port));
		rc = 1;
		goto out;
	}
	printf("%u\n", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	fflush(stdout);
	sigwait(&stop, &sig);
out:
	sim_wait_stop();  /* resumes every waiting connection: MHD needs none suspended */
	if (d)
		sim_server_stop(d);
	sim_ix_clear();
	json_decref(g_state);
	sim_log_free();
	sim_faults_free();
	return rc;
}
