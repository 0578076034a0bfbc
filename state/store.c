/* store.c: the LMDB state. See store.h for the layout. */
#define _GNU_SOURCE
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <jansson.h>
#include <lmdb.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int st_lmdb_err(struct rc_err *err, const struct store *s, const char *what, int rc)
{
	if (rc == MDB_MAP_FULL)
		return rc_errf(err, RC_EIO, "state %s: %s: the LMDB map is full; "
			       "raise STORE_MAPSIZE_DEFAULT or move old sites out", s->dir, what);
	return rc_errf(err, RC_EIO, "state %s: %s: %s", s->dir, what, mdb_strerror(rc));
}

/* hash.key: read, or made when the state has none (after LMDB made
 * data.mdb: a state that lost its key is refused by state_check first).
 * Written to a temporary file then linked in, so that a crash leaves no
 * short key and two first opens agree on one. */
static int load_key(struct store *s, struct rc_err *err)
{
	char *path = rc_sprintf("%s/hash.key", s->dir);
	char *tmp = rc_sprintf("%s/hash.key.%d.tmp", s->dir, (int)getpid());
	int fd, rc = RC_OK;
	ssize_t n;

	if (access(path, F_OK) != 0 && errno == ENOENT) { /* not open(): a FIFO would block */
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || RAND_bytes(s->key, sizeof(s->key)) != 1 ||
		    write(fd, s->key, sizeof(s->key)) != (ssize_t)sizeof(s->key) || fsync(fd) != 0 ||
		    (link(tmp, path) != 0 && errno != EEXIST))
			rc = rc_errf(err, RC_EIO, "%s: cannot create the hash key", path);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		if (rc)
			goto out;
	}
	/* ours, or the one another open linked first: a regular file of the key's size */
	rc = rc_open_regular(path, "a hash key", sizeof(s->key), &fd, NULL, err);
	if (rc)
		goto out;
	n = read(fd, s->key, sizeof(s->key));
	close(fd);
	if (n != (ssize_t)sizeof(s->key))
		rc = rc_errf(err, RC_EIO, "%s: expected 32 bytes; the state directory is damaged", path);
out:
	free(tmp);
	free(path);
	return rc;
}

/* ------------------------------------------------- integrity at open */

static bool reinit_state;        /* --reinit-state: move a damaged state aside */
static char holder_cmd[16];      /* this process's command, for apply.lock */

void store_set_reinit(bool on)
{
	reinit_state = on;
}

void store_set_command(const char *cmd)
{
	snprintf(holder_cmd, sizeof(holder_cmd), "%s", cmd ? cmd : "");
}

/* Both environments, as far as they were opened. */
static void envs_close(struct store *s)
{
	if (s->evenv)
		mdb_env_close(s->evenv);
	if (s->env)
		mdb_env_close(s->env);
	s->evenv = NULL;
	s->env = NULL;
}

/* The LMDB environment and its databases (the state checked first). */
static int env_open(struct store *s, int *mrc, struct rc_err *err)
{
	const char *file = "data.mdb";
	MDB_txn *txn = NULL;
	int rc, dead;

	*mrc = 0;
	rc = mdb_env_create(&s->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(s->env, 12);
	/* serve keeps a read transaction per work item across its vendor
	 * reads: room for serve.workers and serve.rental_workers (at most 256
	 * each) */
	if (!rc)
		rc = mdb_env_set_maxreaders(s->env, 512);
	if (!rc)
		rc = mdb_env_set_mapsize(s->env, STORE_MAPSIZE_DEFAULT);
	if (!rc)
		rc = mdb_env_open(s->env, s->dir, MDB_NOTLS, 0600);
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
		rc = mdb_dbi_open(txn, "obsidx", MDB_CREATE, &s->obsidx);
	if (!rc)
		rc = mdb_dbi_open(txn, "jopen", MDB_CREATE, &s->jopen);
	if (!rc)
		rc = st_once(txn, s, "obsidx", st_obsidx_backfill);
	if (!rc)
		rc = st_once(txn, s, "jopen", st_jopen_backfill);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn)
		mdb_txn_abort(txn);
	if (!rc) {
		rc = st_events_open(s, mrc, err);
		if (rc)
			return rc; /* events.mdb's error, named */
		rc = reinit_state ? st_read_all(s, &file) : 0;
		if (!rc)
			return RC_OK;
	}
	*mrc = rc;
	if (st_lmdb_damage(rc))
		return st_damaged(err, s->dir, "%s/%s: opening it: %s", s->dir, file, mdb_strerror(rc));
	return st_lmdb_err(err, s, "open", rc);
}

