/*
 * plan_jw.c: the plan's JSON writer (struct jw, plan_int.h): a 64 KiB
 * buffer, jansson dumps of small trees into it, and the direct writing of
 * the elements that come by the ten thousand, with no tree at all.
 */
#define _GNU_SOURCE
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void jw_flush(struct jw *w)
{
	if (w->n && fwrite(w->buf, 1, w->n, w->f) != w->n)
		w->rc = -1;
	w->n = 0;
}

void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->n + n > sizeof(w->buf))
		jw_flush(w);
	if (n > sizeof(w->buf)) {
		if (fwrite(s, 1, n, w->f) != n)
			w->rc = -1;
		return;
	}
	memcpy(w->buf + w->n, s, n);
	w->n += n;
}

static void jw_pad(struct jw *w, int depth)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)(w->indent * depth);

	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		jw_put(w, spaces, k);
		n -= k;
	}
}

/* jansson's dump_indent: a new line at depth, or a space after a comma
 * on one line (none with JSON_COMPACT). */
void jw_indent(struct jw *w, int depth, bool space)
{
	if (w->indent) {
		jw_put(w, "\n", 1);
		jw_pad(w, depth);
	} else if (space && !(w->flags & JSON_COMPACT)) {
		jw_put(w, " ", 1);
	}
}

/* json_dump_callback's output, each new line padded to w->depth (a
 * string never holds a raw newline: jansson escapes it). */
static int jw_cb(const char *buf, size_t size, void *data)
{
	struct jw *w = data;
	const char *nl;
	size_t n;

	if (!w->indent) { /* one line: nothing to pad */
		jw_put(w, buf, size);
		return w->rc;
	}
	while (size) {
		nl = memchr(buf, '\n', size);
		n = nl ? (size_t)(nl - buf) + 1 : size;
		jw_put(w, buf, n);
		if (nl)
			jw_pad(w, w->depth);
		buf += n;
		size -= n;
	}
	return w->rc;
}

/* Dump v (stolen) as a value at depth. */
/* One line: straight into the buffer (json_dumpb), no callback per token. */
static int jw_dumpb(struct jw *w, json_t *v)
{
	size_t flags = w->flags | JSON_ENCODE_ANY, n;

	n = json_dumpb(v, w->buf + w->n, sizeof(w->buf) - w->n, flags);
	if (n && n <= sizeof(w->buf) - w->n) {
		w->n += n;
		return 0;
	}
	jw_flush(w);
	n = json_dumpb(v, w->buf, sizeof(w->buf), flags);
	if (n && n <= sizeof(w->buf)) {
		w->n = n;
		return 0;
	}
	return json_dump_callback(v, jw_cb, w, flags); /* larger than the buffer */
}

void jw_value(struct jw *w, json_t *v, int depth)
{
	w->depth = depth;
	if (!v)
		w->rc = -1;
	else if (!w->indent ? jw_dumpb(w, v) != 0
		 : json_dump_callback(v, jw_cb, w, w->flags | JSON_ENCODE_ANY) != 0)
		w->rc = -1;
	json_decref(v);
}


/* ------------------------------------------------------ direct writing */

bool jw_direct(const struct jw *w)
{
	return !(w->flags & ~(size_t)(JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII |
				      JSON_ESCAPE_SLASH));
}

void jw_open(struct jw *w, char c)
{
	jw_put(w, &c, 1);
	if (w->lvl < (int)sizeof(w->first))
		w->first[w->lvl] = true;
	w->lvl++;
}

void jw_close(struct jw *w, char c)
{
	w->lvl--;
	jw_put(w, &c, 1);
}

/* A comma before every member or element but the first. */
static void jw_sep(struct jw *w)
{
	int at = w->lvl - 1 < (int)sizeof(w->first) ? w->lvl - 1 : (int)sizeof(w->first) - 1;
	bool *first = &w->first[at];

	if (!*first)
		jw_put(w, (w->flags & JSON_COMPACT) ? "," : ", ", (w->flags & JSON_COMPACT) ? 1 : 2);
	*first = false;
}

static void put_cb(void *ctx, const char *p, size_t n)
{
	jw_put(ctx, p, n);
}

void jw_key(struct jw *w, const char *k)
{
	jw_sep(w);
	jw_str(w, k);
	jw_put(w, (w->flags & JSON_COMPACT) ? ":" : ": ", (w->flags & JSON_COMPACT) ? 1 : 2);
}

void jw_elem(struct jw *w)
{
	jw_sep(w);
}

/* A string with nothing to escape (the usual case), quoted straight into
 * the buffer; any other through plan_json_str. */
void jw_str(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (!(w->flags & (JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH))) {
		while (*p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		n = (size_t)(p - (const unsigned char *)s);
		if (!*p && w->n + n + 2 <= sizeof(w->buf)) {
			w->buf[w->n] = '"';
			memcpy(w->buf + w->n + 1, s, n);
			w->buf[w->n + n + 1] = '"';
			w->n += n + 2;
			return;
		}
	}
	plan_json_str(s, w->flags, put_cb, w);
}

void jw_int(struct jw *w, long long i)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lld", i);

	jw_put(w, b, (size_t)n);
}

void jw_bool(struct jw *w, bool b)
{
	jw_raw(w, b ? "true" : "false");
}

void jw_raw(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

void jw_kstr(struct jw *w, const char *k, const char *s)
{
	if (!s)
		return;
	jw_key(w, k);
	jw_str(w, s);
}

void jw_kint(struct jw *w, const char *k, long long i)
{
	jw_key(w, k);
	jw_int(w, i);
}

/* ------------------------------------------------------------ spills */

int spill_open(struct spill *s)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	memset(s, 0, sizeof(*s));
	path = rc_sprintf("%s/reconcile-plan-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path); /* 0600 */
	if (fd >= 0) {
		unlink(path);
		s->f = fdopen(fd, "w+");
		if (!s->f)
			close(fd);
	}
	free(path);
	if (!s->f)
		s->f = open_memstream(&s->mem, &s->nmem);
	return s->f ? 0 : -1;
}

int spill_drain(struct spill *s, FILE *to)
{
	char buf[1 << 16];
	size_t n;
	int rc = fflush(s->f) != 0 || ferror(s->f) ? -1 : 0;

	if (!rc && s->mem) {
		if (s->nmem && fwrite(s->mem, 1, s->nmem, to) != s->nmem)
			rc = -1;
	} else if (!rc) {
		rewind(s->f);
		while ((n = fread(buf, 1, sizeof(buf), s->f)) > 0)
			if (fwrite(buf, 1, n, to) != n) {
				rc = -1;
				break;
			}
		if (ferror(s->f))
			rc = -1;
	}
	spill_close(s);
	return rc;
}

void spill_close(struct spill *s)
{
	if (s->f)
		fclose(s->f);
	free(s->mem);
	memset(s, 0, sizeof(*s));
}
