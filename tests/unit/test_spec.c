/* test_spec.c: the spec loader: examples, defaults, errors with paths. */
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

#include "specs/spec.h"
#include "providers/opentech.h"
#include "providers/vendor.h"

static const char *src(void)
{
	const char *s = getenv("RECONCILE_SOURCE_DIR");

	return s && *s ? s : RECONCILE_SOURCE_DIR;
}

static void test_examples_load(void **state)
{
	const char *names[] = { "minimal", "opentech", "mixed" };
	struct spec *s;
	struct rc_err err;
	char path[512];
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/specs/examples/%s.json", src(), names[i]);
		rc_err_clear(&err);
		if (spec_load(path, vendor_specs(), &s, &err))
			fail_msg("%s", err.msg);
		assert_true(s->nsites >= 1);
		spec_free(s);
	}
}

#define BASE_PMS "\"pms\":{\"type\":\"storeganise\",\"base_url\":\"https://x.storeganise.com/api\",\"api_key_env\":\"K\"}"
#define OT_OK "\"opentech\":{\"environment\":\"production\",\"property_number\":\"P\",\"api_key_env\":\"A\"," \
	"\"api_secret_env\":\"B\",\"client_id_env\":\"C\",\"client_secret_file\":\"secrets/cs\"}"

static struct spec *load_ok(const char *text)
{
	struct spec *s = NULL;
	struct rc_err err;

	rc_err_clear(&err);
	if (spec_load_buf(text, strlen(text), "/etc/reconcile/spec.json", vendor_specs(), &s, &err))
		fail_msg("%s", err.msg);
	return s;
}

/* The load fails and the message holds `want`. */
static void load_bad(const char *text, const char *want)
{
	struct spec *s = NULL;
	struct rc_err err;

	rc_err_clear(&err);
	assert_int_not_equal(spec_load_buf(text, strlen(text), "spec.json", vendor_specs(), &s, &err), 0);
	assert_null(s);
	if (!strstr(err.msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static void test_defaults(void **state)
{
	struct spec *s = load_ok("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\","
				 "\"pms_site_id\":\"S\",\"vendor\":\"opentech\"," OT_OK "}]}");

	(void)state;
	assert_string_equal(s->state_dir, "/etc/reconcile/.reconcile-state");
	assert_int_equal(s->pms.page_size, 1000);
	assert_int_equal(s->sites[0].code_length, 6);
	assert_int_equal(s->sites[0].max_destructive_min, 3);
	assert_true(s->sites[0].max_destructive > 0.09 && s->sites[0].max_destructive < 0.11);
	assert_int_equal(s->sites[0].sync_interval_s, 900);
	assert_int_equal(s->retention.events_s, 7 * 86400);
	assert_int_equal(s->retention.journal_s, 180 * 86400);
	assert_string_equal(s->sites[0].vendor->name, "opentech");
	assert_ptr_equal(vendor_of(&s->sites[0]), vendor_table[0]);
	assert_string_equal(spec_field(&s->sites[0], OT_F_UNIT_ID), "opentech_unitId");
	assert_string_equal(spec_field(&s->sites[0], OT_F_RESYNC), "opentech_resync");
	assert_string_equal(((struct opentech_conf *)s->sites[0].conf)->client_secret.file,
			    "/etc/reconcile/secrets/cs");
	assert_int_equal(((struct opentech_conf *)s->sites[0].conf)->access_profile_id, -1);
	assert_non_null(spec_find_site(s, "a"));
	assert_non_null(spec_find_site_by_pms_id(s, "S"));
	spec_free(s);
}

static void test_errors_name_the_path(void **state)
{
	(void)state;
	load_bad("{\"version\":1,", "spec.json:1:");
	load_bad("{\"version\":1,\"version\":1}", "duplicate");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[],\"extra\":1}", "$: unknown key \"extra\"");
	load_bad("{\"version\":2," BASE_PMS ",\"sites\":[]}", "$.version");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[]}", "$.sites");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\",\"opentech\":{\"environment\":\"production\","
		 "\"property_number\":\"P\",\"api_key\":\"hunter2\"}}]}",
		 "$.sites[0].opentech: \"api_key\": inline secrets are not allowed; use api_key_env or api_key_file");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\",\"code_length\":\"6\"," OT_OK "}]}",
		 "$.sites[0].code_length: expected an integer");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\"}]}", "needs a \"opentech\" object");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\"," OT_OK ",\"pti\":{}}]}", "\"pti\" settings given");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\"," OT_OK "},{\"name\":\"a\",\"pms_site_id\":\"T\","
		 "\"vendor\":\"opentech\"," OT_OK "}]}", "used twice");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\",\"sync_interval\":\"soon\"," OT_OK "}]}",
		 "$.sites[0]: sync_interval");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\",\"opentech\":{\"environment\":\"production\","
		 "\"property_number\":\"P\",\"api_key_env\":\"A\",\"api_key_file\":\"f\"}}]}",
		 "give only one of api_key_env");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\",\"fields\":{\"ot_unit_id\":\"bad code!\"}," OT_OK "}]}",
		 "$.sites[0].fields.ot_unit_id");
}

