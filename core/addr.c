/* addr.c: see addr.h. */
#define _GNU_SOURCE
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A host name as RFC 1123 has it: labels of letters, digits and '-' (not
 * at either end), 1-63 each, separated by '.', at most 253 in all. */
static bool host_name_ok(const char *h)
{
	size_t n = strlen(h), lab = 0, i;

	if (!n || n > 253)
		return false;
	for (i = 0; i <= n; i++) {
		char c = h[i];

		if (c == '.' || !c) {
			if (!lab || lab > 63 || h[i - 1] == '-')
				return false;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && lab)))
			return false;
		lab++;
	}
	return true;
}

static int parse_port(const char *p, bool any_port, int *port, struct rc_err *err)
{
	const char *range = any_port ? "0-65535" : "1-65535";
	char *end;
	long v;

	if (!*p)
		return rc_errf(err, RC_EINVAL, "the port is missing (expected HOST:PORT)");
	errno = 0;
	v = strtol(p, &end, 10);
	if (*end || !((p[0] >= '0' && p[0] <= '9') || p[0] == '-'))
		return rc_errf(err, RC_EINVAL, "port \"%.32s\" is not a number", p);
	if (errno == ERANGE || v < (any_port ? 0 : 1) || v > 65535)
		return rc_errf(err, RC_EINVAL, "port %.32s is out of range %s%s", p, range,
			       v == 0 ? " (0, any free port, is not allowed here)" : "");
	*port = (int)v;
	return RC_OK;
}

int rc_parse_listen(const char *s, bool any_port, char *host, size_t hn, int *port,
		    struct rc_err *err)
{
	const char *colon, *h = s, *close;
	unsigned char bin[16];
	size_t len;

	if (!s || !*s)
		return rc_errf(err, RC_EINVAL, "empty (expected HOST:PORT, e.g. 127.0.0.1:8080)");
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (!close || close[1] != ':')
			return rc_errf(err, RC_EINVAL, "expected [IPv6]:PORT, e.g. [::1]:8080");
		h = s + 1;
		len = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return rc_errf(err, RC_EINVAL, "no port (expected HOST:PORT, e.g. 127.0.0.1:8080)");
		if (memchr(s, ':', (size_t)(colon - s)))
			return rc_errf(err, RC_EINVAL, "an IPv6 address goes in brackets: [::1]:8080");
		len = (size_t)(colon - s);
	}
	if (!len)
		return rc_errf(err, RC_EINVAL, "the host is missing (0.0.0.0 or [::] for every address)");
	if (len >= hn || len > 253)
		return rc_errf(err, RC_EINVAL, "the host is too long");
	memcpy(host, h, len);
	host[len] = '\0';
	if (h != s && inet_pton(AF_INET6, host, bin) != 1)
		return rc_errf(err, RC_EINVAL, "\"%s\" is not an IPv6 address", host);
	if (h == s && strspn(host, "0123456789.") == len && inet_pton(AF_INET, host, bin) != 1)
		return rc_errf(err, RC_EINVAL, "\"%s\" is not an IPv4 address", host);
	if (h == s && !host_name_ok(host))
		return rc_errf(err, RC_EINVAL, "\"%.64s\" is not a host name or an address", host);
	return parse_port(colon + 1, any_port, port, err);
}

int rc_listen_sockaddr(const char *host, int port, struct sockaddr_storage *ss,
		       socklen_t *len, struct rc_err *err)
{
	struct addrinfo hints, *res = NULL;
	char serv[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%d", port);
	rc = getaddrinfo(host, serv, &hints, &res);
	if (rc || !res || res->ai_addrlen > sizeof(*ss)) {
		if (res)
			freeaddrinfo(res);
		return rc_errf(err, RC_EINVAL, "%s: %s", host,
			       rc ? gai_strerror(rc) : "no usable address");
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return RC_OK;
}
