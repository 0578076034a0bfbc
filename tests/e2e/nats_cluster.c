/* nats_cluster.c: cluster mode on loopback for the tests and the
 * benchmark. See nats_cluster.h. */
#define _GNU_SOURCE
#include "nats_cluster.h"

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "core/common.h"

/* Why a step failed, on stderr: false, for `return say(...)`. */
static bool say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("nats_cluster: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return false;
}

bool nats_find(char *out, size_t n)
{
	const char *env = getenv("NATS_SERVER_BIN"), *path = getenv("PATH");
	char dirs[2048];
	char *d, *save = NULL;

	if (env && *env && access(env, X_OK) == 0) {
		snprintf(out, n, "%s", env);
		return true;
	}
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/bin:/usr/local/bin", path ? path : "");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, n, "%s/nats-server", d);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

bool nats_missing(void)
{
	char bin[256];

	if (nats_find(bin, sizeof(bin)))
		return false;
	printf("SKIP: nats-server is not installed (apt-get install nats-server; "
	       "contrib/bootstrap.sh test installs it)\n");
	return true;
}

int nats_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Node i's config file: its client port, JetStream store, and routes to
 * the other two. */
static bool write_conf(const struct nats_cluster *c, int i, const int route[NATS_NODES],
		       const char *conf, const char *store)
{
	FILE *f = fopen(conf, "w");
	int k;

	if (!f)
		return say("cannot write %s", conf);
	fprintf(f, "server_name: %s\nlisten: 127.0.0.1:%d\n"
		"jetstream { store_dir: \"%s\", max_memory_store: 64MB, max_file_store: 256MB }\n"
		"cluster {\n  name: rc\n  listen: 127.0.0.1:%d\n  routes: [\n",
		c->node_name[i], c->client_port[i], store, route[i]);
	for (k = 0; k < NATS_NODES; k++)
		if (k != i)
			fprintf(f, "    nats-route://127.0.0.1:%d\n", route[k]);
	fprintf(f, "  ]\n}\n");
	return fclose(f) == 0 ? true : say("cannot write %s", conf);
}

bool nats_cluster_start(struct nats_cluster *c, const char *tmpdir)
{
	int route[NATS_NODES], i;
	char conf[400], store[400], log[400];

	for (i = 0; i < NATS_NODES; i++) {
		c->node[i] = 0;
		c->client_port[i] = nats_free_port();
		route[i] = nats_free_port();
		if (c->client_port[i] < 0 || route[i] < 0)
			return say("no free port on 127.0.0.1");
		snprintf(c->node_name[i], sizeof(c->node_name[i]), "n%d", i + 1);
		snprintf(c->urls[i], sizeof(c->urls[i]), "nats://127.0.0.1:%d", c->client_port[i]);
	}
	for (i = 0; i < NATS_NODES; i++) {
		const char *argv[] = { c->bin, "-c", conf, NULL };

		snprintf(conf, sizeof(conf), "%s/%s.conf", tmpdir, c->node_name[i]);
		snprintf(store, sizeof(store), "%s/js-%s", tmpdir, c->node_name[i]);
		snprintf(log, sizeof(log), "%s/%s.log", tmpdir, c->node_name[i]);
		if (!write_conf(c, i, route, conf, store))
			return false;
		c->node[i] = e2e_spawn_argv(argv, tmpdir, log, log);
	}
	return true;
}

void nats_cluster_urls(const struct nats_cluster *c, const char *urls[NATS_NODES])
{
	int i;

	for (i = 0; i < NATS_NODES; i++)
		urls[i] = c->urls[i];
}

bool nats_cluster_connect(const struct nats_cluster *c, natsConnection **nc, jsCtx **js)
{
	const char *urls[NATS_NODES];
	natsOptions *o = NULL;
	bool ok;

	*nc = NULL;
	*js = NULL;
	nats_cluster_urls(c, urls);
	if (natsOptions_Create(&o) != NATS_OK)
		return false;
	natsOptions_SetServers(o, urls, NATS_NODES);
	ok = natsConnection_Connect(nc, o) == NATS_OK && natsConnection_JetStream(js, *nc, NULL) == NATS_OK;
	natsOptions_Destroy(o);
	if (!ok) {
		jsCtx_Destroy(*js);
		natsConnection_Destroy(*nc);
		*js = NULL;
		*nc = NULL;
	}
	return ok;
}

bool nats_cluster_make_bucket(const struct nats_cluster *c, const char *bucket, int ttl_s)
{
	double end = rc_now_mono() + 30;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	kvStore *kv = NULL;
	kvConfig kc;
	natsStatus s = NATS_ERR;

	while (rc_now_mono() < end) {
		if (js || nats_cluster_connect(c, &nc, &js)) {
			kvConfig_Init(&kc);
			kc.Bucket = bucket;
			kc.History = 1;
			kc.TTL = (int64_t)ttl_s * 1000 * 1000000; /* ns in libnats 3.4 */
			kc.StorageType = js_FileStorage;
			kc.Replicas = 3;
			s = js_CreateKeyValue(&kv, js, &kc);
			if (s == NATS_OK)
				break;
		}
		usleep(200000);
	}
	kvStore_Destroy(kv);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	if (s != NATS_OK)
		return say("the JetStream cluster did not make the R3 bucket %s in 30 s: %s", bucket,
			   nats_GetLastError(NULL) ? nats_GetLastError(NULL) : natsStatus_GetText(s));
	return true;
}

int nats_cluster_stream_leader(const struct nats_cluster *c, const char *stream)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	int i, who = -1;

	if (nats_cluster_connect(c, &nc, &js) && js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK &&
	    si->Cluster && si->Cluster->Leader)
		for (i = 0; i < NATS_NODES; i++)
			if (!strcmp(si->Cluster->Leader, c->node_name[i]))
				who = i;
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return who;
}

