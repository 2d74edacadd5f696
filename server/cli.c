/* cli.c: operator subcommands (see cli.h). Blocking libpq throughout. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "migrate.h"
#include "password.h"
#include "xmem.h"
#include "cli_internal.h"


/* One line on stderr: "cupd <cmd>: <reason>". */
void cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "cupd %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- command-line options ---------------------------------------------- */


/* Accepts "--name value" and "--name=value" for every entry of opts, plus
 * --help/-h. Anything else (positional words, unknown options, a missing
 * value) prints one error line and gives PARSE_BAD. Own loop instead of
 * getopt_long: argv here has no program name and getopt keeps global state. */
parse_result cli_parse_opts(const char *cmd, const char *usage, int argc, char **argv,
                               const opt *opts, size_t nopts)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return PARSE_HELP;
		}
		if (strncmp(a, "--", 2) != 0) {
			cli_fail(cmd, "unexpected argument '%s' (try --help)", a);
			return PARSE_BAD;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const opt *o = NULL;
		for (size_t k = 0; k < nopts && !o; k++)
			if (strlen(opts[k].name) == len && !strncmp(opts[k].name, name, len))
				o = &opts[k];
		if (!o) {
			cli_fail(cmd, "unknown option '--%.*s' (try --help)", (int)len, name);
			return PARSE_BAD;
		}
		if (eq) {
			*o->value = eq + 1;
		} else if (i + 1 < argc) {
			*o->value = argv[++i];
		} else {
			cli_fail(cmd, "option --%s needs a value", o->name);
			return PARSE_BAD;
		}
	}
	return PARSE_OK;
}

bool cli_require(const char *cmd, const char *value, const char *name)
{
	if (value && *value)
		return true;
	cli_fail(cmd, "--%s is required (try --help)", name);
	return false;
}

static bool slug_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 63 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* A plausibility check, not RFC 5322: one '@' with text on both sides, no
 * whitespace or control characters. Delivery is what really validates. */
static bool email_valid(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n < 3 || n > 254 || !at || at == s || !at[1] || strchr(at + 1, '@'))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static bool role_valid(const char *r)
{
	return !strcmp(r, "owner") || !strcmp(r, "admin") || !strcmp(r, "member");
}

/* ---- database ---------------------------------------------------------- */

PGconn *cli_db_open(const cfg *c, const char *cmd)
{
	PGconn *conn = PQconnectdb(c->database_url ? c->database_url : "");
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *msg = PQerrorMessage(conn);
		cli_fail(cmd, "cannot connect to the database: %.*s", (int)strcspn(msg, "\n"), msg);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static void report_pg(const char *cmd, PGconn *conn, const PGresult *res)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (!msg) {
		msg = PQerrorMessage(conn);
		cli_fail(cmd, "database error: %.*s", (int)strcspn(msg, "\n"), msg);
	} else if (state && !strcmp(state, "42P01")) { /* undefined_table */
		cli_fail(cmd, "%s (run 'cupd migrate' first)", msg);
	} else {
		cli_fail(cmd, "%s", msg);
	}
}

/* Runs sql with n text parameters (NULL entries are SQL NULL). Returns the
 * result, owned by the caller, when the statement succeeded; otherwise
 * reports the error and returns NULL. */
PGresult *cli_q(PGconn *conn, const char *cmd, const char *sql, int n,
                   const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	report_pg(cmd, conn, res);
	PQclear(res);
	return NULL;
}

/* Parameter lists written inline: Q(conn, cmd, sql, p1, p2, ...) counts
 * them itself, so a call site cannot pass the wrong count. */
#define NPARAMS(...) ((int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)))
#define PARAMS(...) ((const char *const[]){ __VA_ARGS__ })
#define Q(conn, cmd, sql, ...) cli_q(conn, cmd, sql, NPARAMS(__VA_ARGS__), PARAMS(__VA_ARGS__))

/* Runs sql and discards the result; false (reported) on error. */
static bool run(PGconn *conn, const char *cmd, const char *sql, int n, const char *const *params)
{
	PGresult *res = cli_q(conn, cmd, sql, n, params);
	PQclear(res);
	return res != NULL;
}

#define RUN(conn, cmd, sql, ...) run(conn, cmd, sql, NPARAMS(__VA_ARGS__), PARAMS(__VA_ARGS__))

static bool tx_begin(PGconn *conn, const char *cmd)
{
	return run(conn, cmd, "BEGIN", 0, NULL);
}

static bool tx_commit(PGconn *conn, const char *cmd)
{
	return run(conn, cmd, "COMMIT", 0, NULL);
}

/* Safe to call in any state; a no-op outside a transaction. */
static void tx_rollback(PGconn *conn)
{
	if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
}

/* Returns an owned copy of column col of the first row; NULL if there is no
 * row or the value is SQL NULL. */
static char *first_value(const PGresult *res, int col)
{
	if (!res || PQntuples(res) < 1 || PQgetisnull(res, 0, col))
		return NULL;
	return xstrdup(PQgetvalue(res, 0, col));
}

/* ---- secrets ----------------------------------------------------------- */

static void secret_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* Strips one trailing "\n" or "\r\n". */
static void chomp(char *s)
{
	size_t n = strlen(s);
	if (n && s[n - 1] == '\n')
		s[--n] = '\0';
	if (n && s[n - 1] == '\r')
		s[--n] = '\0';
}

