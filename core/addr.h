/*
 * addr.h: the one parser of "HOST:PORT" listen addresses (serve --listen
 * and the spec's serve.listen), so that both refuse the same things: a
 * port out of 0-65535 (no wrap: "70000" is not 4464), a port that is not
 * a decimal number, a missing host or port, an unbracketed IPv6 address.
 */
#ifndef RC_ADDR_H
#define RC_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common.h"

/*
 * s as HOST:PORT into host (hn bytes; an IPv6 address without its
 * brackets) and *port. HOST is an IPv4 address (dotted quad), an IPv6
 * address in brackets ("[::1]:8080") or a host name (letters, digits, '-'
 * and '.', labels of 1-63, at most 253 in all); PORT is decimal digits,
 * 1-65535, or 0 (any free port) when any_port. RC_EINVAL with the problem
 * ("port 70000 is out of range 0-65535"): the caller names the place.
 */
int rc_parse_listen(const char *s, bool any_port, char *host, size_t hn, int *port,
		    struct rc_err *err);

/*
 * The socket address to listen on for host and port (as rc_parse_listen
 * gave them), through getaddrinfo (AI_PASSIVE | AI_NUMERICSERV): the
 * first address found into *ss, its length into *len. RC_EINVAL when the
 * name does not resolve (the resolver's reason in the message).
 */
int rc_listen_sockaddr(const char *host, int port, struct sockaddr_storage *ss,
		       socklen_t *len, struct rc_err *err);

#endif