/* serve.requests_per_second paces a vendor or the PMS by name; http sets
 * every client's retry policy; both are checked and named in errors. */
static void test_limits_and_http(void **state)
{
	struct spec *s = load_ok("{\"version\":1," BASE_PMS ",\"serve\":{\"requests_per_second\":"
				 "{\"opentech\":20,\"storeganise\":2.5}},\"http\":{\"attempts\":3,"
				 "\"backoff_ms\":100},\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
				 "\"vendor\":\"opentech\"," OT_OK "}]}");
	size_t i;
	double ot = 0, sg = 0;

	(void)state;
	assert_int_equal(s->serve.nrates, 2);
	for (i = 0; i < s->serve.nrates; i++) {
		if (!strcmp(s->serve.rates[i].peer, "opentech"))
			ot = s->serve.rates[i].rps;
		if (!strcmp(s->serve.rates[i].peer, "storeganise"))
			sg = s->serve.rates[i].rps;
	}
	assert_true(ot == 20 && sg == 2.5);
	assert_int_equal(s->http.attempts, 3);
	assert_int_equal(s->http.read_attempts, 8);
	assert_int_equal(s->http.backoff_ms, 100);
	assert_int_equal(s->http.timeout_ms, 15000);
	spec_free(s);
	load_bad("{\"version\":1," BASE_PMS ",\"serve\":{\"requests_per_second\":{\"acme\":5}},"
		 "\"sites\":[]}", "$.serve.requests_per_second.acme: no vendor or PMS is named \"acme\"");
	load_bad("{\"version\":1," BASE_PMS ",\"serve\":{\"requests_per_second\":{\"pti\":0}},"
		 "\"sites\":[]}", "$.serve.requests_per_second.pti: expected requests per second");
	load_bad("{\"version\":1," BASE_PMS ",\"http\":{\"attempts\":0},\"sites\":[]}",
		 "$.http");
	load_bad("{\"version\":1," BASE_PMS ",\"http\":{\"retries\":2},\"sites\":[]}",
		 "unknown key \"retries\"");
}

/* A site's vendor comes from the table the loader is given: unknown
 * vendors name the table, other vendors' fields name their owner. */
static void test_vendors_from_the_table(void **state)
{
	(void)state;
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"noke\"}]}",
		 "vendor: must be \"opentech\", \"pti\" or \"openapp\"");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\",\"fields\":{\"pti_unit_name\":\"x\"}," OT_OK "}]}",
		 "\"pti_unit_name\" is a field of vendor pti, not of opentech");
	load_bad("{\"version\":1," BASE_PMS ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
		 "\"vendor\":\"opentech\",\"fields\":{\"nope\":\"x\"}," OT_OK "}]}",
		 "$.sites[0].fields: unknown key \"nope\"");
}

static void test_retention(void **state)
{
	struct spec *s = load_ok("{\"version\":1," BASE_PMS ",\"retention\":{\"events\":\"2d\","
				 "\"journal\":0},\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\","
				 "\"vendor\":\"opentech\",\"sync_interval\":\"1d\"," OT_OK "}]}");

	(void)state;
	assert_int_equal(s->retention.events_s, 2 * 86400);
	assert_int_equal(s->retention.journal_s, 0);       /* keep forever */
	assert_int_equal(s->sites[0].sync_interval_s, 86400);
	spec_free(s);
	load_bad("{\"version\":1," BASE_PMS ",\"retention\":{\"events\":\"5m\"},\"sites\":[]}",
		 "$.retention: events: a duration");
	load_bad("{\"version\":1," BASE_PMS ",\"retention\":{\"journal\":\"1w\"},\"sites\":[]}",
		 "$.retention: journal");
	load_bad("{\"version\":1," BASE_PMS ",\"retention\":{\"events\":\"213503982334603d\"},\"sites\":[]}",
		 "$.retention: events");                    /* overflows: refused, not wrapped */
	load_bad("{\"version\":1," BASE_PMS ",\"retention\":{\"audit\":\"1d\"},\"sites\":[]}",
		 "unknown key \"audit\"");
	load_bad("{\"version\":1," BASE_PMS ",\"retention\":\"7d\",\"sites\":[]}",
		 "$.retention: expected an object");
}

