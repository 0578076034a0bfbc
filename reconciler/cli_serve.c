/* cli_serve.c: reconcile serve. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/addr.h"
#include "serve.h"

static const char serve_usage[] =
"Usage: reconcile serve -c SPEC [--listen HOST:PORT] [--log-format json|text]\n"
"\n"
"Runs continuously: reconciles every site at start and every sync_interval\n"
"(with jitter), and reacts to Storeganise webhooks. An event only says what\n"
"to look at again; what to do always comes from comparing states, so lost,\n"
"repeated or out-of-order webhooks cannot leave a gate wrong.\n"
"\n"
"Endpoints:\n"
"  POST /webhooks/storeganise  signed with sg-signature (pms.webhook_secret);\n"
"                              401 on a bad signature, 413 over serve.max_body,\n"
"                              200 once the event is stored (duplicates dropped);\n"
"                              400 for an event id empty, over 503 bytes or not a string\n"
"  GET  /healthz               the process runs\n"
"  GET  /readyz                the loop, the state and the spec are up\n"
"  GET  /metrics               Prometheus text format\n"
"  A wrong method gets 405 with Allow. At most serve.max_connections_per_address\n"
"  connections (64) per client address, 4096 in all; a request not in and answered\n"
"  within 10 s is cut, as is a connection idle for 10 s.\n"
"\n"
"Signals: SIGTERM/SIGINT stop after the current reconcile (exit 0);\n"
"SIGHUP reloads the spec (an invalid one is logged and the old one kept).\n"
"\n"
"Options:\n"
"  -c, --config SPEC        the spec file (required)\n"
"      --listen HOST:PORT   overrides serve.listen (port 0: any free port)\n"
"      --log-format FORMAT  json (one object per line, default) or text\n"
"  -h, --help               this text\n"
"\n"
"The first line on stdout is \"listening on http://HOST:PORT\"; logs go to stderr.\n";

int cmd_serve(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, 0, 'c' }, { "listen", required_argument, 0, 'l' },
		{ "log-format", required_argument, 0, 'f' }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct serve_opts so = { .log_json = true };
	const char *specf = NULL;
	struct spec *spec = NULL;
	struct rc_err err;
	char host[256];
	int c, port;

	optind = 1;
	for (;;) {
		c = getopt_long(argc, argv, "c:h", lo, NULL);
		if (c == -1)
			break;
		if (c == 'c') {
			specf = optarg;
		} else if (c == 'l') {
			so.listen = optarg;
		} else if (c == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "text"))) {
			so.log_json = !strcmp(optarg, "json");
		} else {
			fputs(serve_usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? EXIT_OK : EXIT_ERROR;
		}
	}
	if (!specf)
		return cli_error("-c SPEC is required", "see --help");
	rc_err_clear(&err);
	if (so.listen && rc_parse_listen(so.listen, true, host, sizeof(host), &port, &err)) {
		rc_err_prefix(&err, "--listen %s", so.listen);
		return cli_error(err.msg, "e.g. --listen 127.0.0.1:8080, [::1]:8080 or localhost:0");
	}
	if (cli_load_spec(specf, &spec, &err))
		return cli_error(err.msg, "run 'reconcile validate -c SPEC' for details");
	if (serve_run(spec, &so, &err))
		return cli_error(err.msg, NULL);
	return EXIT_OK;
}
