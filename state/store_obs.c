/*
 * store_obs.c: the observed vendor state in LMDB, one record per vendor
 * unit, and the index of the code hashes it holds.
 *
 * A unit's record is binary (version byte 0x01, then lengths as LEB128
 * varints): a plan of a site in sync reads each unit without a JSON parse,
 * and hashes stay bytes. Records written as JSON by earlier versions (they
 * start with '{') are still read; the next commit of their unit rewrites
 * them.
 *
 *   0x01 status(varint) vendor_id(str) ntenants(varint) tenant*
 *   tenant: id fn ln em ph rental extra (str) access_profile time_group
 *           (zigzag varint) flags(byte: 1 enabled, 2 code known) [hash 32]
 *   str:    varint (length + 1, 0 = NULL) then the bytes
 *
 * The index ("obsidx") makes R6's "is this code in use at the site?" one
 * lookup instead of a walk over every unit, so that a one-rental run never
 * loads the site: key "<site>\0c<hash: 32 bytes><unit name>" -> "" for the
 * codes of tenants, "<site>\0h<hash>" -> "" for the codes the vendor holds
 * for no tenant (guests, staff: obs_site.held_codes), replaced by each
 * commit of a refreshed site.
 * Writes compare the new record with the stored one and touch nothing
 * when they are equal: a commit writes what changed.
 */
#define _GNU_SOURCE
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBS_V1 0x01
#define OBS_KIND_CODE 'c'
#define OBS_KIND_HELD 'h'

/* ------------------------------------------------------------ codec */

static void put_varint(struct rc_buf *b, uint64_t x)
{
	unsigned char c[10];
	size_t n = 0;

	do {
		c[n] = (unsigned char)(x & 0x7f);
		x >>= 7;
		if (x)
			c[n] |= 0x80;
		n++;
	} while (x);
	rc_buf_add(b, c, n);
}

static void put_str(struct rc_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	put_varint(b, s ? n + 1 : 0);
	if (n)
		rc_buf_add(b, s, n);
}

static void put_long(struct rc_buf *b, long x)
{
	put_varint(b, x < 0 ? ((uint64_t)(-(x + 1)) << 1) | 1 : (uint64_t)x << 1);
}

/* Encode u into b (appended). */
static void obs_encode(const struct obs_unit *u, struct rc_buf *b)
{
	unsigned char v = OBS_V1, flags;
	size_t i;

	rc_buf_add(b, &v, 1);
	put_varint(b, (uint64_t)u->status);
	put_str(b, u->vendor_id);
	put_varint(b, u->ntenants);
	for (i = 0; i < u->ntenants; i++) {
		const struct obs_tenant *t = &u->tenants[i];

		put_str(b, t->vendor_id);
		put_str(b, t->first_name);
		put_str(b, t->last_name);
		put_str(b, t->email);
		put_str(b, t->phone);
		put_str(b, t->rental_id);
		put_str(b, t->extra);
		put_long(b, t->access_profile);
		put_long(b, t->time_group);
		flags = (unsigned char)((t->enabled ? 1 : 0) | (t->code_known ? 2 : 0));
		rc_buf_add(b, &flags, 1);
		if (t->code_known)
			rc_buf_add(b, t->code_hash, RC_HASH_LEN);
	}
}

struct rd {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t get_varint(struct rd *r)
{
	uint64_t x = 0;
	unsigned shift = 0;

