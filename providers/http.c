/* http.c: see http.h. */
#define _GNU_SOURCE
#include "http.h"

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/fiber.h"
#include "core/redact.h"
#include "specs/spec.h"

#define HTTP_MAX_POOLS 16

/* Requests in flight to one vendor, and the fibers waiting for a slot. */
struct http_pool {
	char name[32];
	unsigned limit, inflight, max_inflight;
	double interval;                   /* 1 / requests per second; 0: no pace */
	double next_at;                    /* monotonic: the next request not before */
	unsigned long requests, connects;  /* connects: new connections (keep-alive saves them) */
	struct fiber_waitq waiters;
};

/* The loop-driven mode (serve): one multi handle, so one connection cache
 * shared by every client (keep-alive across sites and work items). */
static struct {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	unsigned default_limit;
} g_ev;

static struct http_pool g_pools[HTTP_MAX_POOLS];
static size_t g_npools;

struct http_client {
	struct http_pool *pool;
	struct http_opts o;
};

static unsigned long g_requests;

unsigned long http_requests_total(void)
{
	return g_requests;
}

/* One connection cache (and DNS and TLS session caches) for every easy
 * handle of the process, in the CLI as on serve's multi handle: a handle
 * per site no longer keeps a connection of its own until exit (a spec of
 * a thousand sites held a thousand sockets and stalled on EMFILE), and
 * sites on one host share its connections. libcurl bounds the shared
 * cache and closes the oldest idle connection. Used from the loop's
 * thread only: no locks. */
static CURLSH *g_share;

static void global_init_once(void)
{
	static bool done;

	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_share = curl_share_init();
		if (g_share) {
			curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
			curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
			curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
		}
		done = true;
	}
}

/* Easy handles not in use, for any client (the connections are in the
 * shared cache, not in the handles): a handle per site would hold, on top
 * of its connection, the socket pair of its own internal multi handle. At
 * most HANDLES_IDLE are kept; a burst's extra ones are closed. */
#define HANDLES_IDLE 64
static CURL *g_idle[HANDLES_IDLE];
static size_t g_nidle;

static CURL *handle_take(void)
{
	return g_nidle ? g_idle[--g_nidle] : curl_easy_init();
}

static void handle_put(CURL *e)
{
	if (!e)
		return;
	if (g_nidle < HANDLES_IDLE)
		g_idle[g_nidle++] = e;
	else
		curl_easy_cleanup(e);
}

/* The pool of vendor name (created at the loop's default limit). */
static struct http_pool *pool_get(const char *name)
{
	size_t i;

	if (!name || !*name)
		name = "other";
	for (i = 0; i < g_npools; i++)
		if (!strcmp(g_pools[i].name, name))
			return &g_pools[i];
	if (g_npools == HTTP_MAX_POOLS)
		return &g_pools[HTTP_MAX_POOLS - 1];
	snprintf(g_pools[g_npools].name, sizeof(g_pools[0].name), "%s", name);
	g_pools[g_npools].limit = g_ev.default_limit ? g_ev.default_limit : 4;
	return &g_pools[g_npools++];
}

/* Non-zero members of o over c's options. */
static void opts_over(struct http_client *c, const struct http_opts *o)
{
	if (o->timeout_ms)
		c->o.timeout_ms = o->timeout_ms;
	if (o->max_attempts)
		c->o.max_attempts = o->max_attempts;
	if (o->read_attempts)
		c->o.read_attempts = o->read_attempts;
	if (o->max_retry_after > 0)
		c->o.max_retry_after = o->max_retry_after;
	if (o->backoff_base > 0)
		c->o.backoff_base = o->backoff_base;
	if (o->max_elapsed > 0)
		c->o.max_elapsed = o->max_elapsed;
}

int http_client_new(struct http_client **out, const struct http_opts *opts,
		    struct rc_err *err)
{
	struct http_client *c;
	CURL *probe;