/* Reads the first line of f into an owned string ("" at EOF). NULL on a read
 * error. The caller frees it with secret_free(). */
static char *read_line(FILE *f)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n = getline(&buf, &cap, f);
	if (n < 0) {
		bool err = ferror(f);
		if (buf)
			OPENSSL_cleanse(buf, cap);
		free(buf);
		return err ? NULL : xstrdup("");
	}
	chomp(buf);
	return buf;
}

/* The terminal state to put back if a signal arrives while echo is off. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_echo_off;

static void restore_tty_and_die(int sig)
{
	if (tty_echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Prompts on stderr and reads one line from the terminal on stdin with echo
 * off. Returns an owned string (secret_free) or NULL on error. */
static char *prompt_hidden(const char *prompt)
{
	struct sigaction sa = { .sa_handler = restore_tty_and_die }, old_int, old_term, old_hup;
	struct termios quiet;
	char *line = NULL;

	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return NULL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
		tty_echo_off = 1;
		line = read_line(stdin);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_echo_off = 0;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return line;
}

/* Gets the password for cli_user_add(): first line of stdin, or prompted
 * twice on a terminal. "" means none given. NULL (reported) on error. */
static char *read_password(const char *cmd, bool existing)
{
	if (!isatty(STDIN_FILENO)) {
		char *pw = read_line(stdin);
		if (!pw)
			cli_fail(cmd, "cannot read the password from stdin: %s", strerror(errno));
		return pw;
	}
	char *pw = prompt_hidden(existing ? "New password (empty keeps the current one): "
	                                  : "Password: ");
	if (!pw) {
		cli_fail(cmd, "cannot read the password from the terminal");
		return NULL;
	}
	if (!*pw)
		return pw;
	char *again = prompt_hidden("Repeat password: ");
	if (!again || strcmp(pw, again) != 0) {
		cli_fail(cmd, "the passwords do not match");
		secret_free(pw);
		pw = NULL;
	}
	secret_free(again);
	return pw;
}

/* ---- cupd migrate ------------------------------------------------------ */

int cli_migrate(const cfg *c)
{
	char err[512];
	size_t applied = 0;
	int rc = EXIT_FAIL;
	PGconn *conn = cli_db_open(c, "migrate");

	if (!conn)
		return EXIT_FAIL;
	if (!migrate_apply_count(conn, stdout, &applied, err, sizeof err)) {
		cli_fail("migrate", "%s", err);
		goto out;
	}
	if (applied == 0)
		puts("schema up to date");
	rc = EXIT_OK;
out:
	PQfinish(conn);
	return rc;
}

/* ---- cupd org add ------------------------------------------------------ */

static const char ORG_ADD_USAGE[] =
	"usage: cupd org add --slug SLUG --name NAME\n"
	"\n"
	"Creates an organization. SLUG: 2-63 of a-z, 0-9 and '-', not starting\n"
	"with '-'; it appears in URLs and cannot be taken twice.\n";

static const char SQL_ORG_INSERT[] =
	"INSERT INTO orgs (slug, name) VALUES ($1, $2)"
	" ON CONFLICT (slug) DO NOTHING RETURNING id";

/* Audit rows written by the CLI: actor is the system, actor_id "cli". */
static const char SQL_AUDIT[] =
	"INSERT INTO audit_events (org_id, actor_kind, actor_id, action, target_kind, target_id, metadata)"
	" VALUES ($1, 'system', 'cli', $2, $3, $4, jsonb_strip_nulls(jsonb_build_object('role', $5::text)))";

int cli_org_add(const cfg *c, int argc, char **argv)
{
	const char *cmd = "org add", *slug = NULL, *name = NULL;
	const opt opts[] = { { "slug", &slug }, { "name", &name } };
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int rc = EXIT_FAIL;

	switch (cli_parse_opts(cmd, ORG_ADD_USAGE, argc, argv, opts, sizeof opts / sizeof opts[0])) {
	case PARSE_HELP: return EXIT_OK;
	case PARSE_BAD: return EXIT_USAGE;
	case PARSE_OK: break;
	}
	if (!cli_require(cmd, slug, "slug") || !cli_require(cmd, name, "name"))
		return EXIT_USAGE;
	if (!slug_valid(slug)) {
		cli_fail(cmd, "slug '%s' is not valid: use 2-63 of a-z, 0-9 and '-', not starting with '-'", slug);
		return EXIT_USAGE;
	}
	if (strlen(name) > 200) {
		cli_fail(cmd, "--name is longer than 200 bytes");
		return EXIT_USAGE;
	}

	if (!(conn = cli_db_open(c, cmd)) || !tx_begin(conn, cmd))
		goto out;
	if (!(res = Q(conn, cmd, SQL_ORG_INSERT, slug, name)))
		goto out;
	if (PQntuples(res) == 0) {
		cli_fail(cmd, "an org with slug '%s' already exists", slug);
		goto out;
	}
	const char *id = PQgetvalue(res, 0, 0);
	if (!RUN(conn, cmd, SQL_AUDIT, id, "org.create", "org", id, NULL) || !tx_commit(conn, cmd))
		goto out;
	printf("created org %s (%s)\n", slug, id);
	rc = EXIT_OK;
out:
	PQclear(res);
	tx_rollback(conn);
	PQfinish(conn);
	return rc;
}

