/*
 * http.h: the HTTP client every provider uses (libcurl).
 *
 * One struct http_client per provider instance keeps its connections
 * (keep-alive across calls); several fibers may use one client at once. http_do() performs one request, with retries
 * where they are safe: 429 (waiting out Retry-After, capped) always, since
 * the server did not act; 5xx and transport errors only for requests the
 * caller marks idempotent. Errors name the method and the URL without its
 * query string, never a header or a body.
 */
#ifndef RC_HTTP_H
#define RC_HTTP_H

#include "../reconciler/common.h"

struct http_client;

struct http_req {
	const char *method;          /* "GET", "POST", "PUT", "DELETE" */
	const char *url;
	const char *const *headers;  /* NULL-terminated "Name: value" list */
	const char *body;            /* may be NULL */
	size_t body_len;
	bool idempotent;             /* retry 5xx / transport errors */
	long timeout_ms;             /* 0 = client default */
};

struct http_resp {
	long status;                 /* 0 when no response arrived */
	struct rc_buf body;
	double retry_after;          /* seconds from Retry-After, or -1 */
	unsigned attempts;
	bool timed_out;              /* the last attempt timed out */
};

struct http_opts {
	long timeout_ms;             /* default 15000 */
	unsigned max_attempts;       /* default 3 */
	double max_retry_after;      /* cap on one Retry-After wait, default 30 s */
	double backoff_base;         /* first backoff, default 0.5 s */
	const char *pool;            /* vendor name: its concurrency limit */
};

/* New client. opts may be NULL for defaults. */
int http_client_new(struct http_client **out, const struct http_opts *opts,
		    struct rc_err *err);
void http_client_free(struct http_client *c);

/* Perform req. On RC_OK, resp->status holds the final HTTP status (the
 * caller judges 4xx/5xx). Fails with RC_EHTTP only when no HTTP answer
 * could be had. resp must be initialised with http_resp_init and released
 * with http_resp_free. */
int http_do(struct http_client *c, const struct http_req *req,
	    struct http_resp *resp, struct rc_err *err);
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
/* Each pool (vendor): requests in flight now and the most ever, requests
 * made, new connections opened (fewer than requests: keep-alive works). */
struct http_pool_stats {
	const char *name;
	unsigned long inflight, max_inflight, requests, connects;
};
void http_pool_each(void (*fn)(const struct http_pool_stats *st, void *payload), void *payload);

/* URL-encode s (new string). */
char *http_escape(const char *s);
/* The URL without query string, for messages (new string). */
char *http_url_for_log(const char *url);
/* Total requests performed by this process (metrics, tests). */
unsigned long http_requests_total(void);

#endif
