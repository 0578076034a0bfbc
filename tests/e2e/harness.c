/* harness.c: see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#if defined(__SANITIZE_ADDRESS__)
#define E2E_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define E2E_SANITIZER 1
#endif
#endif
#ifdef E2E_SANITIZER
#include <dlfcn.h>
#include <sanitizer/common_interface_defs.h>
#endif

#include "core/common.h"

static void die(const char *what)
{
	fprintf(stderr, "e2e harness: %s: %s\n", what, strerror(errno));
	exit(99);
}

static const char *env_or(const char *k, const char *dflt)
{
	const char *v = getenv(k);

	return v && *v ? v : dflt;
}

/* E2E_KEEP=1, E2E_VERBOSE=1: set, not empty and not "0". */
static bool env_flag(const char *k)
{
	const char *v = getenv(k);

	return v && *v && strcmp(v, "0") != 0;
}

/* ------------------------------------------- children and temp dirs */

/*
 * Every process the harness starts and every temp dir it makes is recorded
 * with the pid of the process that owns it: a test that forks must not
 * clean up its parent's. cleanup() kills and reaps this process's children,
 * then removes its dirs (unless E2E_KEEP). It runs at exit, from the
 * handlers of fatal signals and from a sanitizer's death, so it makes only
 * async-signal-safe calls. A SIGKILL of the test runs nothing: the children
 * have PR_SET_PDEATHSIG(SIGKILL) for that (their dirs stay).
 */
#define MAX_CHILDREN 64
#define MAX_DIRS 16
#define DIR_LEN 256   /* struct e2e's dir */

static volatile sig_atomic_t child_pid[MAX_CHILDREN], child_owner[MAX_CHILDREN];
static char dir_path[MAX_DIRS][DIR_LEN];
static volatile sig_atomic_t dir_owner[MAX_DIRS];
static volatile sig_atomic_t keep_dirs;  /* E2E_KEEP, read when a dir is made */

/* True while pid is a child of this process not reaped yet: a pid reaped
 * by a test's own waitpid() may belong to another process by now. */
static bool is_child(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* Drop the entries of this process whose child was reaped elsewhere. */
static void children_prune(pid_t me)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (child_pid[i] > 0 && child_owner[i] == me && !is_child(child_pid[i]))
			child_pid[i] = 0;
}

static int child_add(pid_t pid)
{
	pid_t me = getpid();
	int i;

	children_prune(me);
	for (i = 0; i < MAX_CHILDREN; i++) {
		if (child_pid[i] > 0)
			continue;
		child_owner[i] = me;
		child_pid[i] = pid;
		return 0;
	}
	return -1;
}

static void child_forget(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (child_pid[i] == pid && child_owner[i] == getpid())
			child_pid[i] = 0;
}

size_t e2e_children(void)
{
	pid_t me = getpid();
	size_t n = 0;
	int i;

	children_prune(me);
	for (i = 0; i < MAX_CHILDREN; i++)
		if (child_pid[i] > 0 && child_owner[i] == me)
			n++;
	return n;
}

pid_t e2e_waitpid(pid_t pid, int *status, int options)
{
	int st = 0;
	pid_t r;

	do
		r = waitpid(pid, &st, options);
	while (r < 0 && errno == EINTR);
	if (r > 0 && (WIFEXITED(st) || WIFSIGNALED(st)))
		child_forget(r);
	if (r > 0 && status)
		*status = st;
	return r;
}

