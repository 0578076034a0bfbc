/*
 * serve.c: reconcile serve. One libev loop drives the HTTP server
 * (libmicrohttpd in external mode on its epoll fd; docs/architecture.md, decision 5),
 * the work queue, the periodic reconciles and the signals.
 *
 *   POST /webhooks/storeganise  sg-signature checked (constant time, 401),
 *                               body limit (413), keys queued, event stored
 *                               in LMDB (duplicates dropped), 200 once it
 *                               is durable. The keys' runs start reading
 *                               the PMS while the event's commit is on the
 *                               disk; their own journal intents commit after
 *                               it (one writer, in order), so no call with a
 *                               side effect precedes the event's durability.
 *                               Cluster mode: published to JetStream instead,
 *                               200 after its ack (serve_cluster.c routes it)
 *   GET /healthz, /readyz, /metrics (Prometheus text)
 *
 * Every event only names what to look at again (level-based): a rental
 * (resolved to its site), or every site. A work item reconciles one site
 * with the same plan/apply code as `reconcile apply`. Each site is also
 * reconciled every sync_interval (with jitter), and all sites at start, so
 * lost or out-of-order webhooks and hand-made drift converge anyway.
 *
 * Concurrency without threads: each work item runs on a fiber (fiber.h);
 * its PMS and vendor calls go through curl multi_socket on this loop
 * (http.h), at most serve.vendor_concurrency in flight per vendor, and
 * yield meanwhile. Up to serve.workers whole-site runs and, apart from
 * them, serve.rental_workers one-rental runs at once; a site's whole run
 * has it to itself (its queued keys wait in the queue), one-rental runs
 * share it (serve_claim.c).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <ev.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/fiber.h"
#include "serve_int.h"
#include "commit.h"
#include "plan.h"
#include "providers/http.h"
#include "providers/vendor.h"
#include "specs/spec_cluster.h"

/* ---------------------------------------------------------- webhooks */

/* The webhook's pure part (signature, id, routing) is serve_event.c. */
static void enqueue_cb(void *p, enum serve_key_kind kind, const char *id, bool urgent)
{
	serve_enqueue_urgent(p, kind, id, urgent);
}

static void count_cb(void *p, enum serve_key_kind kind, const char *id, bool urgent)
{
	(void)p;
	(void)kind;
	(void)id;
	(void)urgent;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			     char *body /* stolen */)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	MHD_add_response_header(r, "Content-Type", ctype);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* The two answers of every stored webhook, made once (MHD counts their
 * uses) rather than a body, a response and a header built and freed per
 * answer. */
static struct MHD_Response *static_answer(const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_PERSISTENT);

	if (r)
		MHD_add_response_header(r, "Content-Type", "application/json");
	return r;
}

/* -------------------------------------------------------------- HTTP */

/* serve's record of a connection (MHD's socket context), or a scratch
 * one when MHD has none (never NULL: callers only set fields). */
static struct serve_conn *conn_of(struct MHD_Connection *c)
{
	static struct serve_conn none;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci && ci->socket_context ? ci->socket_context : &none;
}

/* A request's body as it arrives, and a webhook's trip to the disk. */
struct req {
	struct rc_buf body;
	bool too_big;
	enum { REQ_READING, REQ_STORING, REQ_STORED } stage;
	struct serve *s;
	struct MHD_Connection *conn;
	json_t *ev;                  /* the event (new) */
	int nkeys;                   /* keys it queued */
	struct store_job job;        /* its write (group commit) */
	void *job_arg;
};

/* The event is durable (or failed): answer it at the next MHD_run. */
static void event_stored(struct store_job *j)
{
	struct req *r = j->owner;
	struct serve *s = r->s;

	r->stage = REQ_STORED;
	MHD_resume_connection(r->conn);
	ev_timer_stop(s->loop, &s->mhd_timer); /* one MHD_run for every answer drained */
	ev_timer_set(&s->mhd_timer, 0., 0.);
	ev_timer_start(s->loop, &s->mhd_timer);
}

/* Answer a webhook once its event is stored: 200 only for an event that
 * is durable. Its keys were queued when it was submitted: a run is
 * level-based, so one for an event that then fails to store (503: the
 * sender retries) or is a duplicate costs a read and changes nothing. */
