/* test_redact.c: masking what is shaped like a secret in free text
 * (core/redact.h), at the edge where a vendor's error text enters
 * (http_error_text) and where a journal entry is written. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/redact.h"
#include "providers/http.h"
#include "state/store.h"

static void check(const char *in, const char *want)
{
	char *r = rc_redact_shapes(in);

	if (strcmp(r, want))
		fprintf(stderr, "in:   %s\nwant: %s\ngot:  %s\n", in, want, r);
	assert_string_equal(r, want);
	free(r);
}

/* Gate codes are 4-10 digits: any run of 4 or more digits goes, glued to
 * a word or not; short numbers stay. */
static void test_digit_runs(void **state)
{
	(void)state;
	check("Access code 4821 is already used", "Access code [redacted] is already used");
	check("code 0048213377 taken", "code [redacted] taken");
	check("visitor A4821 of code4821", "visitor A[redacted] of code[redacted]");
	check("unit 101 is occupied (HTTP 409, try 3)", "unit 101 is occupied (HTTP 409, try 3)");
	check("ResultCode -5: Access code 482913 is already assigned",
	      "ResultCode -5: Access code [redacted] is already assigned");
	check("phone +1 555 1234", "phone +1 555 [redacted]");
	check("", "");
	assert_null(rc_redact_shapes(NULL));
	/* masked text masked again is the same (the journal masks what the
	 * edge masked) */
	check("token=[redacted] Bearer [redacted], \"code\":\"[redacted]\"",
	      "token=[redacted] Bearer [redacted], \"code\":\"[redacted]\"");
}

/* ISO dates and times are not codes (decided: kept, so that an error's
 * dates stay readable); anything date-like but not a date is masked. */
static void test_dates(void **state)
{
	(void)state;
	check("valid until 2026-03-01T10:20:30.123Z (made 2025-12-31)",
	      "valid until 2026-03-01T10:20:30.123Z (made 2025-12-31)");
	check("at 2026-03-01 10:20 UTC", "at 2026-03-01 10:20 UTC");
	check("2026-13-01 is not a date", "[redacted]-13-01 is not a date");
	check("ends 2026-03-0199", "ends [redacted]-03-[redacted]");
	check("id 12026-03-01", "id [redacted]-03-01");
}

/* JSON bodies and key=value text: the value of a key named like a secret. */
static void test_keys(void **state)
{
	(void)state;
	check("{\"error\":\"conflict\",\"code\":\"482913\"}",
	      "{\"error\":\"conflict\",\"code\":\"[redacted]\"}");
	check("{\"accessCode\": 77, \"unit\": \"A1\"}", "{\"accessCode\": [redacted], \"unit\": \"A1\"}");
	check("{\"token\":\"a\\\"b c\",\"x\":1}", "{\"token\":\"[redacted]\",\"x\":1}");
	check("token=abc&key=xy z", "token=[redacted]&key=[redacted] z");
	check("bad password: hunter2, again", "bad password: [redacted], again");
	check("client_secret=s3 cret", "client_secret=[redacted] cret");
	check("X-Api-Key: k1; PIN=12", "X-Api-Key: [redacted]; PIN=[redacted]");
	check("the code of unit 7 is wrong", "the code of unit 7 is wrong");
	check("Secret: 'pa ss'", "Secret: '[redacted]'");
}

static void test_bearer_and_tokens(void **state)
{
	(void)state;
	check("sent Bearer abc.def", "sent Bearer [redacted]");
	check("Authorization: Bearer xyz", "Authorization: [redacted] [redacted]");
	check("basic  dXNlcjpwYXNz failed", "basic  [redacted] failed");
	check("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_abc expired",
	      "jwt [redacted] expired");
	check("session 9f86d081884c7d659a2feaa0c55ad015 ended", "session [redacted] ended");
	check("invite 01HZX3J5K9QW2M8N7P6R5T4V3B revoked", "invite [redacted] revoked");
	check("b64 QUJDREVGR0hJSktMTU5PUFFSU1RVVg== ok", "b64 [redacted] ok");
	/* words stay, however long; a path is judged segment by segment */
	check("ObjectNotFoundException at api.openapp.house",
	      "ObjectNotFoundException at api.openapp.house");
	check("GET /v1/admin/unit-rentals/r1: HTTP 500", "GET /v1/admin/unit-rentals/r1: HTTP 500");
}