static void test_inline_secret_value_never_echoed(void **state)
{
	const char *text = "{\"version\":1,\"pms\":{\"type\":\"storeganise\",\"base_url\":\"https://x\","
			   "\"api_key\":\"sk-LEAK-ME\"},\"sites\":[]}";
	struct spec *s = NULL;
	struct rc_err err;

	(void)state;
	assert_int_not_equal(spec_load_buf(text, strlen(text), "spec.json", vendor_specs(), &s, &err), 0);
	assert_null(strstr(err.msg, "sk-LEAK-ME"));
	assert_non_null(strstr(err.msg, "$.pms"));
}

/* <base>_credential: a systemd credential, read from $CREDENTIALS_DIRECTORY
 * (LoadCredential=), allowed wherever <base>_file is. */
static void test_systemd_credential(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], file[600], *v = NULL;
	struct rc_err err;
	struct spec *s;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_spec_cred.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/sg_api_key", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("sk-from-credential\n", f);
	fclose(f);

	s = load_ok("{\"version\":1,\"pms\":{\"type\":\"storeganise\",\"base_url\":\"https://x\","
		    "\"api_key_credential\":\"sg_api_key\"},\"sites\":[{\"name\":\"a\","
		    "\"pms_site_id\":\"S\",\"vendor\":\"opentech\",\"opentech\":{\"environment\":"
		    "\"production\",\"property_number\":\"P\",\"api_key_env\":\"A\",\"api_secret_env\":"
		    "\"B\",\"client_id_env\":\"C\",\"client_secret_credential\":\"ot_cs\"}}]}");
	assert_string_equal(s->pms.api_key.credential, "sg_api_key");
	assert_null(s->pms.api_key.file);
	assert_string_equal(((struct opentech_conf *)s->sites[0].conf)->client_secret.credential,
			    "ot_cs");
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	rc_err_clear(&err);
	assert_int_equal(spec_secret_read(&s->pms.api_key, "pms.api_key", NULL, &v, &err), RC_OK);
	assert_string_equal(v, "sk-from-credential");
	rc_free_secret(v);
	v = NULL;
	/* a missing credential names its path, not a value */
	rc_err_clear(&err);
	assert_int_not_equal(spec_secret_read(&((struct opentech_conf *)s->sites[0].conf)->client_secret,
					      "a.client_secret", NULL, &v, &err), RC_OK);
	assert_non_null(strstr(err.msg, "ot_cs"));
	unsetenv("CREDENTIALS_DIRECTORY");
	rc_err_clear(&err);
	assert_int_not_equal(spec_secret_read(&s->pms.api_key, "pms.api_key", NULL, &v, &err), RC_OK);
	assert_non_null(strstr(err.msg, "CREDENTIALS_DIRECTORY"));
	assert_null(strstr(err.msg, "sk-from-credential"));
	spec_free(s);

	load_bad("{\"version\":1,\"pms\":{\"type\":\"storeganise\",\"base_url\":\"https://x\","
		 "\"api_key_credential\":\"k\",\"api_key_env\":\"K\"},\"sites\":[]}",
		 "give only one of api_key_env, api_key_file, api_key_credential");
	load_bad("{\"version\":1,\"pms\":{\"type\":\"storeganise\",\"base_url\":\"https://x\","
		 "\"api_key_credential\":\"../etc/k\"},\"sites\":[]}",
		 "$.pms.api_key: api_key_credential: a credential name, not a path");
	load_bad("{\"version\":1,\"pms\":{\"type\":\"storeganise\",\"base_url\":\"https://x\","
		 "\"api_key_env\":\"K\",\"page_size_credential\":\"k\"},\"sites\":[]}",
		 "unknown key \"page_size_credential\"");
	unlink(file);
	rmdir(dir);
}

/* ---- HTTP settings per peer, against a table of two made-up vendors:
 * "alpha" declares defaults of its own and pages (1..50, 20), "beta"
 * declares none and does not page. */

