/* nats_cluster.c: a 3-node JetStream cluster for the tests. See nats_cluster.h. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nats_cluster.h"
#include "harness.h"
#include "core/common.h"

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
/* A free TCP port on 127.0.0.1 (bound, read, closed). */
int nats_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}
void nats_cluster_start(struct nats_cluster *c, const char *tmpdir)
{
	int route[NATS_NODES], i, k;
	char conf[400], dir[400], log[400];
	FILE *f;

	for (i = 0; i < NATS_NODES; i++) {
		c->client_port[i] = nats_free_port();
		route[i] = nats_free_port();
		snprintf(c->node_name[i], sizeof(c->node_name[i]), "n%d", i + 1);
		snprintf(c->urls[i], sizeof(c->urls[i]), "nats://127.0.0.1:%d", c->client_port[i]);
	}
	for (i = 0; i < NATS_NODES; i++) {
		const char *argv[] = { c->bin, "-c", conf, NULL };

		snprintf(conf, sizeof(conf), "%s/%s.conf", tmpdir, c->node_name[i]);
		snprintf(dir, sizeof(dir), "%s/js-%s", tmpdir, c->node_name[i]);
		snprintf(log, sizeof(log), "%s/%s.log", tmpdir, c->node_name[i]);
		f = fopen(conf, "w");
		assert_non_null(f);
		fprintf(f, "server_name: %s\nlisten: 127.0.0.1:%d\n"
			"jetstream { store_dir: \"%s\", max_memory_store: 64MB, max_file_store: 256MB }\n"
			"cluster {\n  name: rc\n  listen: 127.0.0.1:%d\n  routes: [\n",
			c->node_name[i], c->client_port[i], dir, route[i]);
		for (k = 0; k < NATS_NODES; k++)
			if (k != i)
				fprintf(f, "    nats-route://127.0.0.1:%d\n", route[k]);
		fprintf(f, "  ]\n}\n");
		fclose(f);
		c->node[i] = e2e_spawn_argv(argv, tmpdir, log, log);
	}
}
void nats_cluster_urls(const struct nats_cluster *c, const char *urls[NATS_NODES])
{
	int i;

	for (i = 0; i < NATS_NODES; i++)
		urls[i] = c->urls[i];
}
/* Wait (deadline) until the JetStream cluster makes the R3 lease bucket
 * (ttl_s): it is ready once its meta leader is elected. */
void nats_cluster_make_bucket(const struct nats_cluster *c, const char *bucket, int ttl_s)
{
	const char *urls[NATS_NODES];
	double end = rc_now_mono() + 30;
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	jsCtx *js = NULL;
	kvStore *kv = NULL;
	kvConfig kc;
	natsStatus s = NATS_ERR;

	nats_cluster_urls(c, urls);
	assert_int_equal(natsOptions_Create(&o), NATS_OK);
	natsOptions_SetServers(o, urls, NATS_NODES);
	while (rc_now_mono() < end) {
		if (!nc && natsConnection_Connect(&nc, o) != NATS_OK)
			nc = NULL;
		if (nc && !js)
			natsConnection_JetStream(&js, nc, NULL);
		if (js) {
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
	if (s != NATS_OK)
		fail_msg("the JetStream cluster did not make the R3 bucket in 30 s: %s",
			 nats_GetLastError(NULL));
	kvStore_Destroy(kv);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
}