void nats_cluster_kill_node(struct nats_cluster *c, int i)
{
	if (c->node[i] <= 0)
		return;
	kill(c->node[i], SIGKILL);
	e2e_waitpid(c->node[i], NULL, 0);
	c->node[i] = 0;
}

void nats_cluster_stop(struct nats_cluster *c)
{
	int i;

	for (i = 0; i < NATS_NODES; i++)
		nats_cluster_kill_node(c, i);
}

/* ------------------------------------------------ serve instances */

/* base_spec with the instance's state dir and cluster section (new), NULL
 * when it cannot be read. */
static json_t *instance_spec(const struct nats_cluster *c, const struct nats_serve_conf *conf,
			     const char *base_spec, const char *dir, int n)
{
	json_error_t je;
	json_t *spec = json_load_file(base_spec, 0, &je), *urls, *cl, *site;
	struct rc_err err;
	char state[400];
	size_t k;
	int i;

	if (!spec) {
		say("%s: %s", base_spec, je.text);
		return NULL;
	}
	snprintf(state, sizeof(state), "%s/state-%d", dir, n);
	json_object_set_new(spec, "state_dir", json_string(state));
	if (conf && conf->sync_interval)
		json_array_foreach(json_object_get(spec, "sites"), k, site)
			json_object_set_new(site, "sync_interval", json_string(conf->sync_interval));
	if (!c)
		return spec;
	urls = json_array();
	for (i = 0; i < NATS_NODES; i++)
		json_array_append_new(urls, json_string(c->urls[i]));
	/* one hash key for every instance (cluster.hash_key): a test's own */
	snprintf(state, sizeof(state), "%s/cluster-hash-key", dir);
	if (rc_write_file(state, NATS_HASH_KEY "\n", sizeof(NATS_HASH_KEY), &err) != 0) {
		say("%s", err.msg);
		json_decref(spec);
		json_decref(urls);
		return NULL;
	}
	cl = json_pack("{s:o, s:s, s:i, s:i, s:i, s:s}", "urls", urls, "bucket", conf->bucket,
		       "shards", conf->shards, "lease_ttl_s", conf->lease_ttl_s, "replicas", NATS_NODES,
		       "hash_key_file", state);
	if (conf->stream)
		json_object_set_new(cl, "stream", json_string(conf->stream));
	json_object_set_new(spec, "cluster", cl);
	return spec;
}

