/*
 * cluster_state.c: the per-site state in a JetStream key-value bucket.
 * See cluster_state.h for the keys, the order of writes and the threads.
 */
#define _GNU_SOURCE
#include "cluster_state.h"
#include "cluster_nats.h"

#include <nats/nats.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct load_req {
	unsigned shard;
	uint64_t gen;                /* the take it is for */
	char **sites;
	size_t n;
	double not_before;           /* rc_now_mono(): a retry waits */
	struct load_req *next;
};

struct cluster_state {
	char *bucket;
	unsigned shards;
	struct cluster_lease *lease;
	struct store *store;
	void (*notify)(void *);
	void *notify_arg;
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	pthread_t thread;
	bool started;
	pthread_mutex_t pub;         /* one batch published at a time */
	unsigned long ack_errors;    /* of the batch being published (pub held) */
	char ack_why[160];
	pthread_mutex_t mu;          /* everything below */
	pthread_cond_t cv;
	bool stop;
	uint64_t *gen;               /* [shards]: bumped by each take and end */
	bool *ready;                 /* [shards] */
	struct load_req *queue;
	struct cluster_state_ev *ev;
	size_t nev, cev;
	struct cluster_state_stats st;
};

/* ------------------------------------------------------------ keys */

/* base64url of p[0..n) without padding (new), libcrypto's base64 mapped. */
static char *b64url(const void *p, size_t n)
{
	char *out = rc_malloc(4 * ((n + 2) / 3) + 1), *c;
	int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (c = out; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	return out;
}

/* The bytes of a base64url token (new in *out, *n): false when it is not one. */
static bool unb64url(const char *t, size_t tl, unsigned char **out, size_t *n)
{
	size_t pad = (4 - tl % 4) % 4, i;
	char *buf;
	int len;

	if (!tl || pad == 3)
		return false;
	buf = rc_malloc(tl + pad + 1);
	for (i = 0; i < tl; i++)
		buf[i] = t[i] == '-' ? '+' : t[i] == '_' ? '/' : t[i];
	memset(buf + tl, '=', pad);
	buf[tl + pad] = '\0';
	*out = rc_malloc(tl + pad);
	len = EVP_DecodeBlock(*out, (unsigned char *)buf, (int)(tl + pad));
	free(buf);
	if (len < 0 || (size_t)len < pad) {
		free(*out);
		*out = NULL;
		return false;
	}
	*n = (size_t)len - pad; /* DecodeBlock counts the padding as zero bytes */
	return true;
}

char *cluster_state_key(const struct store_change *c, unsigned shards)
{
	size_t sl = strlen(c->site);
	const char *kp = c->key;
	char *site = b64url(c->site, sl), *rest, *out;

	if (!strcmp(c->db, "meta")) /* "<word>\0<site>" */
		rest = b64url(kp, strnlen(kp, c->klen));
	else /* "<site>\0<rest>" */
		rest = b64url(kp + sl + 1, c->klen - sl - 1);
	out = rc_sprintf("%u.%s.%s.%s", cluster_shard_of(c->site, shards), site, c->db, rest);
	free(site);
	free(rest);
	return out;
}

bool cluster_state_parse(const char *key, const void *val, size_t vlen, struct store_changes *out)
{
	const char *t[4], *p = key, *dot, *db;
	size_t tl[4], i, sn = 0, rn = 0;
	unsigned char *site = NULL, *rest = NULL;
	char *k;
	bool ok = false;

	for (i = 0; i < 4; i++) {
		dot = strchr(p, '.');
		t[i] = p;
		tl[i] = dot && i < 3 ? (size_t)(dot - p) : strlen(p);
		if ((i < 3 && !dot) || (i == 3 && dot))
			return false;
		p = dot ? dot + 1 : p;
	}
	{
		char dbname[16];

		if (tl[2] >= sizeof(dbname))
			return false;
		memcpy(dbname, t[2], tl[2]);
		dbname[tl[2]] = '\0';
		db = store_replica_db(dbname);
	}
	if (!db || !unb64url(t[1], tl[1], &site, &sn))
		return false;
	if (!unb64url(t[3], tl[3], &rest, &rn) || memchr(site, '\0', sn))
		goto out;
	k = rc_malloc(sn + rn + 2);
	if (!strcmp(db, "meta")) {
		memcpy(k, rest, rn);
		k[rn] = '\0';
		memcpy(k + rn + 1, site, sn);
	} else {
		memcpy(k, site, sn);
		k[sn] = '\0';
		memcpy(k + sn + 1, rest, rn);
	}
	{
		char *s = rc_strndup((char *)site, sn);

		store_changes_add(out, db, s, k, sn + rn + 1, val ? val : "", vlen);
		free(s);
	}
	free(k);
	ok = true;
out:
	free(site);
	free(rest);
	return ok;
}

/* ---------------------------------------------------------- publish */

static void ack_cb(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct cluster_state *cs = closure;

	(void)js;
	if (!pa || pae) {
		cs->ack_errors++; /* pub is held by the publisher waiting on these */
		if (pae && pae->ErrText)
			snprintf(cs->ack_why, sizeof(cs->ack_why), "%s", pae->ErrText);
		else if (pae)
			snprintf(cs->ack_why, sizeof(cs->ack_why), "%s", natsStatus_GetText(pae->Err));
	}
	natsMsg_Destroy(msg);
}

/* Every site of c still ours (the lease of its shard held)? */
static bool fenced_ok(struct cluster_state *cs, const struct store_change *c, size_t n,
		      const char **bad)
{
	const char *last = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (last && !strcmp(last, c[i].site))
			continue;
		last = c[i].site;
		if (!cluster_lease_still_owner(cs->lease, cluster_shard_of(last, cs->shards))) {
			*bad = last;
			return false;
		}
	}
	return true;
}