static enum MHD_Result webhook_stored(struct serve *s, struct MHD_Connection *c, struct req *r)
{
	const char *id = json_string_value(json_object_get(r->ev, "id"));
	int n = r->nkeys;

	if (r->job.rc == RC_EEXIST) {
		s->ev_duplicate++;
		return MHD_queue_response(c, 200, s->answer_duplicate);
	}
	if (r->job.rc) {
		serve_log(s, RC_LOG_ERROR, "webhook %s not stored: %s", id, r->job.err.msg);
		return reply(c, 503, "application/json", rc_strdup("{\"error\":\"not stored\"}"));
	}
	if (n <= 0)
		s->ev_ignored++;
	serve_log(s, RC_LOG_INFO, "webhook %s (%s): %d key%s %s", id,
		  json_string_value(json_object_get(r->ev, "type")) ?: "?", n > 0 ? n : 0, n == 1 ? "" : "s",
		  s->cluster ? "named, published to JetStream" : "queued");
	return MHD_queue_response(c, 200, s->answer_accepted);
}

/* A signed event: stored by the writer with the others that arrive with
 * it (one fsync for them all), its connection suspended meanwhile. */
static enum MHD_Result webhook(struct serve *s, struct MHD_Connection *c, struct req *r)
{
	const char *body = r->body.p ? r->body.p : "", *id;
	const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "sg-signature");

	s->ev_received++;
	if (!serve_signature_ok(s->signer, body, r->body.len, sig)) {
		s->ev_rejected++;
		serve_log(s, RC_LOG_WARN, "webhook rejected: bad or missing sg-signature");
		return reply(c, 401, "application/json", rc_strdup("{\"error\":\"bad signature\"}"));
	}
	r->ev = json_loadb(body, r->body.len, 0, NULL);
	id = json_string_value(json_object_get(r->ev, "id"));
	if (!id) {
		s->ev_rejected++;
		return reply(c, 400, "application/json",
			     rc_strdup("{\"error\":\"not an event: a JSON object with a string id\"}"));
	}
	/* the sender's error, not ours: a 400 is not retried, a 503 forever */
	if (!*id || strlen(id) > STORE_EVENT_ID_MAX) {
		s->ev_rejected++;
		serve_log(s, RC_LOG_WARN, "webhook rejected: event id %s", *id ? "too long" : "empty");
		return reply(c, 400, "application/json", *id ?
			     rc_sprintf("{\"error\":\"bad event id: longer than %d bytes\"}",
					STORE_EVENT_ID_MAX) :
			     rc_strdup("{\"error\":\"bad event id: empty\"}"));
	}
	r->s = s;
	r->conn = c;
	r->stage = REQ_STORING;
	if (s->cluster) { /* JetStream's ack, not the local disk, makes it durable */
		r->job.done = event_stored;
		r->job.owner = r;
		r->nkeys = serve_event_route(r->ev, count_cb, NULL); /* routed by whoever fetches it */
		conn_of(c)->waiting = true;
		MHD_suspend_connection(c);
		serve_cluster_publish(s, id, body, r->body.len, &r->job);
		return MHD_YES;
	}
	r->job_arg = store_event_job(id, body, &r->job);
	r->job.done = event_stored;
	r->job.owner = r;
	/* the runs' PMS reads overlap the event's fsync (the critical path of a
	 * move-in: webhook -> first vendor call) */
	r->nkeys = serve_event_route(r->ev, enqueue_cb, s);
	if (!store_writer_running(s->e.store)) { /* no writer: at once */
		store_write_inline(s->e.store, &r->job);
		r->stage = REQ_STORED;
		return webhook_stored(s, c, r);
	}
	conn_of(c)->waiting = true; /* on the disk: not a slow client */
	MHD_suspend_connection(c);
	store_writer_submit(s->e.store, &r->job);
	return MHD_YES;
}

/* The methods a path answers (its Allow header), NULL for an unknown path. */
static const char *allowed(const char *url)
{
	if (!strcmp(url, "/webhooks/storeganise"))
		return "POST";
	if (!strcmp(url, "/healthz") || !strcmp(url, "/readyz") || !strcmp(url, "/metrics"))
		return "GET, HEAD";
	return NULL;
}

