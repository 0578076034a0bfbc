/*
 * cluster_bus.c: cluster mode's events on NATS JetStream. See
 * cluster_bus.h for the subjects, the consumers and the threads.
 *
 * The thread's turn: run the jobs queued by the owner (publishes, routes,
 * acks, binds), in order; fetch without waiting from "route" and from
 * every bound shard's consumer (the messages go to the owner's queue);
 * every 2 s read the bound consumers' pending counts (the lag); sleep
 * 50 ms when there was nothing to do, or until a job comes.
 *
 * A shard's subscription is made when the shard is first bound and kept
 * until the bus stops; unbinding stops the fetches. So a message fetched
 * before an unbind can still be answered (its subscription lives), and
 * the shared durable consumer is never deleted: a message that was not
 * acked is delivered to the next owner once its ack wait is over.
 */
#define _GNU_SOURCE
#include "cluster_bus.h"
#include "cluster_nats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum job_kind { JOB_PUBLISH, JOB_ROUTE, JOB_DONE, JOB_BIND };

struct job {
	enum job_kind kind;
	struct job *next;
	natsMsg *msg;                /* ROUTE, DONE: taken */
	void *token;                 /* PUBLISH */
	char *id;                    /* PUBLISH, ROUTE */
	char *data;                  /* PUBLISH */
	size_t len;
	unsigned *shards;            /* ROUTE */
	char **keys;
	size_t n;
	bool on;                     /* DONE: ack; BIND: bind */
	unsigned shard;              /* BIND */
	unsigned delay_ms;           /* DONE: nak's delay */
};

struct cluster_bus {
	char *stream, *in_subject;
	unsigned shards;
	void (*notify)(void *);
	void *notify_arg;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *route;     /* NULL: this instance does not route */
	natsSubscription **sub;      /* [shards], made at the first bind */
	bool *bound;                 /* [shards] (thread only) */
	natsSubscription *notice;    /* core NATS copies of <stream>.>: who has news */
	double lag_at, swept_at;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;          /* everything below */
	pthread_cond_t cv;
	bool stop;
	struct job *jobs, **tail;
	struct cluster_msg *out;     /* queued for the owner */
	size_t nout, cout;
	long *lag;                   /* [shards], -1 unbound */
	bool *dirty;                 /* [shards]: a message came since the last fetch */
	bool route_dirty;
	struct cluster_bus_stats st;
};

/* ------------------------------------------------------------ queues */

