/* migrate.h: the schema migrations compiled into the binary, and the runner.
 *
 * Every sql/migrations/NNNN_name.sql is embedded at build time (see
 * sql/embed.cmake) into migrate_files[], in name order, so cupd never reads
 * SQL files at run time. The version of a migration is its file name without
 * ".sql"; the applied versions are recorded in the table schema_migrations.
 *
 * A migration file may hold several statements but must not contain
 * transaction control (BEGIN, COMMIT) or anything PostgreSQL refuses inside a
 * transaction block (CREATE INDEX CONCURRENTLY, VACUUM): the runner applies
 * all pending files in one transaction. Files should still be idempotent
 * (IF NOT EXISTS) so a hand-applied or half-recorded schema does not wedge. */
#ifndef CUPD_MIGRATE_H
#define CUPD_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

/* One embedded migration. Both strings are static, NUL-terminated and never
 * freed. */
typedef struct migrate_file {
	const char *name; /* version, e.g. "0001_core" (no ".sql") */
	const char *sql;  /* the file's bytes */
} migrate_file;

/* Defined by the generated source of the cupd_migrations library: all
 * migrations, sorted by name, at least one. */
extern const migrate_file migrate_files[];
extern const size_t migrate_nfiles;

/* Brings the database behind conn up to the newest embedded migration.
 *
 * Blocking: call it before serving or from the CLI, never on an event loop.
 * conn must be an open connection not inside a transaction. In one
 * transaction it takes a transaction-level advisory lock (so two instances
 * starting together apply each migration once; the second waits, then finds
 * nothing to do), creates schema_migrations if missing, applies each file not
 * yet recorded in order and records it, then commits.
 *
 * For each applied migration one line "applied <version> (<ms> ms)" goes to
 * log unless log is NULL; nothing is written when the schema is up to date.
 * If applied is not NULL it receives the number of migrations applied (0 on
 * failure).
 *
 * On any error the transaction is rolled back, nothing is applied, a one-line
 * message naming the failing migration (or step) and PostgreSQL's error is
 * written to err (errlen bytes, always NUL-terminated when errlen > 0), and
 * false is returned. */
bool migrate_apply_count(PGconn *conn, FILE *log, size_t *applied, char *err, size_t errlen);

/* Same as migrate_apply_count() without the count. */
bool migrate_apply(PGconn *conn, FILE *log, char *err, size_t errlen);

#endif