/* Publish c[0..n) and wait for every ack; pub held. */
static int publish_all(struct cluster_state *cs, const struct store_change *c, size_t n,
		       struct rc_err *err)
{
	jsPubOptions po;
	natsMsgList pending = { 0 };
	natsStatus s = NATS_OK;
	natsMsg *m = NULL;
	char *key, *subj;
	size_t i;

	jsPubOptions_Init(&po);
	po.MaxWait = CLUSTER_STATE_PUB_MS;
	cs->ack_errors = 0;
	cs->ack_why[0] = '\0';
	for (i = 0; s == NATS_OK && i < n; i++) {
		key = cluster_state_key(&c[i], cs->shards);
		subj = rc_sprintf("$KV.%s.%s", cs->bucket, key);
		s = natsMsg_Create(&m, subj, NULL, c[i].del ? NULL : c[i].val,
				   c[i].del ? 0 : (int)c[i].vlen);
		if (s == NATS_OK && c[i].del) /* what kvStore_Delete sends */
			s = natsMsgHeader_Set(m, "KV-Operation", "DEL");
		if (s == NATS_OK)
			s = js_PublishMsgAsync(cs->js, &m, &po);
		natsMsg_Destroy(m); /* NULL once the library took it */
		m = NULL;
		free(subj);
		free(key);
	}
	if (s == NATS_OK)
		s = js_PublishAsyncComplete(cs->js, &po);
	if (s != NATS_OK && js_PublishAsyncGetPendingList(&pending, cs->js) == NATS_OK)
		natsMsgList_Destroy(&pending); /* not acked in time: given up */
	if (s != NATS_OK)
		return cluster_nats_fail(err, RC_EIO, s, "cluster: JetStream (state)");
	if (cs->ack_errors)
		return rc_errf(err, RC_EIO, "cluster: JetStream refused %lu of %zu state writes: %s",
			       cs->ack_errors, n, cs->ack_why);
	return RC_OK;
}

static int fence_fail(struct cluster_state *cs, const char *site, struct rc_err *err)
{
	pthread_mutex_lock(&cs->mu);
	cs->st.fenced++;
	pthread_mutex_unlock(&cs->mu);
	return rc_errf(err, RC_EREFUSED, "cluster: site %s: its shard's lease is no longer held: "
		       "the write is not made", site);
}

/* The store's replica: fence, publish, wait, fence again (store_replica.h).
 * The second fence: a lease lost while the acks came (released, or past
 * its deadline) may have been taken by an instance whose load did not see
 * this batch; LMDB does not commit it then, so no call follows it here. */
static int publish(void *arg, const struct store_change *c, size_t n, struct rc_err *err)
{
	struct cluster_state *cs = arg;
	const char *bad = NULL;
	int rc;

	pthread_mutex_lock(&cs->pub);
	if (!fenced_ok(cs, c, n, &bad)) {
		rc = fence_fail(cs, bad, err);
		pthread_mutex_unlock(&cs->pub);
		return rc;
	}
	rc = publish_all(cs, c, n, err);
	pthread_mutex_unlock(&cs->pub);
	pthread_mutex_lock(&cs->mu);
	cs->st.batches++;
	if (rc)
		cs->st.publish_errors++;
	else
		cs->st.published += n;
	pthread_mutex_unlock(&cs->mu);
	if (!rc && !fenced_ok(cs, c, n, &bad))
		rc = fence_fail(cs, bad, err);
	return rc;
}