static bool method_ok(const char *allow, const char *method)
{
	size_t n = strlen(method);
	const char *p;

	for (p = strstr(allow, method); p; p = strstr(p + 1, method))
		if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static enum MHD_Result reply_405(struct MHD_Connection *c, const char *allow)
{
	char *body = rc_sprintf("{\"error\":\"method not allowed: use %s\"}", allow);
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(c, 405, r);
	MHD_destroy_response(r);
	return rc;
}

/* A Content-Length over serve.max_body (the connection then closes). */
static bool declared_too_big(const struct serve *s, struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return cl && strtoull(cl, NULL, 10) > s->spec->serve.max_body;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **ctx)
{
	struct serve *s = cls;
	struct req *r = *ctx;

	(void)version;
	if (r && r->stage == REQ_STORED)
		return webhook_stored(s, c, r);
	if (r && r->stage == REQ_STORING)
		return MHD_YES; /* suspended: not called */
	if (!r) {
		const char *allow = allowed(url);

		if (allow && !method_ok(allow, method)) /* answered before any body is read */
			return reply_405(c, allow);
	}
	if (!r && !strcmp(url, "/webhooks/storeganise") && declared_too_big(s, c)) { /* do not read what would be refused */
		s->ev_received++;
		s->ev_rejected++;
		return reply(c, 413, "application/json", rc_strdup("{\"error\":\"body too large\"}"));
	}
	if (!r) { /* answering on the first call would cost keep-alive */
		r = rc_calloc(1, sizeof(*r));
		rc_buf_init(&r->body);
		*ctx = r;
		return MHD_YES;
	}
	if (*size) {
		if (r->body.len + *size > s->spec->serve.max_body)
			r->too_big = true;
		else
			rc_buf_add(&r->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (!strcmp(url, "/webhooks/storeganise") && !strcmp(method, "POST")) {
		if (r->too_big) {
			s->ev_received++;
			s->ev_rejected++;
			return reply(c, 413, "application/json", rc_strdup("{\"error\":\"body too large\"}"));
		}
		return webhook(s, c, r);
	}
	if (!strcmp(url, "/healthz"))
		return reply(c, 200, "text/plain", rc_strdup("ok\n"));
	if (!strcmp(url, "/readyz") && s->cluster) /* with the shards owned */
		return reply(c, s->stopping ? 503 : 200, "application/json", serve_cluster_readyz(s));
	if (!strcmp(url, "/readyz"))
		return s->stopping ? reply(c, 503, "text/plain", rc_strdup("stopping\n"))
				   : reply(c, 200, "text/plain", rc_strdup("ready\n"));
	if (!strcmp(url, "/metrics"))
		return reply(c, 200, "text/plain; version=0.0.4", serve_metrics(s));
	return reply(c, 404, "application/json", rc_strdup("{\"error\":\"not found\"}"));
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *ctx;

	struct serve *s = cls;
	struct serve_conn *sc = conn_of(c);

	(void)toe;
	sc->since = ev_now(s->loop); /* idle from here: MHD's timeout */
	sc->waiting = false;
	if (r) {
		rc_buf_free(&r->body);
		json_decref(r->ev);
		free(r->job_arg);
		free(r);
		*ctx = NULL;
	}
}

static void mhd_pump(struct serve *s);

/* Every connection is tracked from accept to close (its socket context). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct serve *s = cls;
	struct serve_conn *sc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		sc = rc_calloc(1, sizeof(*sc));
		sc->c = c;
		sc->since = ev_now(s->loop);
		sc->next = s->conns;
		if (s->conns)
			s->conns->prev = sc;
		s->conns = sc;
		*socket_context = sc;
		return;
	}
	if (!sc)
		return;
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		s->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	free(sc);
	*socket_context = NULL;
}

/* A request line is in: its request has SERVE_REQUEST_TIMEOUT_S from now
 * (MHD's URI log callback; its return is the request's first *ctx). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct serve *s = cls;

	(void)uri;
	conn_of(c)->since = ev_now(s->loop);
	return NULL;
}

/* Slow clients: MHD's timeout ends an idle connection, not one that sends
 * a byte now and then; a request not answered SERVE_REQUEST_TIMEOUT_S
 * after it began (headers and body) has its socket shut down, and MHD
 * closes it at its next read. One waiting on the disk is left alone. */
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct serve *s = w->data;
	ev_tstamp now = ev_now(loop);
	struct serve_conn *sc;
	bool cut = false;

	(void)revents;
	for (sc = s->conns; sc; sc = sc->next) {
		const union MHD_ConnectionInfo *fd;

		if (sc->waiting || now - sc->since < SERVE_REQUEST_TIMEOUT_S)
			continue;
		fd = MHD_get_connection_info(sc->c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (fd && shutdown(fd->connect_fd, SHUT_RDWR) == 0) {
			s->conns_cut++;
			cut = true;
		}
		sc->since = now; /* once: MHD closes it at its next read */
	}
	if (cut)
		mhd_pump(s);
}

/* After every MHD_run: re-arm the timer from MHD_get_timeout (§2.1). */
static void mhd_pump(struct serve *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	serve_log_flush(s); /* what was logged before an answer is out before it */
	MHD_run(s->mhd);
	ev_timer_stop(s->loop, &s->mhd_timer);
	if (MHD_get_timeout(s->mhd, &ms) == MHD_YES) {
		ev_timer_set(&s->mhd_timer, (double)ms / 1000.0, 0.);
		ev_timer_start(s->loop, &s->mhd_timer);
	}
}

static void mhd_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	mhd_pump(w->data);
}

static void mhd_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	mhd_pump(w->data);
}

/* ---------------------------------------------------- timers, signals */

static double jitter(double interval)
{
	unsigned char b[2];

	RAND_bytes(b, 2);
	return interval * 0.1 * ((double)((b[0] << 8) | b[1]) / 65535.0);
}

static void periodic_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct site_timer *t = (struct site_timer *)w;

	(void)loop;
	(void)revents;
	serve_enqueue(t->s, KEY_SITE, t->site);
	/* the next period, with up to 10 % jitter so sites spread out */
	ev_timer_stop(t->s->loop, &t->w);
	ev_timer_set(&t->w, w->repeat + jitter(w->repeat), w->repeat);
	ev_timer_start(t->s->loop, &t->w);
}