/* ---- cupd user add ----------------------------------------------------- */

static const char USER_ADD_USAGE[] =
	"usage: cupd user add --email EMAIL --org SLUG --role owner|admin|member [--name NAME]\n"
	"\n"
	"Creates the user if needed and makes them a member of the org with ROLE\n"
	"(changing the role if they already are one). The password is read from\n"
	"stdin (first line), or prompted for on a terminal; never pass it as an\n"
	"argument. For an existing user, empty input keeps the current password;\n"
	"a new password signs the user out everywhere.\n"
	"\n"
	"  printf '%%s\\n' \"$PW\" | cupd user add --email ada@example.com --org acme --role admin\n";

static const char SQL_ORG_ID[] = "SELECT id FROM orgs WHERE slug = $1";

static const char SQL_USER_BY_EMAIL[] =
	"SELECT id, email FROM users WHERE lower(email) = lower($1)";

static const char SQL_USER_INSERT[] =
	"INSERT INTO users (email, name, password_hash) VALUES ($1, coalesce($2, ''), $3)"
	" ON CONFLICT ((lower(email))) DO NOTHING RETURNING id";

static const char SQL_USER_UPDATE[] =
	"UPDATE users SET name = coalesce($2, name), password_hash = coalesce($3, password_hash)"
	" WHERE id = $1";

/* A changed password ends every existing session of that user. */
static const char SQL_SESSIONS_REVOKE[] =
	"UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL";

static const char SQL_MEMBER_ROLE[] =
	"SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2 FOR UPDATE";

static const char SQL_MEMBER_UPSERT[] =
	"INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, $3)"
	" ON CONFLICT (org_id, user_id) DO UPDATE SET role = EXCLUDED.role";

typedef struct user_add_args {
	const char *email, *org, *role, *name;
} user_add_args;

/* The transaction of cli_user_add(). hash is NULL to keep the password. */
static bool user_add_tx(PGconn *conn, const char *cmd, const user_add_args *a,
                        const char *org_id, const char *hash)
{
	PGresult *res = NULL;
	char *user_id = NULL, *old_role = NULL;
	bool ok = false, created = false;

	if (!tx_begin(conn, cmd) || !(res = Q(conn, cmd, SQL_USER_INSERT, a->email, a->name, hash)))
		goto out;
	created = PQntuples(res) == 1;
	if (created) {
		user_id = first_value(res, 0);
	} else {
		PQclear(res);
		if (!(res = Q(conn, cmd, SQL_USER_BY_EMAIL, a->email)))
			goto out;
		if (!(user_id = first_value(res, 0))) {
			cli_fail(cmd, "user %s vanished during the update; try again", a->email);
			goto out;
		}
		if ((a->name || hash) && !RUN(conn, cmd, SQL_USER_UPDATE, user_id, a->name, hash))
			goto out;
		if (hash && !RUN(conn, cmd, SQL_SESSIONS_REVOKE, user_id))
			goto out;
	}
	PQclear(res);
	if (!(res = Q(conn, cmd, SQL_MEMBER_ROLE, org_id, user_id)))
		goto out;
	old_role = first_value(res, 0);
	if (!RUN(conn, cmd, SQL_MEMBER_UPSERT, org_id, user_id, a->role))
		goto out;

	if (created && !RUN(conn, cmd, SQL_AUDIT, org_id, "user.create", "user", user_id, NULL))
		goto out;
	if (!created && hash &&
	    !RUN(conn, cmd, SQL_AUDIT, org_id, "user.password_set", "user", user_id, NULL))
		goto out;
	if ((!old_role || strcmp(old_role, a->role)) &&
	    !RUN(conn, cmd, SQL_AUDIT, org_id, old_role ? "member.role_change" : "member.add",
	         "user", user_id, a->role))
		goto out;
	if (!tx_commit(conn, cmd))
		goto out;

	if (created)
		printf("created user %s (%s)\n", a->email, user_id);
	else if (hash)
		printf("set a new password for %s; existing sessions were signed out\n", a->email);
	if (!old_role)
		printf("%s is now %s of org %s\n", a->email, a->role, a->org);
	else if (strcmp(old_role, a->role))
		printf("%s: role in org %s changed from %s to %s\n", a->email, a->org, old_role, a->role);
	else
		printf("%s is already %s of org %s\n", a->email, a->role, a->org);
	ok = true;
out:
	PQclear(res);
	free(user_id);
	free(old_role);
	tx_rollback(conn);
	return ok;
}

