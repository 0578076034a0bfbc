/*
 * e2e_redact.c: a vendor's error that echoes another tenant's gate code
 * and a token reaches neither stderr (apply, serve's log) nor the journal
 * (report, the state files) in clear: the vendor text is masked where it
 * enters (issue 14, item 5). serve's JSON log stays one object per line
 * whatever an event's id holds.
 *
 * Seed tests/e2e/data/basic.json: site1 (OpenTech property P1); the first
 * apply creates visitors, which the simulator refuses with the body below.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "harness.h"

static const char *const SITES[][3] = { { "site1", "site1", "P1" } };

#define OTHER_CODE "771903"
#define OTHER_TOKEN "Zq81kPz0aLmN3xYtQw7e"

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	e2e_start(t, "tests/e2e/data/basic.json", SITES, 1);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}

/* Every visitor create is refused with a message that holds a code and a
 * token of someone else. */
static void refuse_creates(struct e2e *t)
{
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:{s:s}}]",
		"method", "POST", "path_contains", "/visitors", "status", 400, "times", -1,
		"body", "message", "Access code " OTHER_CODE " is already used by visitor 12 "
		"(invite https://oa.example/i?token=" OTHER_TOKEN ")")));
}

static void assert_clean(const char *what, const char *text)
{
	if (strstr(text, OTHER_CODE) || strstr(text, OTHER_TOKEN))
		fprintf(stderr, "%s holds a secret:\n%s\n", what, text);
	assert_null(strstr(text, OTHER_CODE));
	assert_null(strstr(text, OTHER_TOKEN));
}

static void test_apply_stderr_and_journal(void **state)
{
	struct e2e *t = *state;
	const char *args[] = { "apply", "-c", t->spec, "--auto-approve", NULL };
	const char *rargs[] = { "report", "-c", t->spec, "--format", "json", NULL };
	char path[512];
	struct run r;

	refuse_creates(t);
	r = e2e_reconcile(t, args);
	assert_int_equal(r.status, 1);
	/* the vendor's words got through, masked */
	if (!strstr(r.err, "Access code [redacted] is already used"))
		fprintf(stderr, "apply: %s\n%s\n", r.out, r.err);
	assert_non_null(strstr(r.err, "Access code [redacted] is already used"));
	assert_clean("apply's stderr", r.err);
	assert_clean("apply's stdout", r.out);
	run_free(&r);

	/* the journal's failed entries, as report shows them */
	r = e2e_reconcile(t, rargs);
	assert_non_null(strstr(r.out, "failed: "));
	assert_non_null(strstr(r.out, "[redacted]"));
	assert_clean("report", r.out);
	assert_clean("report's stderr", r.err);
	run_free(&r);
	snprintf(path, sizeof(path), "%s/state", t->dir);
	assert_false(dir_contains(path, OTHER_CODE));
	assert_false(dir_contains(path, OTHER_TOKEN));
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
}

/* serve logs a failed run's error: masked too. */
static void test_serve_log(void **state)
{
	struct e2e *t = *state;
	char path[512], *log = NULL;
	struct rc_err err;
	pid_t pid;
	int port, i;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(path, sizeof(path), "%s/state", t->dir);
	assert_int_equal(e2e_rm_rf(path), 0);
	refuse_creates(t);
	e2e_serve_start(t, &pid, &port);
	snprintf(path, sizeof(path), "%s/bg.err", t->dir);
	for (i = 0; i < 400; i++) { /* the first whole-site run fails and is logged */
		free(log);
		log = NULL;
		if (!rc_read_file(path, &log, NULL, &err) && strstr(log, "Access code [redacted]"))
			break;
		usleep(50000);
	}
	assert_int_equal(e2e_serve_stop(&pid), 0);
	free(log);
	log = NULL;
	assert_int_equal(rc_read_file(path, &log, NULL, &err), 0);
	if (!strstr(log, "Access code [redacted]"))
		fprintf(stderr, "serve's log:\n%s\n", log);
	assert_non_null(strstr(log, "Access code [redacted]"));
	assert_clean("serve's log", log);
	free(log);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
}

/* serve's log (JSON, the default) is one object per line, whatever an
 * event's id holds: a quote, a backslash, a newline that would start a
 * forged line, a control character, non-ASCII text. Every line that
 * opens an object is a whole one (an unescaped id would cut its line in
 * two, both broken); lines of others on stderr (ASan's) are skipped. */
static void test_serve_log_lines_are_json(void **state)
{
	static const char id[] = "q\"b\\c\n{\"level\":\"error\"}\td \xc3\xa9";
	struct e2e *t = *state;
	char path[512], *log = NULL, *line, *save = NULL, *want;
	json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "id", id, "type", "unitRental.updated",
				 "data", "unitRentalId", "r1"), *j;
	char *text = json_dumps(body, JSON_COMPACT);
	struct rc_err err;
	int port, i, lines = 0, found = 0;
	pid_t pid;

	json_decref(sim_post(t, "/_sim/reset", NULL));
	snprintf(path, sizeof(path), "%s/state", t->dir);
	assert_int_equal(e2e_rm_rf(path), 0);
	e2e_serve_start(t, &pid, &port);
	assert_int_equal(e2e_serve_post(port, "/webhooks/storeganise", text, "e2e-webhook-secret",
					NULL), 200);
	want = rc_sprintf("webhook %s (unitRental.updated): ", id);
	snprintf(path, sizeof(path), "%s/bg.err", t->dir);
	for (i = 0; i < 200 && !(log && strstr(log, "unitRental.updated")); i++) {
		free(log);
		log = NULL;
		if (rc_read_file(path, &log, NULL, &err))
			log = NULL;
		usleep(50000);
	}
	assert_int_equal(e2e_serve_stop(&pid), 0);
	free(log);
	assert_int_equal(rc_read_file(path, &log, NULL, &err), 0);
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (*line != '{')
			continue; /* not serve's logger: a sanitizer's warning, say */
		j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(j) || !json_is_string(json_object_get(j, "ts")) ||
		    !json_is_string(json_object_get(j, "level")) ||
		    !json_is_string(json_object_get(j, "msg")))
			fprintf(stderr, "not a log object: %s\n", line);
		assert_true(json_is_object(j) && json_is_string(json_object_get(j, "msg")));
		lines++;
		found += !strncmp(json_string_value(json_object_get(j, "msg")), want, strlen(want));
		json_decref(j);
	}
	assert_true(lines > 2);
	assert_int_equal(found, 1);
	free(want);
	free(log);
	free(text);
	json_decref(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_stderr_and_journal),
		cmocka_unit_test(test_serve_log),
		cmocka_unit_test(test_serve_log_lines_are_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
