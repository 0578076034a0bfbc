/*
 * spec_http.c: the spec's HTTP sections. "serve" (the server of
 * `reconcile serve`: listen address, limits, each peer's request rate) and
 * "http" (the clients: timeouts, retries and page sizes, for every peer and
 * per peer). See spec.h and specs/README.md.
 *
 * A peer is the PMS (named by its type) or a vendor of the loader's table;
 * its HTTP settings are, key by key, the first set of: its own object
 * ("http.<peer>"), the section's keys ("http"), the vendor's defaults (its
 * descriptor: an API whose lists come whole needs a longer timeout), the
 * built-in defaults. Page sizes and their ranges are the vendor's too.
 */
#define _GNU_SOURCE
#include "spec_int.h"
#include "core/addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A vendor's name, or the PMS type: a peer whose requests a limit paces. */
static bool peer_known(const struct spec_ld *l, const char *name, const char *pms_type)
{
	size_t i;

	if (pms_type && !strcmp(name, pms_type))
		return true;
	for (i = 0; l->vendors[i]; i++)
		if (!strcmp(name, l->vendors[i]->name))
			return true;
	return false;
}
/* serve.requests_per_second: {"<vendor or PMS>": n, ...}. */
static int load_rates(struct spec_ld *l, json_t *o, const char *pms_type, struct spec_serve *s)
{
	char path[128];
	const char *k;
	json_t *v;

	if (!o)
		return RC_OK;
	if (!json_is_object(o))
		return spec_fail(l, "$.serve.requests_per_second",
				 "expected an object like {\"%s\": 20, \"%s\": 50}",
				 l->vendors[0] ? l->vendors[0]->name : "vendor", pms_type);
	s->rates = rc_calloc(json_object_size(o) + 1, sizeof(*s->rates));
	json_object_foreach(o, k, v) {
		snprintf(path, sizeof(path), "$.serve.requests_per_second.%s", k);
		if (!peer_known(l, k, pms_type))
			return spec_fail(l, path, "no vendor or PMS is named \"%s\"", k);
		if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 100000)
			return spec_fail(l, path, "expected requests per second, 0 < n <= 100000");
		s->rates[s->nrates].peer = rc_strdup(k);
		s->rates[s->nrates++].rps = json_number_value(v);
	}
	return RC_OK;
}

/* A listen address, as serve will read it (core/addr.h): a fixed port
 * here (0, any free port, is for --listen). */
static int check_listen(struct spec_ld *l, const char *path, const char *addr)
{
	struct rc_err aerr;
	char host[256];
	int port;

	if (rc_parse_listen(addr, false, host, sizeof(host), &port, &aerr))
		return spec_fail(l, path, "%s: %s", addr, aerr.msg);
	return RC_OK;
}

int spec_load_serve(struct spec_ld *l, json_t *o, const char *pms_type, struct spec_serve *s)
{
	static const char *const keys[] = { "listen", "max_body", "vendor_concurrency", "workers",
					    "rental_workers",
					    "requests_per_second", "max_connections_per_address", NULL };
	long n = 0, c = 0, w = 0, rw = 0, a = 0;
	int rc = RC_OK;

	if (o)
		rc = spec_check_keys(l, o, "$.serve", keys);
	if (!rc)
		rc = spec_get_str(l, o, "$.serve", "listen", false, &s->listen);
	if (!rc && !s->listen)
		s->listen = rc_strdup("127.0.0.1:8080");
	if (!rc)
		rc = check_listen(l, "$.serve.listen", s->listen);
	if (!rc)
		rc = spec_get_int(l, o, "$.serve", "max_body", 1024, 16 << 20, 1 << 20, &n);
	if (!rc)
		rc = spec_get_int(l, o, "$.serve", "vendor_concurrency", 1, 64, 4, &c);
	if (!rc)
		rc = spec_get_int(l, o, "$.serve", "workers", 1, 256, 8, &w);
	if (!rc)
		rc = spec_get_int(l, o, "$.serve", "rental_workers", 1, 256, 64, &rw);
	if (!rc)
		rc = spec_get_int(l, o, "$.serve", "max_connections_per_address", 1, 1024, 64, &a);
	s->per_address = (unsigned)a;
	s->max_body = (unsigned)n;
	s->workers = (unsigned)w;
	s->rental_workers = (unsigned)rw;
	s->vendor_concurrency = (unsigned)c;
	if (!rc)
		rc = load_rates(l, json_object_get(o, "requests_per_second"), pms_type, s);
	return rc;
}

