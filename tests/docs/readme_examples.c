/*
 * readme_examples.c: README.md's tour, run as written. Each block marked
 * <!-- example: NAME [head=N] [tail=N] --> is a console session: lines
 * "$ CMD" are commands, run in order through /bin/sh in one temp dir with
 * the build's reconcile first on PATH (the first is `reconcile demo
 * --keep`); the lines after a command are what it prints on stdout. Each
 * command's real output must match, once masked (times, ports, pids,
 * durations); head/tail abridge a long output to its first and last lines
 * around a line "  …" (such a block holds one command: its output may
 * show "$ " lines, as the demo's does).
 *
 * As a reader does: the "export" lines a command prints are exported for
 * the next ones; "NAME=..." commands are kept and run again before each
 * later command (a shell's variables); "CMD &" runs in the background (the
 * test starts it, and "kill %1" or the test's end stops it), and each
 * command after it waits until serve is idle (no queued or running work). serve's 127.0.0.1:8080 is a free
 * port here, written back as 8080.
 *
 *   readme_examples             check (ctest docs/readme_examples)
 *   readme_examples --update    rewrite README.md's examples from this run
 *                               (tests/docs/update-readme-examples)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/common.h"
#include "harness.h"

#define MAX_LINES 4096
#define ELIDED "  …"
#define DOC_PORT "127.0.0.1:8080"

/* README.md as lines; one example block's commands point into it. */
struct cmd {
	char *text;      /* the command without "$ " (new) */
	size_t out;      /* README line of its first output line */
	size_t nout;     /* its output lines in README */
	char **actual;   /* its real output, abridged (new lines), for --update */
	size_t nactual;
};

struct block {
	char name[64];
	size_t line;     /* the marker's line (0-based) */
	int head, tail;  /* -1: not abridged at that end */
	struct cmd *cmds;
	size_t ncmds;
};

struct doc {
	char *text;
	char *line[MAX_LINES];
	size_t nlines;
	struct block *blocks;
	size_t nblocks;
};

/* The session: temp dir, variables, the background serve. */
struct session {
	char dir[256];
	struct rc_buf vars;  /* NAME=... commands so far */
	pid_t serve;
	int serve_port;
	size_t seq;
	int failures;
	bool update;
};

/* The demo's simulator outlives the demo (--keep): as a subreaper this
 * process inherits it, and kills it however it ends. */
static volatile sig_atomic_t orphan;
static struct sigaction prev_action[NSIG];

static void kill_orphan(void)
{
	pid_t pid = orphan;

	orphan = 0;
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

/* At the end: any other process this one inherited as a subreaper (a
 * simulator whose pid the demo's output did not give). Not from a signal
 * handler: it reads /proc. */
static void kill_inherited(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[64], buf[512], *rp;
	int ppid;
	pid_t pid;
	FILE *f;

	kill_orphan();
	for (e = d ? readdir(d) : NULL; e; e = readdir(d)) {
		pid = (pid_t)atoi(e->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* "pid (comm) state ppid ...": comm may hold spaces */
		rp = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (rp && sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == (int)getpid()) {
			kill(pid, SIGKILL);
			e2e_waitpid(pid, NULL, 0);
		}
	}
	if (d)
		closedir(d);
}

static void on_signal(int sig)
{
	kill_orphan();
	sigaction(sig, &prev_action[sig], NULL);
	raise(sig);
}

static void guard_orphans(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGSEGV, SIGTERM, SIGALRM };
	struct sigaction sa;
	size_t i;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	atexit(kill_inherited);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &prev_action[sigs[i]]);
}

/* ----------------------------------------------------------- README */

/* "<!-- example: NAME head=N tail=N -->": true with b filled. */
static bool parse_marker(const char *l, struct block *b)
{
	const char *p = strstr(l, "<!-- example:");
	const char *h, *t;

	if (strncmp(l, "<!-- example:", 13) != 0 || !p)
		return false;
	memset(b, 0, sizeof(*b));
	if (sscanf(l + 13, " %63s", b->name) != 1)
		return false;
	h = strstr(l, " head=");
	t = strstr(l, " tail=");
	b->head = h ? atoi(h + 6) : -1;
	b->tail = t ? atoi(t + 6) : -1;
	return true;
}

