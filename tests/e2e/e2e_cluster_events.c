/*
 * e2e_cluster_events.c: cluster mode's webhooks through NATS JetStream
 * (issue 16, second slice) on loopback: a 3-node JetStream cluster of
 * nats-server, 3 `reconcile serve` instances against the simulator, 8
 * shards, a 3 s lease TTL, signed move-in webhooks sent round-robin to
 * every instance:
 *
 *   - each is answered 200 once JetStream has it; the stream is made R3
 *     with a dedupe window of at least 2 minutes;
 *   - the same event sent to another instance is answered "duplicate";
 *   - every move-in answered 200 is acted on by its site's owner (the
 *     simulator shows each tenant made exactly once), whichever instance
 *     got it;
 *   - kill -9 during a burst an instance that owns neither site's shard
 *     (no takeover run covers the sites: an event it had fetched and not
 *     routed comes again from JetStream after "route"'s 30 s ack wait;
 *     the sender retries on another what was not answered 200): every
 *     move-in still converges, none is made twice (the request log);
 *   - one nats-server killed (not the stream's leader): move-ins sent
 *     after are answered 200 and acted on, each made once.
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

#define INSTANCES 3
#define SHARDS 8
#define TTL_S 3
#define BUCKET "leases"
#define STREAM "events"
#define SECRET "e2e-webhook-secret"   /* E2E_SG_WEBHOOK_SECRET of the harness */
#define PER_SITE 20                   /* move-ins per site: half before the kill, half during */
#define AFTER 3                       /* and per site after a nats-server is lost */

static const char *const TWO[][3] = { { "site1", "site1", "P1" }, { "site2", "site2", "P2" } };

/* no periodic run in the test */
static const struct nats_serve_conf CONF = { BUCKET, STREAM, SHARDS, TTL_S, "15m" };

struct cl {
	struct e2e t;
	struct nats_cluster n;
	struct nats_serve in[INSTANCES];
};

/* ------------------------------------------------------- instances */

static int owned_by(struct cl *c, int n, bool owned[SHARDS])
{
	return nats_serve_owned(&c->in[n], SHARDS, owned);
}

/* The stream's replicas and dedupe window (seconds): asserted. */
static void check_stream(struct cl *c)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;

	assert_true(nats_cluster_connect(&c->n, &nc, &js));
	assert_int_equal(js_GetStreamInfo(&si, js, STREAM, NULL, NULL), NATS_OK);
	assert_int_equal(si->Config->Replicas, 3);
	assert_true(si->Config->Duplicates >= 120LL * 1000000000LL);
	assert_true(si->State.Msgs > 0);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
}

/* ----------------------------------------------------------- events */

/* A signed move-in of rental rb<rental> to instance n: the HTTP status
 * (0 when it does not answer); *dup: answered "duplicate". */
static long move_in(struct cl *c, int n, int rental, bool *dup)
{
	char body[200], id[32], *answer = NULL;
	long st;

	if (!c->in[n].pid)
		return 0;
	snprintf(id, sizeof(id), "in-%d", rental);
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"type\":\"job.unit_moveIn.completed\","
		 "\"data\":{\"unitRentalId\":\"rb%d\"}}", id, rental);
	st = e2e_serve_post(c->in[n].port, "/webhooks/storeganise", body, SECRET, &answer);
	if (dup)
		*dup = answer && strstr(answer, "duplicate");
	free(answer);
	return st;
}

/* As a sender does: to instance n, else the next live one, until one
 * answers 200 (false: none did). */
static bool send_until_200(struct cl *c, int n, int rental)
{
	int k;

	for (k = 0; k < 2 * INSTANCES; k++)
		if (move_in(c, (n + k) % INSTANCES, rental, NULL) == 200)
			return true;
	return false;
}

/* n units at site (facility's) B<first>.., vacant at the vendor and in
 * the PMS (unit ub<i>, customer cb<i>): the instances' start-up runs
 * read them, so that a move-in's one-rental run knows its unit. */
