/*
 * bench.h: what the benchmarks of issues 12 and 13 share: child processes
 * timed with wait4 (wall time, max RSS), the simulator started on a seed
 * file, its clock and request log, statistics and the disk's fdatasync
 * cost. Every child goes through the e2e harness (tests/e2e/harness.h), so
 * it is killed however the benchmark ends, and temp dirs are made under
 * $TMPDIR and removed at exit (kept under E2E_KEEP=1).
 *
 * Binaries: RECONCILE_BIN and RECONCILE_SIM_BIN, by default `reconcile` and
 * `reconcile-sim` next to the benchmark's executable (bench_init).
 */
#ifndef RC_BENCH_H
#define RC_BENCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness.h"
#include "core/common.h"

/* One finished child. */
struct bench_proc {
	double wall;      /* seconds, fork to reap */
	long rss_kb;      /* ru_maxrss of the child */
	double cpu;       /* user + system seconds of the child */
	int status;       /* exit code, or -1 when killed by a signal */
};

/* Set the binaries' defaults and the simulator's credentials. */
void bench_init(const char *argv0);
/* CLOCK_MONOTONIC, seconds. */
double bench_now(void);
/* Fail the benchmark: message on stderr, exit 1 (children killed). */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Run argv (argv[0] a path) in dir, stdout/stderr to files (NULL:
 * /dev/null), and wait for it. */
void bench_run(const char *const *argv, const char *dir, const char *out, const char *errf,
	       struct bench_proc *r);
/* The same for `reconcile ARGS...` (args NULL-terminated, without argv[0]). */
void bench_reconcile(const char *const *args, const char *dir, const char *out,
		     const char *errf, struct bench_proc *r);
/* The path of this process's executable (borrowed). */
const char *bench_self(void);

/* Start reconcile-sim --quiet on seed (absolute path), its stdout and
 * stderr in dir; fills t (sim_pid, port, base; t->dir stays empty, so
 * e2e_stop removes nothing). Waits up to 10 min for a big seed to load. */
void bench_sim_start(struct e2e *t, const char *dir, const char *seed);
/* SIGTERM the simulator and reap it. */
void bench_sim_stop(struct e2e *t);
/* POST /_sim/settings {api: {latency_ms, jitter_ms}}. */
void bench_sim_latency(struct e2e *t, const char *api, int latency_ms, int jitter_ms);
/* The offset to add to a simulator `at` to get bench_now() time: the
 * simulator's log clock starts at its first request. Best of n probes. */
double bench_sim_clock(struct e2e *t, int n);

/* HTTP to a URL with no overall timeout (big answers); *status, *body
 * (new, NUL-terminated) may be NULL. headers NULL-terminated or NULL.
 * 0, or -1 on a transport failure. */
int bench_http(const char *method, const char *url, const char *const *headers,
	       const char *body, long *status, char **out);
/* The simulator's request log (GET /_sim/requests) (new reference). */
json_t *bench_sim_requests(struct e2e *t);
/* Write the simulator's PMS to a snapshot file through the Storeganise API
 * (pages of 1000, customFields included): what a PMS holds after apply's
 * write-backs. */
void bench_dump_pms(struct e2e *t, const char *path);

/* Sorts v. p in [0, 100]; 0 when n == 0. */
double bench_pct(double *v, size_t n, double p);
double bench_median(double *v, size_t n);

/* write(4 KiB) + fdatasync on a file in dir, n times: median and p99 in ms. */
void bench_fsync_cost(const char *dir, int n, double *p50_ms, double *p99_ms);
/* User + system seconds a running process (all its threads) has used so
 * far, from /proc/PID/stat; -1 when unreadable. */
double bench_proc_cpu(pid_t pid);
/* File size in bytes, -1 when absent. */
long long bench_file_size(const char *path);
/* The machine: "N CPU, model, Debian V" (static). */
const char *bench_machine(void);
/* Parse an option's integer, at least min (and at most UINT_MAX), or die
 * naming the option. */
unsigned long bench_uarg(const char *opt, const char *val, unsigned long min);

#endif
