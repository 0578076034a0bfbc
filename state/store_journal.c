/* store_journal.c: the journal of vendor calls, and the retention that
 * keeps it and the webhook events (store_events.c) bounded. See store.h for the layout. */
#define _GNU_SOURCE
#include "store_int.h"
#include "core/op.h"
#include "core/redact.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const jstates[] = { "", "intent", "ok", "failed", "unknown", "resolved" };

/* Every entry is written through here: its error and detail (free text,
 * a vendor's words among them) lose whatever is shaped like a code or a
 * token (core/redact.h) before they reach the disk. */
static json_t *journal_json(const struct journal_entry *e)
{
	char error[sizeof(e->error)], detail[sizeof(e->detail)];

	snprintf(error, sizeof(error), "%s", e->error);
	snprintf(detail, sizeof(detail), "%s", e->detail);
	rc_redact_shapes_buf(error, sizeof(error));
	rc_redact_shapes_buf(detail, sizeof(detail));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			 "state", jstates[e->state], "op", e->op, "unit", e->unit,
			 "rental", e->rental_id, "user", e->user_id, "vendor_id", e->vendor_id,
			 "plan", e->plan_id, "time", e->time, "error", error,
			 "detail", detail);
}

static void journal_from_json(json_t *j, uint64_t seq, struct journal_entry *e)
{
	const char *st = json_string_value(json_object_get(j, "state")) ?: "";
	int i;

	memset(e, 0, sizeof(*e));
	e->seq = seq;
	for (i = 1; i <= JOURNAL_RESOLVED; i++)
		if (!strcmp(st, jstates[i]))
			e->state = (enum journal_state)i;
#define CP(f, k) snprintf(e->f, sizeof(e->f), "%s", json_string_value(json_object_get(j, k)) ?: "")
	CP(op, "op");
	CP(unit, "unit");
	CP(rental_id, "rental");
	CP(user_id, "user");
	CP(vendor_id, "vendor_id");
	CP(plan_id, "plan");
	CP(time, "time");
	CP(error, "error");
	CP(detail, "detail");
#undef CP
	/* what an older version wrote in clear is not shown in clear */
	rc_redact_shapes_buf(e->error, sizeof(e->error));
	rc_redact_shapes_buf(e->detail, sizeof(e->detail));
}

static int last_seq(struct store_txn *t, const char *site, uint64_t *out,
		    struct rc_err *err)
{
	unsigned char ff[8];
	MDB_cursor *c;
	MDB_val k, v;
	void *kp;
	int rc;

	*out = 0;
	memset(ff, 0xff, sizeof(ff));
	rc = mdb_cursor_open(t->txn, t->s->journal, &c);
	if (rc)
		return st_lmdb_err(err, t->s, "cursor", rc);
	st_make_key(&k, site, ff, 8);
	kp = k.mv_data;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0 && st_has_prefix(&k, site) && k.mv_size == strlen(site) + 9)
		*out = st_be_u64((unsigned char *)k.mv_data + strlen(site) + 1);
	free(kp);
	mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND) {
		char what[200];

		snprintf(what, sizeof(what), "site %s: reading the journal's last entry", site);
		return st_lmdb_err(err, t->s, what, rc);
	}
	/* what retention dropped still counts */
	st_make_key(&k, "jseq", site, strlen(site));
	rc = mdb_get(t->txn, t->s->meta, &k, &v);
	free(k.mv_data);
	if (rc == 0 && v.mv_size == 8 && st_be_u64(v.mv_data) > *out)
		*out = st_be_u64(v.mv_data);
	return rc && rc != MDB_NOTFOUND ? st_lmdb_err(err, t->s, "journal seq", rc) : RC_OK;
}

/* The jopen index: the keys of open entries (intent, unknown), so that
 * what a plan settles is found in O(open), not O(history); each holds its
 * entry's plan id (plan, borrowed; "" from an older version's backfill),
 * so that a plan tells the open entries of runs in flight from those in
 * doubt without reading and parsing the entries themselves. */
static int jopen_mark(struct store_txn *t, MDB_val *k, bool open, const char *plan,
		      struct rc_err *err)
{
	MDB_val pv = { strlen(plan), (void *)plan };
	int rc = open ? st_put(t, t->s->jopen, k, &pv, 0) : st_del(t, t->s->jopen, k);