	while (r->p < r->end && shift < 64) {
		unsigned char c = *r->p++;

		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return x;
		shift += 7;
	}
	r->bad = true;
	return 0;
}

/* A string into o's arena (NULL when absent or on a bad record). */
static const char *get_str(struct rd *r, struct obs_site *o)
{
	uint64_t n = get_varint(r);

	if (!n || r->bad)
		return NULL;
	n--;
	if ((uint64_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	return rc_arena_strndup(&o->arena, (const char *)r->p - n, (size_t)n);
}

static long get_long(struct rd *r)
{
	uint64_t x = get_varint(r);

	return x & 1 ? -(long)(x >> 1) - 1 : (long)(x >> 1);
}

static bool get_bytes(struct rd *r, void *out, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	memcpy(out, r->p, n);
	r->p += n;
	return true;
}

static void get_tenant(struct rd *r, struct obs_site *o, struct obs_tenant *t)
{
	unsigned char flags = 0;

	t->vendor_id = get_str(r, o);
	t->first_name = get_str(r, o);
	t->last_name = get_str(r, o);
	t->email = get_str(r, o);
	t->phone = get_str(r, o);
	t->rental_id = get_str(r, o);
	t->extra = get_str(r, o);
	t->access_profile = get_long(r);
	t->time_group = get_long(r);
	get_bytes(r, &flags, 1);
	t->enabled = flags & 1;
	t->code_known = (flags & 2) && get_bytes(r, t->code_hash, RC_HASH_LEN);
}

static int decode_v1(struct obs_site *o, const char *name, const MDB_val *v)
{
	struct rd r = { (const unsigned char *)v->mv_data + 1,
			(const unsigned char *)v->mv_data + v->mv_size, false };
	struct obs_unit *u = obs_add_unit(o, name);
	uint64_t n, i;

	u->status = (enum vu_status)get_varint(&r);
	u->vendor_id = get_str(&r, o);
	n = get_varint(&r);
	for (i = 0; i < n && !r.bad; i++)
		get_tenant(&r, o, obs_add_tenant(o, u));
	return r.bad || r.p != r.end ? -1 : 0;
}

static const char *jdup(struct obs_site *o, json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);

	return json_is_string(v) ? rc_arena_strdup(&o->arena, json_string_value(v)) : NULL;
}

/* The JSON layout of versions before the binary one. */
static int decode_json(struct obs_site *o, const char *name, const MDB_val *v)
{
	json_t *j = st_get_json(v), *x;
	struct obs_unit *u;
	size_t i;

	if (!json_is_object(j)) {
		json_decref(j);
		return -1;
	}
	u = obs_add_unit(o, name);
	u->vendor_id = jdup(o, j, "id");
	u->status = (enum vu_status)json_integer_value(json_object_get(j, "st"));
	json_array_foreach(json_object_get(j, "t"), i, x) {
		struct obs_tenant *t = obs_add_tenant(o, u);
		const char *ch = json_string_value(json_object_get(x, "ch"));

		t->vendor_id = jdup(o, x, "id");
		t->first_name = jdup(o, x, "fn");
		t->last_name = jdup(o, x, "ln");
		t->email = jdup(o, x, "em");
		t->phone = jdup(o, x, "ph");
		t->access_profile = (long)json_integer_value(json_object_get(x, "ap"));
		t->time_group = (long)json_integer_value(json_object_get(x, "tg"));
		t->enabled = json_is_true(json_object_get(x, "en"));
		t->rental_id = jdup(o, x, "r");
		t->extra = jdup(o, x, "x");
		t->code_known = ch && rc_unhex(ch, t->code_hash, RC_HASH_LEN) == 0;
	}
	json_decref(j);
	return 0;
}

/* Append the unit stored in v, named name, to o. -1: corrupt. */
static int obs_decode(struct obs_site *o, const char *name, const MDB_val *v)
{
	const unsigned char *p = v->mv_data;

	if (v->mv_size && p[0] == OBS_V1)
		return decode_v1(o, name, v);
	if (v->mv_size && p[0] == '{')
		return decode_json(o, name, v);
	return -1;
}

/* ------------------------------------------------------------ index */

/* "<site>\0c<hash><unit>" (new buffer in k). */
static void code_key(MDB_val *k, const char *site, const unsigned char *h, const char *unit)
{
	size_t un = strlen(unit);
	unsigned char *p = rc_malloc(1 + RC_HASH_LEN + un);

	p[0] = OBS_KIND_CODE;
	memcpy(p + 1, h, RC_HASH_LEN);
	memcpy(p + 1 + RC_HASH_LEN, unit, un);
	st_make_key(k, site, p, 1 + RC_HASH_LEN + un);
	free(p);
}

/* Add (or delete) the index entries of u's codes. */
static int index_unit(struct store_txn *t, const char *site, const struct obs_unit *u, bool add)
{
	MDB_val k, empty = { 0, "" };
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < u->ntenants; i++) {
		if (!u->tenants[i].code_known)
			continue;
		code_key(&k, site, u->tenants[i].code_hash, u->name);
		rc = add ? st_put(t, t->s->obsidx, &k, &empty, 0) : st_del(t, t->s->obsidx, &k);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		free(k.mv_data);
	}
	return rc;
}

/* Drop the index entries of the unit stored as old. */
static int unindex_old(struct store_txn *t, const char *site, const char *name, const MDB_val *old)
{
	struct obs_site tmp;
	int rc = 0;

	obs_site_init(&tmp, site);
	if (obs_decode(&tmp, name, old) == 0)
		rc = index_unit(t, site, &tmp.units[0], false);
	obs_site_free(&tmp);
	return rc;
}

/* "<site>\0h<hash>" (new buffer in k). */
static void held_key(MDB_val *k, const char *site, const unsigned char *h)
{
	unsigned char p[1 + RC_HASH_LEN];

	p[0] = OBS_KIND_HELD;
	memcpy(p + 1, h, RC_HASH_LEN);
	st_make_key(k, site, p, sizeof(p));
}

int store_code_in_use(struct store_txn *t, const char *site, const unsigned char h[RC_HASH_LEN],
		      bool *out, struct rc_err *err)
{
	MDB_cursor *c;
	MDB_val k, v;
	void *kp;
	size_t n;
	int rc;

	*out = false;
	held_key(&k, site, h);
	rc = mdb_get(t->txn, t->s->obsidx, &k, &v);
	free(k.mv_data);
	if (rc == 0)
		*out = true;
	if (rc != MDB_NOTFOUND)
		return rc ? st_lmdb_err(err, t->s, "read the code index", rc) : RC_OK;
	rc = mdb_cursor_open(t->txn, t->s->obsidx, &c);
	if (rc)
		return st_lmdb_err(err, t->s, "cursor", rc);
	code_key(&k, site, h, "");
	kp = k.mv_data;
	n = k.mv_size;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		*out = k.mv_size >= n && memcmp(k.mv_data, kp, n) == 0;
	free(kp);
	mdb_cursor_close(c);
	return rc && rc != MDB_NOTFOUND ? st_lmdb_err(err, t->s, "read the code index", rc) : RC_OK;
}

struct held_del_ctx {
	struct store_txn *t;
	int mrc;                     /* the LMDB error of a failed delete */
};

static int held_del_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct held_del_ctx *h = p;

