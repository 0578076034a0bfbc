/* harness.c: see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/common.h"

static void die(const char *what)
{
	fprintf(stderr, "e2e harness: %s: %s\n", what, strerror(errno));
	exit(99);
}

static const char *env_or(const char *k, const char *dflt)
{
	const char *v = getenv(k);

	return v && *v ? v : dflt;
}

static void set_credentials(void)
{
	setenv("E2E_SG_API_KEY", "demo-storeganise-key", 1);
	setenv("E2E_SG_WEBHOOK_SECRET", "e2e-webhook-secret", 1);
	setenv("E2E_OT_API_KEY", "demo-opentech-key", 1);
	setenv("E2E_OT_API_SECRET", "demo-opentech-secret", 1);
	setenv("E2E_OT_CLIENT_ID", "demo-integrator", 1);
	setenv("E2E_OT_CLIENT_SECRET", "demo-integrator-secret", 1);
}

static void write_spec(struct e2e *t, const char *const sites[][3], size_t n)
{
	struct rc_buf b;
	size_t i;
	FILE *f;

	rc_buf_init(&b);
	rc_buf_printf(&b, "{\"version\":1,\"state_dir\":\"state\",\"pms\":{\"type\":\"storeganise\","
		      "\"base_url\":\"%s/storeganise/api\",\"api_key_env\":\"E2E_SG_API_KEY\","
		      "\"webhook_secret_env\":\"E2E_SG_WEBHOOK_SECRET\",\"page_size\":5},\"sites\":[",
		      t->base);
	for (i = 0; i < n; i++)
		rc_buf_printf(&b, "%s{\"name\":\"%s\",\"pms_site_id\":\"%s\",\"vendor\":\"opentech\",\"sync_interval\":\"10s\","
			      "\"opentech\":{\"base_url\":\"%s/opentech\",\"property_number\":\"%s\","
			      "\"api_key_env\":\"E2E_OT_API_KEY\",\"api_secret_env\":\"E2E_OT_API_SECRET\","
			      "\"client_id_env\":\"E2E_OT_CLIENT_ID\",\"client_secret_env\":\"E2E_OT_CLIENT_SECRET\","
			      "\"access_profile_id\":1,\"time_group_id\":0}}",
			      i ? "," : "", sites[i][0], sites[i][1], t->base, sites[i][2]);
	rc_buf_puts(&b, "]}\n");
	f = fopen(t->spec, "w");
	if (!f)
		die(t->spec);
	fputs(b.p, f);
	fclose(f);
	rc_buf_free(&b);
}

static void start_sim(struct e2e *t, const char *seed);

void e2e_start(struct e2e *t, const char *seed, const char *const sites[][3],
	       size_t nsites)
{
	start_sim(t, seed);
	write_spec(t, sites, nsites);
}

void e2e_start_openapp(struct e2e *t, const char *seed, const char *site,
		       const char *pms_site_id, const char *org, const char *integration,
		       const char *lobby)
{
	FILE *f;

	start_sim(t, seed);
	setenv("E2E_OA_API_KEY", "demo-openapp-key", 1);
	f = fopen(t->spec, "w");
	if (!f)
		die(t->spec);
	fprintf(f, "{\"version\":1,\"state_dir\":\"state\",\"pms\":{\"type\":\"storeganise\","
		"\"base_url\":\"%s/storeganise/api\",\"api_key_env\":\"E2E_SG_API_KEY\",\"page_size\":5},"
		"\"sites\":[{\"name\":\"%s\",\"pms_site_id\":\"%s\",\"vendor\":\"openapp\","
		"\"openapp\":{\"base_url\":\"%s/openapp/api/v1\",\"api_key_env\":\"E2E_OA_API_KEY\","
		"\"org_id\":\"%s\",\"integration_id\":\"%s\",\"lobby_portal_ids\":[\"%s\"],"
		"\"max_uses\":50}}]}\n", t->base, site, pms_site_id, t->base, org, integration, lobby);
	fclose(f);
}

void e2e_start_pti(struct e2e *t, const char *seed, const char *site, const char *pms_site_id)
{
	FILE *f;

	start_sim(t, seed);
	setenv("E2E_PTI_CLIENT_ID", "demo-pti-partner", 1);
	setenv("E2E_PTI_API_KEY", "demo-pti-partner-key", 1);
	f = fopen(t->spec, "w");
	if (!f)
		die(t->spec);
	fprintf(f, "{\"version\":1,\"state_dir\":\"state\",\"pms\":{\"type\":\"storeganise\","
		"\"base_url\":\"%s/storeganise/api\",\"api_key_env\":\"E2E_SG_API_KEY\",\"page_size\":5},"
		"\"sites\":[{\"name\":\"%s\",\"pms_site_id\":\"%s\",\"vendor\":\"pti\","
		"\"pti\":{\"base_url\":\"%s/pti\",\"client_id_env\":\"E2E_PTI_CLIENT_ID\","
		"\"api_key_env\":\"E2E_PTI_API_KEY\",\"site_key_site_field\":\"pti_siteKey\","
		"\"site_code_site_field\":\"pti_siteCode\",\"username_site_field\":\"pti_username\","
		"\"password_site_field\":\"pti_password\",\"access_level\":1,\"zone\":1}}]}\n",
		t->base, site, pms_site_id, t->base);
	fclose(f);
}

static void start_sim(struct e2e *t, const char *seed)
{
	const char *sim = env_or("RECONCILE_SIM_BIN", "build/reconcile-sim");
	const char *src = env_or("RECONCILE_SOURCE_DIR", RECONCILE_SOURCE_DIR);
	char seedpath[512];
	int fd[2];
	FILE *f;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/reconcile-e2e-XXXXXX");
	if (!mkdtemp(t->dir))
		die("mkdtemp");
	snprintf(t->spec, sizeof(t->spec), "%s/spec.json", t->dir);
	snprintf(seedpath, sizeof(seedpath), "%s/%s", src, seed);
	if (pipe(fd) != 0)
		die("pipe");
	t->sim_pid = fork();
	if (t->sim_pid == 0) {
		char logp[300];
		int lfd;

		snprintf(logp, sizeof(logp), "%s/sim.log", t->dir);
		lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd[1], STDOUT_FILENO);
		if (lfd >= 0)
			dup2(lfd, STDERR_FILENO);
		close(fd[0]);
		execl(sim, sim, "--seed", seedpath, "--port", "0", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (!f || fscanf(f, "%d", &t->port) != 1) {
		fprintf(stderr, "e2e harness: simulator %s did not print its port\n", sim);
		exit(99);
	}
	fclose(f);
	snprintf(t->base, sizeof(t->base), "http://127.0.0.1:%d", t->port);
	set_credentials();
}

static int rm_rf(const char *path)
{
	char *cmd = rc_sprintf("rm -rf '%s'", path);
	int rc = system(cmd);

	free(cmd);
	return rc;
}

void e2e_stop(struct e2e *t)
{
	if (t->sim_pid > 0) {
		kill(t->sim_pid, SIGTERM);
		waitpid(t->sim_pid, NULL, 0);
		t->sim_pid = 0;
	}
	if (!getenv("E2E_KEEP"))
		rm_rf(t->dir);
}

static char *slurp(const char *path)
{
	struct rc_err err;
	char *s = NULL;

	if (rc_read_file(path, &s, NULL, &err))
		return rc_strdup("");
	return s;
}

static void exec_reconcile(struct e2e *t, const char *const *args,
			   const char *outp, const char *errp)
{
	const char *bin = env_or("RECONCILE_BIN", "build/reconcile");
	char *abs = realpath(bin, NULL); /* before the chdir below */
	const char *argv[64];
	int i, o, e;

	argv[0] = "reconcile";
	for (i = 0; args[i] && i < 62; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(o, STDOUT_FILENO);
	dup2(e, STDERR_FILENO);
	close(STDIN_FILENO);
	if (chdir(t->dir) != 0)
		_exit(126);
	setenv("NO_COLOR", "1", 1);
	execv(abs ? abs : bin, (char *const *)argv);
	_exit(127);
}

