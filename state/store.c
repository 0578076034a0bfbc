/* store.c: the LMDB state. See store.h for the layout. */
#define _GNU_SOURCE
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int st_lmdb_err(struct rc_err *err, const struct store *s, const char *what, int rc)
{
	if (rc == MDB_MAP_FULL)
		return rc_errf(err, RC_EIO, "state %s: %s: the LMDB map is full; "
			       "raise STORE_MAPSIZE_DEFAULT or move old sites out", s->dir, what);
	return rc_errf(err, RC_EIO, "state %s: %s: %s", s->dir, what, mdb_strerror(rc));
}

static int load_key(struct store *s, struct rc_err *err)
{
	char *path = rc_sprintf("%s/hash.key", s->dir);
	int fd, rc = RC_OK;
	ssize_t n;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (RAND_bytes(s->key, sizeof(s->key)) != 1 ||
		    write(fd, s->key, sizeof(s->key)) != (ssize_t)sizeof(s->key) || fsync(fd) != 0)
			rc = rc_errf(err, RC_EIO, "%s: cannot create the hash key", path);
		close(fd);
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	n = read(fd, s->key, sizeof(s->key));
	close(fd);
	if (n != (ssize_t)sizeof(s->key))
		rc = rc_errf(err, RC_EIO, "%s: expected 32 bytes; the state directory is damaged", path);
out:
	free(path);
	return rc;
}

int store_open(struct store **out, const char *dir, struct rc_err *err)
{
	struct store *s = rc_calloc(1, sizeof(*s));
	MDB_txn *txn = NULL;
	int rc, dead;

	s->dir = rc_strdup(dir);
	s->lock_fd = -1;
	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = rc_errf(err, RC_EIO, "state directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	rc = load_key(s, err);
	if (rc)
		goto fail;
	rc = mdb_env_create(&s->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(s->env, 8);
	/* serve keeps a read transaction per work item across its vendor
	 * reads: room for serve.workers (at most 256) and then some */
	if (!rc)
		rc = mdb_env_set_maxreaders(s->env, 512);
	if (!rc)
		rc = mdb_env_set_mapsize(s->env, STORE_MAPSIZE_DEFAULT);
	if (!rc)
		rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
	if (!rc)
		rc = mdb_reader_check(s->env, &dead);
	if (!rc)
		rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "observed", MDB_CREATE, &s->observed);
	if (!rc)
		rc = mdb_dbi_open(txn, "pmslast", MDB_CREATE, &s->pmslast);
	if (!rc)
		rc = mdb_dbi_open(txn, "journal", MDB_CREATE, &s->journal);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta);
	if (!rc)
		rc = mdb_dbi_open(txn, "events", MDB_CREATE, &s->events);
	if (!rc)
		rc = mdb_dbi_open(txn, "evtime", MDB_CREATE, &s->evtime);
	if (!rc)
		rc = st_events_backfill(txn, s);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		rc = st_lmdb_err(err, s, "open", rc);
		goto fail;
	}
	*out = s;
	return RC_OK;
fail:
	if (txn)
		mdb_txn_abort(txn);
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_unlock(s);
	if (s->env)
		mdb_env_close(s->env);
	explicit_bzero(s->key, sizeof(s->key));
	free(s->dir);
	free(s);
}

int store_lock(struct store *s, struct rc_err *err)
{
	char *path = rc_sprintf("%s/apply.lock", s->dir);
	char buf[32];
	ssize_t n;
	int fd, rc = RC_OK;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		rc = rc_errf(err, RC_ELOCKED,
			     "state directory %s is locked by another reconcile apply (pid %s); "
			     "wait for it to finish: the lock is released when that process exits",
			     s->dir, *buf ? buf : "unknown");
		close(fd);
		goto out;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	/* the pid only names the holder in a second apply's message: failing
	 * to write it does not make the lock any less held */
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, buf, strlen(buf), 0);
	s->lock_fd = fd;
out:
	free(path);
	return rc;
}

void store_unlock(struct store *s)
{
	if (s->lock_fd >= 0) {
		flock(s->lock_fd, LOCK_UN);
		close(s->lock_fd);
		s->lock_fd = -1;
	}
}