	global_init_once();
	probe = handle_take();
	if (!probe)
		return rc_errf(err, RC_ENOMEM, "cannot create an HTTP handle");
	handle_put(probe);
	c = rc_calloc(1, sizeof(*c));
	c->o.timeout_ms = 15000;
	c->o.max_attempts = 4;
	c->o.read_attempts = 8;
	c->o.max_retry_after = 30;
	c->o.backoff_base = 0.5;
	c->o.max_elapsed = 60;
	if (opts)
		opts_over(c, opts);
	c->pool = pool_get(opts ? opts->pool : NULL);
	*out = c;
	return RC_OK;
}

int http_client_peer(struct http_client **out, const struct spec_http *h, const char *pool,
		     struct rc_err *err)
{
	struct http_opts o = {
		.timeout_ms = h->timeout_ms, .max_attempts = h->attempts,
		.read_attempts = h->read_attempts, .backoff_base = h->backoff_ms / 1000.0,
		.max_elapsed = h->max_elapsed_s, .pool = pool
	};

	return http_client_new(out, &o, err);
}

void http_client_free(struct http_client *c)
{
	free(c);
}

void http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	rc_buf_init(&r->body);
	r->retry_after = -1;
}

void http_resp_free(struct http_resp *r)
{
	rc_buf_free(&r->body);
	json_decref(r->json);
	r->json = NULL;
}

char *http_escape(const char *s)
{
	char *e, *out;

	global_init_once();
	e = curl_easy_escape(NULL, s ? s : "", 0);
	out = rc_strdup(e ? e : "");
	curl_free(e);
	return out;
}

char *http_url_for_log(const char *url)
{
	const char *q = strchr(url, '?');

	return q ? rc_strndup(url, (size_t)(q - url)) : rc_strdup(url);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb;

	if (r->body.len + n > (256u << 20))
		return 0; /* refuse bodies over 256 MiB: abort the transfer */
	rc_buf_add(&r->body, ptr, n);
	return n;
}

/* Retry-After is either delta-seconds or an HTTP date. */
/* One attempt's transfer, as its callbacks see it. */
struct attempt_ctx {
	struct http_resp *resp;
	const char *host;
	CURL *e;
	bool deferred;               /* not sent: the host's Retry-After came first */
	const char *body;            /* what is left of a one-shot body */
	size_t body_left;
};

/* A body that is not idempotent goes out through these two: libcurl can
 * read it once and never rewind it. When a reused connection dies after
 * the request went out, libcurl resends it on a new connection by itself
 * (the server may have acted); it must rewind the body first, the seek
 * below refuses, and the transfer fails (CURLE_SEND_FAIL_REWIND) as sent:
 * in doubt, never sent twice. So such a request keeps its connection
 * alive like any other (a fresh TCP and TLS handshake per create was most
 * of a create's cost against a distant vendor). */
static size_t read_once(char *buf, size_t size, size_t nitems, void *ud)
{
	struct attempt_ctx *x = ud;
	size_t n = size * nitems < x->body_left ? size * nitems : x->body_left;

	memcpy(buf, x->body, n);
	x->body += n;
	x->body_left -= n;
	return n;
}

static int never_rewind(void *ud, curl_off_t offset, int origin)
{
	(void)ud;
	(void)offset;
	(void)origin;
	return CURL_SEEKFUNC_CANTSEEK;
}

static double wall_now(void);
static double deadline_of(const char *host);

/* A 429/503's Retry-After binds the host from the moment its header is
 * read, not when the caller's fiber runs again: other calls check it. */
static void retry_after_seen(struct attempt_ctx *x)
{
	long status = 0;

	curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
	if ((status == 429 || status == 503) && x->resp->retry_after > 0)
		http_deadline_set(x->host, wall_now() + x->resp->retry_after);
}

/* Right before the request goes out (connected): a Retry-After another
 * call got since this one checked defers it, unsent. */
