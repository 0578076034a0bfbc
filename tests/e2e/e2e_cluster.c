/*
 * e2e_cluster.c: cluster mode's shard leases (issue 16, first slice) on
 * loopback: a real 3-node JetStream cluster of nats-server (R3 lease
 * bucket), `reconcile serve` instances as child processes against the
 * simulator, with a 3 s lease TTL.
 *
 *   - 3 instances share 64 shards fairly (21-22 each);
 *   - a fourth joins: 16 each, the others release theirs;
 *   - kill -9 one: its shards are owned by the others within TTL + a tick;
 *   - SIGSTOP an owner past its TTL, SIGCONT: it saw its leases lost
 *     (still_owner false: /readyz), they were owned elsewhere meanwhile,
 *     and it took none back by a stale compare-and-set;
 *   - kill one nats-server node (not the bucket's leader): leases keep
 *     being renewed;
 *   - throughout: never two owners of a shard at once. Each instance logs
 *     when its ownership of a shard began and ended on CLOCK_MONOTONIC (the
 *     same clock for every process of the machine), and the intervals of a
 *     shard must not overlap; an instance killed -9 ends at its kill;
 *   - an instance reconciles only the sites of shards it took.
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

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "nats_cluster.h"
#include "core/common.h"
#include "state/cluster_lease.h"

#define NODES NATS_NODES
#define INSTANCES 4
#define SHARDS 64
#define TTL_S 3
#define BUCKET "leases"

static const char *const TWO[][3] = { { "site1", "site1", "P1" }, { "site2", "site2", "P2" } };

struct inst {
	pid_t pid;
	int port;
	char spec[320], out[320], err[320];
	double killed_at;            /* rc_now_mono() of its kill -9, 0 when none */
};

struct cl {
	struct e2e t;
	struct nats_cluster n;
	struct inst in[INSTANCES];
};

/* ------------------------------------------------------------ nats */






/* The node that leads the bucket's stream (its RAFT leader), -1 if none. */
static int bucket_leader(struct cl *c)
{
	const char *urls[NODES];
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	int i, who = -1;

	nats_cluster_urls(&c->n, urls);
	natsOptions_Create(&o);
	natsOptions_SetServers(o, urls, NODES);
	if (natsConnection_Connect(&nc, o) == NATS_OK &&
	    natsConnection_JetStream(&js, nc, NULL) == NATS_OK &&
	    js_GetStreamInfo(&si, js, "KV_" BUCKET, NULL, NULL) == NATS_OK && si->Cluster &&
	    si->Cluster->Leader)
		for (i = 0; i < NODES; i++)
			if (!strcmp(si->Cluster->Leader, c->n.node_name[i]))
				who = i;
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
	return who;
}

/* ------------------------------------------------------- instances */