static void hasher_fn(void *payload, const char *site, const char *secret,
		      unsigned char out[RC_HASH_LEN])
{
	store_secret_hash(payload, site, secret, out);
}

struct rc_hasher store_hasher(const struct store *s)
{
	return (struct rc_hasher){ hasher_fn, (void *)s };
}

void store_hmac(const struct store *s, const void *data, size_t len,
		unsigned char out[RC_HASH_LEN])
{
	unsigned int n = RC_HASH_LEN;

	HMAC(EVP_sha256(), s->key, sizeof(s->key), data, len, out, &n);
}

void store_secret_hash(const struct store *s, const char *site,
		       const char *secret, unsigned char out[RC_HASH_LEN])
{
	size_t a = strlen(site), b = strlen(secret);
	unsigned char *buf = rc_malloc(a + b + 1);

	memcpy(buf, site, a);
	buf[a] = 0;
	memcpy(buf + a + 1, secret, b);
	store_hmac(s, buf, a + b + 1, out);
	explicit_bzero(buf, a + b + 1);
	free(buf);
}

int store_txn_begin(struct store *s, bool write, struct store_txn **out,
		    struct rc_err *err)
{
	struct store_txn *t = rc_calloc(1, sizeof(*t));
	int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);

	if (rc) {
		free(t);
		return st_lmdb_err(err, s, "begin transaction", rc);
	}
	t->s = s;
	*out = t;
	return RC_OK;
}

int store_txn_commit(struct store_txn *t, struct rc_err *err)
{
	int rc = mdb_txn_commit(t->txn);
	struct store *s = t->s;

	free(t);
	return rc ? st_lmdb_err(err, s, "commit", rc) : RC_OK;
}

void store_txn_abort(struct store_txn *t)
{
	if (!t)
		return;
	mdb_txn_abort(t->txn);
	free(t);
}

/* ------------------------------------------------------------ keys */

/* key = a '\0' b (b may be binary of blen bytes). New buffer in *k. */
void st_make_key(MDB_val *k, const char *a, const void *b, size_t blen)
{
	size_t n = strlen(a);
	char *p = rc_malloc(n + 1 + blen + 1);

	memcpy(p, a, n);
	p[n] = '\0';
	if (blen)
		memcpy(p + n + 1, b, blen);
	k->mv_data = p;
	k->mv_size = n + 1 + blen;
}

bool st_has_prefix(const MDB_val *k, const char *site)
{
	size_t n = strlen(site) + 1;

	return k->mv_size >= n && memcmp(k->mv_data, site, n) == 0;
}

int st_put_json(struct store_txn *t, MDB_dbi dbi, MDB_val *k, json_t *j,
		    struct rc_err *err)
{
	char *s = json_dumps(j, JSON_COMPACT);
	MDB_val v = { strlen(s), s };
	int rc = mdb_put(t->txn, dbi, k, &v, 0);

	free(s);
	return rc ? st_lmdb_err(err, t->s, "put", rc) : RC_OK;
}

json_t *st_get_json(const MDB_val *v)
{
	return json_loadb(v->mv_data, v->mv_size, 0, NULL);
}

int st_each_prefix(struct store_txn *t, MDB_dbi dbi, const char *site, prefix_cb cb,
		       void *payload, struct rc_err *err)
{
	size_t n = strlen(site) + 1;
	MDB_cursor *c;
	MDB_val k, v, rest;
	void *kp;
	int rc, stop = 0;

	rc = mdb_cursor_open(t->txn, dbi, &c);
	if (rc)
		return st_lmdb_err(err, t->s, "cursor", rc);
	st_make_key(&k, site, NULL, 0);
	kp = k.mv_data;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && st_has_prefix(&k, site)) {
		rest.mv_data = (char *)k.mv_data + n;
		rest.mv_size = k.mv_size - n;
		stop = cb(c, &rest, &v, payload);
		if (stop)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	free(kp);
	mdb_cursor_close(c);
	if (stop)
		return stop;
	return rc && rc != MDB_NOTFOUND ? st_lmdb_err(err, t->s, "read", rc) : RC_OK;
}

struct del_ctx {
	const struct rc_map *keep;
};

