/*
 * cluster_lease.c: shard leases on a NATS JetStream key-value bucket. See
 * cluster_lease.h for the protocol and the threads.
 *
 * One tick every TTL/3 on the lease thread:
 *   1. put "live.<id>" (the bucket's MaxAge drops it when we stop), count
 *      the live keys: fair = shards / live, plus one for the first
 *      (shards % live) ids in order (the shares add up to the shards);
 *   2. leases past their local deadline are lost (they were not renewed in
 *      time: the thread was stopped, or NATS was slow);
 *   3. renew every lease held by CAS on its revision; a failed CAS or call
 *      loses it (its work stops now; the next tick may take it again when
 *      the key still names us, by CAS on its current revision);
 *   4. above the fair share: release (mark lost first, then CAS "");
 *   5. below it: take free shards (absent: create; "" or our own id:
 *      update on its revision); a key naming another instance is left to
 *      expire. An acked take is ours only once the stream's leader, after
 *      a settle (TTL/20, 50–250 ms), says its revision is the key's last:
 *      nats-server before 2.9.21 can ack two racing takes (confirm).
 */
#define _GNU_SOURCE
#include "cluster_lease.h"
#include "cluster_nats.h"

#include <errno.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

struct lease {
	bool held;
	uint64_t rev;                /* the key's revision now */
	uint64_t term;               /* the revision it was taken at */
	double deadline;             /* rc_now_mono() past which it is not ours */
};

struct cluster_lease {
	char id[96];
	char *bucket;
	unsigned shards;
	double ttl, margin, tick;    /* seconds */
	void (*notify)(void *);
	void *notify_arg;
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;          /* everything below */
	pthread_cond_t cv;
	bool stop;
	struct lease *l;             /* [shards] */
	struct cluster_stats st;
	struct cluster_event *ev;    /* queued for the owner */
	size_t nev, cev;
};

unsigned cluster_shard_of(const char *site, unsigned shards)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)site; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return shards ? h % shards : 0;
}

/* ------------------------------------------------------------ events */

#define EVENTS_MAX 8192 /* beyond, events are dropped (counted as errors) */

/* Queue an event; mu held. */
static void push_ev(struct cluster_lease *cl, enum cluster_ev_kind kind, unsigned shard,
		    uint64_t rev, double at, const char *msg)
{
	struct cluster_event *e;

	if (cl->nev >= EVENTS_MAX) {
		cl->st.errors++;
		return;
	}
	e = RC_PUSH(cl->ev, cl->nev, cl->cev);
	e->kind = kind;
	e->shard = shard;
	e->rev = rev;
	e->at = at;
	snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "");
}

void cluster_nats_text(natsStatus s, char *buf, size_t n)
{
	natsStatus ls;
	const char *t = nats_GetLastError(&ls);

	snprintf(buf, n, "%s", t && *t ? t : natsStatus_GetText(s));
}

static void notify(struct cluster_lease *cl)
{
	if (cl->notify)
		cl->notify(cl->notify_arg);
}

/* ------------------------------------------------------------- state */

/* A lease ends (lost or released); mu held. It ended at its deadline
 * when that passed first: that is when still_owner turned false. */
static void end_lease(struct cluster_lease *cl, unsigned i, enum cluster_ev_kind kind,
		      const char *why)
{
	struct lease *x = &cl->l[i];
	double now = rc_now_mono();

	if (!x->held)
		return;
	x->held = false;
	if (kind == CLUSTER_LOST)
		cl->st.lost++;
	else
		cl->st.released++;
	push_ev(cl, kind, i, x->rev, x->deadline < now ? x->deadline : now, why);
}

static bool good(const struct lease *x, double now)
{
	return x->held && now < x->deadline;
}

static unsigned owned_now(struct cluster_lease *cl)
{
	double now = rc_now_mono();
	unsigned i, n = 0;

	for (i = 0; i < cl->shards; i++)
		n += good(&cl->l[i], now);
	return n;
}

