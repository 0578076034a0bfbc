/* jscan.c: see jscan.h. */
#define _GNU_SOURCE
#include "jscan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void jscan_init(struct jscan *s, int fd, size_t chunk)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->chunk = chunk ? chunk : JSCAN_CHUNK;
	rc_buf_init(&s->key);
}

void jscan_free(struct jscan *s)
{
	free(s->buf);
	rc_buf_free(&s->key);
	memset(s, 0, sizeof(*s));
}

uint64_t jscan_offset(const struct jscan *s)
{
	return s->base + s->pos;
}

uint64_t jscan_err_offset(const struct jscan *s)
{
	return s->err_off;
}

static int fail(struct jscan *s, size_t at, const char *what, struct rc_err *err)
{
	s->err_off = s->base + at;
	return rc_errf(err, RC_EPARSE, "%s", what);
}

/* Read more: bytes before pos are dropped (what is being scanned starts at
 * pos, so it stays whole), the buffer grows only when pos is 0 and it is
 * full. 1 when bytes were added, 0 at the end of the file. */
static int more(struct jscan *s, struct rc_err *err)
{
	ssize_t got;

	if (s->eof)
		return 0;
	if (s->pos) {
		memmove(s->buf, s->buf + s->pos, s->len - s->pos);
		s->base += s->pos;
		s->len -= s->pos;
		s->pos = 0;
	}
	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : s->chunk;
		s->buf = rc_realloc(s->buf, s->cap);
	}
	do
		got = read(s->fd, s->buf + s->len, s->cap - s->len);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		s->err_off = s->base + s->len;
		return rc_errf(err, RC_EIO, "read: %s", strerror(errno));
	}
	if (!got) {
		s->eof = true;
		return 0;
	}
	s->len += (size_t)got;
	return 1;
}

int jscan_seek(struct jscan *s, uint64_t off, struct rc_err *err)
{
	if (lseek(s->fd, (off_t)off, SEEK_SET) < 0) {
		s->err_off = off;
		return rc_errf(err, RC_EIO, "seek: %s", strerror(errno));
	}
	s->base = off;
	s->pos = s->len = 0;
	s->eof = false;
	return RC_OK;
}

int jscan_peek(struct jscan *s, int *c, struct rc_err *err)
{
	int rc;

	for (;;) {
		while (s->pos < s->len) {
			switch (s->buf[s->pos]) {
			case ' ': case '\t': case '\n': case '\r':
				s->pos++;
				continue;
			default:
				*c = (unsigned char)s->buf[s->pos];
				return RC_OK;
			}
		}
		rc = more(s, err);
		if (rc < 0)
			return rc;
		if (!rc) {
			*c = -1;
			return RC_OK;
		}
	}
}

static bool scalar_end(char c)
{
	return c == ',' || c == ']' || c == '}' || c == ':' ||
	       c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The value starting at pos (a non-blank byte): *n its length. Strings
 * and brackets are followed; a scalar (number, true, false, null) ends at
 * a delimiter. The file ending first is RC_EPARSE. */
static int scan(struct jscan *s, size_t *n, struct rc_err *err)
{
	size_t k = 0, depth = 0;
	bool str = false, esc = false, scalar;
	char c = s->buf[s->pos];
	int rc;

	scalar = c != '{' && c != '[' && c != '"';
	if (scalar && !strchr("-0123456789tfn", c))
		return fail(s, s->pos, "expected a value", err);
	for (;;) {
		const char *b = s->buf + s->pos;
		size_t avail = s->len - s->pos;

		for (; k < avail; k++) {
			c = b[k];
			if (scalar) {
				if (scalar_end(c)) {
					*n = k;
					return RC_OK;
				}
			} else if (str) {
				if (esc)
					esc = false;
				else if (c == '\\')
					esc = true;
				else if (c == '"') {
					str = false;
					if (!depth) {
						*n = k + 1;
						return RC_OK;
					}
				}
			} else if (c == '"') {
				str = true;
			} else if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (!--depth) {
					*n = k + 1;
					return RC_OK;
				}
			}
		}
		rc = more(s, err);
		if (rc < 0)
			return rc;
		if (!rc)
			return fail(s, s->len, "the text ends inside a value (a truncated file?)", err);
	}
}

static int expect_value(struct jscan *s, struct jscan_span *v, struct rc_err *err)
{
	size_t n;
	int c, rc;

	rc = jscan_peek(s, &c, err);
	if (rc)
		return rc;
	if (c < 0)
		return fail(s, s->len, "expected a value: the text ends (a truncated file?)", err);
	rc = scan(s, &n, err);
	if (rc)
		return rc;
	v->p = s->buf + s->pos;
	v->len = n;
	v->off = s->base + s->pos;
	s->pos += n;
	return RC_OK;
}

int jscan_value(struct jscan *s, struct jscan_span *v, struct rc_err *err)
{
	return expect_value(s, v, err);
}

int jscan_open(struct jscan *s, char open, struct rc_err *err)
{
	int c, rc = jscan_peek(s, &c, err);

	if (rc)
		return rc;
	if (c != open)
		return fail(s, s->pos, open == '{' ? "expected an object" : "expected an array", err);
	s->pos++;
	return RC_OK;
}

/* Before the next item of a container closing with close: 1 when there is
 * one (the ',' consumed), 0 when it closes (consumed). */
static int next_item(struct jscan *s, size_t i, char close, struct rc_err *err)
{
	int c, rc = jscan_peek(s, &c, err);

	if (rc)
		return rc;
	if (c < 0)
		return fail(s, s->len, "the text ends early (a truncated file?)", err);
	if (c == close) {
		s->pos++;
		return 0;
	}
	if (!i)
		return 1;
	if (c != ',')
		return fail(s, s->pos, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'",
			    err);
	s->pos++;
	rc = jscan_peek(s, &c, err);
	if (!rc && c == close)
		return fail(s, s->pos, "a ',' before the end", err);
	return rc ? rc : 1;
}

int jscan_member(struct jscan *s, size_t *i, struct jscan_span *key, struct rc_err *err)
{
	int c, rc = next_item(s, *i, '}', err);

	if (rc <= 0)
		return rc;
	rc = jscan_peek(s, &c, err);
	if (!rc && c != '"')
		return fail(s, c < 0 ? s->len : s->pos, "expected a key (a string)", err);
	if (!rc)
		rc = expect_value(s, key, err);
	if (rc)
		return rc;
	/* the key is copied: the buffer may move before the value is read */
	s->key.len = 0;
	rc_buf_add(&s->key, key->p, key->len);
	key->p = s->key.p;
	rc = jscan_peek(s, &c, err);
	if (rc)
		return rc;
	if (c != ':')
		return fail(s, c < 0 ? s->len : s->pos, "expected ':' after the key", err);
	s->pos++;
	(*i)++;
	return 1;
}

int jscan_element(struct jscan *s, size_t *i, struct jscan_span *v, struct rc_err *err)
{
	int rc = next_item(s, *i, ']', err);

	if (rc <= 0)
		return rc;
	rc = expect_value(s, v, err);
	if (rc)
		return rc;
	(*i)++;
	return 1;
}

int jscan_finish(struct jscan *s, struct rc_err *err)
{
	int c, rc = jscan_peek(s, &c, err);

	if (rc)
		return rc;
	if (c >= 0)
		return fail(s, s->pos, "bytes after the end of the JSON text", err);
	return RC_OK;
}