int store_open(struct store **out, const char *dir, struct rc_err *err)
{
	struct store *s = rc_calloc(1, sizeof(*s));
	int rc, mrc;

	s->dir = rc_strdup(dir);
	s->lock_fd = -1;
	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = rc_errf(err, RC_EIO, "state directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	rc = st_state_check(dir, err);
	if (rc && reinit_state) {
		rc_err_clear(err);
		rc = st_move_aside(dir, err);
	}
	if (!rc)
		rc = env_open(s, &mrc, err);
	if (rc && reinit_state && st_lmdb_damage(mrc)) { /* damage inside: aside, then anew */
		envs_close(s);
		rc_err_clear(err);
		rc = st_move_aside(dir, err);
		if (!rc)
			rc = env_open(s, &mrc, err);
	}
	if (!rc)
		rc = load_key(s, err);
	if (rc)
		goto fail;
	s->mac = st_mac_new();
	*out = s;
	return RC_OK;
fail:
	store_close(s);
	return rc;
}

/* Run fn once per state directory (meta "v\0<what>" remembers it): the
 * indexes an older version did not keep are built on first open. */
int st_once(MDB_txn *txn, struct store *s, const char *what, int (*fn)(MDB_txn *, struct store *))
{
	MDB_val k, v, one = { 1, "1" };
	int rc;

	st_make_key(&k, "v", what, strlen(what));
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		rc = fn(txn, s);
		if (!rc)
			rc = mdb_put(txn, s->meta, &k, &one, 0);
	}
	free(k.mv_data);
	return rc;
}

/* The map's address and length, from /proc/self/maps (LMDB names its
 * address only for a fixed map): the shared mapping of the data file's
 * inode. 0, or -1 when not found. */
static int map_range(struct store *s, unsigned long *start, unsigned long *end)
{
	struct stat st;
	char line[512], perms[8];
	unsigned long a, b, ino;
	FILE *f;
	int fd, rc = -1;

	if (mdb_env_get_fd(s->env, &fd) || fstat(fd, &st))
		return -1;
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while (rc && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &a, &b, perms, &ino) == 4 &&
		    ino == (unsigned long)st.st_ino && perms[3] == 's') {
			*start = a;
			*end = b;
			rc = 0;
		}
	fclose(f);
	return rc;
}

void store_drop_pages(struct store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	unsigned long start, end;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;

	if (mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &st) || map_range(s, &start, &end))
		return;
	len = ((size_t)info.me_last_pgno + 1) * st.ms_psize; /* the used part only */
	len = (len + page - 1) & ~(page - 1);
	if (len > end - start)
		len = end - start;
	madvise((void *)start, len, MADV_DONTNEED); /* a hint: a failure changes nothing */
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_writer_stop(s);
	store_unlock(s);
	envs_close(s);
	explicit_bzero(s->key, sizeof(s->key));
	st_mac_free(s->mac);
	free(s->dir);
	free(s);
}

/* A second process's message: who holds the lock, from what apply.lock
 * says ("<pid> <command>"; older versions wrote the pid alone). */
static int lock_held(struct rc_err *err, const struct store *s, int fd)
{
	char buf[64], pid[24] = "", cmd[16] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "%23s %15s", pid, cmd) < 1 || strspn(pid, "0123456789") != strlen(pid))
		snprintf(pid, sizeof(pid), "unknown");
	if (!strcmp(cmd, "-"))
		cmd[0] = '\0';
	if (!strcmp(cmd, "serve"))
		return rc_errf(err, RC_ELOCKED, "state directory %s is in use by reconcile serve "
			       "(pid %s): serve applies every site itself; stop it first to apply "
			       "by hand", s->dir, pid);
	if (*cmd)
		return rc_errf(err, RC_ELOCKED, "state directory %s is locked by reconcile %s "
			       "(pid %s); wait for it to finish: the lock is released when that "
			       "process exits", s->dir, cmd, pid);
	return rc_errf(err, RC_ELOCKED, "state directory %s is locked by another reconcile "
		       "process (apply or serve, pid %s); an apply releases it when it ends, "
		       "serve when it is stopped", s->dir, pid);
}

