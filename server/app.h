/* app.h: what every handler can reach: its worker's resources.
 *
 * One app_worker per HTTP worker thread, created on that thread by the
 * http_hooks from app_hooks(); handlers get it with app_worker_of(req). */
#ifndef CUPD_APP_H
#define CUPD_APP_H

#include "db.h"
#include "db_listen.h"
#include "http.h"

/* NOTIFY channel every instance listens on (payloads "kind:id"). */
#define APP_NOTIFY_CHANNEL "cupd_events"

typedef struct app_worker {
	int index;
	struct event_base *base;
	db_pool *db;                  /* this worker's connections */
	db_subscription *notify_sub;  /* NOTIFY delivery onto this loop */
	struct event *usage_timer;    /* worker 0 only: writes batched last-used data */
	struct event *heartbeat_timer; /* worker 0 only: keeps this instance in cupd_instances */
} app_worker;

typedef struct app {
	const cfg *c;
	db_listener *listener;        /* owned by main; may be NULL in tests */
} app;

/* The listener thread's hook (db_listener_start's on_thread): applies
 * revocations of credentials and AI Connections the moment they arrive.
 * arg is the database conninfo (for rare blocking reloads on that thread). */
char *app_on_notify_thread(const char *channel, const char *payload, void *arg);

/* Gives this process its instance id (cupd_instances). Call once in main. */
void app_instance_init(void);

/* Runs cont(arg) on r's loop once every live instance (cupd_instances) has
 * confirmed a barrier NOTIFY committed after everything r wrote so far, or
 * after timeout_ms. Each listener applies notifications in commit order on
 * its own thread and confirms the barrier from there, so when all have
 * confirmed, every instance has applied the earlier notifications
 * (revocations): the caller's next request, wherever it lands, sees them.
 * cont always runs exactly once, possibly before this returns. */
void app_notify_barrier(http_req *r, int timeout_ms, void (*cont)(void *arg), void *arg);

/* How long a revocation waits for a starved or partitioned instance. */
enum { APP_BARRIER_TIMEOUT_MS = 2000 };

/* Hooks that create and destroy each worker's app_worker; a is borrowed. */
http_hooks app_hooks(app *a);

static inline app_worker *app_worker_of(const http_req *r)
{
	return http_req_worker_ctx(r);
}

/* Answers a failed db_query/db callback: 503 + Retry-After when the
 * database is unreachable or saturated, 500 otherwise. */
void app_reply_db_failure(http_req *r, db_status st);

/* Answers 400 with a JSON error naming the problem. */
void app_reply_bad_request(http_req *r, const char *description);

#endif