static void add_units(struct cl *c, const char *site, int facility, int first, int n)
{
	char id[16], num[16], cid[16];
	int i;

	for (i = first; i < first + n; i++) {
		snprintf(id, sizeof(id), "ub%d", i);
		snprintf(num, sizeof(num), "B%d", i);
		snprintf(cid, sizeof(cid), "cb%d", i);
		json_decref(sim_post(&c->t, "/_sim/insert", json_pack("{s:s, s:{s:i, s:i, s:s, s:s}}",
			"collection", "opentech.units", "object", "id", 6000 + i, "facilityId", facility,
			"unitNumber", num, "status", "Vacant")));
		json_decref(sim_post(&c->t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:{s:s}}}",
			"collection", "storeganise.units", "object", "id", id, "siteId", site,
			"name", num, "state", "available", "customFields", "opentech_unitId", num)));
		json_decref(sim_post(&c->t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:n, s:{}}}",
			"collection", "storeganise.users", "object", "id", cid, "firstName", "Bulk",
			"lastName", num, "email", "bulk@example.com", "overdue", "customFields")));
	}
}

/* The move-in of unit ub<i> in the PMS (rental rb<i>), before its webhook. */
static void rent(struct cl *c, int i)
{
	char id[16], rid[16], cid[16];

	snprintf(id, sizeof(id), "ub%d", i);
	snprintf(rid, sizeof(rid), "rb%d", i);
	snprintf(cid, sizeof(cid), "cb%d", i);
	sim_insert_rental(&c->t, i < 200 ? "site1" : "site2", rid, id, cid);
}

/* Units B<first>.. of both sites (100.. on site1, 200.. on site2) whose
 * tenant count is not `tenants`. */
static int off(struct cl *c, int first, int n, size_t tenants)
{
	char num[16];
	int i, site, k = 0;

	for (site = 1; site <= 2; site++)
		for (i = first; i < first + n; i++) {
			snprintf(num, sizeof(num), "B%d", site * 100 + i);
			k += sim_tenants_on(&c->t, num) != tenants;
		}
	return k;
}

static bool wait_tenants(struct cl *c, int first, int n, double secs)
{
	double end = rc_now_mono() + secs;

	for (; rc_now_mono() < end; usleep(200000))
		if (!off(c, first, n, 1))
			return true;
	return false;
}

/* POSTs that made a visitor (a tenant) since the log was cleared. */
static size_t creates(struct cl *c)
{
	json_t *reqs = sim_requests(&c->t), *r;
	size_t i, n = 0;

	json_array_foreach(reqs, i, r) {
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));
		size_t len = p ? strlen(p) : 0;

		if (m && !strcmp(m, "POST") && len > 9 && !strcmp(p + len - 9, "/visitors"))
			n++;
	}
	json_decref(reqs);
	return n;
}

static double metric_sum(struct cl *c, const char *name)
{
	double v, sum = 0;
	int n;

	for (n = 0; n < INSTANCES; n++)
		if (c->in[n].pid && (v = e2e_serve_metric(c->in[n].port, name)) > 0)
			sum += v;
	return sum;
}

static void stop_all(struct cl *c)
{
	int i;

	for (i = 0; i < INSTANCES; i++)
		nats_serve_kill(&c->in[i]);
	nats_cluster_stop(&c->n);
}

/* --------------------------------------------------------------- test */