static void kill_children(pid_t me)
{
	pid_t pid;
	int i;

	for (i = 0; i < MAX_CHILDREN; i++) {
		pid = child_pid[i];
		if (pid <= 0 || child_owner[i] != me)
			continue;
		child_pid[i] = 0;
		if (!is_child(pid))
			continue;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

/*
 * fork(), with every signal held until the child is recorded. The child
 * (0 returned) gets SIGKILL when the forking thread ends, even by SIGKILL;
 * it checks its parent after asking, in case that already happened.
 */
static pid_t spawn(void)
{
	pid_t parent = getpid(), pid;
	sigset_t all, old;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(125);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	if (pid > 0 && child_add(pid) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = EMFILE;
		pid = -1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		die("fork (or too many children)");
	return pid;
}

static int rm_at(int dirfd, const char *name, int depth);

/* Remove what directory fd holds. Async-signal-safe: no allocation. */
static int rm_entries(int fd, int depth)
{
	char buf[1024] __attribute__((aligned(8)));
	struct dirent64 *d;
	ssize_t n, off;
	int rc = 0;

	for (;;) {
		n = getdents64(fd, buf, sizeof(buf));
		if (n <= 0)
			return n < 0 ? -1 : rc;
		for (off = 0; off < n; off += d->d_reclen) {
			d = (struct dirent64 *)(buf + off);
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (rm_at(fd, d->d_name, depth + 1) != 0)
				rc = -1;
		}
	}
}

/* rm -rf of name under dirfd, without following symbolic links. */
static int rm_at(int dirfd, const char *name, int depth)
{
	int fd, pass, rc = -1;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if ((errno != EISDIR && errno != EPERM) || depth > 32)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (pass = 0; pass < 3 && rc != 0; pass++) { /* again if it filled meanwhile */
		lseek(fd, 0, SEEK_SET);
		rm_entries(fd, depth);
		rc = unlinkat(dirfd, name, AT_REMOVEDIR);
		if (rc != 0 && errno != ENOTEMPTY)
			break;
	}
	close(fd);
	return rc;
}

int e2e_rm_rf(const char *path)
{
	return rm_at(AT_FDCWD, path, 0);
}

const char *e2e_tmpdir(void)
{
	return env_or("TMPDIR", "/tmp");
}

static void dir_add(const char *dir)
{
	int i;

	keep_dirs = env_flag("E2E_KEEP");
	for (i = 0; i < MAX_DIRS; i++) {
		if (dir_owner[i] != 0)
			continue;
		memcpy(dir_path[i], dir, strlen(dir) + 1);
		dir_owner[i] = getpid();
		return;
	}
	e2e_rm_rf(dir);
	errno = EMFILE;
	die("more than 16 temp dirs at once");
}

void e2e_mkdtemp(char *dir, size_t len)
{
	char *base = realpath(e2e_tmpdir(), NULL);
	int n;

	if (!base) {
		fprintf(stderr, "e2e harness: TMPDIR %s: %s\n", e2e_tmpdir(), strerror(errno));
		exit(99);
	}
	n = snprintf(dir, len, "%s/reconcile-e2e-XXXXXX", base);
	free(base);
	if (n < 0 || (size_t)n >= len || n >= DIR_LEN - 64) {
		fprintf(stderr, "e2e harness: TMPDIR %s: path too long\n", e2e_tmpdir());
		exit(99);
	}
	if (!mkdtemp(dir))
		die(dir);
	dir_add(dir);
}

static void say_kept(const char *dir)
{
	static const char pre[] = "e2e harness: kept ";

	if (write(STDERR_FILENO, pre, sizeof(pre) - 1) < 0 ||
	    write(STDERR_FILENO, dir, strlen(dir)) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		return;
}

/* Remove a dir (kept under E2E_KEEP) and drop it from the record. */
static int dir_done(int i)
{
	dir_owner[i] = 0;
	if (keep_dirs) {
		say_kept(dir_path[i]);
		return 0;
	}
	return e2e_rm_rf(dir_path[i]);
}

int e2e_rmdtemp(const char *dir)
{
	int i;

	keep_dirs = env_flag("E2E_KEEP");
	for (i = 0; i < MAX_DIRS; i++)
		if (dir_owner[i] == getpid() && !strcmp(dir_path[i], dir))
			return dir_done(i);
	return keep_dirs ? 0 : e2e_rm_rf(dir);
}

static void cleanup(void)
{
	pid_t me = getpid();
	int saved = errno, i;

	kill_children(me);
	for (i = 0; i < MAX_DIRS; i++)
		if (dir_owner[i] == me)
			dir_done(i);
	errno = saved;
}

/* Fatal signals: clean up, then let the signal do what it did before
 * (default action, or the sanitizer's report). A crash inside a cmocka
 * test is cmocka's (it fails the test); cleanup() then runs at exit. */
static const int fatal_signals[] = { SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGABRT,
				     SIGBUS,  SIGFPE,  SIGSEGV, SIGPIPE, SIGALRM,
				     SIGTERM, SIGXCPU, SIGXFSZ, SIGSYS };
static struct sigaction old_action[NSIG];

static void on_fatal(int sig)
{
	cleanup();
	sigaction(sig, &old_action[sig], NULL);
	raise(sig); /* delivered when this returns */
}

#ifdef E2E_SANITIZER
/* A sanitizer's report ends in _exit(): clean up before. GCC links libubsan
 * apart from libasan, each with its own callback. */
static void on_sanitizer_death(void)
{
	void (*set)(void (*)(void));
	void *ubsan = dlopen("libubsan.so.1", RTLD_LAZY | RTLD_NOLOAD);

	__sanitizer_set_death_callback(cleanup);
	if (!ubsan)
		return;
	set = (void (*)(void (*)(void)))dlsym(ubsan, "__sanitizer_set_death_callback");
	if (set)
		set(cleanup);
	dlclose(ubsan);
}
#endif

/* Before main, so that cmocka saves and restores these handlers around
 * each test rather than the other way round. */
__attribute__((constructor)) static void harness_init(void)
{
	struct sigaction sa;
	size_t i;
	int sig;

	atexit(cleanup);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		sig = fatal_signals[i];
		if (sigaction(sig, NULL, &old_action[sig]) != 0 ||
		    old_action[sig].sa_handler == SIG_IGN)
			continue;
		sigaction(sig, &sa, NULL);
	}
#ifdef E2E_SANITIZER
	on_sanitizer_death();
#endif
}

static void set_credentials(void)
{
	setenv("E2E_SG_API_KEY", "demo-storeganise-key", 1);
	setenv("E2E_SG_WEBHOOK_SECRET", "e2e-webhook-secret", 1);
	setenv("E2E_OT_API_KEY", "demo-opentech-key", 1);
	setenv("E2E_OT_API_SECRET", "demo-opentech-secret", 1);
	setenv("E2E_OT_CLIENT_ID", "demo-integrator", 1);
	setenv("E2E_OT_CLIENT_SECRET", "demo-integrator-secret", 1);
}

static void write_spec(struct e2e *t, const char *const sites[][3], size_t n)
{
	struct rc_buf b;
	size_t i;
	FILE *f;

	rc_buf_init(&b);
	rc_buf_printf(&b, "{\"version\":1,\"state_dir\":\"state\",\"pms\":{\"type\":\"storeganise\","
		      "\"base_url\":\"%s/storeganise/api\",\"api_key_env\":\"E2E_SG_API_KEY\","
		      "\"webhook_secret_env\":\"E2E_SG_WEBHOOK_SECRET\",\"page_size\":5},"
		      "\"http\":{\"backoff_ms\":20},\"sites\":[",
		      t->base);
	for (i = 0; i < n; i++)
		rc_buf_printf(&b, "%s{\"name\":\"%s\",\"pms_site_id\":\"%s\",\"vendor\":\"opentech\",\"sync_interval\":\"10s\","
			      "\"opentech\":{\"base_url\":\"%s/opentech\",\"property_number\":\"%s\","
			      "\"api_key_env\":\"E2E_OT_API_KEY\",\"api_secret_env\":\"E2E_OT_API_SECRET\","
			      "\"client_id_env\":\"E2E_OT_CLIENT_ID\",\"client_secret_env\":\"E2E_OT_CLIENT_SECRET\","
			      "\"access_profile_id\":1,\"time_group_id\":0}}",
			      i ? "," : "", sites[i][0], sites[i][1], t->base, sites[i][2]);
	rc_buf_puts(&b, "]}\n");
	f = fopen(t->spec, "w");
	if (!f)
		die(t->spec);
	fputs(b.p, f);
	fclose(f);
	rc_buf_free(&b);
}

static void start_sim(struct e2e *t, const char *seed);

void e2e_start(struct e2e *t, const char *seed, const char *const sites[][3],
	       size_t nsites)
{
	start_sim(t, seed);
	write_spec(t, sites, nsites);
}

void e2e_start_site(struct e2e *t, const char *seed, const char *site_json)
{
	struct rc_buf b;
	const char *p, *at;
	FILE *f;

	start_sim(t, seed);
	rc_buf_init(&b);
	rc_buf_printf(&b, "{\"version\":1,\"state_dir\":\"state\",\"pms\":{\"type\":\"storeganise\","
		      "\"base_url\":\"%s/storeganise/api\",\"api_key_env\":\"E2E_SG_API_KEY\","
		      "\"webhook_secret_env\":\"E2E_SG_WEBHOOK_SECRET\",\"page_size\":5},"
		      "\"http\":{\"backoff_ms\":20},\"sites\":[",
		      t->base);
	for (p = site_json; (at = strstr(p, "@SIM@")); p = at + 5) {
		rc_buf_add(&b, p, (size_t)(at - p));
		rc_buf_puts(&b, t->base);
	}
	rc_buf_printf(&b, "%s]}\n", p);
	f = fopen(t->spec, "w");
	if (!f)
		die(t->spec);
	fputs(b.p, f);
	fclose(f);
	rc_buf_free(&b);
}

void e2e_start_openapp(struct e2e *t, const char *seed, const char *site,
		       const char *pms_site_id, const char *org, const char *integration,
		       const char *lobby)
{
	char *json = rc_sprintf("{\"name\":\"%s\",\"pms_site_id\":\"%s\",\"vendor\":\"openapp\","
				"\"openapp\":{\"base_url\":\"@SIM@/openapp/api/v1\",\"api_key_env\":\"E2E_OA_API_KEY\","
				"\"org_id\":\"%s\",\"integration_id\":\"%s\",\"lobby_portal_ids\":[\"%s\"],"
				"\"max_uses\":50}}", site, pms_site_id, org, integration, lobby);

	setenv("E2E_OA_API_KEY", "demo-openapp-key", 1);
	e2e_start_site(t, seed, json);
	free(json);
}

void e2e_start_pti(struct e2e *t, const char *seed, const char *site, const char *pms_site_id)
{
	char *json = rc_sprintf("{\"name\":\"%s\",\"pms_site_id\":\"%s\",\"vendor\":\"pti\","
				"\"pti\":{\"base_url\":\"@SIM@/pti\",\"client_id_env\":\"E2E_PTI_CLIENT_ID\","
				"\"api_key_env\":\"E2E_PTI_API_KEY\",\"site_key_site_field\":\"pti_siteKey\","
				"\"site_code_site_field\":\"pti_siteCode\",\"username_site_field\":\"pti_username\","
				"\"password_site_field\":\"pti_password\",\"access_level\":1,\"zone\":1}}",
				site, pms_site_id);

	setenv("E2E_PTI_CLIENT_ID", "demo-pti-partner", 1);
	setenv("E2E_PTI_API_KEY", "demo-pti-partner-key", 1);
	e2e_start_site(t, seed, json);
	free(json);
}

void e2e_spec_http(struct e2e *t, const char *peer, const char *key, long value)
{
	json_t *spec = json_load_file(t->spec, 0, NULL), *o;

	if (!spec)
		die(t->spec);
	o = json_object_get(spec, "http");
	if (!o) {
		o = json_object();
		json_object_set_new(spec, "http", o);
	}
	if (peer && !json_object_get(o, peer))
		json_object_set_new(o, peer, json_object());
	if (peer)
		o = json_object_get(o, peer);
	if (value < 0)
		json_object_del(o, key);
	else
		json_object_set_new(o, key, json_integer(value));
	if (json_dump_file(spec, t->spec, JSON_INDENT(1)))
		die(t->spec);
	json_decref(spec);
}

static void start_sim(struct e2e *t, const char *seed)
{
	const char *sim = env_or("RECONCILE_SIM_BIN", "build/reconcile-sim");
	const char *src = env_or("RECONCILE_SOURCE_DIR", RECONCILE_SOURCE_DIR);
	char seedpath[512];
	int fd[2];
	FILE *f;

	memset(t, 0, sizeof(*t));
	e2e_mkdtemp(t->dir, sizeof(t->dir));
	snprintf(t->spec, sizeof(t->spec), "%s/spec.json", t->dir);
	if (seed[0] == '/') /* a seed the test made */
		snprintf(seedpath, sizeof(seedpath), "%s", seed);
	else
		snprintf(seedpath, sizeof(seedpath), "%s/%s", src, seed);
	if (pipe(fd) != 0)
		die("pipe");
	t->sim_pid = spawn();
	if (t->sim_pid == 0) {
		char logp[300];
		int lfd;

		snprintf(logp, sizeof(logp), "%s/sim.log", t->dir);
		lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd[1], STDOUT_FILENO);
		if (lfd >= 0)
			dup2(lfd, STDERR_FILENO);
		close(fd[0]);
		execl(sim, sim, "--seed", seedpath, "--port", "0", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (!f || fscanf(f, "%d", &t->port) != 1) {
		fprintf(stderr, "e2e harness: simulator %s did not print its port\n", sim);
		exit(99);
	}
	fclose(f);
	snprintf(t->base, sizeof(t->base), "http://127.0.0.1:%d", t->port);
	set_credentials();
}

void e2e_stop(struct e2e *t)
{
	if (t->sim_pid > 0) {
		kill(t->sim_pid, SIGTERM);
		e2e_waitpid(t->sim_pid, NULL, 0);
		t->sim_pid = 0;
	}
	if (t->dir[0])
		e2e_rmdtemp(t->dir);
	t->dir[0] = '\0';
}

static char *slurp(const char *path)
{
	struct rc_err err;
	char *s = NULL;

	if (rc_read_file(path, &s, NULL, &err))
		return rc_strdup("");
	return s;
}

static void exec_reconcile(struct e2e *t, const char *const *args,
			   const char *outp, const char *errp)
{
	const char *bin = env_or("RECONCILE_BIN", "build/reconcile");
	char *abs = realpath(bin, NULL); /* before the chdir below */
	const char *argv[64];
	int i, o, e;

	argv[0] = "reconcile";
	for (i = 0; args[i] && i < 62; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(o, STDOUT_FILENO);
	dup2(e, STDERR_FILENO);
	close(STDIN_FILENO);
	if (chdir(t->dir) != 0)
		_exit(126);
	setenv("NO_COLOR", "1", 1);
	execv(abs ? abs : bin, (char *const *)argv);
	_exit(127);
}

struct run e2e_reconcile(struct e2e *t, const char *const *args)
{
	static int n;
	struct run r = { -1, NULL, NULL };
	char outp[320], errp[320];
	pid_t pid;
	int st;

	n++;
	snprintf(outp, sizeof(outp), "%s/run%d.out", t->dir, n);
	snprintf(errp, sizeof(errp), "%s/run%d.err", t->dir, n);
	pid = spawn();
	if (pid == 0)
		exec_reconcile(t, args, outp, errp);
	if (e2e_waitpid(pid, &st, 0) < 0)
		die("waitpid");
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = slurp(outp);
	r.err = slurp(errp);
	if (env_flag("E2E_VERBOSE"))
		fprintf(stderr, "--- reconcile exit %d\n%s\n--- stderr\n%s\n", r.status, r.out, r.err);
	return r;
}

int e2e_status(struct e2e *t, const char *const *args)
{
	struct run r = e2e_reconcile(t, args);
	int st = r.status;

	if (st != 0 && st != 2)
		fprintf(stderr, "reconcile %s (exit %d):\n%s\n%s\n", args[0], st, r.out, r.err);
	run_free(&r);
	return st;
}

int e2e_apply(struct e2e *t)
{
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };

	return e2e_status(t, args);
}

int e2e_plan_exit(struct e2e *t)
{
	const char *args[] = { "plan", "-c", t->spec, "--detailed-exitcode", NULL };

	return e2e_status(t, args);
}

int e2e_converge(struct e2e *t)
{
	char state[DIR_LEN + 16];
	int rc;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(state, sizeof(state), "%s/state", t->dir);
	rc = e2e_rm_rf(state);
	if (rc == 0)
		rc = e2e_apply(t);
	if (rc == 0)
		rc = e2e_plan_exit(t);
	sim_clear_requests(t);
	return rc;
}

pid_t e2e_reconcile_bg(struct e2e *t, const char *const *args)
{
	char outp[320], errp[320];
	pid_t pid;

	snprintf(outp, sizeof(outp), "%s/bg.out", t->dir);
	snprintf(errp, sizeof(errp), "%s/bg.err", t->dir);
	pid = spawn();
	if (pid == 0)
		exec_reconcile(t, args, outp, errp);
	return pid;
}

static void redirect(int fd, const char *path)
{
	int f = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (f < 0 || dup2(f, fd) < 0)
		_exit(126);
	close(f);
}

pid_t e2e_spawn_argv(const char *const *argv, const char *dir, const char *out,
		     const char *errf)
{
	pid_t pid = spawn();

	if (pid != 0)
		return pid;
	redirect(STDOUT_FILENO, out);
	redirect(STDERR_FILENO, errf);
	close(STDIN_FILENO);
	if (dir && chdir(dir) != 0)
		_exit(126);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ------------------------------------------------------------- HTTP */

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
	rc_buf_add(ud, p, s * n);
	return s * n;
}

static json_t *http(struct e2e *t, const char *method, const char *path,
		    const char *body, long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct rc_buf b;
	char url[512];
	json_t *j = NULL;

	rc_buf_init(&b);
	rc_buf_add(&b, "", 0);
	snprintf(url, sizeof(url), "%s%s", t->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		j = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	rc_buf_free(&b);
	return j;
}

json_t *sim_get(struct e2e *t, const char *path)
{
	long st = 0;

	return http(t, "GET", path, NULL, &st);
}

json_t *sim_post(struct e2e *t, const char *path, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	long st = 0;
	json_t *r = http(t, "POST", path, s ? s : "", &st);

	free(s);
	json_decref(body);
	return r;
}

int sim_delete(struct e2e *t, const char *path)
{
	long st = 0;

	json_decref(http(t, "DELETE", path, NULL, &st));
	return (int)st;
}

void sim_patch(struct e2e *t, const char *collection, const char *id, json_t *set)
{
	json_decref(sim_post(t, "/_sim/patch",
			     json_pack("{s:s, s:s, s:o}", "collection", collection, "id", id,
				       "set", set)));
}

json_t *sim_requests(struct e2e *t)
{
	return sim_get(t, "/_sim/requests");
}

void sim_clear_requests(struct e2e *t)
{
	sim_delete(t, "/_sim/requests");
}

size_t count_requests(json_t *reqs, const char *method, const char *contains)
{
	size_t i, n = 0;
	json_t *r;

	json_array_foreach(reqs, i, r) {
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));

		if (m && p && !strcmp(m, method) && strstr(p, contains))
			n++;
	}
	return n;
}

json_t *json_find_by(json_t *array, const char *key, const char *value)
{
	json_t *o;
	size_t i;

	json_array_foreach(array, i, o)
		if (!strcmp(json_string_value(json_object_get(o, key)) ?: "", value))
			return o;
	return NULL;
}

static json_t *ot_unit(json_t *state, const char *num)
{
	return json_find_by(json_object_get(json_object_get(state, "opentech"), "units"),
			    "unitNumber", num);
}

size_t sim_tenants_on(struct e2e *t, const char *unit_number)
{
	json_t *st = sim_get(t, "/_sim/state"), *u = ot_unit(st, unit_number), *v;
	json_t *vis = json_object_get(json_object_get(st, "opentech"), "visitors");
	size_t i, n = 0;

	json_array_foreach(vis, i, v)
		if (u && json_is_true(json_object_get(v, "isTenant")) &&
		    json_integer_value(json_object_get(v, "unitId")) ==
			    json_integer_value(json_object_get(u, "id")))
			n++;
	json_decref(st);
	return n;
}

char *sim_unit_status(struct e2e *t, const char *unit_number)
{
	json_t *st = sim_get(t, "/_sim/state"), *u = ot_unit(st, unit_number);
	char *s = rc_strdup(json_string_value(json_object_get(u, "status")));

	json_decref(st);
	return s;
}

char *sim_rental_field(struct e2e *t, const char *rental_id, const char *field)
{
	json_t *st = sim_get(t, "/_sim/state"), *r, *v;
	json_t *rs = json_object_get(json_object_get(st, "storeganise"), "unitRentals");
	char *out = NULL;
	size_t i;

	json_array_foreach(rs, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "id")) ?: "", rental_id))
			continue;
		v = json_object_get(json_object_get(r, "customFields"), field);
		if (json_is_string(v))
			out = rc_strdup(json_string_value(v));
		else if (json_is_boolean(v))
			out = rc_strdup(json_is_true(v) ? "true" : "false");
	}
	json_decref(st);
	return out;
}