static int before_send(void *ud, char *ip, char *local_ip, int port, int local_port)
{
	struct attempt_ctx *x = ud;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	if (deadline_of(x->host) > wall_now()) {
		x->deferred = true;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct attempt_ctx *x = ud;
	struct http_resp *r = x->resp;
	size_t n = size * nitems;
	char tmp[128];
	time_t when;

	if (n > 12 && n < sizeof(tmp) && strncasecmp(buf, "Retry-After:", 12) == 0) {
		memcpy(tmp, buf + 12, n - 12);
		tmp[n - 12] = '\0';
		/* unreadable: leave -1 (the usual backoff), never "retry at once" */
		if (strspn(tmp, " \t0123456789.\r\n") == strlen(tmp) && strpbrk(tmp, "0123456789")) {
			r->retry_after = strtod(tmp, NULL);
		} else {
			when = curl_getdate(tmp, NULL);
			if (when > 0) /* a date already past: at once */
				r->retry_after = difftime(when, time(NULL)) > 0 ? difftime(when, time(NULL)) : 0;
		}
		retry_after_seen(x);
	}
	return n;
}

/* ------------------------------------------------ curl multi on libev */
/* The glue of curl's docs/examples/evhiperfifo.c (multi_socket on libev). */

struct sock {
	ev_io io;
	curl_socket_t fd;
};

struct xfer {
	struct fiber *f;
	bool done;
	CURLcode res;
};

static void check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(g_ev.multi, &left))) {
		struct xfer *x = NULL;
		CURL *e = m->easy_handle;
		CURLcode res = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(g_ev.multi, e); /* m is gone from here */
		if (x) {
			x->res = res;
			x->done = true;
			fiber_wake(x->f);
		}
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *sk = (struct sock *)w;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	(void)loop;
	curl_multi_socket_action(g_ev.multi, sk->fd, action, &running);
	check_done();
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int running;

	(void)loop;
	(void)w;
	(void)revents;
	curl_multi_socket_action(g_ev.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct sock *sk = sockp;
	int ev = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);

	(void)e;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			ev_io_stop(g_ev.loop, &sk->io);
			free(sk);
			curl_multi_assign(g_ev.multi, fd, NULL);
		}
		return 0;
	}
	if (!sk) {
		sk = rc_calloc(1, sizeof(*sk));
		sk->fd = fd;
		curl_multi_assign(g_ev.multi, fd, sk);
	} else {
		ev_io_stop(g_ev.loop, &sk->io); /* libev: never change an active watcher */
	}
	ev_io_init(&sk->io, io_cb, fd, ev);
	ev_io_start(g_ev.loop, &sk->io);
	return 0;
}

/* -1: stop; 0 = as soon as possible: never act from inside this callback */
static int on_timer(CURLM *multi, long ms, void *userp)
{
	(void)multi;
	(void)userp;
	ev_timer_stop(g_ev.loop, &g_ev.timer);
	if (ms >= 0) {
		ev_timer_set(&g_ev.timer, (double)ms / 1000.0, 0.);
		ev_timer_start(g_ev.loop, &g_ev.timer);
	}
	return 0;
}

