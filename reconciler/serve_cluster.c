/*
 * serve_cluster.c: serve's hooks of cluster mode (issue 16): the shard
 * leases (state/cluster_lease.h) started from the spec's "cluster"
 * section, their events logged on the loop, the work of sites whose shard
 * this instance does not own (or has not loaded yet) dropped, the events
 * (state/cluster_bus.h), the per-site state in JetStream
 * (state/cluster_state.h: a shard taken is loaded before its sites run),
 * /metrics and /readyz.
 *
 * Threads: the lease module makes its NATS calls on a thread of its own;
 * it wakes the loop with ev_async_send (libev's one thread-safe call),
 * and serve_cluster_async drains its events on the loop. The ownership
 * queries (still_owner, fence) take the module's mutex and read the
 * monotonic clock: they are right even while the lease thread is late.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_int.h"
#include "specs/spec_cluster.h"
#include "state/cluster_bus.h"
#include "state/cluster_lease.h"
#include "state/cluster_state.h"

/* A key fetched from an owned shard's consumer, acked once a run that
 * started after it arrived has ended well (its commit is done then). */
struct pending {
	char *key;                   /* work key text, new */
	void *handle;                /* the shard message (cluster_bus_done) */
	unsigned shard;
	const void *run;             /* the work item that took it, NULL: not yet */
};

struct serve_cluster {
	struct cluster_lease *cl;
	struct cluster_bus *bus;     /* the event stream (cluster_bus.h) */
	struct cluster_state *state; /* the per-site state (cluster_state.h) */
	ev_async async;
	struct pending *pend;
	size_t npend, cpend;
};

static void notify(void *arg)
{
	struct serve *s = arg;

	ev_async_send(s->loop, &s->cluster->async);
}

/* The names of the spec's sites in shard (new array, names borrowed); *n. */
static const char **shard_sites(struct serve *s, unsigned shard, size_t *n)
{
	unsigned shards = cluster_lease_shards(s->cluster->cl);
	const char **out = rc_calloc(s->spec->nsites + 1, sizeof(*out));
	size_t i;

	*n = 0;
	for (i = 0; i < s->spec->nsites; i++)
		if (cluster_shard_of(s->spec->sites[i].name, shards) == shard)
			out[(*n)++] = s->spec->sites[i].name;
	return out;
}

/* The sites of shard (their periodic and start-up work): queued. */
static void enqueue_shard(struct serve *s, unsigned shard)
{
	unsigned n = cluster_lease_shards(s->cluster->cl);
	size_t i;

	for (i = 0; i < s->spec->nsites; i++)
		if (cluster_shard_of(s->spec->sites[i].name, n) == shard)
			serve_enqueue(s, KEY_SITE, s->spec->sites[i].name);
}

/* A webhook's publish answered (token: its store_job, whose done the
 * webhook's connection waits on): RC_OK, RC_EEXIST (JetStream had it),
 * RC_EIO (503: the sender retries). */
static void published(struct cluster_msg *m)
{
	struct store_job *j = m->token;

	rc_err_clear(&j->err);
	j->rc = m->rc;
	if (m->rc == RC_EIO)
		rc_errf(&j->err, RC_EIO, "JetStream publish: %s", m->why);
	j->done(j);
}

static void publish_failed(void *token, void *arg)
{
	struct cluster_msg m = { .kind = CLUSTER_MSG_PUBLISHED, .token = token, .rc = RC_EIO };

	(void)arg;
	snprintf(m.why, sizeof(m.why), "serve is stopping");
	published(&m);
}

/* ---- routing: an event of <stream>.in to its sites' shards ---- */

struct route_job {
	struct serve *s;
	void *handle;                /* the .in message: routed (acked) or nak'd */
	json_t *ev;
	char *id;
	unsigned *shards;
	char **keys;
	size_t n, cap, cshards;
	bool ok;
};

