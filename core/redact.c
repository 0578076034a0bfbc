/* redact.c: see redact.h. Each rule marks bytes (hit: masked; keep: a
 * date or a URL's host, which the digit and token rules leave alone), then
 * each run of marked bytes is written once as "[redacted]". */
#define _GNU_SOURCE
#include "redact.h"
#include "common.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scan {
	const char *t;
	size_t n;
	unsigned char *hit;
	unsigned char *keep;
};

static bool is_dig(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_dig(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A character of a token (base64, base64url, hex, JWT); its '=' padding
 * is taken at the end only, so that "name=value" is two words. */
static bool tok_ch(char c)
{
	return is_alnum(c) || (c && strchr("+/_.-", c));
}

/* A character of a key's name ("access_token", "X-Api-Key"). */
static bool ident_ch(char c)
{
	return is_alnum(c) || c == '_' || c == '-';
}

/* Where a URL ends. */
static bool url_end(char c)
{
	return !c || is_space(c) || strchr("\"'<>`", c);
}

static bool any(const unsigned char *m, size_t from, size_t to)
{
	for (; from < to; from++)
		if (m[from])
			return true;
	return false;
}

/* The length of an ISO 8601 date, with its time if any, at t + i; 0 if
 * there is none (or it is glued to a word or more digits). */
static size_t iso_len(const char *t, size_t i)
{
	const char *p = t + i;
	size_t k, j;
	int mon, day;

	if (i && is_alnum(t[i - 1]))
		return 0;
	for (k = 0; k < 10; k++)
		if (k == 4 || k == 7 ? p[k] != '-' : !is_dig(p[k]))
			return 0;
	mon = (p[5] - '0') * 10 + (p[6] - '0');
	day = (p[8] - '0') * 10 + (p[9] - '0');
	if (mon < 1 || mon > 12 || day < 1 || day > 31)
		return 0;
	if ((p[10] == 'T' || p[10] == ' ') && is_dig(p[11]) && is_dig(p[12]) && p[13] == ':' &&
	    is_dig(p[14]) && is_dig(p[15])) {
		k = 16;
		if (p[k] == ':' && is_dig(p[k + 1]) && is_dig(p[k + 2]))
			k += 3;
		if (p[k] == '.' && is_dig(p[k + 1])) {
			for (j = k + 1; is_dig(p[j]); j++)
				;
			k = j;
		}
	}
	return is_dig(p[k]) ? 0 : k;
}

static void scan_dates(struct scan *s)
{
	size_t i = 0, k;

	while (i < s->n) {
		k = is_dig(s->t[i]) ? iso_len(s->t, i) : 0;
		if (k)
			memset(s->keep + i, 1, k);
		i += k ? k : 1;
	}
}

/* URLs: user:password@ and what follows '?' or '#' are masked, the host
 * (and its port) kept. */
static void scan_urls(struct scan *s)
{
	const char *t = s->t, *p;
	size_t a, e, h, q;

	for (p = strstr(t, "://"); p; p = strstr(p + 3, "://")) {
		if (p == t || !is_alnum(p[-1]))
			continue;
		a = (size_t)(p - t) + 3;
		for (e = a; !url_end(t[e]) && !strchr("/?#", t[e]); e++)
			;
		for (h = e; h > a && t[h - 1] != '@'; h--)
			;
		if (h > a)
			memset(s->hit + a, 1, h - 1 - a); /* user:password */
		else
			h = a;
		memset(s->keep + h, 1, e - h);
		while (!url_end(t[e]) && t[e] != '?' && t[e] != '#')
			e++;
		if (t[e] == '?' || t[e] == '#') {
			for (q = e + 1; !url_end(t[q]); q++)
				;
			memset(s->hit + e + 1, 1, q - e - 1);
		}
	}
}

static bool word_is(const char *w, size_t len, const char *x)
{
	return strlen(x) == len && !strncasecmp(w, x, len);
}

/* A key whose value is a secret: its name ends with one of these. */
static bool secret_key(const char *w, size_t len)
{
	static const char *const ends[] = { "token", "key", "password", "passwd", "pwd", "secret",
					    "code", "pin", "authorization", "signature", "credential",
					    "credentials", NULL };
	size_t i, el;

	for (i = 0; ends[i]; i++) {
		el = strlen(ends[i]);
		if (len >= el && !strncasecmp(w + len - el, ends[i], el))
			return true;
	}
	return false;
}

/* Mask the value at t + v: quoted, up to its closing quote; bare, up to a
 * space or a delimiter. */
static void mark_value(struct scan *s, size_t v)
{
	const char *t = s->t;
	char q = t[v];
	size_t e;

	if (!strncmp(t + v, "[redacted]", 10))
		return; /* masked before: the same text again (idempotent) */
	if (q == '"' || q == '\'') {
		for (e = v + 1; t[e] && t[e] != q; e++)
			if (t[e] == '\\' && t[e + 1])
				e++;
		memset(s->hit + v + 1, 1, e - v - 1);
		return;
	}
	for (e = v; t[e] && !is_space(t[e]) && !strchr(",;&)]}<>\"'", t[e]); e++)
		;
	memset(s->hit + v, 1, e - v);
}

static void scan_keys(struct scan *s)
{
	const char *t = s->t;
	size_t i = 0, j, v;

	while (i < s->n) {
		if (!ident_ch(t[i])) {
			i++;
			continue;
		}
		for (j = i; ident_ch(t[j]); j++)
			;
		v = j;
		if ((word_is(t + i, j - i, "bearer") || word_is(t + i, j - i, "basic")) && t[v] == ' ') {
			while (t[v] == ' ')
				v++;
			mark_value(s, v);
		} else if (secret_key(t + i, j - i)) {
			if (t[v] == '"' || t[v] == '\'')
				v++;
			while (t[v] == ' ')
				v++;
			if (t[v] == '=' || t[v] == ':') {
				v++;
				while (t[v] == ' ')
					v++;
				mark_value(s, v);
			}
		}
		i = j;
	}
}

static void judge_token(struct scan *s, size_t a, size_t b)
{
	bool dig = false;
	size_t k;

	if (b - a < 16 || any(s->keep, a, b))
		return;
	for (k = a; k < b && !dig; k++)
		dig = is_dig(s->t[k]);
	while (s->t[b] == '=')
		b++; /* base64 padding */
	if (dig || b - a >= 24)
		memset(s->hit + a, 1, b - a);
}

static void scan_tokens(struct scan *s)
{
	const char *t = s->t;
	size_t i = 0, j, a, b;

	while (i < s->n) {
		if (!tok_ch(t[i])) {
			i++;
			continue;
		}
		for (j = i; tok_ch(t[j]); j++)
			;
		if (t[i] != '/') {
			judge_token(s, i, j);
		} else {
			for (a = i; a < j; a = b) { /* a path: each segment */
				while (a < j && t[a] == '/')
					a++;
				for (b = a; b < j && t[b] != '/'; b++)
					;
				judge_token(s, a, b);
			}
		}
		i = j;
	}
}

static void scan_digits(struct scan *s)
{
	size_t i = 0, j;

	while (i < s->n) {
		if (!is_dig(s->t[i])) {
			i++;
			continue;
		}
		for (j = i; is_dig(s->t[j]); j++)
			;
		if (j - i >= 4 && !any(s->keep, i, j))
			memset(s->hit + i, 1, j - i);
		i = j;
	}
}

char *rc_redact_shapes(const char *text)
{
	struct scan s;
	struct rc_buf b;
	size_t k;

	if (!text)
		return NULL;
	s.t = text;
	s.n = strlen(text);
	s.hit = rc_calloc(s.n + 1, 1);
	s.keep = rc_calloc(s.n + 1, 1);
	scan_dates(&s);
	scan_urls(&s);
	scan_keys(&s);
	scan_tokens(&s);
	scan_digits(&s);
	rc_buf_init(&b);
	rc_buf_add(&b, "", 0);
	for (k = 0; k < s.n; k++) {
		if (!s.hit[k])
			rc_buf_add(&b, text + k, 1);
		else if (!k || !s.hit[k - 1])
			rc_buf_puts(&b, "[redacted]");
	}
	free(s.hit);
	free(s.keep);
	return b.p;
}

void rc_redact_shapes_buf(char *buf, size_t n)
{
	char *r;

	if (!buf || !n)
		return;
	r = rc_redact_shapes(buf);
	snprintf(buf, n, "%s", r);
	rc_free_secret(r);
	rc_utf8_scrub(buf);
}