static int del_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct del_ctx *d = p;
	char *name = rc_strndup(rest->mv_data, rest->mv_size);
	int rc = 0;

	(void)v;
	if (!d->keep || !rc_map_get(d->keep, name, NULL))
		rc = mdb_cursor_del(c, 0) ? -1 : 0;
	free(name);
	return rc;
}

/* Delete every key of a site in dbi whose name is not kept(). */
static int del_prefix(struct store_txn *t, MDB_dbi dbi, const char *site,
		      const struct rc_map *keep, struct rc_err *err)
{
	struct del_ctx d = { keep };
	int rc = st_each_prefix(t, dbi, site, del_cb, &d, err);

	return rc < 0 ? rc_errf(err, RC_EIO, "state %s: cannot delete under %s", t->s->dir, site) : rc;
}

/* -------------------------------------------------------- observed */

static json_t *unit_json(const struct obs_unit *u)
{
	json_t *j = json_pack("{s:s?, s:i}", "id", u->vendor_id, "st", (int)u->status);
	json_t *ts = json_array();
	char hex[2 * RC_HASH_LEN + 1];
	unsigned i;

	for (i = 0; i < u->ntenants; i++) {
		const struct obs_tenant *t = &u->tenants[i];
		json_t *x = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:I, s:b, s:s?, s:s?}",
			"id", t->vendor_id, "fn", t->first_name, "ln", t->last_name,
			"em", t->email, "ph", t->phone, "ap", (json_int_t)t->access_profile,
			"tg", (json_int_t)t->time_group, "en", t->enabled, "r", t->rental_id,
			"x", t->extra);

		if (t->code_known) {
			rc_hex(t->code_hash, RC_HASH_LEN, hex);
			json_object_set_new(x, "ch", json_string(hex));
		}
		json_array_append_new(ts, x);
	}
	json_object_set_new(j, "t", ts);
	return j;
}

static const char *jdup(struct obs_site *o, json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);

	return json_is_string(v) ? rc_arena_strdup(&o->arena, json_string_value(v)) : NULL;
}

static void unhex(const char *h, unsigned char *out, size_t n)
{
	size_t i;
	unsigned x;

	for (i = 0; i < n && h[2 * i] && h[2 * i + 1]; i++) {
		sscanf(h + 2 * i, "%2x", &x);
		out[i] = (unsigned char)x;
	}
}

static void unit_from_json(struct obs_site *o, const char *name, json_t *j)
{
	struct obs_unit *u = obs_add_unit(o, name);
	json_t *x;
	size_t i;

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
		if (ch && strlen(ch) == 2 * RC_HASH_LEN) {
			unhex(ch, t->code_hash, RC_HASH_LEN);
			t->code_known = true;
		}
	}
}

struct load_ctx {
	struct obs_site *out;
	struct store_txn *t;
	const char *site;
	struct rc_err *err;
};

static int load_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct load_ctx *l = p;
	char *name = rc_strndup(rest->mv_data, rest->mv_size);
	json_t *j = st_get_json(v);
	int rc = 0;

	(void)c;
	if (!j)
		rc = rc_errf(l->err, RC_EPARSE, "state %s: observed %s/%s is corrupt", l->t->s->dir,
			     l->site, name);
	else
		unit_from_json(l->out, name, j);
	json_decref(j);
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

int store_observed_put_unit(struct store_txn *t, const char *site,
			    const struct obs_unit *u, struct rc_err *err)
{
	json_t *j = unit_json(u);
	MDB_val k;
	int rc;

	st_make_key(&k, site, u->name, strlen(u->name));
	rc = st_put_json(t, t->s->observed, &k, j, err);
	free(k.mv_data);
	json_decref(j);
	return rc;
}

int store_observed_put_site(struct store_txn *t, const struct obs_site *o,
			    struct rc_err *err)
{
	struct rc_map keep;
	size_t i;
	int rc;

	rc_map_init(&keep);
	for (i = 0; i < o->nunits; i++)
		rc_map_put(&keep, o->units[i].name, 1);
	rc = del_prefix(t, t->s->observed, o->site, &keep, err);
	for (i = 0; !rc && i < o->nunits; i++)
		rc = store_observed_put_unit(t, o->site, &o->units[i], err);
	rc_map_free(&keep);
	return rc;
}

