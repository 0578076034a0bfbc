/* bench.c: see bench.h. */
#define _GNU_SOURCE
#include "bench.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

static char self_path[PATH_MAX];

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

const char *bench_self(void)
{
	return self_path;
}

/* A binary next to this executable, unless the variable names one. */
static void default_bin(const char *var, const char *name)
{
	char dir[PATH_MAX], *path;

	if (getenv(var) && *getenv(var))
		return;
	snprintf(dir, sizeof(dir), "%s", self_path);
	path = rc_sprintf("%s/%s", dirname(dir), name);
	setenv(var, path, 1);
	free(path);
}

void bench_init(const char *argv0)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);

	if (n <= 0)
		snprintf(self_path, sizeof(self_path), "%s", argv0);
	else
		self_path[n] = '\0';
	default_bin("RECONCILE_BIN", "reconcile");
	default_bin("RECONCILE_SIM_BIN", "reconcile-sim");
	gen_set_credentials();
	setenv("NO_COLOR", "1", 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned long bench_uarg(const char *opt, const char *val, unsigned long min)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val ? val : "", &end, 10);
	if (errno || !val || end == val || *end || *val == '-' || v < min || v > UINT_MAX)
		bench_die("%s takes an integer >= %lu (got \"%s\")", opt, min, val ? val : "");
	return v;
}

/* ------------------------------------------------------------ children */

void bench_run(const char *const *argv, const char *dir, const char *out, const char *errf,
	       struct bench_proc *r)
{
	struct rusage ru;
	double t0 = bench_now();
	pid_t pid = e2e_spawn_argv(argv, dir, out, errf);
	int st = 0;
	pid_t got;

