/*
 * e2e_drift_check.c: a scheduled drift check of a PTI site, against the
 * simulator (issue 11, item 8; docs/rules.md PT8). PTI cannot be read, so
 * a plan compares it with what reconcile last applied: without that state
 * the plan says so by site instead of calling every customer drift, and the
 * CI examples (contrib/ci) keep the state directory between runs.
 *
 * Seed tests/e2e/data/report_vendors.json: site pt1 (PTI, credentials in
 * its custom fields), units P1..P6 mapped to PTI units P-1..P-6; customer
 * c1 rents P1 and P2, c2 rents P3 (overdue); site oa1 (OpenApp), rentals
 * or1..or3 on O1..O3. PTI and OpenApp hold nothing.
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

#include "harness.h"
#include "core/common.h"

#define SEED "tests/e2e/data/report_vendors.json"

static const char SITES_JSON[] =
	"{\"name\":\"pt1\",\"pms_site_id\":\"pt1\",\"vendor\":\"pti\","
	"\"pti\":{\"base_url\":\"@SIM@/pti\",\"client_id_env\":\"E2E_PTI_CLIENT_ID\","
	"\"api_key_env\":\"E2E_PTI_API_KEY\",\"site_key_site_field\":\"pti_siteKey\","
	"\"site_code_site_field\":\"pti_siteCode\",\"username_site_field\":\"pti_username\","
	"\"password_site_field\":\"pti_password\",\"access_level\":1,\"zone\":1}},"
	"{\"name\":\"oa1\",\"pms_site_id\":\"oa1\",\"vendor\":\"openapp\","
	"\"openapp\":{\"base_url\":\"@SIM@/openapp/api/v1\",\"api_key_env\":\"E2E_OA_API_KEY\","
	"\"org_id\":\"01ORG0000000000000000000AA\",\"integration_id\":\"01INT0000000000000000000BB\","
	"\"lobby_portal_ids\":[\"P-LOBBY\"],\"max_uses\":50}}";

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	setenv("E2E_PTI_CLIENT_ID", "demo-pti-partner", 1);
	setenv("E2E_PTI_API_KEY", "demo-pti-partner-key", 1);
	setenv("E2E_OA_API_KEY", "demo-openapp-key", 1);
	e2e_start_site(t, SEED, SITES_JSON);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}


/* ------------------------------------------------------------ helpers */

static const char *S(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "";
}

static int plan_exit(struct e2e *t, char **out)
{
	const char *args[] = { "plan", "-c", t->spec, "--detailed-exitcode", "--no-color", NULL };
	struct run r = e2e_reconcile(t, args);
	int st = r.status;

	*out = r.out;
	r.out = NULL;
	run_free(&r);
	return st;
}

static json_t *plan_json(struct e2e *t)
{
	const char *args[] = { "plan", "-c", t->spec, "--json", NULL };
	struct run r = e2e_reconcile(t, args);
	json_t *j = parse_json(r.out);

	assert_non_null(j);
	run_free(&r);
	return j;
}

static int vsh(const char *fmt, va_list ap)
{
	char *cmd = NULL;
	int st;

	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	st = system(cmd);
	free(cmd);
	return st;
}

/* A shell command's status. */
static int sh_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh_status(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = vsh(fmt, ap);
	va_end(ap);
	return st;
}

/* A shell command that must succeed. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = vsh(fmt, ap);
	va_end(ap);
	assert_int_equal(st, 0);
}

/* --------------------------------------------------------- item 8: PT8 */

/* A PTI site planned from a state directory that holds nothing applied
 * to it: the plan says so by name, does not call it drift, and exits 2
 * (an apply would push; docs/rules.md PT8). With the state kept (as the
 * CI examples keep it), the next check is clean. */
static void test_PT8_plan_without_applied_state(void **state)
{
	const char *src = getenv("RECONCILE_SOURCE_DIR") ?: ".";
	struct e2e *t = *state;
	char *out, kept[320];
	json_t *p, *s;

	assert_int_equal(plan_exit(t, &out), 2);
	assert_non_null(strstr(out, "site pt1: no applied state to compare with"));
	assert_non_null(strstr(out, "not drift"));
	free(out);
	p = plan_json(t);
	s = json_find_by(json_object_get(p, "reconcile_sites"), "name", "pt1");
	assert_string_equal(S(s, "baseline"), "none");
	s = json_find_by(json_object_get(p, "reconcile_sites"), "name", "oa1");
	assert_string_equal(S(s, "baseline"), "vendor");
	json_decref(p);

	assert_int_equal(e2e_apply(t), 0);
	assert_int_equal(plan_exit(t, &out), 0);
	assert_null(strstr(out, "no applied state"));
	assert_non_null(strstr(out, "site pt1: PTI StorLogix has no read API"));
	free(out);
	p = plan_json(t);
	s = json_find_by(json_object_get(p, "reconcile_sites"), "name", "pt1");
	assert_string_equal(S(s, "baseline"), "applied");
	json_decref(p);

	/* the nightly CI job: a fresh workspace whose state directory comes
	 * back from the cache (contrib/ci/state.sh) is clean; one without it
	 * says why it differs */
	if (system("command -v jq >/dev/null && command -v openssl >/dev/null") != 0) {
		fprintf(stderr, "(no jq or openssl: contrib/ci/state.sh not run)\n");
		return;
	}
	setenv("RECONCILE_STATE_KEY", "e2e-state-key-0123456789", 1);
	sh("sh '%s/contrib/ci/state.sh' pack '%s' '%s/kept.enc' 2>/dev/null", src, t->spec, t->dir);
	snprintf(kept, sizeof(kept), "%s/kept.enc", t->dir);
	assert_true(access(kept, R_OK) == 0);
	assert_false(file_contains(kept, "hash.key")); /* not a plain tar */
	sh("rm -rf '%s/state'", t->dir);
	assert_int_equal(plan_exit(t, &out), 2);
	assert_non_null(strstr(out, "site pt1: no applied state to compare with"));
	free(out);
	sh("rm -rf '%s/state'", t->dir);
	sh("sh '%s/contrib/ci/state.sh' unpack '%s' '%s/kept.enc' 2>/dev/null", src, t->spec, t->dir);
	assert_int_equal(plan_exit(t, &out), 0);
	free(out);
	/* the wrong key does not read it */
	setenv("RECONCILE_STATE_KEY", "another-key", 1);
	sh("rm -rf '%s/state'", t->dir);
	assert_int_not_equal(sh_status("sh '%s/contrib/ci/state.sh' unpack '%s' '%s' 2>/dev/null", src,
				       t->spec, kept), 0);
}