struct run e2e_reconcile(struct e2e *t, const char *const *args)
{
	static int n;
	struct run r = { -1, NULL, NULL };
	char outp[320], errp[320];
	pid_t pid;
	int st;

	n++;
	snprintf(outp, sizeof(outp), "%s/run%d.out", t->dir, n);
	snprintf(errp, sizeof(errp), "%s/run%d.err", t->dir, n);
	pid = fork();
	if (pid == 0)
		exec_reconcile(t, args, outp, errp);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		die("waitpid");
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = slurp(outp);
	r.err = slurp(errp);
	if (getenv("E2E_VERBOSE"))
		fprintf(stderr, "--- reconcile exit %d\n%s\n--- stderr\n%s\n", r.status, r.out, r.err);
	return r;
}

int e2e_status(struct e2e *t, const char *const *args)
{
	struct run r = e2e_reconcile(t, args);
	int st = r.status;

	if (st != 0 && st != 2)
		fprintf(stderr, "reconcile %s (exit %d):\n%s\n%s\n", args[0], st, r.out, r.err);
	run_free(&r);
	return st;
}

int e2e_apply(struct e2e *t)
{
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };

	return e2e_status(t, args);
}

int e2e_plan_exit(struct e2e *t)
{
	const char *args[] = { "plan", "-c", t->spec, "--detailed-exitcode", NULL };

	return e2e_status(t, args);
}

