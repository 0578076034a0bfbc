/* test_addr.c: the one parser of listen addresses (core/addr.h): ports
 * never wrap, hosts are checked, and the spec loader names the place. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "providers/vendor.h"
#include "specs/spec.h"

static void ok(const char *s, bool any, const char *host, int port)
{
	char h[256];
	int p = -7;
	struct rc_err err;

	rc_err_clear(&err);
	if (rc_parse_listen(s, any, h, sizeof(h), &p, &err))
		fprintf(stderr, "%s: %s\n", s, err.msg);
	assert_int_equal(rc_parse_listen(s, any, h, sizeof(h), &p, &err), RC_OK);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
}

static void bad(const char *s, bool any, const char *msg)
{
	char h[256];
	int p = -7;
	struct rc_err err;

	rc_err_clear(&err);
	assert_int_equal(rc_parse_listen(s, any, h, sizeof(h), &p, &err), RC_EINVAL);
	if (!strstr(err.msg, msg))
		fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", s, err.msg, msg);
	assert_non_null(strstr(err.msg, msg));
	assert_int_equal(p, -7);
}

static void test_good(void **state)
{
	(void)state;
	ok("127.0.0.1:8080", false, "127.0.0.1", 8080);
	ok("0.0.0.0:1", false, "0.0.0.0", 1);
	ok("127.0.0.1:65535", false, "127.0.0.1", 65535);
	ok("127.0.0.1:0", true, "127.0.0.1", 0);
	ok("[::1]:8080", false, "::1", 8080);
	ok("[::]:0", true, "::", 0);
	ok("localhost:80", false, "localhost", 80);
	ok("gate-1.example.com:443", false, "gate-1.example.com", 443);
}

/* Out of range is refused, never wrapped (70000 was 4464, -1 was 65535). */
static void test_ports(void **state)
{
	(void)state;
	bad("127.0.0.1:70000", true, "port 70000 is out of range 0-65535");
	bad("127.0.0.1:65536", false, "port 65536 is out of range 1-65535");
	bad("127.0.0.1:-1", true, "port -1 is out of range 0-65535");
	bad("127.0.0.1:99999999999999999999", true, "is out of range");
	bad("127.0.0.1:0", false, "0, any free port, is not allowed here");
	bad("127.0.0.1:", true, "the port is missing");
	bad("127.0.0.1:80a", true, "port \"80a\" is not a number");
	bad("127.0.0.1:+80", true, "is not a number");
	bad("127.0.0.1: 80", true, "is not a number");
	bad("127.0.0.1:0x50", true, "is not a number");
}

static void test_hosts(void **state)
{
	(void)state;
	bad("nohost", true, "no port");
	bad("", true, "empty");
	bad(":8080", true, "the host is missing");
	bad(":-1", true, "the host is missing");
	bad("::1:8080", true, "an IPv6 address goes in brackets");
	bad("[::1]8080", true, "expected [IPv6]:PORT");
	bad("[::1:8080", true, "expected [IPv6]:PORT");
	bad("[1.2.3.4]:80", true, "is not an IPv6 address");
	bad("999.0.0.1:80", true, "\"999.0.0.1\" is not an IPv4 address");
	bad("127.1:80", true, "is not an IPv4 address");
	bad("bad_host:80", true, "is not a host name");
	bad("-lead.example:80", true, "is not a host name");
	bad("a..b:80", true, "is not a host name");
	bad("trail-.example:80", true, "is not a host name");
}

/* getaddrinfo (AI_PASSIVE | AI_NUMERICSERV) gives the socket address. */
static void test_sockaddr(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	struct rc_err err;

	(void)state;
	assert_int_equal(rc_listen_sockaddr("127.0.0.1", 8080, &ss, &len, &err), RC_OK);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
	assert_int_equal(rc_listen_sockaddr("::1", 0, &ss, &len, &err), RC_OK);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(rc_listen_sockaddr("no-such-host.invalid", 80, &ss, &len, &err), RC_EINVAL);
	assert_non_null(strstr(err.msg, "no-such-host.invalid: "));
}

/* The spec's serve.listen goes through the same parser; the error names
 * the file and the field. */
static void test_spec_listen(void **state)
{
	static const char head[] = "{\"version\":1,\"serve\":{\"listen\":\"%s\"},"
		"\"pms\":{\"type\":\"storeganise\",\"base_url\":\"http://sg\",\"api_key_env\":\"K\"},"
		"\"sites\":[{\"name\":\"s1\",\"pms_site_id\":\"S1\",\"vendor\":\"opentech\","
		"\"opentech\":{\"base_url\":\"http://ot\",\"property_number\":\"P\",\"api_key_env\":\"A\","
		"\"api_secret_env\":\"B\",\"client_id_env\":\"C\",\"client_secret_env\":\"D\"}}]}";
	static const struct { const char *listen, *msg; } cases[] = {
		{ "127.0.0.1:99999", "spec.json: $.serve.listen: 127.0.0.1:99999: port 99999 is out of range 1-65535" },
		{ "nohost", "spec.json: $.serve.listen: nohost: no port" },
		{ "127.0.0.1:0", "spec.json: $.serve.listen: 127.0.0.1:0: port 0 is out of range" },
		{ "[::1]:8080", NULL },
		{ "localhost:8080", NULL },
	};
	char buf[1024];
	struct spec *sp;
	struct rc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), head, cases[i].listen);
		rc_err_clear(&err);
		sp = NULL;
		if (!cases[i].msg) {
			if (spec_load_buf(buf, strlen(buf), "spec.json", vendor_specs(), &sp, &err))
				fprintf(stderr, "%s\n", err.msg);
			assert_non_null(sp);
			spec_free(sp);
			continue;
		}
		assert_int_equal(spec_load_buf(buf, strlen(buf), "spec.json", vendor_specs(), &sp, &err),
				 RC_EINVAL);
		if (!strstr(err.msg, cases[i].msg))
			fprintf(stderr, "got \"%s\"\n", err.msg);
		assert_non_null(strstr(err.msg, cases[i].msg));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_spec_listen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
