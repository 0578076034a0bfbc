/*
 * sim.h: reconcile-sim, the simulator of the PMS and vendor APIs.
 *
 * One libmicrohttpd server (poll() threads, one by default; one mutex
 * around the state) serves each API under its own path prefix. The whole
 * state is a jansson tree seeded from a JSON file: simulators favour
 * clarity over memory; lookups go through sim_ix_* indexes so that a big
 * seed stays fast. Each API module is one file with one handler; adding
 * an API is adding a file and a row in sim_apis.c's table.
 *
 * Everything here is called with the state lock held (handlers are).
 */
#ifndef RC_SIM_H
#define RC_SIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

struct sim_req {
	const char *method;
	const char *path;        /* without the query string */
	const char *api_path;    /* path after the module's prefix */
	struct MHD_Connection *conn;
	const char *body;
	size_t body_len;
};

struct sim_resp {
	int status;
	json_t *body;            /* new reference (may be NULL) */
	char extra_header[128];  /* e.g. "Retry-After: 2" */
};

/* One API: the requests whose path starts with prefix go to handle. */
struct sim_api {
	const char *prefix;      /* "/opentech/" */
	const char *name;        /* "opentech": the state section, fault and setting key */
	void (*handle)(const struct sim_req *r, struct sim_resp *out);
	void (*seed)(json_t *state); /* fills defaults into a fresh state; may be NULL */
};

/* The table (sim_apis.c), ended by a row whose prefix is NULL. A test
 * build links its own table instead. */
extern const struct sim_api sim_apis[];

/* The state (borrowed; callers hold the state lock). */
json_t *sim_state(void);
/* Header and query values (borrowed, may be NULL). */
const char *sim_header(const struct sim_req *r, const char *name);
const char *sim_query(const struct sim_req *r, const char *name);
/* Form field of an x-www-form-urlencoded body (new string or NULL). */
char *sim_form(const struct sim_req *r, const char *name);
/* JSON body (new reference or NULL). */
json_t *sim_json_body(const struct sim_req *r);
/* Set an error/answer. */
void sim_reply(struct sim_resp *out, int status, json_t *body /* stolen */);
/* Current time, ISO 8601 with milliseconds. buf >= 32. */
void sim_now_iso(char *buf, size_t n);
/* Random lower-case hex of 2*n digits into buf (>= 2n+1). */
void sim_random_hex(char *buf, size_t n);
/* Object of array arr whose "id" equals id (compared as text; borrowed). */
json_t *sim_find_by_id(json_t *arr, const char *id);
/* The text of an id (integer or string) into buf. */
const char *sim_id_text(json_t *v, char *buf, size_t n);

/*
 * Indexes (sim_index.c). An index maps the text of a key of the objects
 * of one array (`fields`: a member name, a dotted path "a.b", or several
 * joined by '+', whose texts the key joins by '\x1f') to those objects, in
 * the array's order. It is built on
 * first use and kept up to date by sim_ix_append, sim_ix_remove and
 * sim_ix_patch; any other change to an indexed member or to the array must
 * be followed by sim_ix_invalidate (every index is then rebuilt on its
 * next use).
 * Lookups only narrow the candidates: callers still test their predicate.
 */
/* Objects whose key is `key` (borrowed array, NULL when none). */
json_t *sim_ix_all(json_t *arr, const char *fields, const char *key);
/* The first of them (borrowed) or NULL. */
json_t *sim_ix_first(json_t *arr, const char *fields, const char *key);
/* The greatest integer value of member `field` over arr (`floor` when
 * none is greater). */
json_int_t sim_ix_max(json_t *arr, const char *field, json_int_t floor);
/* Append o (stolen) to arr and to arr's indexes. */
void sim_ix_append(json_t *arr, json_t *o);
/* Remove o (an element of arr) from arr and from its indexes. */
void sim_ix_remove(json_t *arr, json_t *o);
/* Change o (an element of arr) with fn(o, p): only the indexes of arr
 * whose key of o changed are rebuilt (on their next use), so that a
 * patch of a member nothing is indexed by leaves every index as it is. */
void sim_ix_patch(json_t *arr, json_t *o, void (*fn)(json_t *o, void *p), void *p);
void sim_ix_invalidate(void);
/* Forget every index (the state is about to be freed). */
void sim_ix_clear(void);

/* API modules */
void sim_storeganise(const struct sim_req *r, struct sim_resp *out);
void sim_opentech(const struct sim_req *r, struct sim_resp *out);
void sim_openapp(const struct sim_req *r, struct sim_resp *out);
void sim_pti(const struct sim_req *r, struct sim_resp *out);
/* Fill defaults into a freshly seeded state. */
void sim_storeganise_seed(json_t *state);

#endif
