/*
 * sim_util.c: helpers for the API modules: request headers, query and
 * form values, JSON bodies, answers, time, random ids, ids as text.
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

const char *sim_header(const struct sim_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *sim_query(const struct sim_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static char *url_decode(const char *s, size_t n)
{
	char *o = malloc(n + 1), *p = o;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			*p++ = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			*p++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	return o;
}

char *sim_form(const struct sim_req *r, const char *name)
{
	const char *p = r->body, *end = r->body + r->body_len;
	size_t nl = strlen(name);

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - p) > nl && !strncmp(p, name, nl) && p[nl] == '=')
			return url_decode(p + nl + 1, (size_t)(stop - p - (ptrdiff_t)nl - 1));
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

json_t *sim_json_body(const struct sim_req *r)
{
	return r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
}

void sim_reply(struct sim_resp *out, int status, json_t *body)
{
	json_decref(out->body);
	out->status = status;
	out->body = body;
}

void sim_now_iso(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
}

void sim_random_hex(char *buf, size_t n)
{
	unsigned char b[64];
	size_t i;

	if (n > sizeof(b))
		n = sizeof(b);
	RAND_bytes(b, (int)n);
	for (i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", b[i]);
	buf[2 * n] = '\0';
}

const char *sim_id_text(json_t *v, char *buf, size_t n)
{
	if (json_is_integer(v))
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, n, "%s", json_string_value(v));
	else
		buf[0] = '\0';
	return buf;
}

json_t *sim_find_by_id(json_t *arr, const char *id)
{
	char buf[64];
	size_t i;
	json_t *o;

	json_array_foreach(sim_ix_all(arr, "id", id), i, o)
		if (!strcmp(sim_id_text(json_object_get(o, "id"), buf, sizeof(buf)), id))
			return o;
	return NULL;
}