static void start_instance(struct cl *c, int n)
{
	struct inst *x = &c->in[n];
	const char *bin = getenv("RECONCILE_BIN");
	const char *argv[] = { bin, "serve", "-c", x->spec, "--listen", "127.0.0.1:0", NULL };
	json_error_t je;
	json_t *spec = json_load_file(c->t.spec, 0, &je), *urls = json_array();
	char state[400], dir[256], *out = NULL;
	struct rc_err err;
	double end;
	int i;

	assert_non_null(spec);
	assert_non_null(bin);
	for (i = 0; i < NODES; i++)
		json_array_append_new(urls, json_string(c->n.urls[i]));
	snprintf(state, sizeof(state), "%s/state-%d", c->t.dir, n);
	json_object_set_new(spec, "state_dir", json_string(state));
	json_object_set_new(spec, "cluster", json_pack("{s:o, s:s, s:i, s:i, s:i}", "urls", urls,
							"bucket", BUCKET, "shards", SHARDS,
							"lease_ttl_s", TTL_S, "replicas", 3));
	snprintf(dir, sizeof(dir), "%s", c->t.dir);
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

/* The shards instance n owns now (its /readyz): their count, -1 when it
 * does not answer; owned[] marks them. */
static int owned_by(struct cl *c, int n, bool owned[SHARDS])
{
	char *body = NULL;
	json_t *j, *a, *v;
	size_t i;
	int k = -1;

	memset(owned, 0, SHARDS * sizeof(bool));
	if (!c->in[n].pid || e2e_serve_post(c->in[n].port, "/readyz", NULL, NULL, &body) != 200) {
		free(body);
		return -1;
	}
	j = json_loads(body, 0, NULL);
	a = json_object_get(json_object_get(j, "cluster"), "shards");
	if (json_is_array(a)) {
		k = 0;
		json_array_foreach(a, i, v)
			if (json_integer_value(v) >= 0 && json_integer_value(v) < SHARDS) {
				owned[json_integer_value(v)] = true;
				k++;
			}
	}
	json_decref(j);
	free(body);
	return k;
}

/* Poll until every live instance of mask owns between lo and hi shards
 * and together they own all 64: true, or false at the deadline. */
static bool wait_share(struct cl *c, unsigned mask, int lo, int hi, double secs)
{
	bool o[SHARDS];
	double end = rc_now_mono() + secs;
	int n, k, total;

	for (; rc_now_mono() < end; usleep(200000)) {
		total = 0;
		for (n = 0; n < INSTANCES; n++) {
			if (!(mask & (1u << n)))
				continue;
			k = owned_by(c, n, o);
			if (k < lo || k > hi)
				break;
			total += k;
		}
		if (n == INSTANCES && total == SHARDS)
			return true;
	}
	for (n = 0; n < INSTANCES; n++)
		if (mask & (1u << n))
			print_message("instance %d owns %d shards\n", n, owned_by(c, n, o));
	return false;
}

static double metric(struct cl *c, int n, const char *name)
{
	return e2e_serve_metric(c->in[n].port, name);
}

/* ----------------------------------------------- ownership intervals */

struct iv {
	int inst;
	unsigned shard;
	double from, to;             /* CLOCK_MONOTONIC seconds; to 1e18: still owned */
	unsigned long long rev;      /* the revision it was taken at */
};

struct ivs {
	struct iv *v;
	size_t n, cap;
};

/* Instance n's log: its intervals (appended to all), and the sites it
 * reconciled (their shards must be among those it took). */
static void read_log(struct cl *c, int n, struct ivs *all)
{
	long open[SHARDS];
	bool took[SHARDS] = { false };
	char *text = NULL, *line, *save = NULL, *p, kind[16], site[64];
	struct rc_err err;
	unsigned shard;
	unsigned long long rev;
	double at;
	struct iv *x;
	int i;

	for (i = 0; i < SHARDS; i++)
		open[i] = -1;
	assert_int_equal(rc_read_file(c->in[n].err, &text, NULL, &err), 0);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		p = strstr(line, "cluster: shard ");
		if (p && sscanf(p, "cluster: shard %u %15s at %lf (revision %llu)", &shard, kind, &at,
				&rev) == 4 && shard < SHARDS) {
			if (!strcmp(kind, "taken")) {
				assert_true(open[shard] < 0); /* taken twice without an end */
				x = RC_PUSH(all->v, all->n, all->cap);
				*x = (struct iv){ n, shard, at, 1e18, rev };
				open[shard] = (long)(all->n - 1);
				took[shard] = true;
			} else if (open[shard] >= 0) {
				all->v[open[shard]].to = at;
				open[shard] = -1;
			}
			continue;
		}
		p = strstr(line, "site ");
		if (p && strstr(p, ": reconciled in") && sscanf(p, "site %63[^:,]", site) == 1 &&
		    !took[cluster_shard_of(site, SHARDS)])
			fail_msg("instance %d reconciled site %s, whose shard %u it never took", n, site,
				 cluster_shard_of(site, SHARDS));
	}
	for (i = 0; i < SHARDS; i++) /* killed -9: it owned nothing after */
		if (open[i] >= 0 && c->in[n].killed_at > 0)
			all->v[open[i]].to = c->in[n].killed_at;
	free(text);
}

