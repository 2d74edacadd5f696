/* db.c: per-worker pool of non-blocking libpq connections (STACK.md §3). */
#include "db.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "xmem.h"

typedef struct job {
	struct job *next;
	const db_stmt *st;
	char **params;          /* owned copies; NULL entries = SQL NULL */
	db_done_fn cb;
	void *arg;
	struct timespec deadline;
} job;

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY } conn_state;

typedef struct conn {
	db_pool *pool;
	int index;
	PGconn *pg;
	conn_state state;
	struct event *io;         /* connect: one-shot; afterwards persistent EV_READ */
	struct event *wr;         /* one-shot EV_WRITE while output is pending */
	job *cur;                 /* owned while BUSY */
	bool preparing;           /* cur's statement is being prepared first */
	PGresult *last;           /* last result of the current command */
	const db_stmt **prepared; /* statements prepared on this connection */
	int nprepared, capprepared;
	int backoff_ms;
	struct timespec retry_at;
	bool ever_connected;      /* so the first connect is not counted as a reconnect */
} conn;

struct db_pool {
	struct event_base *base;
	char *conninfo;
	char statement_timeout[64];
	db_options opt;
	conn *conns;
	job *qhead, *qtail;
	int qlen;
	int healthy;      /* conns IDLE or BUSY */
	bool down;        /* a connect attempt failed and nothing is open */
	struct event *tick;
};

static void conn_start(conn *c);
static void conn_lost(conn *c, const char *why);
static void dispatch(db_pool *p);

/* ---------------------------------------------------------------- time */