static void submit(struct cluster_bus *b, struct job *j)
{
	pthread_mutex_lock(&b->mu);
	*b->tail = j;
	b->tail = &j->next;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Queue m for the owner (its data stolen); mu not held. */
static void give(struct cluster_bus *b, const struct cluster_msg *m)
{
	pthread_mutex_lock(&b->mu);
	*RC_PUSH(b->out, b->nout, b->cout) = *m;
	pthread_mutex_unlock(&b->mu);
}

static void job_free(struct job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		free(j->keys[i]);
	free(j->keys);
	free(j->shards);
	free(j->id);
	free(j->data);
	free(j);
}

/* -------------------------------------------------------------- jobs */

static natsStatus publish(struct cluster_bus *b, const char *subj, const char *id, const char *data,
			  size_t len, bool *dup, char *why, size_t nwhy)
{
	jsPubOptions po;
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	jsPubOptions_Init(&po);
	po.MsgId = id;
	po.MaxWait = CLUSTER_BUS_PUB_MS;
	po.ExpectStream = b->stream;
	s = js_Publish(&pa, b->js, subj, data, (int)len, &po, &jerr);
	if (s == NATS_OK && dup)
		*dup = pa->Duplicate;
	if (s != NATS_OK && why)
		cluster_nats_text(s, why, nwhy);
	jsPubAck_Destroy(pa);
	return s;
}

static void run_publish(struct cluster_bus *b, struct job *j)
{
	struct cluster_msg m = { .kind = CLUSTER_MSG_PUBLISHED, .token = j->token };
	bool dup = false;

	m.rc = publish(b, b->in_subject, j->id, j->data, j->len, &dup, m.why, sizeof(m.why))
		       ? RC_EIO : dup ? RC_EEXIST : RC_OK;
	pthread_mutex_lock(&b->mu);
	if (m.rc == RC_EIO)
		b->st.publish_errors++;
	else if (m.rc == RC_EEXIST)
		b->st.duplicates++;
	else
		b->st.published++;
	pthread_mutex_unlock(&b->mu);
	give(b, &m);
}

/* Every key on its shard's subject, then the event acked (sync: it is
 * routed once the server has the ack); nak'd when a publish failed. */
static void run_route(struct cluster_bus *b, struct job *j)
{
	char subj[256], *id;
	natsStatus s = NATS_OK;
	size_t i;

	for (i = 0; i < j->n && s == NATS_OK; i++) {
		snprintf(subj, sizeof(subj), "%s.shard.%u", b->stream, j->shards[i]);
		id = rc_sprintf("%s|%s", j->id, j->keys[i]);
		s = publish(b, subj, id, j->keys[i], strlen(j->keys[i]), NULL, NULL, 0);
		free(id);
	}
	if (s == NATS_OK)
		s = natsMsg_AckSync(j->msg, NULL, NULL);
	else
		natsMsg_NakWithDelay(j->msg, 1000, NULL);
	pthread_mutex_lock(&b->mu);
	if (s == NATS_OK)
		b->st.routed++;
	else
		b->st.route_errors++;
	pthread_mutex_unlock(&b->mu);
	natsMsg_Destroy(j->msg);
	j->msg = NULL;
}

/* Make (when absent) and subscribe to a durable pull consumer on subj. */
static natsStatus pull(struct cluster_bus *b, const char *durable, const char *subj, int ack_s,
		       natsSubscription **sub)
{
	jsConsumerConfig cc;
	jsConsumerInfo *ci = NULL;
	jsSubOptions so;
	natsStatus s;

	jsConsumerConfig_Init(&cc);
	cc.Durable = durable;
	cc.FilterSubject = subj;
	cc.AckPolicy = js_AckExplicit;
	cc.DeliverPolicy = js_DeliverAll;
	cc.AckWait = (int64_t)ack_s * 1000000000LL;
	cc.MaxDeliver = -1;
	s = js_GetConsumerInfo(&ci, b->js, b->stream, durable, NULL, NULL);
	if (s == NATS_NOT_FOUND) /* the first to need it; another may race us: then bind */
		s = js_AddConsumer(&ci, b->js, b->stream, &cc, NULL, NULL);
	jsConsumerInfo_Destroy(ci);
	jsSubOptions_Init(&so);
	so.Stream = b->stream;
	so.Consumer = durable; /* bound: unsubscribing never deletes the shared consumer */
	return js_PullSubscribe(sub, b->js, subj, durable, NULL, &so, NULL);
}

static void run_bind(struct cluster_bus *b, struct job *j)
{
	char durable[32], subj[256];
	natsStatus s = NATS_OK;

	if (j->on && !b->sub[j->shard]) {
		snprintf(durable, sizeof(durable), "shard-%u", j->shard);
		snprintf(subj, sizeof(subj), "%s.shard.%u", b->stream, j->shard);
		s = pull(b, durable, subj, CLUSTER_BUS_SHARD_ACK_S, &b->sub[j->shard]);
		if (s != NATS_OK)
			b->sub[j->shard] = NULL; /* the next bind tries again */
	}
	b->bound[j->shard] = j->on && s == NATS_OK;
	pthread_mutex_lock(&b->mu);
	b->lag[j->shard] = b->bound[j->shard] ? 0 : -1;
	b->dirty[j->shard] = b->bound[j->shard]; /* what waited before the bind */
	pthread_mutex_unlock(&b->mu);
	b->lag_at = 0; /* read it now */
}

static void run_job(struct cluster_bus *b, struct job *j)
{
	switch (j->kind) {
	case JOB_PUBLISH:
		run_publish(b, j);
		break;
	case JOB_ROUTE:
		run_route(b, j);
		break;
	case JOB_DONE:
		if (j->on)
			natsMsg_Ack(j->msg, NULL);
		else
			natsMsg_NakWithDelay(j->msg, j->delay_ms, NULL);
		natsMsg_Destroy(j->msg);
		j->msg = NULL;
		break;
	case JOB_BIND:
		run_bind(b, j);
		break;
	}
	job_free(j);
}

/* ------------------------------------------------------------ fetches */

/* What sub has now (no wait) to the owner's queue; their count. */
static int fetch(struct cluster_bus *b, natsSubscription *sub, enum cluster_msg_kind kind,
		 unsigned shard)
{
	natsMsgList l = { NULL, 0 };
	jsFetchRequest fr;
	jsMsgMetaData *md = NULL;
	struct cluster_msg m;
	int i, n;

	jsFetchRequest_Init(&fr);
	fr.Batch = CLUSTER_BUS_BATCH;
	fr.NoWait = true; /* a batch not filled waits for Expires: keep it short */
	fr.Expires = 20 * 1000000LL;
	if (natsSubscription_FetchRequest(&l, sub, &fr) != NATS_OK)
		return 0;
	for (i = 0; i < l.Count; i++) {
		memset(&m, 0, sizeof(m));
		m.kind = kind;
		m.shard = shard;
		m.len = (size_t)natsMsg_GetDataLength(l.Msgs[i]);
		m.data = rc_malloc(m.len + 1);
		memcpy(m.data, natsMsg_GetData(l.Msgs[i]), m.len);
		m.data[m.len] = '\0';
		m.deliveries = 1;
		if (natsMsg_GetMetaData(&md, l.Msgs[i]) == NATS_OK) {
			m.deliveries = (unsigned)md->NumDelivered;
			jsMsgMetaData_Destroy(md);
		}
		m.handle = l.Msgs[i];
		l.Msgs[i] = NULL; /* the owner's now */
		give(b, &m);
	}
	n = l.Count;
	natsMsgList_Destroy(&l);
	return n;
}

/* The bound consumers' messages not yet acked (pending + ack pending). */
static void read_lag(struct cluster_bus *b)
{
	jsConsumerInfo *ci = NULL;
	unsigned i;
	long v;

	for (i = 0; i < b->shards; i++) {
		if (!b->bound[i])
			continue;
		if (natsSubscription_GetConsumerInfo(&ci, b->sub[i], NULL, NULL) != NATS_OK)
			continue;
		v = (long)(ci->NumPending + (uint64_t)ci->NumAckPending);
		jsConsumerInfo_Destroy(ci);
		pthread_mutex_lock(&b->mu);
		b->lag[i] = b->bound[i] ? v : -1;
		pthread_mutex_unlock(&b->mu);
	}
}

/* A message was published on the stream (core NATS delivers every
 * subscriber a copy, from the client's thread): its consumer has news. */
static void on_notice(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct cluster_bus *b = closure;
	const char *subj = natsMsg_GetSubject(msg), *dot = strrchr(subj, '.');
	char *end;
	unsigned long n;

	(void)nc;
	(void)sub;
	pthread_mutex_lock(&b->mu);
	if (!strcmp(subj, b->in_subject)) {
		b->route_dirty = true;
	} else if (dot) {
		n = strtoul(dot + 1, &end, 10);
		if (!*end && end != dot + 1 && n < b->shards)
			b->dirty[n] = true;
	}
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	natsMsg_Destroy(msg);
}

static void mark(struct cluster_bus *b, bool *flag)
{
	pthread_mutex_lock(&b->mu);
	*flag = true;
	pthread_mutex_unlock(&b->mu);
}

/* Take a consumer's news flag (mu not held); a sweep takes them all. */
static bool take_dirty(struct cluster_bus *b, bool *flag, bool sweep)
{
	bool d;

	pthread_mutex_lock(&b->mu);
	d = *flag || sweep;
	*flag = false;
	pthread_mutex_unlock(&b->mu);
	return d;
}

/* Fetch from the consumers that have news (a full batch: maybe more, so
 * still news), and from every one each CLUSTER_BUS_SWEEP_S: redeliveries
 * (an ack wait past, a nak's delay) and notices lost to a reconnect come
 * with no publish to announce them. Without the notices, every fetch of
 * 64 idle consumers cost a round trip each per turn, and a webhook's
 * publish waited behind them. */
static int fetch_all(struct cluster_bus *b)
{
	bool sweep = rc_now_mono() - b->swept_at >= CLUSTER_BUS_SWEEP_S;
	unsigned i;
	int n = 0, got;

	if (sweep)
		b->swept_at = rc_now_mono();
	if (b->route && take_dirty(b, &b->route_dirty, sweep)) {
		got = fetch(b, b->route, CLUSTER_MSG_IN, 0);
		if (got >= CLUSTER_BUS_BATCH)
			mark(b, &b->route_dirty);
		n += got;
	}
	for (i = 0; i < b->shards; i++) {
		if (!b->bound[i] || !take_dirty(b, &b->dirty[i], sweep))
			continue;
		got = fetch(b, b->sub[i], CLUSTER_MSG_SHARD, i);
		if (got >= CLUSTER_BUS_BATCH)
			mark(b, &b->dirty[i]);
		n += got;
	}
	if (rc_now_mono() - b->lag_at >= 2) {
		read_lag(b);
		b->lag_at = rc_now_mono();
	}
	return n;
}

static void *bus_main(void *arg)
{
	struct cluster_bus *b = arg;
	struct job *j, *next;
	struct timespec ts;
	int n;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		j = b->jobs;
		b->jobs = NULL;
		b->tail = &b->jobs;
		pthread_mutex_unlock(&b->mu);
		n = j != NULL;
		for (; j; j = next) {
			next = j->next;
			run_job(b, j);
		}
		n += fetch_all(b);
		pthread_mutex_lock(&b->mu);
		if (b->nout && b->notify) {
			pthread_mutex_unlock(&b->mu);
			b->notify(b->notify_arg);
			pthread_mutex_lock(&b->mu);
		}
		if (n || b->jobs || b->stop)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b->cv, &b->mu, &ts);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* ------------------------------------------------------ start, stop */

/* Bind the stream, making it when absent: <stream>.in and
 * <stream>.shard.*, R as the lease bucket, a dedupe window. */
static int bind_stream(struct cluster_bus *b, unsigned replicas, struct rc_err *err)
{
	char shard_subj[256];
	const char *subjects[2] = { b->in_subject, shard_subj };
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	natsStatus s;

	snprintf(shard_subj, sizeof(shard_subj), "%s.shard.*", b->stream);
	s = js_GetStreamInfo(&si, b->js, b->stream, NULL, NULL);
	if (s == NATS_NOT_FOUND) {
		jsStreamConfig_Init(&sc);
		sc.Name = b->stream;
		sc.Description = "reconcile events (cluster mode)";
		sc.Subjects = subjects;
		sc.SubjectsLen = 2;
		sc.Retention = js_LimitsPolicy;
		sc.MaxAge = 7LL * 24 * 3600 * 1000000000LL;
		sc.Storage = js_FileStorage;
		sc.Replicas = replicas;
		sc.Duplicates = (int64_t)CLUSTER_BUS_DEDUPE_S * 1000000000LL;
		s = js_AddStream(&si, b->js, &sc, NULL, NULL);
		if (s != NATS_OK) /* another instance made it meanwhile */
			s = js_GetStreamInfo(&si, b->js, b->stream, NULL, NULL);
	}
	jsStreamInfo_Destroy(si);
	return s == NATS_OK ? RC_OK : cluster_nats_fail(err, RC_EIO, s, "cluster: the event stream");
}

static void teardown(struct cluster_bus *b, void (*failed)(void *, void *), void *arg)
{
	unsigned i;
	struct job *j, *next;

	for (j = b->jobs; j; j = next) {
		next = j->next;
		if (j->kind == JOB_PUBLISH && failed)
			failed(j->token, arg);
		if (j->kind == JOB_DONE) { /* an ack of a key run before the stop counts */
			run_job(b, j);
			continue;
		}
		if (j->msg) {
			natsMsg_Nak(j->msg, NULL);
			natsMsg_Destroy(j->msg);
		}
		job_free(j);
	}
	for (i = 0; i < b->nout; i++) {
		if (b->out[i].kind == CLUSTER_MSG_PUBLISHED && failed)
			failed(b->out[i].token, arg);
		if (b->out[i].handle) {
			natsMsg_Nak(b->out[i].handle, NULL);
			natsMsg_Destroy(b->out[i].handle);
		}
		free(b->out[i].data);
	}
	if (b->notice && natsSubscription_Drain(b->notice) == NATS_OK) /* no callback after */
		natsSubscription_WaitForDrainCompletion(b->notice, 2000);
	natsSubscription_Destroy(b->notice);
	natsSubscription_Destroy(b->route);
	for (i = 0; i < b->shards; i++)
		natsSubscription_Destroy(b->sub[i]);
	jsCtx_Destroy(b->js);
	natsConnection_Destroy(b->nc);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b->sub);
	free(b->bound);
	free(b->lag);
	free(b->dirty);
	free(b->out);
	free(b->in_subject);
	free(b->stream);
	free(b);
}

