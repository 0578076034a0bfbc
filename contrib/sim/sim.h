/*
 * sim.h: reconcile-sim, the simulator of the PMS and vendor APIs.
 *
 * One libmicrohttpd server (a thread per connection, one mutex around the
 * state) serves each API under its own path prefix. The whole state is a
 * jansson tree seeded from a JSON file: simulators favour clarity over
 * memory. Each API module is one file with one handler; adding an API is
 * adding a file and a row in sim_main.c's table.
 */
#ifndef RC_SIM_H
#define RC_SIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

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
/* Object of array arr whose "id" equals id (compared as text). */
json_t *sim_find_by_id(json_t *arr, const char *id);
/* The text of an id (integer or string) into buf. */
const char *sim_id_text(json_t *v, char *buf, size_t n);

/* API modules */
void sim_storeganise(const struct sim_req *r, struct sim_resp *out);
void sim_opentech(const struct sim_req *r, struct sim_resp *out);
void sim_openapp(const struct sim_req *r, struct sim_resp *out);
void sim_pti(const struct sim_req *r, struct sim_resp *out);
/* Fill defaults into a freshly seeded state. */
void sim_storeganise_seed(json_t *state);

#endif
