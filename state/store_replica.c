/*
 * store_replica.c: the change log of a write transaction and what a
 * replica is handed (store_replica.h); the seed and the rebuild of a
 * shard's sites.
 */
#define _GNU_SOURCE
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

/* meta's site-keyed records ("<word>\0<site>"); the others are not per site */
static const char *const meta_words[] = { "gen", "site", "jseq", "r10" };
#define NMETA (sizeof(meta_words) / sizeof(meta_words[0]))

void store_changes_clear(struct store_changes *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++) {
		free(cs->c[i].site);
		free(cs->c[i].key);
		free(cs->c[i].val);
	}
	free(cs->c);
	memset(cs, 0, sizeof(*cs));
}

void store_changes_add(struct store_changes *cs, const char *db, const char *site, const void *key,
		       size_t klen, const void *val, size_t vlen)
{
	struct store_change *c = RC_PUSH(cs->c, cs->n, cs->cap);

	c->db = db;
	c->site = rc_strdup(site);
	c->key = rc_malloc(klen ? klen : 1);
	memcpy(c->key, key, klen);
	c->klen = klen;
	c->del = val == NULL;
	c->val = NULL;
	c->vlen = 0;
	if (val) {
		c->val = rc_malloc(vlen ? vlen : 1);
		memcpy(c->val, val, vlen);
		c->vlen = vlen;
	}
}

const char *store_replica_db(const char *name)
{
	static const char *const dbs[] = { "observed", "obsidx", "pmslast", "journal", "jopen", "meta" };
	size_t i;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (!strcmp(name, dbs[i]))
			return dbs[i];
	return NULL;
}

/* The per-site database named db (0 and false: none). */
static bool dbi_of(const struct store *s, const char *db, MDB_dbi *out)
{
	const MDB_dbi d[] = { s->observed, s->obsidx, s->pmslast, s->journal, s->jopen, s->meta };
	const char *const n[] = { "observed", "obsidx", "pmslast", "journal", "jopen", "meta" };
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		if (!strcmp(db, n[i])) {
			*out = d[i];
			return true;
		}
	return false;
}

/* Is k of dbi a per-site record? Its database's name and its site
 * (new) then. */
static bool per_site(const struct store *s, MDB_dbi dbi, const MDB_val *k, const char **db,
		     char **site)
{
	const char *p = k->mv_data, *nul = memchr(p, '\0', k->mv_size);
	size_t i, n;

	if (!nul || nul == p)
		return false;
	n = (size_t)(nul - p);
	if (dbi == s->meta) {
		for (i = 0; i < NMETA; i++)
			if (strlen(meta_words[i]) == n && !memcmp(p, meta_words[i], n))
				break;
		if (i == NMETA || n + 1 == k->mv_size)
			return false;
		*db = "meta";
		*site = rc_strndup(nul + 1, k->mv_size - n - 1);
		return true;
	}
	if (dbi == s->observed)
		*db = "observed";
	else if (dbi == s->obsidx)
		*db = "obsidx";
	else if (dbi == s->pmslast)
		*db = "pmslast";
	else if (dbi == s->journal)
		*db = "journal";
	else if (dbi == s->jopen)
		*db = "jopen";
	else
		return false;
	*site = rc_strndup(p, n);
	return true;
}

static void record(struct store_txn *t, MDB_dbi dbi, const MDB_val *k, const MDB_val *v)
{
	const char *db;
	char *site;

	if (!t->log || !per_site(t->s, dbi, k, &db, &site))
		return;
	store_changes_add(t->log, db, site, k->mv_data, k->mv_size, v ? v->mv_data : NULL,
			  v ? v->mv_size : 0);
	free(site);
}

int st_put(struct store_txn *t, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags)
{
	int rc = mdb_put(t->txn, dbi, k, v, flags);

	if (!rc)
		record(t, dbi, k, v);
	return rc;
}

int st_del(struct store_txn *t, MDB_dbi dbi, MDB_val *k)
{
	int rc = mdb_del(t->txn, dbi, k, NULL);

	if (!rc)
		record(t, dbi, k, NULL);
	return rc;
}

int st_cursor_del(struct store_txn *t, MDB_cursor *c)
{
	MDB_val k, v, copy = { 0, NULL };
	int rc = 0;

	if (t->log) { /* the key, before LMDB lets go of it */
		rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
		if (rc)
			return rc;
		copy.mv_size = k.mv_size;
		copy.mv_data = rc_malloc(k.mv_size ? k.mv_size : 1);
		memcpy(copy.mv_data, k.mv_data, k.mv_size);
	}
	rc = mdb_cursor_del(c, 0);
	if (!rc && t->log)
		record(t, mdb_cursor_dbi(c), &copy, NULL);
	free(copy.mv_data);
	return rc;
}

struct store_changes *st_log_new(const struct store *s)
{
	return s->replica.publish ? rc_calloc(1, sizeof(struct store_changes)) : NULL;
}

void st_log_free(struct store_changes *log)
{
	if (!log)
		return;
	store_changes_clear(log);
	free(log);
}