int cluster_bus_start(const struct cluster_bus_opts *o, struct cluster_bus **out,
		      struct rc_err *err)
{
	struct cluster_bus *b = rc_calloc(1, sizeof(*b));
	pthread_condattr_t ca;
	jsOptions jo;
	natsStatus s;
	unsigned i;
	int rc;

	*out = NULL;
	b->stream = rc_strdup(o->stream);
	b->in_subject = rc_sprintf("%s.in", o->stream);
	b->shards = o->nats->shards;
	b->notify = o->nats->notify;
	b->notify_arg = o->nats->notify_arg;
	b->sub = rc_calloc(b->shards, sizeof(*b->sub));
	b->bound = rc_calloc(b->shards, sizeof(*b->bound));
	b->lag = rc_calloc(b->shards, sizeof(*b->lag));
	b->dirty = rc_calloc(b->shards, sizeof(*b->dirty));
	b->route_dirty = true; /* what waited before this start */
	for (i = 0; i < b->shards; i++)
		b->lag[i] = -1;
	b->tail = &b->jobs;
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = cluster_nats_connect(o->nats, o->name, &b->nc, err);
	if (!rc) {
		jsOptions_Init(&jo);
		jo.Wait = CLUSTER_BUS_PUB_MS;
		s = natsConnection_JetStream(&b->js, b->nc, &jo);
		if (s != NATS_OK)
			rc = cluster_nats_fail(err, RC_EIO, s, "cluster: JetStream");
	}
	if (!rc)
		rc = bind_stream(b, o->nats->replicas, err);
	if (!rc) {
		char *all = rc_sprintf("%s.>", o->stream);

		s = natsConnection_Subscribe(&b->notice, b->nc, all, on_notice, b);
		free(all);
		if (s != NATS_OK)
			rc = cluster_nats_fail(err, RC_EIO, s, "cluster: the stream's notices");
	}
	if (!rc && o->route) {
		s = pull(b, "route", b->in_subject, CLUSTER_BUS_ROUTE_ACK_S, &b->route);
		if (s != NATS_OK)
			rc = cluster_nats_fail(err, RC_EIO, s, "cluster: the \"route\" consumer");
	}
	if (!rc && pthread_create(&b->thread, NULL, bus_main, b) != 0)
		rc = rc_errf(err, RC_ERR, "cluster: cannot start the event thread");
	if (rc) {
		teardown(b, NULL, NULL);
		return rc;
	}
	b->started = true;
	*out = b;
	return RC_OK;
}

