/*
 * harness.h: end-to-end test helpers. Starts the real simulator binary
 * (reconcile-sim) and the real reconcile binary, talks HTTP to the
 * simulator, and captures what reconcile prints.
 *
 * Binaries come from RECONCILE_BIN / RECONCILE_SIM_BIN (set by ctest).
 *
 * Temp dirs are made under $TMPDIR (/tmp when unset or empty) and removed
 * by e2e_stop, or when the test process ends, unless E2E_KEEP=1. Every
 * process the harness starts is killed when the test process ends, however
 * it ends: at exit, on a fatal signal (the signal then does what it did
 * before), on a sanitizer's report, and by PR_SET_PDEATHSIG on a SIGKILL.
 * The harness must be used from the main thread (PDEATHSIG follows the
 * thread that forks).
 */
#ifndef RC_E2E_HARNESS_H
#define RC_E2E_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct e2e {
	char dir[256];        /* temp dir under $TMPDIR: spec.json, state/, outputs */
	char spec[300];
	pid_t sim_pid;
	int port;
	char base[64];        /* http://127.0.0.1:PORT */
};

struct run {
	int status;           /* exit code, or -1 */
	char *out;            /* stdout (new) */
	char *err;            /* stderr (new) */
};

/* Start the simulator with a seed (path relative to the source dir, or
 * absolute) and
 * write a spec with one OpenTech site per entry of sites[] = {name,
 * pms_site_id, property_number}. Sets the credential environment. */
void e2e_start(struct e2e *t, const char *seed, const char *const sites[][3],
	       size_t nsites);
/* Start the simulator with a seed and write a spec whose one site is
 * site_json (a JSON object; "@SIM@" stands for the simulator's URL). */
void e2e_start_site(struct e2e *t, const char *seed, const char *site_json);
/* Same with one OpenApp site (org, integration, comma list of lobby portals). */
void e2e_start_openapp(struct e2e *t, const char *seed, const char *site,
		       const char *pms_site_id, const char *org, const char *integration,
		       const char *lobby);
/* Same with one PTI site whose site credentials are PMS site custom fields. */
void e2e_start_pti(struct e2e *t, const char *seed, const char *site, const char *pms_site_id);
/* Set key of the spec's "http" section to value (peer NULL), or of its
 * peer's object "http.<peer>" (a vendor's name or "storeganise"); value
 * < 0 removes the key. */
void e2e_spec_http(struct e2e *t, const char *peer, const char *key, long value);
/* Stop the simulator and remove the temp dir (kept under E2E_KEEP=1). */
void e2e_stop(struct e2e *t);

/* $TMPDIR, or /tmp when it is unset or empty (borrowed). */
const char *e2e_tmpdir(void);
/* A new dir $TMPDIR/reconcile-e2e-XXXXXX (absolute, len >= 256), removed
 * at the end of the process unless e2e_rmdtemp was called first. */
void e2e_mkdtemp(char *dir, size_t len);
/* Remove such a dir now (or keep it under E2E_KEEP=1 and say so). */
int e2e_rmdtemp(const char *dir);
/* rm -rf path, not following symbolic links: 0, or -1 with errno. */
int e2e_rm_rf(const char *path);

/* waitpid() for a process the harness started (a plain waitpid is fine
 * too: reaped children are never killed, whoever reaped them). */
pid_t e2e_waitpid(pid_t pid, int *status, int options);
/* Processes of this test process the harness started and nobody reaped. */
size_t e2e_children(void);

/* Run reconcile with args (NULL-terminated, without argv[0]). */
struct run e2e_reconcile(struct e2e *t, const char *const *args);
/* Run reconcile in the background; returns its pid (stdout/err to files). */
pid_t e2e_reconcile_bg(struct e2e *t, const char *const *args);
void run_free(struct run *r);
/* Start argv[0] (a path) with argv in the background, in dir (NULL: this
 * process's), stdout and stderr to the files out and errf (created or
 * truncated; NULL: /dev/null). Recorded like every child: killed when this
 * process ends, unless reaped first (waitpid, wait4). Returns its pid. */