/* ------------------------------------------------------------- ticks */

static void key_of(char *buf, size_t n, unsigned shard)
{
	snprintf(buf, n, "shard.%u", shard);
}

/* Live instances: the "live.*" keys (the bucket's MaxAge drops a dead
 * one's), us included; *rank: how many of their ids sort before ours. */
static unsigned count_live(struct cluster_lease *cl, unsigned *rank)
{
	kvKeysList kl = { NULL, 0 };
	unsigned n = 0;
	bool us = false;
	int i;

	*rank = 0;
	if (kvStore_Keys(&kl, cl->kv, NULL) != NATS_OK)
		return 0;
	for (i = 0; i < kl.Count; i++) {
		if (strncmp(kl.Keys[i], "live.", 5))
			continue;
		n++;
		if (!strcmp(kl.Keys[i] + 5, cl->id))
			us = true;
		else if (strcmp(kl.Keys[i] + 5, cl->id) < 0)
			(*rank)++;
	}
	kvKeysList_Destroy(&kl);
	return n + !us;
}

/* Announce us, count the live instances and set our fair share: shards /
 * live, the remainder going one each to the first ids in order, so that
 * the shares add up to the shards (every shard has a taker) and differ by
 * one at most. A failed count keeps the last share. */
static void heartbeat(struct cluster_lease *cl)
{
	char key[128], why[160];
	unsigned live, rank;
	natsStatus s;

	snprintf(key, sizeof(key), "live.%s", cl->id);
	s = kvStore_PutString(NULL, cl->kv, key, "1");
	live = count_live(cl, &rank);
	pthread_mutex_lock(&cl->mu);
	if (s != NATS_OK) {
		cluster_nats_text(s, why, sizeof(why));
		cl->st.errors++;
		push_ev(cl, CLUSTER_ERROR, 0, 0, rc_now_mono(), why);
	}
	if (live) {
		cl->st.live = live;
		cl->st.fair = cl->shards / live + (rank < cl->shards % live);
	}
	pthread_mutex_unlock(&cl->mu);
}

/* NATS itself is not answering (not a CAS refused): the tick stops its
 * calls, so that a dead server costs one timeout per tick, not one per
 * lease, and the live key is put again soon. */
static bool unreachable(natsStatus s)
{
	return s == NATS_TIMEOUT || s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED ||
	       s == NATS_CONNECTION_DISCONNECTED || s == NATS_NO_RESPONDERS;
}

/* Renew lease i by CAS; it is lost when that fails or comes too late.
 * With offline set, only the deadline is checked. Returns the call's
 * status (NATS_OK when none was made). Only this thread writes the table,
 * so it reads it without the mutex. */
static natsStatus renew(struct cluster_lease *cl, unsigned i, bool offline)
{
	char key[32], why[200], nt[160];
	uint64_t rev = 0, last;
	double t0 = rc_now_mono();
	natsStatus s;

	pthread_mutex_lock(&cl->mu);
	last = cl->l[i].rev;
	if (cl->l[i].held && t0 >= cl->l[i].deadline)
		end_lease(cl, i, CLUSTER_LOST, "not renewed before its deadline (TTL minus the margin)");
	pthread_mutex_unlock(&cl->mu);
	if (!cl->l[i].held || offline)
		return NATS_OK;
	key_of(key, sizeof(key), i);
	s = kvStore_UpdateString(&rev, cl->kv, key, cl->id, last);
	pthread_mutex_lock(&cl->mu);
	if (s == NATS_OK && cl->l[i].held) {
		cl->l[i].rev = rev;
		cl->l[i].deadline = t0 + cl->ttl - cl->margin;
		cl->st.renewals++;
	} else if (s != NATS_OK) {
		cluster_nats_text(s, nt, sizeof(nt));
		snprintf(why, sizeof(why), "renewal at revision %llu failed: %s",
			 (unsigned long long)last, nt);
		end_lease(cl, i, CLUSTER_LOST, why);
	}
	pthread_mutex_unlock(&cl->mu);
	return s;
}