void cluster_bus_stop(struct cluster_bus *b, void (*failed)(void *token, void *arg), void *arg)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = true;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (b->started)
		pthread_join(b->thread, NULL);
	teardown(b, failed, arg);
}

/* ----------------------------------------------------------- owner */

void cluster_bus_publish(struct cluster_bus *b, const char *msgid, const char *data, size_t len,
			 void *token)
{
	struct job *j = rc_calloc(1, sizeof(*j));

	j->kind = JOB_PUBLISH;
	j->token = token;
	j->id = rc_strdup(msgid);
	j->data = rc_malloc(len + 1);
	memcpy(j->data, data, len);
	j->data[len] = '\0';
	j->len = len;
	submit(b, j);
}

void cluster_bus_route(struct cluster_bus *b, void *handle, const char *msgid,
		       const unsigned *shards, const char *const *keys, size_t n)
{
	struct job *j = rc_calloc(1, sizeof(*j));
	size_t i;

	j->kind = JOB_ROUTE;
	j->msg = handle;
	j->id = rc_strdup(msgid);
	j->n = n;
	j->shards = rc_calloc(n ? n : 1, sizeof(*j->shards));
	j->keys = rc_calloc(n ? n : 1, sizeof(*j->keys));
	for (i = 0; i < n; i++) {
		j->shards[i] = shards[i];
		j->keys[i] = rc_strdup(keys[i]);
	}
	submit(b, j);
}

