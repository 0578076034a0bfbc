/*
 * commit.h: group commit on the loop. The state's writer thread
 * (state/store_writer.c) takes every write of the process; a fiber that
 * writes (a journal intent, a site's commit) waits for its batch to be
 * durable while the loop goes on; code on the loop itself (a webhook)
 * hands a job over with a done callback and is called back from the loop.
 */
#ifndef RC_COMMIT_H
#define RC_COMMIT_H

#include "state/store.h"

struct ev_loop;

/* Start the writer for s on loop: from now on store_write on a fiber
 * waits for a group commit; elsewhere it writes at once. */
int commit_start(struct store *s, struct ev_loop *loop, struct rc_err *err);
/* Run what is queued, call every done callback, stop the thread. */
void commit_stop(struct store *s);
/* Hand j (fn, arg, done and owner set) to the writer; done runs on the
 * loop once it is durable (or failed). Without a writer, j runs at once
 * and done is called before this returns. */
void commit_submit(struct store *s, struct store_job *j);

#endif