/* Give lease i up: not ours from now, then "" by CAS (when that fails,
 * the bucket's MaxAge frees it). */
static void release(struct cluster_lease *cl, unsigned i)
{
	char key[32];
	uint64_t last;

	pthread_mutex_lock(&cl->mu);
	last = cl->l[i].rev;
	end_lease(cl, i, CLUSTER_RELEASED, "above the fair share");
	pthread_mutex_unlock(&cl->mu);
	key_of(key, sizeof(key), i);
	(void)kvStore_UpdateString(NULL, cl->kv, key, "", last);
}

/* Try to take shard i by CAS: true when the write was acked, *rev its
 * revision, *t0 the time before it. Not ours yet: see confirm. */
static bool take(struct cluster_lease *cl, unsigned i, uint64_t *rev, double *t0)
{
	char key[32];
	kvEntry *e = NULL;
	natsStatus s;
	const char *v;

	key_of(key, sizeof(key), i);
	*rev = 0;
	*t0 = rc_now_mono();
	s = kvStore_Get(&e, cl->kv, key);
	if (s == NATS_NOT_FOUND) {
		s = kvStore_CreateString(rev, cl->kv, key, cl->id);
	} else if (s == NATS_OK) {
		v = kvEntry_ValueString(e);
		if (v && (!*v || !strcmp(v, cl->id)))
			s = kvStore_UpdateString(rev, cl->kv, key, cl->id, kvEntry_Revision(e));
		else
			s = NATS_ERR; /* another's: left to expire */
		kvEntry_Destroy(e);
	}
	return s == NATS_OK;
}

/* nats-server before 2.9.21 (Debian 12 has 2.9.10) checks a write's
 * expected revision before the write's Raft commit, not in it
 * (nats-server#4320): two takes of one shard in flight at once can both
 * be acked, the later overwriting the earlier. So an acked take is ours
 * only once, after a settle that outlasts any write racing it, the
 * stream's leader (not a replica: js_GetLastMsg, not a direct get) says
 * our revision is the key's last. */
static bool confirm(struct cluster_lease *cl, unsigned i, uint64_t rev)
{
	char stream[200], subj[200];
	natsMsg *m = NULL;
	bool ours;

	snprintf(stream, sizeof(stream), "KV_%s", cl->bucket);
	snprintf(subj, sizeof(subj), "$KV.%s.shard.%u", cl->bucket, i);
	ours = js_GetLastMsg(&m, cl->js, stream, subj, NULL, NULL) == NATS_OK &&
	       natsMsg_GetSequence(m) == rev;
	natsMsg_Destroy(m);
	return ours;
}

/* Shard i ours from now (when still_owner turns true), good until t0
 * (before the take's request) + TTL - margin. */
static void taken(struct cluster_lease *cl, unsigned i, uint64_t rev, double t0)
{
	pthread_mutex_lock(&cl->mu);
	cl->l[i] = (struct lease){ true, rev, rev, t0 + cl->ttl - cl->margin };
	cl->st.takeovers++;
	push_ev(cl, CLUSTER_TAKEN, i, rev, rc_now_mono(), NULL);
	pthread_mutex_unlock(&cl->mu);
}

/* Take up to want shards, from a point of our own (so that instances do
 * not all race for shard 0): every CAS first, one settle, then each
 * confirmed (confirm). Returns how many became ours. */
