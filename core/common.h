/*
 * common.h: error reporting, arenas, growable buffers and arrays, a string
 * map: the ground floor every module of reconcile stands on. Nothing here
 * (nor anywhere in core/) includes a header of the project above it.
 *
 * Conventions (see README "Code style"):
 *  - functions return an int: 0 (RC_OK) on success, a negative RC_E* code
 *    on failure, with details written to a caller-supplied struct rc_err;
 *    each header names the RC_E* codes a call returns beyond RC_EINVAL;
 *  - ownership words follow jansson: "new" (caller frees), "borrowed"
 *    (owned elsewhere, valid while the owner lives), "stolen" (the callee
 *    takes ownership).
 */
#ifndef RC_COMMON_H
#define RC_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum rc_code {
	RC_OK = 0,
	RC_ERR = -1,       /* generic failure */
	RC_EINVAL = -2,    /* bad input (spec, snapshot, arguments) */
	RC_ENOMEM = -3,
	RC_EIO = -4,       /* file or LMDB failure */
	RC_EHTTP = -5,     /* transport failure or unexpected HTTP status */
	RC_ESTALE = -6,    /* saved plan no longer matches */
	RC_ELOCKED = -7,   /* another apply holds the state directory */
	RC_EPARSE = -8,    /* malformed JSON from a peer or a file */
	RC_EVENDOR = -9,   /* the vendor refused an operation */
	RC_ENOTFOUND = -10,
	RC_EREFUSED = -11, /* a safety rule (R10) refused the work */
	RC_EAUTH = -12,    /* credentials rejected */
	RC_EEXIST = -13,   /* already there (a duplicate webhook event) */
	RC_EWAIT = -14     /* the peer asked not to be called before a time */
};

#define RC_ERR_MSG_LEN 512

/*
 * Error detail, as libgit2's last error: a failing function sets it with
 * rc_errf, which replaces whatever an earlier failure left (the innermost
 * call that knows the cause writes it); callers on the way up add where
 * with rc_err_prefix. A function that returns RC_OK leaves no message: one
 * that handles a callee's failure (RC_ENOTFOUND taken as "absent", say)
 * calls rc_err_clear. Messages never hold a secret and are valid UTF-8.
 */
struct rc_err {
	int code;
	char msg[RC_ERR_MSG_LEN];
};

void rc_err_clear(struct rc_err *e);
/* Set e's detail (if e is not NULL; any earlier one is replaced) and
 * return code, which must be an RC_E* failure. */