size_t plan_ops(json_t *plan, const char *kind)
{
	json_t *ops = json_object_get(plan, "reconcile_operations"), *o;
	size_t i, n = 0;

	json_array_foreach(ops, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "op")) ?: "", kind))
			n++;
	return n;
}

json_t *parse_json(const char *text)
{
	return json_loads(text ? text : "", 0, NULL);
}

bool file_contains(const char *path, const char *needle)
{
	size_t len = 0;
	char *data = NULL;
	struct rc_err err;
	bool hit;

	if (rc_read_file(path, &data, &len, &err))
		return false;
	hit = memmem(data, len, needle, strlen(needle)) != NULL;
	free(data);
	return hit;
}

bool dir_contains(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char p[1024];
	bool hit = false;

	if (!d)
		return false;
	while (!hit && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &st) != 0)
			continue;
		hit = S_ISDIR(st.st_mode) ? dir_contains(p, needle) : file_contains(p, needle);
	}
	closedir(d);
	return hit;
}

/* ------------------------------------------------------------ serve */

void e2e_serve_start(struct e2e *t, pid_t *pid, int *port)
{
	const char *args[] = { "serve", "-c", t->spec, "--listen", "127.0.0.1:0", NULL };
	char path[320], *out = NULL;
	struct rc_err err;
	int i;

	snprintf(path, sizeof(path), "%s/bg.out", t->dir);
	unlink(path); /* a previous serve's port must not be read */
	*pid = e2e_reconcile_bg(t, args);
	for (i = 0; i < 200; i++) {
		free(out);
		out = NULL;
		if (!rc_read_file(path, &out, NULL, &err) && strstr(out, "listening on http://127.0.0.1:"))
			break;
		usleep(50000);
	}
	if (!out || !strstr(out, "listening on"))
		die("reconcile serve did not start (see bg.err)");
	*port = atoi(strrchr(out, ':') + 1);
	free(out);
}

