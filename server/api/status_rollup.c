/* api/status_rollup.c: the status timer on worker 0 (see the header). */
#include "api/status_rollup.h"

#include <event2/event.h>
#include <stdio.h>

#include "log.h"

static const db_stmt ROLLUP = {
	"status_rollup",
	"SELECT cupd_status_rollup($1::integer, $2::float8, $3::float8, $4::float8, $5::integer) AS changed",
	5,
};

/* One per process, touched only on worker 0's thread. */
static struct {
	struct event *timer;
	db_pool *db;               /* borrowed: worker 0's pool */
	const cfg *c;              /* borrowed */
	bool running;              /* a run is in flight: skip ticks until it ends */
} st;

static void rollup_done(const db_result *res, void *arg)
{
	(void)arg;
	st.running = false;
	if (res->status == DB_ERROR) {
		log_msg(LOG_ERROR, "status rollup failed: %s %s", res->sqlstate, res->message);
		return;
	}
	int64_t changed = 0;
	if (res->status == DB_OK && db_get_i64(res->res, 0, "changed", &changed) && changed > 0)
		log_msg(LOG_INFO, "status rollup: %lld service status change(s)", (long long)changed);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (st.running)
		return;
	const cfg *c = st.c;
	char window[16], degraded[32], partial[32], major[32], min_samples[16];
	snprintf(window, sizeof window, "%d", c->status_window_seconds);
	snprintf(degraded, sizeof degraded, "%.17g", c->status_degraded);
	snprintf(partial, sizeof partial, "%.17g", c->status_partial);
	snprintf(major, sizeof major, "%.17g", c->status_major);
	snprintf(min_samples, sizeof min_samples, "%d", c->status_min_samples);
	const char *params[] = { window, degraded, partial, major, min_samples };
	/* While the database is away the call fails fast; the next tick retries. */
	if (db_query(st.db, &ROLLUP, params, rollup_done, NULL) == DB_OK)
		st.running = true;
}

void status_rollup_start(struct event_base *base, db_pool *db, const cfg *c)
{
	st.db = db;
	st.c = c;
	st.running = false;
	st.timer = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = { STATUS_ROLLUP_INTERVAL_MS / 1000, (STATUS_ROLLUP_INTERVAL_MS % 1000) * 1000 };
	event_add(st.timer, &tv);
}

void status_rollup_stop(void)
{
	if (st.timer)
		event_free(st.timer);
	st.timer = NULL;
	st.db = NULL;
}