int http_loop_attach(struct ev_loop *loop, unsigned vendor_limit, struct rc_err *err)
{
	global_init_once();
	g_ev.multi = curl_multi_init();
	if (!g_ev.multi)
		return rc_errf(err, RC_ENOMEM, "cannot create the HTTP multi handle");
	g_ev.loop = loop;
	ev_timer_init(&g_ev.timer, timer_cb, 0., 0.);
	curl_multi_setopt(g_ev.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(g_ev.multi, CURLMOPT_TIMERFUNCTION, on_timer);
	http_loop_set_limit(vendor_limit);
	return RC_OK;
}

void http_loop_set_limit(unsigned vendor_limit)
{
	size_t i;

	g_ev.default_limit = vendor_limit ? vendor_limit : 4;
	for (i = 0; i < g_npools; i++) {
		g_pools[i].limit = g_ev.default_limit;
		/* a raised limit admits waiters now (each re-checks on waking) */
		fiber_waitq_wake_all(&g_pools[i].waiters);
	}
	/* the idle connections kept for reuse: every vendor's limit */
	if (g_ev.multi)
		curl_multi_setopt(g_ev.multi, CURLMOPT_MAXCONNECTS,
				  (long)(g_ev.default_limit * HTTP_MAX_POOLS));
}

void http_loop_detach(void)
{
	if (!g_ev.multi)
		return;
	ev_timer_stop(g_ev.loop, &g_ev.timer);
	curl_multi_cleanup(g_ev.multi); /* REMOVE callbacks free the socket watchers */
	memset(&g_ev, 0, sizeof(g_ev));
}

void http_pool_each(void (*fn)(const struct http_pool_stats *st, void *payload), void *payload)
{
	struct http_pool_stats st;
	size_t i;

	for (i = 0; i < g_npools; i++) {
		st.name = g_pools[i].name;
		st.inflight = g_pools[i].inflight;
		st.max_inflight = g_pools[i].max_inflight;
		st.requests = g_pools[i].requests;
		st.connects = g_pools[i].connects;
		fn(&st, payload);
	}
}

void http_pool_set_rate(const char *name, double rps)
{
	size_t i;

	if (!name) { /* every pool: no pace */
		for (i = 0; i < g_npools; i++)
			g_pools[i].interval = 0;
		return;
	}
	pool_get(name)->interval = rps > 0 ? 1.0 / rps : 0;
}

/* The peer's pace (serve.requests_per_second): each request takes the
 * next slot of 1/rps seconds and waits for it, fiber or not. */
static void pool_pace(struct http_pool *p)
{
	double now, at;

	if (p->interval <= 0)
		return;
	now = rc_now_mono();
	at = p->next_at > now ? p->next_at : now;
	p->next_at = at + p->interval;
	if (at > now)
		fiber_sleep(at - now);
}

/* Wait for a slot of the vendor's limit; never more in flight than it. */
static void pool_acquire(struct http_pool *p)
{
	while (p->inflight >= p->limit)
		fiber_waitq_wait(&p->waiters); /* pool_release wakes us */
	p->inflight++;
	if (p->inflight > p->max_inflight)
		p->max_inflight = p->inflight;
}

static void pool_release(struct http_pool *p)
{
	p->inflight--;
	fiber_waitq_wake_one(&p->waiters);
}

static double wall_now(void);
static double deadline_of(const char *host);
static bool cancelled(void);

/* A slot of the vendor's limit, taken once the host's Retry-After is over:
 * a fiber that waited for the slot a 429 freed must not send at once. */
static void pool_acquire_after(struct http_client *c, const char *host)
{
	double wait, waited = 0;

	pool_acquire(c->pool);
	while ((wait = deadline_of(host) - wall_now()) > 0 && waited < c->o.max_retry_after &&
	       !cancelled()) {
		pool_release(c->pool);
		fiber_sleep(wait);
		waited += wait;
		pool_acquire(c->pool);
	}
}

/* On a fiber with the loop attached, the transfer runs on the multi handle
 * while the loop goes on; else it blocks as in the command-line tools. */
static CURLcode perform(struct http_client *c, CURL *e, const char *host)
{
	struct xfer x = { fiber_current(), false, CURLE_OK };
	CURLMcode mc;

	c->pool->requests++;
	pool_pace(c->pool);
	if (!g_ev.multi || !x.f)
		return curl_easy_perform(e);
	pool_acquire_after(c, host);
	if (!fiber_fence_ok()) { /* fenced while it waited: not sent (resp->sent false) */
		pool_release(c->pool);
		return CURLE_ABORTED_BY_CALLBACK;
	}
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)&x);
	mc = curl_multi_add_handle(g_ev.multi, e);
	if (mc != CURLM_OK) {
		pool_release(c->pool);
		return CURLE_FAILED_INIT;
	}
	while (!x.done)
		fiber_yield();
	curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	pool_release(c->pool);
	return x.res;
}

#ifdef RECONCILE_FUZZ
static http_fuzz_fn g_fuzz;
static http_fuzz_seen_fn g_fuzz_seen;

