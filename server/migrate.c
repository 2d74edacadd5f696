/* migrate.c: applies the embedded migrations in one locked transaction. */
#include "migrate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmem.h"

/* Advisory lock key, the bytes of "cupdmigr" as a big-endian int64. Fixed
 * forever: instances of different versions must still exclude each other. */
#define MIGRATE_LOCK_KEY "7166757958664677234"

#define OID_INT8 20
#define OID_TEXT 25

static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock($1)";

static const char SQL_CREATE_TABLE[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version text PRIMARY KEY,"
	" applied_at timestamptz NOT NULL DEFAULT now())";

static const char SQL_APPLIED[] = "SELECT version FROM schema_migrations";

static const char SQL_RECORD[] = "INSERT INTO schema_migrations (version) VALUES ($1)";

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Turns PostgreSQL's 1-based character offset into sql into a line number,
 * so an error in a long migration points at the line to fix. */
static long line_of(const char *sql, long pos)
{
	long line = 1, chars = 0;
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
		if ((*p & 0xC0) == 0x80) /* UTF-8 continuation byte, same character */
			continue;
		if (++chars >= pos)
			break;
		if (*p == '\n')
			line++;
	}
	return line;
}

/* Writes "<what>: <primary message> (SQLSTATE xxxxx[, line N])" to err.
 * sql, when given, is the text the statement position refers to. */
static void pg_err(char *err, size_t errlen, const char *what, PGconn *conn,
                   const PGresult *res, const char *sql)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	char where[48] = "";

	if (!msg) {
		/* No server error (e.g. lost connection): libpq's text, first line. */
		msg = PQerrorMessage(conn);
		size_t n = strcspn(msg, "\n");
		set_err(err, errlen, "%s: %.*s", what, (int)n, msg);
		return;
	}
	if (sql && pos)
		snprintf(where, sizeof where, ", line %ld", line_of(sql, strtol(pos, NULL, 10)));
	set_err(err, errlen, "%s: %s (SQLSTATE %s%s)", what, msg, state ? state : "?????", where);
}

/* Runs a statement without parameters; true if its status is one of the
 * expected ones. On failure fills err and returns false. */
static bool exec_plain(PGconn *conn, const char *sql, const char *what,
                       char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
	if (!ok)
		pg_err(err, errlen, what, conn, res, sql);
	PQclear(res);
	return ok;
}

static bool exec_one_param(PGconn *conn, const char *sql, Oid type, const char *value,
                           const char *what, char *err, size_t errlen)
{
	const char *params[1] = { value };
	PGresult *res = PQexecParams(conn, sql, 1, &type, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		pg_err(err, errlen, what, conn, res, NULL);
	PQclear(res);
	return ok;
}

static bool is_applied(const PGresult *done, const char *version)
{
	for (int i = 0, n = PQntuples(done); i < n; i++)
		if (strcmp(PQgetvalue(done, i, 0), version) == 0)
			return true;
	return false;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool migrate_apply_count(PGconn *conn, FILE *log, size_t *applied, char *err, size_t errlen)
{
	bool ok = false, in_tx = false;
	PGresult *done = NULL;
	double *ms = xcalloc(migrate_nfiles, sizeof *ms); /* < 0: not applied now */
	size_t count = 0;

	set_err(err, errlen, "%s", "");
	if (applied)
		*applied = 0;
	for (size_t i = 0; i < migrate_nfiles; i++)
		ms[i] = -1;

	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		set_err(err, errlen, "migrate: no database connection");
		goto out;
	}
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		set_err(err, errlen, "migrate: connection is already inside a transaction");
		goto out;
	}

	if (!exec_plain(conn, "BEGIN", "migrate: begin", err, errlen))
		goto out;
	in_tx = true;
	/* IF NOT EXISTS raises NOTICEs that libpq would print to stderr. */
	if (!exec_plain(conn, "SET LOCAL client_min_messages = warning", "migrate: set", err, errlen))
		goto out;
	if (!exec_one_param(conn, SQL_LOCK, OID_INT8, MIGRATE_LOCK_KEY, "migrate: advisory lock",
	                    err, errlen))
		goto out;
	if (!exec_plain(conn, SQL_CREATE_TABLE, "migrate: create schema_migrations", err, errlen))
		goto out;

	done = PQexec(conn, SQL_APPLIED);
	if (PQresultStatus(done) != PGRES_TUPLES_OK) {
		pg_err(err, errlen, "migrate: read schema_migrations", conn, done, NULL);
		goto out;
	}

	for (size_t i = 0; i < migrate_nfiles; i++) {
		const migrate_file *f = &migrate_files[i];
		char what[128];

		if (is_applied(done, f->name))
			continue;
		snprintf(what, sizeof what, "%s.sql", f->name);
		double t0 = now_ms();
		if (!exec_plain(conn, f->sql, what, err, errlen))
			goto out;
		if (!exec_one_param(conn, SQL_RECORD, OID_TEXT, f->name, what, err, errlen))
			goto out;
		ms[i] = now_ms() - t0;
		count++;
	}

	if (!exec_plain(conn, "COMMIT", "migrate: commit", err, errlen))
		goto out;
	in_tx = false;

	/* Reported only after COMMIT so the log never claims what was undone. */
	for (size_t i = 0; log && i < migrate_nfiles; i++)
		if (ms[i] >= 0)
			fprintf(log, "applied %s (%.0f ms)\n", migrate_files[i].name, ms[i]);
	if (log)
		fflush(log);
	if (applied)
		*applied = count;
	ok = true;
out:
	/* A failed COMMIT has already ended the transaction; never roll back a
	 * transaction this function did not open. */
	if (in_tx && PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	PQclear(done);
	free(ms);
	return ok;
}

bool migrate_apply(PGconn *conn, FILE *log, char *err, size_t errlen)
{
	return migrate_apply_count(conn, log, NULL, err, errlen);
}