static void stop_timers(struct serve *s)
{
	size_t i;

	for (i = 0; i < s->ntimers; i++) {
		ev_timer_stop(s->loop, &s->timers[i].w);
		free(s->timers[i].site);
	}
	free(s->timers);
	s->timers = NULL;
	s->ntimers = 0;
}

static void start_timers(struct serve *s)
{
	size_t i;

	s->timers = rc_calloc(s->spec->nsites + 1, sizeof(*s->timers));
	s->ntimers = s->spec->nsites;
	for (i = 0; i < s->spec->nsites; i++) {
		double iv = (double)s->spec->sites[i].sync_interval_s;

		s->timers[i].s = s;
		s->timers[i].site = rc_strdup(s->spec->sites[i].name);
		ev_timer_init(&s->timers[i].w, periodic_cb, iv + jitter(iv), iv);
		ev_timer_start(s->loop, &s->timers[i].w);
	}
}

/* Retention (spec "retention"): one budgeted LMDB transaction per tick, on
 * the loop (no fiber is inside a write transaction between its yields);
 * a backlog is worked off in ticks of its own so webhooks are not held up. */
static void prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct serve *s = w->data;
	struct store_retention r = { s->spec->retention.events_s, s->spec->retention.journal_s, 0 };
	struct store_pruned out;
	struct rc_err err;

	(void)revents;
	if (s->stopping)
		return;
	if (store_prune(s->e.store, &r, time(NULL), &out, &err)) {
		serve_log(s, RC_LOG_ERROR, "retention: %s (tried again in an hour)", err.msg);
		out.more = false;
	} else {
		s->pruned_events += out.events;
		s->pruned_journal += out.journal;
		if (out.events || out.journal)
			serve_log(s, RC_LOG_INFO, "retention: dropped %zu webhook event%s and %zu journal entr%s",
				  out.events, out.events == 1 ? "" : "s", out.journal,
				  out.journal == 1 ? "y" : "ies");
	}
	ev_timer_stop(loop, w);
	ev_timer_set(w, out.more ? 0.01 : 3600., 0.);
	ev_timer_start(loop, w);
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct serve *s = w->data;

	(void)revents;
	if (s->stopping) { /* a second signal: stop now, in-flight calls are settled at start (R7) */
		serve_log(s, RC_LOG_WARN, "signal %d again: stopping now", w->signum);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	s->stopping = true; /* no new work; running applies stop after their current call */
	fiber_wake_sleepers(); /* a backoff or Retry-After wait ends now */
	serve_log(s, RC_LOG_INFO, "signal %d: stopping after %u running work item%s (queued keys are "
	      "reconciled again at the next start)", w->signum, s->running, s->running == 1 ? "" : "s");
	if (!s->running)
		ev_break(loop, EVBREAK_ALL);
}

