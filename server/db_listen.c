/* db_listen.c: the LISTEN thread and per-loop delivery queues. */
#include "db_listen.h"

#include <errno.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "xmem.h"

typedef struct msg {
	struct msg *next;
	char *channel;   /* NULL = reload */
	char *payload;
} msg;

struct db_subscription {
	db_subscription *next;
	struct event *ev;      /* activated by the listener thread */
	db_notify_fn fn;
	void *arg;
	pthread_mutex_t lock;  /* guards the queue */
	msg *head, *tail;
};

struct db_listener {
	char *conninfo;
	char **channels;
	int nchannels;
	pthread_t thread;
	int wake[2];                 /* pipe: stop request */
	pthread_mutex_t lock;        /* guards subs */
	db_subscription *subs;
	atomic_bool connected;
	atomic_bool stopping;
	db_notify_thread_fn on_thread;
	void *on_thread_arg;
	PGconn *pg;                  /* the LISTEN connection; listener thread only */
};

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	db_subscription *s = arg;
	pthread_mutex_lock(&s->lock);
	msg *m = s->head;
	s->head = s->tail = NULL;
	pthread_mutex_unlock(&s->lock);
	while (m) {
		msg *next = m->next;
		if (m->channel)
			metrics_counter_inc(METRIC_NOTIFY_RECEIVED);
		s->fn(m->channel, m->payload, s->arg);
		free(m->channel);
		free(m->payload);
		free(m);
		m = next;
	}
}

static void broadcast(db_listener *l, const char *channel, const char *payload)
{
	char *reply = l->on_thread ? l->on_thread(channel, payload ? payload : "", l->on_thread_arg) : NULL;
	if (reply && channel && l->pg) {
		/* PQexec blocks even in non-blocking mode; this thread may wait. */
		const char *params[] = { channel, reply };
		PQclear(PQexecParams(l->pg, "SELECT pg_notify($1, $2)", 2, NULL, params, NULL, NULL, 0));
	}
	free(reply);
	pthread_mutex_lock(&l->lock);
	for (db_subscription *s = l->subs; s; s = s->next) {
		msg *m = xcalloc(1, sizeof *m);
		m->channel = channel ? xstrdup(channel) : NULL;
		m->payload = xstrdup(payload ? payload : "");
		pthread_mutex_lock(&s->lock);
		if (s->tail)
			s->tail->next = m;
		else
			s->head = m;
		s->tail = m;
		pthread_mutex_unlock(&s->lock);
		event_active(s->ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&l->lock);
}

/* Sleeps up to ms unless a stop is requested; true = stop. */
static bool wait_or_stop(db_listener *l, int fd, int ms)
{
	struct pollfd p[2] = { { .fd = l->wake[0], .events = POLLIN }, { .fd = fd, .events = POLLIN } };
	int rc = poll(p, fd >= 0 ? 2 : 1, ms);
	(void)rc;
	return atomic_load(&l->stopping);
}

static PGconn *connect_and_listen(db_listener *l)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { l->conninfo, "cupd-listener", "5", NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(pg) != CONNECTION_OK)
		goto fail;
	for (int i = 0; i < l->nchannels; i++) {
		/* Channel names are our own constants, validated as identifiers at start. */
		char sql[128];
		snprintf(sql, sizeof sql, "LISTEN %s", l->channels[i]);
		PGresult *r = PQexec(pg, sql);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok)
			goto fail;
	}
	PQsetnonblocking(pg, 1);
	return pg;
fail:
	log_msg(LOG_DEBUG, "db listener: %s", PQerrorMessage(pg));
	PQfinish(pg);
	return NULL;
}

static void *listener_main(void *arg)
{
	db_listener *l = arg;
	int backoff = 50;
	while (!atomic_load(&l->stopping)) {
		PGconn *pg = connect_and_listen(l);
		if (!pg) {
			if (wait_or_stop(l, -1, backoff))
				break;
			backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
			continue;
		}
		backoff = 50;
		l->pg = pg;
		atomic_store(&l->connected, true);
		broadcast(l, NULL, NULL); /* reload: anything sent while away is lost */
		while (!wait_or_stop(l, PQsocket(pg), 1000)) {
			if (!PQconsumeInput(pg))
				break;
			PGnotify *n;
			while ((n = PQnotifies(pg))) {
				broadcast(l, n->relname, n->extra);
				PQfreemem(n);
			}
			if (PQstatus(pg) == CONNECTION_BAD)
				break;
		}
		atomic_store(&l->connected, false);
		l->pg = NULL;
		if (!atomic_load(&l->stopping))
			log_msg(LOG_WARN, "db listener: connection lost, reconnecting");
		PQfinish(pg);
	}
	return NULL;
}

static bool valid_channel(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (p != s && *p >= '0' && *p <= '9')))
			return false;
	return true;
}

db_listener *db_listener_start(const char *conninfo, const char *const *channels, int nchannels,
                               db_notify_thread_fn on_thread, void *on_thread_arg)
{
	for (int i = 0; i < nchannels; i++)
		if (!valid_channel(channels[i]))
			return NULL;
	db_listener *l = xcalloc(1, sizeof *l);
	if (pipe(l->wake) != 0) {
		free(l);
		return NULL;
	}
	l->conninfo = xstrdup(conninfo ? conninfo : "");
	l->on_thread = on_thread;
	l->on_thread_arg = on_thread_arg;
	l->nchannels = nchannels;
	l->channels = xcalloc((size_t)nchannels, sizeof *l->channels);
	for (int i = 0; i < nchannels; i++)
		l->channels[i] = xstrdup(channels[i]);
	pthread_mutex_init(&l->lock, NULL);
	pthread_create(&l->thread, NULL, listener_main, l);
	return l;
}

void db_listener_stop(db_listener *l)
{
	if (!l)
		return;
	atomic_store(&l->stopping, true);
	ssize_t w = write(l->wake[1], "x", 1);
	(void)w;
	pthread_join(l->thread, NULL);
	close(l->wake[0]);
	close(l->wake[1]);
	for (int i = 0; i < l->nchannels; i++)
		free(l->channels[i]);
	free(l->channels);
	free(l->conninfo);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

db_subscription *db_listener_subscribe(db_listener *l, struct event_base *base, db_notify_fn fn, void *arg)
{
	db_subscription *s = xcalloc(1, sizeof *s);
	s->fn = fn;
	s->arg = arg;
	pthread_mutex_init(&s->lock, NULL);
	s->ev = event_new(base, -1, 0, on_deliver, s);
	pthread_mutex_lock(&l->lock);
	s->next = l->subs;
	l->subs = s;
	pthread_mutex_unlock(&l->lock);
	return s;
}

void db_listener_unsubscribe(db_listener *l, db_subscription *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&l->lock);
	for (db_subscription **pp = &l->subs; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	pthread_mutex_unlock(&l->lock);
	event_free(s->ev);
	msg *m = s->head;
	while (m) {
		msg *next = m->next;
		free(m->channel);
		free(m->payload);
		free(m);
		m = next;
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

bool db_listener_connected(db_listener *l)
{
	return atomic_load(&l->connected);
}
