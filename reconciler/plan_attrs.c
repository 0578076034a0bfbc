/*
 * plan_attrs.c: a resource change's before and after as flat attribute
 * lists in the site plan's arena (see struct rattrs in plan.h), and the
 * JSON string escaping that the text and JSON renderings share.
 *
 * The lists replace a jansson object per before/after/mask: at 100k units
 * those trees were most of the plan's memory, and dumping and freeing them
 * most of --json's time. jansson is still what the rare parts use (a
 * vendor's raw value kept as AV_JSON; plan_to_json, the tests' reference).
 */
#define _GNU_SOURCE
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The slot of key in o (appended when absent: grown in the arena, the
 * old array left there, a few dozen bytes). */
static struct rattr *slot(struct site_plan *sp, struct rattrs *o, const char *key)
{
	struct rattr *a;
	unsigned i;

	o->set = true;
	for (i = 0; i < o->n; i++)
		if (!strcmp(o->a[i].key, key)) {
			if (o->a[i].kind == AV_JSON)
				json_decref(o->a[i].v.j);
			o->a[i].kind = AV_NULL;
			return &o->a[i];
		}
	if (o->n == o->cap) {
		unsigned cap = o->cap ? 2 * o->cap : 4;

		a = rc_arena_alloc(&sp->arena, cap * sizeof(*a));
		if (o->n)
			memcpy(a, o->a, o->n * sizeof(*a));
		o->a = a;
		o->cap = cap;
	}
	a = &o->a[o->n++];
	memset(a, 0, sizeof(*a));
	a->key = key;
	return a;
}

void ra_object(struct site_plan *sp, struct rattrs *o, unsigned cap_hint)
{
	o->set = true;
	if (cap_hint > o->cap && !o->n) {
		o->a = rc_arena_alloc(&sp->arena, cap_hint * sizeof(*o->a));
		o->cap = cap_hint;
	}
}

void ra_str(struct site_plan *sp, struct rattrs *o, const char *key, const char *s)
{
	struct rattr *a = slot(sp, o, key);

	a->kind = AV_STR;
	a->v.s = s;
}

void ra_int(struct site_plan *sp, struct rattrs *o, const char *key, long long i)
{
	struct rattr *a = slot(sp, o, key);

	a->kind = AV_INT;
	a->v.i = i;
}

void ra_bool(struct site_plan *sp, struct rattrs *o, const char *key, bool b)
{
	struct rattr *a = slot(sp, o, key);

	a->kind = AV_BOOL;
	a->v.i = b;
}

void ra_null(struct site_plan *sp, struct rattrs *o, const char *key)
{
	slot(sp, o, key)->kind = AV_NULL;
}

void ra_json(struct site_plan *sp, struct rattrs *o, const char *key, json_t *v)
{
	if (!v || json_is_null(v))
		ra_null(sp, o, key);
	else if (json_is_string(v))
		ra_str(sp, o, key, sp_str(sp, json_string_value(v)));
	else if (json_is_integer(v))
		ra_int(sp, o, key, (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		ra_bool(sp, o, key, json_is_true(v));
	else {
		struct rattr *a = slot(sp, o, key);

		a->kind = AV_JSON;
		a->v.j = v;
		return; /* kept */
	}
	json_decref(v);
}

void ra_mark_sensitive(struct rattrs *o, const char *key)
{
	unsigned i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->a[i].key, key))
			o->a[i].sensitive = true;
}

void ra_update(struct site_plan *sp, struct rattrs *dst, const struct rattrs *src,
	       bool missing_only)
{
	unsigned i;

	dst->set = true;
	for (i = 0; i < src->n; i++) {
		const struct rattr *s = &src->a[i];
		struct rattr *d;
		bool sens;

		if (missing_only && ra_get(dst, s->key))
			continue;
		d = slot(sp, dst, s->key);
		sens = d->sensitive || s->sensitive;
		*d = *s;
		d->sensitive = sens;
		if (s->kind == AV_JSON)
			json_incref(s->v.j);
	}
}

const struct rattr *ra_get(const struct rattrs *o, const char *key)
{
	unsigned i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->a[i].key, key))
			return &o->a[i];
	return NULL;
}

const char *ra_get_str(const struct rattrs *o, const char *key)
{
	const struct rattr *a = ra_get(o, key);

	return a && a->kind == AV_STR ? a->v.s : NULL;
}

bool ra_sensitive(const struct rattrs *o, const char *key)
{
	const struct rattr *a = ra_get(o, key);

	return a && a->sensitive;
}

