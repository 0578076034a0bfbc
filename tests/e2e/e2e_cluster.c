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

#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "nats_cluster.h"
#include "core/common.h"
#include "state/cluster_lease.h"

#define INSTANCES 4
#define SHARDS 64
#define TTL_S 3
#define BUCKET "leases"

static const char *const TWO[][3] = { { "site1", "site1", "P1" }, { "site2", "site2", "P2" } };

static const struct nats_serve_conf CONF = { BUCKET, NULL, SHARDS, TTL_S, NULL };

struct cl {
	struct e2e t;
	struct nats_cluster n;
	struct nats_serve in[INSTANCES];
};

/* ------------------------------------------------------- instances */

static void start_instance(struct cl *c, int n)
{
	assert_true(nats_serve_start(&c->in[n], &c->n, &CONF, c->t.spec, c->t.dir, n));
}

static int owned_by(struct cl *c, int n, bool owned[SHARDS])
{
	return nats_serve_owned(&c->in[n], SHARDS, owned);
}

static bool wait_share(struct cl *c, unsigned mask, int lo, int hi, double secs)
{
	return nats_serve_wait_share(c->in, INSTANCES, mask, SHARDS, lo, hi, secs);
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
	int i;

	for (i = 0; i < INSTANCES; i++)
		nats_serve_kill(&c->in[i]);
	nats_cluster_stop(&c->n);
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
	int leader, victim, n;

	assert_true(nats_cluster_start(&c->n, c->t.dir));
	assert_true(nats_cluster_make_bucket(&c->n, BUCKET, TTL_S));
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
	nats_serve_kill(&c->in[3]);
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
	leader = nats_cluster_stream_leader(&c->n, "KV_" BUCKET);
	victim = leader == 2 ? 1 : 2;
	for (n = 0; n < 3; n++)
		before[n] = metric(c, n, "reconcile_cluster_lease_renewals_total ");
	nats_cluster_kill_node(&c->n, victim);
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

	if (nats_missing())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
