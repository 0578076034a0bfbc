/* store_check.c: a state directory checked before LMDB maps it, and
 * moved aside on --reinit-state. See state/README.md ("Integrity"). */
#define _GNU_SOURCE
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The two meta pages of an LMDB data file, read with pread (never mapped:
 * a file cut short is a SIGBUS once mapped). Layout of LMDB 0.9
 * (libraries/liblmdb/mdb.c: struct MDB_page, MDB_db, MDB_meta; read as
 * mdb_env_read_header does): meta pages at offset 0 and at the page size,
 * each a page header (pgno_t mp_pgno; uint16_t mp_pad, mp_flags with P_META
 * 0x08, mp_lower, mp_upper) then MDB_meta: uint32_t mm_magic (0xBEEFC0DE),
 * mm_version (MDB_DATA_VERSION, 1); void *mm_address; size_t mm_mapsize;
 * MDB_db mm_dbs[2] (uint32_t md_pad, the page size in mm_dbs[0];
 * uint16_t md_flags, md_depth; five size_t); pgno_t mm_last_pg; txnid_t
 * mm_txnid (pgno_t and txnid_t are size_t). The newer valid meta (higher
 * txnid) gives the page size, the last page and its txnid: 0, or -1 when a
 * meta page is missing or not LMDB's. */
static int lmdb_meta_read(int fd, size_t *psize, size_t *last_pg, size_t *txnid)
{
	enum { Z = sizeof(size_t), HDR = Z + 8, DBS = HDR + 8 + 2 * Z, DB = 8 + 5 * Z,
	       LAST = DBS + 2 * DB, TXN = LAST + Z, END = TXN + Z };
	unsigned char b[END];
	size_t off = 0, last, txn, best = 0;
	uint32_t magic, version, ps = 0;
	uint16_t flags;
	int i;

	for (i = 0; i < 2; i++, off = ps) {
		if (pread(fd, b, END, (off_t)off) != END)
			return -1;
		memcpy(&flags, b + Z + 2, 2);
		memcpy(&magic, b + HDR, 4);
		memcpy(&version, b + HDR + 4, 4);
		if (!(flags & 0x08) || magic != 0xBEEFC0DE || version != 1)
			return -1;
		if (i == 0) {
			memcpy(&ps, b + DBS, 4);
			if (ps < 512 || ps > 0x10000 || (ps & (ps - 1)))
				return -1;
		}
		memcpy(&last, b + LAST, Z);
		memcpy(&txn, b + TXN, Z);
		if (i == 0 || txn > best) {
			best = txn;
			*last_pg = last;
		}
	}
	*psize = ps;
	*txnid = best;
	return 0;
}

static bool exists_in(const char *dir, const char *name)
{
	char *p = rc_sprintf("%s/%s", dir, name);
	bool yes = access(p, F_OK) == 0;

	free(p);
	return yes;
}

/* A state directory that must not be opened as it is: the detail (what is
 * wrong with which file), then what to do. */
int st_damaged(struct rc_err *err, const char *dir, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return rc_errf(err, RC_EIO, "state directory %s is damaged: %s. Restore it from a backup, "
		       "or run the command again with --reinit-state to move the damaged files aside "
		       "(<name>.damaged-<time>, nothing is deleted) and start from an empty state "
		       "(its journal and what was applied are then forgotten)", dir, detail);
}

/* An LMDB file's meta pages, and its length against them: 0, or damaged
 * (st_damaged). *txnid: the newer meta's. */
static int check_lmdb(const char *dir, const char *path, const struct stat *st, size_t *txnid,
		      struct rc_err *err)
{
	size_t psize = 0, last = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = RC_OK;

	if (fd < 0)
		return rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode) || lmdb_meta_read(fd, &psize, &last, txnid) != 0)
		rc = st_damaged(err, dir, "%s is not an LMDB data file, or its meta pages are damaged",
			     path);
	else if ((uint64_t)st->st_size < ((uint64_t)last + 1) * psize)
		rc = st_damaged(err, dir, "%s is %lld bytes, but its meta page says %llu (the file "
			     "was cut short: an interrupted copy, a full disk?)", path,
			     (long long)st->st_size, (unsigned long long)(last + 1) * psize);
	close(fd);
	return rc;
}

/* events.mdb, when there is one (a state of an older version has none; an
 * empty one is what a first open killed at once left). */
static int check_events(const char *dir, struct rc_err *err)
{
	char *path = rc_sprintf("%s/events.mdb", dir);
	size_t txnid = 0;
	struct stat st;
	int rc = RC_OK;

	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			rc = rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
	} else if (st.st_size > 0) {
		rc = check_lmdb(dir, path, &st, &txnid, err);
	}
	free(path);
	return rc;
}

/* Before LMDB maps data.mdb: a file shorter than its meta pages say, an
 * empty or missing one where the state held data (hash.key, apply.lock:
 * both are made after data.mdb), or data without its hash key, is refused.
 * A directory with none of these is a new state, and so is one that a
 * first open left before its key was made (lock.mdb, an empty data.mdb,
 * or one holding only the transaction that created its databases). Then
 * events.mdb, the same way. */