	return rc && rc != MDB_NOTFOUND ? st_lmdb_err(err, t->s, "journal index", rc) : RC_OK;
}

int store_journal_put(struct store_txn *t, const char *site,
		      const struct journal_entry *e, struct rc_err *err)
{
	unsigned char b[8];
	json_t *j;
	MDB_val k;
	int rc;

	st_u64_be(e->seq, b);
	st_make_key(&k, site, b, 8);
	if (e->state == JOURNAL_RESOLVED) {
		/* keep what was recorded; only the state and time change */
		MDB_val v;
		json_t *old = NULL;

		if (mdb_get(t->txn, t->s->journal, &k, &v) == 0)
			old = st_get_json(&v);
		j = old ? old : journal_json(e);
		json_object_set_new(j, "state", json_string("resolved"));
		json_object_set_new(j, "time", json_string(e->time));
	} else {
		j = journal_json(e);
	}
	rc = st_put_json(t, t->s->journal, &k, j, err);
	if (!rc)
		rc = jopen_mark(t, &k, e->state == JOURNAL_INTENT || e->state == JOURNAL_UNKNOWN,
				e->plan_id, err);
	free(k.mv_data);
	json_decref(j);
	return rc;
}

/* e into t: an intent (assign: seq and state set) or a result. */
static int journal_write(struct store_txn *t, const char *site, struct journal_entry *e,
			 bool assign, uint64_t *seq, struct rc_err *err)
{
	int rc;

	if (assign) {
		e->seq = ++*seq;
		e->state = JOURNAL_INTENT;
		if (!e->time[0])
			rc_now_iso(e->time, sizeof(e->time));
	}
	rc = store_journal_put(t, site, e, err);
	/* R10's marks: an intent to vacate counts until its call failed */
	if (!rc && op_is_destructive(op_kind_parse(e->op)) && (assign || e->state == JOURNAL_FAILED))
		rc = st_r10_mark(t, site, assign, err);
	return rc;
}

struct jbatch_job {
	const char *site;
	struct journal_entry *const *intents;
	size_t ni;
	const struct journal_entry *results;
	size_t nr;
};

int store_journal_results_put(struct store_txn *t, const char *site,
			      const struct journal_entry *results, size_t n, struct rc_err *err)
{
	struct journal_entry copy;
	uint64_t seq = 0; /* unused: results keep theirs */
	size_t i;
	int rc = RC_OK;

	for (i = 0; !rc && i < n; i++) {
		copy = results[i];
		rc = journal_write(t, site, &copy, false, &seq, err);
	}
	return rc;
}

static int jbatch_fn(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct jbatch_job *b = arg;
	uint64_t seq = 0;
	size_t i;
	int rc = RC_OK;

	if (b->ni)
		rc = last_seq(t, b->site, &seq, err);
	if (!rc)
		rc = store_journal_results_put(t, b->site, b->results, b->nr, err);
	for (i = 0; !rc && i < b->ni; i++)
		rc = journal_write(t, b->site, b->intents[i], true, &seq, err);
	return rc;
}

int store_journal_batch(struct store *s, const char *site, struct journal_entry *const *intents,
			size_t ni, const struct journal_entry *results, size_t nr,
			struct rc_err *err)
{
	struct jbatch_job b = { site, intents, ni, results, nr };

	return store_write(s, jbatch_fn, &b, err);
}

static int journal_commit_one(struct store *s, const char *site,
			      struct journal_entry *e, bool assign, struct rc_err *err)
{
	return assign ? store_journal_batch(s, site, &e, 1, NULL, 0, err)
		      : store_journal_batch(s, site, NULL, 0, e, 1, err);
}

int store_journal_intent(struct store *s, const char *site,
			 struct journal_entry *e, struct rc_err *err)
{
	return journal_commit_one(s, site, e, true, err);
}

int store_journal_result(struct store *s, const char *site,
			 const struct journal_entry *e, struct rc_err *err)
{
	struct journal_entry copy = *e;

	return journal_commit_one(s, site, &copy, false, err);
}