int cli_user_add(const cfg *c, int argc, char **argv)
{
	const char *cmd = "user add";
	user_add_args a = { 0 };
	const opt opts[] = {
		{ "email", &a.email }, { "org", &a.org }, { "role", &a.role }, { "name", &a.name },
	};
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char *org_id = NULL, *pw = NULL, hash[PASSWORD_HASH_MAX];
	const char *why;
	int rc = EXIT_FAIL;

	switch (cli_parse_opts(cmd, USER_ADD_USAGE, argc, argv, opts, sizeof opts / sizeof opts[0])) {
	case PARSE_HELP: return EXIT_OK;
	case PARSE_BAD: return EXIT_USAGE;
	case PARSE_OK: break;
	}
	if (!cli_require(cmd, a.email, "email") || !cli_require(cmd, a.org, "org") ||
	    !cli_require(cmd, a.role, "role"))
		return EXIT_USAGE;
	if (!email_valid(a.email)) {
		cli_fail(cmd, "'%s' does not look like an email address", a.email);
		return EXIT_USAGE;
	}
	if (!role_valid(a.role)) {
		cli_fail(cmd, "role must be owner, admin or member, not '%s'", a.role);
		return EXIT_USAGE;
	}
	if (a.name && strlen(a.name) > 200) {
		cli_fail(cmd, "--name is longer than 200 bytes");
		return EXIT_USAGE;
	}

	/* Check the org and the user before asking for a password, so a typo
	 * is reported before anyone types a secret. */
	if (!(conn = cli_db_open(c, cmd)) || !(res = Q(conn, cmd, SQL_ORG_ID, a.org)))
		goto out;
	if (!(org_id = first_value(res, 0))) {
		cli_fail(cmd, "no org with slug '%s' (create it with 'cupd org add')", a.org);
		goto out;
	}
	PQclear(res);
	if (!(res = Q(conn, cmd, SQL_USER_BY_EMAIL, a.email)))
		goto out;
	bool existing = PQntuples(res) > 0;

	if (!(pw = read_password(cmd, existing)))
		goto out;
	if (!*pw && !existing) {
		cli_fail(cmd, "a new user needs a password on stdin");
		goto out;
	}
	if (*pw) {
		if (!password_acceptable(pw, &why)) {
			cli_fail(cmd, "password %s", why);
			goto out;
		}
		if (!password_hash(pw, hash, sizeof hash)) {
			cli_fail(cmd, "hashing the password failed");
			goto out;
		}
	}
	if (user_add_tx(conn, cmd, &a, org_id, *pw ? hash : NULL))
		rc = EXIT_OK;
out:
	OPENSSL_cleanse(hash, sizeof hash);
	secret_free(pw);
	free(org_id);
	PQclear(res);
	PQfinish(conn);
	return rc;
}

/* ---- cupd seed-demo: the data set -------------------------------------- */

#define DEMO_ORG_SLUG "demo"
#define DEMO_ORG_NAME "Demo Org"
#define DEMO_EMAIL "demo@example.com"
#define DEMO_USER_NAME "Demo User"
#define DEMO_PASSWORD_BYTES 18 /* 144 bits, 24 base64url characters */

/* Serialises concurrent seed-demo runs: the bytes of "cupdseed". */
#define SEED_LOCK_KEY "7166757958765077860"

typedef struct seed_project {
	const char *slug, *name;
} seed_project;

static const seed_project PROJECTS[] = {
	{ "web-app", "Web App" },
	{ "billing-worker", "Billing Worker" },
};

typedef struct seed_service {
	const char *slug, *name, *provider, *category, *url;
	const char *status, *error_rate, *samples; /* current service_status row */
} seed_service;

static const seed_service SERVICES[] = {
	{ "stripe", "Stripe", "stripe", "payments", "https://stripe.com",
	  "partial_outage", "0.184", "5210" },
	{ "aws-s3", "AWS S3", "aws", "storage", "https://aws.amazon.com/s3/",
	  "operational", "0.0004", "48213" },
	{ "github", "GitHub", "github", "source_control", "https://github.com",
	  "degraded", "0.031", "1290" },
	{ "twilio", "Twilio", "twilio", "messaging", "https://www.twilio.com",
	  "operational", "0", "842" },
	{ "sendgrid", "SendGrid", "twilio", "email", "https://sendgrid.com",
	  "operational", "0.002", "3377" },
};

typedef struct seed_edge {
	const char *project, *service;
} seed_edge;

static const seed_edge EDGES[] = {
	{ "web-app", "stripe" },         { "web-app", "aws-s3" },
	{ "web-app", "github" },         { "web-app", "sendgrid" },
	{ "billing-worker", "stripe" },  { "billing-worker", "aws-s3" },
	{ "billing-worker", "twilio" },  { "billing-worker", "sendgrid" },
};

/* Oldest first. reason doubles as the key that keeps a rerun from adding
 * the same entry twice. */
typedef struct seed_history {
	const char *service, *status, *ago, *reason;
} seed_history;

static const seed_history HISTORY[] = {
	{ "sendgrid", "major_outage", "1 day 3 hours",
	  "mail.send failing with 503 for 62% of calls" },
	{ "sendgrid", "operational", "1 day 1 hour", "Error rate back to 0.2%" },
	{ "github", "degraded", "2 hours", "Elevated 502s from api.github.com (3.1% of calls)" },
	{ "stripe", "degraded", "40 minutes", "p95 latency of charges.create above 4 s" },
	{ "stripe", "partial_outage", "25 minutes",
	  "Error rate of charges.create at 18% (threshold 10%)" },
};

typedef struct seed_incident {
	const char *service, *title, *status, *severity;
	const char *started_ago, *acked_ago, *resolved_ago; /* intervals; NULL = not yet */
	const char *notes[3];                                /* body, NULL-terminated */
	const char *note_ago[3];
} seed_incident;