int rc_errf(struct rc_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the existing message with "prefix: ". Returns e->code. */
int rc_err_prefix(struct rc_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *rc_code_name(int code);

/* Allocation wrappers: abort on out-of-memory (a controller that cannot
 * allocate a few bytes cannot do anything safe either). */
void *rc_malloc(size_t n);
void *rc_calloc(size_t n, size_t sz);
void *rc_realloc(void *p, size_t n);
char *rc_strdup(const char *s);          /* new; NULL in, NULL out */
char *rc_strndup(const char *s, size_t n);
char *rc_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Overwrite then free a secret string. */
void rc_free_secret(char *s);

/* ---- arena: many small strings freed at once ---- */
struct rc_arena_chunk;
struct rc_arena {
	struct rc_arena_chunk *head;
	size_t used, cap;
};
void rc_arena_init(struct rc_arena *a);
void *rc_arena_alloc(struct rc_arena *a, size_t n);     /* zeroed, 8-aligned */
char *rc_arena_strdup(struct rc_arena *a, const char *s); /* NULL in, NULL out */
char *rc_arena_strndup(struct rc_arena *a, const char *s, size_t n);
void rc_arena_free(struct rc_arena *a);  /* wipes then frees every chunk */

/* ---- growable arrays ---- */
/* Room for element n of arr (n used, *cap allocated, elem bytes each):
 * arr itself when it has room, else a larger copy (capacity doubles from
 * 8; the old pointer is invalid). Aborts on out-of-memory. */
void *rc_grow(void *arr, size_t n, size_t *cap, size_t elem);
/* Append one zeroed element to arr (n, cap: size_t lvalues) and evaluate
 * to its address, valid until the next push. */
#define RC_PUSH(arr, n, cap)                                                 \
	((arr) = rc_grow((arr), (n), &(cap), sizeof(*(arr))),                \
	 memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* ---- growable byte buffer, always NUL-terminated ---- */
struct rc_buf {
	char *p;
	size_t len, cap;
};
void rc_buf_init(struct rc_buf *b);
void rc_buf_add(struct rc_buf *b, const void *d, size_t n);
void rc_buf_puts(struct rc_buf *b, const char *s);
void rc_buf_printf(struct rc_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rc_buf_vprintf(struct rc_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
char *rc_buf_steal(struct rc_buf *b);  /* new; buffer is reset */
void rc_buf_free(struct rc_buf *b);

/* ---- string -> size_t map (open addressing; keys borrowed) ----
 * keys[i] NULL is a free slot; hashes[i] holds 32 bits of its key's hash,
 * compared before the key: a probe reads one small array and follows a
 * key pointer (a cache miss at a million keys) only on a likely match. */
struct rc_map {
	const char **keys;
	size_t *vals;
	uint32_t *hashes;
	size_t n, cap;
};
void rc_map_init(struct rc_map *m);
/* Room for n keys without growing (a million-unit site sizes its maps once). */
void rc_map_reserve(struct rc_map *m, size_t n);
/* Insert or replace. The key is borrowed: it must outlive the map. */
void rc_map_put(struct rc_map *m, const char *key, size_t val);
/* Returns true and sets *val when found. */
bool rc_map_get(const struct rc_map *m, const char *key, size_t *val);
/* Remove key: the stored key (borrowed by the map until now, so the
 * caller may free it), NULL when absent. No tombstones (backward shift). */
const char *rc_map_del(struct rc_map *m, const char *key);
void rc_map_free(struct rc_map *m);

/* ---- misc ---- */
uint64_t rc_hash_str(const char *s);
bool rc_streq(const char *a, const char *b);  /* NULL-safe */

/* ---- files: bounded reads, atomic writes ----
 * Every file reconcile reads is a regular file of a bounded size (an
 * endless /dev/zero or a FIFO nobody writes to would hang or exhaust it);
 * every file it writes replaces a regular file or nothing (a device,
 * directory or FIFO at the path is refused, never turned into a file). */
#define RC_CAP_SPEC     ((uint64_t)16 << 20)  /* a spec */
#define RC_CAP_SECRET   ((uint64_t)64 << 10)  /* a *_file credential */
#define RC_CAP_PLAN     ((uint64_t)4 << 30)   /* a saved plan (1M units: ~1 GB) */
#define RC_CAP_SNAPSHOT ((uint64_t)64 << 30)  /* a PMS snapshot file */
#define RC_CAP_FILE     ((uint64_t)1 << 30)   /* rc_read_file: anything else */

/* Open path for reading when it is a regular file of at most max bytes
 * (0: no cap); kind names it in messages ("a spec": "spec.json: 17000000
 * bytes, more than the 16 MiB a spec may have"). A FIFO is refused without
 * waiting for a writer. *fd is new (the caller closes it), blocking;
 * *size (may be NULL) its size when opened. RC_EIO: cannot open or stat;
 * RC_EINVAL: not a regular file, or larger than max. */
int rc_open_regular(const char *path, const char *kind, uint64_t max, int *fd,
		    uint64_t *size, struct rc_err *err);
/* Read a whole regular file of at most max bytes (as rc_open_regular):
 * new buffer, NUL-terminated; *len may be NULL. A file that grows past
 * max while read is refused too. */
int rc_read_file_max(const char *path, const char *kind, uint64_t max, char **out,
		     size_t *len, struct rc_err *err);
/* rc_read_file_max(path, "a file", RC_CAP_FILE, ...). */
int rc_read_file(const char *path, char **out, size_t *len, struct rc_err *err);

/* A file written atomically, as it is produced: writes go to f (a temp
 * file beside path, mode 0600), rc_wfile_commit renames it over path.
 * path must not exist or be a regular file (or a link to one):
 * anything else (a device such as /dev/null, a directory, a FIFO) is
 * refused with RC_EINVAL before anything is written. */
struct rc_wfile {
	FILE *f;           /* borrowed by the writer until commit/abort */
	char *path, *tmp;
};
int rc_wfile_open(struct rc_wfile *w, const char *path, struct rc_err *err);
/* RC_OK when rc_wfile_open would accept path (absent or a regular file):
 * a command checks its output path before its work. RC_EINVAL, RC_EIO. */
int rc_check_target(const char *path, struct rc_err *err);
/* Flush, fsync, rename over path; ends w, whatever it returns (on
 * failure the temp file is removed and path left as it was). RC_EIO. */
int rc_wfile_commit(struct rc_wfile *w, struct rc_err *err);
/* End w without touching path (the temp file is removed). */
void rc_wfile_abort(struct rc_wfile *w);
/* Write data to path through an rc_wfile (same refusals), mode 0600. */
int rc_write_file(const char *path, const void *data, size_t len,
		  struct rc_err *err);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (>= 32 bytes). */
void rc_now_iso(char *buf, size_t n);
double rc_now_mono(void);
/* text with every occurrence of the non-empty secrets replaced by
 * "[redacted]" (new). Redact before cutting a message to size: a cut
 * secret no longer matches. */
char *rc_redact(const char *text, const char *const *secrets, size_t n);
/* Make s valid UTF-8 in place: each byte of an invalid or cut sequence
 * becomes '?' (jansson refuses invalid UTF-8). */
void rc_utf8_scrub(char *s);
/* Constant-time comparison. */
bool rc_ct_equal(const void *a, const void *b, size_t n);
void rc_hex(const unsigned char *in, size_t n, char *out /* 2n+1 */);
/* The n bytes written as 2n hex digits in hex (exactly: a longer or
 * shorter string, or a non-hex digit, is -1 and out is undefined). */
int rc_unhex(const char *hex, unsigned char *out, size_t n);

#endif