/* The webhook secret, read and keyed into *out (new); the secret's own
 * copy is wiped at once. */
static int load_secret(const struct spec *spec, struct serve_signer **out, struct rc_err *err)
{
	char *secret = NULL;
	int rc;

	*out = NULL;
	if (!spec_secret_set(&spec->pms.webhook_secret))
		return rc_errf(err, RC_EINVAL, "serve needs pms.webhook_secret_env or _file "
			       "(the Storeganise webhook signing secret)");
	rc = spec_secret_read(&spec->pms.webhook_secret, "the webhook secret", NULL, &secret, err);
	if (rc)
		return rc;
	*out = serve_signer_new(secret);
	rc_free_secret(secret);
	if (!*out)
		return rc_errf(err, RC_ERR, "the webhook secret: OpenSSL cannot make an HMAC-SHA256 "
			       "context (is its default provider there?)");
	return RC_OK;
}

/* The reload waits for running work items: they borrow the spec, the PMS
 * client and the vendor sessions that a reload replaces. */
static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct serve *s = w->data;

	(void)loop;
	(void)revents;
	s->reload = true;
	if (!s->running)
		serve_reload(s);
	else
		serve_log(s, RC_LOG_INFO, "SIGHUP: the spec is reloaded once %u running work item%s end",
		      s->running, s->running == 1 ? "" : "s");
}

void serve_reload(struct serve *s)
{
	struct spec *ns = NULL;
	struct sg_client *sg = NULL;
	struct serve_signer *signer = NULL;
	struct rc_err err;

	s->reload = false;
	rc_err_clear(&err);
	if (spec_load(s->spec->path, vendor_specs(), &ns, &err) || load_secret(ns, &signer, &err) ||
	    sg_client_new(&sg, ns, &err)) {
		serve_log(s, RC_LOG_ERROR, "SIGHUP: the new spec is not used, the old one stays: %s", err.msg);
		serve_signer_free(signer);
		spec_free(ns);
		serve_schedule(s, 0);
		return;
	}
	if (strcmp(ns->state_dir, s->spec->state_dir))
		serve_log(s, RC_LOG_WARN, "SIGHUP: state_dir changes only at restart");
	if (!!ns->cluster != !!s->spec->cluster ||
	    (ns->cluster && (ns->cluster->shards != s->spec->cluster->shards ||
			     ns->cluster->lease_ttl_s != s->spec->cluster->lease_ttl_s ||
			     strcmp(ns->cluster->bucket, s->spec->cluster->bucket))))
		serve_log(s, RC_LOG_WARN, "SIGHUP: the cluster section changes only at restart");
	if (ns->serve.vendor_concurrency != s->spec->serve.vendor_concurrency)
		http_loop_set_limit(ns->serve.vendor_concurrency);
	engine_set_rates(ns);
	stop_timers(s);
	engine_close_providers(&s->e); /* credentials may have changed */
	sg_client_free(s->e.sg);
	s->e.sg = sg;
	s->e.spec = ns;
	engine_reset_pms(&s->e);
	serve_signer_free(s->signer);
	s->signer = signer;
	s->sites = serve_sites_carry(s->sites, s->spec, ns);
	rc_map_free(&s->rental_site); /* site indexes change */
	rc_map_init(&s->rental_site);
	rc_arena_free(&s->rental_arena);
	rc_arena_init(&s->rental_arena);
	spec_free(s->spec);
	s->spec = ns;
	start_timers(s);
	serve_enqueue(s, KEY_ALL, NULL);
	serve_log(s, RC_LOG_INFO, "SIGHUP: spec reloaded (%zu sites)", ns->nsites);
}