/* ------------------------------------------------------------- http */

/* The keys of timeouts and retries, in a peer's object as in the section. */
static const char *const http_keys[] = { "timeout_ms", "attempts", "read_attempts",
					 "backoff_ms", "max_elapsed_s", NULL };

/* Every peer's, where neither the spec nor its vendor says. */
static const struct spec_http http_builtin = {
	.timeout_ms = 15000, .attempts = 4, .read_attempts = 8, .backoff_ms = 500,
	.max_elapsed_s = 60, .page_size = 0
};

/* The members of src that are set (non-zero) over *dst. */
static void http_over(struct spec_http *dst, const struct spec_http *src)
{
	if (src->timeout_ms)
		dst->timeout_ms = src->timeout_ms;
	if (src->attempts)
		dst->attempts = src->attempts;
	if (src->read_attempts)
		dst->read_attempts = src->read_attempts;
	if (src->backoff_ms)
		dst->backoff_ms = src->backoff_ms;
	if (src->max_elapsed_s)
		dst->max_elapsed_s = src->max_elapsed_s;
	if (src->page_size)
		dst->page_size = src->page_size;
}

/* The timeout and retry keys of o (borrowed; NULL: none) at path into *h,
 * 0 for those absent. */
static int http_get(struct spec_ld *l, json_t *o, const char *path, struct spec_http *h)
{
	long t = 0, a = 0, r = 0, b = 0, e = 0;
	int rc;

	rc = spec_get_int(l, o, path, "timeout_ms", 100, 600000, 0, &t);
	if (!rc)
		rc = spec_get_int(l, o, path, "attempts", 1, 10, 0, &a);
	if (!rc)
		rc = spec_get_int(l, o, path, "read_attempts", 1, 20, 0, &r);
	if (!rc)
		rc = spec_get_int(l, o, path, "backoff_ms", 1, 60000, 0, &b);
	if (!rc)
		rc = spec_get_int(l, o, path, "max_elapsed_s", 1, 3600, 0, &e);
	h->timeout_ms = (unsigned)t;
	h->attempts = (unsigned)a;
	h->read_attempts = (unsigned)r;
	h->backoff_ms = (unsigned)b;
	h->max_elapsed_s = (unsigned)e;
	return rc;
}

static bool is_http_key(const char *k)
{
	size_t i;

	for (i = 0; http_keys[i]; i++)
		if (!strcmp(http_keys[i], k))
			return true;
	return false;
}

/* Every key of the section is a setting or a peer; a page size is a
 * vendor's, one whose API pages. */
static int http_check_keys(struct spec_ld *l, json_t *o, const char *pms_type)
{
	const struct spec_vendor *const *t;
	const char *k, *paged = NULL;
	struct rc_buf peers;
	json_t *v;
	int rc = RC_OK;

	json_object_foreach(o, k, v) {
		if (is_http_key(k) || peer_known(l, k, pms_type))
			continue;
		rc_buf_init(&peers);
		for (t = l->vendors; *t; t++) {
			rc_buf_printf(&peers, "\"%s\", ", (*t)->name);
			if (!paged && (*t)->page_max)
				paged = (*t)->name;
		}
		rc_buf_printf(&peers, "\"%s\"", pms_type);
		if (!strcmp(k, "page_size"))
			rc = spec_fail(l, "$.http.page_size", "a page size is a vendor's "
				       "($.http.%s.page_size) or the PMS's ($.pms.page_size)",
				       paged ? paged : "<vendor>");
		else
			rc = spec_fail(l, "$.http", "unknown key \"%s\": a setting (timeout_ms, attempts, "
				       "read_attempts, backoff_ms, max_elapsed_s) or a peer (%s)", k, peers.p);
		rc_buf_free(&peers);
		return rc;
	}
	return RC_OK;
}