static const seed_incident INCIDENTS[] = {
	{ "stripe", "Stripe charges failing intermittently", "investigating", "major",
	  "25 minutes", "20 minutes", NULL,
	  { "Error rate on charges.create jumped to about 18% in both web-app and "
	    "billing-worker. Stripe's status page shows no incident yet.",
	    "Retries with the same Idempotency-Key succeed on the second attempt. "
	    "Pausing the billing-worker invoice queue instead of failing invoices; "
	    "checkout keeps retrying with backoff.",
	    NULL },
	  { "18 minutes", "9 minutes", NULL } },
	{ "sendgrid", "SendGrid email delivery outage", "resolved", "critical",
	  "1 day 3 hours", "1 day 2 hours 55 minutes", "1 day 1 hour",
	  { "SendGrid confirmed a partial outage of the v3 mail send API. Password "
	    "reset and receipt emails queued for retry.",
	    NULL },
	  { "1 day 2 hours 40 minutes", NULL } },
};

typedef struct seed_runbook {
	const char *service, *title, *body;
} seed_runbook;

static const seed_runbook RUNBOOKS[] = {
	{ "stripe", "Stripe API errors or timeouts",
	  "# Stripe API errors or timeouts\n"
	  "\n"
	  "**When:** the `stripe` service is *degraded* or worse, or checkout reports\n"
	  "`api_connection_error` / HTTP 5xx from `api.stripe.com`.\n"
	  "\n"
	  "## 1. Confirm it is Stripe, not us\n"
	  "\n"
	  "- Check <https://status.stripe.com> and the error rate of `charges.create`\n"
	  "  in both projects. If only one project fails, suspect our deploy first.\n"
	  "- Look for `rate_limit` errors: those are ours to fix (batch the calls).\n"
	  "\n"
	  "## 2. Keep money safe\n"
	  "\n"
	  "1. Every write must carry an `Idempotency-Key`; retries are then safe.\n"
	  "2. Pause the `billing-worker` invoice queue:\n"
	  "   ```sh\n"
	  "   kubectl scale deploy/billing-worker --replicas=0\n"
	  "   ```\n"
	  "3. Leave checkout on (it retries with backoff), but post a banner if the\n"
	  "   error rate stays above 10% for 15 minutes.\n"
	  "\n"
	  "## 3. Recover\n"
	  "\n"
	  "- Scale `billing-worker` back up once the error rate is under 1% for 10 minutes.\n"
	  "- Reconcile: compare today's Stripe balance transactions with our\n"
	  "  `invoices` table and re-run any invoice stuck in `pending`.\n" },
	{ "aws-s3", "Rotate AWS S3 access keys",
	  "# Rotate AWS S3 access keys\n"
	  "\n"
	  "Do this every 90 days, and at once if a key may have leaked.\n"
	  "\n"
	  "1. Create a second key for the `web-app-uploads` IAM user:\n"
	  "   ```sh\n"
	  "   aws iam create-access-key --user-name web-app-uploads\n"
	  "   ```\n"
	  "2. Store it in the secret manager as `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY`\n"
	  "   and roll `web-app` and `billing-worker`.\n"
	  "3. Watch the `aws-s3` error rate for 15 minutes; `AccessDenied` means a\n"
	  "   pod still has the old key.\n"
	  "4. Deactivate (do not delete yet) the old key, wait a day, then delete it:\n"
	  "   ```sh\n"
	  "   aws iam update-access-key --user-name web-app-uploads \\\n"
	  "       --access-key-id AKIA... --status Inactive\n"
	  "   ```\n"
	  "\n"
	  "> If the key leaked, skip the waiting: deactivate first, then roll.\n" },
	{ "sendgrid", "Email delivery failing (SendGrid)",
	  "# Email delivery failing (SendGrid)\n"
	  "\n"
	  "**Symptoms:** `mail.send` returns 5xx or 429, users report missing\n"
	  "password-reset or receipt emails.\n"
	  "\n"
	  "## Triage\n"
	  "\n"
	  "| Error | Meaning | Action |\n"
	  "|-------|---------|--------|\n"
	  "| 401 / 403 | API key revoked or missing scope | rotate the key, check scopes |\n"
	  "| 429 | we hit the rate limit | lower worker concurrency |\n"
	  "| 5xx | SendGrid incident | see below |\n"
	  "\n"
	  "## During a SendGrid incident\n"
	  "\n"
	  "- Emails are queued and retried for 24 h; nothing is lost unless the queue\n"
	  "  overflows. Watch `email_queue_depth`.\n"
	  "- For password resets, show the \"email may be delayed\" notice.\n"
	  "- After recovery, check the queue drains and spot-check one receipt.\n" },
};

/* ---- cupd seed-demo: the code ------------------------------------------ */

static const char SEED_USAGE[] =
	"usage: cupd seed-demo [--password-file PATH]\n"
	"\n"
	"Creates the demo org \"demo\" with user " DEMO_EMAIL " (owner), two projects,\n"
	"five upstream services with status and history, two incidents and three\n"
	"runbooks. Safe to run again: existing rows are left as they are.\n"
	"The demo user's password is random; it is written to PATH (mode 0600)\n"
	"when the user is created and read back from PATH on later runs.\n";

