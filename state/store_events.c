/* store_events.c: serve's webhook events, in an LMDB environment of their
 * own (events.mdb beside data.mdb; store.h): stored once each (a repeat
 * is a duplicate), by age for retention. */
#define _GNU_SOURCE
#include "store_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* evtime key: when (8 bytes BE) then the id, so a cursor walks oldest first. */
static void evtime_key(MDB_val *k, uint64_t when, const char *id)
{
	size_t n = strlen(id);
	unsigned char *p = rc_malloc(8 + n);

	st_u64_be(when, p);
	memcpy(p + 8, id, n);
	k->mv_data = p;
	k->mv_size = 8 + n;
}

struct event_job {
	const char *id, *json;
};

static int event_fn(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct event_job *e = arg;
	MDB_val k = { strlen(e->id), (void *)e->id }, v = { strlen(e->json), (void *)e->json };
	MDB_val tk, empty = { 0, "" };
	int rc;

	rc = mdb_put(t->txn, t->s->events, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return rc_errf(err, RC_EEXIST, "event %s was received before", e->id);
	if (!rc) {
		evtime_key(&tk, (uint64_t)time(NULL), e->id);
		rc = mdb_put(t->txn, t->s->evtime, &tk, &empty, 0);
		free(tk.mv_data);
	}
	return rc ? st_lmdb_err(err, t->s, "store event", rc) : RC_OK;
}

int store_event_put(struct store *s, const char *id, const char *json,
		    struct rc_err *err)
{
	struct event_job e = { id, json };

	return st_write(s, STORE_LANE_EVENTS, event_fn, &e, err);
}

void *store_event_job(const char *id, const char *json, struct store_job *j)
{
	struct event_job *e = rc_calloc(1, sizeof(*e) + strlen(id) + 1);

	e->id = memcpy((char *)(e + 1), id, strlen(id) + 1);
	e->json = json;
	memset(j, 0, sizeof(*j));
	j->fn = event_fn;
	j->arg = e;
	j->lane = STORE_LANE_EVENTS;
	return e;
}

int st_events_backfill(MDB_txn *txn, struct store *s)
{
	MDB_stat ev, tm;
	MDB_cursor *c;
	MDB_val k, v, tk, empty = { 0, "" };
	uint64_t now = (uint64_t)time(NULL);
	char *id;
	int rc;

	rc = mdb_stat(txn, s->events, &ev);
	if (!rc)
		rc = mdb_stat(txn, s->evtime, &tm);
	if (rc || !ev.ms_entries || tm.ms_entries)
		return rc;
	rc = mdb_cursor_open(txn, s->events, &c);
	if (rc)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		id = rc_strndup(k.mv_data, k.mv_size);
		evtime_key(&tk, now, id);
		rc = mdb_put(txn, s->evtime, &tk, &empty, 0);
		free(tk.mv_data);
		free(id);
		if (!rc)
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}


/* Events received before cutoff, oldest first, at most *budget. */
static int prune_events(struct store_txn *t, uint64_t cutoff, size_t *budget, size_t *n)
{
	MDB_cursor *c;
	MDB_val k, v, id;
	int rc;

	rc = mdb_cursor_open(t->txn, t->s->evtime, &c);
	if (rc)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0 && *budget && k.mv_size >= 8 && st_be_u64(k.mv_data) < cutoff) {
		id.mv_data = (char *)k.mv_data + 8;
		id.mv_size = k.mv_size - 8;
		rc = mdb_del(t->txn, t->s->events, &id, NULL);
		if (rc && rc != MDB_NOTFOUND)
			break;
		rc = st_del_current(t, c, &k, &v, budget, n);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct prune_ev {
	uint64_t cutoff;
	size_t *budget, *n;
};

static int prune_fn(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct prune_ev *p = arg;
	int rc = prune_events(t, p->cutoff, p->budget, p->n);

	return rc ? st_lmdb_err(err, t->s, "prune the webhook events", rc) : RC_OK;
}

int st_prune_events(struct store *s, uint64_t cutoff, size_t *budget, size_t *n,
		    struct rc_err *err)
{
	struct prune_ev p = { cutoff, budget, n };

	return st_write(s, STORE_LANE_EVENTS, prune_fn, &p, err);
}

/* Copy every record of from (a database of an older data.mdb) into to. */
static int copy_db(MDB_txn *old, MDB_dbi from, MDB_txn *txn, MDB_dbi to)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(old, from, &c);

	if (rc)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		rc = mdb_put(txn, to, &k, &v, 0);
		if (!rc)
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The events an older version kept in data.mdb, into txn (of events.mdb):
 * *old is left open (NULL when there were none) for the caller to drop
 * them once txn is durable. */
static int take_old(struct store *s, MDB_txn *txn, MDB_txn **old, MDB_dbi dbi[2])
{
	static const char *const names[2] = { "events", "evtime" };
	MDB_dbi to[2] = { s->events, s->evtime };
	int rc, i;

	rc = mdb_txn_begin(s->env, NULL, 0, old);
	for (i = 0; !rc && i < 2; i++) {
		rc = mdb_dbi_open(*old, names[i], 0, &dbi[i]);
		if (rc == MDB_NOTFOUND && i == 0) { /* a state made after the move */
			mdb_txn_abort(*old);
			*old = NULL;
			return 0;
		}
		if (rc == MDB_NOTFOUND) { /* older still: st_events_backfill dates them */
			dbi[i] = 0; /* LMDB's own (FREE_DBI): never a named one */
			rc = 0;
		} else if (!rc) {
			rc = copy_db(*old, dbi[i], txn, to[i]);
		}
	}
	return rc;
}

/* Drop the older databases (after their copy is durable). */
static int drop_old(MDB_txn *old, MDB_dbi dbi[2])
{
	int rc = mdb_drop(old, dbi[0], 1);

	if (!rc && dbi[1])
		rc = mdb_drop(old, dbi[1], 1);
	if (rc) {
		mdb_txn_abort(old);
		return rc;
	}
	return mdb_txn_commit(old);
}

int st_events_open(struct store *s, int *mrc, struct rc_err *err)
{
	char *path = rc_sprintf("%s/events.mdb", s->dir);
	MDB_txn *txn = NULL, *old = NULL;
	MDB_dbi dbi[2] = { 0, 0 };
	int rc, dead;

	*mrc = 0;
	rc = mdb_env_create(&s->evenv);
	if (!rc)
		rc = mdb_env_set_maxdbs(s->evenv, 4);
	if (!rc)
		rc = mdb_env_set_mapsize(s->evenv, STORE_MAPSIZE_DEFAULT);
	if (!rc)
		rc = mdb_env_open(s->evenv, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
	if (!rc)
		rc = mdb_reader_check(s->evenv, &dead);
	if (!rc)
		rc = mdb_txn_begin(s->evenv, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "events", MDB_CREATE, &s->events);
	if (!rc)
		rc = mdb_dbi_open(txn, "evtime", MDB_CREATE, &s->evtime);
	if (!rc)
		rc = take_old(s, txn, &old, dbi);
	if (!rc)
		rc = st_events_backfill(txn, s);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (!rc && old) {
		rc = drop_old(old, dbi);
		old = NULL;
	}
	if (old)
		mdb_txn_abort(old);
	if (txn)
		mdb_txn_abort(txn);
	if (rc) {
		*mrc = rc;
		if (st_lmdb_damage(rc))
			rc = st_damaged(err, s->dir, "%s: opening it: %s", path, mdb_strerror(rc));
		else
			rc = rc_errf(err, RC_EIO, "state %s: open %s: %s", s->dir, path,
				     mdb_strerror(rc));
	}
	free(path);
	return rc;
}