/* The page size of vendor v (NULL: the PMS) in its object o at path: only
 * a vendor whose API pages has one, within its range. */
static int peer_page(struct spec_ld *l, json_t *o, const char *path,
		     const struct spec_vendor *v, struct spec_http *h)
{
	char *p;
	long n = 0;
	int rc;

	h->page_size = 0;
	if (!json_object_get(o, "page_size"))
		return RC_OK;
	if (v && v->page_max) {
		rc = spec_get_int(l, o, path, "page_size", 1, v->page_max, 0, &n);
		h->page_size = (unsigned)n;
		return rc;
	}
	p = rc_sprintf("%s.page_size", path);
	if (!v)
		rc = spec_fail(l, p, "the PMS's page size is $.pms.page_size");
	else
		rc = spec_fail(l, p, "the %s API does not page its lists: no page size", v->title);
	free(p);
	return rc;
}

/* A peer's own object "http.<name>" (o borrowed; NULL: absent) into *h:
 * what it sets, 0 elsewhere. v: the vendor, NULL for the PMS. */
static int load_peer(struct spec_ld *l, json_t *o, const char *name,
		     const struct spec_vendor *v, struct spec_http *h)
{
	static const char *const keys[] = { "timeout_ms", "attempts", "read_attempts",
					    "backoff_ms", "max_elapsed_s", "page_size", NULL };
	char *path = rc_sprintf("$.http.%s", name);
	int rc = RC_OK;

	memset(h, 0, sizeof(*h));
	if (o && !json_is_object(o))
		rc = spec_fail(l, path, "expected an object like {\"timeout_ms\": 60000, \"attempts\": 4}");
	else if (o)
		rc = spec_check_keys(l, o, path, keys);
	if (!rc)
		rc = http_get(l, o, path, h);
	if (!rc)
		rc = peer_page(l, o, path, v, h);
	free(path);
	return rc;
}

int spec_load_http(struct spec_ld *l, json_t *o, const char *pms_type, struct spec *s)
{
	const struct spec_vendor *v;
	struct spec_http given = { 0 }, own;
	size_t n = 0, i;
	int rc = RC_OK;

	if (o && !json_is_object(o))
		return spec_fail(l, "$.http", "expected an object like {\"timeout_ms\": 15000, \"attempts\": 4}");
	if (o)
		rc = http_check_keys(l, o, pms_type);
	if (!rc)
		rc = http_get(l, o, "$.http", &given);
	if (rc)
		return rc;
	s->http = http_builtin;
	http_over(&s->http, &given);
	rc = load_peer(l, json_object_get(o, pms_type), pms_type, NULL, &own);
	s->pms_http = s->http;
	http_over(&s->pms_http, &own);
	s->pms_http.page_size = s->pms.page_size; /* $.pms.page_size */
	while (l->vendors[n])
		n++;
	s->vendor_http = rc_calloc(n + 1, sizeof(*s->vendor_http));
	for (i = 0; !rc && i < n; i++) {
		v = l->vendors[i];
		rc = load_peer(l, json_object_get(o, v->name), v->name, v, &own);
		s->vendor_http[i] = http_builtin;
		http_over(&s->vendor_http[i], &v->http);
		http_over(&s->vendor_http[i], &given);
		http_over(&s->vendor_http[i], &own);
	}
	return rc;
}