void http_fuzz_set(http_fuzz_fn answer, http_fuzz_seen_fn seen)
{
	g_fuzz = answer;
	g_fuzz_seen = seen;
}
#endif

/* One attempt. Returns a CURLcode; fills resp. */
static CURLcode attempt(struct http_client *c, const struct http_req *req,
			struct curl_slist *hdrs, const char *host, struct http_resp *resp,
			bool *deferred)
{
	struct attempt_ctx x = { resp, host, NULL, false };
	CURL *e;
	long timeout = req->timeout_ms ? req->timeout_ms : c->o.timeout_ms, nconn = 0, sent = 0;
	CURLcode rc;

	*deferred = false;
#ifdef RECONCILE_FUZZ
	if (g_fuzz) { /* tests/fuzz: the answer comes from the fuzzer's input */
		rc_buf_free(&resp->body);
		rc_buf_add(&resp->body, "", 0);
		resp->retry_after = -1;
		resp->timed_out = false;
		resp->sent = true;
		return g_fuzz(req, resp) ? CURLE_RECV_ERROR : CURLE_OK;
	}
#endif
	e = handle_take();
	if (!e)
		return CURLE_OUT_OF_MEMORY;
	curl_easy_reset(e);
	if (g_share)
		curl_easy_setopt(e, CURLOPT_SHARE, g_share);
	rc_buf_free(&resp->body);
	rc_buf_add(&resp->body, "", 0);
	resp->status = 0;
	resp->retry_after = -1;
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout < 5000 ? timeout : 5000L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, resp);
	x.e = e;
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, before_send);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, &x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "reconcile/" RECONCILE_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (!req->idempotent && req->body && req->body_len) {
		x.body = req->body; /* one-shot: see read_once */
		x.body_left = req->body_len;
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_once);
		curl_easy_setopt(e, CURLOPT_READDATA, &x);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, never_rewind);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, &x);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else {
		/* without a body to refuse the rewind, libcurl's resend on a
		 * dead reused connection cannot be stopped: a fresh one */
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, req->idempotent ? 0L : 1L);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body || strcmp(req->method, "DELETE") != 0) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)(req->body ? req->body_len : 0));
		}
	}
	g_requests++;
	rc = perform(c, e, host);
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK && nconn > 0)
		c->pool->connects += (unsigned long)nconn;
	resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	/* bytes of the request that went out: none means the server cannot
	 * have acted (refused, unresolved, reset before the send) */
	resp->sent = curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK || sent > 0;
	*deferred = x.deferred && rc == CURLE_ABORTED_BY_CALLBACK;
	if (*deferred)
		resp->sent = false;
	handle_put(e);
#ifdef RECONCILE_FUZZ
	if (g_fuzz_seen) /* tests/fuzz: a seed recorded from a real run */
		g_fuzz_seen(req, rc == CURLE_OK ? resp : NULL);
#endif
	return rc;
}

static const bool *g_cancel;

void http_set_cancel(const bool *flag)
{
	g_cancel = flag;
}

static bool cancelled(void)
{
	return g_cancel && *g_cancel;
}

/* ------------------------------------------------------------ deadlines */

#define HTTP_MAX_HOSTS 64

static struct {
	char host[160];
	double until;
} g_waits[HTTP_MAX_HOSTS];
static size_t g_nwaits;

