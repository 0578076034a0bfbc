/* log.c: see log.h. */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include "common.h"

void rc_log(const struct rc_log *log, enum rc_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log || !log->emit || level < log->min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc_utf8_scrub(msg); /* a cut message stays valid for a JSON log */
	log->emit(log->payload, level, msg);
}

void rc_log_progress(const struct rc_log *log, bool final, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!log || !log->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->progress(log->payload, msg, final);
}

const char *rc_log_level_name(enum rc_log_level level)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	return level <= RC_LOG_ERROR ? names[level] : "info";
}

void rc_log_stderr(void *payload, enum rc_log_level level, const char *msg)
{
	(void)payload;
	fprintf(stderr, "reconcile: %s%s\n",
		level == RC_LOG_ERROR ? "error: " : level == RC_LOG_WARN ? "warning: " : "", msg);
}