void st_log_truncate(struct store_changes *log, size_t n)
{
	struct store_changes tail;

	if (!log || log->n <= n)
		return;
	tail.c = log->c + n;
	tail.n = log->n - n;
	for (size_t i = 0; i < tail.n; i++) {
		free(tail.c[i].site);
		free(tail.c[i].key);
		free(tail.c[i].val);
	}
	log->n = n;
}

int st_publish(struct store *s, const struct store_changes *log, struct rc_err *err)
{
	if (!log || !log->n || !s->replica.publish)
		return RC_OK;
	return s->replica.publish(s->replica.arg, log->c, log->n, err);
}

void store_set_replica(struct store *s, const struct store_replica *r)
{
	if (r)
		s->replica = *r;
	else
		memset(&s->replica, 0, sizeof(s->replica));
}

bool store_replica_owns(const struct store *s, const char *site)
{
	return !s->replica.owns || s->replica.owns(s->replica.arg, site);
}

/* ------------------------------------------------ seed and rebuild */

struct collect_ctx {
	struct store_changes *out;
	const char *db, *site;
};

static int collect_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct collect_ctx *cc = p;
	MDB_val k, dummy;
	int rc = mdb_cursor_get(c, &k, &dummy, MDB_GET_CURRENT);

	(void)rest;
	if (rc)
		return -1;
	store_changes_add(cc->out, cc->db, cc->site, k.mv_data, k.mv_size, v->mv_data, v->mv_size);
	return 0;
}

/* One site's records into out. */
static int collect_site(struct store_txn *t, const char *site, struct store_changes *out,
			struct rc_err *err)
{
	const char *const dbs[] = { "observed", "obsidx", "pmslast", "journal", "jopen" };
	struct collect_ctx cc = { out, NULL, site };
	MDB_dbi dbi;
	MDB_val k, v;
	size_t i;
	int rc = RC_OK;

	for (i = 0; !rc && i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		cc.db = dbs[i];
		dbi_of(t->s, dbs[i], &dbi);
		rc = st_each_prefix(t, dbi, site, collect_cb, &cc, err);
		if (rc < 0)
			rc = rc_errf(err, RC_EIO, "state %s: site %s: reading %s", t->s->dir, site, dbs[i]);
	}
	for (i = 0; !rc && i < NMETA; i++) {
		st_make_key(&k, meta_words[i], site, strlen(site));
		rc = mdb_get(t->txn, t->s->meta, &k, &v);
		if (!rc)
			store_changes_add(out, "meta", site, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
		free(k.mv_data);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		else if (rc)
			rc = st_lmdb_err(err, t->s, "read meta", rc);
	}
	return rc;
}

int store_replica_collect(struct store *s, const char *const *sites, size_t n,
			  struct store_changes *out, struct rc_err *err)
{
	struct store_txn *t = NULL;
	size_t i;
	int rc = store_txn_begin(s, false, &t, err);

	for (i = 0; !rc && i < n; i++)
		rc = collect_site(t, sites[i], out, err);
	store_txn_abort(t);
	return rc;
}

static int drop_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	(void)rest;
	(void)v;
	(void)p;
	return mdb_cursor_del(c, 0) ? -1 : 0;
}

/* Every record of site in the per-site databases goes (not recorded). */
static int drop_site(struct store_txn *t, const char *site, struct rc_err *err)
{
	const char *const dbs[] = { "observed", "obsidx", "pmslast", "journal", "jopen" };
	MDB_dbi dbi;
	MDB_val k;
	size_t i;
	int rc = RC_OK;

	for (i = 0; !rc && i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		dbi_of(t->s, dbs[i], &dbi);
		rc = st_each_prefix(t, dbi, site, drop_cb, NULL, err);
		if (rc < 0)
			rc = rc_errf(err, RC_EIO, "state %s: site %s: clearing %s", t->s->dir, site, dbs[i]);
	}
	for (i = 0; !rc && i < NMETA; i++) {
		st_make_key(&k, meta_words[i], site, strlen(site));
		rc = mdb_del(t->txn, t->s->meta, &k, NULL);
		free(k.mv_data);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		else if (rc)
			rc = st_lmdb_err(err, t->s, "clear meta", rc);
	}
	return rc;
}

int store_replica_replace(struct store *s, const char *const *sites, size_t n,
			  const struct store_change *c, size_t nc, struct rc_err *err)
{
	struct store_txn *t = NULL;
	MDB_val k, v;
	MDB_dbi dbi;
	size_t i;
	int rc = store_txn_begin(s, true, &t, err);

	if (rc)
		return rc;
	st_log_free(t->log); /* what the replica holds already: not handed back */
	t->log = NULL;
	for (i = 0; !rc && i < n; i++)
		rc = drop_site(t, sites[i], err);
	for (i = 0; !rc && i < nc; i++) {
		if (c[i].del || !dbi_of(s, c[i].db, &dbi))
			continue;
		k.mv_data = c[i].key;
		k.mv_size = c[i].klen;
		v.mv_data = c[i].val;
		v.mv_size = c[i].vlen;
		rc = mdb_put(t->txn, dbi, &k, &v, 0);
		if (rc)
			rc = st_lmdb_err(err, s, "write a record of the replica", rc);
	}
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t, err);
}
