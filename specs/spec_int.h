/*
 * spec_int.h: what the loader's modules share (spec.c, spec_http.c); not
 * for other folders.
 */
#ifndef RC_SPEC_INT_H
#define RC_SPEC_INT_H

#include "spec.h"

struct spec_ld {
	const char *file;
	const char *dir;
	struct rc_err *err;
	const struct spec_vendor *const *vendors;  /* NULL-terminated */
};

/* "serve" (o borrowed, NULL when absent) into *s; pms_type names the PMS
 * as a peer of requests_per_second. */
int spec_load_serve(struct spec_ld *l, json_t *o, const char *pms_type, struct spec_serve *s);
/* "http" (o borrowed, NULL when absent): s->http, s->pms_http and
 * s->vendor_http (new, one per vendor of l's table; spec_free frees it). */
int spec_load_http(struct spec_ld *l, json_t *o, const char *pms_type, struct spec *s);

#endif
