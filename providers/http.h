/*
 * http.h: the HTTP client every provider uses (libcurl).
 *
 * One struct http_client per provider instance keeps its connections
 * (keep-alive across calls); several fibers may use one client at once.
 * http_do() performs one request, retrying where that cannot do a thing
 * twice, with backoff and jitter, bounded in attempts and time:
 *  - always when the server did not act: 429, 503 with Retry-After (the
 *    wait it names, when short enough), and a failure before any byte of
 *    the request was sent (connection refused, DNS);
 *  - for requests the caller marks idempotent, also on other 5xx and on
 *    transport errors.
 * A request that is not idempotent never goes out twice: its body is one
 * libcurl cannot rewind, so libcurl's own resend when a reused connection
 * turns out dead fails instead (a bodiless one gets a fresh connection),
 * and an answer lost after it was sent makes
 * it in doubt (http_resp.in_doubt), for the caller to settle by reading
 * the vendor, never by sending it again. Errors name the method and the URL
 * without its query string, never a header or a body.
 */
#ifndef RC_HTTP_H
#define RC_HTTP_H

#include <jansson.h>

#include "core/common.h"

struct http_client;

struct http_req {
	const char *method;          /* "GET", "POST", "PUT", "DELETE" */
	const char *url;
	const char *const *headers;  /* NULL-terminated "Name: value" list */
	const char *body;            /* may be NULL */
	size_t body_len;
	bool idempotent;             /* retry 5xx / transport errors */
	long timeout_ms;             /* 0 = client default */
	bool parse_json;             /* a 2xx answer's body is JSON: parsed into
				      * http_resp.json; one that does not parse is
				      * a cut answer: retried when idempotent, else
				      * in doubt (RC_EPARSE) */
};

struct http_resp {
	long status;                 /* 0 when no response arrived */
	struct rc_buf body;
	double retry_after;          /* seconds from Retry-After, or -1: when the
				      * request failed on one longer than the
				      * client waits, the time not to call before */
	unsigned attempts;
	bool timed_out;              /* the last attempt timed out */
	bool sent;                   /* the last attempt's request went out */
	json_t *json;                /* with parse_json: the parsed 2xx body (owned
				      * by resp: http_resp_free releases it) */
	bool in_doubt;               /* the last attempt was sent and no answer says
				      * whether the server acted (a transport error
				      * after the send, 500/502/504): a request
				      * that is not idempotent then stops */
};

struct http_opts {
	long timeout_ms;             /* default 15000 */
	unsigned max_attempts;       /* default 4 */
	unsigned read_attempts;      /* a GET (no side effect), default 8: a controller
				      * that cannot read plans nothing at all */
	double max_retry_after;      /* cap on one Retry-After wait, default 30 s */
	double backoff_base;         /* first backoff, default 0.5 s (x2 each, +-50 % jitter,
				      * at most 8 s) */
	double max_elapsed;          /* no retry starts after this, default 60 s */
	const char *pool;            /* vendor name: its concurrency limit */
};


/* New client. opts may be NULL for the built-in defaults (those of
 * specs/README.md); its zero members keep them. */
int http_client_new(struct http_client **out, const struct http_opts *opts,
		    struct rc_err *err);
/* New client with a peer's HTTP settings of the spec (specs/spec.h: a
 * site's http, the spec's pms_http; borrowed, copied) in pool. */
struct spec_http;
int http_client_peer(struct http_client **out, const struct spec_http *h, const char *pool,
		     struct rc_err *err);
void http_client_free(struct http_client *c);

/* Perform req. On RC_OK, resp->status holds the final HTTP status (the
 * caller judges 4xx/5xx). Fails with RC_EHTTP only when no HTTP answer
 * could be had. resp must be initialised with http_resp_init and released
 * with http_resp_free. */
int http_do(struct http_client *c, const struct http_req *req,
	    struct http_resp *resp, struct rc_err *err);
#ifdef RECONCILE_FUZZ
/* Fuzz builds only (tests/fuzz): every attempt is answered by answer
 * (status and body into resp; non-zero: the connection failed) instead of
 * the network; or, answer NULL, made on the network and shown to seen
 * (resp NULL: no answer), which records a seed. */
typedef int (*http_fuzz_fn)(const struct http_req *req, struct http_resp *resp);
typedef void (*http_fuzz_seen_fn)(const struct http_req *req, const struct http_resp *resp);
void http_fuzz_set(http_fuzz_fn answer, http_fuzz_seen_fn seen);
#endif
void http_resp_init(struct http_resp *r);
void http_resp_free(struct http_resp *r);