static void now_plus_ms(struct timespec *t, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool passed(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* ----------------------------------------------------------------- jobs */

static void job_free(job *j, int nparams)
{
	if (!j)
		return;
	for (int i = 0; i < nparams; i++)
		free(j->params[i]);
	free(j->params);
	free(j);
}

static void job_finish(job *j, db_status st, const PGresult *res, const char *sqlstate, const char *msg)
{
	db_result r = { .status = st, .res = res, .sqlstate = sqlstate ? sqlstate : "", .message = msg ? msg : "" };
	if (st == DB_UNAVAILABLE)
		metrics_counter_inc(METRIC_DB_UNAVAILABLE);
	db_done_fn cb = j->cb;
	void *arg = j->arg;
	job_free(j, j->st->nparams);
	cb(&r, arg);
}

static job *queue_pop(db_pool *p)
{
	job *j = p->qhead;
	if (j) {
		p->qhead = j->next;
		if (!p->qhead)
			p->qtail = NULL;
		p->qlen--;
		metrics_gauge_add(METRIC_DB_WAITING, -1);
	}
	return j;
}

static void fail_queue(db_pool *p, const char *why)
{
	job *j;
	while ((j = queue_pop(p)))
		job_finish(j, DB_UNAVAILABLE, NULL, NULL, why);
}

/* ------------------------------------------------------------ conn I/O */

static void set_state(conn *c, conn_state s)
{
	bool was_healthy = c->state == CONN_IDLE || c->state == CONN_BUSY;
	bool is_healthy = s == CONN_IDLE || s == CONN_BUSY;
	if (c->state == CONN_BUSY && s != CONN_BUSY)
		metrics_gauge_add(METRIC_DB_IN_USE, -1);
	if (s == CONN_BUSY && c->state != CONN_BUSY)
		metrics_gauge_add(METRIC_DB_IN_USE, 1);
	if (was_healthy != is_healthy) {
		c->pool->healthy += is_healthy ? 1 : -1;
		metrics_gauge_add(METRIC_DB_CONNECTIONS, is_healthy ? 1 : -1);
	}
	c->state = s;
}

static bool is_prepared(const conn *c, const db_stmt *st)
{
	for (int i = 0; i < c->nprepared; i++)
		if (c->prepared[i] == st)
			return true;
	return false;
}

static void on_writable(evutil_socket_t fd, short what, void *arg);

static bool flush_output(conn *c)
{
	int rc = PQflush(c->pg);
	if (rc < 0)
		return false;
	if (rc == 1) {
		if (!c->wr)
			c->wr = event_new(c->pool->base, PQsocket(c->pg), EV_WRITE, on_writable, c);
		event_add(c->wr, NULL);
	}
	return true;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn *c = arg;
	if (!flush_output(c))
		conn_lost(c, PQerrorMessage(c->pg));
}

static bool send_current(conn *c)
{
	job *j = c->cur;
	int ok;
	c->preparing = !is_prepared(c, j->st);
	if (c->preparing)
		ok = PQsendPrepare(c->pg, j->st->name, j->st->sql, j->st->nparams, NULL);
	else
		ok = PQsendQueryPrepared(c->pg, j->st->name, j->st->nparams, (const char *const *)j->params, NULL, NULL, 0);
	return ok && flush_output(c);
}

static void start_job(conn *c, job *j)
{
	c->cur = j;
	set_state(c, CONN_BUSY);
	if (!send_current(c))
		conn_lost(c, PQerrorMessage(c->pg));
}

/* One command finished (PQgetResult returned NULL): act on its last result. */
static void command_done(conn *c)
{
	PGresult *res = c->last;
	c->last = NULL;
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (c->preparing && ok) {
		PQclear(res);
		if (c->nprepared == c->capprepared) {
			c->capprepared = c->capprepared ? c->capprepared * 2 : 16;
			c->prepared = xrealloc(c->prepared, (size_t)c->capprepared * sizeof *c->prepared);
		}
		c->prepared[c->nprepared++] = c->cur->st;
		if (!send_current(c))
			conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	job *j = c->cur;
	c->cur = NULL;
	set_state(c, CONN_IDLE);
	if (ok) {
		job_finish(j, DB_OK, res, NULL, NULL);
	} else {
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
		if (log_enabled(LOG_DEBUG))
			log_msg(LOG_DEBUG, "db: statement %s failed: %s %s", j->st->name, state ? state : "", msg);
		job_finish(j, DB_ERROR, res, state, msg);
	}
	PQclear(res);
	dispatch(c->pool);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn *c = arg;
	if (!PQconsumeInput(c->pg)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	/* command_done may run callbacks that lose this very connection: re-check c->pg. */
	while (c->pg && c->state == CONN_BUSY && !PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);
		if (!res) {
			command_done(c);
			continue; /* a prepare may have sent the execute */
		}
		PQclear(c->last);
		c->last = res;
	}
	if (!c->pg)
		return;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->state == CONN_IDLE) {
		/* Pool connections never LISTEN; drop anything unsolicited. */
		PGnotify *n;
		while ((n = PQnotifies(c->pg)))
			PQfreemem(n);
	}
}

static void conn_lost(conn *c, const char *why)
{
	db_pool *p = c->pool;
	char reason[256];
	snprintf(reason, sizeof reason, "%s", why && *why ? why : "connection lost");
	reason[strcspn(reason, "\n")] = '\0';
	bool was_open = c->state == CONN_IDLE || c->state == CONN_BUSY;
	job *j = c->cur;
	c->cur = NULL;
	if (c->io) {
		event_free(c->io);
		c->io = NULL;
	}
	if (c->wr) {
		event_free(c->wr);
		c->wr = NULL;
	}
	PQclear(c->last);
	c->last = NULL;
	PQfinish(c->pg);
	c->pg = NULL;
	c->nprepared = 0;
	set_state(c, CONN_DOWN);
	if (was_open) {
		log_msg(LOG_WARN, "db: connection %d lost: %s", c->index, reason);
		c->backoff_ms = 0; /* retry at once after a loss, then back off */
	} else {
		p->down = p->healthy == 0;
		if (c->backoff_ms == 0 || c->index == 0)
			log_msg(p->down ? LOG_WARN : LOG_DEBUG, "db: connect failed: %s", reason);
		c->backoff_ms = c->backoff_ms ? (c->backoff_ms * 2 > 2000 ? 2000 : c->backoff_ms * 2) : 50;
	}
	now_plus_ms(&c->retry_at, c->backoff_ms);
	if (j)
		job_finish(j, DB_UNAVAILABLE, NULL, NULL, reason);
	if (p->down && p->healthy == 0)
		fail_queue(p, reason);
}

static void on_connect_io(evutil_socket_t fd, short what, void *arg);

static void wait_connect(conn *c, short what)
{
	if (c->io)
		event_free(c->io);
	/* The socket may change between polls, so the event is made anew each step. */
	c->io = event_new(c->pool->base, PQsocket(c->pg), what, on_connect_io, c);
	event_add(c->io, NULL);
}

static void on_connect_io(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn *c = arg;
	db_pool *p = c->pool;
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		wait_connect(c, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		wait_connect(c, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		event_free(c->io);
		PQsetnonblocking(c->pg, 1);
		c->io = event_new(p->base, PQsocket(c->pg), EV_READ | EV_PERSIST, on_readable, c);
		event_add(c->io, NULL);
		c->backoff_ms = 0;
		c->ever_connected = true;
		set_state(c, CONN_IDLE);
		if (p->down)
			log_msg(LOG_INFO, "db: connected again");
		p->down = false;
		dispatch(p);
		return;
	default:
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
}

static void conn_start(conn *c)
{
	db_pool *p = c->pool;
	const char *keys[] = { "dbname", "application_name", "options", "connect_timeout", NULL };
	const char *vals[] = { p->conninfo, "cupd", p->statement_timeout, "5", NULL };
	if (c->ever_connected || c->backoff_ms > 0)
		metrics_counter_inc(METRIC_DB_RECONNECTS);
	c->pg = PQconnectStartParams(keys, vals, 1);
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
		set_state(c, CONN_CONNECTING);
		conn_lost(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	set_state(c, CONN_CONNECTING);
	wait_connect(c, EV_WRITE);
}

/* ------------------------------------------------------------- pool */

static void dispatch(db_pool *p)
{
	for (int i = 0; i < p->opt.pool_size && p->qhead; i++)
		if (p->conns[i].state == CONN_IDLE)
			start_job(&p->conns[i], queue_pop(p));
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	db_pool *p = arg;
	/* Expire waiters first: a request must not hang on a saturated pool. */
	while (p->qhead && passed(&p->qhead->deadline)) {
		job *j = queue_pop(p);
		job_finish(j, DB_UNAVAILABLE, NULL, NULL, "timed out waiting for a database connection");
	}
	for (int i = 0; i < p->opt.pool_size; i++) {
		conn *c = &p->conns[i];
		if (c->state == CONN_DOWN && passed(&c->retry_at))
			conn_start(c);
	}
}

db_pool *db_pool_new(struct event_base *base, const char *conninfo, const db_options *opt)
{
	db_pool *p = xcalloc(1, sizeof *p);
	p->base = base;
	p->conninfo = xstrdup(conninfo ? conninfo : "");
	p->opt = *opt;
	snprintf(p->statement_timeout, sizeof p->statement_timeout, "-c statement_timeout=%d -c TimeZone=UTC",
	         opt->statement_timeout_ms);
	p->conns = xcalloc((size_t)opt->pool_size, sizeof *p->conns);
	for (int i = 0; i < opt->pool_size; i++) {
		p->conns[i].pool = p;
		p->conns[i].index = i;
		p->conns[i].state = CONN_DOWN;
		conn_start(&p->conns[i]);
	}
	p->tick = event_new(base, -1, EV_PERSIST, on_tick, p);
	struct timeval tv = { 0, 25 * 1000 };
	event_add(p->tick, &tv);
	return p;
}

void db_pool_free(db_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->opt.pool_size; i++) {
		conn *c = &p->conns[i];
		if (c->io)
			event_free(c->io);
		if (c->wr)
			event_free(c->wr);
		PQclear(c->last);
		if (c->pg)
			PQfinish(c->pg);
		set_state(c, CONN_DOWN);
		if (c->cur)
			job_free(c->cur, c->cur->st->nparams);
		free(c->prepared);
	}
	job *j;
	while ((j = queue_pop(p)))
		job_free(j, j->st->nparams);
	event_free(p->tick);
	free(p->conns);
	free(p->conninfo);
	free(p);
}

bool db_pool_up(const db_pool *p)
{
	return p->healthy > 0;
}

db_status db_query(db_pool *p, const db_stmt *st, const char *const *params, db_done_fn cb, void *arg)
{
	if (p->down && p->healthy == 0) {
		metrics_counter_inc(METRIC_DB_UNAVAILABLE);
		return DB_UNAVAILABLE;
	}
	if (p->qlen >= p->opt.queue_max)
		return DB_OVERLOADED;
	job *j = xcalloc(1, sizeof *j);
	j->st = st;
	j->cb = cb;
	j->arg = arg;
	j->params = xcalloc((size_t)st->nparams, sizeof *j->params);
	for (int i = 0; i < st->nparams; i++)
		j->params[i] = params && params[i] ? xstrdup(params[i]) : NULL;
	for (int i = 0; i < p->opt.pool_size; i++)
		if (p->conns[i].state == CONN_IDLE) {
			start_job(&p->conns[i], j);
			return DB_OK;
		}
	now_plus_ms(&j->deadline, p->opt.queue_timeout_ms);
	if (p->qtail)
		p->qtail->next = j;
	else
		p->qhead = j;
	p->qtail = j;
	p->qlen++;
	metrics_gauge_add(METRIC_DB_WAITING, 1);
	return DB_OK;
}

/* ------------------------------------------------------- result helpers */

int db_rows(const PGresult *res)
{
	return res ? PQntuples(res) : 0;
}

const char *db_get(const PGresult *res, int row, const char *col)
{
	int c = PQfnumber(res, col);
	if (c < 0 || row < 0 || row >= PQntuples(res) || PQgetisnull(res, row, c))
		return NULL;
	return PQgetvalue(res, row, c);
}

bool db_get_i64(const PGresult *res, int row, const char *col, int64_t *out)
{
	const char *v = db_get(res, row, col);
	if (!v)
		return false;
	char *end;
	long long x = strtoll(v, &end, 10);
	if (*end)
		return false;
	*out = x;
	return true;
}

bool db_get_bool(const PGresult *res, int row, const char *col)
{
	const char *v = db_get(res, row, col);
	return v && v[0] == 't';
}
