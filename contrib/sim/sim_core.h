/*
 * sim_core.h: the pieces of reconcile-sim's server that API modules do not
 * see: the state lock and seed loading (sim_main.c), faults (sim_faults.c),
 * the /_sim routes (sim_control.c), the request log (sim_log.c), timed
 * waits on suspended connections (sim_wait.c) and the HTTP glue
 * (sim_server.c).
 */
#ifndef RC_SIM_CORE_H
#define RC_SIM_CORE_H

#include <netinet/in.h>
#include <stdint.h>

#include "sim.h"

struct MHD_Daemon;

/* ---- sim_main.c ---- */
void sim_lock(void);
void sim_unlock(void);
/* (Re)load the seed file into a fresh state, with the default faults (the
 * seed's "_faults", replaced by --faults FILE when given); clears the
 * request log. 0, or -1 with a message in err (the old state is kept).
 * Caller holds the lock (or runs before the server starts). */
int sim_load(char *err, size_t n);
bool sim_is_quiet(void);

/* ---- sim_faults.c ---- */
enum sim_fault_kind {
	SF_NONE,
	SF_500, SF_502, SF_503, SF_429,      /* an error answer, no handler */
	SF_RESET_BEFORE, SF_RESET_AFTER,     /* a TCP reset, before/after the handler */
	SF_DELAY_BEFORE, SF_DELAY_AFTER,     /* delay_ms before/after the handler */
	SF_TRUNCATE, SF_TRUNCATE_JSON,       /* a body cut on the wire / in the JSON */
	SF_SCRIPTED,                         /* a scripted (counted) fault */
	SF_N
};

/* The fault a request meets. */
struct sim_fault {
	enum sim_fault_kind kind;
	int status;       /* the status to answer instead (0: the handler's) */
	int retry_after;  /* seconds for a Retry-After header, -1 for none */
	long delay_ms;    /* delay kinds; scripted: a wait after the handler */
	bool commit;      /* scripted: the handler runs */
	char *body;       /* the answer's body instead of the handler's (new) or NULL */
};

const char *sim_fault_name(enum sim_fault_kind k);
/* The fault for one request to API api (out->kind is SF_NONE when none):
 * consumes a scripted fault, or advances the generator of the first rule
 * that matches. Caller holds the lock; sim_fault_free(out) later. */
void sim_faults_decide(const char *api, const char *method, const char *path,
		       struct sim_fault *out);
void sim_fault_free(struct sim_fault *f);
/* POST /_sim/faults: a configuration (object with "rules", "seed" or
 * "scripted") replaces the current one; an array of scripted faults (or a
 * single one) is appended to them. 0, or -1 with a message (nothing
 * changed). */
int sim_faults_post(json_t *body /* borrowed */, char *err, size_t n);
/* The current configuration with its counters (new). */
json_t *sim_faults_get(void);
/* Set the default configuration (borrowed, may be NULL) and apply it: 0 or
 * -1 with a message (nothing changed). */
int sim_faults_set_default(json_t *cfg, char *err, size_t n);
/* Back to the default configuration, generators reseeded. */
void sim_faults_reset(void);
void sim_faults_clear(void);
void sim_faults_free(void);
/* A random number for latency jitter (not replayable). */
uint64_t sim_rand64(void);

/* ---- sim_control.c ---- */
/* /_sim/... routes. Caller holds the lock. */
void sim_control(const struct sim_req *r, struct sim_resp *out);

/* ---- sim_log.c (caller holds the lock) ---- */
/* Log a request received by an API (api: static); returns its seq. */
long sim_log_add(const struct sim_req *r, const char *api, enum sim_fault_kind fault);
/* The outcome of a logged request: the status the client got (0: none)
 * and, for a faulted request, whether the handler ran. */
void sim_log_done(long seq, int status, bool handled);
/* The entries after seq `since` (NULL: all) as a JSON array (new). */
json_t *sim_log_since(const char *since);
void sim_log_clear(void);   /* DELETE /_sim/requests: seqs go on */
void sim_log_reset(void);   /* a new seed: seqs restart at 1 */
void sim_log_free(void);

/* ---- sim_wait.c ---- */
int sim_wait_start(void);
/* Suspend c (from its access handler) and resume it after ms: 0, or -1
 * when waits have stopped (c is then not suspended). */
int sim_wait_suspend(struct MHD_Connection *c, long ms);
/* Resume every waiting connection at once; later waits fail. */
void sim_wait_stop(void);

/* ---- sim_server.c ---- */
/* Listen on sa with a pool of `threads` poll() threads: the daemon or NULL. */
struct MHD_Daemon *sim_server_start(const struct sockaddr_in *sa, unsigned threads);
void sim_server_stop(struct MHD_Daemon *d);

#endif
