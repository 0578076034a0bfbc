/*
 * e2e_cluster_state.c: cluster mode's per-site state in JetStream (issue
 * 16, state/cluster_state.h) on loopback: a 3-node JetStream cluster of
 * nats-server, 2 `reconcile serve` instances against the simulator, 8
 * shards, a 3 s lease TTL, one hash key (state-0's, as an operator brings
 * a state into the cluster: every instance's hash.key becomes it).
 * Instance 0's state directory is a single-process state first (`reconcile
 * apply`): started alone, it seeds every shard from it (first use), and
 * instance 1 loads its share from the bucket. The
 * owner O of site1's shard
 *
 *   - vacates 3 units on move-outs (R10's limit at site1 is 3 an hour);
 *   - sends a tenant create the simulator makes but answers only 60 s
 *     later, and is killed (kill -9) while it waits: its journal intent is
 *     open.
 *
 * The survivor takes the shard over, loads its state from the bucket
 * (not seeded: the shard was in JetStream already) and then:
 *
 *   - has the first owner's journal (read from its LMDB beside it) and
 *     settles the open entry by reading the vendor: marked resolved, the
 *     tenant adopted, not made again (the simulator's log shows one create);
 *   - holds R10 across the takeover: two more move-outs are refused
 *     ("after 3 in the last hour"), no vacate goes out.
 *
 * Without the state in JetStream the survivor's LMDB has neither the
 * journal nor the window (checked by hand: with the rebuild skipped, the
 * journal assertion fails, and without it R10's).
 *
 * A partition (second test): site1's owner is paused (SIGSTOP) with one
 * create in flight and two waiting for its one connection slot; the other
 * instance takes the shard past the TTL and makes what is missing; woken
 * (SIGCONT), the first sends nothing more (its waiting calls ask the fence
 * as they go out: without that, they were sent).
 *
 * Every nats-server and serve is started by PID and killed by the test
 * (and by the harness when it fails). Skipped (77) without nats-server.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "nats_cluster.h"
#include "core/common.h"
#include "state/cluster_lease.h"
#include "state/store.h"

#define NODES NATS_NODES
#define INSTANCES 2
#define SHARDS 8
#define TTL_S 3
#define BUCKET "leases"
#define STREAM "events"
#define STATE_BUCKET "state"
#define SECRET "e2e-webhook-secret"   /* E2E_SG_WEBHOOK_SECRET of the harness */
#define UNITS 20                      /* B100.. at site1: R10's limit there is 3 */

static const char *const TWO[][3] = { { "site1", "site1", "P1" }, { "site2", "site2", "P2" } };

struct inst {
	pid_t pid;
	int port;
	char spec[320], out[320], err[320];
};

struct cl {
	struct e2e t;
	struct nats_cluster n;
	struct inst in[INSTANCES];
};

/* ------------------------------------------------------- instances */