pid_t e2e_spawn_argv(const char *const *argv, const char *dir, const char *out,
		     const char *errf);
/* reconcile args...; prints its output when the exit status is not 0 or 2. */
int e2e_status(struct e2e *t, const char *const *args);
int e2e_apply(struct e2e *t);          /* apply --auto-approve */
int e2e_plan_exit(struct e2e *t);      /* plan --detailed-exitcode */
/* Fresh start: seed reloaded, state dropped, one apply, then a plan that
 * must be empty; the request log is cleared. 0 on success. */
int e2e_converge(struct e2e *t);

/* reconcile serve -c spec --listen 127.0.0.1:0 in the background: its pid
 * and port (dies when it does not start). */
void e2e_serve_start(struct e2e *t, pid_t *pid, int *port);
/* SIGTERM, wait: the exit status (-1 when killed by a signal). */
int e2e_serve_stop(pid_t *pid);
/* POST body (GET without one) to the serve port; signed with secret as
 * sg-signature unless NULL. *answer (may be NULL) is the body (new). */
long e2e_serve_post(int port, const char *path, const char *body, const char *secret,
		    char **answer);
/* A metric's value from /metrics (name includes labels and a trailing
 * space), -1 when absent. */
double e2e_serve_metric(int port, const char *name);

/* Wait (up to 20 s) until serve's queue is empty and no work item runs:
 * false when it did not happen. */
bool e2e_serve_settle(int port);

/* A serve under test: the simulator and spec (t), its pid and port. */
struct e2e_srv {
	struct e2e t;
	pid_t pid;
	int port;
};
/* Kill serve if it still runs, stop the simulator, free s. */
void e2e_srv_free(struct e2e_srv *s);

/* HTTP to the simulator. Return new references (NULL on failure). */
json_t *sim_get(struct e2e *t, const char *path);
json_t *sim_post(struct e2e *t, const char *path, json_t *body /* stolen */);
int sim_delete(struct e2e *t, const char *path);
/* Patch an object of a collection ("storeganise.unitRentals", ...). */
void sim_patch(struct e2e *t, const char *collection, const char *id, json_t *set /* stolen */);
/* An occupied rental of owner on unit at a PMS site. */
void sim_insert_rental(struct e2e *t, const char *site, const char *id, const char *unit,
		       const char *owner);
/* n OpenTech units at site (facility's), B<first>..: unit ub<i>, rental
 * rb<i> of customer cb<i>, occupied, vacant at the vendor. */
void e2e_add_opentech_units(struct e2e *t, const char *site, int facility, int first, int n);
/* One API's part of the simulator state ("pti", "openapp", ...) (new). */
json_t *sim_state_of(struct e2e *t, const char *api);
/* Requests the simulator received since the last sim_clear_requests. */
json_t *sim_requests(struct e2e *t);
void sim_clear_requests(struct e2e *t);
/* Count requests with this method whose path contains `contains`. */
size_t count_requests(json_t *reqs, const char *method, const char *contains);
/* Visitors (tenants) on the OpenTech unit named unit_number. */
size_t sim_tenants_on(struct e2e *t, const char *unit_number);
/* An OpenTech unit's status ("Rented", ...) (new string). */
char *sim_unit_status(struct e2e *t, const char *unit_number);
/* A rental custom field from the simulator (new string or NULL). */
char *sim_rental_field(struct e2e *t, const char *rental_id, const char *field);

/* The first object of array whose string member key equals value
 * (borrowed), NULL when none. */
json_t *json_find_by(json_t *array, const char *key, const char *value);

/* Operations of a plan JSON ("tenant.create", ...), counted by kind. */
size_t plan_ops(json_t *plan, const char *kind);
json_t *parse_json(const char *text);
/* True when any file under dir contains needle (binary-safe search). */
bool dir_contains(const char *dir, const char *needle);
bool file_contains(const char *path, const char *needle);

#endif
