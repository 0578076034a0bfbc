/* common.c: see common.h. */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void rc_err_clear(struct rc_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0; /* overlong, surrogate, out of range */
	return len;
}

void rc_utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s), k;

	while (n) {
		k = utf8_seq(p, n);
		if (!k) {
			*p = '?';
			k = 1;
		}
		p += k;
		n -= k;
	}
}

char *rc_redact(const char *text, const char *const *secrets, size_t n)
{
	size_t len = strlen(text), i, k, sl;
	unsigned char *hit = rc_calloc(len + 1, 1);
	const char *p;
	struct rc_buf b;

	/* mark every byte any occurrence of any secret covers (overlaps too),
	 * then write each marked run once */
	for (i = 0; i < n; i++) {
		if (!secrets[i] || !*secrets[i])
			continue;
		sl = strlen(secrets[i]);
		for (p = strstr(text, secrets[i]); p; p = strstr(p + 1, secrets[i]))
			memset(hit + (p - text), 1, sl);
	}
	rc_buf_init(&b);
	rc_buf_add(&b, "", 0);
	for (k = 0; k < len; k++) {
		if (!hit[k])
			rc_buf_add(&b, text + k, 1);
		else if (!k || !hit[k - 1])
			rc_buf_puts(&b, "[redacted]");
	}
	free(hit);
	return b.p;
}

int rc_errf(struct rc_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	rc_utf8_scrub(e->msg); /* vendor text cut anywhere: still valid JSON */
	return code;
}

void *rc_grow(void *arr, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 8;
	if (*cap <= n)
		*cap = n + 1;
	return rc_realloc(arr, *cap * elem);
}

int rc_err_prefix(struct rc_err *e, const char *fmt, ...)
{
	char pre[256], old[RC_ERR_MSG_LEN];
	va_list ap;

	if (!e)
		return RC_ERR;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", pre, old);
	rc_utf8_scrub(e->msg);
	return e->code ? e->code : RC_ERR;
}

const char *rc_code_name(int code)
{
	switch (code) {
	case RC_OK: return "ok";
	case RC_EINVAL: return "invalid input";
	case RC_ENOMEM: return "out of memory";
	case RC_EIO: return "i/o error";
	case RC_EHTTP: return "http error";
	case RC_ESTALE: return "stale plan";
	case RC_ELOCKED: return "locked";
	case RC_EPARSE: return "parse error";
	case RC_EVENDOR: return "vendor error";
	case RC_ENOTFOUND: return "not found";
	case RC_EREFUSED: return "refused";
	case RC_EAUTH: return "authentication failed";
	case RC_EEXIST: return "already exists";
	case RC_EWAIT: return "asked to wait";
	default: return "error";
	}
}

static void oom(void)
{
	fputs("reconcile: out of memory\n", stderr);
	abort();
}

void *rc_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *rc_calloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		oom();
	return p;
}

void *rc_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

char *rc_strdup(const char *s)
{
	return s ? rc_strndup(s, strlen(s)) : NULL;
}

char *rc_strndup(const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	p = rc_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *rc_sprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return s;
}

void rc_free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* ---- arena ---- */
struct rc_arena_chunk {
	struct rc_arena_chunk *next;
	size_t cap;
	size_t used;             /* bytes handed out: what the free wipes */
	unsigned char data[];
};

/* Chunks start small and double up to ARENA_CHUNK: a one-rental run's
 * snapshot needs a few KiB, and 64 KiB for it (malloc'd, then wiped
 * whole at the free) was 1.7 % of serve's samples in a flood of webhooks. */
#define ARENA_FIRST (4096 - 64)
#define ARENA_CHUNK (64 * 1024)

void rc_arena_init(struct rc_arena *a)
{
	memset(a, 0, sizeof(*a));
}

void *rc_arena_alloc(struct rc_arena *a, size_t n)
{
	struct rc_arena_chunk *c;
	size_t need = (n + 7) & ~(size_t)7;
	void *p;

	if (!a->head || a->used + need > a->cap) {
		size_t cap = !a->head ? ARENA_FIRST : a->cap * 2 < ARENA_CHUNK ? a->cap * 2 : ARENA_CHUNK;

		if (cap < need)
			cap = need;
		c = rc_malloc(sizeof(*c) + cap);
		c->next = a->head;
		c->cap = cap;
		c->used = 0;
		a->head = c;
		a->used = 0;
		a->cap = cap;
	}
	p = a->head->data + a->used;
	a->used += need;
	a->head->used = a->used;
	memset(p, 0, need);
	return p;
}