static unsigned take_some(struct cluster_lease *cl, unsigned want)
{
	unsigned *got = rc_calloc(cl->shards + 1, sizeof(*got)), k, i, n = 0, ours = 0;
	uint64_t *revs = rc_calloc(cl->shards + 1, sizeof(*revs));
	double *t0s = rc_calloc(cl->shards + 1, sizeof(*t0s)), settle;
	unsigned start = cluster_shard_of(cl->id, cl->shards);

	for (k = 0; k < cl->shards && n < want; k++) {
		i = (start + k) % cl->shards;
		if (!cl->l[i].held && take(cl, i, &revs[n], &t0s[n]))
			got[n++] = i;
	}
	settle = cl->ttl / 20 < 0.05 ? 0.05 : cl->ttl / 20 > 0.25 ? 0.25 : cl->ttl / 20;
	if (n) {
		struct timespec ts = { 0, (long)(settle * 1e9) };

		nanosleep(&ts, NULL);
	}
	for (k = 0; k < n; k++)
		if (confirm(cl, got[k], revs[k]) && rc_now_mono() < t0s[k] + cl->ttl - cl->margin) {
			taken(cl, got[k], revs[k], t0s[k]);
			ours++;
		}
	free(got);
	free(revs);
	free(t0s);
	return ours;
}

static void tick(struct cluster_lease *cl)
{
	unsigned i, held = 0, fair;
	bool offline = false;

	heartbeat(cl);
	for (i = 0; i < cl->shards; i++)
		offline |= unreachable(renew(cl, i, offline));
	if (offline)
		return; /* the next tick tries again */
	pthread_mutex_lock(&cl->mu);
	fair = cl->st.fair;
	for (i = 0; i < cl->shards; i++)
		held += cl->l[i].held;
	pthread_mutex_unlock(&cl->mu);
	for (i = cl->shards; i-- > 0 && held > fair;) {
		if (cl->l[i].held) {
			release(cl, i);
			held--;
		}
	}
	if (held < fair)
		take_some(cl, fair - held);
}

static void *lease_main(void *arg)
{
	struct cluster_lease *cl = arg;
	struct timespec ts;
	double next;

	pthread_mutex_lock(&cl->mu);
	while (!cl->stop) {
		pthread_mutex_unlock(&cl->mu);
		next = rc_now_mono() + cl->tick;
		tick(cl);
		notify(cl);
		pthread_mutex_lock(&cl->mu);
		while (!cl->stop && rc_now_mono() < next) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += 50 * 1000000L; /* short waits: the mono clock decides */
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&cl->cv, &cl->mu, &ts);
		}
	}
	pthread_mutex_unlock(&cl->mu);
	return NULL;
}

/* ------------------------------------------------------ start, stop */

int cluster_nats_fail(struct rc_err *err, int code, natsStatus s, const char *what)
{
	char t[200];

	cluster_nats_text(s, t, sizeof(t));
	return rc_errf(err, code, "%s: %s", what, t);
}

int cluster_kv_bind(jsCtx *js, const char *bucket, const char *desc, unsigned ttl_ms,
		    unsigned replicas, const char *what, kvStore **kv, int64_t *ttl_ms_out,
		    struct rc_err *err)
{
	char msg[120];
	kvConfig kc;
	kvStatus *ks = NULL;
	natsStatus s = js_KeyValue(kv, js, bucket);

	if (s == NATS_NOT_FOUND) {
		kvConfig_Init(&kc);
		kc.Bucket = bucket;
		kc.Description = desc;
		kc.History = 1;
		kc.TTL = (int64_t)ttl_ms * 1000000; /* nanoseconds in libnats 3.4 (the stream's MaxAge) */
		kc.StorageType = js_FileStorage;
		kc.Replicas = (int)replicas;
		s = js_CreateKeyValue(kv, js, &kc);
	}
	if (s != NATS_OK)
		return cluster_nats_fail(err, RC_EIO, s, what);
	s = kvStore_Status(&ks, *kv);
	if (s != NATS_OK) {
		snprintf(msg, sizeof(msg), "%s's status", what);
		return cluster_nats_fail(err, RC_EIO, s, msg);
	}
	*ttl_ms_out = kvStatus_TTL(ks) / 1000000;
	kvStatus_Destroy(ks);
	return RC_OK;
}

