/* serve_metrics.c: serve's /metrics, in Prometheus text (README's serve
 * section lists them). */
#include "serve_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/http.h"
#include "providers/vendor.h"

/* The per-peer HTTP metrics: one field of http_pool_stats each. */
static const struct {
	const char *name, *type, *help;
	size_t off;
} pool_metrics[] = {
	{ "reconcile_http_requests_total", "counter", "HTTP requests by peer.",
	  offsetof(struct http_pool_stats, requests) },
	{ "reconcile_http_connections_total", "counter", "New HTTP connections by peer "
	  "(far fewer than requests: connections are kept alive).",
	  offsetof(struct http_pool_stats, connects) },
	{ "reconcile_http_in_flight", "gauge", "HTTP requests in flight by peer.",
	  offsetof(struct http_pool_stats, inflight) },
	{ "reconcile_http_in_flight_max", "gauge", "Most HTTP requests ever in flight at once "
	  "by peer (bounded by serve.vendor_concurrency).",
	  offsetof(struct http_pool_stats, max_inflight) },
};

struct pool_line {
	struct rc_buf *b;
	size_t m;
};

static void pool_metric(const struct http_pool_stats *st, void *payload)
{
	const struct pool_line *pl = payload;

	rc_buf_printf(pl->b, "%s{peer=\"%s\"} %lu\n", pool_metrics[pl->m].name, st->name,
		      *(const unsigned long *)((const char *)st + pool_metrics[pl->m].off));
}

/* A Prometheus histogram's lines: counts per bucket (n bounds, then the
 * count over the last), not cumulative; label ("k=\"v\"") may be NULL. */
static void histogram(struct rc_buf *b, const char *name, const char *label, const double *bounds,
		      const unsigned long *counts, size_t n, double sum)
{
	const char *sep = label ? "," : "", *l = label ? label : "";
	unsigned long cum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		cum += counts[i];
		rc_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %lu\n", name, l, sep, bounds[i], cum);
	}
	cum += counts[n];
	rc_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, l, sep, cum);
	rc_buf_printf(b, label ? "%s_sum{%s} %.6f\n%s_count{%s} %lu\n" : "%s_sum%s %.6f\n%s_count%s %lu\n",
		      name, l, sum, name, l, cum);
}

/* The state's durable commits, per lane: the disk's flushes that a
 * webhook's 200 (events) and a move-in's vendor call (state) wait for. */
static void commit_metrics(struct serve *s, struct rc_buf *b)
{
	static const char *const lanes[STORE_LANES] = { "state", "events" };
	unsigned long counts[STORE_COMMIT_NBUCKETS + 1];
	char label[32];
	double sum;
	int lane;

	rc_buf_puts(b, "# HELP reconcile_state_commit_seconds Durable commits of the local state "
		    "(LMDB: data then meta flushed), by lane: state (journal intents, site "
		    "commits), events (webhooks, answered 200 after it).\n"
		    "# TYPE reconcile_state_commit_seconds histogram\n");
	for (lane = 0; lane < STORE_LANES; lane++) {
		store_writer_commit_times(s->e.store, (enum store_lane)lane, counts, &sum);
		snprintf(label, sizeof(label), "lane=\"%s\"", lanes[lane]);
		histogram(b, "reconcile_state_commit_seconds", label, store_commit_buckets, counts,
			  STORE_COMMIT_NBUCKETS, sum);
	}
}