static void route_add(void *p, const struct spec_site *ss, const char *key)
{
	struct route_job *rj = p;
	size_t cap = rj->cap;

	*RC_PUSH(rj->keys, rj->n, rj->cap) = rc_strdup(key);
	if (rj->cap != cap || !rj->shards)
		rj->shards = rc_realloc(rj->shards, rj->cap * sizeof(*rj->shards));
	rj->shards[rj->n - 1] = cluster_shard_of(ss->name, cluster_lease_shards(rj->s->cluster->cl));
}

static void route_run(void *arg)
{
	struct route_job *rj = arg;

	rj->ok = serve_route_event(rj->s, rj->ev, route_add, rj);
}

/* On the loop: the keys go to their shards, then the event is acked (the
 * event thread does both); when the PMS could not say, it comes again. */
static void route_done(void *arg)
{
	struct route_job *rj = arg;
	struct serve *s = rj->s;
	size_t i;

	if (rj->ok) {
		serve_log(s, RC_LOG_INFO, "event %s: %zu key%s routed", rj->id, rj->n, rj->n == 1 ? "" : "s");
		cluster_bus_route(s->cluster->bus, rj->handle, rj->id, rj->shards,
				  (const char *const *)rj->keys, rj->n);
	} else {
		cluster_bus_done(s->cluster->bus, rj->handle, false, 2000);
	}
	for (i = 0; i < rj->n; i++)
		free(rj->keys[i]);
	free(rj->keys);
	free(rj->shards);
	free(rj->id);
	json_decref(rj->ev);
	free(rj);
	serve_fiber_done(s);
}

/* An event to route (data: its body): on a fiber, counted as a work item
 * (the loop ends only once it is over). Not an event: dropped (acked). */
static void route_event(struct serve *s, struct cluster_msg *m)
{
	json_t *ev = json_loadb(m->data, m->len, 0, NULL);
	const char *id = json_string_value(json_object_get(ev, "id"));
	struct route_job *rj;

	if (!id || s->stopping) {
		if (!id)
			serve_log(s, RC_LOG_WARN, "cluster: a message of the event stream is not an event: dropped");
		cluster_bus_done(s->cluster->bus, m->handle, !id, 0);
		json_decref(ev);
		return;
	}
	rj = rc_calloc(1, sizeof(*rj));
	rj->s = s;
	rj->handle = m->handle;
	rj->ev = ev;
	rj->id = rc_strdup(id);
	s->running++;
	if (fiber_spawn(route_run, rj, route_done)) {
		rj->ok = false;
		route_done(rj);
	}
}

/* ---- work: a key of an owned shard, queued as today ---- */

static void shard_key(struct serve *s, struct cluster_msg *m)
{
	struct serve_key k;
	struct pending *p;

	if (!serve_key_parse(m->data, &k) || k.kind == KEY_ALL) {
		serve_log(s, RC_LOG_WARN, "cluster: shard %u: key %.60s not understood: dropped", m->shard,
			  m->data);
		cluster_bus_done(s->cluster->bus, m->handle, true, 0);
		return;
	}
	p = RC_PUSH(s->cluster->pend, s->cluster->npend, s->cluster->cpend);
	p->key = rc_strdup(m->data);
	p->handle = m->handle;
	p->shard = m->shard;
	p->run = NULL;
	if (m->deliveries > 1)
		serve_log(s, RC_LOG_INFO, "cluster: shard %u: %s delivered again (%u)", m->shard, m->data,
			  m->deliveries);
	serve_enqueue(s, k.kind, k.id);
}

void serve_cluster_take(struct serve *s, const char *key, const void *run)
{
	size_t i;

	if (!s->cluster)
		return;
	for (i = 0; i < s->cluster->npend; i++)
		if (!s->cluster->pend[i].run && !strcmp(s->cluster->pend[i].key, key))
			s->cluster->pend[i].run = run;
}

void serve_cluster_ran(struct serve *s, const void *run, bool ok)
{
	struct serve_cluster *c = s->cluster;
	struct pending *p;
	size_t i = 0;
	bool ack;

	if (!c)
		return;
	while (i < c->npend) {
		p = &c->pend[i];
		if (p->run != run) {
			i++;
			continue;
		}
		/* a lease lost meanwhile: the run may have been dropped; the next
		 * owner gets the key at once (nak) */
		ack = ok && cluster_lease_still_owner(c->cl, p->shard);
		cluster_bus_done(c->bus, p->handle, ack, ok ? 0 : 2000);
		free(p->key);
		c->pend[i] = c->pend[--c->npend];
	}
}