static void start_instance(struct cl *c, int n)
{
	struct inst *x = &c->in[n];
	const char *bin = getenv("RECONCILE_BIN");
	const char *argv[] = { bin, "serve", "-c", x->spec, "--listen", "127.0.0.1:0", NULL };
	json_t *spec = json_load_file(c->t.spec, 0, NULL), *urls = json_array(), *site;
	char state[400], dir[256], *out = NULL;
	struct rc_err err;
	size_t i2;
	double end;
	int i;

	assert_non_null(spec);
	assert_non_null(bin);
	for (i = 0; i < NODES; i++)
		json_array_append_new(urls, json_string(c->n.urls[i]));
	snprintf(state, sizeof(state), "%s/state-%d", c->t.dir, n);
	json_object_set_new(spec, "state_dir", json_string(state));
	json_array_foreach(json_object_get(spec, "sites"), i2, site) /* no periodic run in the test */
		json_object_set_new(site, "sync_interval", json_string("15m"));
	snprintf(dir, sizeof(dir), "%s/cluster-hash-key", c->t.dir);
	json_object_set_new(spec, "cluster", json_pack("{s:o, s:s, s:s, s:s, s:i, s:i, s:i, s:s}",
						       "urls", urls, "bucket", BUCKET, "stream", STREAM,
						       "state_bucket", STATE_BUCKET, "shards", SHARDS,
						       "lease_ttl_s", TTL_S, "replicas", 3,
						       "hash_key_file", dir));
	snprintf(dir, sizeof(dir), "%s", c->t.dir); /* not through c: x is inside it */
	snprintf(x->spec, sizeof(x->spec), "%s/spec-%d.json", dir, n);
	snprintf(x->out, sizeof(x->out), "%s/serve-%d.out", dir, n);
	snprintf(x->err, sizeof(x->err), "%s/serve-%d.err", dir, n);
	assert_int_equal(json_dump_file(spec, x->spec, JSON_INDENT(2)), 0);
	json_decref(spec);
	x->pid = e2e_spawn_argv(argv, c->t.dir, x->out, x->err);
	for (end = rc_now_mono() + 20; rc_now_mono() < end; usleep(50000)) {
		free(out);
		out = NULL;
		if (!rc_read_file(x->out, &out, NULL, &err) && strstr(out, "listening on http://127.0.0.1:"))
			break;
	}
	if (!out || !strstr(out, "listening on"))
		fail_msg("instance %d did not start (see %s)", n, x->err);
	x->port = atoi(strrchr(out, ':') + 1);
	free(out);
}

/* Does instance n own shard now (its /readyz)? */
static bool owns(struct cl *c, int n, unsigned shard)
{
	char *body = NULL;
	json_t *j, *v;
	size_t i;
	bool yes = false;

	if (!c->in[n].pid || e2e_serve_post(c->in[n].port, "/readyz", NULL, NULL, &body) != 200) {
		free(body);
		return false;
	}
	j = json_loads(body, 0, NULL);
	json_array_foreach(json_object_get(json_object_get(j, "cluster"), "shards"), i, v)
		yes |= json_integer_value(v) == (json_int_t)shard;
	json_decref(j);
	free(body);
	return yes;
}

/* The shards instance n owns whose state is not loaded yet (its /readyz). */
static size_t loading(struct cl *c, int n)
{
	char *body = NULL;
	json_t *j;
	size_t k;

	assert_int_equal(e2e_serve_post(c->in[n].port, "/readyz", NULL, NULL, &body), 200);
	j = json_loads(body, 0, NULL);
	assert_true(json_is_array(json_object_get(json_object_get(j, "cluster"), "loading")));
	k = json_array_size(json_object_get(json_object_get(j, "cluster"), "loading"));
	json_decref(j);
	free(body);
	return k;
}

/* Does each instance own its fair share (SHARDS / INSTANCES), all owned? */
static bool shared(struct cl *c)
{
	unsigned s;
	int n, k[INSTANCES] = { 0 };

	for (s = 0; s < SHARDS; s++)
		for (n = 0; n < INSTANCES; n++)
			k[n] += owns(c, n, s);
	for (n = 0; n < INSTANCES; n++)
		if (k[n] != SHARDS / INSTANCES)
			return false;
	return true;
}

/* Instance n's log (stderr) from byte `from` on: does it hold a line
 * with a and b? */
static bool log_has(struct cl *c, int n, size_t from, const char *a, const char *b)
{
	char *text = NULL, *line, *save = NULL;
	struct rc_err err;
	size_t len = 0;
	bool found = false;

	if (!rc_read_file(c->in[n].err, &text, &len, &err) && len > from)
		for (line = strtok_r(text + from, "\n", &save); line && !found;
		     line = strtok_r(NULL, "\n", &save))
			found = strstr(line, a) && (!b || strstr(line, b));
	free(text);
	return found;
}

static size_t log_size(struct cl *c, int n)
{
	char *text = NULL;
	struct rc_err err;
	size_t len = 0;

	if (rc_read_file(c->in[n].err, &text, &len, &err))
		len = 0;
	free(text);
	return len;
}

static bool wait_log(struct cl *c, int n, size_t from, const char *a, const char *b, double secs)
{
	double end = rc_now_mono() + secs;

	for (; rc_now_mono() < end; usleep(100000))
		if (log_has(c, n, from, a, b))
			return true;
	return false;
}