/* "scheme://host:port" of url into out. */
static void url_host(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://"), *end;

	p = p ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	snprintf(out, n, "%.*s", (int)(end - url), url);
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void http_deadline_set(const char *host, double until)
{
	size_t i;

	for (i = 0; i < g_nwaits && strcmp(g_waits[i].host, host); i++)
		;
	if (i == g_nwaits) {
		if (g_nwaits == HTTP_MAX_HOSTS)
			i = 0; /* full: the oldest slot goes */
		else
			g_nwaits++;
		snprintf(g_waits[i].host, sizeof(g_waits[i].host), "%s", host);
		g_waits[i].until = 0;
	}
	if (until > g_waits[i].until)
		g_waits[i].until = until;
}

void http_deadline_each(void (*fn)(const char *host, double until, void *payload), void *payload)
{
	double now = wall_now();
	size_t i;

	for (i = 0; i < g_nwaits; i++)
		if (g_waits[i].until > now)
			fn(g_waits[i].host, g_waits[i].until, payload);
}

void http_deadline_clear(void)
{
	g_nwaits = 0;
}

static double deadline_of(const char *host)
{
	size_t i;

	for (i = 0; i < g_nwaits; i++)
		if (!strcmp(g_waits[i].host, host))
			return g_waits[i].until;
	return 0;
}

/* The server said it did not act: try again (when) it says so. */
static bool not_acted(CURLcode cc, const struct http_resp *r)
{
	if (cc != CURLE_OK)
		return !r->sent;
	return r->status == 429 || (r->status == 503 && r->retry_after >= 0);
}

/* An answer that leaves open whether the server acted. */
static bool acted_unknown(CURLcode cc, const struct http_resp *r)
{
	if (cc != CURLE_OK)
		return r->sent;
	return r->status == 500 || r->status == 502 || r->status == 504 ||
	       (r->status == 503 && r->retry_after < 0);
}

bool http_op_in_doubt(const struct http_resp *r, bool idempotent)
{
	return r->in_doubt && (!idempotent || r->status == 0);
}

/* With parse_json: a 2xx body into resp->json; false when it does not
 * parse (an error status's body is left as text for its message). */
static bool parse_body(struct http_resp *r)
{
	json_decref(r->json);
	r->json = NULL;
	if (r->status < 200 || r->status > 299 || !r->body.len)
		return true; /* an error's text, or no content */
	r->json = json_loadb(r->body.p, r->body.len, JSON_DECODE_ANY, NULL);
	return r->json != NULL;
}

#define BACKOFF_MAX_S 8.0

/* Backoff for attempt i: base * 2^i up to BACKOFF_MAX_S, +-50 % so that
 * clients spread out. */
static double backoff(const struct http_client *c, unsigned i)
{
	unsigned char b = 0;
	double d = c->o.backoff_base * pow(2, i);

	RAND_bytes(&b, 1);
	return (d < BACKOFF_MAX_S ? d : BACKOFF_MAX_S) * (0.5 + (double)b / 255.0);
}

/* Before each attempt: a short deadline of the host (another call's
 * Retry-After) is waited out, again when another extends it meanwhile
 * (calls run at once), up to max_retry_after in all; a long one is
 * RC_EWAIT. */
static int wait_host(struct http_client *c, const struct http_req *req, const char *host,
		     struct rc_err *err)
{
	double wait = deadline_of(host) - wall_now(), waited = 0;
	char *logurl;
	int rc;

	while (wait > 0 && waited + wait <= c->o.max_retry_after && !cancelled()) {
		fiber_sleep(wait); /* a short wait the server asked for: served */
		waited += wait;
		wait = deadline_of(host) - wall_now();
	}
	if (wait <= 0)
		return RC_OK;
	logurl = http_url_for_log(req->url);
	rc = rc_errf(err, RC_EWAIT, "%s %s: not called: the server asked not to be called for "
		     "%.0f s more (Retry-After)", req->method, logurl, wait);
	free(logurl);
	return rc;
}

static int result_error(const struct http_req *req, CURLcode cc, const struct http_resp *resp,
			struct rc_err *err)
{
	char *logurl;
	int rc = RC_OK;

	if (cc == CURLE_PARTIAL_FILE && resp->status >= 200 && resp->status <= 299 && req->parse_json) {
		logurl = http_url_for_log(req->url);
		rc = rc_errf(err, RC_EPARSE, "%s %s: the answer is not whole JSON%s", req->method, logurl,
			     !req->idempotent ? " (it acted: the outcome is unknown)" : "");
		free(logurl);
	} else if (cc != CURLE_OK) {
		logurl = http_url_for_log(req->url);
		rc = rc_errf(err, RC_EHTTP, "%s %s: %s%s", req->method, logurl,
			     curl_easy_strerror(cc),
			     resp->in_doubt && !req->idempotent ? " (sent: the outcome is unknown)" : "");
		free(logurl);
	}
	return rc;
}

/* Attempts deferred unsent by a Retry-After that came while they waited
 * to go out: each waits the deadline out first, so a few are plenty. */
#define MAX_DEFERRALS 16

int http_do(struct http_client *c, const struct http_req *req,
	    struct http_resp *resp, struct rc_err *err)
{
	struct curl_slist *hdrs = NULL;
	const char *const *h;
	double wait, t0 = rc_now_mono();
	CURLcode cc = CURLE_OK;
	unsigned i, max, deferrals = 0;
	bool deferred = false;
	int rc;
	char host[160];

	max = req->idempotent && !strcmp(req->method, "GET") ? c->o.read_attempts : c->o.max_attempts;
	url_host(req->url, host, sizeof(host));
	rc = wait_host(c, req, host, err);
	if (rc)
		return rc;
	for (h = req->headers; h && *h; h++)
		hdrs = curl_slist_append(hdrs, *h);
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (i = 0; i < max; i++) {
		if (i) { /* another call's Retry-After may have come meanwhile */
			rc = wait_host(c, req, host, err);
			if (rc)
				break;
		}
		resp->attempts = i + 1;
		cc = attempt(c, req, hdrs, host, resp, &deferred);
		if (cc == CURLE_ABORTED_BY_CALLBACK && !resp->sent && !fiber_fence_ok()) {
			rc = rc_errf(err, RC_ERR, "%s %s: not sent: the lease was lost (the fence said "
				     "no as it was about to go out)", req->method, host);
			break;
		}
		if (deferred && deferrals++ < MAX_DEFERRALS) {
			/* unsent: another call's Retry-After came meanwhile; wait it
			 * out, and the attempt is not spent */
			rc = wait_host(c, req, host, err);
			if (rc)
				break;
			i--;
			continue;
		}
		if (cc == CURLE_OK && req->parse_json && !parse_body(resp))
			cc = CURLE_PARTIAL_FILE; /* a cut answer: as a transport error */
		resp->in_doubt = acted_unknown(cc, resp);
		/* a Retry-After binds every call to the host, not only this one */
		if (cc == CURLE_OK && (resp->status == 429 || resp->status == 503) &&
		    resp->retry_after > 0)
			http_deadline_set(host, wall_now() + resp->retry_after);
		if (cc == CURLE_OK && resp->status < 500 && resp->status != 429)
			break;
		if (!not_acted(cc, resp) && !req->idempotent)
			break; /* it may have acted: never sent twice */
		wait = resp->retry_after >= 0 && cc == CURLE_OK ? resp->retry_after : backoff(c, i);
		if (wait > c->o.max_retry_after || i + 1 == max || cancelled() ||
		    rc_now_mono() - t0 + wait > c->o.max_elapsed)
			break; /* no sleep that no retry follows; a long Retry-After is the caller's */
		fiber_sleep(wait);
		if (cancelled())
			break; /* woken by a stop: no new attempt */
	}
	if (!rc)
		rc = result_error(req, cc, resp, err);
	curl_slist_free_all(hdrs);
	return rc;
}

/* ------------------------------------------------------------ answers */

/* The message member of a parsed error body (borrowed), NULL when none. */
static const char *json_message(json_t *j, char *pair, size_t n)
{
	const char *code = json_string_value(json_object_get(j, "error_code"));
	static const char *const keys[] = { "message", "error_description", "error", "detail",
					    "title", NULL };
	const char *k;
	json_t *v;
	size_t i;

	for (i = 0; keys[i]; i++) {
		v = json_object_get(j, keys[i]);
		if (json_is_object(v))
			v = json_object_get(v, "message");
		if (json_is_string(v) && json_string_length(v) && code) {
			snprintf(pair, n, "%s (%s)", code, json_string_value(v));
			return pair;
		}
		if (json_is_string(v) && json_string_length(v))
			return json_string_value(v);
	}
	if (code)
		return code;
	json_object_foreach(j, k, v) { /* ASP.NET model state */
		json_t *m = json_is_array(v) ? json_array_get(v, 0) : v;

		if (json_is_string(m)) {
			snprintf(pair, n, "%s: %s", k, json_string_value(m));
			return pair;
		}
	}
	return NULL;
}

void http_error_text(const struct rc_buf *body, const char *const *secrets, size_t nsecrets,
		     char *buf, size_t n)
{
	json_t *j = body->p ? json_loadb(body->p, body->len, 0, NULL) : NULL;
	char pair[512];
	const char *text = j ? json_message(j, pair, sizeof(pair)) : NULL;
	char *safe, *shaped;

	buf[0] = '\0';
	if (!text && !j && body->p && body->len && body->len < 200 && !strchr(body->p, '<'))
		text = body->p; /* a short plain-text answer, not an HTML page */
	if (text) {
		/* whole, then cut: the codes sent, then anything shaped like a
		 * secret (another tenant's code, a token: core/redact.h) */
		safe = rc_redact(text, secrets, nsecrets);
		shaped = rc_redact_shapes(safe);
		snprintf(buf, n, "%s", shaped);
		buf[strcspn(buf, "\r\n")] = '\0';
		rc_free_secret(safe);
		rc_free_secret(shaped);
	}
	json_decref(j);
}

int http_status_error(const char *peer, const char *what, const struct http_resp *r,
		      const char *const *secrets, size_t nsecrets, struct rc_err *err)
{
	char msg[256];
	int code = r->status == 404 || r->status == 410 ? RC_ENOTFOUND
		 : r->status == 401 || r->status == 403 ? RC_EAUTH : RC_EVENDOR;

	http_error_text(&r->body, secrets, nsecrets, msg, sizeof(msg));
	return rc_errf(err, code, "%s: %s: HTTP %ld%s%s", peer, what, r->status,
		       *msg ? ": " : "", msg);
}

/* -------------------------------------------------------- bearer tokens */

static int token_renew(struct http_token *t, http_token_fetch_fn fetch, void *payload,
		       struct rc_err *err)
{
	char *v = NULL;
	double ttl = 0;
	int rc = fetch(payload, &v, &ttl, err);

	if (rc)
		return rc;
	if (ttl <= 0)
		ttl = 3600;
	rc_free_secret(t->value);
	t->value = v;
	t->renew_at = rc_now_mono() + ttl - (ttl > 120 ? 60.0 : ttl / 2);
	return RC_OK;
}

int http_do_bearer(struct http_client *c, struct http_token *t, http_token_fetch_fn fetch,
		   void *payload, const struct http_req *req, struct http_resp *resp,
		   struct rc_err *err)
{
	const char *hdrs[16];
	struct http_req r = *req;
	char *auth = NULL;
	size_t n;
	int rc = RC_OK, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt || !t->value || rc_now_mono() >= t->renew_at)
			rc = token_renew(t, fetch, payload, err);
		if (rc)
			break;
		rc_free_secret(auth);
		auth = rc_sprintf("Authorization: Bearer %s", t->value);
		hdrs[0] = auth;
		for (n = 0; req->headers && req->headers[n] && n < 14; n++)
			hdrs[n + 1] = req->headers[n];
		hdrs[n + 1] = NULL;
		r.headers = hdrs;
		http_resp_free(resp);
		http_resp_init(resp);
		rc = http_do(c, &r, resp, err);
		if (rc || resp->status != 401)
			break;
	}
	rc_free_secret(auth);
	return rc;
}

void http_token_free(struct http_token *t)
{
	rc_free_secret(t->value);
	t->value = NULL;
	t->renew_at = 0;
}

char *http_base_url(const char *url)
{
	char *s = rc_strdup(url ? url : "");
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}
