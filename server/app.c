/* app.c: per-worker resources and shared reply helpers. */
#include "app.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "api/status_rollup.h"
#include "auth.h"
#include "grants.h"
#include "mcp_session.h"
#include "log.h"
#include "xmem.h"

/* ---- notify barriers ---- */

/* This process in cupd_instances; random per start. */
static char instance_id[17];

void app_instance_init(void)
{
	unsigned char raw[8];
	if (RAND_bytes(raw, sizeof raw) != 1)
		memset(raw, 0, sizeof raw);
	for (int i = 0; i < 8; i++)
		snprintf(instance_id + 2 * i, 3, "%02x", raw[i]);
}

typedef struct barrier {
	struct barrier *next;
	char token[33];
	struct event *fire;        /* on the waiting request's loop */
	struct event *timeout;
	void (*cont)(void *);
	void *arg;
	int acks;                  /* instances that have confirmed so far */
	int expected;              /* live instances when it was sent; -1 until known */
	bool fired;
} barrier;

static struct {
	pthread_mutex_t lock;
	barrier *head;
} barriers = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void barrier_unlink(barrier *b)
{
	pthread_mutex_lock(&barriers.lock);
	for (barrier **pp = &barriers.head; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	pthread_mutex_unlock(&barriers.lock);
}

/* On the request's loop: whichever of "all confirmed" and timeout comes first. */
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

/* Called with barriers.lock held. */
static void barrier_check_locked(barrier *b)
{
	if (!b->fired && b->expected >= 0 && b->acks >= b->expected) {
		b->fired = true;
		event_active(b->fire, EV_READ, 0);
	}
}

/* acks_delta confirmations and/or the expected count (-1: unchanged) for token. */
static void barrier_update(const char *token, int acks_delta, int expected, bool give_up)
{
	pthread_mutex_lock(&barriers.lock);
	for (barrier *b = barriers.head; b; b = b->next)
		if (!strcmp(b->token, token)) {
			b->acks += acks_delta;
			if (expected >= 0)
				b->expected = expected;
			if (give_up)
				b->expected = 0;
			barrier_check_locked(b);
			break;
		}
	pthread_mutex_unlock(&barriers.lock);
}

static const db_stmt BARRIER = {
	"app_barrier",
	"SELECT pg_notify('cupd_events', 'barrier:' || $1), "
	"  (SELECT count(*) FROM cupd_instances WHERE last_seen_at > now() - interval '15 seconds') AS live",
	1,
};

/* arg is a copy of the token: the barrier itself may be gone by now. */
static void barrier_sent(const db_result *res, void *arg)
{
	char *token = arg;
	int64_t live = 0;
	if (res->status != DB_OK || !db_get_i64(res->res, 0, "live", &live))
		barrier_update(token, 0, -1, true); /* no NOTIFY will come: go on now */
	else
		barrier_update(token, 0, live > 0 ? (int)live : 1, false);
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
	b->expected = -1;
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
		barrier_update(token, 0, -1, true);
		free(token);
	}
}

char *app_on_notify_thread(const char *channel, const char *payload, void *arg)
{
	if (channel && !strncmp(payload, "barrier:", 8)) {
		/* Every earlier NOTIFY has been applied on this thread by now:
		 * confirm, so the instance that sent it can answer. */
		size_t n = strlen(payload + 8) + 5;
		char *ack = xmalloc(n);
		snprintf(ack, n, "ack:%s", payload + 8);
		return ack;
	}
	if (channel && !strncmp(payload, "ack:", 4)) {
		barrier_update(payload + 4, 1, -1, false);
		return NULL;
	}
	auth_on_notify(channel, payload, NULL);
	oauth_on_notify(channel, payload, arg);
	mcp_session_on_notify(channel, payload);
	return NULL;
}

/* ---- instance heartbeat (worker 0) ---- */

static const db_stmt HEARTBEAT = {
	"app_instance_heartbeat",
	"INSERT INTO cupd_instances (id, hostname) VALUES ($1, $2) "
	"ON CONFLICT (id) DO UPDATE SET last_seen_at = now()",
	2,
};

static const db_stmt DEREGISTER = { "app_instance_deregister", "DELETE FROM cupd_instances WHERE id = $1", 1 };

static void ignore_result(const db_result *res, void *arg)
{
	(void)res;
	(void)arg;
}

static void heartbeat(app_worker *w)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	const char *params[] = { instance_id, host };
	if (db_query(w->db, &HEARTBEAT, params, ignore_result, NULL) != DB_OK)
		log_msg(LOG_DEBUG, "instance heartbeat skipped: database unavailable");
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	heartbeat(arg);
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
		/* Count this instance among those a revocation waits for. */
		struct timeval hb = { 5, 0 };
		w->heartbeat_timer = event_new(base, -1, EV_PERSIST, on_heartbeat, w);
		event_add(w->heartbeat_timer, &hb);
		heartbeat(w);
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
	if (w->heartbeat_timer)
		event_free(w->heartbeat_timer);
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
	if (w && w->heartbeat_timer) {
		/* Leave the count of live instances before going away. */
		const char *params[] = { instance_id };
		if (db_query(w->db, &DEREGISTER, params, ignore_result, NULL) != DB_OK)
			log_msg(LOG_DEBUG, "instance deregistration skipped: database unavailable");
	}
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
