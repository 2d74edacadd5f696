/* app.c: per-worker resources and shared reply helpers. */
#include "app.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "api/status_rollup.h"
#include "auth.h"
#include "grants.h"
#include "mcp_session.h"
#include "log.h"
#include "xmem.h"

/* ---- notify barriers ---- */

typedef struct barrier {
	struct barrier *next;
	char token[33];
	struct event *fire;        /* on the waiting request's loop */
	struct event *timeout;
	void (*cont)(void *);
	void *arg;
	bool fired;
} barrier;

static struct {
	pthread_mutex_t lock;
	barrier *head;
} barriers = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool barrier_unlink(barrier *b)
{
	bool found = false;
	pthread_mutex_lock(&barriers.lock);
	for (barrier **pp = &barriers.head; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			found = true;
			break;
		}
	pthread_mutex_unlock(&barriers.lock);
	return found;
}

/* On the request's loop: whichever of arrival and timeout comes first. */
static void barrier_run(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	barrier *b = arg;
	barrier_unlink(b);
	event_free(b->fire);
	event_free(b->timeout);
	void (*cont)(void *) = b->cont;
	void *carg = b->arg;
	free(b);
	cont(carg);
}

/* Listener thread: the barrier arrived. */
static void barrier_arrived(const char *token)
{
	pthread_mutex_lock(&barriers.lock);
	for (barrier *b = barriers.head; b; b = b->next)
		if (!strcmp(b->token, token) && !b->fired) {
			b->fired = true;
			event_active(b->fire, EV_READ, 0);
			break;
		}
	pthread_mutex_unlock(&barriers.lock);
}

static const db_stmt BARRIER = { "app_barrier", "SELECT pg_notify('cupd_events', 'barrier:' || $1)", 1 };

/* arg is a copy of the token: the barrier itself may be gone by now. */
static void barrier_sent(const db_result *res, void *arg)
{
	char *token = arg;
	if (res->status != DB_OK)
		barrier_arrived(token); /* no NOTIFY will come: go on now */
	free(token);
}

void app_notify_barrier(http_req *r, int timeout_ms, void (*cont)(void *arg), void *arg)
{
	app_worker *w = app_worker_of(r);
	unsigned char raw[16];
	if (RAND_bytes(raw, sizeof raw) != 1) {
		cont(arg);
		return;
	}
	barrier *b = xcalloc(1, sizeof *b);
	for (int i = 0; i < 16; i++)
		snprintf(b->token + 2 * i, 3, "%02x", raw[i]);
	b->cont = cont;
	b->arg = arg;
	b->fire = event_new(w->base, -1, 0, barrier_run, b);
	b->timeout = evtimer_new(w->base, barrier_run, b);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	evtimer_add(b->timeout, &tv);
	pthread_mutex_lock(&barriers.lock);
	b->next = barriers.head;
	barriers.head = b;
	pthread_mutex_unlock(&barriers.lock);
	const char *params[] = { b->token };
	char *token = xstrdup(b->token);
	if (db_query(w->db, &BARRIER, params, barrier_sent, token) != DB_OK) {
		free(token);
		barrier_arrived(b->token);
	}
}

void app_on_notify_thread(const char *channel, const char *payload, void *arg)
{
	if (channel && !strncmp(payload, "barrier:", 8)) {
		barrier_arrived(payload + 8);
		return;
	}
	auth_on_notify(channel, payload, NULL);
	oauth_on_notify(channel, payload, arg);
	mcp_session_on_notify(channel, payload);
}

static void on_notify(const char *channel, const char *payload, void *arg)
{
	app_worker *w = arg;
	if (!channel) {
		log_msg(LOG_DEBUG, "worker %d: listener (re)connected, cached state reloads", w->index);
		return;
	}
	log_msg(LOG_DEBUG, "worker %d: notify %s %s", w->index, channel, payload);
}

static void on_usage_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	app_worker *w = arg;
	auth_usage_flush(w->db);
}

static void *worker_start(int index, struct event_base *base, void *arg)
{
	app *a = arg;
	app_worker *w = xcalloc(1, sizeof *w);
	w->index = index;
	w->base = base;
	w->db = db_pool_new(base, a->c->database_url,
	                    &(db_options){ .pool_size = a->c->db_pool_size,
	                                   .queue_max = a->c->db_queue_max,
	                                   .queue_timeout_ms = a->c->db_queue_timeout_ms,
	                                   .statement_timeout_ms = a->c->db_statement_timeout_ms });
	if (a->listener)
		w->notify_sub = db_listener_subscribe(a->listener, base, on_notify, w);
	if (index == 0) {
		/* One writer per process for batched usage: one statement per interval. */
		struct timeval tv = { a->c->usage_flush_ms / 1000, (a->c->usage_flush_ms % 1000) * 1000 };
		w->usage_timer = event_new(base, -1, EV_PERSIST, on_usage_timer, w);
		event_add(w->usage_timer, &tv);
		status_rollup_start(base, w->db, a->c);
	}
	return w;
}

static void worker_stop(void *ctx, void *arg)
{
	app *a = arg;
	app_worker *w = ctx;
	if (!w)
		return;
	if (a->listener)
		db_listener_unsubscribe(a->listener, w->notify_sub);
	if (w->usage_timer)
		event_free(w->usage_timer);
	if (w->index == 0)
		status_rollup_stop();
	db_pool_free(w->db);
	free(w);
}

/* Shutdown begins: write pending usage while the loop still runs. */
static void worker_drain(void *ctx, void *arg)
{
	(void)arg;
	app_worker *w = ctx;
	if (w && w->usage_timer)
		auth_usage_flush(w->db);
}

http_hooks app_hooks(app *a)
{
	return (http_hooks){ .worker_start = worker_start, .worker_drain = worker_drain, .worker_stop = worker_stop,
	                     .arg = a };
}

void app_reply_db_failure(http_req *r, db_status st)
{
	if (st == DB_ERROR) {
		http_reply_error(r, 500, "internal_error", "The request failed on our side; it has been logged.");
		return;
	}
	http_set_header(r, "Retry-After", "1");
	http_reply_error(r, 503, "database_unavailable",
	                 st == DB_OVERLOADED ? "Too many requests are waiting for the database; retry shortly."
	                                     : "The database is not reachable right now; retry shortly.");
}

void app_reply_bad_request(http_req *r, const char *description)
{
	http_reply_error(r, 400, "invalid_request", description);
}
