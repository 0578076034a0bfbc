/*
 * redact.h: masking what looks like a secret in free text (a vendor's or
 * the PMS's error message), where the secret itself is not known: another
 * tenant's gate code echoed by a vendor, a token in an invite URL. The
 * secrets that are known (the code the engine sent) go with rc_redact
 * (common.h) first.
 */
#ifndef RC_REDACT_H
#define RC_REDACT_H

#include <stddef.h>

/*
 * text with everything shaped like a secret replaced by "[redacted]"
 * (new; NULL in, NULL out). It errs on the side of masking: a message
 * that loses an id is better than a log that holds a code. Masked:
 *  - every run of 4 or more ASCII digits, also inside a longer word
 *    ("A4821", "code4821"): gate codes are 4-10 digits, and a code may
 *    be glued to anything. Shorter runs stay ("unit 101", "HTTP 404",
 *    "ResultCode -5"). Kept: the digits of an ISO 8601 date or time
 *    ("2026-03-01", "2026-03-01T10:20:30.123Z": a month 01-12, a day
 *    01-31), and the port of a URL's host ("http://h:8080/");
 *  - a token: a run of 16 or more of [A-Za-z0-9+/_.-] (and its '='
 *    padding) that holds a digit, or of 24 or more without one (base64,
 *    hex, JWT, ULID, UUID);
 *    a run that starts with '/' (a path) is judged segment by segment;
 *  - the value after a key whose name ends in token, key, password,
 *    passwd, pwd, secret, code, pin, authorization, signature or
 *    credential(s) (any case: "access_token=", "\"accessCode\": \"...\"",
 *    "X-Api-Key: ...") and followed by '=' or ':' (quoted or not): up to
 *    the closing quote, or to a space or one of ,;&)]}<>;
 *  - the word after "Bearer" or "Basic" (any case);
 *  - a URL's user:password@ and its query string and fragment (all after
 *    '?' or '#': invite URLs carry tokens); its path is judged as above.
 * A cut secret is no longer recognised: redact before cutting to size.
 */
char *rc_redact_shapes(const char *text);

/* The same in place: buf (n bytes, NUL-terminated) gets the redacted text,
 * cut to fit and left valid UTF-8. */
void rc_redact_shapes_buf(char *buf, size_t n);

#endif