/* On the loop: what the event thread gave back. */
static void bus_drain(struct serve *s)
{
	struct cluster_msg m;

	while (s->cluster->bus && cluster_bus_next(s->cluster->bus, &m)) {
		switch (m.kind) {
		case CLUSTER_MSG_PUBLISHED:
			published(&m);
			break;
		case CLUSTER_MSG_IN:
			route_event(s, &m);
			break;
		case CLUSTER_MSG_SHARD:
			shard_key(s, &m);
			break;
		}
		free(m.data);
	}
}

/* On the loop: a shard's state is loaded (or seeded) after its take:
 * only now do its sites run and its consumer get bound (its keys waited
 * in JetStream meanwhile, neither dropped nor acked). */
static void state_drain(struct serve *s)
{
	struct cluster_state_ev e;

	while (s->cluster->state && cluster_state_next(s->cluster->state, &e)) {
		if (e.rc) {
			serve_log(s, RC_LOG_WARN, "cluster: shard %u: loading its state: %s (again in 1 s)",
				  e.shard, e.msg);
			continue;
		}
		serve_log(s, RC_LOG_INFO, "cluster: shard %u state %s: %zu record%s in %.3f s", e.shard,
			  e.seeded ? "seeded from the local state" : "loaded", e.records,
			  e.records == 1 ? "" : "s", e.seconds);
		enqueue_shard(s, e.shard);
		cluster_bus_bind(s->cluster->bus, e.shard, true);
	}
}

/* A lease taken: its sites wait until the shard's state is loaded. */
static void shard_taken(struct serve *s, unsigned shard)
{
	const char **sites;
	size_t n;

	if (!s->cluster->state) {
		enqueue_shard(s, shard);
		cluster_bus_bind(s->cluster->bus, shard, true);
		return;
	}
	sites = shard_sites(s, shard, &n);
	cluster_state_load(s->cluster->state, shard, sites, n);
	free(sites);
}

static void shard_ended(struct serve *s, unsigned shard)
{
	if (s->cluster->state)
		cluster_state_forget(s->cluster->state, shard);
	cluster_bus_bind(s->cluster->bus, shard, false);
}

/* On the loop: the lease thread's events. Each names the monotonic time
 * its ownership began or ended (tests/e2e/e2e_cluster.c reads them). */
static void serve_cluster_async(struct ev_loop *loop, ev_async *w, int revents)
{
	struct serve *s = w->data;
	struct cluster_event e;

	(void)loop;
	(void)revents;
	bus_drain(s);
	if (!s->cluster->cl)
		return;
	while (cluster_lease_next_event(s->cluster->cl, &e)) {
		switch (e.kind) {
		case CLUSTER_TAKEN:
			serve_log(s, RC_LOG_INFO, "cluster: shard %u taken at %.6f (revision %llu)", e.shard,
				  e.at, (unsigned long long)e.rev);
			shard_taken(s, e.shard);
			break;
		case CLUSTER_LOST:
			serve_log(s, RC_LOG_WARN, "cluster: shard %u lost at %.6f (revision %llu): %s",
				  e.shard, e.at, (unsigned long long)e.rev, e.msg);
			shard_ended(s, e.shard);
			break;
		case CLUSTER_RELEASED:
			serve_log(s, RC_LOG_INFO, "cluster: shard %u released at %.6f (revision %llu): %s",
				  e.shard, e.at, (unsigned long long)e.rev, e.msg);
			shard_ended(s, e.shard);
			break;
		case CLUSTER_ERROR:
			serve_log(s, RC_LOG_WARN, "cluster: NATS: %s", e.msg);
			break;
		}
	}
	state_drain(s); /* after the takes above: a load's event is for its last take */
}

/* The NATS login secrets (new, rc_free_secret) from their references. */
static int read_login(const struct spec_cluster *c, char **password, char **token, char **creds,
		      struct rc_err *err)
{
	const char *dir;
	int rc = RC_OK;