int e2e_serve_stop(pid_t *pid)
{
	int st = -1;

	kill(*pid, SIGTERM);
	if (e2e_waitpid(*pid, &st, 0) < 0)
		st = -1;
	*pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t serve_body(char *p, size_t sz, size_t n, void *ud)
{
	rc_buf_add(ud, p, sz * n);
	return sz * n;
}

long e2e_serve_post(int port, const char *path, const char *body, const char *secret,
		    char **answer)
{
	unsigned char mac[64];
	unsigned int n = 0;
	char sig[128], url[128], hdr[200];
	struct curl_slist *h = NULL;
	struct rc_buf b;
	long status = 0;
	CURL *c = curl_easy_init();

	if (secret) {
		HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)(body ? body : ""),
		     body ? strlen(body) : 0, mac, &n);
		EVP_EncodeBlock((unsigned char *)sig, mac, (int)n);
		snprintf(hdr, sizeof(hdr), "sg-signature: %s", sig);
		h = curl_slist_append(h, hdr);
	}
	h = curl_slist_append(h, "Content-Type: application/json;charset=UTF-8");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	rc_buf_init(&b);
	rc_buf_add(&b, "", 0);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, serve_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (answer)
		*answer = rc_buf_steal(&b);
	else
		rc_buf_free(&b);
	return status;
}