static void add_cmd(struct block *b, const char *text, size_t out)
{
	struct cmd *c;

	b->cmds = realloc(b->cmds, (b->ncmds + 1) * sizeof(*b->cmds));
	assert_non_null(b->cmds);
	c = &b->cmds[b->ncmds++];
	memset(c, 0, sizeof(*c));
	c->text = rc_strdup(text);
	c->out = out;
}

/* Split README.md into lines and find its example blocks. */
static void doc_load(struct doc *d, const char *path)
{
	struct rc_err err;
	struct block b;
	size_t i;
	char *p;

	memset(d, 0, sizeof(*d));
	if (rc_read_file(path, &d->text, NULL, &err))
		fail_msg("%s", err.msg);
	for (p = d->text; *p && d->nlines < MAX_LINES;) {
		char *nl = strchr(p, '\n');

		d->line[d->nlines++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	for (i = 0; i < d->nlines; i++) {
		if (!parse_marker(d->line[i], &b))
			continue;
		b.line = i;
		if (i + 1 >= d->nlines || strncmp(d->line[i + 1], "```", 3) != 0)
			fail_msg("README.md:%zu: example %s: no ``` block on the next line", i + 2,
				 b.name);
		for (i += 2; i < d->nlines && strncmp(d->line[i], "```", 3) != 0; i++) {
			/* an abridged block is one command: its output may hold "$ " */
			if (!strncmp(d->line[i], "$ ", 2) &&
			    (!b.ncmds || (b.head < 0 && b.tail < 0)))
				add_cmd(&b, d->line[i] + 2, i + 1);
			else if (b.ncmds)
				b.cmds[b.ncmds - 1].nout++;
			else
				fail_msg("README.md:%zu: example %s: output before any \"$ \" command",
					 i + 1, b.name);
		}
		if (i >= d->nlines)
			fail_msg("README.md:%zu: example %s: its block never ends", b.line + 1, b.name);
		d->blocks = realloc(d->blocks, (d->nblocks + 1) * sizeof(*d->blocks));
		assert_non_null(d->blocks);
		d->blocks[d->nblocks++] = b;
	}
}

static void doc_free(struct doc *d)
{
	size_t i, j, k;

	for (i = 0; i < d->nblocks; i++) {
		for (j = 0; j < d->blocks[i].ncmds; j++) {
			struct cmd *c = &d->blocks[i].cmds[j];

			for (k = 0; k < c->nactual; k++)
				free(c->actual[k]);
			free(c->actual);
			free(c->text);
		}
		free(d->blocks[i].cmds);
	}
	free(d->blocks);
	free(d->text);
}

/* ------------------------------------------------------------- masks */

/* What may differ between two runs, each replaced by a fixed word. */
static const struct {
	const char *re, *with;
} masks[] = {
	{ "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]+Z", "<time>" },
	{ "127\\.0\\.0\\.1:[0-9]+", "127.0.0.1:<port>" },
	{ "pid [0-9]+", "pid <pid>" },
	{ "kill [0-9]+", "kill <pid>" },
	{ "in [0-9]+(\\.[0-9]+)? s", "in <seconds> s" },
	{ "\\([0-9]+(\\.[0-9]+)?/s\\)", "(<rate>/s)" },
	/* PTI's user ids: apply adds a site's users at once, in any order */
	{ "user [0-9]+", "user <id>" },
};
static regex_t mask_re[sizeof(masks) / sizeof(masks[0])];

static void masks_free(void)
{
	size_t i;

	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
		regfree(&mask_re[i]);
}

static void masks_init(void)
{
	size_t i;

	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
		assert_int_equal(regcomp(&mask_re[i], masks[i].re, REG_EXTENDED), 0);
}

/* line with every mask applied (new). */
static char *mask(const char *line)
{
	char *cur = rc_strdup(line), *next;
	regmatch_t m;
	struct rc_buf b;
	size_t i;
	const char *p;

	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		rc_buf_init(&b);
		for (p = cur; regexec(&mask_re[i], p, 1, &m, p == cur ? 0 : REG_NOTBOL) == 0 &&
			      m.rm_eo > 0;
		     p += m.rm_eo) {
			rc_buf_add(&b, p, (size_t)m.rm_so);
			rc_buf_puts(&b, masks[i].with);
		}
		rc_buf_puts(&b, p);
		next = rc_strdup(b.p ? b.p : "");
		rc_buf_free(&b);
		free(cur);
		cur = next;
	}
	return cur;
}

/* ------------------------------------------------------------ running */

static char *replace_all(const char *s, const char *from, const char *to)
{
	struct rc_buf b;
	const char *p, *at;
	char *out;

	rc_buf_init(&b);
	for (p = s; (at = strstr(p, from)); p = at + strlen(from)) {
		rc_buf_add(&b, p, (size_t)(at - p));
		rc_buf_puts(&b, to);
	}
	rc_buf_puts(&b, p);
	out = rc_strdup(b.p ? b.p : "");
	rc_buf_free(&b);
	return out;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static char *slurp(const char *path)
{
	struct rc_err err;
	char *text = NULL;

	if (rc_read_file(path, &text, NULL, &err))
		return rc_strdup("");
	return text;
}

/* What a reader takes from a command's output: its "export NAME=VALUE"
 * lines, and (for this test) the pid of the demo's simulator. */
static void take_exports(const char *out)
{
	const char *p = out, *kept;
	char name[64], value[512];
	int pid;

	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (sscanf(p, " export %63[A-Za-z0-9_]=%511[^\n]", name, value) == 2 &&
		    strcmp(name, "PATH") != 0)
			setenv(name, value, 1);
	}
	kept = strstr(out, "keeps running on http://");
	if (kept && (kept = strstr(kept, "(pid ")) && sscanf(kept, "(pid %d", &pid) == 1)
		orphan = pid;
}

/* Run one command line through sh in the session dir: its stdout (new). */
static char *run_cmd(struct session *s, const char *cmd, int *status)
{
	char out[320], err[320], *script, *text;
	const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	pid_t pid;
	int st = 0;

	s->seq++;
	snprintf(out, sizeof(out), "%s/.cmd%zu.out", s->dir, s->seq);
	snprintf(err, sizeof(err), "%s/.cmd%zu.err", s->dir, s->seq);
	script = rc_sprintf("%s%s", s->vars.p ? s->vars.p : "", cmd);
	argv[2] = script;
	pid = e2e_spawn_argv(argv, s->dir, out, err);
	assert_true(e2e_waitpid(pid, &st, 0) == pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	free(script);
	text = slurp(err);
	if (*text && getenv("E2E_VERBOSE"))
		fprintf(stderr, "[%s] stderr:\n%s", cmd, text);
	free(text);
	return slurp(out);
}

/* "CMD &": started here (and killed at the end), its stdout once it has
 * its first line. */
static char *run_bg(struct session *s, const char *cmd)
{
	char out[320], *script, *text = NULL;
	const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	int i;

	assert_true(s->serve <= 0); /* one background command at a time */
	snprintf(out, sizeof(out), "%s/.bg.out", s->dir);
	script = rc_sprintf("%sexec %.*s", s->vars.p ? s->vars.p : "", (int)(strlen(cmd) - 1), cmd);
	argv[2] = script;
	s->serve = e2e_spawn_argv(argv, s->dir, out, NULL);
	free(script);
	for (i = 0; i < 200; i++) { /* serve's first line says it listens */
		free(text);
		text = slurp(out);
		if (strchr(text, '\n'))
			break;
		usleep(50000);
	}
	return text;
}

/* The output lines of text, abridged as block b says (new array). */
static char **abridge(const struct block *b, const char *text, size_t *n)
{
	char *copy = rc_strdup(text), *p, *nl, **all = NULL, **out;
	size_t na = 0, i, k = 0, head, tail;

	for (p = copy; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		all = realloc(all, (na + 1) * sizeof(*all));
		all[na++] = p;
		if (!nl)
			break;
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0'; /* CSV's CRLF: README.md shows lines */
	}
	while (na && !*all[na - 1])
		na--; /* trailing blank lines */
	head = b->head < 0 ? na : (size_t)b->head;
	tail = b->tail < 0 ? 0 : (size_t)b->tail;
	if (b->head < 0 && b->tail >= 0)
		head = 0;
	if (head + tail >= na || (b->head < 0 && b->tail < 0)) {
		head = na;
		tail = 0;
	}
	out = calloc(head + tail + 2, sizeof(*out));
	for (i = 0; i < head; i++)
		out[k++] = rc_strdup(all[i]);
	if (head < na)
		out[k++] = rc_strdup(ELIDED);
	for (i = na - tail; i < na && tail; i++)
		out[k++] = rc_strdup(all[i]);
	*n = k;
	free(all);
	free(copy);
	return out;
}

/* True when two lines match once masked. */
static bool same(const char *a, const char *b)
{
	char *ma = mask(a), *mb = mask(b);
	bool eq = strcmp(ma, mb) == 0;

	free(ma);
	free(mb);
	return eq;
}

/* Compare a command's README lines with its real ones, masked. */
static void compare(struct session *s, const struct doc *d, const struct block *b,
		    const struct cmd *c)
{
	size_t i, n = c->nout > c->nactual ? c->nout : c->nactual;
	char *want, *got;

	for (i = 0; i < n; i++) {
		want = mask(i < c->nout ? d->line[c->out + i] : "(nothing more)");
		got = mask(i < c->nactual ? c->actual[i] : "(nothing more)");
		if (strcmp(want, got) != 0) {
			fprintf(stderr,
				"README.md:%zu: example %s, `%s`: line %zu differs\n"
				"  README: %s\n  actual: %s\n"
				"  (tests/docs/update-readme-examples rewrites the examples)\n",
				c->out + i + 1, b->name, c->text, i + 1,
				i < c->nout ? d->line[c->out + i] : "(nothing more)",
				i < c->nactual ? c->actual[i] : "(nothing more)");
			s->failures++;
			free(want);
			free(got);
			return;
		}
		free(want);
		free(got);
	}
}

static bool on_path(const char *tool)
{
	char *copy = rc_strdup(getenv("PATH") ? getenv("PATH") : ""), *dir, *save = NULL, *p;
	bool found = false;

	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		p = rc_sprintf("%s/%s", dir, tool);
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

/* The command-line tool beyond the build's that b uses and this machine
 * lacks (contrib/bootstrap.sh test installs the openssl CLI), or NULL. */
static const char *missing_tool(const struct block *b)
{
	static const char *const tools[] = { "curl", "openssl", "base64", "grep", "jq" };
	size_t i, j;
	char *word;
	bool used;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		word = rc_sprintf("%s ", tools[i]);
		for (used = false, j = 0; j < b->ncmds && !used; j++)
			used = strstr(b->cmds[j].text, word) != NULL;
		free(word);
		if (used && !on_path(tools[i]))
			return tools[i];
	}
	return NULL;
}

static bool is_assignment(const char *cmd)
{
	size_t n = strspn(cmd, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");

	return n > 0 && cmd[n] == '=' && !strchr(cmd, ';');
}

static void run_block(struct session *s, const struct doc *d, struct block *b)
{
	char *cmd, *text, *shown, port[32];
	size_t i;
	int st;

	for (i = 0; i < b->ncmds; i++) {
		struct cmd *c = &b->cmds[i];
		size_t len;

		snprintf(port, sizeof(port), "127.0.0.1:%d", s->serve_port);
		cmd = replace_all(c->text, DOC_PORT, port);
		len = strlen(cmd);
		if (s->serve > 0)
			assert_true(e2e_serve_settle(s->serve_port));
		if (len > 2 && !strcmp(cmd + len - 2, " &")) {
			text = run_bg(s, cmd);
		} else if (!strcmp(cmd, "kill %1")) { /* the reader's job 1 */
			assert_true(s->serve > 0);
			kill(s->serve, SIGTERM);
			assert_true(e2e_waitpid(s->serve, &st, 0) == s->serve);
			s->serve = 0;
			text = rc_strdup("");
		} else {
			text = run_cmd(s, cmd, &st);
			if (is_assignment(cmd))
				rc_buf_printf(&s->vars, "%s\n", cmd);
		}
		take_exports(text);
		shown = replace_all(text, port, DOC_PORT);
		c->actual = abridge(b, shown, &c->nactual);
		if (!s->update)
			compare(s, d, b, c);
		free(shown);
		free(text);
		free(cmd);
	}
}

/* README.md with each command's output replaced by the real one; a line
 * that matches once masked is kept as it was (no churn of times, ports). */
static void doc_write(const struct doc *d, const char *path)
{
	struct rc_buf b;
	struct rc_err err;
	size_t i = 0, bi, ci, k;

	rc_buf_init(&b);
	for (bi = 0; bi < d->nblocks; bi++) {
		for (ci = 0; ci < d->blocks[bi].ncmds; ci++) {
			const struct cmd *c = &d->blocks[bi].cmds[ci];

			for (; i < c->out; i++)
				rc_buf_printf(&b, "%s\n", d->line[i]);
			for (k = 0; k < c->nactual; k++)
				rc_buf_printf(&b, "%s\n", k < c->nout && same(d->line[c->out + k],
								  c->actual[k])
								 ? d->line[c->out + k]
								 : c->actual[k]);
			i = c->out + c->nout;
		}
	}
	for (; i < d->nlines; i++)
		rc_buf_printf(&b, "%s\n", d->line[i]);
	if (rc_write_file(path, b.p, b.len, &err))
		fail_msg("%s", err.msg);
	rc_buf_free(&b);
}

/* ------------------------------------------------------------- test */

static bool update_mode;

static void readme_examples(void **state)
{
	const char *src = getenv("RECONCILE_SOURCE_DIR"), *bin = getenv("RECONCILE_BIN");
	char *readme, *bindir, *path, *slash;
	struct session s = { .update = update_mode };
	struct doc d;
	size_t i;

	(void)state;
	assert_non_null(src);
	assert_non_null(bin);
	masks_init();
	guard_orphans();
	readme = rc_sprintf("%s/README.md", src);
	doc_load(&d, readme);
	assert_true(d.nblocks >= 1);
	/* `reconcile` is the build's; nothing of the caller's demo leaks in */
	bindir = rc_strdup(bin);
	slash = strrchr(bindir, '/');
	if (slash)
		*slash = '\0';
	path = rc_sprintf("%s:%s", bindir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	unsetenv("RECONCILE_DEMO_DIR");
	unsetenv("NO_COLOR");
	e2e_mkdtemp(s.dir, sizeof(s.dir));
	rc_buf_init(&s.vars);
	s.serve_port = free_port();
	for (i = 0; i < d.nblocks; i++) {
		const char *tool = missing_tool(&d.blocks[i]);

		if (tool && update_mode)
			fail_msg("README.md:%zu: example %s needs %s, which is not on PATH: "
				 "install it to update the examples", d.blocks[i].line + 1,
				 d.blocks[i].name, tool);
		if (tool) { /* the later blocks build on this one: stop here */
			fprintf(stderr, "readme_examples: SKIPPED from README.md:%zu (example %s "
				"and after): %s is not on PATH\n", d.blocks[i].line + 1,
				d.blocks[i].name, tool);
			break;
		}
		run_block(&s, &d, &d.blocks[i]);
	}
	if (s.serve > 0) {
		kill(s.serve, SIGTERM);
		e2e_waitpid(s.serve, NULL, 0);
	}
	kill_inherited();
	if (update_mode) {
		doc_write(&d, readme);
		printf("readme_examples: %zu examples of %s rewritten from this run\n", d.nblocks,
		       readme);
	}
	doc_free(&d);
	masks_free();
	rc_buf_free(&s.vars);
	assert_int_equal(s.failures, 0);
	e2e_rmdtemp(s.dir);
	free(path);
	free(bindir);
	free(readme);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(readme_examples) };

	update_mode = argc > 1 && !strcmp(argv[1], "--update");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