bool nats_serve_start(struct nats_serve *x, const struct nats_cluster *c,
		      const struct nats_serve_conf *conf, const char *base_spec, const char *dir, int n)
{
	const char *bin = getenv("RECONCILE_BIN");
	const char *argv[] = { bin, "serve", "-c", x->spec, "--listen", "127.0.0.1:0", NULL };
	json_t *spec;
	char *out = NULL;
	struct rc_err err;
	double end;
	int dumped;

	memset(x, 0, sizeof(*x));
	if (!bin)
		return say("RECONCILE_BIN is not set");
	spec = instance_spec(c, conf, base_spec, dir, n);
	if (!spec)
		return false;
	snprintf(x->spec, sizeof(x->spec), "%s/spec-%d.json", dir, n);
	snprintf(x->out, sizeof(x->out), "%s/serve-%d.out", dir, n);
	snprintf(x->err, sizeof(x->err), "%s/serve-%d.err", dir, n);
	dumped = json_dump_file(spec, x->spec, JSON_INDENT(2));
	json_decref(spec);
	if (dumped)
		return say("cannot write %s", x->spec);
	x->pid = e2e_spawn_argv(argv, dir, x->out, x->err);
	for (end = rc_now_mono() + 20; rc_now_mono() < end; usleep(50000)) {
		free(out);
		out = NULL;
		if (!rc_read_file(x->out, &out, NULL, &err) && strstr(out, "listening on http://127.0.0.1:"))
			break;
	}
	if (!out || !strstr(out, "listening on")) {
		free(out);
		return say("instance %d did not start (see %s)", n, x->err);
	}
	x->port = atoi(strrchr(out, ':') + 1);
	free(out);
	return true;
}

int nats_serve_owned(const struct nats_serve *x, int shards, bool *owned)
{
	char *body = NULL;
	json_t *j, *a, *v;
	json_int_t s;
	size_t i;
	int k = -1;

	if (owned)
		memset(owned, 0, (size_t)shards * sizeof(bool));
	if (!x->pid || e2e_serve_post(x->port, "/readyz", NULL, NULL, &body) != 200) {
		free(body);
		return -1;
	}
	j = json_loads(body, 0, NULL);
	a = json_object_get(json_object_get(j, "cluster"), "shards");
	if (json_is_array(a)) {
		k = 0;
		json_array_foreach(a, i, v) {
			s = json_integer_value(v);
			if (s < 0 || s >= shards)
				continue;
			if (owned)
				owned[s] = true;
			k++;
		}
	}
	json_decref(j);
	free(body);
	return k;
}

int nats_serve_bound(const struct nats_serve *x)
{
	const char *key = "\nreconcile_cluster_shard_lag{";
	char *body = NULL, *p;
	int k = 0;

	if (!x->pid || e2e_serve_post(x->port, "/metrics", NULL, NULL, &body) != 200) {
		free(body);
		return -1;
	}
	for (p = strstr(body, key); p; p = strstr(p + 1, key))
		k++;
	free(body);
	return k;
}

bool nats_serve_wait_share(const struct nats_serve *in, int count, unsigned mask, int shards,
			   int lo, int hi, double secs)
{
	double end = rc_now_mono() + secs;
	int n, k, total;

	for (; rc_now_mono() < end; usleep(200000)) {
		total = 0;
		for (n = 0; n < count; n++) {
			if (!(mask & (1u << n)))
				continue;
			k = nats_serve_owned(&in[n], shards, NULL);
			if (k < lo || k > hi)
				break;
			total += k;
		}
		if (n == count && total == shards)
			return true;
	}
	for (n = 0; n < count; n++)
		if (mask & (1u << n))
			fprintf(stderr, "nats_cluster: instance %d owns %d shards\n", n,
				nats_serve_owned(&in[n], shards, NULL));
	return false;
}

void nats_serve_kill(struct nats_serve *x)
{
	if (x->pid <= 0)
		return;
	x->killed_at = rc_now_mono();
	kill(x->pid, SIGCONT);
	kill(x->pid, SIGKILL);
	e2e_waitpid(x->pid, NULL, 0);
	x->pid = 0;
}