struct find_ctx {
	const char *rental;
	enum journal_state state;    /* of the last entry of rental; 0: none */
	size_t entries;
};

static int find_cb(const struct journal_entry *e, void *payload)
{
	struct find_ctx *f = payload;

	f->entries++;
	if (!strcmp(e->rental_id, f->rental))
		f->state = e->state;
	return 0;
}

/* Instance n's journal of site1 (its LMDB, read beside the running serve:
 * LMDB is multi-process): the state of rental's last entry, and the count. */
static struct find_ctx journal_of(struct cl *c, int n, const char *rental)
{
	struct find_ctx f = { rental, 0, 0 };
	struct store *st = NULL;
	struct store_txn *t = NULL;
	struct rc_err err;
	char dir[400];

	snprintf(dir, sizeof(dir), "%s/state-%d", c->t.dir, n);
	assert_int_equal(store_open(&st, dir, &err), 0);
	assert_int_equal(store_txn_begin(st, false, &t, &err), 0);
	assert_int_equal(store_journal_each(t, "site1", false, find_cb, &f, &err), 0);
	store_txn_abort(t);
	store_close(st);
	return f;
}

/* Instance n's hash.key. */
static void hash_key(struct cl *c, int n, unsigned char key[32])
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state-%d/hash.key", c->t.dir, n);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(key, 1, 32, f), 32);
	fclose(f);
}

/* A single-process state in state-0: `reconcile apply` without a cluster;
 * its hash.key (hex) is the cluster's, in cluster-hash-key. */
static void apply_alone(struct cl *c)
{
	json_t *spec = json_load_file(c->t.spec, 0, NULL);
	char path[320], state[400], hex[65];
	unsigned char key[32];
	FILE *f;
	const char *args[] = { "apply", "-c", path, "--auto-approve", NULL };
	struct run r;

	assert_non_null(spec);
	snprintf(path, sizeof(path), "%s/spec-alone.json", c->t.dir);
	snprintf(state, sizeof(state), "%s/state-0", c->t.dir);
	json_object_set_new(spec, "state_dir", json_string(state));
	assert_int_equal(json_dump_file(spec, path, JSON_INDENT(2)), 0);
	json_decref(spec);
	r = e2e_reconcile(&c->t, args);
	if (r.status != 0)
		fail_msg("apply: %d: %s", r.status, r.err ? r.err : "");
	run_free(&r);
	/* its hash key becomes the cluster's (as an operator converts one) */
	hash_key(c, 0, key);
	rc_hex(key, sizeof(key), hex);
	snprintf(path, sizeof(path), "%s/cluster-hash-key", c->t.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", hex);
	assert_int_equal(fclose(f), 0);
}

/* ----------------------------------------------------------- events */

static long webhook(struct cl *c, int n, const char *type, int rental, const char *tag)
{
	char body[200];

	snprintf(body, sizeof(body), "{\"id\":\"%s-%d\",\"type\":\"%s\",\"data\":{\"unitRentalId\":"
		 "\"rb%d\"}}", tag, rental, type, rental);
	return e2e_serve_post(c->in[n].port, "/webhooks/storeganise", body, SECRET, NULL);
}

static void add_units(struct cl *c)
{
	char id[16], num[16], cid[16];
	int i;

	for (i = 100; i < 100 + UNITS; i++) {
		snprintf(id, sizeof(id), "ub%d", i);
		snprintf(num, sizeof(num), "B%d", i);
		snprintf(cid, sizeof(cid), "cb%d", i);
		json_decref(sim_post(&c->t, "/_sim/insert", json_pack("{s:s, s:{s:i, s:i, s:s, s:s}}",
			"collection", "opentech.units", "object", "id", 6000 + i, "facilityId", 101,
			"unitNumber", num, "status", "Vacant")));
		json_decref(sim_post(&c->t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:{s:s}}}",
			"collection", "storeganise.units", "object", "id", id, "siteId", "site1",
			"name", num, "state", "available", "customFields", "opentech_unitId", num)));
		json_decref(sim_post(&c->t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:n, s:{}}}",
			"collection", "storeganise.users", "object", "id", cid, "firstName", "Bulk",
			"lastName", num, "email", "bulk@example.com", "overdue", "customFields")));
	}
}