	if (spec_secret_set(&c->password))
		rc = spec_secret_read(&c->password, "cluster.password", NULL, password, err);
	if (!rc && spec_secret_set(&c->token))
		rc = spec_secret_read(&c->token, "cluster.token", NULL, token, err);
	if (!rc && c->creds.file)
		*creds = rc_strdup(c->creds.file);
	if (!rc && c->creds.credential) {
		dir = getenv("CREDENTIALS_DIRECTORY");
		if (!dir || !*dir)
			return rc_errf(err, RC_EINVAL, "credential %s: CREDENTIALS_DIRECTORY is not set "
				       "(needed for cluster.creds)", c->creds.credential);
		*creds = rc_sprintf("%s/%s", dir, c->creds.credential);
	}
	return rc;
}

/* cluster.hash_key (64 hex digits) as the store's hash key: every
 * instance hashes codes alike, so the state in JetStream means the same to
 * the next owner of a shard. */
static int use_hash_key(struct serve *s, const struct spec_cluster *c, struct rc_err *err)
{
	unsigned char key[32];
	char *hex = NULL;
	int rc = spec_secret_read(&c->hash_key, "cluster.hash_key", NULL, &hex, err);

	if (rc)
		return rc;
	if (rc_unhex(hex, key, sizeof(key)) != 0)
		rc = rc_errf(err, RC_EINVAL, "cluster.hash_key: expected 64 hex digits (openssl rand "
			     "-hex 32 makes one), not a value of %zu characters", strlen(hex));
	if (!rc)
		rc = store_use_hash_key(s->e.store, key, err);
	explicit_bzero(key, sizeof(key));
	rc_free_secret(hex);
	return rc;
}

int serve_cluster_start(struct serve *s, struct rc_err *err)
{
	const struct spec_cluster *c = s->spec->cluster;
	struct cluster_opts o = { 0 };
	char *password = NULL, *token = NULL, *creds = NULL;
	int rc;

	if (!c)
		return RC_OK;
	s->cluster = rc_calloc(1, sizeof(*s->cluster));
	ev_async_init(&s->cluster->async, serve_cluster_async);
	s->cluster->async.data = s;
	ev_async_start(s->loop, &s->cluster->async);
	rc = use_hash_key(s, c, err);
	if (!rc)
		rc = read_login(c, &password, &token, &creds, err);
	o.urls = (const char *const *)c->urls;
	o.nurls = c->nurls;
	o.user = c->user;
	o.password = password;
	o.token = token;
	o.creds_file = creds;
	o.bucket = c->bucket;
	o.replicas = c->replicas;
	o.shards = c->shards;
	o.ttl_ms = c->lease_ttl_s * 1000;
	o.notify = notify;
	o.notify_arg = s;
	if (!rc)
		rc = cluster_lease_start(&o, &s->cluster->cl, err);
	if (!rc) {
		struct cluster_bus_opts bo = { &o, c->stream, cluster_lease_instance(s->cluster->cl), true };

		rc = cluster_bus_start(&bo, &s->cluster->bus, err);
	}
	if (!rc) { /* the store's writer is idle: no job before the loop runs */
		struct cluster_state_opts so = { &o, c->state_bucket, cluster_lease_instance(s->cluster->cl),
						 s->cluster->cl, s->e.store };

		rc = cluster_state_start(&so, &s->cluster->state, err);
	}
	rc_free_secret(password);
	rc_free_secret(token);
	free(creds);
	if (rc)
		return rc;
	serve_log(s, RC_LOG_INFO, "cluster: instance %s, %u shards, lease TTL %u s, bucket %s, "
		  "stream %s (webhooks are published to %s.in), state bucket %s",
		  cluster_lease_instance(s->cluster->cl), c->shards, c->lease_ttl_s, c->bucket,
		  c->stream, c->stream, c->state_bucket);
	return RC_OK;
}