void cluster_bus_done(struct cluster_bus *b, void *handle, bool ok, unsigned delay_ms)
{
	struct job *j = rc_calloc(1, sizeof(*j));

	j->kind = JOB_DONE;
	j->msg = handle;
	j->on = ok;
	j->delay_ms = delay_ms;
	submit(b, j);
}

void cluster_bus_bind(struct cluster_bus *b, unsigned shard, bool on)
{
	struct job *j;

	if (shard >= b->shards)
		return;
	j = rc_calloc(1, sizeof(*j));
	j->kind = JOB_BIND;
	j->shard = shard;
	j->on = on;
	submit(b, j);
}

bool cluster_bus_next(struct cluster_bus *b, struct cluster_msg *out)
{
	bool any;

	pthread_mutex_lock(&b->mu);
	any = b->nout > 0;
	if (any) {
		*out = b->out[0];
		memmove(b->out, b->out + 1, (b->nout - 1) * sizeof(*b->out));
		b->nout--;
	}
	pthread_mutex_unlock(&b->mu);
	return any;
}

void cluster_bus_stats(struct cluster_bus *b, struct cluster_bus_stats *out)
{
	pthread_mutex_lock(&b->mu);
	*out = b->st;
	pthread_mutex_unlock(&b->mu);
}

long cluster_bus_lag(struct cluster_bus *b, unsigned shard)
{
	long v;

	if (shard >= b->shards)
		return -1;
	pthread_mutex_lock(&b->mu);
	v = b->lag[shard];
	pthread_mutex_unlock(&b->mu);
	return v;
}
