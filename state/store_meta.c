/* store_meta.c: what the state keeps beside sites' records: Retry-After
 * deadlines by host, and R10's hour of vacates per site. See store.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

int store_wait_put(struct store_txn *t, const char *host, double until, struct rc_err *err)
{
	char text[32];
	MDB_val k, v;
	int rc;

	snprintf(text, sizeof(text), "%.0f", until);
	st_make_key(&k, "wait", host, strlen(host));
	v.mv_data = text;
	v.mv_size = strlen(text);
	if (until < (double)time(NULL)) {
		rc = mdb_del(t->txn, t->s->meta, &k, NULL); /* past: forgotten */
		rc = rc == MDB_NOTFOUND ? 0 : rc;
	} else {
		rc = mdb_put(t->txn, t->s->meta, &k, &v, 0);
	}
	free(k.mv_data);
	return rc ? st_lmdb_err(err, t->s, "write a Retry-After deadline", rc) : RC_OK;
}

struct wait_ctx {
	void (*fn)(const char *host, double until, void *p);
	void *p;
};

static int wait_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct wait_ctx *w = p;
	char *host = rc_strndup(rest->mv_data, rest->mv_size);
	char *text = rc_strndup(v->mv_data, v->mv_size);

	(void)c;
	w->fn(host, strtod(text, NULL), w->p);
	free(host);
	free(text);
	return 0;
}

int store_wait_each(struct store_txn *t, void (*fn)(const char *host, double until, void *p),
		    void *p, struct rc_err *err)
{
	struct wait_ctx w = { fn, p };

	return st_each_prefix(t, t->s->meta, "wait", wait_cb, &w, err);
}

/* ---------------------------------------------------------------- R10 */

#define R10_MAX_MARKS 4096

/* The site's marks (unix seconds, 8 bytes BE each), in time order. */
static size_t marks_get(struct store_txn *t, const char *site, uint64_t *out, size_t cap)
{
	MDB_val k, v;
	size_t n = 0, i;

	st_make_key(&k, "r10", site, strlen(site));
	if (mdb_get(t->txn, t->s->meta, &k, &v) == 0)
		for (i = 0; i + 8 <= v.mv_size && n < cap; i += 8)
			out[n++] = st_be_u64((const unsigned char *)v.mv_data + i);
	free(k.mv_data);
	return n;
}

static int marks_put(struct store_txn *t, const char *site, const uint64_t *m, size_t n,
		     struct rc_err *err)
{
	unsigned char *buf = rc_calloc(n + 1, 8);
	MDB_val k, v = { n * 8, buf };
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		st_u64_be(m[i], buf + 8 * i);
	st_make_key(&k, "r10", site, strlen(site));
	rc = n ? st_put(t, t->s->meta, &k, &v, 0) : st_del(t, t->s->meta, &k);
	free(k.mv_data);
	free(buf);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	return rc ? st_lmdb_err(err, t->s, "write R10 marks", rc) : RC_OK;
}

int st_r10_mark(struct store_txn *t, const char *site, bool add, struct rc_err *err)
{
	uint64_t *m = rc_calloc(R10_MAX_MARKS + 1, sizeof(*m));
	uint64_t now = (uint64_t)time(NULL);
	size_t n = marks_get(t, site, m, R10_MAX_MARKS), k = 0, i;
	int rc;

	while (k < n && m[k] + STORE_R10_WINDOW_S <= now)
		k++; /* older than the hour: forgotten */
	for (i = k; i < n; i++)
		m[i - k] = m[i];
	n -= k;
	if (add && n < R10_MAX_MARKS)
		m[n++] = now;
	else if (!add && n)
		n--; /* the latest: the failed call's own */
	rc = marks_put(t, site, m, n, err);
	free(m);
	return rc;
}

int store_r10_count(struct store_txn *t, const char *site, time_t now, unsigned *out,
		    struct rc_err *err)
{
	uint64_t *m = rc_calloc(R10_MAX_MARKS, sizeof(*m));
	size_t n = marks_get(t, site, m, R10_MAX_MARKS), i;

	(void)err;
	*out = 0;
	for (i = 0; i < n; i++)
		if (m[i] + STORE_R10_WINDOW_S > (uint64_t)now)
			(*out)++;
	free(m);
	return RC_OK;
}