/* Retention: only the sites of shards held and loaded (a load replaces
 * the local records: what retention dropped meanwhile would come back). */
static bool owns(void *arg, const char *site)
{
	struct cluster_state *cs = arg;
	unsigned shard = cluster_shard_of(site, cs->shards);

	return cluster_state_ready(cs, shard) && cluster_lease_still_owner(cs->lease, shard);
}

/* ------------------------------------------------------------- loads */

#define EVENTS_MAX 4096

/* Queue an event for the owner; mu held. */
static void push_ev(struct cluster_state *cs, const struct cluster_state_ev *e)
{
	if (cs->nev < EVENTS_MAX)
		*RC_PUSH(cs->ev, cs->nev, cs->cev) = *e;
}

static void req_free(struct load_req *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->sites[i]);
	free(r->sites);
	free(r);
}

/* The shard's keys from the bucket into out: a watch of "<shard>.>" (last
 * value of each key, deletes skipped) read until it has caught up. */
static int read_shard(struct cluster_state *cs, unsigned shard, struct store_changes *out,
		      struct rc_err *err)
{
	kvWatchOptions wo;
	kvWatcher *w = NULL;
	kvEntry *e = NULL;
	double until = rc_now_mono() + CLUSTER_STATE_LOAD_MS / 1000.;
	char filter[32];
	natsStatus s;
	int rc = RC_OK;

	snprintf(filter, sizeof(filter), "%u.>", shard);
	kvWatchOptions_Init(&wo);
	wo.IgnoreDeletes = true;
	s = kvStore_Watch(&w, cs->kv, filter, &wo);
	while (s == NATS_OK) {
		if (rc_now_mono() > until) {
			s = NATS_TIMEOUT;
			break;
		}
		s = kvWatcher_Next(&e, w, 1000);
		if (s != NATS_OK || !e)
			break; /* NULL: caught up */
		if (!cluster_state_parse(kvEntry_Key(e), kvEntry_Value(e),
					 (size_t)kvEntry_ValueLen(e), out))
			rc = rc_errf(err, RC_EPARSE, "cluster: state key %.80s is not one of ours",
				     kvEntry_Key(e));
		kvEntry_Destroy(e);
		e = NULL;
		if (rc)
			break;
	}
	if (w)
		kvWatcher_Destroy(w);
	if (!rc && s != NATS_OK)
		rc = cluster_nats_fail(err, RC_EIO, s, "cluster: reading the shard's state");
	return rc;
}

/* First use of a shard: what the local LMDB holds of its sites goes to
 * the bucket, then the marker. */
static int seed_shard(struct cluster_state *cs, const struct load_req *r, const char *marker,
		      size_t *records, struct rc_err *err)
{
	struct store_changes ch = { 0 };
	natsStatus s;
	int rc = store_replica_collect(cs->store, (const char *const *)r->sites, r->n, &ch, err);

	*records = ch.n;
	if (!rc)
		rc = publish(cs, ch.c, ch.n, err);
	if (!rc) {
		s = kvStore_PutString(NULL, cs->kv, marker, "1");
		if (s != NATS_OK)
			rc = cluster_nats_fail(err, RC_EIO, s, "cluster: the shard's state marker");
	}
	store_changes_clear(&ch);
	return rc;
}

/* Load (or seed) one shard: RC_OK once its LMDB records are the bucket's. */
static int load_shard(struct cluster_state *cs, const struct load_req *r,
		      struct cluster_state_ev *ev, struct rc_err *err)
{
	struct store_changes ch = { 0 };
	char marker[32];
	kvEntry *e = NULL;
	natsStatus s;
	int rc;

	snprintf(marker, sizeof(marker), "m.%u", r->shard);
	s = kvStore_Get(&e, cs->kv, marker);
	kvEntry_Destroy(e);
	if (s == NATS_NOT_FOUND) {
		ev->seeded = true;
		return seed_shard(cs, r, marker, &ev->records, err);
	}
	if (s != NATS_OK)
		return cluster_nats_fail(err, RC_EIO, s, "cluster: the shard's state marker");
	rc = read_shard(cs, r->shard, &ch, err);
	ev->records = ch.n;
	/* the lease may have ended meanwhile: its next take loads again */
	if (!rc && !cluster_lease_still_owner(cs->lease, r->shard))
		rc = rc_errf(err, RC_EREFUSED, "cluster: shard %u: its lease ended during the load",
			     r->shard);
	if (!rc)
		rc = store_replica_replace(cs->store, (const char *const *)r->sites, r->n, ch.c, ch.n,
					   err);
	store_changes_clear(&ch);
	return rc;
}