/* Invite URLs carry tokens: after '?' (and '#') all goes, user:password@
 * too; the host and its port stay, a token in the path goes. */
static void test_urls(void **state)
{
	(void)state;
	check("invite https://app.openapp.example/i/AbC?t=abcdef&x=1 expired",
	      "invite https://app.openapp.example/i/AbC?[redacted] expired");
	check("see https://app.example/invites/01HZX3J5K9QW2M8N7P6R5T4V3B.",
	      "see https://app.example/invites/[redacted]");
	check("http://127.0.0.1:8080/v1/x failed", "http://127.0.0.1:8080/v1/x failed");
	check("\"https://bob:pa55w0rd@host.example/x#frag\"",
	      "\"https://[redacted]@host.example/x#[redacted]\"");
	check("url http://h/p?", "url http://h/p?");
}

/* In place, cut to the buffer and still valid UTF-8. */
static void test_buf(void **state)
{
	char b[24];

	(void)state;
	snprintf(b, sizeof(b), "code 482913 é");
	rc_redact_shapes_buf(b, sizeof(b));
	assert_string_equal(b, "code [redacted] é");
	snprintf(b, sizeof(b), "café 4821 4821 4821");
	rc_redact_shapes_buf(b, sizeof(b));
	assert_string_equal(b, "café [redacted] [redac");
}

/* The edge: every vendor's and the PMS's error text goes through
 * http_error_text, which masks the codes it was given and the shapes. */
static void test_vendor_error_text(void **state)
{
	const char *sent[] = { "55" };
	struct rc_buf body;
	char msg[200];

	(void)state;
	rc_buf_init(&body);
	rc_buf_puts(&body, "{\"ResultCode\":-5,\"Message\":\"Access code 482913 is used by 55\"}");
	http_error_text(&body, sent, 1, msg, sizeof(msg));
	assert_string_equal(msg, "Message: Access code [redacted] is used by [redacted]");
	rc_buf_free(&body);
	rc_buf_init(&body);
	rc_buf_puts(&body, "{\"message\":\"invite https://oa.example/i?token=Zq81kP already sent\"}");
	http_error_text(&body, NULL, 0, msg, sizeof(msg));
	assert_string_equal(msg, "invite https://oa.example/i?[redacted] already sent");
	rc_buf_free(&body);
	rc_buf_init(&body);
	rc_buf_puts(&body, "visitor code 90817 exists");   /* short plain text */
	http_error_text(&body, NULL, 0, msg, sizeof(msg));
	assert_string_equal(msg, "visitor code [redacted] exists");
	rc_buf_free(&body);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int first_cb(const struct journal_entry *e, void *payload)
{
	*(struct journal_entry *)payload = *e;
	return 1;
}

/* Whatever writes a journal entry, its error and detail reach the disk
 * masked: the store's write path does it. */
static void test_journal_write(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	struct store *s;
	struct store_txn *t;
	struct journal_entry e, got;
	struct rc_err err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_redact-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(&s, dir, &err), 0);
	memset(&e, 0, sizeof(e));
	snprintf(e.op, sizeof(e.op), "tenant.create");
	snprintf(e.unit, sizeof(e.unit), "A1");
	snprintf(e.detail, sizeof(e.detail), "code 771903 for A1");
	assert_int_equal(store_journal_intent(s, "s1", &e, &err), 0);
	e.state = JOURNAL_FAILED;
	snprintf(e.error, sizeof(e.error), "vendor: HTTP 400: code 771903 taken, token=abc");
	assert_int_equal(store_journal_result(s, "s1", &e, &err), 0);
	assert_int_equal(store_txn_begin(s, false, &t, &err), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_journal_each(t, "s1", false, first_cb, &got, &err), 1);
	store_txn_abort(t);
	assert_string_equal(got.error, "vendor: HTTP 400: code [redacted] taken, token=[redacted]");
	assert_string_equal(got.detail, "code [redacted] for A1");
	store_close(s);
	assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digit_runs),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bearer_and_tokens),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_vendor_error_text),
		cmocka_unit_test(test_journal_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