char *rc_arena_strndup(struct rc_arena *a, const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	p = rc_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *rc_arena_strdup(struct rc_arena *a, const char *s)
{
	return s ? rc_arena_strndup(a, s, strlen(s)) : NULL;
}

void rc_arena_free(struct rc_arena *a)
{
	struct rc_arena_chunk *c = a->head, *n;

	while (c) {
		n = c->next;
		explicit_bzero(c->data, c->used); /* snapshots hold gate codes */
		free(c);
		c = n;
	}
	rc_arena_init(a);
}

/* ---- buffer ---- */
void rc_buf_init(struct rc_buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

static void buf_grow(struct rc_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	b->cap = b->cap ? b->cap : 256;
	while (b->cap < need)
		b->cap *= 2;
	b->p = rc_realloc(b->p, b->cap);
}

void rc_buf_add(struct rc_buf *b, const void *d, size_t n)
{
	buf_grow(b, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void rc_buf_puts(struct rc_buf *b, const char *s)
{
	rc_buf_add(b, s, strlen(s));
}

void rc_buf_vprintf(struct rc_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void rc_buf_printf(struct rc_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *rc_buf_steal(struct rc_buf *b)
{
	char *p = b->p ? b->p : rc_strdup("");

	rc_buf_init(b);
	return p;
}

void rc_buf_free(struct rc_buf *b)
{
	free(b->p);
	rc_buf_init(b);
}

/* ---- map ---- */
uint64_t rc_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

void rc_map_init(struct rc_map *m)
{
	memset(m, 0, sizeof(*m));
}

static uint32_t map_hash(const char *key)
{
	return (uint32_t)(rc_hash_str(key) >> 32);
}

/* The slot of key (hash h), or the free slot where it would go. */
static size_t map_slot(const struct rc_map *m, const char *key, uint32_t h)
{
	size_t mask = m->cap - 1, i = h & mask;

	while (m->keys[i] && (m->hashes[i] != h || strcmp(m->keys[i], key) != 0))
		i = (i + 1) & mask;
	return i;
}

static void map_rehash(struct rc_map *m, size_t cap)
{
	struct rc_map old = *m;
	size_t i, j;

	m->keys = rc_calloc(cap, sizeof(*m->keys));
	m->vals = rc_calloc(cap, sizeof(*m->vals));
	m->hashes = rc_calloc(cap, sizeof(*m->hashes));
	m->cap = cap;
	for (i = 0; i < old.cap; i++) {
		if (!old.keys[i])
			continue;
		for (j = old.hashes[i] & (cap - 1); m->keys[j]; j = (j + 1) & (cap - 1))
			;
		m->keys[j] = old.keys[i];
		m->vals[j] = old.vals[i];
		m->hashes[j] = old.hashes[i];
	}
	free(old.keys);
	free(old.vals);
	free(old.hashes);
}

void rc_map_reserve(struct rc_map *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 64;

	while (n * 2 > cap)
		cap *= 2;
	if (cap > m->cap)
		map_rehash(m, cap);
}

void rc_map_put(struct rc_map *m, const char *key, size_t val)
{
	uint32_t h = map_hash(key);
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		map_rehash(m, m->cap ? m->cap * 2 : 64);
	i = map_slot(m, key, h);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->hashes[i] = h;
		m->n++;
	}
	m->vals[i] = val;
}

bool rc_map_get(const struct rc_map *m, const char *key, size_t *val)
{
	size_t i;

	if (!m->cap || !key)
		return false;
	i = map_slot(m, key, map_hash(key));
	if (!m->keys[i])
		return false;
	if (val)
		*val = m->vals[i];
	return true;
}

const char *rc_map_del(struct rc_map *m, const char *key)
{
	size_t mask, i, j, h;
	const char *gone;

	if (!m->cap || !key)
		return NULL;
	mask = m->cap - 1;
	i = map_slot(m, key, map_hash(key));
	if (!m->keys[i])
		return NULL;
	gone = m->keys[i];
	/* backward shift: pull later keys of the probe run into the hole,
	 * unless their home slot lies cyclically in (hole, their slot] */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!m->keys[j])
			break;
		h = m->hashes[j] & mask;
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		m->hashes[i] = m->hashes[j];
		i = j;
	}
	m->keys[i] = NULL;
	m->n--;
	return gone;
}

void rc_map_free(struct rc_map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->hashes);
	rc_map_init(m);
}

/* ---- misc ---- */
bool rc_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ---- files ---- */
static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/* "16 MiB", "64 KiB", or "1000 bytes" into buf. */
static const char *size_text(uint64_t n, char *buf, size_t len)
{
	if (n && n % (1u << 30) == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(n >> 30));
	else if (n && n % (1u << 20) == 0)
		snprintf(buf, len, "%llu MiB", (unsigned long long)(n >> 20));
	else if (n && n % (1u << 10) == 0)
		snprintf(buf, len, "%llu KiB", (unsigned long long)(n >> 10));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)n);
	return buf;
}

static int too_big(const char *path, const char *kind, uint64_t size, bool more,
		   uint64_t max, struct rc_err *err)
{
	char cap[32];

	return rc_errf(err, RC_EINVAL, "%s: %s%llu bytes, more than the %s %s may have", path,
		       more ? "over " : "", (unsigned long long)size,
		       size_text(max, cap, sizeof(cap)), kind);
}

static int not_regular(const char *path, const char *kind, mode_t m, struct rc_err *err)
{
	return rc_errf(err, RC_EINVAL, "%s: %s, not a regular file (%s must be one)", path,
		       file_kind(m), kind);
}