	do
		got = wait4(pid, &st, 0, &ru);
	while (got < 0 && errno == EINTR);
	if (got != pid)
		bench_die("wait4 %s: %s", argv[0], strerror(errno));
	r->wall = bench_now() - t0;
	r->rss_kb = ru.ru_maxrss;
	r->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void bench_reconcile(const char *const *args, const char *dir, const char *out,
		     const char *errf, struct bench_proc *r)
{
	const char *argv[40];
	size_t i;

	argv[0] = getenv("RECONCILE_BIN");
	for (i = 0; args[i] && i < 38; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	bench_run(argv, dir, out, errf, r);
}

/* ----------------------------------------------------------- simulator */

void bench_sim_start(struct e2e *t, const char *dir, const char *seed)
{
	static int n;
	const char *argv[] = { getenv("RECONCILE_SIM_BIN"), "--seed", seed, "--port", "0",
			       "--quiet", NULL };
	char out[PATH_MAX], errp[PATH_MAX], *text = NULL;
	struct rc_err err;
	int i;

	memset(t, 0, sizeof(*t));
	n++;
	snprintf(out, sizeof(out), "%s/sim%d.out", dir, n);
	snprintf(errp, sizeof(errp), "%s/sim%d.err", dir, n);
	t->sim_pid = e2e_spawn_argv(argv, NULL, out, errp);
	for (i = 0; i < 6000 && !t->port; i++) {
		if (waitpid(t->sim_pid, NULL, WNOHANG) == t->sim_pid)
			bench_die("reconcile-sim %s exited (see %s)", argv[0], errp);
		free(text);
		text = NULL;
		if (!rc_read_file(out, &text, NULL, &err) && strchr(text, '\n'))
			t->port = atoi(text);
		if (!t->port)
			usleep(100000);
	}
	free(text);
	if (!t->port)
		bench_die("reconcile-sim did not print its port (see %s)", errp);
	snprintf(t->base, sizeof(t->base), "http://127.0.0.1:%d", t->port);
}

void bench_sim_stop(struct e2e *t)
{
	if (t->sim_pid > 0) {
		kill(t->sim_pid, SIGTERM);
		e2e_waitpid(t->sim_pid, NULL, 0);
	}
	t->sim_pid = 0;
}

void bench_sim_latency(struct e2e *t, const char *api, int latency_ms, int jitter_ms)
{
	json_t *r = sim_post(t, "/_sim/settings", json_pack("{s:{s:i, s:i}}", api, "latency_ms",
							      latency_ms, "jitter_ms", jitter_ms));

	if (!r || json_object_get(r, "message"))
		bench_die("POST /_sim/settings for %s failed", api);
	json_decref(r);
}

double bench_sim_clock(struct e2e *t, int n)
{
	double t0[64], t1[64], best = 1e9, off = 0;
	json_t *log, *e;
	char url[128];
	size_t i;
	int j;

	n = n > 64 ? 64 : n;
	for (j = 0; j < n; j++) {
		snprintf(url, sizeof(url), "%s/storeganise/api/v1/admin/sites?bench_probe=%d", t->base, j);
		t0[j] = bench_now();
		bench_http("GET", url, NULL, NULL, NULL, NULL);
		t1[j] = bench_now();
	}
	log = bench_sim_requests(t);
	json_array_foreach(log, i, e) {
		const char *q = json_string_value(json_object_get(e, "query"));

		if (!q || strncmp(q, "bench_probe=", 12))
			continue;
		j = atoi(q + 12);
		if (j < 0 || j >= n || t1[j] - t0[j] >= best)
			continue;
		best = t1[j] - t0[j];
		off = (t0[j] + t1[j]) / 2 - json_real_value(json_object_get(e, "at"));
	}
	json_decref(log);
	if (best > 1)
		bench_die("could not read the simulator's clock");
	return off;
}

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
	rc_buf_add(ud, p, s * n);
	return s * n;
}

int bench_http(const char *method, const char *url, const char *const *headers,
	       const char *body, long *status, char **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct rc_buf b;
	size_t i;
	int rc = -1;

	rc_buf_init(&b);
	rc_buf_add(&b, "", 0);
	for (i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK) {
		rc = 0;
		if (status)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out)
		*out = rc_buf_steal(&b);
	rc_buf_free(&b);
	return rc;
}

json_t *bench_sim_requests(struct e2e *t)
{
	char url[128], *body = NULL;
	json_t *j;

	snprintf(url, sizeof(url), "%s/_sim/requests", t->base);
	if (bench_http("GET", url, NULL, NULL, NULL, &body))
		bench_die("GET /_sim/requests failed");
	j = json_loads(body, 0, NULL);
	free(body);
	if (!json_is_array(j))
		bench_die("GET /_sim/requests: not an array");
	return j;
}

/* One collection, page by page, each element written as it comes. */
static void dump_collection(struct e2e *t, const char *coll, const char *key, FILE *f)
{
	const char *hdrs[] = { "Authorization: ApiKey demo-storeganise-key", NULL };
	char url[256], *body = NULL;
	size_t off = 0, i, n = 0, got;
	json_t *page, *o;
	long st = 0;

	fprintf(f, "%s\"%s\":[\n", strcmp(key, "sites") ? ",\n" : "", key);
	do {
		snprintf(url, sizeof(url), "%s/storeganise/api/v1/admin/%s?limit=1000&offset=%zu"
			 "&include=customFields", t->base, coll, off);
		if (bench_http("GET", url, hdrs, NULL, &st, &body) || st != 200)
			bench_die("GET %s: HTTP %ld", url, st);
		page = json_loads(body, 0, NULL);
		free(body);
		if (!json_is_array(page))
			bench_die("GET %s: not an array", url);
		json_array_foreach(page, i, o) {
			fputs(n++ ? ",\n" : "", f);
			json_dumpf(o, f, JSON_COMPACT);
		}
		got = json_array_size(page);
		off += got;
		json_decref(page);
	} while (got == 1000);
	fputs("\n]", f);
}

void bench_dump_pms(struct e2e *t, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		bench_die("%s: %s", path, strerror(errno));
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fputc('{', f);
	dump_collection(t, "sites", "sites", f);
	dump_collection(t, "units", "units", f);
	dump_collection(t, "unit-rentals", "unitRentals", f);
	dump_collection(t, "users", "users", f);
	fputs("}\n", f);
	if (fclose(f) != 0)
		bench_die("%s: write failed", path);
}

/* --------------------------------------------------------------- misc */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_pct(double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double bench_median(double *v, size_t n)
{
	if (n && n % 2 == 0) {
		qsort(v, n, sizeof(*v), cmp_double);
		return (v[n / 2 - 1] + v[n / 2]) / 2;
	}
	return bench_pct(v, n, 50);
}

void bench_fsync_cost(const char *dir, int n, double *p50_ms, double *p99_ms)
{
	char path[PATH_MAX], page[4096];
	double *ms = rc_calloc((size_t)n, sizeof(*ms)), t0;
	int fd, i;

	snprintf(path, sizeof(path), "%s/bench-fsync.tmp", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_die("%s: %s", path, strerror(errno));
	memset(page, 'x', sizeof(page));
	for (i = 0; i < n; i++) {
		t0 = bench_now();
		if (pwrite(fd, page, sizeof(page), (off_t)(i % 16) * 4096) != (ssize_t)sizeof(page) ||
		    fdatasync(fd) != 0)
			bench_die("%s: %s", path, strerror(errno));
		ms[i] = (bench_now() - t0) * 1000;
	}
	close(fd);
	unlink(path);
	*p50_ms = bench_pct(ms, (size_t)n, 50);
	*p99_ms = bench_pct(ms, (size_t)n, 99);
	free(ms);
}

double bench_proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command may hold spaces; fields 14, 15 follow */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long long bench_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

const char *bench_machine(void)
{
	static char out[256];
	char line[256], model[160] = "unknown CPU", deb[32] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(model, sizeof(model), "%s", c + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/etc/debian_version", "r");
	if (f && fgets(deb, sizeof(deb), f))
		deb[strcspn(deb, "\n")] = '\0';
	if (f)
		fclose(f);
	snprintf(out, sizeof(out), "%ld CPU, %s, Debian %s", sysconf(_SC_NPROCESSORS_ONLN), model, deb);
	return out;
}