static int fake_conf_load(struct spec_ld *l, json_t *o, const char *path, void **conf)
{
	static const char *const none[] = { NULL };

	*conf = NULL;
	return spec_check_keys(l, o, path, none);
}

static void fake_conf_free(void *conf)
{
	(void)conf;
}

static void fake_conf_secrets(const void *conf, spec_secret_cb fn, void *payload)
{
	(void)conf;
	(void)fn;
	(void)payload;
}

static const struct spec_vendor fake_alpha = {
	.name = "alpha", .title = "Alpha", .conf_load = fake_conf_load,
	.conf_free = fake_conf_free, .conf_secrets = fake_conf_secrets,
	.http = { .timeout_ms = 60000, .max_elapsed_s = 180, .page_size = 20 }, .page_max = 50,
};
static const struct spec_vendor fake_beta = {
	.name = "beta", .title = "Beta", .conf_load = fake_conf_load,
	.conf_free = fake_conf_free, .conf_secrets = fake_conf_secrets,
};
static const struct spec_vendor *const fake_table[] = { &fake_alpha, &fake_beta, NULL };

#define FAKE_SITES ",\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S1\",\"vendor\":\"alpha\",\"alpha\":{}}," \
	"{\"name\":\"b\",\"pms_site_id\":\"S2\",\"vendor\":\"beta\",\"beta\":{}}]}"

static struct spec *fake_load(const char *http)
{
	char *text = rc_sprintf("{\"version\":1," BASE_PMS "%s%s" FAKE_SITES, http ? ",\"http\":" : "",
				http ? http : "");
	struct spec *s = NULL;
	struct rc_err err;

	rc_err_clear(&err);
	if (spec_load_buf(text, strlen(text), "spec.json", fake_table, &s, &err))
		fail_msg("%s", err.msg);
	free(text);
	return s;
}

static void fake_bad(const char *http, const char *want)
{
	char *text = rc_sprintf("{\"version\":1," BASE_PMS ",\"http\":%s" FAKE_SITES, http);
	struct spec *s = NULL;
	struct rc_err err;

	rc_err_clear(&err);
	assert_int_not_equal(spec_load_buf(text, strlen(text), "spec.json", fake_table, &s, &err), 0);
	assert_null(s);
	if (!strstr(err.msg, want))
		fail_msg("http %s: message \"%s\" lacks \"%s\"", http, err.msg, want);
	free(text);
}

/* No http section: each peer has the built-in defaults, a vendor its own
 * where it declares them. */
static void test_http_defaults_per_peer(void **state)
{
	struct spec *s = fake_load(NULL);
	const struct spec_http *a = s->sites[0].http, *b = s->sites[1].http;

	(void)state;
	assert_ptr_equal(a, &s->vendor_http[0]);
	assert_ptr_equal(b, &s->vendor_http[1]);
	assert_int_equal(a->timeout_ms, 60000);
	assert_int_equal(a->max_elapsed_s, 180);
	assert_int_equal(a->attempts, 4);
	assert_int_equal(a->read_attempts, 8);
	assert_int_equal(a->backoff_ms, 500);
	assert_int_equal(a->page_size, 20);
	assert_int_equal(b->timeout_ms, 15000);
	assert_int_equal(b->max_elapsed_s, 60);
	assert_int_equal(b->page_size, 0);
	assert_int_equal(s->pms_http.timeout_ms, 15000);
	assert_int_equal(s->pms_http.page_size, 1000);    /* $.pms.page_size */
	spec_free(s);
}

/* Key by key: the peer's own object, else the section, else the vendor's
 * default, else the built-in one. */
static void test_http_precedence(void **state)
{
	struct spec *s = fake_load("{\"timeout_ms\":20000,\"read_attempts\":5,"
				   "\"alpha\":{\"attempts\":2,\"page_size\":50},"
				   "\"beta\":{\"timeout_ms\":5000,\"read_attempts\":12},"
				   "\"storeganise\":{\"backoff_ms\":250}}");
	const struct spec_http *a = s->sites[0].http, *b = s->sites[1].http;

	(void)state;
	assert_int_equal(s->http.timeout_ms, 20000);      /* the section over the built-in */
	assert_int_equal(s->http.attempts, 4);
	assert_int_equal(a->timeout_ms, 20000);           /* the section over alpha's 60000 */
	assert_int_equal(a->max_elapsed_s, 180);          /* alpha's, the section is silent */
	assert_int_equal(a->attempts, 2);                 /* its own */
	assert_int_equal(a->read_attempts, 5);
	assert_int_equal(a->page_size, 50);
	assert_int_equal(b->timeout_ms, 5000);            /* its own over the section */
	assert_int_equal(b->read_attempts, 12);
	assert_int_equal(b->attempts, 4);
	assert_int_equal(s->pms_http.timeout_ms, 20000);
	assert_int_equal(s->pms_http.backoff_ms, 250);
	assert_int_equal(s->pms_http.read_attempts, 5);
	spec_free(s);
}