int rc_open_regular(const char *path, const char *kind, uint64_t max, int *fdp,
		    uint64_t *size, struct rc_err *err)
{
	struct stat st;
	int fd, fl;

	*fdp = -1;
	/* stat first: a device is refused without being opened (opening one
	 * can have effects); fstat after: what was opened is what counts */
	if (stat(path, &st) != 0)
		return rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return not_regular(path, kind, st.st_mode, err);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return not_regular(path, kind, st.st_mode, err);
	}
	if (max && (uint64_t)st.st_size > max) {
		close(fd);
		return too_big(path, kind, (uint64_t)st.st_size, false, max, err);
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		close(fd);
		return rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
	}
	*fdp = fd;
	if (size)
		*size = (uint64_t)st.st_size;
	return RC_OK;
}

int rc_read_file_max(const char *path, const char *kind, uint64_t max, char **out,
		     size_t *len, struct rc_err *err)
{
	struct rc_buf b;
	uint64_t size;
	size_t want;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	rc = rc_open_regular(path, kind, max, &fd, &size, err);
	if (rc)
		return rc;
	rc_buf_init(&b);
	buf_grow(&b, (size_t)size + 1); /* one more byte: is there more? */
	for (;;) {
		if (b.len == b.cap - 1)
			buf_grow(&b, b.len < 65536 ? 65536 : b.len);
		want = b.cap - 1 - b.len;
		if (max && want > max + 1 - b.len)
			want = (size_t)(max + 1 - b.len);
		n = read(fd, b.p + b.len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		if (max && b.len > max) { /* it grew while read */
			rc = too_big(path, kind, max, true, max, err);
			break;
		}
	}
	close(fd);
	if (rc) {
		rc_buf_free(&b);
		return rc;
	}
	b.p[b.len] = '\0';
	if (len)
		*len = b.len;
	*out = b.p;
	return RC_OK;
}

int rc_read_file(const char *path, char **out, size_t *len, struct rc_err *err)
{
	return rc_read_file_max(path, "a file", RC_CAP_FILE, out, len, err);
}

int rc_check_target(const char *path, struct rc_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return RC_OK;
		return rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return rc_errf(err, RC_EINVAL, "%s: %s, not a regular file: refusing to "
			       "write over it (give the path of a file)", path,
			       file_kind(st.st_mode));
	return RC_OK;
}

static void wfile_end(struct rc_wfile *w)
{
	free(w->path);
	free(w->tmp);
	memset(w, 0, sizeof(*w));
}

int rc_wfile_open(struct rc_wfile *w, const char *path, struct rc_err *err)
{
	int fd, rc;

	memset(w, 0, sizeof(*w));
	rc = rc_check_target(path, err);
	if (rc)
		return rc;
	w->path = rc_strdup(path);
	w->tmp = rc_sprintf("%s.tmp.XXXXXX", path);
	fd = mkostemp(w->tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		rc = rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
		wfile_end(w);
		return rc;
	}
	w->f = fdopen(fd, "w");
	if (!w->f) {
		rc = rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(w->tmp);
		wfile_end(w);
		return rc;
	}
	return RC_OK;
}

void rc_wfile_abort(struct rc_wfile *w)
{
	if (w->f) {
		fclose(w->f);
		unlink(w->tmp);
	}
	wfile_end(w);
}

int rc_wfile_commit(struct rc_wfile *w, struct rc_err *err)
{
	int rc = RC_OK, e;

	if (fflush(w->f) != 0 || ferror(w->f) || fsync(fileno(w->f)) != 0) {
		e = errno;
		rc = rc_errf(err, RC_EIO, "%s: write failed: %s", w->path, strerror(e ? e : EIO));
		rc_wfile_abort(w);
		return rc;
	}
	if (fclose(w->f) != 0) {
		w->f = NULL;
		rc = rc_errf(err, RC_EIO, "%s: write failed: %s", w->path, strerror(errno));
		unlink(w->tmp);
		wfile_end(w);
		return rc;
	}
	w->f = NULL;
	/* again just before the rename: the target may have changed since */
	rc = rc_check_target(w->path, err);
	if (!rc && rename(w->tmp, w->path) != 0)
		rc = rc_errf(err, RC_EIO, "%s: %s", w->path, strerror(errno));
	if (rc)
		unlink(w->tmp);
	wfile_end(w);
	return rc;
}

int rc_write_file(const char *path, const void *data, size_t len,
		  struct rc_err *err)
{
	struct rc_wfile w;
	int rc;

	rc = rc_wfile_open(&w, path, err);
	if (rc)
		return rc;
	if (len && fwrite(data, 1, len, w.f) != len) {
		rc = rc_errf(err, RC_EIO, "%s: write failed: %s", path, strerror(errno));
		rc_wfile_abort(&w);
		return rc;
	}
	return rc_wfile_commit(&w, err);
}

void rc_now_iso(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

double rc_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool rc_ct_equal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void rc_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rc_unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		hi = nibble(hex[2 * i]);
		lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return hex[2 * n] ? -1 : 0;
}