/* ---------------------------------------------------------------- run */

/* The address to listen on: --listen, else serve.listen (both checked
 * by rc_parse_listen before; a name is resolved here). */
static int listen_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
		       struct rc_err *err)
{
	char host[256];
	int port, rc = rc_parse_listen(spec, true, host, sizeof(host), &port, err);

	if (!rc)
		rc = rc_listen_sockaddr(host, port, ss, len, err);
	if (rc)
		rc_err_prefix(err, "listen address %s", spec);
	return rc;
}

/* SERVE_MAX_CONNECTIONS, the soft fd limit raised to the hard one for
 * them; what the fd limit leaves (with room for the vendors' and the
 * state's) when it is lower. */
static unsigned conn_limit(struct serve *s)
{
	struct rlimit rl;
	rlim_t want = SERVE_MAX_CONNECTIONS + 512;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 512;
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= want)
		return SERVE_MAX_CONNECTIONS;
	serve_log(s, RC_LOG_WARN, "the open file limit (%llu) holds %llu HTTP connections, not %d: "
		  "raise it (ulimit -n, LimitNOFILE=)", (unsigned long long)rl.rlim_cur,
		  rl.rlim_cur > 768 ? (unsigned long long)rl.rlim_cur - 512 : 256ULL,
		  SERVE_MAX_CONNECTIONS);
	return rl.rlim_cur > 768 ? (unsigned)(rl.rlim_cur - 512) : 256;
}