static void rent(struct cl *c, int i)
{
	char id[16], rid[16], cid[16];

	snprintf(id, sizeof(id), "ub%d", i);
	snprintf(rid, sizeof(rid), "rb%d", i);
	snprintf(cid, sizeof(cid), "cb%d", i);
	sim_insert_rental(&c->t, "site1", rid, id, cid);
}

static void end_rental(struct cl *c, int i)
{
	char rid[16];

	snprintf(rid, sizeof(rid), "rb%d", i);
	sim_patch(&c->t, "storeganise.unitRentals", rid, json_pack("{s:s}", "state", "ended"));
}

static size_t tenants(struct cl *c, int i)
{
	char num[16];

	snprintf(num, sizeof(num), "B%d", i);
	return sim_tenants_on(&c->t, num);
}

static bool wait_tenants(struct cl *c, int i, size_t want, double secs)
{
	double end = rc_now_mono() + secs;

	for (; rc_now_mono() < end; usleep(100000))
		if (tenants(c, i) == want)
			return true;
	return false;
}

static size_t requests(struct cl *c, const char *method, const char *contains)
{
	json_t *reqs = sim_requests(&c->t);
	size_t n = count_requests(reqs, method, contains);

	json_decref(reqs);
	return n;
}

static void stop_all(struct cl *c)
{
	int i, st;

	for (i = 0; i < INSTANCES; i++)
		if (c->in[i].pid > 0) {
			kill(c->in[i].pid, SIGKILL);
			e2e_waitpid(c->in[i].pid, &st, 0);
			c->in[i].pid = 0;
		}
	for (i = 0; i < NODES; i++)
		if (c->n.node[i] > 0) {
			kill(c->n.node[i], SIGKILL);
			e2e_waitpid(c->n.node[i], &st, 0);
			c->n.node[i] = 0;
		}
}

/* --------------------------------------------------------------- test */

