/*
 * e2e_pms.c: what reconcile reads from the PMS, against the simulator of
 * Storeganise and OpenApp (the vendor that shows it: an invite's window).
 *
 * Seed tests/e2e/data/openapp.json: site oa1, units O1..O5 with portal
 * fields P-O1..P-O5; rentals r1 (O1), r2 (O2, overdue), r3 (O3, endDate
 * 2026-12-31); no invite, no job. The spec reads the PMS in pages of 5.
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
#include <time.h>

#include "harness.h"

#define ORG "01ORG0000000000000000000AA"
#define INTEG "01INT0000000000000000000BB"

/* An OpenApp site of the seed's integration, as spec JSON. */
static char *oa_site(const char *name, const char *pms_site_id)
{
	char *s = NULL;

	if (asprintf(&s, "{\"name\":\"%s\",\"pms_site_id\":\"%s\",\"vendor\":\"openapp\","
		     "\"openapp\":{\"base_url\":\"@SIM@/openapp/api/v1\",\"api_key_env\":\"E2E_OA_API_KEY\","
		     "\"org_id\":\"" ORG "\",\"integration_id\":\"" INTEG "\","
		     "\"lobby_portal_ids\":[\"P-LOBBY\"]}}", name, pms_site_id) < 0)
		abort();
	return s;
}

static void start(struct e2e *t)
{
	e2e_start_openapp(t, "tests/e2e/data/openapp.json", "oa1", "oa1", ORG, INTEG, "P-LOBBY");
}

static json_t *invite_of(struct e2e *t, const char *rental)
{
	json_t *oa = sim_state_of(t, "openapp"), *i, *found = NULL;
	size_t k;

	json_array_foreach(json_object_get(oa, "invites"), k, i)
		if (!strcmp(json_string_value(json_object_get(json_object_get(i, "external_ref"),
							      "record_id")) ?: "", rental))
			found = json_incref(i);
	json_decref(oa);
	return found;
}

/* "YYYY-MM-DD" of today + days (UTC). */
static void day(long days, char *out, size_t n)
{
	time_t t = time(NULL) + days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* R10: a site id missing from the PMS answer fails its site. The sites
 * list is paged like every other list: with more sites than one page of
 * the API's default (100), a spec site listed late is still found. */
static void test_R10_every_pms_site_is_read_past_the_first_page(void **state)
{
	struct e2e t;
	char *a, *b, *json, id[16];
	const char *args[] = { "plan", "-c", t.spec, "--detailed-exitcode", NULL };
	struct run r;
	json_t *reqs;
	int i;

	(void)state;
	a = oa_site("oa1", "oa1");
	b = oa_site("far", "x0120");
	if (asprintf(&json, "%s,%s", a, b) < 0)
		abort();
	setenv("E2E_OA_API_KEY", "demo-openapp-key", 1);
	e2e_start_site(&t, "tests/e2e/data/openapp.json", json);
	for (i = 1; i <= 120; i++) {
		snprintf(id, sizeof(id), "x%04d", i);
		json_decref(sim_post(&t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:{}}}",
			"collection", "storeganise.sites", "object", "id", id, "code", id,
			"customFields")));
	}
	sim_clear_requests(&t);
	r = e2e_reconcile(&t, args);
	if (r.status != 2)
		fprintf(stderr, "%s\n%s\n", r.out, r.err);
	assert_int_equal(r.status, 2);     /* both sites planned: oa1 has changes */
	assert_null(strstr(r.err, "not in the PMS answer"));
	assert_null(strstr(r.out, "Not planned"));
	run_free(&r);
	reqs = sim_requests(&t);
	/* 121 sites in pages of 5: 25 GETs (the last one short) */
	assert_int_equal(count_requests(reqs, "GET", "/storeganise/api/v1/admin/sites"), 25);
	json_decref(reqs);
	e2e_stop(&t);
	free(a);
	free(b);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_R10_every_pms_site_is_read_past_the_first_page),
	};

	(void)start;
	(void)invite_of;
	(void)day;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