void serve_cluster_stop(struct serve *s)
{
	if (!s->cluster)
		return;
	/* keys not worked on: given back at once; the webhooks waiting on a
	 * publish are answered 503 (the sender retries) */
	while (s->cluster->npend) {
		struct pending *p = &s->cluster->pend[--s->cluster->npend];

		cluster_bus_done(s->cluster->bus, p->handle, false, 0);
		free(p->key);
	}
	free(s->cluster->pend);
	cluster_bus_stop(s->cluster->bus, publish_failed, s);
	s->cluster->bus = NULL;
	cluster_state_stop(s->cluster->state); /* the writer is stopped (commit_stop) */
	s->cluster->state = NULL;
	cluster_lease_stop(s->cluster->cl); /* joins its thread: no notify after */
	ev_async_stop(s->loop, &s->cluster->async);
	free(s->cluster);
	s->cluster = NULL;
}

void serve_cluster_publish(struct serve *s, const char *id, const char *body, size_t len,
			   struct store_job *job)
{
	cluster_bus_publish(s->cluster->bus, id, body, len, job);
}

bool serve_cluster_owns(struct serve *s, const char *site, uint64_t *term)
{
	unsigned shard;

	*term = 0;
	if (!s->cluster || !s->cluster->cl)
		return true;
	shard = cluster_shard_of(site, cluster_lease_shards(s->cluster->cl));
	if (s->cluster->state && !cluster_state_ready(s->cluster->state, shard))
		return false; /* its state is being loaded: the load's end queues it */
	return cluster_lease_term(s->cluster->cl, shard, term);
}

bool serve_cluster_fence(struct serve *s, const char *site, uint64_t term)
{
	unsigned shard;

	if (!s->cluster || !s->cluster->cl)
		return true;
	shard = cluster_shard_of(site, cluster_lease_shards(s->cluster->cl));
	return cluster_lease_fence(s->cluster->cl, shard, term);
}

