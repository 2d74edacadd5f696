/* db.h: non-blocking PostgreSQL for the event loops.
 *
 * Each worker owns one db_pool: a few libpq connections driven by socket
 * events on that worker's event_base, plus a bounded FIFO of queries waiting
 * for a free connection. Nothing here ever blocks the loop. Statements are
 * prepared lazily, once per connection, the first time they run there.
 *
 * Contract of db_query: when it returns DB_OK the callback runs exactly once,
 * later, on the pool's loop; any other return means the callback never runs
 * and the caller answers (typically 503) itself. While the database is down
 * every call fails fast with DB_UNAVAILABLE; lost connections are re-opened
 * with backoff, and service resumes by itself. */
#ifndef CUPD_DB_H
#define CUPD_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct event_base;

typedef struct db_pool db_pool;

/* A named statement. Define them as static const objects next to the code
 * that runs them; the pool prepares each once per connection. */
typedef struct db_stmt {
	const char *name;     /* unique server-side name, e.g. "health_ping" */
	const char *sql;      /* with $1..$n parameters; never built from input */
	int nparams;
} db_stmt;

typedef enum {
	DB_OK = 0,
	DB_UNAVAILABLE,   /* no connection to the database, or the wait timed out */
	DB_OVERLOADED,    /* the wait queue is full */
	DB_ERROR,         /* the statement failed; see sqlstate/message */
} db_status;

typedef struct db_result {
	db_status status;
	const PGresult *res;   /* DB_OK: the statement's result; borrowed for the callback only */
	const char *sqlstate;  /* DB_ERROR: five-character SQLSTATE, else "" */
	const char *message;   /* DB_ERROR/DB_UNAVAILABLE: why, for logs (never shown to clients) */
} db_result;

typedef void (*db_done_fn)(const db_result *result, void *arg);

typedef struct db_options {
	int pool_size;
	int queue_max;
	int queue_timeout_ms;
	int statement_timeout_ms;
} db_options;

/* Creates the pool and starts connecting (asynchronously). conninfo is copied. */
db_pool *db_pool_new(struct event_base *base, const char *conninfo, const db_options *opt);

/* Closes every connection. Queued callbacks are dropped without running, so
 * call this only after the loop has stopped serving requests. */
void db_pool_free(db_pool *p);

/* Runs st with params (text; NULL = SQL NULL; copied) — see the contract above. */
db_status db_query(db_pool *p, const db_stmt *st, const char *const *params, db_done_fn cb, void *arg)
	__attribute__((warn_unused_result));

/* True while at least one connection is open. */
bool db_pool_up(const db_pool *p);

/* ---- result helpers (borrowed strings, valid during the callback) ---- */
int db_rows(const PGresult *res);
/* Value of column col (by name) in row, or NULL for SQL NULL / unknown column. */
const char *db_get(const PGresult *res, int row, const char *col);
bool db_get_i64(const PGresult *res, int row, const char *col, int64_t *out);
bool db_get_bool(const PGresult *res, int row, const char *col);

/* SQLSTATE classes callers branch on. */
#define DB_UNIQUE_VIOLATION "23505"
#define DB_FOREIGN_KEY_VIOLATION "23503"
#define DB_CHECK_VIOLATION "23514"
#define DB_INVALID_TEXT "22P02"

#endif