char *serve_metrics(struct serve *s)
{
	struct rc_buf b;
	struct pool_line pl = { &b, 0 };
	size_t i;

	rc_buf_init(&b);
	rc_buf_printf(&b, "# HELP reconcile_build_info The running build: 1, its version as a label.\n"
		      "# TYPE reconcile_build_info gauge\n"
		      "reconcile_build_info{version=\"%s\"} 1\n", RECONCILE_VERSION);
	rc_buf_printf(&b, "# HELP reconcile_webhook_events_total Webhook events by outcome.\n"
		      "# TYPE reconcile_webhook_events_total counter\n"
		      "reconcile_webhook_events_total{outcome=\"received\"} %lu\n"
		      "reconcile_webhook_events_total{outcome=\"duplicate\"} %lu\n"
		      "reconcile_webhook_events_total{outcome=\"rejected\"} %lu\n"
		      "reconcile_webhook_events_total{outcome=\"ignored\"} %lu\n",
		      s->ev_received, s->ev_duplicate, s->ev_rejected, s->ev_ignored);
	rc_buf_printf(&b, "# HELP reconcile_queue_depth Keys waiting to be reconciled.\n"
		      "# TYPE reconcile_queue_depth gauge\nreconcile_queue_depth %zu\n"
		      "# HELP reconcile_queue_merged_total Keys added while already queued or running.\n"
		      "# TYPE reconcile_queue_merged_total counter\nreconcile_queue_merged_total %lu\n"
		      "# HELP reconcile_queue_running_max Most keys ever running at once.\n"
		      "# TYPE reconcile_queue_running_max gauge\nreconcile_queue_running_max %u\n",
		      workq_depth(&s->q[SERVE_Q_SITES]) + workq_depth(&s->q[SERVE_Q_RENTALS]),
		      s->q[SERVE_Q_SITES].merged + s->q[SERVE_Q_RENTALS].merged, s->running_max);
	rc_buf_puts(&b, "# HELP reconcile_duration_seconds Duration of one site's reconcile.\n"
		    "# TYPE reconcile_duration_seconds histogram\n");
	histogram(&b, "reconcile_duration_seconds", NULL, serve_buckets, s->hist, NBUCKETS,
		  s->hist_sum);
	rc_buf_puts(&b, "# HELP reconcile_operations_total Operations applied, by the site's vendor "
		    "(its calls and their PMS write-backs) and outcome.\n"
		    "# TYPE reconcile_operations_total counter\n");
	for (i = 0; vendor_table[i]; i++)
		rc_buf_printf(&b, "reconcile_operations_total{vendor=\"%s\",outcome=\"ok\"} %lu\n"
			      "reconcile_operations_total{vendor=\"%s\",outcome=\"failed\"} %lu\n",
			      vendor_table[i]->spec.name, s->ops_ok[i], vendor_table[i]->spec.name,
			      s->ops_failed[i]);
	rc_buf_printf(&b, "# HELP reconcile_errors_total Site reconciles that failed.\n"
		      "# TYPE reconcile_errors_total counter\nreconcile_errors_total %lu\n"
		      "# HELP reconcile_workers_busy Work items running now.\n"
		      "# TYPE reconcile_workers_busy gauge\nreconcile_workers_busy %u\n"
		      "# HELP reconcile_site_workers_max Most work items ever inside one site at once.\n"
		      "# TYPE reconcile_site_workers_max gauge\nreconcile_site_workers_max %u\n"
		      "# HELP reconcile_claim_holders_max Most work items ever holding one unit or "
		      "customer at once (1: runs that share one never overlap).\n"
		      "# TYPE reconcile_claim_holders_max gauge\nreconcile_claim_holders_max %u\n",
		      s->reconcile_errors, s->running, s->site_max, s->claim_max);
	rc_buf_printf(&b, "# HELP reconcile_resolve_errors_total Events whose rental, job, unit or "
		      "customer the PMS could not give (retried with backoff).\n"
		      "# TYPE reconcile_resolve_errors_total counter\nreconcile_resolve_errors_total %lu\n",
		      s->resolve_errors);
	rc_buf_printf(&b, "# HELP reconcile_http_requests_cut_total Requests to serve cut after %d s "
		      "(slow clients).\n# TYPE reconcile_http_requests_cut_total counter\n"
		      "reconcile_http_requests_cut_total %lu\n", SERVE_REQUEST_TIMEOUT_S, s->conns_cut);
	rc_buf_printf(&b, "# HELP reconcile_pruned_total Entries dropped by retention.\n"
		      "# TYPE reconcile_pruned_total counter\n"
		      "reconcile_pruned_total{kind=\"events\"} %lu\nreconcile_pruned_total{kind=\"journal\"} %lu\n",
		      s->pruned_events, s->pruned_journal);
	for (pl.m = 0; pl.m < sizeof(pool_metrics) / sizeof(pool_metrics[0]); pl.m++) {
		rc_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", pool_metrics[pl.m].name,
			      pool_metrics[pl.m].help, pool_metrics[pl.m].name, pool_metrics[pl.m].type);
		http_pool_each(pool_metric, &pl);
	}
	rc_buf_puts(&b, "# HELP reconcile_drift_operations Operations planned but not applied, per site.\n"
		    "# TYPE reconcile_drift_operations gauge\n");
	for (i = 0; i < s->spec->nsites; i++)
		rc_buf_printf(&b, "reconcile_drift_operations{site=\"%s\",vendor=\"%s\"} %lu\n",
			      s->spec->sites[i].name, s->spec->sites[i].vendor->name,
			      s->sites[i].drift);
	commit_metrics(s, &b);
	serve_cluster_metrics(s, &b);
	return rc_buf_steal(&b);
}

