/* http.c: see http.h. */
#define _GNU_SOURCE
#include "http.h"

#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct http_client {
	CURL *easy;          /* reused: its connection cache gives keep-alive */
	struct http_opts o;
};

static unsigned long g_requests;

unsigned long http_requests_total(void)
{
	return g_requests;
}

static void global_init_once(void)
{
	static bool done;

	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = true;
	}
}

int http_client_new(struct http_client **out, const struct http_opts *opts,
		    struct rc_err *err)
{
	struct http_client *c;

	global_init_once();
	c = rc_calloc(1, sizeof(*c));
	c->easy = curl_easy_init();
	if (!c->easy) {
		free(c);
		return rc_errf(err, RC_ENOMEM, "cannot create an HTTP handle");
	}
	c->o.timeout_ms = 15000;
	/* RECONCILE_HTTP_TIMEOUT_MS: slow vendors, or tests of timeouts */
	if (getenv("RECONCILE_HTTP_TIMEOUT_MS") && atol(getenv("RECONCILE_HTTP_TIMEOUT_MS")) > 0)
		c->o.timeout_ms = atol(getenv("RECONCILE_HTTP_TIMEOUT_MS"));
	c->o.max_attempts = 3;
	c->o.max_retry_after = 30;
	c->o.backoff_base = 0.5;
	if (opts) {
		if (opts->timeout_ms)
			c->o.timeout_ms = opts->timeout_ms;
		if (opts->max_attempts)
			c->o.max_attempts = opts->max_attempts;
		if (opts->max_retry_after > 0)
			c->o.max_retry_after = opts->max_retry_after;
		if (opts->backoff_base > 0)
			c->o.backoff_base = opts->backoff_base;
	}
	*out = c;
	return RC_OK;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
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
static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nitems;
	char tmp[128];
	time_t when;

	if (n > 12 && n < sizeof(tmp) && strncasecmp(buf, "Retry-After:", 12) == 0) {
		memcpy(tmp, buf + 12, n - 12);
		tmp[n - 12] = '\0';
		if (strspn(tmp, " \t0123456789.\r\n") == strlen(tmp)) {
			r->retry_after = strtod(tmp, NULL);
		} else {
			when = curl_getdate(tmp, NULL);
			if (when > 0)
				r->retry_after = difftime(when, time(NULL));
		}
		if (r->retry_after < 0)
			r->retry_after = 0;
	}
	return n;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* One attempt. Returns a CURLcode; fills resp. */
static CURLcode attempt(struct http_client *c, const struct http_req *req,
			struct curl_slist *hdrs, struct http_resp *resp)
{
	CURL *e = c->easy;
	long timeout = req->timeout_ms ? req->timeout_ms : c->o.timeout_ms;

	curl_easy_reset(e); /* keeps the connection cache */
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
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "reconcile/" RECONCILE_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body || strcmp(req->method, "DELETE") != 0) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)(req->body ? req->body_len : 0));
		}
	}
	g_requests++;
	CURLcode rc = curl_easy_perform(e);
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	return rc;
}

int http_do(struct http_client *c, const struct http_req *req,
	    struct http_resp *resp, struct rc_err *err)
{
	struct curl_slist *hdrs = NULL;
	const char *const *h;
	double wait;
	CURLcode cc = CURLE_OK;
	unsigned i;
	int rc = RC_OK;
	char *logurl;

	for (h = req->headers; h && *h; h++)
		hdrs = curl_slist_append(hdrs, *h);
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (i = 0; i < c->o.max_attempts; i++) {
		resp->attempts = i + 1;
		cc = attempt(c, req, hdrs, resp);
		if (cc == CURLE_OK && resp->status == 429) {
			/* The server did not act: always safe to wait and retry. */
			wait = resp->retry_after >= 0 ? resp->retry_after
						       : c->o.backoff_base * pow(2, i);
			if (wait > c->o.max_retry_after)
				break;
			sleep_s(wait);
			continue;
		}
		if (!req->idempotent)
			break;
		if (cc == CURLE_OK && resp->status < 500)
			break;
		if (i + 1 < c->o.max_attempts)
			sleep_s(c->o.backoff_base * pow(2, i));
	}
	if (cc != CURLE_OK) {
		logurl = http_url_for_log(req->url);
		rc = rc_errf(err, RC_EHTTP, "%s %s: %s%s", req->method, logurl,
			     curl_easy_strerror(cc),
			     resp->timed_out ? " (the outcome is unknown)" : "");
		free(logurl);
	}
	curl_slist_free_all(hdrs);
	return rc;
}