int st_state_check(const char *dir, struct rc_err *err)
{
	char *path = rc_sprintf("%s/data.mdb", dir);
	bool key = exists_in(dir, "hash.key");
	size_t txnid = 0;
	struct stat st;
	bool absent = stat(path, &st) != 0;
	int rc = RC_OK;

	if (absent && errno != ENOENT) {
		rc = rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (absent || st.st_size == 0) {
		if (key || exists_in(dir, "apply.lock"))
			rc = st_damaged(err, dir, "%s is %s, but %s beside it says the state held data",
				     path, absent ? "missing" : "empty", key ? "hash.key" : "apply.lock");
		goto out;
	}
	rc = check_lmdb(dir, path, &st, &txnid, err);
	if (!rc && !key && txnid > 1) /* 1: the open that made it, nothing written since */
		rc = st_damaged(err, dir, "%s holds a state but %s/hash.key is missing (the key of "
			     "its code hashes: a new one would make every stored hash wrong)", path,
			     dir);
out:
	if (!rc)
		rc = check_events(dir, err);
	free(path);
	return rc;
}

/* --reinit-state: the state files go aside as <name>.damaged-<UTC time>
 * (never over an existing file, never deleted), under the apply lock so
 * that no apply or serve is using them. */
int st_move_aside(const char *dir, struct rc_err *err)
{
	static const char *const names[] = { "data.mdb", "lock.mdb", "hash.key", "events.mdb",
					     "events.mdb-lock" };
	char *lock = rc_sprintf("%s/apply.lock", dir), *from = NULL, *to = NULL;
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int fd, rc = RC_OK;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = rc_errf(err, RC_ELOCKED, "state directory %s: --reinit-state: %s is held by "
			     "another reconcile process (apply or serve): stop it first", dir, lock);
		goto out;
	}
	for (i = 0; !rc && i < sizeof(names) / sizeof(names[0]); i++) {
		free(from);
		free(to);
		from = rc_sprintf("%s/%s", dir, names[i]);
		to = rc_sprintf("%s/%s.damaged-%s", dir, names[i], ts);
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
			fprintf(stderr, "reconcile: --reinit-state: %s moved aside to %s\n", from, to);
		else if (errno != ENOENT)
			rc = rc_errf(err, RC_EIO, "state directory %s: --reinit-state: cannot move %s "
				     "to %s: %s", dir, from, to, strerror(errno));
	}
out:
	if (fd >= 0)
		close(fd); /* the lock goes with it */
	free(from);
	free(to);
	free(lock);
	return rc;
}

/* Every record of the databases dbis of env, once. */
static int read_env(MDB_env *env, const MDB_dbi *dbis, size_t n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *c;
	MDB_val k, v;
	size_t i;
	int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);

	for (i = 0; !rc && i < n; i++) {
		rc = mdb_cursor_open(txn, dbis[i], &c);
		if (rc)
			break;
		do
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		while (!rc);
		mdb_cursor_close(c);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

/* --reinit-state also reads every record once the state opened: a damaged
 * page (MDB_CORRUPTED, MDB_PAGE_NOTFOUND) found there is a damaged state. */
int st_read_all(struct store *s, const char **file)
{
	MDB_dbi dbis[] = { s->observed, s->pmslast, s->journal, s->meta, s->obsidx, s->jopen };
	MDB_dbi evdbis[] = { s->events, s->evtime };
	int rc = read_env(s->env, dbis, sizeof(dbis) / sizeof(dbis[0]));

	*file = "data.mdb";
	if (rc)
		return rc;
	*file = "events.mdb";
	return read_env(s->evenv, evdbis, sizeof(evdbis) / sizeof(evdbis[0]));
}

/* Does the state hold any record hashed with its key? */
static int holds_hashes(struct store *s, bool *yes, struct rc_err *err)
{
	MDB_dbi dbis[] = { s->observed, s->pmslast, s->obsidx, s->journal };
	MDB_txn *txn;
	MDB_stat st;
	size_t i;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);

	*yes = false;
	if (rc)
		return st_lmdb_err(err, s, "read", rc);
	for (i = 0; !rc && !*yes && i < sizeof(dbis) / sizeof(dbis[0]); i++) {
		rc = mdb_stat(txn, dbis[i], &st);
		*yes = !rc && st.ms_entries > 0;
	}
	mdb_txn_abort(txn);
	return rc ? st_lmdb_err(err, s, "read", rc) : RC_OK;
}

int store_use_hash_key(struct store *s, const unsigned char key[32], struct rc_err *err)
{
	char *path, *tmp;
	bool used;
	int fd, rc;

	if (!memcmp(s->key, key, sizeof(s->key)))
		return RC_OK;
	rc = holds_hashes(s, &used, err);
	if (rc)
		return rc;
	if (used)
		return rc_errf(err, RC_EINVAL, "state %s holds records hashed with its own hash.key, "
			       "not the cluster's hash key: to bring this state into the cluster, give "
			       "cluster.hash_key the file's key (od -An -vtx1 %s/hash.key | tr -d ' \\n'); "
			       "else start on an empty state directory", s->dir, s->dir);
	path = rc_sprintf("%s/hash.key", s->dir);
	tmp = rc_sprintf("%s/hash.key.%d.tmp", s->dir, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, 32) != 32 || fsync(fd) != 0 || rename(tmp, path) != 0)
		rc = rc_errf(err, RC_EIO, "%s: cannot write the cluster's hash key: %s", path,
			     strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	else
		memcpy(s->key, key, sizeof(s->key));
	free(tmp);
	free(path);
	return rc;
}

bool st_lmdb_damage(int rc)
{
	return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
	       rc == MDB_VERSION_MISMATCH;
}

