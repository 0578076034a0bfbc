/*
 * test_serve_event.c: the webhook's signature (reconciler/serve_event.c).
 * serve keys the secret once and re-initialises that context per body:
 * the same body checks the same twice, a body after another is checked
 * with the key alone, and a wrong or missing signature fails closed.
 * The vector is RFC 4231's test case 2 (key "Jefe").
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "reconciler/serve_int.h"

#define BODY "what do ya want for nothing?"
#define SIG "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="

static void test_signature_checked_with_the_keyed_context(void **state)
{
	struct serve_signer *sg = serve_signer_new("Jefe");

	(void)state;
	assert_non_null(sg);
	assert_true(serve_signature_ok(sg, BODY, strlen(BODY), SIG));
	assert_true(serve_signature_ok(sg, BODY, strlen(BODY), SIG)); /* again: reset, not added to */
	assert_false(serve_signature_ok(sg, BODY "!", strlen(BODY) + 1, SIG));
	assert_false(serve_signature_ok(sg, BODY, strlen(BODY),
					"X9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="));
	assert_false(serve_signature_ok(sg, BODY, strlen(BODY), "W9zBRr9gdU5q")); /* a prefix */
	assert_false(serve_signature_ok(sg, BODY, strlen(BODY), ""));
	assert_false(serve_signature_ok(sg, BODY, strlen(BODY), NULL));
	assert_true(serve_signature_ok(sg, BODY, strlen(BODY), SIG)); /* after failures too */
	serve_signer_free(sg);
}

static void test_no_signer_takes_nothing(void **state)
{
	struct serve_signer *other = serve_signer_new("not Jefe");

	(void)state;
	assert_false(serve_signature_ok(NULL, BODY, strlen(BODY), SIG));
	assert_null(serve_signer_new(NULL));
	assert_non_null(other);
	assert_false(serve_signature_ok(other, BODY, strlen(BODY), SIG)); /* another key */
	serve_signer_free(other);
	serve_signer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_checked_with_the_keyed_context),
		cmocka_unit_test(test_no_signer_takes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
