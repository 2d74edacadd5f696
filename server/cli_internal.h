/* cli_internal.h: helpers shared by the CLI's command files (cli.c,
 * cli_creds.c). Not part of the CLI's interface; main.c uses cli.h. */
#ifndef CUPD_CLI_INTERNAL_H
#define CUPD_CLI_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct opt {
	const char *name;   /* without the leading "--" */
	const char **value; /* set to the borrowed argv string */
} opt;

typedef enum { PARSE_OK, PARSE_HELP, PARSE_BAD } parse_result;

/* One line on stderr: "cupd <cmd>: <reason>". */
void cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Accepts "--name value" and "--name=value" for every entry of opts, plus
 * --help/-h (prints usage). Anything else prints one error: PARSE_BAD. */
parse_result cli_parse_opts(const char *cmd, const char *usage, int argc, char **argv, const opt *opts,
                            size_t nopts);

/* True when value is non-empty; otherwise reports "--name is required". */
bool cli_require(const char *cmd, const char *value, const char *name);

/* Blocking connection for the CLI, or NULL after reporting why. */
PGconn *cli_db_open(const cfg *c, const char *cmd);

/* Runs sql with n text parameters (NULL = SQL NULL); the result (caller
 * frees) on success, NULL after reporting the error. */
PGresult *cli_q(PGconn *conn, const char *cmd, const char *sql, int n, const char *const *params);

#endif
