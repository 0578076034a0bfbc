/* serve.h: reconcile serve (see serve.c). */
#ifndef RC_SERVE_H
#define RC_SERVE_H

#include "engine.h"

struct serve_opts {
	const char *listen;      /* overrides spec serve.listen ("127.0.0.1:0") */
	bool log_json;           /* one JSON object per log line */
};

/* Run until SIGTERM/SIGINT. spec is owned by the loop from here on (a
 * SIGHUP may replace and free it); the caller must not free it. */
int serve_run(struct spec *spec, const struct serve_opts *o, struct rc_err *err);

#endif
