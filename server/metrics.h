/* metrics.h: Prometheus counters, histograms and gauges.
 *
 * Request metrics are sharded per worker thread: each shard has exactly one
 * writer (its worker), so recording is a relaxed load+store with no lock and
 * no contended cache line; the scrape sums all shards. Gauges shared by all
 * threads (DB connections, SSE streams) are plain atomics. */
#ifndef CUPD_METRICS_H
#define CUPD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

struct evbuffer;

enum { METRICS_MAX_ROUTES = 256 };

typedef enum {
	METRIC_DB_CONNECTIONS,   /* open, healthy PostgreSQL connections */
	METRIC_DB_IN_USE,        /* connections running a query */
	METRIC_DB_WAITING,       /* queries waiting for a connection */
	METRIC_SSE_OPEN,         /* open server-sent-event streams */
	METRIC_HTTP_IN_FLIGHT,   /* requests accepted and not yet answered */
	METRIC_GAUGE_COUNT
} metrics_gauge;

typedef enum {
	METRIC_DB_UNAVAILABLE,   /* queries refused because the database was down */
	METRIC_DB_RECONNECTS,    /* connection attempts after a loss */
	METRIC_NOTIFY_RECEIVED,  /* NOTIFY messages delivered to workers */
	METRIC_COUNTER_COUNT
} metrics_counter;

/* Allocates nshards request shards. Call once before threads start. */
void metrics_init(int nshards);
void metrics_shutdown(void);

/* Registers a route label and returns its id (0 is reserved for "unmatched").
 * Registering the same label twice returns the same id. Not thread-safe: call
 * while building the router, before workers start. */
int metrics_route_id(const char *label);

/* Records one answered request on shard (the worker's index). */
void metrics_observe(int shard, int route_id, int status, double seconds);

void metrics_gauge_add(metrics_gauge g, int64_t delta);
int64_t metrics_gauge_get(metrics_gauge g);
void metrics_counter_inc(metrics_counter c);

/* Appends the Prometheus text exposition (version 0.0.4) to out. */
void metrics_render(struct evbuffer *out);

#endif
