/*
 * cluster_bus.h: cluster mode's events on NATS JetStream (issue 16,
 * docs/architecture.md, Decision 9). One stream (made when absent):
 *
 *   <stream>.in          every verified webhook, Nats-Msg-Id = its event id
 *   <stream>.shard.<n>   each (site, key) it names, Nats-Msg-Id = id + key
 *
 * JetStream drops a message whose id it saw within the stream's
 * Duplicates window (CLUSTER_BUS_DEDUPE_S). Consumers are durable pull
 * consumers, made by the first instance that needs one and shared:
 * "route" on <stream>.in (every instance fetches from it: each message
 * goes to one), "shard-<n>" on <stream>.shard.<n> (bound by the owner of
 * shard n only). A message not acked within its ack wait is delivered
 * again (to whoever fetches next).
 *
 * A core NATS subscription to <stream>.> tells the thread which consumer
 * has news (every publish on a stream subject reaches core subscribers
 * too): it fetches from those at once, and from every bound consumer once
 * a second (CLUSTER_BUS_SWEEP_S) for redeliveries, instead of one round
 * trip per idle consumer per turn.
 *
 * Threads: one thread of this module makes every NATS call (publishes
 * with a timeout, fetches without waiting, acks of routed events); the
 * owner calls the other functions from any thread (queues behind a
 * mutex). What comes back (publish results, fetched messages) is queued
 * for the owner, and opts.notify is called from the thread when there is
 * some (serve hands that to its loop with ev_async_send).
 */
#ifndef RC_CLUSTER_BUS_H
#define RC_CLUSTER_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_lease.h"

#define CLUSTER_BUS_DEDUPE_S 300     /* the stream's Duplicates window */
#define CLUSTER_BUS_PUB_MS 3000      /* a publish not acked by then failed */
#define CLUSTER_BUS_ROUTE_ACK_S 30   /* "route": ack wait */
#define CLUSTER_BUS_SHARD_ACK_S 120  /* "shard-<n>": ack wait, longer than a run */
#define CLUSTER_BUS_SWEEP_S 1        /* every consumer fetched at least this often */
#define CLUSTER_BUS_BATCH 16         /* messages per fetch */

struct cluster_bus_opts {
	const struct cluster_opts *nats; /* servers, login, shards, notify; borrowed */
	const char *stream;          /* borrowed */
	const char *name;            /* the connection's name (the instance), borrowed */
	bool route;                  /* fetch from "route" (every instance does) */
};

enum cluster_msg_kind {
	CLUSTER_MSG_PUBLISHED,       /* a cluster_bus_publish answered (token, rc) */
	CLUSTER_MSG_IN,              /* an event to route (data, handle) */
	CLUSTER_MSG_SHARD            /* a key of an owned shard (shard, data, handle) */
};

struct cluster_msg {
	enum cluster_msg_kind kind;
	void *token;                 /* PUBLISHED: the caller's */
	int rc;                      /* PUBLISHED: RC_OK, RC_EEXIST (a duplicate), RC_EIO */
	char why[200];               /* PUBLISHED with RC_EIO */
	unsigned shard;              /* SHARD */
	unsigned deliveries;         /* IN, SHARD: 1 the first time */
	char *data;                  /* IN, SHARD: new, NUL-terminated */
	size_t len;
	void *handle;                /* IN, SHARD: give it back once (ack, nak, route) */
};

struct cluster_bus_stats {
	unsigned long published, duplicates, publish_errors, routed, route_errors;
};

struct cluster_bus;

/* Connect, bind (or make) the stream and its "route" consumer, start the
 * thread. *out new (cluster_bus_stop). RC_EIO: NATS unreachable. */
int cluster_bus_start(const struct cluster_bus_opts *o, struct cluster_bus **out,
		      struct rc_err *err);
/* Stop the thread, give back (nak) what was fetched and not answered,
 * disconnect, free. Each publish not answered yet (queued, or its
 * answer not taken) is handed to failed(token, arg) first, so that its
 * sender can be told (503). */
void cluster_bus_stop(struct cluster_bus *b, void (*failed)(void *token, void *arg), void *arg);

/* Publish data (copied) on <stream>.in with Nats-Msg-Id msgid; answered
 * by a CLUSTER_MSG_PUBLISHED with token. */
void cluster_bus_publish(struct cluster_bus *b, const char *msgid, const char *data, size_t len,
			 void *token);
/* Route an IN message: publish each keys[i] on <stream>.shard.<shards[i]>
 * with Nats-Msg-Id = "<msgid>|<keys[i]>", then ack it; when a publish
 * fails, nak it (delivered again later). handle is taken. */
void cluster_bus_route(struct cluster_bus *b, void *handle, const char *msgid,
		       const unsigned *shards, const char *const *keys, size_t n);
/* Ack (ok) or nak (delivered again after delay_ms) a fetched message;
 * handle is taken. */
void cluster_bus_done(struct cluster_bus *b, void *handle, bool ok, unsigned delay_ms);
/* Bind (on) or unbind shard's consumer: its keys are fetched only while
 * bound. Messages fetched and not yet answered stay valid. */
void cluster_bus_bind(struct cluster_bus *b, unsigned shard, bool on);

/* The next queued message into *out (its data new, free()): false when none. */
bool cluster_bus_next(struct cluster_bus *b, struct cluster_msg *out);
void cluster_bus_stats(struct cluster_bus *b, struct cluster_bus_stats *out);
/* Messages not yet acked of shard's consumer (-1: not bound / unknown). */
long cluster_bus_lag(struct cluster_bus *b, unsigned shard);

#endif