static const char SQL_SEED_LOCK[] = "SELECT pg_advisory_xact_lock($1::bigint)";

/* Each "upsert" returns (id, inserted): the new row, or the existing one. A
 * data-modifying CTE's row is invisible to the rest of the statement, so
 * exactly one branch yields a row. */
static const char SQL_SEED_ORG[] =
	"WITH ins AS (INSERT INTO orgs (slug, name) VALUES ($1, $2)"
	"  ON CONFLICT (slug) DO NOTHING RETURNING id)"
	" SELECT id, true FROM ins UNION ALL SELECT id, false FROM orgs WHERE slug = $1 LIMIT 1";

static const char SQL_SEED_USER_GET[] =
	"SELECT id, password_hash FROM users WHERE lower(email) = lower($1)";

static const char SQL_SEED_USER_ADD[] =
	"INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id";

static const char SQL_SEED_MEMBER[] =
	"INSERT INTO org_members (org_id, user_id, role) VALUES ($1, $2, 'owner')"
	" ON CONFLICT (org_id, user_id) DO NOTHING";

static const char SQL_SEED_PROJECT[] =
	"WITH ins AS (INSERT INTO projects (org_id, slug, name) VALUES ($1, $2, $3)"
	"  ON CONFLICT (org_id, slug) DO NOTHING RETURNING id)"
	" SELECT id, true FROM ins UNION ALL"
	" SELECT id, false FROM projects WHERE org_id = $1 AND slug = $2 LIMIT 1";

static const char SQL_SEED_SERVICE[] =
	"WITH ins AS (INSERT INTO services (org_id, slug, name, provider, category, homepage_url)"
	"  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, slug) DO NOTHING RETURNING id)"
	" SELECT id, true FROM ins UNION ALL"
	" SELECT id, false FROM services WHERE org_id = $1 AND slug = $2 LIMIT 1";

static const char SQL_SEED_STATUS[] =
	"INSERT INTO service_status (service_id, status, error_rate, sample_count)"
	" VALUES ($1, $2, $3, $4) ON CONFLICT (service_id) DO NOTHING";

static const char SQL_SEED_HISTORY[] =
	"INSERT INTO service_status_history (service_id, status, changed_at, reason)"
	" SELECT $1::uuid, $2::text, now() - $3::interval, $4::text WHERE NOT EXISTS"
	" (SELECT 1 FROM service_status_history WHERE service_id = $1::uuid AND reason = $4::text)";

static const char SQL_SEED_EDGE[] =
	"INSERT INTO project_services (org_id, project_id, service_id) VALUES ($1, $2, $3)"
	" ON CONFLICT (project_id, service_id) DO NOTHING";

/* $1 org, $2 service, $3 title, $4 status, $5 severity, $6..$8 intervals
 * ago (started, acknowledged, resolved; NULL = not yet), $9 user. */
static const char SQL_SEED_INCIDENT[] =
	"WITH ins AS (INSERT INTO incidents (org_id, service_id, title, status, severity,"
	"  started_at, acknowledged_at, acknowledged_by, resolved_at, created_by, created_at)"
	"  SELECT $1::uuid, $2::uuid, $3::text, $4::text, $5::text, now() - $6::interval,"
	"   now() - $7::interval, CASE WHEN $7::interval IS NOT NULL THEN $9::uuid END,"
	"   now() - $8::interval, $9::uuid, now() - $6::interval"
	"  WHERE NOT EXISTS (SELECT 1 FROM incidents WHERE org_id = $1::uuid AND title = $3::text)"
	"  RETURNING id)"
	" SELECT id, true FROM ins UNION ALL"
	" SELECT id, false FROM incidents WHERE org_id = $1::uuid AND title = $3::text LIMIT 1";

static const char SQL_SEED_NOTE[] =
	"INSERT INTO incident_notes (incident_id, author_id, body, created_at)"
	" SELECT $1::uuid, $2::uuid, $3::text, now() - $4::interval WHERE NOT EXISTS"
	" (SELECT 1 FROM incident_notes WHERE incident_id = $1::uuid AND body = $3::text)";

static const char SQL_SEED_RUNBOOK[] =
	"INSERT INTO runbooks (org_id, service_id, title, body, created_by)"
	" SELECT $1::uuid, $2::uuid, $3::text, $4::text, $5::uuid WHERE NOT EXISTS"
	" (SELECT 1 FROM runbooks WHERE org_id = $1::uuid AND title = $3::text)";

/* State of one seed-demo run. Strings are owned unless noted. */
typedef struct seed_ctx {
	PGconn *conn;                                   /* borrowed */
	const char *cmd;
	char *org_id, *user_id;
	char *user_hash;                                /* stored hash of an existing user */
	char *password;                                 /* new user's password (secret_free) */
	char *project_ids[sizeof PROJECTS / sizeof PROJECTS[0]];
	char *service_ids[sizeof SERVICES / sizeof SERVICES[0]];
	long added;                                     /* rows inserted by this run */
} seed_ctx;

static void seed_ctx_cleanup(seed_ctx *s)
{
	free(s->org_id);
	free(s->user_id);
	free(s->user_hash);
	secret_free(s->password);
	for (size_t i = 0; i < sizeof s->project_ids / sizeof s->project_ids[0]; i++)
		free(s->project_ids[i]);
	for (size_t i = 0; i < sizeof s->service_ids / sizeof s->service_ids[0]; i++)
		free(s->service_ids[i]);
}