/* The next request due (mu held): taken off the queue; NULL: none yet,
 * *wait says until when (0: nothing queued). */
static struct load_req *next_req(struct cluster_state *cs, double *wait)
{
	struct load_req **pp, *r;
	double now = rc_now_mono();

	*wait = 0;
	for (pp = &cs->queue; *pp; pp = &(*pp)->next) {
		r = *pp;
		if (r->not_before <= now) {
			*pp = r->next;
			return r;
		}
		if (!*wait || r->not_before < *wait)
			*wait = r->not_before;
	}
	return NULL;
}

static void run_req(struct cluster_state *cs, struct load_req *r)
{
	struct cluster_state_ev ev = { .shard = r->shard };
	struct rc_err err;
	double t0 = rc_now_mono();
	bool current;

	rc_err_clear(&err);
	ev.rc = load_shard(cs, r, &ev, &err);
	ev.seconds = rc_now_mono() - t0;
	if (ev.rc)
		snprintf(ev.msg, sizeof(ev.msg), "%s", err.msg);
	pthread_mutex_lock(&cs->mu);
	current = cs->gen[r->shard] == r->gen && !cs->stop;
	if (current && !ev.rc) {
		cs->ready[r->shard] = true;
		if (ev.seeded)
			cs->st.seeds++;
		else
			cs->st.loads++;
	}
	if (current)
		push_ev(cs, &ev);
	if (current && ev.rc) { /* again in a second, while the lease is this take's */
		r->not_before = rc_now_mono() + 1.0;
		r->next = cs->queue;
		cs->queue = r;
		r = NULL;
	}
	pthread_mutex_unlock(&cs->mu);
	if (r)
		req_free(r);
	if (current && cs->notify)
		cs->notify(cs->notify_arg);
}

static void *state_main(void *p)
{
	struct cluster_state *cs = p;
	struct load_req *r;
	struct timespec ts;
	double wait;

	pthread_mutex_lock(&cs->mu);
	while (!cs->stop) {
		r = next_req(cs, &wait);
		if (!r && !wait) {
			pthread_cond_wait(&cs->cv, &cs->mu);
			continue;
		}
		if (!r) { /* a retry later: CLOCK_REALTIME for the cond */
			clock_gettime(CLOCK_REALTIME, &ts);
			wait -= rc_now_mono();
			ts.tv_sec += (time_t)wait;
			ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&cs->cv, &cs->mu, &ts);
			continue;
		}
		if (cs->gen[r->shard] != r->gen) { /* its lease ended meanwhile */
			req_free(r);
			continue;
		}
		pthread_mutex_unlock(&cs->mu);
		run_req(cs, r);
		pthread_mutex_lock(&cs->mu);
	}
	pthread_mutex_unlock(&cs->mu);
	return NULL;
}