int store_lock(struct store *s, struct rc_err *err)
{
	char *path = rc_sprintf("%s/apply.lock", s->dir);
	char buf[48];
	int fd, rc = RC_OK;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = lock_held(err, s, fd);
		close(fd);
		goto out;
	}
	snprintf(buf, sizeof(buf), "%d %s\n", (int)getpid(), *holder_cmd ? holder_cmd : "-");
	/* pid and command only name the holder in a second process's
	 * message: failing to write them does not make the lock any less held */
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

MDB_env *st_env(const struct store *s, enum store_lane lane)
{
	return lane == STORE_LANE_EVENTS ? s->evenv : s->env;
}

int st_txn_begin(struct store *s, enum store_lane lane, bool write, struct store_txn **out,
		 struct rc_err *err)
{
	struct store_txn *t = rc_calloc(1, sizeof(*t));
	int rc = mdb_txn_begin(st_env(s, lane), NULL, write ? 0 : MDB_RDONLY, &t->txn);

	if (rc) {
		free(t);
		return st_lmdb_err(err, s, "begin transaction", rc);
	}
	t->s = s;
	t->log = write && lane == STORE_LANE_STATE ? st_log_new(s) : NULL;
	*out = t;
	return RC_OK;
}

int store_txn_begin(struct store *s, bool write, struct store_txn **out,
		    struct rc_err *err)
{
	return st_txn_begin(s, STORE_LANE_STATE, write, out, err);
}

/* A replica (cluster mode) takes the changes first: when it cannot,
 * nothing commits. */
int store_txn_commit(struct store_txn *t, struct rc_err *err)
{
	struct store *s = t->s;
	int rc = st_publish(s, t->log, err);

	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	rc = mdb_txn_commit(t->txn);
	st_log_free(t->log);
	free(t);
	return rc ? st_lmdb_err(err, s, "commit", rc) : RC_OK;
}

void store_txn_abort(struct store_txn *t)
{
	if (!t)
		return;
	mdb_txn_abort(t->txn);
	st_log_free(t->log);
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
	int rc = st_put(t, dbi, k, &v, 0);

	free(s);
	return rc ? st_lmdb_err(err, t->s, "put", rc) : RC_OK;
}

json_t *st_get_json(const MDB_val *v)
{
	return json_loadb(v->mv_data, v->mv_size, 0, NULL);
}

int st_each_prefix_from(struct store_txn *t, MDB_dbi dbi, const char *site, const void *from,
			size_t from_len, prefix_cb cb, void *payload, struct rc_err *err)
{
	size_t n = strlen(site) + 1;
	MDB_cursor *c;
	MDB_val k, v, rest;
	int rc, stop = 0;

	rc = mdb_cursor_open(t->txn, dbi, &c);
	if (rc)
		return st_lmdb_err(err, t->s, "cursor", rc);
	k.mv_data = (void *)from;
	k.mv_size = from_len;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && st_has_prefix(&k, site)) {
		rest.mv_data = (char *)k.mv_data + n;
		rest.mv_size = k.mv_size - n;
		stop = cb(c, &rest, &v, payload);
		if (stop)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (stop)
		return stop;
	return rc && rc != MDB_NOTFOUND ? st_lmdb_err(err, t->s, "read", rc) : RC_OK;
}

int st_each_prefix(struct store_txn *t, MDB_dbi dbi, const char *site, prefix_cb cb,
		   void *payload, struct rc_err *err)
{
	return st_each_prefix_from(t, dbi, site, site, strlen(site) + 1, cb, payload, err);
}

struct del_ctx {
	struct store_txn *t;
	const struct rc_map *keep;
};

static int del_cb(MDB_cursor *c, const MDB_val *rest, const MDB_val *v, void *p)
{
	struct del_ctx *d = p;
	char *name = rc_strndup(rest->mv_data, rest->mv_size);
	int rc = 0;

	(void)v;
	if (!d->keep || !rc_map_get(d->keep, name, NULL))
		rc = st_cursor_del(d->t, c) ? -1 : 0;
	free(name);
	return rc;
}

/* Delete every key of a site in dbi whose name is not kept(). */
static int del_prefix(struct store_txn *t, MDB_dbi dbi, const char *site,
		      const struct rc_map *keep, struct rc_err *err)
{
	struct del_ctx d = { t, keep };
	int rc = st_each_prefix(t, dbi, site, del_cb, &d, err);

	return rc < 0 ? rc_errf(err, RC_EIO, "state %s: cannot delete under %s", t->s->dir, site) : rc;
}

