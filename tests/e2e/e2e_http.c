/*
 * e2e_http.c: the HTTP client against a real server (the simulator): one
 * connection cache for the whole process, so that a client per site does
 * not keep a socket per site (a spec of a thousand sites stalled on
 * EMFILE when each site's handle kept its own connection).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "providers/http.h"

static const char *const SITES[][3] = { { "site1", "site1", "P1" } };

/* Sockets this process holds open. */
static size_t open_sockets(void)
{
	char path[300], target[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	size_t n = 0;
	ssize_t len;

	assert_non_null(dir);
	while ((d = readdir(dir)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			n += !strncmp(target, "socket:", 7);
		}
	}
	closedir(dir);
	return n;
}

static void test_clients_share_one_connection_cache(void **state)
{
	enum { N = 200 };
	struct http_client *c[N];
	struct http_resp resp;
	struct rc_err err;
	struct e2e t;
	char url[128];
	size_t before, i;

	(void)state;
	e2e_start(&t, "tests/e2e/data/basic.json", SITES, 1);
	snprintf(url, sizeof(url), "%s/_sim/requests", t.base);
	before = open_sockets();
	for (i = 0; i < N; i++) {
		struct http_req req = { .method = "GET", .url = url, .idempotent = true };

		assert_int_equal(http_client_new(&c[i], NULL, &err), RC_OK);
		http_resp_init(&resp);
		assert_int_equal(http_do(c[i], &req, &resp, &err), RC_OK);
		assert_int_equal(resp.status, 200);
		http_resp_free(&resp);
	}
	/* every client alive: one connection and one idle handle's wake-up
	 * socket pair (libcurl's), not a connection and a pair per client */
	if (open_sockets() > before + 4)
		fail_msg("%zu sockets open after %d clients (%zu before)", open_sockets(), N, before);
	for (i = 0; i < N; i++)
		http_client_free(c[i]);
	e2e_stop(&t);
}

/* A create (a request that is not idempotent) keeps its connection alive,
 * and is still never sent twice: the server acts on the second one and
 * resets the reused connection without an answer; libcurl would resend a
 * body it can rewind on a new connection by itself, which the server
 * would take for a second create. Here it goes out once, in doubt. */
static void test_a_create_on_a_reused_connection_is_never_resent(void **state)
{
	const char *const hdrs[] = { "Content-Type: application/json", NULL };
	const char body[] = "{\"unitId\":\"u1\"}";
	struct http_req req = { .method = "POST", .headers = hdrs, .body = body,
				.body_len = sizeof(body) - 1 };
	struct http_client *c;
	struct http_resp resp;
	struct rc_err err;
	struct e2e t;
	char url[128];
	json_t *reqs;
	int i;

	(void)state;
	e2e_start(&t, "tests/e2e/data/basic.json", SITES, 1);
	snprintf(url, sizeof(url), "%s/opentech/probe/visitors", t.base);
	req.url = url;
	assert_int_equal(http_client_new(&c, NULL, &err), RC_OK);
	for (i = 0; i < 2; i++) { /* answered (404): the connection stays */
		http_resp_init(&resp);
		assert_int_equal(http_do(c, &req, &resp, &err), RC_OK);
		assert_false(resp.in_doubt);
		http_resp_free(&resp);
	}
	json_decref(sim_post(&t, "/_sim/faults", json_pack("{s:[{s:s, s:s, s:{s:f}}]}", "rules",
		"api", "opentech", "route", "POST /opentech/probe/visitors", "rates", "reset_after", 1.0)));
	http_resp_init(&resp);
	assert_int_not_equal(http_do(c, &req, &resp, &err), RC_OK);
	assert_true(resp.in_doubt);
	assert_int_equal(resp.attempts, 1);
	http_resp_free(&resp);
	reqs = sim_requests(&t);
	assert_int_equal(count_requests(reqs, "POST", "/probe/visitors"), 3);
	json_decref(reqs);
	http_client_free(c);
	e2e_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients_share_one_connection_cache),
		cmocka_unit_test(test_a_create_on_a_reused_connection_is_never_resent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