/* --------------------------------------------------------- pmslast */

int store_pms_keep_only(struct store_txn *t, const char *site, const struct rc_map *keep,
			struct rc_err *err)
{
	return del_prefix(t, t->s->pmslast, site, keep, err);
}

static int pms_rec_from(struct store_txn *t, const char *site, const char *rental_id,
			const MDB_val *v, struct pms_rec *out, struct rc_err *err)
{
	json_t *j;

	memset(out, 0, sizeof(*out));
	j = st_get_json(v);
	if (!j)
		return rc_errf(err, RC_EPARSE, "state %s: pmslast %s/%s is corrupt", t->s->dir,
			       site, rental_id);
	snprintf(out->rental_id, sizeof(out->rental_id), "%s", rental_id);
	out->overdue = json_is_true(json_object_get(j, "od"));
	out->overlocked = json_is_true(json_object_get(j, "ol"));
	snprintf(out->synced, sizeof(out->synced), "%s",
		 json_string_value(json_object_get(j, "sy")) ?: "");
	if (json_is_string(json_object_get(j, "ch"))) {
		unhex(json_string_value(json_object_get(j, "ch")), out->code_hash, RC_HASH_LEN);
		out->has_code = true;
	}
	json_decref(j);
	return RC_OK;
}

int store_pms_get(struct store_txn *t, const char *site, const char *rental_id,
		  struct pms_rec *out, struct rc_err *err)
{
	MDB_val k, v;
	int rc;

	st_make_key(&k, site, rental_id, strlen(rental_id));
	rc = mdb_get(t->txn, t->s->pmslast, &k, &v);
	free(k.mv_data);
	if (rc == MDB_NOTFOUND)
		return rc_errf(err, RC_ENOTFOUND, "no record of rental %s", rental_id);
	if (rc)
		return st_lmdb_err(err, t->s, "read pmslast", rc);
	return pms_rec_from(t, site, rental_id, &v, out, err);
}

struct pms_load_ctx {
	struct store_txn *t;
	const char *site;
	struct pms_recs *out;
	struct rc_err *err;
};

static int pms_load_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct pms_load_ctx *l = p;
	char *id = rc_strndup(rest->mv_data, rest->mv_size);
	int rc = pms_rec_from(l->t, l->site, id, v, pms_recs_add(l->out), l->err);

	(void)c;
	free(id);
	return rc;
}

int store_pms_load(struct store_txn *t, const char *site, struct pms_recs *out,
		   struct rc_err *err)
{
	struct pms_load_ctx l = { t, site, out, err };
	int rc = st_each_prefix(t, t->s->pmslast, site, pms_load_cb, &l, err);

	pms_recs_index(out);
	return rc;
}

int store_pms_load_ids(struct store_txn *t, const char *site, const char *const *rental_ids,
		       size_t n, struct pms_recs *out, struct rc_err *err)
{
	struct pms_rec r;
	size_t i;
	int rc = RC_OK;

	for (i = 0; !rc && i < n; i++) {
		rc = store_pms_get(t, site, rental_ids[i], &r, err);
		if (rc == RC_ENOTFOUND) {
			rc_err_clear(err);
			rc = RC_OK;
		} else if (!rc) {
			*pms_recs_add(out) = r;
		}
	}
	pms_recs_index(out);
	return rc;
}

int store_pms_put(struct store_txn *t, const char *site,
		  const struct pms_rec *r, struct rc_err *err)
{
	json_t *j = json_pack("{s:b, s:b}", "od", r->overdue, "ol", r->overlocked);
	char hex[2 * RC_HASH_LEN + 1];
	MDB_val k;
	int rc;

	if (r->synced[0])
		json_object_set_new(j, "sy", json_string(r->synced));
	if (r->has_code) {
		rc_hex(r->code_hash, RC_HASH_LEN, hex);
		json_object_set_new(j, "ch", json_string(hex));
	}
	st_make_key(&k, site, r->rental_id, strlen(r->rental_id));
	rc = st_put_json(t, t->s->pmslast, &k, j, err);
	free(k.mv_data);
	json_decref(j);
	return rc;
}