int e2e_converge(struct e2e *t)
{
	char *cmd = rc_sprintf("rm -rf '%s/state'", t->dir);
	int rc;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	rc = system(cmd);
	free(cmd);
	if (rc == 0)
		rc = e2e_apply(t);
	if (rc == 0)
		rc = e2e_plan_exit(t);
	sim_clear_requests(t);
	return rc;
}

pid_t e2e_reconcile_bg(struct e2e *t, const char *const *args)
{
	char outp[320], errp[320];
	pid_t pid;

	snprintf(outp, sizeof(outp), "%s/bg.out", t->dir);
	snprintf(errp, sizeof(errp), "%s/bg.err", t->dir);
	pid = fork();
	if (pid == 0)
		exec_reconcile(t, args, outp, errp);
	return pid;
}

void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ------------------------------------------------------------- HTTP */

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
	rc_buf_add(ud, p, s * n);
	return s * n;
}

static json_t *http(struct e2e *t, const char *method, const char *path,
		    const char *body, long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct rc_buf b;
	char url[512];
	json_t *j = NULL;

	rc_buf_init(&b);
	rc_buf_add(&b, "", 0);
	snprintf(url, sizeof(url), "%s%s", t->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		j = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	rc_buf_free(&b);
	return j;
}

json_t *sim_get(struct e2e *t, const char *path)
{
	long st = 0;

	return http(t, "GET", path, NULL, &st);
}

json_t *sim_post(struct e2e *t, const char *path, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	long st = 0;
	json_t *r = http(t, "POST", path, s ? s : "", &st);

	free(s);
	json_decref(body);
	return r;
}

int sim_delete(struct e2e *t, const char *path)
{
	long st = 0;

	json_decref(http(t, "DELETE", path, NULL, &st));
	return (int)st;
}

void sim_patch(struct e2e *t, const char *collection, const char *id, json_t *set)
{
	json_decref(sim_post(t, "/_sim/patch",
			     json_pack("{s:s, s:s, s:o}", "collection", collection, "id", id,
				       "set", set)));
}

json_t *sim_requests(struct e2e *t)
{
	return sim_get(t, "/_sim/requests");
}

void sim_clear_requests(struct e2e *t)
{
	sim_delete(t, "/_sim/requests");
}

size_t count_requests(json_t *reqs, const char *method, const char *contains)
{
	size_t i, n = 0;
	json_t *r;

	json_array_foreach(reqs, i, r) {
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));

		if (m && p && !strcmp(m, method) && strstr(p, contains))
			n++;
	}
	return n;
}

json_t *json_find_by(json_t *array, const char *key, const char *value)
{
	json_t *o;
	size_t i;

	json_array_foreach(array, i, o)
		if (!strcmp(json_string_value(json_object_get(o, key)) ?: "", value))
			return o;
	return NULL;
}

static json_t *ot_unit(json_t *state, const char *num)
{
	return json_find_by(json_object_get(json_object_get(state, "opentech"), "units"),
			    "unitNumber", num);
}

size_t sim_tenants_on(struct e2e *t, const char *unit_number)
{
	json_t *st = sim_get(t, "/_sim/state"), *u = ot_unit(st, unit_number), *v;
	json_t *vis = json_object_get(json_object_get(st, "opentech"), "visitors");
	size_t i, n = 0;

	json_array_foreach(vis, i, v)
		if (u && json_is_true(json_object_get(v, "isTenant")) &&
		    json_integer_value(json_object_get(v, "unitId")) ==
			    json_integer_value(json_object_get(u, "id")))
			n++;
	json_decref(st);
	return n;
}

char *sim_unit_status(struct e2e *t, const char *unit_number)
{
	json_t *st = sim_get(t, "/_sim/state"), *u = ot_unit(st, unit_number);
	char *s = rc_strdup(json_string_value(json_object_get(u, "status")));

	json_decref(st);
	return s;
}

char *sim_rental_field(struct e2e *t, const char *rental_id, const char *field)
{
	json_t *st = sim_get(t, "/_sim/state"), *r, *v;
	json_t *rs = json_object_get(json_object_get(st, "storeganise"), "unitRentals");
	char *out = NULL;
	size_t i;

	json_array_foreach(rs, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "id")) ?: "", rental_id))
			continue;
		v = json_object_get(json_object_get(r, "customFields"), field);
		if (json_is_string(v))
			out = rc_strdup(json_string_value(v));
		else if (json_is_boolean(v))
			out = rc_strdup(json_is_true(v) ? "true" : "false");
	}
	json_decref(st);
	return out;
}