static void test_state_follows_the_shard(void **state)
{
	struct cl *c = *state;
	unsigned shard = cluster_shard_of("site1", SHARDS);
	struct find_ctx f;
	char loaded[64];
	int n, i, o, s, st;
	size_t from;
	double end;

	add_units(c);
	apply_alone(c);
	nats_cluster_start(&c->n, c->t.dir);
	nats_cluster_make_bucket(&c->n, BUCKET, TTL_S);
	/* alone, instance 0 takes every shard: site1's is seeded from its state */
	start_instance(c, 0);
	snprintf(loaded, sizeof(loaded), "cluster: shard %u state seeded from the local state", shard);
	if (!wait_log(c, 0, 0, loaded, NULL, 20))
		fail_msg("instance 0 did not seed shard %u (see %s)", shard, c->in[0].err);
	assert_false(log_has(c, 0, 0, loaded, ": 0 records"));
	for (n = 1; n < INSTANCES; n++)
		start_instance(c, n);
	for (end = rc_now_mono() + 20; rc_now_mono() < end && !shared(c); usleep(200000))
		;
	assert_true(shared(c));
	{ /* every instance hashes codes with the cluster's key */
		unsigned char k0[32], kn[32];

		hash_key(c, 0, k0);
		for (n = 1; n < INSTANCES; n++) {
			hash_key(c, n, kn);
			assert_memory_equal(k0, kn, sizeof(k0));
		}
	}
	for (n = 0; n < INSTANCES; n++)
		assert_true(e2e_serve_settle(c->in[n].port));
	o = owns(c, 0, shard) ? 0 : 1;
	s = 1 - o;
	assert_true(owns(c, o, shard));

	/* 5 tenants, then 3 move-outs: O vacates 3 (R10's limit at site1) */
	for (i = 100; i < 105; i++) {
		rent(c, i);
		assert_int_equal(webhook(c, i % INSTANCES, "job.unit_moveIn.completed", i, "in"), 200);
	}
	for (i = 100; i < 105; i++)
		if (!wait_tenants(c, i, 1, 20))
			fail_msg("the move-in of rb%d was not acted on", i);
	for (i = 100; i < 103; i++) {
		end_rental(c, i);
		assert_int_equal(webhook(c, s, "job.unit_moveOut.completed", i, "out"), 200);
	}
	for (i = 100; i < 103; i++)
		if (!wait_tenants(c, i, 0, 20))
			fail_msg("the move-out of rb%d was not acted on", i);
	assert_true(e2e_serve_settle(c->in[o].port));
	assert_true(e2e_serve_metric(c->in[o].port, "reconcile_cluster_state_writes_total ") > 0);

	/* a create the vendor makes and answers only in 60 s: O is killed
	 * while it waits, its journal intent open */
	json_decref(sim_post(&c->t, "/_sim/faults", json_pack("{s:[{s:s, s:s, s:{s:f}, s:i}]}",
		"rules", "api", "opentech", "route", "POST /opentech/**/visitors", "rates",
		"delay_after", 1.0, "delay_ms", 60000)));
	sim_clear_requests(&c->t);
	rent(c, 105);
	assert_int_equal(webhook(c, s, "job.unit_moveIn.completed", 105, "in"), 200);
	if (!wait_tenants(c, 105, 1, 20))
		fail_msg("the create of rb105 did not reach the vendor");
	from = log_size(c, s);
	kill(c->in[o].pid, SIGKILL);
	e2e_waitpid(c->in[o].pid, &st, 0);
	c->in[o].pid = 0;
	assert_int_equal(sim_delete(&c->t, "/_sim/faults"), 200);

	/* the survivor loads the shard's state (in JetStream since the start:
	 * not seeded) and runs site1 */
	snprintf(loaded, sizeof(loaded), "cluster: shard %u state loaded", shard);
	if (!wait_log(c, s, from, loaded, NULL, 30))
		fail_msg("instance %d did not load shard %u's state (see %s)", s, shard, c->in[s].err);
	if (!wait_log(c, s, from, "site site1: reconciled", NULL, 30))
		fail_msg("instance %d did not run site1 after the takeover", s);
	assert_true(e2e_serve_settle(c->in[s].port));
	assert_int_equal(loading(c, s), 0);
	assert_int_equal(requests(c, "POST", "/visitors"), 1);   /* adopted, not made again */
	assert_int_equal(tenants(c, 105), 1);
	/* the first owner's journal is the survivor's: its open create settled */
	f = journal_of(c, s, "rb105");
	assert_int_equal(f.state, JOURNAL_RESOLVED);
	assert_true(f.entries >= 9);                             /* 6 creates, 3 vacates */

	/* R10 across the takeover: O's 3 vacates count for the survivor */
	sim_clear_requests(&c->t);
	for (i = 103; i < 105; i++) {
		end_rental(c, i);
		assert_int_equal(webhook(c, s, "job.unit_moveOut.completed", i, "out"), 200);
	}
	if (!wait_log(c, s, from, "site site1", "after 3 in the last hour", 20))
		fail_msg("R10 did not hold across the takeover (see %s)", c->in[s].err);
	/* refused runs are retried with backoff (never settled): both were refused */
	if (!wait_log(c, s, from, "rental rb104", "after 3 in the last hour", 20))
		fail_msg("the second move-out was not refused by R10 (see %s)", c->in[s].err);
	assert_int_equal(requests(c, "POST", "/vacate"), 0);
	assert_int_equal(tenants(c, 103), 1);
	assert_int_equal(tenants(c, 104), 1);

	assert_int_equal(e2e_serve_stop(&c->in[s].pid), 0);
	stop_all(c);
}

/* A partition: site1's owner O is paused (SIGSTOP) while one create is
 * in flight at OpenTech (answered in 6 s) and two more wait for its one
 * connection slot (serve.vendor_concurrency 1); S takes the shard past
 * the TTL and makes what is missing. Woken (SIGCONT), O sends nothing
 * more: its waiting calls ask the fence as they are about to go out. */