struct jeach {
	struct store_txn *t;
	const char *site;
	bool only_open;
	store_journal_cb cb;
	void *payload;
};

/* One entry: from the journal itself, or, walking jopen, looked up. */
static int jeach_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct jeach *je = p;
	struct journal_entry e;
	MDB_val k, ev;
	json_t *j;
	int rc;

	(void)c;
	if (rest->mv_size != 8)
		return 0;
	if (je->only_open) {
		st_make_key(&k, je->site, rest->mv_data, 8);
		rc = mdb_get(je->t->txn, je->t->s->journal, &k, &ev);
		free(k.mv_data);
		if (rc)
			return 0; /* an index entry without its entry: nothing open */
		v = &ev;
	}
	j = st_get_json(v);
	if (!j)
		return 0;
	journal_from_json(j, st_be_u64(rest->mv_data), &e);
	json_decref(j);
	if (je->only_open && e.state != JOURNAL_INTENT && e.state != JOURNAL_UNKNOWN)
		return 0;
	return je->cb(&e, je->payload);
}

int store_journal_each(struct store_txn *t, const char *site, bool only_open,
		       store_journal_cb cb, void *payload, struct rc_err *err)
{
	struct jeach je = { t, site, only_open, cb, payload };

	return st_each_prefix(t, only_open ? t->s->jopen : t->s->journal, site, jeach_cb, &je,
			      err);
}

struct jplans {
	struct jeach je;             /* the fallback: the entry itself */
	store_open_plan_cb cb;
	void *payload;
};

static int jplan_entry(const struct journal_entry *e, void *p)
{
	struct jplans *jp = p;

	return jp->cb(e->plan_id, jp->payload);
}

/* One jopen record: its plan id, or (an older index record without one)
 * the entry's. */
static int jplan_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct jplans *jp = p;
	char plan[sizeof(((struct journal_entry *)0)->plan_id)];

	if (rest->mv_size != 8)
		return 0;
	if (v->mv_size == 0 || v->mv_size >= sizeof(plan))
		return jeach_cb(c, rest, v, &jp->je);
	memcpy(plan, v->mv_data, v->mv_size);
	plan[v->mv_size] = '\0';
	return jp->cb(plan, jp->payload);
}

int store_journal_open_plans(struct store_txn *t, const char *site, store_open_plan_cb cb,
			     void *payload, struct rc_err *err)
{
	struct jplans jp = { { t, site, true, jplan_entry, NULL }, cb, payload };

	jp.je.payload = &jp;
	return st_each_prefix(t, t->s->jopen, site, jplan_cb, &jp, err);
}