	(void)v;
	if (!rest->mv_size || ((const char *)rest->mv_data)[0] != OBS_KIND_HELD)
		return 1; /* past the held keys */
	h->mrc = st_cursor_del(h->t, c);
	return h->mrc ? -1 : 0;
}

int store_observed_put_held(struct store_txn *t, const char *site, const unsigned char *hashes,
			    size_t n, struct rc_err *err)
{
	const char kind = OBS_KIND_HELD;
	MDB_val k, empty = { 0, "" };
	struct held_del_ctx h = { t, 0 };
	size_t i;
	int rc;

	/* the held keys from the first one; held_del_cb stops past the last */
	st_make_key(&k, site, &kind, 1);
	rc = st_each_prefix_from(t, t->s->obsidx, site, k.mv_data, k.mv_size, held_del_cb, &h,
				 err);
	free(k.mv_data);
	if (rc < 0 && h.mrc)
		return rc_errf(err, RC_EIO, "state %s: site %s: replacing the held codes: %s", t->s->dir,
			       site, mdb_strerror(h.mrc));
	if (rc < 0) /* a read: its message is set */
		return rc_err_prefix(err, "site %s: replacing the held codes", site);
	if (rc > 0)
		rc = 0;
	for (i = 0; !rc && i < n; i++) {
		held_key(&k, site, hashes + i * RC_HASH_LEN);
		rc = st_put(t, t->s->obsidx, &k, &empty, 0);
		free(k.mv_data);
	}
	return rc ? st_lmdb_err(err, t->s, "write the code index", rc) : RC_OK;
}

/* ------------------------------------------------------------ loads */

struct load_ctx {
	struct obs_site *out;
	struct store_txn *t;
	const char *site;
	struct rc_err *err;
};

static int corrupt(struct rc_err *err, const struct store_txn *t, const char *site,
		   const char *name)
{
	return rc_errf(err, RC_EPARSE, "state %s: observed %s/%s is corrupt; "
		       "plan without --refresh=false reads the vendor again", t->s->dir, site, name);
}

static int load_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct load_ctx *l = p;
	char *name = rc_strndup(rest->mv_data, rest->mv_size);
	int rc = 0;

	(void)c;
	if (obs_decode(l->out, name, v) != 0)
		rc = corrupt(l->err, l->t, l->site, name);
	free(name);
	return rc;
}

int store_observed_load(struct store_txn *t, const char *site,
			struct obs_site *out, struct rc_err *err)
{
	struct load_ctx l = { out, t, site, err };
	int rc = st_each_prefix(t, t->s->observed, site, load_cb, &l, err);

	if (rc)
		return rc;
	obs_site_index(out);
	return out->nunits ? RC_OK : RC_ENOTFOUND;
}