static void make_id(char *buf, size_t n)
{
	unsigned char r[4];
	char host[64];
	char *p;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "host");
	host[sizeof(host) - 1] = '\0';
	for (p = host; *p; p++) /* a key token: no '.', '*', '>' */
		if (!(*p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			*p = '-';
	RAND_bytes(r, sizeof(r));
	snprintf(buf, n, "%s-%ld-%02x%02x%02x%02x", host, (long)getpid(), r[0], r[1], r[2], r[3]);
}

int cluster_nats_connect(const struct cluster_opts *o, const char *name, natsConnection **nc,
			 struct rc_err *err)
{
	natsOptions *no = NULL;
	natsStatus s;
	int rc = RC_OK;

	s = natsOptions_Create(&no);
	if (s == NATS_OK)
		s = natsOptions_SetServers(no, (const char **)o->urls, (int)o->nurls);
	if (s == NATS_OK)
		s = natsOptions_SetName(no, name);
	if (s == NATS_OK) /* a lost server: the next one at once, and for ever */
		s = natsOptions_SetMaxReconnect(no, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(no, 250);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, 2000);
	if (s == NATS_OK && o->user)
		s = natsOptions_SetUserInfo(no, o->user, o->password);
	if (s == NATS_OK && o->token)
		s = natsOptions_SetToken(no, o->token);
	if (s == NATS_OK && o->creds_file)
		s = natsOptions_SetUserCredentialsFromFiles(no, o->creds_file, NULL);
	if (s != NATS_OK) {
		rc = cluster_nats_fail(err, RC_EINVAL, s, "cluster: NATS options");
		goto out;
	}
	s = natsConnection_Connect(nc, no);
	if (s != NATS_OK)
		rc = cluster_nats_fail(err, RC_EIO, s, "cluster: cannot connect to NATS");
out:
	natsOptions_Destroy(no);
	return rc;
}

/* Bind the bucket, making it when absent; its MaxAge must be the TTL. */
static int bind_bucket(struct cluster_lease *cl, const struct cluster_opts *o, struct rc_err *err)
{
	jsOptions jo;
	natsStatus s;
	int64_t ttl;
	int rc;

	jsOptions_Init(&jo);
	jo.Wait = (int64_t)(cl->ttl * 1000 / 4) < 250 ? 250 : (int64_t)(cl->ttl * 1000 / 4);
	if (jo.Wait > 5000)
		jo.Wait = 5000;
	s = natsConnection_JetStream(&cl->js, cl->nc, &jo);
	if (s != NATS_OK)
		return cluster_nats_fail(err, RC_EIO, s, "cluster: JetStream");
	rc = cluster_kv_bind(cl->js, o->bucket, "reconcile shard leases (cluster mode)", o->ttl_ms,
			     o->replicas, "cluster: the lease bucket", &cl->kv, &ttl, err);
	if (!rc && ttl != (int64_t)o->ttl_ms)
		rc = rc_errf(err, RC_EINVAL, "cluster: bucket %s keeps keys %lld ms, not the lease TTL "
			     "(%u ms): give it its own TTL or another bucket", o->bucket,
			     (long long)ttl, o->ttl_ms);
	return rc;
}

static void teardown(struct cluster_lease *cl)
{
	kvStore_Destroy(cl->kv);
	jsCtx_Destroy(cl->js);
	natsConnection_Destroy(cl->nc);
	pthread_cond_destroy(&cl->cv);
	pthread_mutex_destroy(&cl->mu);
	free(cl->l);
	free(cl->ev);
	free(cl->bucket);
	free(cl);
}

int cluster_lease_start(const struct cluster_opts *o, struct cluster_lease **out,
			struct rc_err *err)
{
	struct cluster_lease *cl;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!o->nurls || !o->bucket || !o->shards || o->shards > CLUSTER_SHARDS_MAX ||
	    o->ttl_ms < 1000 || !o->replicas || o->replicas > 5)
		return rc_errf(err, RC_EINVAL, "cluster: urls, bucket, shards (1..%d), TTL (>= 1 s) and "
			       "replicas (1..5) are needed", CLUSTER_SHARDS_MAX);
	cl = rc_calloc(1, sizeof(*cl));
	if (o->instance)
		snprintf(cl->id, sizeof(cl->id), "%s", o->instance);
	else
		make_id(cl->id, sizeof(cl->id));
	cl->bucket = rc_strdup(o->bucket);
	cl->shards = o->shards;
	cl->ttl = o->ttl_ms / 1000.0;
	cl->tick = cl->ttl / 3;
	/* the server purges a key TTL after its write, which follows our t0:
	 * the margin is for clock rate and the time a write of ours takes */
	cl->margin = cl->ttl / 5 < 0.2 ? 0.2 : cl->ttl / 5;
	cl->notify = o->notify;
	cl->notify_arg = o->notify_arg;
	cl->l = rc_calloc(o->shards, sizeof(*cl->l));
	cl->st.live = 1;
	cl->st.fair = o->shards;
	pthread_mutex_init(&cl->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cl->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = cluster_nats_connect(o, cl->id, &cl->nc, err);
	if (!rc)
		rc = bind_bucket(cl, o, err);
	if (!rc && pthread_create(&cl->thread, NULL, lease_main, cl) != 0)
		rc = rc_errf(err, RC_ERR, "cluster: cannot start the lease thread");
	if (rc) {
		teardown(cl);
		return rc;
	}
	cl->started = true;
	*out = cl;
	return RC_OK;
}

void cluster_lease_stop(struct cluster_lease *cl)
{
	char key[128];
	unsigned i;

	if (!cl)
		return;
	pthread_mutex_lock(&cl->mu);
	cl->stop = true;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
	if (cl->started)
		pthread_join(cl->thread, NULL);
	for (i = 0; i < cl->shards; i++)
		if (cl->l[i].held)
			release(cl, i);
	snprintf(key, sizeof(key), "live.%s", cl->id);
	(void)kvStore_Delete(cl->kv, key);
	teardown(cl);
}

/* ---------------------------------------------------------- queries */

const char *cluster_lease_instance(const struct cluster_lease *cl)
{
	return cl->id;
}

unsigned cluster_lease_shards(const struct cluster_lease *cl)
{
	return cl->shards;
}

bool cluster_lease_term(struct cluster_lease *cl, unsigned shard, uint64_t *term)
{
	bool ok;

	if (shard >= cl->shards)
		return false;
	pthread_mutex_lock(&cl->mu);
	ok = good(&cl->l[shard], rc_now_mono());
	if (ok && term)
		*term = cl->l[shard].term;
	pthread_mutex_unlock(&cl->mu);
	return ok;
}

bool cluster_lease_still_owner(struct cluster_lease *cl, unsigned shard)
{
	return cluster_lease_term(cl, shard, NULL);
}

bool cluster_lease_fence(struct cluster_lease *cl, unsigned shard, uint64_t term)
{
	uint64_t now;

	return cluster_lease_term(cl, shard, &now) && now == term;
}

size_t cluster_lease_owned(struct cluster_lease *cl, unsigned *out, size_t n)
{
	double now = rc_now_mono();
	size_t k = 0;
	unsigned i;

	pthread_mutex_lock(&cl->mu);
	for (i = 0; i < cl->shards; i++)
		if (good(&cl->l[i], now)) {
			if (k < n)
				out[k] = i;
			k++;
		}
	pthread_mutex_unlock(&cl->mu);
	return k;
}

void cluster_lease_stats(struct cluster_lease *cl, struct cluster_stats *out)
{
	pthread_mutex_lock(&cl->mu);
	*out = cl->st;
	out->owned = owned_now(cl);
	pthread_mutex_unlock(&cl->mu);
}

bool cluster_lease_next_event(struct cluster_lease *cl, struct cluster_event *out)
{
	bool any;

	pthread_mutex_lock(&cl->mu);
	any = cl->nev > 0;
	if (any) {
		*out = cl->ev[0];
		memmove(cl->ev, cl->ev + 1, (cl->nev - 1) * sizeof(*cl->ev));
		cl->nev--;
	}
	pthread_mutex_unlock(&cl->mu);
	return any;
}