/* libmicrohttpd's own messages (a connection limit reached, a socket
 * error) through serve's logger: in its format (JSON too), in order with
 * the buffered lines, as warnings. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	serve_log((struct serve *)cls, RC_LOG_WARN, "HTTP server: %s", msg);
}

static int start_http(struct serve *s, struct rc_err *err)
{
	const char *addr = s->o.listen ? s->o.listen : s->spec->serve.listen;
	struct sockaddr_storage sa;
	socklen_t salen = 0;
	char host[INET6_ADDRSTRLEN];
	const union MHD_DaemonInfo *fd, *port;
	unsigned max;
	int rc = listen_addr(addr, &sa, &salen, err);
	bool v6;

	if (rc)
		return rc;
	s->answer_accepted = static_answer("{\"status\":\"accepted\"}");
	s->answer_duplicate = static_answer("{\"status\":\"duplicate\"}");
	if (!s->answer_accepted || !s->answer_duplicate)
		return rc_errf(err, RC_ERR, "cannot make the HTTP server's answers (out of memory?)");
	v6 = sa.ss_family == AF_INET6;
	max = conn_limit(s);
	/* per address well below the total: one address (or a few) cannot
	 * take every connection, so /healthz and /metrics stay reachable;
	 * requests have SERVE_REQUEST_TIMEOUT_S (conn_timer_cb), idle
	 * connections as long (MHD's timeout) */
	s->mhd = MHD_start_daemon(MHD_USE_ERROR_LOG | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
				  (v6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, on_request, s,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, /* first: MHD says so */
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				  MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_REQUEST_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_LIMIT, max,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->spec->serve.per_address,
				  MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
	if (!s->mhd)
		return rc_errf(err, RC_EIO, "cannot listen on %s (in use?)", addr);
	ev_timer_init(&s->conn_timer, conn_timer_cb, 1., 1.);
	s->conn_timer.data = s;
	ev_timer_start(s->loop, &s->conn_timer);
	fd = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	port = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	ev_io_init(&s->mhd_io, mhd_io_cb, fd->epoll_fd, EV_READ);
	s->mhd_io.data = s;
	ev_io_start(s->loop, &s->mhd_io);
	ev_timer_init(&s->mhd_timer, mhd_timer_cb, 0., 0.);
	s->mhd_timer.data = s;
	if (getnameinfo((struct sockaddr *)&sa, salen, host, sizeof(host), NULL, 0, NI_NUMERICHOST))
		snprintf(host, sizeof(host), "?");
	printf("listening on http://%s%s%s:%u\n", v6 ? "[" : "", host, v6 ? "]" : "",
	       (unsigned)port->port);
	fflush(stdout);
	mhd_pump(s);
	return RC_OK;
}

int serve_run(struct spec *spec, const struct serve_opts *o, struct rc_err *err)
{
	struct serve s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.o = *o;
	s.spec = spec;
	s.loop = ev_default_loop(0);
	serve_log_open(&s);
	rc_arena_init(&s.rental_arena);
	rc_map_init(&s.rental_site);
	workq_init(&s.q[SERVE_Q_SITES], 0, 0); /* no global cap: the limits are each peer's (http.h) */
	workq_init(&s.q[SERVE_Q_RENTALS], 0, 0);
	s.sites = rc_calloc(spec->nsites + 1, sizeof(*s.sites));
	s.ops_ok = rc_calloc(vendor_count() + 1, sizeof(*s.ops_ok));
	s.ops_failed = rc_calloc(vendor_count() + 1, sizeof(*s.ops_failed));
	rc = load_secret(spec, &s.signer, err);
	if (!rc)
		rc = engine_open(&s.e, spec, NULL, &s.log, err);
	if (!rc)
		rc = store_lock(s.e.store, err);
	if (!rc)
		rc = http_loop_attach(s.loop, spec->serve.vendor_concurrency, err);
	if (!rc)
		rc = commit_start(s.e.store, s.loop, err);
	if (!rc) /* before "listening on": a cluster that cannot start fails first */
		rc = serve_cluster_start(&s, err);
	if (!rc)
		rc = start_http(&s, err);
	if (rc)
		goto out;
	fiber_attach(s.loop);
	s.e.cancel = &s.stopping;
	http_set_cancel(&s.stopping);
	ev_timer_init(&s.work_timer, serve_work_cb, 0., 0.);
	s.work_timer.data = &s;
	ev_signal_init(&s.sig_term, on_stop, SIGTERM);
	ev_signal_init(&s.sig_int, on_stop, SIGINT);
	ev_signal_init(&s.sig_hup, on_hup, SIGHUP);
	s.sig_term.data = s.sig_int.data = s.sig_hup.data = &s;
	ev_signal_start(s.loop, &s.sig_term);
	ev_signal_start(s.loop, &s.sig_int);
	ev_signal_start(s.loop, &s.sig_hup);
	start_timers(&s);
	ev_timer_init(&s.prune_timer, prune_cb, 1., 0.);
	s.prune_timer.data = &s;
	ev_timer_start(s.loop, &s.prune_timer);
	serve_enqueue(&s, KEY_ALL, NULL); /* converge at start: nothing is lost across restarts */
	serve_log(&s, RC_LOG_INFO, "serving %zu site%s", spec->nsites, spec->nsites == 1 ? "" : "s");
	serve_log_turns(&s, true);
	ev_run(s.loop, 0);
	serve_log_turns(&s, false);
	serve_log(&s, RC_LOG_INFO, "stopped");
out:
	if (s.e.store)
		commit_stop(s.e.store); /* what is queued is written; its webhooks resumed */
	serve_cluster_stop(&s); /* its leases released: taken over at once */
	if (s.mhd) {
		MHD_run(s.mhd); /* answers what is resumed, if the client still waits */
		ev_io_stop(s.loop, &s.mhd_io);
		ev_timer_stop(s.loop, &s.mhd_timer);
		ev_timer_stop(s.loop, &s.conn_timer);
		MHD_stop_daemon(s.mhd);
	}
	if (s.answer_accepted)
		MHD_destroy_response(s.answer_accepted);
	if (s.answer_duplicate)
		MHD_destroy_response(s.answer_duplicate);
	stop_timers(&s);
	ev_timer_stop(s.loop, &s.work_timer);
	ev_timer_stop(s.loop, &s.prune_timer);
	fiber_detach();
	http_set_cancel(NULL);
	http_loop_detach();
	engine_close(&s.e);
	workq_free(&s.q[SERVE_Q_SITES]);
	workq_free(&s.q[SERVE_Q_RENTALS]);
	rc_map_free(&s.rental_site);
	rc_arena_free(&s.rental_arena);
	free(s.ops_ok);
	free(s.ops_failed);
	serve_signer_free(s.signer);
	serve_sites_free(s.sites, s.spec ? s.spec->nsites : 0);
	spec_free(s.spec); /* the caller's, or the one a SIGHUP loaded */
	serve_log_close(&s);
	return rc;
}
