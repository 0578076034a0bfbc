/*
 * e2e_cluster_take.c: a lease take acked by JetStream is the instance's
 * only once the key's last revision is its own (state/cluster_lease.c,
 * confirm). nats-server before 2.9.21 can ack two takes of one shard that
 * race within milliseconds, the later overwriting the earlier
 * (nats-server#4320): the race itself cannot be timed from outside, so
 * here another client overwrites a key right after the instance's take
 * was acked, which leaves the bucket as that race does. The instance must
 * not count the shard as its own, and must take the others.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "nats_cluster.h"
#include "state/cluster_lease.h"

#define BUCKET "leases"
#define SHARDS 4
#define TTL_S 3

struct tk {
	char dir[256];
	struct nats_cluster n;
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	struct cluster_lease *cl;
};

/* Poll until one shard's key names id: its number, or -1 after secs. */
static int first_taken(struct tk *t, const char *id, double secs)
{
	double end = rc_now_mono() + secs;
	char key[32];
	kvEntry *e;
	int i, found;

	while (rc_now_mono() < end) {
		for (i = 0; i < SHARDS; i++) {
			snprintf(key, sizeof(key), "shard.%d", i);
			e = NULL;
			found = kvStore_Get(&e, t->kv, key) == NATS_OK &&
				!strcmp(kvEntry_ValueString(e), id);
			kvEntry_Destroy(e);
			if (found)
				return i;
		}
		usleep(2000);
	}
	return -1;
}

/* An instance whose take of shard k is overwritten before it confirms:
 * k never becomes its own (no event, not owner), the three others do. */
static void test_an_overwritten_take_is_not_a_lease(void **state)
{
	struct tk *t = *state;
	const char *urls[NATS_NODES];
	struct cluster_opts o;
	struct cluster_event ev;
	struct rc_err err;
	bool taken[SHARDS] = { false };
	char key[32];
	double end;
	int k, i, n = 0;

	nats_cluster_urls(&t->n, urls);
	o = (struct cluster_opts){ .urls = urls, .nurls = NATS_NODES, .bucket = BUCKET,
				   .replicas = 3, .shards = SHARDS, .ttl_ms = TTL_S * 1000,
				   .instance = "taker" };
	assert_int_equal(cluster_lease_start(&o, &t->cl, &err), RC_OK);
	k = first_taken(t, "taker", 10);
	assert_true(k >= 0);
	snprintf(key, sizeof(key), "shard.%d", k);
	/* the settle is TTL/20 = 150 ms: well after this put */
	assert_int_equal(kvStore_PutString(NULL, t->kv, key, "intruder"), NATS_OK);
	for (end = rc_now_mono() + 2; rc_now_mono() < end && n < SHARDS - 1; usleep(20000))
		while (cluster_lease_next_event(t->cl, &ev))
			if (ev.kind == CLUSTER_TAKEN) {
				assert_int_not_equal((int)ev.shard, k);
				taken[ev.shard] = true;
				n++;
			}
	assert_int_equal(n, SHARDS - 1);
	for (i = 0; i < SHARDS; i++)
		assert_true(i == k ? !cluster_lease_still_owner(t->cl, (unsigned)i)
				   : taken[i] && cluster_lease_still_owner(t->cl, (unsigned)i));
	/* within the TTL, the key still names the intruder: never taken */
	for (end = rc_now_mono() + 1; rc_now_mono() < end; usleep(50000)) {
		assert_false(cluster_lease_still_owner(t->cl, (unsigned)k));
		while (cluster_lease_next_event(t->cl, &ev))
			assert_false(ev.kind == CLUSTER_TAKEN && (int)ev.shard == k);
	}
	cluster_lease_stop(t->cl);
	t->cl = NULL;
}

static int setup(void **state)
{
	struct tk *t = calloc(1, sizeof(*t));

	if (!nats_find(t->n.bin, sizeof(t->n.bin))) {
		free(t);
		return -1;
	}
	e2e_mkdtemp(t->dir, sizeof(t->dir));
	if (!nats_cluster_start(&t->n, t->dir) || !nats_cluster_make_bucket(&t->n, BUCKET, TTL_S) ||
	    !nats_cluster_connect(&t->n, &t->nc, &t->js) ||
	    js_KeyValue(&t->kv, t->js, BUCKET) != NATS_OK) {
		nats_cluster_stop(&t->n);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tk *t = *state;

	cluster_lease_stop(t->cl);
	kvStore_Destroy(t->kv);
	jsCtx_Destroy(t->js);
	natsConnection_Destroy(t->nc);
	nats_cluster_stop(&t->n);
	e2e_rmdtemp(t->dir);
	free(t);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_an_overwritten_take_is_not_a_lease, setup,
						teardown),
	};

	if (nats_missing())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
