/* metrics.c: sharded request metrics and process-wide gauges. */
#include "metrics.h"

#include <event2/buffer.h>
#include <stdatomic.h>
#include <string.h>

#include "xmem.h"

/* Status codes get their own series; anything else falls into its class. */
static const int STATUSES[] = { 200, 201, 202, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404,
                                405, 406, 409, 410, 413, 415, 422, 429, 431, 500, 501, 502, 503, 504 };
enum { NSTATUS = sizeof STATUSES / sizeof STATUSES[0], NSTATUS_SLOTS = NSTATUS + 5 };

/* Upper bounds in seconds of the latency histogram. */
static const double BUCKETS[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
enum { NBUCKETS = sizeof BUCKETS / sizeof BUCKETS[0] };

typedef struct route_stats {
	_Atomic uint64_t by_status[NSTATUS_SLOTS];
	_Atomic uint64_t bucket[NBUCKETS + 1];   /* last = +Inf */
	_Atomic uint64_t sum_us;
} route_stats;

typedef struct shard {
	route_stats routes[METRICS_MAX_ROUTES];
} shard;

static shard *shards;
static int nshards;
static char *route_labels[METRICS_MAX_ROUTES];
static int nroutes;
static _Atomic int64_t gauges[METRIC_GAUGE_COUNT];
static _Atomic uint64_t counters[METRIC_COUNTER_COUNT];

static const char *const GAUGE_NAMES[METRIC_GAUGE_COUNT][2] = {
	{ "cupd_db_connections", "Open healthy PostgreSQL connections" },
	{ "cupd_db_in_use", "PostgreSQL connections running a query" },
	{ "cupd_db_waiting", "Queries waiting for a free connection" },
	{ "cupd_sse_streams_open", "Open server-sent-event streams" },
	{ "cupd_http_in_flight", "Requests accepted and not yet answered" },
};
static const char *const COUNTER_NAMES[METRIC_COUNTER_COUNT][2] = {
	{ "cupd_db_unavailable_total", "Queries refused because the database was unreachable" },
	{ "cupd_db_reconnects_total", "PostgreSQL reconnection attempts" },
	{ "cupd_notify_received_total", "NOTIFY messages delivered to worker loops" },
};

void metrics_init(int n)
{
	nshards = n;
	shards = xcalloc((size_t)n, sizeof *shards);
	if (!nroutes)
		route_labels[nroutes++] = xstrdup("unmatched");
}

void metrics_shutdown(void)
{
	free(shards);
	shards = NULL;
	for (int i = 0; i < nroutes; i++)
		free(route_labels[i]);
	nroutes = 0;
}

int metrics_route_id(const char *label)
{
	if (!nroutes)
		route_labels[nroutes++] = xstrdup("unmatched");
	for (int i = 0; i < nroutes; i++)
		if (!strcmp(route_labels[i], label))
			return i;
	if (nroutes == METRICS_MAX_ROUTES)
		return 0;
	route_labels[nroutes] = xstrdup(label);
	return nroutes++;
}

static int status_slot(int status)
{
	for (int i = 0; i < NSTATUS; i++)
		if (STATUSES[i] == status)
			return i;
	int cls = status / 100;
	return NSTATUS + (cls >= 1 && cls <= 5 ? cls - 1 : 4);
}

/* Single writer per shard: a relaxed load+store is enough and costs no lock. */
static inline void bump(_Atomic uint64_t *c, uint64_t by)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by, memory_order_relaxed);
}

void metrics_observe(int sh, int route_id, int status, double seconds)
{
	if (!shards || sh < 0 || sh >= nshards || route_id < 0 || route_id >= METRICS_MAX_ROUTES)
		return;
	route_stats *rs = &shards[sh].routes[route_id];
	bump(&rs->by_status[status_slot(status)], 1);
	int b = 0;
	while (b < NBUCKETS && seconds > BUCKETS[b])
		b++;
	bump(&rs->bucket[b], 1);
	bump(&rs->sum_us, (uint64_t)(seconds * 1e6));
}

