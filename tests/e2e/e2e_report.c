/*
 * e2e_report.c: reconcile report against the simulator.
 *
 * Seed tests/e2e/data/report.json: site "main" has one unit per finding
 * class the plan can see (M1 unmapped and rented, M2 mapped to no vendor
 * unit, DUP and M4 mapped to one vendor unit, M6 with two occupied rentals,
 * M7 rented but Vacant in OpenTech, M8 another code, M9 another access
 * profile, M10 another time group, M11 in sync); site "jfail" holds a
 * move-out whose vacate keeps failing (journal: failed) and "jdoubt" a
 * move-in whose create is interrupted (journal: pending).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "png.h"
#include "core/common.h"

static const char *const SITES[][3] = {
	{ "main", "main", "P-MAIN" }, { "jfail", "jfail", "P-FAIL" }, { "jdoubt", "jdoubt", "P-DOUBT" },
};

/* class -> expected number of findings */
static const struct {
	const char *cls;
	int n;
} expected[] = {
	{ "unmanaged_rented", 1 }, { "mapping_unknown_vendor_unit", 1 },
	{ "mapping_duplicate", 2 }, { "mapping_name_mismatch", 1 }, { "double_occupancy", 1 },
	{ "status_mismatch", 2 }, { "code_mismatch", 1 }, { "access_profile_mismatch", 1 },
	{ "time_group_mismatch", 1 }, { "operation_failed", 1 }, { "operation_pending", 1 },
	{ "operation_in_doubt", 1 },
};
#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

static const char *const codes[] = { "400001", "400002", "400007", "400008", "499998",
				     "400009", "400020", "400021", NULL };

static int setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));

	e2e_start(t, "tests/e2e/data/report.json", SITES, 3);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	e2e_stop(*state);
	free(*state);
	return 0;
}

static struct run report(struct e2e *t, const char *fmt, const char *extra)
{
	const char *args[] = { "report", "-c", t->spec, "-f", fmt, extra, NULL };

	return e2e_reconcile(t, args);
}

/* The journal gets a failed vacate (jfail) and an interrupted create (jdoubt). */
static void make_journal(struct e2e *t)
{
	const char *fail[] = { "apply", "-c", t->spec, "--auto-approve", "--site", "jfail", NULL };
	const char *doubt[] = { "apply", "-c", t->spec, "--auto-approve", "--site", "jdoubt", NULL };
	struct run r;
	pid_t pid;
	int i;

	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i}]", "method", "POST",
		"path_contains", "/vacate", "status", 500, "times", -1)));
	r = e2e_reconcile(t, fail);
	assert_int_equal(r.status, 1);
	run_free(&r);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
	json_decref(sim_post(t, "/_sim/faults", json_pack("[{s:s, s:s, s:i, s:i, s:b, s:i}]",
		"method", "POST", "path_contains", "/visitors", "status", 0, "delay_ms", 8000,
		"commit", 1, "times", 1)));
	pid = e2e_reconcile_bg(t, doubt);
	for (i = 0; i < 200 && sim_tenants_on(t, "D1") == 0; i++)
		usleep(50000);
	assert_int_equal(sim_tenants_on(t, "D1"), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(sim_delete(t, "/_sim/faults"), 200);
}

static int count_class_json(json_t *rep, const char *cls)
{
	json_t *f;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(rep, "findings"), i, f)
		n += !strcmp(json_string_value(json_object_get(f, "class")) ?: "", cls);
	return n;
}

static int count_str(const char *hay, const char *needle)
{
	int n = 0;

	while (hay && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void check_no_codes(const char *text)
{
	size_t i;

	for (i = 0; codes[i]; i++)
		if (strstr(text, codes[i]))
			fail_msg("a gate code (%s) appears in the report", codes[i]);
}

static const char *js(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "";
}

static json_t *find_row(json_t *rep, const char *cls, const char *unit)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(rep, "findings"), i, f)
		if (!strcmp(js(f, "class"), cls) && !strcmp(js(f, "unit"), unit))
			return f;
	return NULL;
}