/* Bad values and keys name their JSON path; a page size only where the
 * vendor pages, within its range. */
static void test_http_bad_values(void **state)
{
	(void)state;
	fake_bad("{\"alpha\":{\"timeout_ms\":99}}",
		 "spec.json: $.http.alpha.timeout_ms: expected an integer from 100 to 600000");
	fake_bad("{\"beta\":{\"attempts\":11}}", "$.http.beta.attempts: expected an integer from 1 to 10");
	fake_bad("{\"storeganise\":{\"read_attempts\":0}}", "$.http.storeganise.read_attempts");
	fake_bad("{\"alpha\":{\"max_elapsed_s\":\"60s\"}}", "$.http.alpha.max_elapsed_s");
	fake_bad("{\"alpha\":{\"backoff_ms\":null}}", "$.http.alpha.backoff_ms");
	fake_bad("{\"alpha\":{\"page_size\":51}}", "$.http.alpha.page_size: expected an integer from 1 to 50");
	fake_bad("{\"alpha\":{\"page_size\":0}}", "$.http.alpha.page_size");
	fake_bad("{\"beta\":{\"page_size\":10}}",
		 "$.http.beta.page_size: the Beta API does not page its lists");
	fake_bad("{\"storeganise\":{\"page_size\":10}}",
		 "$.http.storeganise.page_size: the PMS's page size is $.pms.page_size");
	fake_bad("{\"page_size\":10}", "$.http.page_size: a page size is a vendor's ($.http.alpha.page_size)");
	fake_bad("{\"gamma\":{}}", "$.http: unknown key \"gamma\": a setting (timeout_ms, attempts, "
		 "read_attempts, backoff_ms, max_elapsed_s) or a peer (\"alpha\", \"beta\", \"storeganise\")");
	fake_bad("{\"alpha\":{\"retries\":1}}", "$.http.alpha: unknown key \"retries\"");
	fake_bad("{\"alpha\":30000}", "$.http.alpha: expected an object");
	fake_bad("{\"beta\":null}", "$.http.beta: expected an object");
	fake_bad("[]", "$.http: expected an object");
}

/* The real table: what OpenTech and OpenApp declare, and a path through a
 * real vendor's name. */
static void test_http_vendor_table(void **state)
{
	struct spec *s = load_ok("{\"version\":1," BASE_PMS ",\"http\":{\"openapp\":{\"page_size\":100}},"
				 "\"sites\":[{\"name\":\"a\",\"pms_site_id\":\"S\",\"vendor\":\"opentech\","
				 OT_OK "}]}");
	size_t i;

	(void)state;
	assert_int_equal(s->sites[0].http->timeout_ms, 60000); /* its lists come whole */
	for (i = 0; vendor_table[i]; i++)
		if (!strcmp(vendor_table[i]->spec.name, "openapp"))
			assert_int_equal(s->vendor_http[i].page_size, 100);
	spec_free(s);
	load_bad("{\"version\":1," BASE_PMS ",\"http\":{\"opentech\":{\"timeout_ms\":50}},\"sites\":[]}",
		 "$.http.opentech.timeout_ms: expected an integer from 100 to 600000");
	load_bad("{\"version\":1," BASE_PMS ",\"http\":{\"openapp\":{\"page_size\":201}},\"sites\":[]}",
		 "$.http.openapp.page_size: expected an integer from 1 to 200");
	load_bad("{\"version\":1," BASE_PMS ",\"http\":{\"pti\":{\"page_size\":10}},\"sites\":[]}",
		 "$.http.pti.page_size: the PTI StorLogix API does not page");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_load),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors_name_the_path),
		cmocka_unit_test(test_vendors_from_the_table),
		cmocka_unit_test(test_inline_secret_value_never_echoed),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_limits_and_http),
		cmocka_unit_test(test_systemd_credential),
		cmocka_unit_test(test_http_defaults_per_peer),
		cmocka_unit_test(test_http_precedence),
		cmocka_unit_test(test_http_bad_values),
		cmocka_unit_test(test_http_vendor_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