void metrics_gauge_add(metrics_gauge g, int64_t delta)
{
	atomic_fetch_add_explicit(&gauges[g], delta, memory_order_relaxed);
}

int64_t metrics_gauge_get(metrics_gauge g)
{
	return atomic_load_explicit(&gauges[g], memory_order_relaxed);
}

void metrics_counter_inc(metrics_counter c)
{
	atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

static uint64_t sum_field(int route, size_t offset_in_route, size_t index)
{
	uint64_t total = 0;
	for (int s = 0; s < nshards; s++) {
		const _Atomic uint64_t *base =
			(const _Atomic uint64_t *)((const char *)&shards[s].routes[route] + offset_in_route);
		total += atomic_load_explicit(&base[index], memory_order_relaxed);
	}
	return total;
}

void metrics_render(struct evbuffer *out)
{
	static const char *const CLASS_LABEL[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	evbuffer_add_printf(out, "# HELP cupd_http_requests_total Answered HTTP requests by route and status\n"
	                         "# TYPE cupd_http_requests_total counter\n");
	for (int r = 0; r < nroutes; r++)
		for (int s = 0; s < NSTATUS_SLOTS; s++) {
			uint64_t v = sum_field(r, offsetof(route_stats, by_status), (size_t)s);
			if (!v)
				continue;
			if (s < NSTATUS)
				evbuffer_add_printf(out, "cupd_http_requests_total{route=\"%s\",status=\"%d\"} %lu\n",
				                    route_labels[r], STATUSES[s], (unsigned long)v);
			else
				evbuffer_add_printf(out, "cupd_http_requests_total{route=\"%s\",status=\"%s\"} %lu\n",
				                    route_labels[r], CLASS_LABEL[s - NSTATUS], (unsigned long)v);
		}
	evbuffer_add_printf(out, "# HELP cupd_http_request_duration_seconds Time from request to answer\n"
	                         "# TYPE cupd_http_request_duration_seconds histogram\n");
	for (int r = 0; r < nroutes; r++) {
		uint64_t cum = 0;
		uint64_t counts[NBUCKETS + 1];
		for (int b = 0; b <= NBUCKETS; b++)
			counts[b] = sum_field(r, offsetof(route_stats, bucket), (size_t)b);
		for (int b = 0; b <= NBUCKETS; b++)
			cum += counts[b];
		if (!cum)
			continue;
		cum = 0;
		for (int b = 0; b < NBUCKETS; b++) {
			cum += counts[b];
			evbuffer_add_printf(out, "cupd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
			                    route_labels[r], BUCKETS[b], (unsigned long)cum);
		}
		cum += counts[NBUCKETS];
		evbuffer_add_printf(out, "cupd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
		                    route_labels[r], (unsigned long)cum);
		evbuffer_add_printf(out, "cupd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
		                    route_labels[r], (double)sum_field(r, offsetof(route_stats, sum_us), 0) / 1e6);
		evbuffer_add_printf(out, "cupd_http_request_duration_seconds_count{route=\"%s\"} %lu\n",
		                    route_labels[r], (unsigned long)cum);
	}
	for (int g = 0; g < METRIC_GAUGE_COUNT; g++)
		evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %ld\n", GAUGE_NAMES[g][0],
		                    GAUGE_NAMES[g][1], GAUGE_NAMES[g][0], GAUGE_NAMES[g][0],
		                    (long)metrics_gauge_get((metrics_gauge)g));
	for (int c = 0; c < METRIC_COUNTER_COUNT; c++)
		evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", COUNTER_NAMES[c][0],
		                    COUNTER_NAMES[c][1], COUNTER_NAMES[c][0], COUNTER_NAMES[c][0],
		                    (unsigned long)atomic_load_explicit(&counters[c], memory_order_relaxed));
}
