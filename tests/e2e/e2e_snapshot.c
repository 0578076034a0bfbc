/*
 * e2e_snapshot.c: `plan --pms-snapshot FILE`, the file streamed element by
 * element (providers/storeganise_parse.c over core/jscan.c): sections in
 * any order (users and jobs before unitRentals are read after them), other
 * members skipped, and every malformed file refused with the file, the
 * byte offset and the JSON path, a non-zero exit and no plan.
 *
 * Seed tests/e2e/data/openapp.json (OpenApp site oa1, no invite); the
 * snapshot files are written here.
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

#include "harness.h"

#define ORG "01ORG0000000000000000000AA"
#define INTEG "01INT0000000000000000000BB"

#define SITES "\"sites\":[{\"id\":\"oa1\"},{\"id\":\"other\"}]"
#define UNITS "\"units\":[{\"id\":\"u1\",\"siteId\":\"oa1\",\"name\":\"O1\"," \
	"\"customFields\":{\"openapp_portalIds\":\"P-O1\"}},{\"id\":\"u9\",\"siteId\":\"other\"," \
	"\"name\":\"X [not ours] {\\\"q\\\"}\"}]"
#define RENTALS "\"unitRentals\":[{\"id\":\"r1\",\"unitId\":\"u1\",\"siteId\":\"oa1\"," \
	"\"ownerId\":\"c1\",\"state\":\"occupied\",\"startDate\":\"2026-01-01\"," \
	"\"moveOutJobId\":\"j1\"}]"
#define USERS "\"users\":[{\"id\":\"c2\",\"firstName\":\"not a renter\"},{\"id\":\"c1\"," \
	"\"firstName\":\"F1\",\"email\":\"f1@example.com\"}]"
#define JOBS "\"jobs\":[{\"id\":\"j1\",\"type\":\"unit_moveOut\",\"state\":\"ready\"," \
	"\"data\":{\"date\":\"2031-05-20\"}}]"

static void start(struct e2e *t)
{
	e2e_start_openapp(t, "tests/e2e/data/openapp.json", "oa1", "oa1", ORG, INTEG, "P-LOBBY");
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* plan --json from a snapshot of text: the run (stdout, stderr, status). */
static struct run plan_from(struct e2e *t, const char *text)
{
	char path[320];
	const char *args[] = { "plan", "-c", t->spec, "--pms-snapshot", path, "--json", NULL };

	snprintf(path, sizeof(path), "%s/snap.json", t->dir);
	write_text(path, text);
	return e2e_reconcile(t, args);
}

/* The plan's operations (new), from a run that must have succeeded. */
static json_t *operations(struct run *r)
{
	json_t *plan, *ops;

	assert_int_equal(r->status, 0);
	plan = parse_json(r->out);
	assert_non_null(plan);
	ops = json_incref(json_object_get(plan, "reconcile_operations"));
	json_decref(plan);
	assert_true(json_array_size(ops) > 0);
	return ops;
}

/* users and jobs before unitRentals, an unknown member holding brackets
 * in strings, blanks everywhere: the plan of the file in the usual order. */
static void test_sections_in_any_order_plan_the_same(void **state)
{
	struct e2e t;
	struct run r;
	json_t *want, *got, *tenant;

	(void)state;
	start(&t);
	r = plan_from(&t, "{" SITES "," UNITS "," RENTALS "," USERS "," JOBS "}");
	want = operations(&r);
	run_free(&r);
	tenant = json_object_get(json_array_get(want, 0), "tenant");
	assert_string_equal(json_string_value(json_object_get(tenant, "valid_to")),
			    "2031-05-20T23:59:59Z"); /* the job's date: jobs were read */
	r = plan_from(&t, "\n { " JOBS " ,\n" USERS ",\"meta\" : {\"x\":[1,{\"y\":\"]}\\\"\"}]},"
		      "\"n\":3,\t" RENTALS "," UNITS ",\r\n" SITES " }\n\n");
	got = operations(&r);
	run_free(&r);
	assert_true(json_equal(want, got));
	json_decref(want);
	json_decref(got);
	e2e_stop(&t);
}

/* A rental with no siteId takes its unit's site (docs/pms-api.md): the
 * file's filter keeps it rather than drop it before it has a site. */