int st_jopen_backfill(MDB_txn *txn, struct store *s)
{
	struct store_txn t = { s, txn };
	struct rc_err err;
	MDB_cursor *c;
	MDB_val k, v;
	json_t *j;
	int rc;

	rc = mdb_cursor_open(txn, s->journal, &c);
	if (rc)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		const char *st;

		j = st_get_json(&v);
		st = json_string_value(json_object_get(j, "state"));
		if (st && (!strcmp(st, "intent") || !strcmp(st, "unknown")) &&
		    jopen_mark(&t, &k, true, json_string_value(json_object_get(j, "plan")) ?: "", &err))
			rc = EIO;
		json_decref(j);
		if (!rc)
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* --------------------------------------------------------- retention */

/* Delete the cursor's record, count it, and read the one after it (LMDB
 * leaves the cursor there; MDB_NOTFOUND past the end). */
int st_del_current(struct store_txn *t, MDB_cursor *c, MDB_val *k, MDB_val *v, size_t *budget,
		   size_t *n)
{
	int rc = st_cursor_del(t, c);

	if (rc)
		return rc;
	(*budget)--;
	(*n)++;
	rc = mdb_cursor_get(c, k, v, MDB_GET_CURRENT);
	return rc == EINVAL ? MDB_NOTFOUND : rc;
}

/* Move the cursor past every entry of the site of key k. */
static int next_site(MDB_cursor *c, MDB_val *k, MDB_val *v)
{
	size_t n = strnlen(k->mv_data, k->mv_size);
	unsigned char ff[8];
	MDB_val seek;
	int rc;

	memset(ff, 0xff, sizeof(ff));
	{
		char *site = rc_strndup(k->mv_data, n);

		st_make_key(&seek, site, ff, sizeof(ff));
		free(site);
	}
	*k = seek;
	rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	if (rc == 0 && k->mv_size == seek.mv_size && !memcmp(k->mv_data, seek.mv_data, seek.mv_size))
		rc = mdb_cursor_get(c, k, v, MDB_NEXT);
	free(seek.mv_data);
	return rc;
}

/* meta "jseq\0<site>": the highest seq retention dropped, so that the
 * numbering never restarts when a quiet site's journal empties (seqs are
 * dropped in order: the last one written is the highest). */
static int keep_seq(struct store_txn *t, const char *site, uint64_t seq)
{
	unsigned char b[8];
	MDB_val k, v = { 8, b };
	int rc;

	st_u64_be(seq, b);
	st_make_key(&k, "jseq", site, strlen(site));
	rc = st_put(t, t->s->meta, &k, &v, 0);
	free(k.mv_data);
	return rc;
}

/* Closed journal entries written before cutoff (an ISO time), per site in
 * seq order up to the first newer one. Open entries (intent, unknown)
 * stay whatever their age: R7 settles them. */
static int prune_journal(struct store_txn *t, const char *cutoff, size_t *budget, size_t *n)
{
	struct journal_entry e;
	MDB_cursor *c;
	MDB_val k, v;
	size_t plen;
	json_t *j;
	int rc;

	rc = mdb_cursor_open(t->txn, t->s->journal, &c);
	if (rc)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0 && *budget) {
		plen = strnlen(k.mv_data, k.mv_size) + 1;
		if (plen <= k.mv_size && !store_replica_owns(t->s, k.mv_data)) {
			rc = next_site(c, &k, &v); /* another instance's shard (cluster mode) */
			continue;
		}
		j = k.mv_size == plen + 8 ? st_get_json(&v) : NULL;
		if (!j) { /* not an entry: leave it */
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
			continue;
		}
		journal_from_json(j, st_be_u64((unsigned char *)k.mv_data + plen), &e);
		json_decref(j);
		if (strcmp(e.time, cutoff) >= 0) {
			rc = next_site(c, &k, &v);
			continue;
		}
		if (e.state == JOURNAL_INTENT || e.state == JOURNAL_UNKNOWN) {
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
			continue;
		}
		rc = keep_seq(t, k.mv_data, e.seq);
		if (!rc)
			rc = st_del_current(t, c, &k, &v, budget, n);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct prune_job {
	const char *cutoff;          /* an ISO time */
	size_t *budget;
	size_t *n;
};

static int prune_fn(struct store_txn *t, void *arg, struct rc_err *err)
{
	struct prune_job *p = arg;
	int rc = prune_journal(t, p->cutoff, p->budget, p->n);

	return rc ? st_lmdb_err(err, t->s, "prune the journal", rc) : RC_OK;
}

/* Two transactions, one per environment: the events' (store_events.c),
 * then the journal's with what is left of the budget. */
int store_prune(struct store *s, const struct store_retention *r, time_t now,
		struct store_pruned *out, struct rc_err *err)
{
	size_t budget = r->max_per_call ? r->max_per_call : 10000;
	struct prune_job p = { NULL, &budget, &out->journal };
	char cutoff[40];
	struct tm tm;
	time_t when;
	int rc = RC_OK;

	memset(out, 0, sizeof(*out));
	if (r->events_s > 0 && now > (time_t)r->events_s)
		rc = st_prune_events(s, (uint64_t)(now - (time_t)r->events_s), &budget,
				     &out->events, err);
	if (!rc && budget && r->journal_s > 0 && now > (time_t)r->journal_s) {
		when = now - (time_t)r->journal_s;
		gmtime_r(&when, &tm);
		snprintf(cutoff, sizeof(cutoff), "%04d-%02d-%02dT%02d:%02d:%02d.000Z",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		p.cutoff = cutoff;
		rc = store_write(s, prune_fn, &p, err);
	}
	if (!rc)
		out->more = budget == 0;
	return rc;
}