/* name's value in a /metrics text, -1 when absent. */
static double metric_in(const char *m, const char *name)
{
	const char *p = m ? strstr(m, name) : NULL;

	while (p && p != m && p[-1] != '\n') /* skip # HELP / # TYPE lines */
		p = strstr(p + 1, name);
	return p ? strtod(p + strlen(name), NULL) : -1;
}

double e2e_serve_metric(int port, const char *name)
{
	char *m = NULL;
	double v;

	e2e_serve_post(port, "/metrics", NULL, NULL, &m);
	v = metric_in(m, name);
	free(m);
	return v;
}

bool e2e_serve_settle(int port)
{
	char *m;
	bool idle;
	int i;

	for (i = 0; i < 200; i++) {
		m = NULL;
		e2e_serve_post(port, "/metrics", NULL, NULL, &m);
		/* one answer: both figures of the same moment */
		idle = metric_in(m, "reconcile_queue_depth ") == 0 &&
		       metric_in(m, "reconcile_workers_busy ") == 0;
		free(m);
		if (idle)
			return true;
		usleep(100000);
	}
	return false;
}

void e2e_srv_free(struct e2e_srv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		e2e_waitpid(s->pid, NULL, 0);
	}
	e2e_stop(&s->t);
	free(s);
}

void sim_insert_rental(struct e2e *t, const char *site, const char *id, const char *unit,
		       const char *owner)
{
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", id, "unitId", unit,
		"siteId", site, "ownerId", owner, "state", "occupied", "customFields")));
}