/* Runs an upsert returning (id, inserted); stores the owned id in *id. */
static bool seed_upsert(seed_ctx *s, const char *sql, int n, const char *const *params, char **id)
{
	PGresult *res = cli_q(s->conn, s->cmd, sql, n, params);
	if (!res)
		return false;
	*id = first_value(res, 0);
	if (*id && !strcmp(PQgetvalue(res, 0, 1), "t"))
		s->added++;
	PQclear(res);
	if (!*id)
		cli_fail(s->cmd, "a demo row could not be created or found");
	return *id != NULL;
}

#define UPSERT(s, sql, id, ...) seed_upsert(s, sql, NPARAMS(__VA_ARGS__), PARAMS(__VA_ARGS__), id)

/* Runs an INSERT that may do nothing; counts the rows it added. */
static bool seed_insert(seed_ctx *s, const char *sql, int n, const char *const *params)
{
	PGresult *res = cli_q(s->conn, s->cmd, sql, n, params);
	if (!res)
		return false;
	s->added += strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return true;
}

#define INSERT(s, sql, ...) seed_insert(s, sql, NPARAMS(__VA_ARGS__), PARAMS(__VA_ARGS__))

static const char *service_id(const seed_ctx *s, const char *slug)
{
	for (size_t i = 0; i < sizeof SERVICES / sizeof SERVICES[0]; i++)
		if (!strcmp(SERVICES[i].slug, slug))
			return s->service_ids[i];
	return NULL;
}

static const char *project_id(const seed_ctx *s, const char *slug)
{
	for (size_t i = 0; i < sizeof PROJECTS / sizeof PROJECTS[0]; i++)
		if (!strcmp(PROJECTS[i].slug, slug))
			return s->project_ids[i];
	return NULL;
}

/* A random password: DEMO_PASSWORD_BYTES from RAND_bytes, base64url without
 * padding. Owned by the caller (secret_free); NULL if RAND_bytes fails. */
static char *random_password(void)
{
	unsigned char raw[DEMO_PASSWORD_BYTES];
	char *out = xmalloc(4 * ((sizeof raw + 2) / 3) + 1);

	if (RAND_bytes(raw, sizeof raw) != 1) {
		free(out);
		return NULL;
	}
	int n = EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
	OPENSSL_cleanse(raw, sizeof raw);
	for (int i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
		else if (out[i] == '=')
			out[i] = '\0';
	}
	return out;
}

/* The demo org and its owner. Creates the user with a fresh password when
 * missing (kept in s->password), else remembers the stored hash. */
static bool seed_org_and_user(seed_ctx *s)
{
	PGresult *res = NULL;
	char hash[PASSWORD_HASH_MAX];
	bool ok = false;

	if (!UPSERT(s, SQL_SEED_ORG, &s->org_id, DEMO_ORG_SLUG, DEMO_ORG_NAME))
		goto out;
	if (!(res = Q(s->conn, s->cmd, SQL_SEED_USER_GET, DEMO_EMAIL)))
		goto out;
	if (PQntuples(res) == 1) {
		s->user_id = first_value(res, 0);
		s->user_hash = first_value(res, 1);
	} else {
		if (!(s->password = random_password()) ||
		    !password_hash(s->password, hash, sizeof hash)) {
			cli_fail(s->cmd, "could not generate the demo password");
			goto out;
		}
		PQclear(res);
		if (!(res = Q(s->conn, s->cmd, SQL_SEED_USER_ADD, DEMO_EMAIL, DEMO_USER_NAME, hash)))
			goto out;
		s->user_id = first_value(res, 0);
		s->added++;
	}
	ok = INSERT(s, SQL_SEED_MEMBER, s->org_id, s->user_id);
out:
	OPENSSL_cleanse(hash, sizeof hash);
	PQclear(res);
	return ok;
}

/* Projects, services with their status and history, and the edges. */
static bool seed_catalog(seed_ctx *s)
{
	for (size_t i = 0; i < sizeof PROJECTS / sizeof PROJECTS[0]; i++) {
		const seed_project *p = &PROJECTS[i];
		if (!UPSERT(s, SQL_SEED_PROJECT, &s->project_ids[i], s->org_id, p->slug, p->name))
			return false;
	}
	for (size_t i = 0; i < sizeof SERVICES / sizeof SERVICES[0]; i++) {
		const seed_service *v = &SERVICES[i];
		if (!UPSERT(s, SQL_SEED_SERVICE, &s->service_ids[i], s->org_id, v->slug, v->name,
		            v->provider, v->category, v->url) ||
		    !INSERT(s, SQL_SEED_STATUS, s->service_ids[i], v->status, v->error_rate, v->samples))
			return false;
	}
	for (size_t i = 0; i < sizeof HISTORY / sizeof HISTORY[0]; i++) {
		const seed_history *h = &HISTORY[i];
		if (!INSERT(s, SQL_SEED_HISTORY, service_id(s, h->service), h->status, h->ago, h->reason))
			return false;
	}
	for (size_t i = 0; i < sizeof EDGES / sizeof EDGES[0]; i++) {
		const seed_edge *e = &EDGES[i];
		if (!INSERT(s, SQL_SEED_EDGE, s->org_id, project_id(s, e->project),
		            service_id(s, e->service)))
			return false;
	}
	return true;
}