static int by_shard_from(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;

	if (x->shard != y->shard)
		return x->shard < y->shard ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* Never two owners of a shard at once: the intervals of each shard, in
 * order, each begins after the one before ended. */
static void check_one_owner(struct ivs *all)
{
	size_t i;

	qsort(all->v, all->n, sizeof(*all->v), by_shard_from);
	for (i = 1; i < all->n; i++) {
		const struct iv *a = &all->v[i - 1], *b = &all->v[i];

		if (a->shard == b->shard && b->from < a->to)
			fail_msg("shard %u had two owners: instance %d from %.6f to %.6f, instance %d from "
				 "%.6f", a->shard, a->inst, a->from, a->to, b->inst, b->from);
	}
}

/* The instance that was stopped from t_stop to t_cont: every lease it
 * held then ended by its local deadline before the TTL ran out, another
 * owned the shard before it woke, and a shard it owned again after was
 * taken anew (a later revision), not renewed from its stale one. */
static void check_stopped(struct ivs *all, int n, double t_stop, double t_cont,
			  const bool woke[SHARDS])
{
	size_t i, k;
	unsigned seen = 0, s;

	/* what it said it owned as it woke: only shards taken after SIGCONT */
	for (s = 0; s < SHARDS; s++) {
		for (i = 0; woke[s] && i < all->n; i++)
			if (all->v[i].shard == s && all->v[i].inst == n && all->v[i].from > t_cont)
				break;
		if (woke[s] && i == all->n)
			fail_msg("shard %u: instance %d said it owned it as it woke from SIGSTOP", s, n);
	}

	for (i = 0; i < all->n; i++) {
		const struct iv *a = &all->v[i];
		const struct iv *other = NULL;

		if (a->inst != n || a->from >= t_stop || a->to <= t_stop)
			continue;
		seen++;
		if (a->to > t_stop + TTL_S)
			fail_msg("shard %u: instance %d owned it until %.3f s after SIGSTOP (TTL %d s)",
				 a->shard, n, a->to - t_stop, TTL_S);
		for (k = 0; k < all->n; k++)
			if (all->v[k].shard == a->shard && all->v[k].inst != n &&
			    all->v[k].from >= a->to && all->v[k].from < t_cont)
				other = &all->v[k];
		if (!other)
			fail_msg("shard %u: no other instance owned it while %d was stopped", a->shard, n);
		for (k = 0; k < all->n; k++)
			if (all->v[k].shard == a->shard && all->v[k].inst == n && all->v[k].from > t_cont &&
			    all->v[k].rev <= other->rev)
				fail_msg("shard %u: instance %d owned it again at revision %llu, not after %llu",
					 a->shard, n, all->v[k].rev, other->rev);
	}
	assert_true(seen > 0);
}

/* --------------------------------------------------------------- test */

static void stop_all(struct cl *c)
{
	int i, st;

	for (i = 0; i < INSTANCES; i++)
		if (c->in[i].pid > 0) {
			kill(c->in[i].pid, SIGCONT);
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

static void kill9(struct cl *c, int n)
{
	int st;

	c->in[n].killed_at = rc_now_mono();
	kill(c->in[n].pid, SIGKILL);
	e2e_waitpid(c->in[n].pid, &st, 0);
	c->in[n].pid = 0;
}

/* Poll until each instance of mask renewed at least `more` leases since
 * before[]: false at the deadline. */
static bool wait_renewals(struct cl *c, unsigned mask, const double before[INSTANCES], double more,
			  double secs)
{
	double end = rc_now_mono() + secs;
	int n;

	for (; rc_now_mono() < end; usleep(200000)) {
		for (n = 0; n < INSTANCES; n++)
			if ((mask & (1u << n)) &&
			    metric(c, n, "reconcile_cluster_lease_renewals_total ") < before[n] + more)
				break;
		if (n == INSTANCES)
			return true;
	}
	return false;
}

static void test_leases(void **state)
{
	struct cl *c = *state;
	struct ivs all = { NULL, 0, 0 };
	double t0, t_stop, t_cont, before[INSTANCES] = { 0 };
	bool woke[SHARDS];
	int leader, victim, n, st;

	nats_cluster_start(&c->n, c->t.dir);
	nats_cluster_make_bucket(&c->n, BUCKET, TTL_S);
	for (n = 0; n < 3; n++)
		start_instance(c, n);
	if (!wait_share(c, 0x7, 21, 22, 20))
		fail_msg("3 instances did not share the 64 shards 21-22 each");

	/* a fourth joins: 16 each, the others release theirs */
	start_instance(c, 3);
	if (!wait_share(c, 0xf, 16, 16, 20))
		fail_msg("4 instances did not share the 64 shards 16 each");
	assert_true(metric(c, 0, "reconcile_cluster_lease_released_total ") > 0);

	/* kill -9: its shards are owned by the others within TTL + ticks */
	kill9(c, 3);
	t0 = rc_now_mono();
	if (!wait_share(c, 0x7, 21, 22, 15))
		fail_msg("the shards of a killed instance were not taken over in 15 s");
	print_message("takeover after kill -9: %.1f s (TTL %d s)\n", rc_now_mono() - t0, TTL_S);
	assert_true(rc_now_mono() - t0 < 2 * TTL_S + 4);

	/* SIGSTOP past the TTL, SIGCONT */
	t_stop = rc_now_mono();
	kill(c->in[0].pid, SIGSTOP);
	if (!wait_share(c, 0x6, 32, 32, 15))
		fail_msg("the shards of a stopped instance were not taken over in 15 s");
	while (rc_now_mono() < t_stop + TTL_S + 0.5)
		usleep(100000); /* rarely: the others were quicker than its TTL */
	t_cont = rc_now_mono();
	kill(c->in[0].pid, SIGCONT);
	assert_true(owned_by(c, 0, woke) >= 0); /* checked against its log below */
	if (!wait_share(c, 0x7, 21, 22, 15))
		fail_msg("the instance woken by SIGCONT did not get its fair share back in 15 s");

	/* one nats-server node down (not the bucket's leader: a leader's loss
	 * stops writes for its election): leases keep being renewed */
	leader = bucket_leader(c);
	victim = leader == 2 ? 1 : 2;
	for (n = 0; n < 3; n++)
		before[n] = metric(c, n, "reconcile_cluster_lease_renewals_total ");
	kill(c->n.node[victim], SIGKILL);
	e2e_waitpid(c->n.node[victim], &st, 0);
	c->n.node[victim] = 0;
	if (!wait_renewals(c, 0x7, before, 2 * 21, 15))
		fail_msg("leases were not renewed after nats-server %s was killed", c->n.node_name[victim]);
	if (!wait_share(c, 0x7, 21, 22, 15))
		fail_msg("the shards were not all owned after nats-server %s was killed",
			 c->n.node_name[victim]);

	/* the logs: one owner at a time; the stopped instance; the sites */
	for (n = 0; n < INSTANCES; n++)
		read_log(c, n, &all);
	check_stopped(&all, 0, t_stop, t_cont, woke);
	check_one_owner(&all);
	free(all.v);

	/* SIGTERM: each stops cleanly (exit 0; under ASan, no leak), its
	 * leases released */
	for (n = 0; n < 3; n++)
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
		cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
	};
	char bin[256];

	if (!nats_find(bin, sizeof(bin))) {
		printf("SKIP: nats-server is not installed (apt-get install nats-server; "
		       "contrib/bootstrap.sh test installs it)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