static void test_rental_without_site_takes_its_units(void **state)
{
	struct e2e t;
	struct run r;
	json_t *ops;

	(void)state;
	start(&t);
	r = plan_from(&t, "{" SITES "," UNITS ",\"unitRentals\":[{\"id\":\"r1\",\"unitId\":\"u1\","
		      "\"ownerId\":\"c1\",\"state\":\"occupied\",\"startDate\":\"2026-01-01\"}],"
		      USERS "}");
	ops = operations(&r);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 0), "rental_id")),
			    "r1");
	json_decref(ops);
	run_free(&r);
	e2e_stop(&t);
}

/* A bad file: exit 1, no plan, and stderr holds each of the needles. */
static void refused(struct e2e *t, const char *text, const char *n1, const char *n2)
{
	struct run r = plan_from(t, text);

	if (!strstr(r.err, n1) || (n2 && !strstr(r.err, n2)))
		fail_msg("stderr lacks \"%s\" / \"%s\":\n%s", n1, n2 ? n2 : "", r.err);
	assert_non_null(strstr(r.err, "snap.json"));
	assert_int_equal(r.status, 1);
	assert_null(strstr(r.out, "operations"));
	run_free(&r);
}

static void test_malformed_files_are_refused_with_place(void **state)
{
	struct e2e t;
	char *cut;
	const char *whole = "{" SITES "," UNITS "," RENTALS "," USERS "}";

	(void)state;
	start(&t);
	/* cut inside the second unit */
	cut = strndup(whole, (size_t)(strstr(whole, "\"u9\"") - whole) + 3);
	refused(&t, cut, "byte ", "$.units[1]: the text ends inside a value (a truncated file?)");
	free(cut);
	/* cut between elements, and after the last section */
	refused(&t, "{" SITES "," UNITS, "$: the text ends early (a truncated file?)", NULL);
	refused(&t, "{" SITES ",\"units\":[{\"id\":\"u1\",\"siteId\":\"oa1\",\"name\":\"O1\"},",
		"$.units[1]: expected a value: the text ends", NULL);
	refused(&t, "[" SITES "]", "snap.json: byte 0: expected an object {sites, units, "
		"unitRentals, users}", NULL);
	refused(&t, "", "the file is empty", NULL);
	refused(&t, "{" SITES "," UNITS "," RENTALS "}", "snap.json: $.users: missing", NULL);
	refused(&t, "{" SITES "," UNITS "," RENTALS "," USERS "} {}",
		"$: bytes after the end of the JSON text", NULL);
	refused(&t, "{" SITES "," UNITS "," RENTALS "," USERS ",\"units\":[]}",
		"$: the key \"units\" is there twice", NULL);
	refused(&t, "{" SITES "," UNITS "," RENTALS "," USERS ",\"jobs\":{}}",
		"$.jobs: expected a JSON array", NULL);
	refused(&t, "{\"sites\":[{\"id\":\"oa1\"}], \"units\":[]," RENTALS "," USERS ",\"units\":[]}",
		"the key \"units\" is there twice", NULL);
	/* inside an element: jansson's own errors, placed in the file */
	refused(&t, "{\"sites\":[{\"id\":\"oa1\"},{\"id\":tru}]," UNITS "," RENTALS "," USERS "}",
		"snap.json: byte 32: $.sites[1]: invalid token", NULL);
	refused(&t, "{\"sites\":[{\"id\":\"oa1\",\"id\":\"x\"}]," UNITS "," RENTALS "," USERS "}",
		"$.sites[0]: duplicate object key", NULL);
	refused(&t, "{\"sites\":[{\"id\":\"oa1\"} 7]," UNITS "," RENTALS "," USERS "}",
		"byte 23: $.sites[1]: expected ',' or ']'", NULL);
	/* a field of a kept element */
	refused(&t, "{" SITES ",\"units\":[{\"siteId\":\"oa1\",\"name\":\"O1\"}]," RENTALS "," USERS "}",
		"snap.json: byte 48: $.units[0]: field \"id\": missing", NULL);
	refused(&t, "{" SITES ",\"units\":[3]," RENTALS "," USERS "}",
		"byte 48: $.units[0]: expected an object", NULL);
	/* a users section read after unitRentals names its own place too */
	refused(&t, "{\"users\":[{\"id\":\"c1\",\"phone\":{}}]," SITES "," UNITS "," RENTALS "}",
		"byte 10: $.users[0]: field \"phone\"", NULL);
	e2e_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rental_without_site_takes_its_units),
		cmocka_unit_test(test_sections_in_any_order_plan_the_same),
		cmocka_unit_test(test_malformed_files_are_refused_with_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