int store_observed_load_names(struct store_txn *t, const char *site, const char *const *names,
			      size_t n, struct obs_site *out, struct rc_err *err)
{
	MDB_val k, v;
	size_t i;
	int rc = RC_OK, mrc;

	for (i = 0; !rc && i < n; i++) {
		if (obs_find_unit(out, names[i]))
			continue; /* asked twice */
		st_make_key(&k, site, names[i], strlen(names[i]));
		mrc = mdb_get(t->txn, t->s->observed, &k, &v);
		free(k.mv_data);
		if (mrc == MDB_NOTFOUND)
			continue;
		if (mrc)
			rc = st_lmdb_err(err, t->s, "read observed", mrc);
		else if (obs_decode(out, names[i], &v) != 0)
			rc = corrupt(err, t, site, names[i]);
		else
			rc_map_put(&out->idx, out->units[out->nunits - 1].name, out->nunits - 1);
	}
	return rc;
}

int store_observed_any(struct store_txn *t, const char *site, bool *out, struct rc_err *err)
{
	MDB_cursor *c;
	MDB_val k, v;
	void *kp;
	int rc;

	*out = false;
	rc = mdb_cursor_open(t->txn, t->s->observed, &c);
	if (rc)
		return st_lmdb_err(err, t->s, "cursor", rc);
	st_make_key(&k, site, NULL, 0);
	kp = k.mv_data;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		*out = st_has_prefix(&k, site);
	free(kp);
	mdb_cursor_close(c);
	return rc && rc != MDB_NOTFOUND ? st_lmdb_err(err, t->s, "read observed", rc) : RC_OK;
}

/* ----------------------------------------------------------- writes */

int store_observed_put_unit(struct store_txn *t, const char *site,
			    const struct obs_unit *u, struct rc_err *err)
{
	struct rc_buf b;
	MDB_val k, v, old;
	int rc;

	rc_buf_init(&b);
	obs_encode(u, &b);
	v.mv_data = b.p;
	v.mv_size = b.len;
	st_make_key(&k, site, u->name, strlen(u->name));
	rc = mdb_get(t->txn, t->s->observed, &k, &old);
	if (rc == 0 && old.mv_size == v.mv_size && memcmp(old.mv_data, v.mv_data, v.mv_size) == 0)
		goto out; /* unchanged: no page written */
	if (rc == 0)
		rc = unindex_old(t, site, u->name, &old);
	else if (rc == MDB_NOTFOUND)
		rc = 0;
	if (!rc)
		rc = st_put(t, t->s->observed, &k, &v, 0);
	if (!rc)
		rc = index_unit(t, site, u, true);
out:
	free(k.mv_data);
	rc_buf_free(&b);
	return rc ? st_lmdb_err(err, t->s, "write observed", rc) : RC_OK;
}

struct gone_ctx {
	struct store_txn *t;
	const struct obs_site *keep;
};

/* A stored unit the site no longer has: its record and index entries go. */
static int gone_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct gone_ctx *g = p;
	char *name = rc_strndup(rest->mv_data, rest->mv_size);
	int rc = 0;

	if (!obs_find_unit(g->keep, name)) {
		rc = unindex_old(g->t, g->keep->site, name, v);
		if (!rc)
			rc = st_cursor_del(g->t, c);
		rc = rc ? -1 : 0;
	}
	free(name);
	return rc;
}

int store_observed_put_site(struct store_txn *t, const struct obs_site *o,
			    struct rc_err *err)
{
	struct gone_ctx g = { t, o };
	size_t i;
	int rc;

	rc = st_each_prefix(t, t->s->observed, o->site, gone_cb, &g, err);
	if (rc < 0)
		return rc_errf(err, RC_EIO, "state %s: cannot delete the units %s no longer has",
			       t->s->dir, o->site);
	for (i = 0; !rc && i < o->nunits; i++)
		rc = store_observed_put_unit(t, o->site, &o->units[i], err);
	return rc;
}

/* --------------------------------------------------------- backfill */

/* States written before the code index existed: index every unit once
 * (st_once runs it). */
int st_obsidx_backfill(MDB_txn *txn, struct store *s)
{
	struct store_txn t = { s, txn };
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, s->observed, &c);
	if (rc)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		size_t sn = strnlen(k.mv_data, k.mv_size);
		char *site = rc_strndup(k.mv_data, sn);
		char *name = rc_strndup((char *)k.mv_data + sn + 1,
					k.mv_size > sn ? k.mv_size - sn - 1 : 0);
		struct obs_site tmp;

		obs_site_init(&tmp, site);
		if (obs_decode(&tmp, name, &v) == 0)
			rc = index_unit(&t, site, &tmp.units[0], true);
		obs_site_free(&tmp);
		free(site);
		free(name);
		if (!rc)
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}
