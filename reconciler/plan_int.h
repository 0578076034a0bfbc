/*
 * plan_int.h: what the plan's renderers share inside reconciler/plan*.c:
 * the JSON writer (struct jw) that writes a plan as it is produced.
 *
 * A plan's JSON is written one member or array element at a time, with
 * the punctuation jansson's dump.c would put around them, so the bytes
 * are those of json_dumpf(plan_to_json(p), f, flags). The elements that
 * come by the ten thousand (resource changes, operations) are written
 * straight into the buffer when the flags allow it (one line, keys in
 * the plan's order: what the CLI writes); the rest, and those elements
 * under other flags, go through a small jansson tree and json_dumpb.
 */
#ifndef RC_PLAN_INT_H
#define RC_PLAN_INT_H

#include "plan.h"

struct jw {
	FILE *f;
	size_t flags;
	int indent;          /* JSON_INDENT(n): n, 0 for one line */
	int depth;           /* of the value being dumped: its lines are padded */
	int rc;
	int lvl;             /* direct writing: objects and arrays open (at
			      * most 4: a change's masks, an operation's code) */
	bool first[8];       /* direct writing: no member yet at that level */
	size_t n;            /* bytes in buf */
	char buf[1 << 16];   /* one fwrite per jansson token was a third of
			      * --json's cost */
};

void jw_flush(struct jw *w);
void jw_put(struct jw *w, const char *s, size_t n);
/* jansson's dump_indent: a new line at depth, or a space after a comma
 * on one line (none with JSON_COMPACT). */
void jw_indent(struct jw *w, int depth, bool space);
/* Dump v (stolen) as a value at depth; NULL marks the write failed. */
void jw_value(struct jw *w, json_t *v, int depth);

/* Direct writing, for flags with no indent and no sorted keys
 * (jw_direct): the calls below write what jansson would for the same
 * object. */
bool jw_direct(const struct jw *w);
void jw_open(struct jw *w, char c);        /* '{' or '[' */
void jw_close(struct jw *w, char c);       /* '}' or ']' */
void jw_key(struct jw *w, const char *k);  /* a member's key (and ':') */
void jw_elem(struct jw *w);                /* before an array element */
void jw_str(struct jw *w, const char *s);
void jw_int(struct jw *w, long long i);
void jw_bool(struct jw *w, bool b);
void jw_raw(struct jw *w, const char *s);  /* a literal: null, {}, false */
/* A json_object_set_new(o, k, json_string(s)) member: none when s is NULL. */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, long long i);

/* What a streamed plan holds back until every site is written (the
 * operations after all the resource changes, the findings after all the
 * changes): a temporary file in $TMPDIR (else /tmp), unlinked at once, so
 * that it is disk and not memory; in memory when no file can be made. */
struct spill {
	FILE *f;
	char *mem;           /* open_memstream's buffer, when not a file */
	size_t nmem;
};
int spill_open(struct spill *s);           /* 0, or -1 (nothing open) */
/* The spill's bytes appended to to; the spill closed. 0, or -1. */
int spill_drain(struct spill *s, FILE *to);
void spill_close(struct spill *s);

/* An operation in the plan's JSON (plan_ops.c): as a tree (new), or
 * written straight (jw_direct). */
json_t *plan_op_json(const struct site_plan *sp, const struct op *op);
void plan_op_write(struct jw *w, const struct site_plan *sp, const struct op *op);
/* A resource change written straight (plan_tf.c; jw_direct). */
void plan_tf_write(struct jw *w, const struct site_plan *sp, const struct rchange *c);

#endif