/* The loop-driven mode (serve): requests made on a fiber (fiber.h) run on
 * one curl multi handle driven by loop (multi_socket), at most
 * vendor_limit in flight per pool (http_opts.pool), one shared connection
 * cache (keep-alive). Elsewhere requests block, as in the CLI. */
struct ev_loop;
int http_loop_attach(struct ev_loop *loop, unsigned vendor_limit, struct rc_err *err);
/* Change the per-vendor limit (SIGHUP): a lower one applies as requests
 * end, a higher one at once. */
void http_loop_set_limit(unsigned vendor_limit);
/* Call when no fiber has a request in flight. */
void http_loop_detach(void);
/* While *flag (borrowed; NULL: none) is true, no retry and no Retry-After
 * wait starts: a call ends with the answer it has (serve's SIGTERM). */
void http_set_cancel(const bool *flag);
/* Pace the requests to a pool (a vendor's name, or the PMS's): at most
 * rps per second, spaced evenly (0: no pace). pool NULL: no pool paced. */
void http_pool_set_rate(const char *pool, double rps);
/* Each pool (vendor): requests in flight now and the most ever, requests
 * made, new connections opened (fewer than requests: keep-alive works). */
struct http_pool_stats {
	const char *name;
	unsigned long inflight, max_inflight, requests, connects;
};
void http_pool_each(void (*fn)(const struct http_pool_stats *st, void *payload), void *payload);

/* Whether an operation whose request got r is in doubt (journaled as
 * such and settled by reading the vendor): when it may have acted, for a
 * request that is not idempotent; for one that is, only when no answer
 * came at all (an error status is an answer: the next run repeats it). */
bool http_op_in_doubt(const struct http_resp *r, bool idempotent);

/* ---- answers ---- */
/* The best human message of an error body: {"message"}, {"error"} (a
 * string, or an object with a message), {"error_description"}, an ASP.NET
 * model state {"Field": ["msg"]}, else a short plain-text body. Every
 * non-empty secret[i] is redacted whole before the cut, then anything
 * shaped like a code, a token or a key (core/redact.h): a vendor that
 * echoes another tenant's code never puts it in a message. Into buf
 * (always terminated; empty when the body says nothing). */
void http_error_text(const struct rc_buf *body, const char *const *secrets, size_t nsecrets,
		     char *buf, size_t n);
/* The error for a non-2xx answer r of peer ("OpenTech") to what ("the
 * update of visitor 7"): RC_ENOTFOUND for 404 and 410, RC_EAUTH for 401 and
 * 403, RC_EVENDOR otherwise; the message carries the status and the
 * body's text (secrets redacted as for http_error_text). */
int http_status_error(const char *peer, const char *what, const struct http_resp *r,
		      const char *const *secrets, size_t nsecrets, struct rc_err *err);

/* ---- bearer tokens (OAuth2) ---- */
/* A token and when to renew it: a minute before it expires, half-way
 * through lifetimes under two minutes, so that no call meets a 401 for a
 * token that ran out. Zero-initialised is "none yet". */
struct http_token {
	char *value;                 /* secret */
	double renew_at;             /* monotonic seconds */
};
/* Obtain a new token: *value new (a secret), *ttl its lifetime in seconds
 * (<= 0: unknown, taken as an hour). */
typedef int (*http_token_fetch_fn)(void *payload, char **value, double *ttl,
				   struct rc_err *err);
/* http_do with "Authorization: Bearer <token>" before req's headers: a
 * token is fetched when none is held or it is due; a 401 answer fetches a
 * new one and sends the request once more. */
int http_do_bearer(struct http_client *c, struct http_token *t, http_token_fetch_fn fetch,
		   void *payload, const struct http_req *req, struct http_resp *resp,
		   struct rc_err *err);
void http_token_free(struct http_token *t);

/* ---- Retry-After deadlines, per host ----
 * A server that answered 429 or 503 with a Retry-After the client gave up
 * on is not called again before that time: http_do waits when the rest is
 * short (no longer than a Retry-After it would wait), else fails at once
 * with RC_EWAIT, no request made. The engine keeps the deadlines in its
 * state so that the next process does not call early either. Times are
 * wall-clock unix seconds; host is "scheme://host:port". */
void http_deadline_set(const char *host, double until);
/* Every deadline not yet past. */
void http_deadline_each(void (*fn)(const char *host, double until, void *payload), void *payload);
void http_deadline_clear(void);

/* url with trailing slashes cut (new string). */
char *http_base_url(const char *url);
/* URL-encode s (new string). */
char *http_escape(const char *s);
/* The URL without query string, for messages (new string). */
char *http_url_for_log(const char *url);
/* Total requests performed by this process (metrics, tests). */
unsigned long http_requests_total(void);

#endif