static void test_a_paused_owner_sends_nothing_after_its_lease(void **state)
{
	struct cl *c = *state;
	unsigned shard = cluster_shard_of("site1", SHARDS);
	json_t *spec = json_load_file(c->t.spec, 0, NULL);
	char path[400];
	size_t made;
	int n, i, o, s;
	double end;

	assert_non_null(spec);
	json_object_set_new(spec, "serve", json_pack("{s:i}", "vendor_concurrency", 1));
	assert_int_equal(json_dump_file(spec, c->t.spec, 0), 0);
	json_decref(spec);
	snprintf(path, sizeof(path), "%s/cluster-hash-key", c->t.dir);
	assert_int_equal(rc_write_file(path, NATS_HASH_KEY "\n", sizeof(NATS_HASH_KEY), NULL), 0);
	add_units(c);
	nats_cluster_start(&c->n, c->t.dir);
	nats_cluster_make_bucket(&c->n, BUCKET, TTL_S);
	for (n = 0; n < INSTANCES; n++)
		start_instance(c, n);
	for (end = rc_now_mono() + 20; rc_now_mono() < end && !shared(c); usleep(200000))
		;
	assert_true(shared(c));
	for (n = 0; n < INSTANCES; n++)
		assert_true(e2e_serve_settle(c->in[n].port));
	o = owns(c, 0, shard) ? 0 : 1;
	s = 1 - o;
	json_decref(sim_post(&c->t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:i, s:b}]",
		"method", "POST", "path_contains", "/visitors", "status", 0, "times", 1,
		"delay_ms", 6000, "commit", 1)));
	sim_clear_requests(&c->t);
	for (i = 100; i < 103; i++) {
		rent(c, i);
		assert_int_equal(webhook(c, o, "job.unit_moveIn.completed", i, "p"), 200);
	}
	for (end = rc_now_mono() + 20; rc_now_mono() < end && requests(c, "POST", "/visitors") < 1;
	     usleep(50000))
		;
	assert_int_equal(requests(c, "POST", "/visitors"), 1);
	usleep(300000); /* the other two runs reach their wait for the slot (or
			 * not yet, on a slow machine: then their owner check stops them) */
	kill(c->in[o].pid, SIGSTOP);
	for (end = rc_now_mono() + 20; rc_now_mono() < end && !owns(c, s, shard); usleep(200000))
		;
	if (!owns(c, s, shard))
		fail_msg("instance %d did not take site1's shard from the paused one", s);
	for (i = 100; i < 103; i++)
		if (!wait_tenants(c, i, 1, 20))
			fail_msg("rb%d: no tenant after the takeover (see %s)", i, c->in[s].err);
	assert_true(e2e_serve_settle(c->in[s].port));
	made = requests(c, "POST", "/visitors");
	kill(c->in[o].pid, SIGCONT);
	/* its lease thread always says so; its runs say "lease was lost" only
	 * when they had reached a call (on a slow machine they may not have) */
	snprintf(path, sizeof(path), "shard %u lost", shard);
	if (!wait_log(c, o, 0, path, NULL, 20))
		fail_msg("the woken instance did not say its lease was lost (see %s)", c->in[o].err);
	assert_true(e2e_serve_settle(c->in[o].port));
	assert_int_equal(requests(c, "POST", "/visitors"), made); /* nothing more from O */
	for (i = 100; i < 103; i++)
		assert_int_equal(tenants(c, i), 1);
	for (n = 0; n < INSTANCES; n++)
		assert_int_equal(e2e_serve_stop(&c->in[n].pid), 0);
	stop_all(c);
}

static int setup(void **state)
{
	struct cl *c = calloc(1, sizeof(*c));

	if (!nats_find(c->n.bin, sizeof(c->n.bin))) {
		free(c);
		return -1;
	}
	e2e_start(&c->t, "tests/e2e/data/two_sites.json", TWO, 2);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct cl *c = *state;

	stop_all(c);
	e2e_stop(&c->t);
	free(c);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_follows_the_shard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_paused_owner_sends_nothing_after_its_lease, setup,
						teardown),
	};

	if (nats_missing())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