/* The report of a site without applied state: one row saying so, no
 * invented mismatch, and no in-sync count it cannot know. */
static bool step_always(const char *file, const char *at)
{
	const char *p = at, *next;

	while (p > file && strncmp(p, "- name:", 7))
		p--;
	next = strstr(at, "- name:");
	return strstr(p, "if: always()") && (!next || strstr(p, "if: always()") < next);
}

static char *read_src(const char *rel)
{
	char path[512], *text = NULL;
	struct rc_err err;

	snprintf(path, sizeof(path), "%s/%s", getenv("RECONCILE_SOURCE_DIR") ?: ".", rel);
	assert_int_equal(rc_read_file(path, &text, NULL, &err), 0);
	return text;
}

/* The CI examples keep the state directory between runs: restored before
 * the check and the apply, saved after every apply (a failed one too: its
 * journal must survive), encrypted, one run at a time. */
static void test_PT8_ci_examples_keep_the_state_dir(void **state)
{
	const char *src = getenv("RECONCILE_SOURCE_DIR") ?: ".";
	char *gh = read_src("contrib/ci/github-actions.yml"), *gl = read_src("contrib/ci/gitlab-ci.yml");
	const char *restore, *unpack, *plan, *apply, *pack, *save;

	(void)state;
	/* GitHub Actions */
	restore = strstr(gh, "actions/cache/restore@v4");
	unpack = strstr(gh, "state.sh unpack");
	plan = strstr(gh, "build/reconcile plan");
	assert_true(restore && unpack && plan && restore < unpack && unpack < plan);
	apply = strstr(gh, "build/reconcile apply");
	assert_non_null(apply);
	restore = strstr(strstr(gh, "\n  apply:"), "actions/cache/restore@v4");
	assert_true(restore && restore < apply);
	pack = strstr(apply, "state.sh pack");
	save = strstr(apply, "actions/cache/save@v4");
	assert_true(pack && save && pack < save);
	assert_true(step_always(gh, pack));
	assert_true(step_always(gh, save));
	assert_non_null(strstr(gh, "restore-keys: reconcile-state-"));
	assert_non_null(strstr(gh, "key: reconcile-state-${{ github.run_id }}-${{ github.run_attempt }}"));
	assert_non_null(strstr(gh, "concurrency:"));
	assert_non_null(strstr(gh, "cancel-in-progress: false"));
	assert_non_null(strstr(gh, "secrets.RECONCILE_STATE_KEY"));

	/* GitLab CI */
	assert_non_null(strstr(gl, "resource_group: reconcile-state"));
	unpack = strstr(gl, "before_script:");
	assert_true(unpack && strstr(unpack, "state.sh unpack"));
	plan = strstr(gl, "\ndrift-check:");
	apply = strstr(gl, "\napply:");
	assert_true(plan && apply && plan < apply);
	assert_non_null(strstr(plan, "policy: pull\n"));
	assert_true(strstr(plan, "policy: pull\n") < apply);
	assert_non_null(strstr(apply, "policy: pull-push"));
	assert_non_null(strstr(apply, "when: always"));
	assert_non_null(strstr(apply, "after_script:"));
	assert_true(strstr(strstr(apply, "after_script:"), "state.sh pack") != NULL);
	assert_non_null(strstr(apply, "build/reconcile apply"));
	/* both parse as YAML where a parser is at hand */
	if (system("python3 -c 'import yaml' 2>/dev/null") == 0)
		sh("python3 -c 'import sys, yaml; [yaml.safe_load(open(f)) for f in sys.argv[1:]]' "
		   "'%s/contrib/ci/github-actions.yml' '%s/contrib/ci/gitlab-ci.yml'", src, src);
	free(gh);
	free(gl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_PT8_plan_without_applied_state, setup, teardown),
		cmocka_unit_test(test_PT8_ci_examples_keep_the_state_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