/* Every row states both sides, names PMS units, and its class is in the
 * README's table of report classes. */
static void check_sides(json_t *rep)
{
	char *readme = NULL, path[512], needle[96];
	struct rc_err err;
	json_t *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/README.md", getenv("RECONCILE_SOURCE_DIR") ?: ".");
	assert_int_equal(rc_read_file(path, &readme, NULL, &err), 0);
	json_array_foreach(json_object_get(rep, "findings"), i, f) {
		if (!*js(f, "pms") || !*js(f, "vendor") || !*js(f, "action"))
			fail_msg("%s row, unit %s: an empty side", js(f, "class"), js(f, "unit"));
		if (!strncmp(js(f, "unit"), "r-", 2))
			fail_msg("%s row: UNIT column is \"%s\"", js(f, "class"), js(f, "unit"));
		snprintf(needle, sizeof(needle), "| `%s` |", js(f, "class"));
		if (!strstr(readme, needle))
			fail_msg("class %s is not in README.md's table of report classes", js(f, "class"));
	}
	free(readme);
}

/* The text form fits 80 columns (not a terminal, no COLUMNS), wrapped
 * between words: a longer line is one word too long to break. */
static void assert_fits_80(const char *text)
{
	const char *p = text, *nl;
	size_t n;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		n = (size_t)(nl - p);
		if (n > 80 && memchr(p + 20, ' ', n - 20))
			fail_msg("a line of %zu columns broken off mid-text:\n%.*s", n, (int)n, p);
	}
}

static void test_every_class_in_every_format(void **state)
{
	struct e2e *t = *state;
	struct run rj, rc, rt, rh;
	json_t *rep, *reqs, *f;
	char needle[128];
	size_t i, total = 0;

	make_journal(t);
	sim_clear_requests(t);
	rj = report(t, "json", NULL);
	rc = report(t, "csv", NULL);
	rt = report(t, "text", NULL);
	rh = report(t, "html", NULL);
	assert_int_equal(rj.status, 0);
	assert_fits_80(rt.out);
	rep = parse_json(rj.out);
	assert_non_null(rep);
	assert_string_equal(json_string_value(json_object_get(rep, "format_version")), "1.0");
	for (i = 0; i < NEXPECTED; i++) {
		int got = count_class_json(rep, expected[i].cls);

		if (got != expected[i].n)
			fail_msg("class %s: %d findings, want %d\n%s", expected[i].cls, got,
				 expected[i].n, rj.out);
		total += (size_t)expected[i].n;
		snprintf(needle, sizeof(needle), ",%s,", expected[i].cls);
		assert_int_equal(count_str(rc.out, needle), expected[i].n);
		snprintf(needle, sizeof(needle), "  %s ", expected[i].cls);
		assert_int_equal(count_str(rt.out, needle), expected[i].n);
		snprintf(needle, sizeof(needle), "<td>%s</td>", expected[i].cls);
		assert_int_equal(count_str(rh.out, needle), expected[i].n);
	}
	assert_int_equal(json_array_size(json_object_get(rep, "findings")), total);
	check_sides(rep);
	/* R7: what the next apply does, read from the current plan */
	f = find_row(rep, "operation_failed", "F1");
	assert_non_null(f);
	assert_non_null(strstr(js(f, "action"), "the next apply retries it"));
	f = find_row(rep, "operation_pending", "D1");
	assert_non_null(f);
	assert_non_null(strstr(js(f, "action"), "adopted, not created again"));
	assert_null(strstr(js(f, "action"), "retried"));
	f = find_row(rep, "status_mismatch", "M7");
	assert_non_null(strstr(js(f, "pms"), "Rented: rental r-M7-7 of customer c7"));
	assert_non_null(strstr(js(f, "vendor"), "Vacant, no tenant visitor"));
	f = find_row(rep, "code_mismatch", "M8");
	assert_non_null(strstr(js(f, "pms"), "the rental's code (rental r-M8-8"));
	assert_non_null(strstr(js(f, "vendor"), "a different code"));
	assert_int_equal(count_str(rc.out, "\r\n"), (int)total + 1); /* header + rows */
	/* the failed call carries its last error and time */
	assert_non_null(strstr(rj.out, "HTTP 500"));
	check_no_codes(rj.out);
	check_no_codes(rc.out);
	check_no_codes(rt.out);
	check_no_codes(rh.out);
	/* read-only: no vendor write, no PMS write */
	reqs = sim_requests(t);
	assert_int_equal(count_requests(reqs, "POST", "/opentech/facilities"), 0);
	assert_int_equal(count_requests(reqs, "PUT", "/storeganise/"), 0);
	json_decref(reqs);
	json_decref(rep);
	run_free(&rj);
	run_free(&rc);
	run_free(&rt);
	run_free(&rh);
	rj = report(t, "json", "--detailed-exitcode");
	assert_int_equal(rj.status, 2);
	run_free(&rj);
}

