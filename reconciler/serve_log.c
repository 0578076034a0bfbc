/*
 * serve_log.c: serve's logger. Lines are text ("<ts> <level> msg") or,
 * with --log-format json, one JSON object per line as
 * json_dumps(JSON_COMPACT) would write it (written here: a tree per line
 * cost 4 % of the loop under a flood of webhooks).
 *
 * A loop turn that answers a few dozen webhooks logs a line for each. So
 * lines gather in a buffer that is written with one write(2) just before
 * the loop waits (an ev_prepare watcher: nginx's buffered access_log,
 * flushed every turn instead of on a timer): a line is out as soon as the
 * loop has nothing else to do, and a flood costs a write a turn instead
 * of one a webhook. The HTTP server writes them too before it reads
 * requests (serve.c, mhd_pump): a client whose request came after a line
 * was logged (/metrics saying the work is done) finds that line. A
 * warning or an error is written at once (with what is before it): a
 * crash loses at most the info lines of its last turn, never a warning or
 * an error. A big turn holds no more than LOG_BUF_MAX. Only the loop's
 * thread logs.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "serve_int.h"
#include "plan.h"

#define LOG_BUF_MAX 65536 /* written at once past this */

void serve_log_flush(struct serve *s)
{
	if (!s->logbuf.len)
		return;
	fwrite(s->logbuf.p, 1, s->logbuf.len, stderr); /* stderr is unbuffered: one write */
	s->logbuf.len = 0;
	s->logbuf.p[0] = '\0';
}

/* The logger's emit (msg borrowed, valid UTF-8: rc_log scrubs it). */
static void serve_emit(void *payload, enum rc_log_level level, const char *msg)
{
	struct serve *s = payload;
	const char *lv = rc_log_level_name(level);
	char ts[40];

	rc_now_iso(ts, sizeof(ts));
	if (!s->o.log_json) {
		rc_buf_printf(&s->logbuf, "%s %-5s %s\n", ts, lv, msg);
	} else {
		rc_buf_printf(&s->logbuf, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, lv);
		plan_json_str_buf(msg, 0, &s->logbuf);
		rc_buf_add(&s->logbuf, "}\n", 2);
	}
	if (level >= RC_LOG_WARN || s->logbuf.len >= LOG_BUF_MAX || !s->log_turns)
		serve_log_flush(s);
}

static void log_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	serve_log_flush(w->data);
}

void serve_log_open(struct serve *s)
{
	rc_buf_init(&s->logbuf);
	s->log = (struct rc_log){ serve_emit, s, RC_LOG_INFO };
}

void serve_log_turns(struct serve *s, bool on)
{
	if (on && !s->log_turns) {
		ev_prepare_init(&s->log_prepare, log_prepare_cb);
		s->log_prepare.data = s;
		ev_prepare_start(s->loop, &s->log_prepare);
	} else if (!on && s->log_turns) {
		ev_prepare_stop(s->loop, &s->log_prepare);
	}
	s->log_turns = on;
	serve_log_flush(s);
}

void serve_log_close(struct serve *s)
{
	serve_log_turns(s, false);
	rc_buf_free(&s->logbuf);
}