/* --------------------------------------------------------- pmslast */

int store_pms_keep_only(struct store_txn *t, const char *site, const struct rc_map *keep,
			struct rc_err *err)
{
	return del_prefix(t, t->s->pmslast, site, keep, err);
}

/* A pmslast record: binary (version byte 0x01, flags: 1 overdue,
 * 2 overlocked, 4 code known; the sync stamp's length and bytes; the code
 * hash), or the JSON of versions before it. */
#define PMS_V1 0x01

static int pms_rec_v1(const MDB_val *v, struct pms_rec *out)
{
	const unsigned char *p = v->mv_data;
	size_t n;

	if (v->mv_size < 3)
		return -1;
	out->overdue = p[1] & 1;
	out->overlocked = p[1] & 2;
	out->has_code = p[1] & 4;
	n = p[2];
	if (n >= sizeof(out->synced) || v->mv_size != 3 + n + (out->has_code ? RC_HASH_LEN : 0))
		return -1;
	memcpy(out->synced, p + 3, n);
	out->synced[n] = '\0';
	if (out->has_code)
		memcpy(out->code_hash, p + 3 + n, RC_HASH_LEN);
	return 0;
}

static int pms_rec_json(const MDB_val *v, struct pms_rec *out)
{
	json_t *j = st_get_json(v);
	const char *ch;

	if (!json_is_object(j)) {
		json_decref(j);
		return -1;
	}
	out->overdue = json_is_true(json_object_get(j, "od"));
	out->overlocked = json_is_true(json_object_get(j, "ol"));
	snprintf(out->synced, sizeof(out->synced), "%s",
		 json_string_value(json_object_get(j, "sy")) ?: "");
	ch = json_string_value(json_object_get(j, "ch"));
	out->has_code = ch && rc_unhex(ch, out->code_hash, RC_HASH_LEN) == 0;
	json_decref(j);
	return 0;
}

static int pms_rec_from(struct store_txn *t, const char *site, const char *rental_id,
			const MDB_val *v, struct pms_rec *out, struct rc_err *err)
{
	const unsigned char *p = v->mv_data;
	int bad;

	memset(out, 0, sizeof(*out));
	snprintf(out->rental_id, sizeof(out->rental_id), "%s", rental_id);
	bad = v->mv_size && p[0] == PMS_V1 ? pms_rec_v1(v, out) : pms_rec_json(v, out);
	if (bad)
		return rc_errf(err, RC_EPARSE, "state %s: pmslast %s/%s is corrupt", t->s->dir,
			       site, rental_id);
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
	unsigned char b[3 + sizeof(r->synced) + RC_HASH_LEN];
	size_t n = strnlen(r->synced, sizeof(r->synced) - 1);
	MDB_val k, v = { 3 + n, b }, old;
	int rc;

	b[0] = PMS_V1;
	b[1] = (unsigned char)((r->overdue ? 1 : 0) | (r->overlocked ? 2 : 0) |
			       (r->has_code ? 4 : 0));
	b[2] = (unsigned char)n;
	memcpy(b + 3, r->synced, n);
	if (r->has_code) {
		memcpy(b + 3 + n, r->code_hash, RC_HASH_LEN);
		v.mv_size += RC_HASH_LEN;
	}
	st_make_key(&k, site, r->rental_id, strlen(r->rental_id));
	rc = mdb_get(t->txn, t->s->pmslast, &k, &old);
	if (rc == 0 && old.mv_size == v.mv_size && memcmp(old.mv_data, b, v.mv_size) == 0)
		rc = 0; /* unchanged: no page written */
	else
		rc = st_put(t, t->s->pmslast, &k, &v, 0);
	free(k.mv_data);
	return rc ? st_lmdb_err(err, t->s, "write pmslast", rc) : RC_OK;
}

int store_pms_del(struct store_txn *t, const char *site, const char *rental_id,
		  struct rc_err *err)
{
	MDB_val k;
	int rc;

	st_make_key(&k, site, rental_id, strlen(rental_id));
	rc = st_del(t, t->s->pmslast, &k);
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
	rc = st_put(t, t->s->meta, &k, &v, 0);
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