static bool seed_incidents_and_runbooks(seed_ctx *s)
{
	for (size_t i = 0; i < sizeof INCIDENTS / sizeof INCIDENTS[0]; i++) {
		const seed_incident *in = &INCIDENTS[i];
		char *id = NULL;
		if (!UPSERT(s, SQL_SEED_INCIDENT, &id, s->org_id, service_id(s, in->service), in->title,
		            in->status, in->severity, in->started_ago, in->acked_ago, in->resolved_ago,
		            s->user_id))
			return false;
		bool ok = true;
		for (size_t k = 0; ok && in->notes[k]; k++)
			ok = INSERT(s, SQL_SEED_NOTE, id, s->user_id, in->notes[k], in->note_ago[k]);
		free(id);
		if (!ok)
			return false;
	}
	for (size_t i = 0; i < sizeof RUNBOOKS / sizeof RUNBOOKS[0]; i++) {
		const seed_runbook *r = &RUNBOOKS[i];
		if (!INSERT(s, SQL_SEED_RUNBOOK, s->org_id, service_id(s, r->service), r->title, r->body,
		            s->user_id))
			return false;
	}
	return true;
}

/* Writes secret + "\n" to a fresh file "<path>.tmp" with mode 0600 and
 * returns its owned name, or NULL (reported). rename() publishes it. */
static char *write_secret_tmp(const char *cmd, const char *path, const char *secret)
{
	size_t n = strlen(path) + sizeof ".tmp";
	char *tmp = xmalloc(n);
	snprintf(tmp, n, "%s.tmp", path);

	unlink(tmp); /* a leftover may have other owners or modes */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	bool ok = fd >= 0;
	if (ok) {
		size_t len = strlen(secret);
		ok = write(fd, secret, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
		ok = close(fd) == 0 && ok;
	}
	if (!ok) {
		cli_fail(cmd, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

/* First line of path, owned (secret_free), or NULL if unreadable. */
static char *read_secret_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return NULL;
	}
	char *line = read_line(f);
	fclose(f);
	return line;
}

/* After COMMIT: show the demo login when the password is known. */
static void seed_report_login(const seed_ctx *s, const char *path)
{
	if (s->password) {
		printf("demo login: %s / %s\n", DEMO_EMAIL, s->password);
		if (!path)
			fprintf(stderr, "cupd seed-demo: note: without --password-file this password "
			                "is not stored anywhere\n");
		return;
	}
	if (!path)
		return;
	char *pw = read_secret_file(path);
	if (pw && s->user_hash && password_verify(s->user_hash, pw))
		printf("demo login: %s / %s\n", DEMO_EMAIL, pw);
	else
		fprintf(stderr, "cupd seed-demo: note: %s does not hold the demo user's current "
		                "password; set one with 'cupd user add --email %s --org %s --role owner'\n",
		        path, DEMO_EMAIL, DEMO_ORG_SLUG);
	secret_free(pw);
}

int cli_seed_demo(const cfg *c, int argc, char **argv)
{
	const char *cmd = "seed-demo", *path = NULL;
	const opt opts[] = { { "password-file", &path } };
	seed_ctx s = { .cmd = cmd };
	char *tmp = NULL;
	bool committed = false;
	int rc = EXIT_FAIL;

	switch (cli_parse_opts(cmd, SEED_USAGE, argc, argv, opts, sizeof opts / sizeof opts[0])) {
	case PARSE_HELP: return EXIT_OK;
	case PARSE_BAD: return EXIT_USAGE;
	case PARSE_OK: break;
	}
	if (path && !*path) {
		cli_fail(cmd, "--password-file needs a path");
		return EXIT_USAGE;
	}

	if (!(s.conn = cli_db_open(c, cmd)) || !tx_begin(s.conn, cmd) ||
	    !RUN(s.conn, cmd, SQL_SEED_LOCK, SEED_LOCK_KEY) ||
	    !seed_org_and_user(&s) || !seed_catalog(&s) || !seed_incidents_and_runbooks(&s))
		goto out;
	/* The file is written before COMMIT and renamed after it: a failed
	 * write aborts the seed instead of leaving a user nobody can log in as,
	 * and a failed COMMIT leaves no file describing a user that does not
	 * exist. */
	if (s.password && path && !(tmp = write_secret_tmp(cmd, path, s.password)))
		goto out;
	if (!tx_commit(s.conn, cmd))
		goto out;
	committed = true;
	if (tmp && rename(tmp, path) != 0) {
		cli_fail(cmd, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}

	if (s.added)
		printf("seeded org %s: %ld rows added\n", DEMO_ORG_SLUG, s.added);
	else
		printf("demo data already present, nothing changed\n");
	seed_report_login(&s, path);
	rc = EXIT_OK;
out:
	/* After a failed rename the committed password stays in tmp, whose name
	 * the error line gave; before COMMIT it describes nobody. */
	if (tmp && !committed)
		unlink(tmp);
	tx_rollback(s.conn);
	free(tmp);
	seed_ctx_cleanup(&s);
	PQfinish(s.conn);
	return rc;
}
