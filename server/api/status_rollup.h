/* api/status_rollup.h: services' status from their recent events.
 *
 * A timer on worker 0 of each instance runs cupd_status_rollup (migration
 * 0008) every STATUS_ROLLUP_INTERVAL_MS: it folds the per-request counts
 * ingest appended, computes each recently active service's error rate over
 * CUPD_STATUS_WINDOW_SECONDS, maps it to operational / degraded /
 * partial_outage / major_outage with the CUPD_STATUS_* thresholds, writes
 * service_status and adds service_status_history rows on changes. With
 * several instances an advisory lock lets one of them do it per tick.
 *
 * Why a periodic job and not the ingest statement:
 *   - ingest is the hot path (1,000+ requests/s): recomputing a window per
 *     request would redo the same sums a thousand times a second, while the
 *     status only needs to be seconds fresh;
 *   - every request would update the same service_status row, so
 *     concurrent requests for one service would queue on its row lock;
 *   - a status must also change when no events arrive (an outage ends when
 *     its errors leave the window), which only a timer notices. */
#ifndef CUPD_API_STATUS_ROLLUP_H
#define CUPD_API_STATUS_ROLLUP_H

#include "config.h"
#include "db.h"

struct event_base;

enum { STATUS_ROLLUP_INTERVAL_MS = 2000 };

/* Starts the timer on base (call on worker 0's thread, once per process);
 * db and c are borrowed and must outlive status_rollup_stop. */
void status_rollup_start(struct event_base *base, db_pool *db, const cfg *c);

/* Stops the timer; call on the same thread before db is freed. A run still
 * in flight completes into the pool's teardown harmlessly. */
void status_rollup_stop(void);

#endif