static void test_events(void **state)
{
	struct cl *c = *state;
	int n, i, k, victim, answered = 0;
	bool dup = false, owned[SHARDS];
	char lag[80];

	add_units(c, "site1", 101, 100, PER_SITE + AFTER);
	add_units(c, "site2", 102, 200, PER_SITE + AFTER);
	assert_true(nats_cluster_start(&c->n, c->t.dir));
	assert_true(nats_cluster_make_bucket(&c->n, BUCKET, TTL_S));
	for (n = 0; n < INSTANCES; n++)
		assert_true(nats_serve_start(&c->in[n], &c->n, &CONF, c->t.spec, c->t.dir, n));
	if (!nats_serve_wait_share(c->in, INSTANCES, 0x7, SHARDS, 2, 3, 20))
		fail_msg("3 instances did not share the 8 shards");
	for (n = 0; n < INSTANCES; n++)
		assert_true(e2e_serve_settle(c->in[n].port));
	sim_clear_requests(&c->t);
	for (i = 0; i < PER_SITE; i++) {
		rent(c, 100 + i);
		rent(c, 200 + i);
	}

	/* round-robin to every instance: each answered 200 once in JetStream */
	for (i = 0; i < PER_SITE / 2; i++) {
		assert_int_equal(move_in(c, i % INSTANCES, 100 + i, NULL), 200);
		assert_int_equal(move_in(c, (i + 1) % INSTANCES, 200 + i, NULL), 200);
	}
	check_stream(c);
	/* the same event at another instance: JetStream's duplicate */
	assert_int_equal(move_in(c, 1, 100, &dup), 200);
	assert_true(dup);
	if (!wait_tenants(c, 0, PER_SITE / 2, 20))
		fail_msg("%d move-ins answered 200 were not acted on in 20 s", off(c, 0, PER_SITE / 2, 1));
	assert_true(metric_sum(c, "reconcile_cluster_events_published_total ") >= PER_SITE);
	assert_true(metric_sum(c, "reconcile_cluster_events_routed_total ") >= PER_SITE);

	/* kill -9 half-way through a burst an instance that owns neither
	 * site's shard (so no takeover run covers the sites: what it had
	 * fetched and not routed must come again from JetStream); the sender
	 * retries on another instance what was not answered 200 */
	victim = -1;
	for (n = 0; n < INSTANCES && victim < 0; n++)
		if (owned_by(c, n, owned) >= 0 && !owned[cluster_shard_of("site1", SHARDS)] &&
		    !owned[cluster_shard_of("site2", SHARDS)])
			victim = n;
	assert_true(victim >= 0);
	for (i = PER_SITE / 2; i < PER_SITE; i++) {
		if (i == PER_SITE * 3 / 4) {
			nats_serve_kill(&c->in[victim]);
		}
		answered += send_until_200(c, i % INSTANCES, 100 + i);
		answered += send_until_200(c, (i + 1) % INSTANCES, 200 + i);
	}
	assert_int_equal(answered, PER_SITE);
	if (!wait_tenants(c, 0, PER_SITE, 45)) /* "route"'s ack wait is 30 s */
		fail_msg("%d move-ins answered 200 were not acted on in 45 s after a kill -9",
			 off(c, 0, PER_SITE, 1));
	for (n = 0; n < INSTANCES; n++)
		if (c->in[n].pid)
			assert_true(e2e_serve_settle(c->in[n].port));
	assert_int_equal(off(c, 0, PER_SITE, 1), 0);       /* none doubled */
	/* the owner of site1's shard shows its consumer's lag (the others do not) */
	snprintf(lag, sizeof(lag), "reconcile_cluster_shard_lag{shard=\"%u\"} ",
		 cluster_shard_of("site1", SHARDS));
	for (k = 0, n = 0; n < INSTANCES; n++)
		k += c->in[n].pid && e2e_serve_metric(c->in[n].port, lag) >= 0;
	assert_int_equal(k, 1);
	assert_int_equal(creates(c), 2 * PER_SITE);        /* each made once */

	/* one nats-server lost (not the event stream's leader): work goes on
	 * on the other two (a quorum of the R3 stream and buckets) */
	k = nats_cluster_stream_leader(&c->n, STREAM);
	nats_cluster_kill_node(&c->n, k == 2 ? 1 : 2);
	for (i = PER_SITE; i < PER_SITE + AFTER; i++) {
		rent(c, 100 + i);
		rent(c, 200 + i);
		if (!send_until_200(c, i % INSTANCES, 100 + i) ||
		    !send_until_200(c, (i + 1) % INSTANCES, 200 + i))
			fail_msg("a move-in was not answered 200 with one nats-server down");
	}
	if (!wait_tenants(c, PER_SITE, AFTER, 45))
		fail_msg("%d move-ins were not acted on with one nats-server down",
			 off(c, PER_SITE, AFTER, 1));
	assert_int_equal(creates(c), 2 * (PER_SITE + AFTER)); /* each made once */

	for (n = 0; n < INSTANCES; n++)
		if (c->in[n].pid)
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
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	};

	if (nats_missing())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