size_t plan_ops(json_t *plan, const char *kind)
{
	json_t *ops = json_object_get(plan, "operations"), *o;
	size_t i, n = 0;

	json_array_foreach(ops, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "op")) ?: "", kind))
			n++;
	return n;
}

json_t *parse_json(const char *text)
{
	return json_loads(text ? text : "", 0, NULL);
}

bool file_contains(const char *path, const char *needle)
{
	size_t len = 0;
	char *data = NULL;
	struct rc_err err;
	bool hit;

	if (rc_read_file(path, &data, &len, &err))
		return false;
	hit = memmem(data, len, needle, strlen(needle)) != NULL;
	free(data);
	return hit;
}

bool dir_contains(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char p[1024];
	bool hit = false;

	if (!d)
		return false;
	while (!hit && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &st) != 0)
			continue;
		hit = S_ISDIR(st.st_mode) ? dir_contains(p, needle) : file_contains(p, needle);
	}
	closedir(d);
	return hit;
}

/* ------------------------------------------------------------ serve */

void e2e_serve_start(struct e2e *t, pid_t *pid, int *port)
{
	const char *args[] = { "serve", "-c", t->spec, "--listen", "127.0.0.1:0", NULL };
	char path[320], *out = NULL;
	struct rc_err err;
	int i;

	snprintf(path, sizeof(path), "%s/bg.out", t->dir);
	unlink(path); /* a previous serve's port must not be read */
	*pid = e2e_reconcile_bg(t, args);
	for (i = 0; i < 200; i++) {
		free(out);
		out = NULL;
		if (!rc_read_file(path, &out, NULL, &err) && strstr(out, "listening on http://127.0.0.1:"))
			break;
		usleep(50000);
	}
	if (!out || !strstr(out, "listening on"))
		die("reconcile serve did not start (see bg.err)");
	*port = atoi(strrchr(out, ':') + 1);
	free(out);
}

int e2e_serve_stop(pid_t *pid)
{
	int st = -1;

	kill(*pid, SIGTERM);
	waitpid(*pid, &st, 0);
	*pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t serve_body(char *p, size_t sz, size_t n, void *ud)
{
	rc_buf_add(ud, p, sz * n);
	return sz * n;
}

long e2e_serve_post(int port, const char *path, const char *body, const char *secret,
		    char **answer)
{
	unsigned char mac[64];
	unsigned int n = 0;
	char sig[128], url[128], hdr[200];
	struct curl_slist *h = NULL;
	struct rc_buf b;
	long status = 0;
	CURL *c = curl_easy_init();

	if (secret) {
		HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)(body ? body : ""),
		     body ? strlen(body) : 0, mac, &n);
		EVP_EncodeBlock((unsigned char *)sig, mac, (int)n);
		snprintf(hdr, sizeof(hdr), "sg-signature: %s", sig);
		h = curl_slist_append(h, hdr);
	}
	h = curl_slist_append(h, "Content-Type: application/json;charset=UTF-8");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	rc_buf_init(&b);
	rc_buf_add(&b, "", 0);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, serve_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (answer)
		*answer = rc_buf_steal(&b);
	else
		rc_buf_free(&b);
	return status;
}

double e2e_serve_metric(int port, const char *name)
{
	char *m = NULL, *p;
	double v = -1;

	e2e_serve_post(port, "/metrics", NULL, NULL, &m);
	p = m ? strstr(m, name) : NULL;
	while (p && p != m && p[-1] != '\n') /* skip # HELP / # TYPE lines */
		p = strstr(p + 1, name);
	if (p)
		v = strtod(p + strlen(name), NULL);
	free(m);
	return v;
}

bool e2e_serve_settle(int port)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (e2e_serve_metric(port, "reconcile_queue_depth ") == 0 &&
		    e2e_serve_metric(port, "reconcile_workers_busy ") == 0)
			return true;
		usleep(100000);
	}
	return false;
}

void e2e_srv_free(struct e2e_srv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	e2e_stop(&s->t);
	free(s);
}

void sim_insert_rental(struct e2e *t, const char *site, const char *id, const char *unit,
		       const char *owner)
{
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", id, "unitId", unit,
		"siteId", site, "ownerId", owner, "state", "occupied", "customFields")));
}

json_t *sim_state_of(struct e2e *t, const char *api)
{
	json_t *st = sim_get(t, "/_sim/state");
	json_t *p = json_incref(json_object_get(st, api));

	json_decref(st);
	return p;
}