bool ra_equal(const struct rattr *a, const struct rattr *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case AV_NULL: return true;
	case AV_STR: return !strcmp(a->v.s, b->v.s);
	case AV_JSON: return json_equal(a->v.j, b->v.j);
	default: return a->v.i == b->v.i;
	}
}

static json_t *attr_json(const struct rattr *a)
{
	switch (a->kind) {
	case AV_STR: return json_string(a->v.s);
	case AV_INT: return json_integer((json_int_t)a->v.i);
	case AV_BOOL: return json_boolean(a->v.i);
	case AV_JSON: return json_incref(a->v.j);
	default: return json_null();
	}
}

json_t *ra_to_json(const struct rattrs *o)
{
	json_t *j;
	unsigned i;

	if (!o->set)
		return json_null();
	j = json_object();
	for (i = 0; i < o->n; i++)
		json_object_set_new(j, o->a[i].key, attr_json(&o->a[i]));
	return j;
}

void ra_free(struct rattrs *o)
{
	unsigned i;

	for (i = 0; i < o->n; i++)
		if (o->a[i].kind == AV_JSON)
			json_decref(o->a[i].v.j);
	memset(o, 0, sizeof(*o));
}

/* ---------------------------------------------------------- escaping */

/* The code point at *p (valid UTF-8), *p moved past it. */
static unsigned utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned c = s[0];

	if (c < 0x80) {
		*p += 1;
		return c;
	}
	if (c < 0xE0) {
		*p += 2;
		return ((c & 0x1F) << 6) | (s[1] & 0x3F);
	}
	if (c < 0xF0) {
		*p += 3;
		return ((c & 0x0F) << 12) | ((unsigned)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
	}
	*p += 4;
	return ((c & 0x07) << 18) | ((unsigned)(s[1] & 0x3F) << 12) |
	       ((unsigned)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* jansson's dump_string: the same escapes, hex in capitals. */
void plan_json_str(const char *s, size_t flags,
		   void (*put)(void *ctx, const char *p, size_t n), void *ctx)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	bool ascii = flags & JSON_ENSURE_ASCII, slash = flags & JSON_ESCAPE_SLASH;
	char seq[16];
	const char *esc;
	unsigned c;

	put(ctx, "\"", 1);
	while (*p) {
		if (!slash && !ascii) { /* the usual flags: three tests a byte */
			while (*p >= 0x20 && *p != '"' && *p != '\\')
				p++;
			if (!*p)
				break;
		} else if (*p >= 0x20 && *p != '"' && *p != '\\' && !(slash && *p == '/') &&
			   !(ascii && *p >= 0x80)) {
			p++;
			continue;
		}
		if (p > run)
			put(ctx, (const char *)run, (size_t)(p - run));
		c = utf8_next(&p);
		run = p;
		esc = seq;
		switch (c) {
		case '\\': esc = "\\\\"; break;
		case '"': esc = "\\\""; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '/': esc = "\\/"; break;
		default:
			if (c < 0x10000) {
				snprintf(seq, sizeof(seq), "\\u%04X", c);
			} else {
				c -= 0x10000;
				snprintf(seq, sizeof(seq), "\\u%04X\\u%04X", 0xD800 | ((c & 0xffc00) >> 10),
					 0xDC00 | (c & 0x003ff));
			}
		}
		put(ctx, esc, strlen(esc));
	}
	if (p > run)
		put(ctx, (const char *)run, (size_t)(p - run));
	put(ctx, "\"", 1);
}

static void buf_put(void *ctx, const char *p, size_t n)
{
	rc_buf_add(ctx, p, n);
}

void plan_json_str_buf(const char *s, size_t flags, struct rc_buf *out)
{
	plan_json_str(s, flags, buf_put, out);
}

void ra_value_text(const struct rattr *a, struct rc_buf *out)
{
	char *s, num[24];
	int n;

	switch (a->kind) {
	case AV_STR:
		plan_json_str_buf(a->v.s, 0, out);
		break;
	case AV_INT:
		n = snprintf(num, sizeof(num), "%lld", a->v.i);
		rc_buf_add(out, num, (size_t)n);
		break;
	case AV_BOOL:
		rc_buf_puts(out, a->v.i ? "true" : "false");
		break;
	case AV_JSON:
		s = json_dumps(a->v.j, JSON_ENCODE_ANY | JSON_COMPACT);
		rc_buf_puts(out, s ? s : "?");
		free(s);
		break;
	default:
		rc_buf_puts(out, "null");
	}
}