void cluster_state_load(struct cluster_state *cs, unsigned shard, const char *const *sites,
			size_t n)
{
	struct load_req *r = rc_calloc(1, sizeof(*r)), **pp;
	size_t i;

	if (shard >= cs->shards) {
		free(r);
		return;
	}
	r->shard = shard;
	r->n = n;
	r->sites = rc_calloc(n + 1, sizeof(*r->sites));
	for (i = 0; i < n; i++)
		r->sites[i] = rc_strdup(sites[i]);
	pthread_mutex_lock(&cs->mu);
	r->gen = ++cs->gen[shard];
	cs->ready[shard] = false;
	for (pp = &cs->queue; *pp; pp = &(*pp)->next)
		;
	*pp = r;
	pthread_cond_signal(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
}

void cluster_state_forget(struct cluster_state *cs, unsigned shard)
{
	if (shard >= cs->shards)
		return;
	pthread_mutex_lock(&cs->mu);
	cs->gen[shard]++; /* a load under way is not applied (run_req) */
	cs->ready[shard] = false;
	pthread_mutex_unlock(&cs->mu);
}

bool cluster_state_ready(struct cluster_state *cs, unsigned shard)
{
	bool ok;

	if (shard >= cs->shards)
		return false;
	pthread_mutex_lock(&cs->mu);
	ok = cs->ready[shard];
	pthread_mutex_unlock(&cs->mu);
	return ok;
}

bool cluster_state_next(struct cluster_state *cs, struct cluster_state_ev *out)
{
	bool got = false;

	pthread_mutex_lock(&cs->mu);
	if (cs->nev) {
		*out = cs->ev[0];
		memmove(cs->ev, cs->ev + 1, (cs->nev - 1) * sizeof(*cs->ev));
		cs->nev--;
		got = true;
	}
	pthread_mutex_unlock(&cs->mu);
	return got;
}

void cluster_state_stats(struct cluster_state *cs, struct cluster_state_stats *out)
{
	pthread_mutex_lock(&cs->mu);
	*out = cs->st;
	pthread_mutex_unlock(&cs->mu);
}

/* -------------------------------------------------------- start, stop */

/* Bind the bucket, making it when absent: history 1, no MaxAge. */
static int bind_bucket(struct cluster_state *cs, const struct cluster_state_opts *o,
		       struct rc_err *err)
{
	jsOptions jo;
	natsStatus s;
	int64_t ttl;
	int rc;

	jsOptions_Init(&jo);
	jo.Wait = CLUSTER_STATE_PUB_MS;
	jo.PublishAsync.AckHandler = ack_cb;
	jo.PublishAsync.AckHandlerClosure = cs;
	s = natsConnection_JetStream(&cs->js, cs->nc, &jo);
	if (s != NATS_OK)
		return cluster_nats_fail(err, RC_EIO, s, "cluster: JetStream");
	rc = cluster_kv_bind(cs->js, o->bucket, "reconcile per-site state (cluster mode)", 0,
			     o->nats->replicas, "cluster: the state bucket", &cs->kv, &ttl, err);
	if (!rc && ttl != 0)
		rc = rc_errf(err, RC_EINVAL, "cluster: bucket %s drops its keys after a time: the "
			     "state must stay (name another cluster.state_bucket)", o->bucket);
	return rc;
}

int cluster_state_start(const struct cluster_state_opts *o, struct cluster_state **out,
			struct rc_err *err)
{
	struct cluster_state *cs = rc_calloc(1, sizeof(*cs));
	struct store_replica rep;
	char *name = rc_sprintf("%s-state", o->name);
	int rc;

	*out = NULL;
	cs->bucket = rc_strdup(o->bucket);
	cs->shards = o->nats->shards;
	cs->lease = o->lease;
	cs->store = o->store;
	cs->notify = o->nats->notify;
	cs->notify_arg = o->nats->notify_arg;
	cs->gen = rc_calloc(cs->shards, sizeof(*cs->gen));
	cs->ready = rc_calloc(cs->shards, sizeof(*cs->ready));
	pthread_mutex_init(&cs->pub, NULL);
	pthread_mutex_init(&cs->mu, NULL);
	pthread_cond_init(&cs->cv, NULL);
	rc = cluster_nats_connect(o->nats, name, &cs->nc, err);
	free(name);
	if (!rc)
		rc = bind_bucket(cs, o, err);
	if (!rc && pthread_create(&cs->thread, NULL, state_main, cs) != 0)
		rc = rc_errf(err, RC_ERR, "cluster: cannot start the state thread");
	if (rc) {
		cluster_state_stop(cs);
		return rc;
	}
	cs->started = true;
	rep = (struct store_replica){ publish, owns, cs };
	store_set_replica(cs->store, &rep);
	*out = cs;
	return RC_OK;
}

void cluster_state_stop(struct cluster_state *cs)
{
	struct load_req *r;

	if (!cs)
		return;
	if (cs->started) {
		store_set_replica(cs->store, NULL);
		pthread_mutex_lock(&cs->mu);
		cs->stop = true;
		pthread_cond_signal(&cs->cv);
		pthread_mutex_unlock(&cs->mu);
		pthread_join(cs->thread, NULL);
	}
	while (cs->queue) {
		r = cs->queue;
		cs->queue = r->next;
		req_free(r);
	}
	kvStore_Destroy(cs->kv);
	jsCtx_Destroy(cs->js);
	natsConnection_Destroy(cs->nc);
	pthread_cond_destroy(&cs->cv);
	pthread_mutex_destroy(&cs->mu);
	pthread_mutex_destroy(&cs->pub);
	free(cs->gen);
	free(cs->ready);
	free(cs->ev);
	free(cs->bucket);
	free(cs);
}