json_t *sim_state_of(struct e2e *t, const char *api)
{
	json_t *st = sim_get(t, "/_sim/state");
	json_t *p = json_incref(json_object_get(st, api));

	json_decref(st);
	return p;
}

void e2e_add_opentech_units(struct e2e *t, const char *site, int facility, int first, int n)
{
	char id[16], num[16], rid[16], cid[16];
	int i;

	for (i = first; i < first + n; i++) {
		snprintf(id, sizeof(id), "ub%d", i);
		snprintf(num, sizeof(num), "B%d", i);
		snprintf(rid, sizeof(rid), "rb%d", i);
		snprintf(cid, sizeof(cid), "cb%d", i);
		json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:i, s:i, s:s, s:s}}",
			"collection", "opentech.units", "object", "id", 6000 + i, "facilityId", facility,
			"unitNumber", num, "status", "Vacant")));
		json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:{s:s}}}",
			"collection", "storeganise.units", "object", "id", id, "siteId", site,
			"name", num, "state", "occupied", "customFields", "opentech_unitId", num)));
		json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:n, s:{}}}",
			"collection", "storeganise.users", "object", "id", cid, "firstName", "Bulk",
			"lastName", num, "email", "bulk@example.com", "overdue", "customFields")));
		sim_insert_rental(t, site, rid, id, cid);
	}
}