int store_pms_del(struct store_txn *t, const char *site, const char *rental_id,
		  struct rc_err *err)
{
	MDB_val k;
	int rc;

	st_make_key(&k, site, rental_id, strlen(rental_id));
	rc = mdb_del(t->txn, t->s->pmslast, &k, NULL);
	free(k.mv_data);
	return rc && rc != MDB_NOTFOUND ? st_lmdb_err(err, t->s, "delete pmslast", rc) : RC_OK;
}

static int count_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	(void)c;
	(void)rest;
	(void)v;
	(*(size_t *)p)++;
	return 0;
}

int store_pms_count(struct store_txn *t, const char *site, size_t *out,
		    struct rc_err *err)
{
	*out = 0;
	return st_each_prefix(t, t->s->pmslast, site, count_cb, out, err);
}

/* ------------------------------------------------------ generation */

void st_u64_be(uint64_t x, unsigned char b[8])
{
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(x & 0xff);
		x >>= 8;
	}
}

uint64_t st_be_u64(const unsigned char b[8])
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < 8; i++)
		x = (x << 8) | b[i];
	return x;
}

int store_generation(struct store_txn *t, const char *site, uint64_t *out,
		     struct rc_err *err)
{
	MDB_val k, v;
	int rc;

	*out = 0;
	st_make_key(&k, "gen", site, strlen(site));
	rc = mdb_get(t->txn, t->s->meta, &k, &v);
	free(k.mv_data);
	if (rc == MDB_NOTFOUND)
		return RC_OK;
	if (rc)
		return st_lmdb_err(err, t->s, "read generation", rc);
	if (v.mv_size == 8)
		*out = st_be_u64(v.mv_data);
	return RC_OK;
}

int store_generation_bump(struct store_txn *t, const char *site,
			  uint64_t *out, struct rc_err *err)
{
	unsigned char b[8];
	MDB_val k, v = { 8, b };
	int rc;

	rc = store_generation(t, site, out, err);
	if (rc)
		return rc;
	(*out)++;
	st_u64_be(*out, b);
	st_make_key(&k, "gen", site, strlen(site));
	rc = mdb_put(t->txn, t->s->meta, &k, &v, 0);
	free(k.mv_data);
	return rc ? st_lmdb_err(err, t->s, "write generation", rc) : RC_OK;
}

int store_site_meta_get(struct store_txn *t, const char *site,
			struct store_site_meta *out, struct rc_err *err)
{
	MDB_val k, v;
	json_t *j;
	int rc;

	memset(out, 0, sizeof(*out));
	st_make_key(&k, "site", site, strlen(site));
	rc = mdb_get(t->txn, t->s->meta, &k, &v);
	free(k.mv_data);
	if (rc == MDB_NOTFOUND)
		return RC_ENOTFOUND;
	if (rc)
		return st_lmdb_err(err, t->s, "read site meta", rc);
	j = st_get_json(&v);
	snprintf(out->facility_id, sizeof(out->facility_id), "%s",
		 json_string_value(json_object_get(j, "facility")) ?: "");
	snprintf(out->last_sync, sizeof(out->last_sync), "%s",
		 json_string_value(json_object_get(j, "last_sync")) ?: "");
	snprintf(out->last_attempt, sizeof(out->last_attempt), "%s",
		 json_string_value(json_object_get(j, "last_attempt")) ?: "");
	snprintf(out->last_error, sizeof(out->last_error), "%s",
		 json_string_value(json_object_get(j, "last_error")) ?: "");
	json_decref(j);
	return RC_OK;
}

int store_site_meta_put(struct store_txn *t, const char *site,
			const struct store_site_meta *m, struct rc_err *err)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "facility", m->facility_id,
			      "last_sync", m->last_sync, "last_attempt", m->last_attempt,
			      "last_error", m->last_error);
	MDB_val k;
	int rc;

	st_make_key(&k, "site", site, strlen(site));
	rc = st_put_json(t, t->s->meta, &k, j, err);
	free(k.mv_data);
	json_decref(j);
	return rc;
}