static void test_in_sync_sites_have_no_findings(void **state)
{
	struct e2e *t = *state;
	const char *apply[] = { "apply", "-c", t->spec, "--auto-approve", "--site", "jfail",
				"--site", "jdoubt", NULL };
	const char *rep[] = { "report", "-c", t->spec, "--site", "jfail", "--site", "jdoubt",
			      "--detailed-exitcode", "-f", "json", NULL };
	struct run r;
	json_t *j;

	r = e2e_reconcile(t, apply);
	assert_int_equal(r.status, 0);
	run_free(&r);
	r = e2e_reconcile(t, rep);
	assert_int_equal(r.status, 0);
	j = parse_json(r.out);
	assert_int_equal(json_array_size(json_object_get(j, "findings")), 0);
	json_decref(j);
	run_free(&r);
}

/* ----------------------------------------------------------- browser */

static const char *chromium(void)
{
	static const char *const paths[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser", NULL };
	size_t i;

	for (i = 0; paths[i]; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* Run headless Chromium on url; mode "--dump-dom" or "--screenshot=F". */
static char *browse(struct e2e *t, const char *mode, const char *url)
{
	char *cmd = NULL, *out = NULL, path[320];
	struct rc_err err;

	snprintf(path, sizeof(path), "%s/chromium.out", t->dir);
	assert_true(asprintf(&cmd, "'%s' --headless --no-sandbox --disable-gpu --disable-quic "
			     "--no-first-run --disable-background-networking --disable-component-update "
			     "--disable-sync --enable-logging=stderr --v=0 "
			     "--user-data-dir='%s/chromium-profile' --window-size=1280,900 "
			     "%s '%s' >'%s' 2>'%s/chromium.err'", chromium(), t->dir, mode, url,
			     path, t->dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	if (rc_read_file(path, &out, NULL, &err))
		out = rc_strdup("");
	return out;
}

static void test_html_in_a_real_browser(void **state)
{
	struct e2e *t = *state;
	char html[320], url[400], shot[340], *dom;
	struct run r;
	double share;
	unsigned w, h;

	if (!chromium())
		skip();
	snprintf(html, sizeof(html), "%s/report.html", t->dir);
	{
		const char *args[] = { "report", "-c", t->spec, "-f", "html", "-o", html, NULL };

		r = e2e_reconcile(t, args);
		assert_int_equal(r.status, 0);
		run_free(&r);
	}
	snprintf(url, sizeof(url), "file://%s#filter=code_mismatch", html);
	dom = browse(t, "--dump-dom", url);
	assert_non_null(strstr(dom, "data-ready=\"1\""));
	assert_null(strstr(dom, "data-jserror"));
	assert_non_null(strstr(dom, "data-visible=\"1\""));
	free(dom);
	/* Chromium logs the page's console to stderr: no error may be there */
	snprintf(shot, sizeof(shot), "%s/chromium.err", t->dir);
	assert_false(file_contains(shot, "Uncaught"));
	assert_false(file_contains(shot, ":CONSOLE")); /* the page logs nothing */
	snprintf(url, sizeof(url), "file://%s#filter=no-such-finding", html);
	dom = browse(t, "--dump-dom", url);
	assert_non_null(strstr(dom, "data-visible=\"0\""));
	free(dom);
	snprintf(url, sizeof(url), "file://%s", html);
	snprintf(shot, sizeof(shot), "--screenshot=%s/report.png", t->dir);
	free(browse(t, shot, url));
	snprintf(shot, sizeof(shot), "%s/report.png", t->dir);
	share = png_nonblank_share(shot, &w, &h);
	assert_int_equal(w, 1280);
	assert_true(share > 0.01); /* text, tables and the chart cover the page */
}

/* The OpenTech classes drift made by hand brings, each side stated: a
 * second visitor, a visitor locked out, other details, a re-sync. */
static void test_OT_report_every_class_states_both_sides(void **state)
{
	struct e2e *t = *state;
	const char *apply[] = { "apply", "-c", t->spec, "--auto-approve", "--site", "main", NULL };
	struct run r;
	json_t *rep, *f;

	r = e2e_reconcile(t, apply);
	run_free(&r);
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:i, s:i, s:i, s:b, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b}}",
		"collection", "opentech.visitors", "object", "id", 9101, "facilityId", 101, "unitId", 5007,
		"isTenant", 1, "firstName", "Xa", "lastName", "Yb", "email", "x@example.com",
		"mobilePhoneNumber", "+351 91 99", "code", "400099", "accessProfileId", 1,
		"timeGroupId", 0, "isEnabled", 1)));
	sim_patch(t, "opentech.visitors", "9003", json_pack("{s:b}", "isEnabled", 0));
	sim_patch(t, "storeganise.users", "c9", json_pack("{s:s}", "lastName", "Nova"));
	sim_patch(t, "storeganise.unitRentals", "r-M8-8", json_pack("{s:{s:s}}", "customFields",
		"opentech_resync", "true"));
	r = report(t, "json", "--site=main");
	rep = parse_json(r.out);
	assert_non_null(rep);
	f = find_row(rep, "extra_tenant", "M11");
	assert_non_null(f);
	assert_non_null(strstr(js(f, "vendor"), "another tenant visitor (9101)"));
	assert_non_null(strstr(js(f, "pms"), "rental r-M11-11"));
	f = find_row(rep, "tenant_locked_out", "M10");
	assert_non_null(f);
	assert_non_null(strstr(js(f, "vendor"), "disabled"));
	assert_non_null(strstr(js(f, "pms"), "Rented: rental r-M10-10"));
	f = find_row(rep, "tenant_details_mismatch", "M9");
	assert_non_null(f);
	assert_non_null(strstr(js(f, "pms"), "Nova (differs: last name)"));
	assert_non_null(strstr(js(f, "vendor"), "L9"));
	f = find_row(rep, "push_pending", "M8");
	assert_non_null(f);
	f = find_row(rep, "writeback_pending", "M8");
	assert_non_null(f);
	assert_non_null(strstr(js(f, "pms"), "rental r-M8-8: opentech_resync"));
	assert_non_null(strstr(js(f, "action"), "opentech_resync = false"));
	check_sides(rep);
	check_no_codes(r.out);
	assert_null(strstr(r.out, "400099"));
	json_decref(rep);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_class_in_every_format),
		cmocka_unit_test(test_html_in_a_real_browser),
		cmocka_unit_test(test_in_sync_sites_have_no_findings),
		cmocka_unit_test(test_OT_report_every_class_states_both_sides),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
