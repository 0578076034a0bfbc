/*
 * log.h: a logger passed in, as nginx's ngx_log_t. Code below the command
 * line never prints: it hands each line to the logger it was given, and
 * the program decides the form: the CLI writes "reconcile: ..." text on
 * stderr, `serve --log-format json` writes one JSON object per line.
 *
 * A line never holds a secret (the caller's duty, as for rc_err).
 */
#ifndef RC_LOG_H
#define RC_LOG_H

#include <stdbool.h>

enum rc_log_level {
	RC_LOG_DEBUG = 0,
	RC_LOG_INFO,       /* progress: what is being read or done */
	RC_LOG_WARN,
	RC_LOG_ERROR
};

struct rc_log {
	/* Write one line (msg borrowed, valid UTF-8, no trailing newline). */
	void (*emit)(void *payload, enum rc_log_level level, const char *msg);
	void *payload;
	enum rc_log_level min;   /* lines below this level are dropped */
	/* A long run's progress (a count, a rate, what is left), whatever min
	 * says: the program shows it as it likes (an updating line on a
	 * terminal, a line now and then elsewhere) or not at all (NULL).
	 * final: the last of this run. */
	void (*progress)(void *payload, const char *msg, bool final);
};

/* Format and emit a line; log NULL (or emit NULL) drops it. */
void rc_log(const struct rc_log *log, enum rc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Hand a progress line to log->progress (NULL: dropped). */
void rc_log_progress(const struct rc_log *log, bool final, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "debug", "info", "warn", "error". */
const char *rc_log_level_name(enum rc_log_level level);
/* An emit function for plain text on stderr: "reconcile: msg", with
 * "warning: " or "error: " before warnings and errors (payload unused). */
void rc_log_stderr(void *payload, enum rc_log_level level, const char *msg);

#endif
