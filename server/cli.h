/* cli.h: the operator subcommands (cupd migrate, org add, user add, seed-demo).
 *
 * main() loads the configuration and then calls one of these. Each connects
 * with blocking libpq to c->database_url (correct here: nothing else runs in
 * the process), does its work in one transaction, closes the connection and
 * returns the process exit status:
 *   0  success (also after --help, which prints usage on stdout),
 *   1  the work failed (database unreachable, duplicate, unknown org, ...),
 *   2  bad command line.
 * Every failure prints exactly one line "cupd <command>: <reason>" on
 * stderr. argv holds only the options after the subcommand words (no program
 * name) and is not modified. No function prints or logs a password, except
 * cli_seed_demo()'s "demo login:" line, which exists to show one. */
#ifndef CUPD_CLI_H
#define CUPD_CLI_H

#include "config.h"

/* cupd migrate: applies pending migrations (see migrate.h), printing one line
 * per applied migration, or "schema up to date" when there were none. */
int cli_migrate(const cfg *c);

/* cupd org add --slug S --name N: creates an org. The slug must match
 * ^[a-z0-9][a-z0-9-]{1,62}$; an existing slug is an error (status 1). */
int cli_org_add(const cfg *c, int argc, char **argv);

/* cupd user add --email E --org S --role owner|admin|member [--name N]:
 * creates the user if no user has that email (case-insensitively) and makes
 * them a member of org S with the role (updating the role if already a
 * member). The password is the first line of stdin (trailing newline
 * stripped), never an argument; on a terminal it is prompted for twice with
 * echo off. For an existing user an empty stdin leaves the password alone; a
 * non-empty one replaces it and signs the user out of every session. A new
 * user needs a password. An unknown org is an error (status 1). */
int cli_user_add(const cfg *c, int argc, char **argv);

/* cupd seed-demo [--password-file PATH]: creates demo data for org "demo"
 * (owner demo@example.com, projects, upstream services with status and
 * history, dependency edges, incidents with notes, runbooks). Idempotent: a
 * second run adds and changes nothing. When it creates the demo user it
 * generates a random password, writes it to PATH (mode 0600) and prints
 * "demo login: demo@example.com / <password>"; on later runs it reads PATH
 * back and prints the same line if the password still matches. */
int cli_seed_demo(const cfg *c, int argc, char **argv);

/* `cupd token create ...` (argv after "token"): prints a new API Token once. */
int cli_token(const cfg *c, int argc, char **argv);

/* `cupd sdk-key create ...` (argv after "sdk-key"): prints a new SDK Key once. */
int cli_sdk_key(const cfg *c, int argc, char **argv);

/* `cupd keys rotate` (argv after "keys"): a new signing key now (cli_keys.c). */
int cli_keys(const cfg *c, int argc, char **argv);

#endif