void serve_cluster_metrics(struct serve *s, struct rc_buf *b)
{
	struct cluster_bus_stats bs = { 0 };
	struct cluster_stats st;
	unsigned i;
	long lag;

	if (!s->cluster || !s->cluster->cl)
		return;
	cluster_lease_stats(s->cluster->cl, &st);
	if (s->cluster->bus)
		cluster_bus_stats(s->cluster->bus, &bs);
	rc_buf_printf(b, "# HELP reconcile_cluster_events_published_total Webhooks published to the "
		      "event stream (JetStream acked, duplicates not counted).\n"
		      "# TYPE reconcile_cluster_events_published_total counter\n"
		      "reconcile_cluster_events_published_total %lu\n"
		      "# HELP reconcile_cluster_events_duplicate_total Webhooks JetStream already had.\n"
		      "# TYPE reconcile_cluster_events_duplicate_total counter\n"
		      "reconcile_cluster_events_duplicate_total %lu\n"
		      "# HELP reconcile_cluster_events_publish_errors_total Webhooks whose publish failed (503).\n"
		      "# TYPE reconcile_cluster_events_publish_errors_total counter\n"
		      "reconcile_cluster_events_publish_errors_total %lu\n"
		      "# HELP reconcile_cluster_events_routed_total Events routed to their shards (acked).\n"
		      "# TYPE reconcile_cluster_events_routed_total counter\n"
		      "reconcile_cluster_events_routed_total %lu\n",
		      bs.published, bs.duplicates, bs.publish_errors, bs.routed);
	if (s->cluster->state) {
		struct cluster_state_stats ss;

		cluster_state_stats(s->cluster->state, &ss);
		rc_buf_printf(b, "# HELP reconcile_cluster_state_writes_total Per-site state records written "
			      "to the state bucket (JetStream acked) before their LMDB commit.\n"
			      "# TYPE reconcile_cluster_state_writes_total counter\n"
			      "reconcile_cluster_state_writes_total %lu\n"
			      "# HELP reconcile_cluster_state_write_errors_total Batches JetStream did not take "
			      "(their LMDB transaction aborted, their jobs failed).\n"
			      "# TYPE reconcile_cluster_state_write_errors_total counter\n"
			      "reconcile_cluster_state_write_errors_total %lu\n"
			      "# HELP reconcile_cluster_state_fenced_total Batches refused: a site's shard "
			      "lease was no longer held.\n"
			      "# TYPE reconcile_cluster_state_fenced_total counter\n"
			      "reconcile_cluster_state_fenced_total %lu\n"
			      "# HELP reconcile_cluster_state_loads_total Shards whose state was loaded from "
			      "the bucket at a takeover (seeded: from the local state, at first use).\n"
			      "# TYPE reconcile_cluster_state_loads_total counter\n"
			      "reconcile_cluster_state_loads_total{how=\"loaded\"} %lu\n"
			      "reconcile_cluster_state_loads_total{how=\"seeded\"} %lu\n",
			      ss.published, ss.publish_errors, ss.fenced, ss.loads, ss.seeds);
	}
	rc_buf_printf(b, "# HELP reconcile_cluster_shard_lag Messages of an owned shard's consumer "
		      "not acked yet (pending and in work; read every 2 s).\n"
		      "# TYPE reconcile_cluster_shard_lag gauge\n");
	for (i = 0; s->cluster->bus && i < cluster_lease_shards(s->cluster->cl); i++) {
		lag = cluster_bus_lag(s->cluster->bus, i);
		if (lag >= 0)
			rc_buf_printf(b, "reconcile_cluster_shard_lag{shard=\"%u\"} %ld\n", i, lag);
	}
	rc_buf_printf(b, "# HELP reconcile_cluster_shards_owned Shards whose lease this instance holds.\n"
		      "# TYPE reconcile_cluster_shards_owned gauge\nreconcile_cluster_shards_owned %u\n"
		      "# HELP reconcile_cluster_live_instances Live instances at the last count.\n"
		      "# TYPE reconcile_cluster_live_instances gauge\nreconcile_cluster_live_instances %u\n"
		      "# HELP reconcile_cluster_lease_renewals_total Lease renewals (compare-and-set).\n"
		      "# TYPE reconcile_cluster_lease_renewals_total counter\n"
		      "reconcile_cluster_lease_renewals_total %lu\n"
		      "# HELP reconcile_cluster_takeovers_total Leases taken.\n"
		      "# TYPE reconcile_cluster_takeovers_total counter\nreconcile_cluster_takeovers_total %lu\n"
		      "# HELP reconcile_cluster_lease_lost_total Leases lost (not renewed in time, or "
		      "their compare-and-set failed).\n"
		      "# TYPE reconcile_cluster_lease_lost_total counter\nreconcile_cluster_lease_lost_total %lu\n"
		      "# HELP reconcile_cluster_lease_released_total Leases given up for a fair share.\n"
		      "# TYPE reconcile_cluster_lease_released_total counter\n"
		      "reconcile_cluster_lease_released_total %lu\n",
		      st.owned, st.live, st.renewals, st.takeovers, st.lost, st.released);
}

char *serve_cluster_readyz(struct serve *s)
{
	struct cluster_stats st;
	unsigned *own, n = cluster_lease_shards(s->cluster->cl);
	json_t *j, *a, *loading;
	size_t i, k;
	char *out;

	own = rc_calloc(n, sizeof(*own));
	k = cluster_lease_owned(s->cluster->cl, own, n);
	cluster_lease_stats(s->cluster->cl, &st);
	a = json_array();
	loading = json_array(); /* owned, their state not loaded yet: their sites wait */
	for (i = 0; i < k && i < n; i++) {
		json_array_append_new(a, json_integer(own[i]));
		if (s->cluster->state && !cluster_state_ready(s->cluster->state, own[i]))
			json_array_append_new(loading, json_integer(own[i]));
	}
	j = json_pack("{s:s, s:{s:s, s:i, s:i, s:i, s:o, s:o}}", "status", s->stopping ? "stopping" : "ready",
		      "cluster", "instance", cluster_lease_instance(s->cluster->cl), "shards_total", (int)n,
		      "live", (int)st.live, "fair_share", (int)st.fair, "shards", a, "loading", loading);
	out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	free(own);
	return out ? out : rc_strdup("{\"status\":\"ready\"}");
}
