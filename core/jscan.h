/*
 * jscan.h: a structural scanner of one JSON text read from a file
 * descriptor through a bounded sliding buffer, so that a large file is
 * decoded a value at a time and never held whole (a PMS snapshot file:
 * providers/storeganise_parse.c).
 *
 * It walks what the caller asks for (an object's members, an array's
 * elements) and hands back each value's bytes whole, as one span, for a
 * JSON parser to decode alone. It checks the structure it walks (blanks,
 * brackets, commas, colons, strings closed, nothing after the text) and
 * nothing inside a span: the parser the span is given to does that. No
 * JSON library is used here (core/ depends on none).
 *
 * The buffer starts at the chunk size (1 MiB by default) and grows only to
 * hold one value larger than it. The file is read with read(2), in order;
 * jscan_seek goes back to an offset seen before (a regular file).
 *
 * Calls returning int return a negative RC_E* code with err set on failure:
 * RC_EPARSE (a structural error or a text that ends early) or RC_EIO (read
 * or seek); jscan_err_offset then is the file offset it concerns. Messages
 * hold no offset and no path: the caller knows both and adds them.
 */
#ifndef RC_JSCAN_H
#define RC_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define JSCAN_CHUNK (1u << 20)

struct jscan {
	int fd;              /* borrowed */
	char *buf;           /* bytes [base, base + len) of the file */
	size_t cap, len;
	size_t pos;          /* the next byte not yet consumed */
	size_t chunk;        /* the first capacity */
	uint64_t base;       /* file offset of buf[0] */
	uint64_t err_off;    /* where the last error is */
	bool eof;
	struct rc_buf key;   /* the last member's key (jscan_member) */
};

/* One value's bytes, exactly (no blanks around). p is borrowed from the
 * scanner: valid until its next call. */
struct jscan_span {
	const char *p;
	size_t len;
	uint64_t off;        /* file offset of p[0] */
};

/* Scan fd (borrowed; read from its current offset, taken as 0 unless a
 * jscan_seek says otherwise). chunk 0: JSCAN_CHUNK. */
void jscan_init(struct jscan *s, int fd, size_t chunk);
void jscan_free(struct jscan *s);

/* The file offset of the next byte not yet consumed. */
uint64_t jscan_offset(const struct jscan *s);
uint64_t jscan_err_offset(const struct jscan *s);
/* Go to file offset off (an lseek; the buffer is emptied). */
int jscan_seek(struct jscan *s, uint64_t off, struct rc_err *err);

/* Skip blanks; *c is the next byte (not consumed), -1 at the end. */
int jscan_peek(struct jscan *s, int *c, struct rc_err *err);
/* Skip blanks and consume open ('{' or '['); RC_EPARSE when the next byte
 * is another. */
int jscan_open(struct jscan *s, char open, struct rc_err *err);
/* The next member of the object opened: 1 with *key its key's bytes
 * (quotes and escapes as written; borrowed, valid until the next
 * jscan_member) and the ':' consumed, the value next; 0 when the object
 * closes ('}' consumed). *i counts the members so far (0 before the
 * first): the scanner keeps no stack. */
int jscan_member(struct jscan *s, size_t *i, struct jscan_span *key, struct rc_err *err);
/* The next element of the array opened: 1 with *v its bytes, consumed;
 * 0 when the array closes (']' consumed). *i as for jscan_member. */
int jscan_element(struct jscan *s, size_t *i, struct jscan_span *v, struct rc_err *err);
/* The next value, whole, consumed (a member's value the caller does not
 * walk into). */
int jscan_value(struct jscan *s, struct jscan_span *v, struct rc_err *err);
/* Only blanks left until the end of the file. */
int jscan_finish(struct jscan *s, struct rc_err *err);

#endif
