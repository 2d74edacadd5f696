/* cli_creds.c: `cupd token create` and `cupd sdk-key create` for operators,
 * scripts and tests. The secret goes to stdout once, alone on its line;
 * everything else goes to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cli.h"
#include "cli_internal.h"
#include "creds.h"
#include "xmem.h"

static const char TOKEN_USAGE[] =
	"usage: cupd token create --org SLUG --user EMAIL --name NAME [--scopes read|write|admin]\n"
	"                         [--expires-in-days D | --never-expires yes]\n"
	"Creates an API Token acting as USER in ORG and prints it once on stdout.\n"
	"Scopes are hierarchical (read < write < admin); a list like read,write means its highest.\n"
	"Expiry defaults to 90 days, at most 365.\n";

/* "read,write" → the highest listed; NONE on an unknown word. */
static auth_scope parse_scopes(const char *list)
{
	auth_scope best = AUTH_SCOPE_NONE;
	char *copy = xstrdup(list), *save = NULL;
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		auth_scope s = auth_scope_parse(t);
		if (s == AUTH_SCOPE_NONE) {
			best = AUTH_SCOPE_NONE;
			break;
		}
		if (s > best)
			best = s;
	}
	free(copy);
	return best;
}

static const char SQL_TOKEN_CONTEXT[] =
	"SELECT o.id AS org_id, u.id AS user_id, m.role FROM orgs o CROSS JOIN users u "
	"LEFT JOIN org_members m ON m.org_id = o.id AND m.user_id = u.id "
	"WHERE o.slug = $1 AND lower(u.email) = lower($2)";

static const char SQL_TOKEN_INSERT[] =
	"WITH t AS (INSERT INTO api_tokens (org_id, user_id, name, scope, token_hash, display_prefix, expires_at) "
	"  VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, "
	"    CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(days => $7::int) END) "
	"  RETURNING id, expires_at), "
	"a AS (INSERT INTO audit_events (org_id, actor_kind, actor_id, action, target_kind, target_id, metadata) "
	"  SELECT $1, 'system', 'cli', 'api_token.create', 'api_token', t.id::text, "
	"    jsonb_build_object('name', $3::text, 'scope', $4::text) FROM t) "
	"SELECT id, coalesce(to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'never') "
	"  AS expires FROM t";

static int token_create(const cfg *c, int argc, char **argv)
{
	const char *cmd = "token create";
	const char *org = NULL, *user = NULL, *name = NULL, *scopes = "read", *days = NULL, *never = NULL;
	const opt opts[] = { { "org", &org }, { "user", &user }, { "name", &name }, { "scopes", &scopes },
	                     { "expires-in-days", &days }, { "never-expires", &never } };
	parse_result pr = cli_parse_opts(cmd, TOKEN_USAGE, argc, argv, opts, sizeof opts / sizeof opts[0]);
	if (pr != PARSE_OK)
		return pr == PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if (!cli_require(cmd, org, "org") || !cli_require(cmd, user, "user") || !cli_require(cmd, name, "name"))
		return EXIT_USAGE;
	auth_scope scope = parse_scopes(scopes);
	if (scope == AUTH_SCOPE_NONE) {
		cli_fail(cmd, "--scopes must list read, write or admin");
		return EXIT_USAGE;
	}
	if (strlen(name) > 100) {
		cli_fail(cmd, "--name must be at most 100 characters");
		return EXIT_USAGE;
	}
	char days_buf[8] = "90";
	const char *days_param = days_buf;
	if (never && strcmp(never, "yes") != 0) {
		cli_fail(cmd, "--never-expires takes the word yes, to confirm a token that never expires");
		return EXIT_USAGE;
	}
	if (never && days) {
		cli_fail(cmd, "give either --expires-in-days or --never-expires, not both");
		return EXIT_USAGE;
	}
	if (never) {
		days_param = NULL;
	} else if (days) {
		char *end;
		long d = strtol(days, &end, 10);
		if (*end || end == days || d < 1 || d > 365) {
			cli_fail(cmd, "--expires-in-days must be from 1 to 365 (or confirm --never-expires yes)");
			return EXIT_USAGE;
		}
		snprintf(days_buf, sizeof days_buf, "%ld", d);
	}

	int rc = EXIT_FAIL;
	PGresult *ctx = NULL, *ins = NULL;
	PGconn *conn = cli_db_open(c, cmd);
	if (!conn)
		return EXIT_FAIL;
	const char *p1[] = { org, user };
	if (!(ctx = cli_q(conn, cmd, SQL_TOKEN_CONTEXT, 2, p1)))
		goto out;
	if (PQntuples(ctx) != 1) {
		cli_fail(cmd, "no org '%s' or no user '%s'", org, user);
		goto out;
	}
	const char *role = PQgetisnull(ctx, 0, 2) ? NULL : PQgetvalue(ctx, 0, 2);
	if (!role) {
		cli_fail(cmd, "%s is not a member of %s (cupd user add --org %s ...)", user, org, org);
		goto out;
	}
	if (scope > auth_role_cap(role)) {
		cli_fail(cmd, "a %s may hold at most the %s scope", role, auth_scope_name(auth_role_cap(role)));
		goto out;
	}
	char token[CREDS_TOKEN_LEN + 1], hash[CREDS_HASH_HEX + 1], prefix[CREDS_DISPLAY_LEN + 1];
	if (!creds_generate(CREDS_API_TOKEN, token)) {
		cli_fail(cmd, "the random number generator failed");
		goto out;
	}
	creds_hash_hex(token, CREDS_TOKEN_LEN, hash);
	creds_display_prefix(token, prefix);
	const char *p2[] = { PQgetvalue(ctx, 0, 0), PQgetvalue(ctx, 0, 1), name, auth_scope_name(scope),
	                     hash, prefix, days_param };
	if (!(ins = cli_q(conn, cmd, SQL_TOKEN_INSERT, 7, p2)))
		goto out;
	fprintf(stderr, "created API Token %s (%s, scope %s, expires %s); it is shown once:\n",
	        PQgetvalue(ins, 0, 0), name, auth_scope_name(scope), PQgetvalue(ins, 0, 1));
	printf("%s\n", token);
	fflush(stdout);
	rc = EXIT_OK;
out:
	PQclear(ctx);
	PQclear(ins);
	PQfinish(conn);
	return rc;
}

static const char SDK_USAGE[] =
	"usage: cupd sdk-key create --org SLUG --project SLUG [--name NAME] [--origin ORIGIN]...\n"
	"Creates an SDK Key (telemetry ingest only) for PROJECT and prints it once on stdout.\n"
	"Each --origin (scheme://host[:port]) restricts browser use to that origin.\n";

/* scheme://host[:port], lowercase, no path, query or fragment. */
static bool origin_valid(const char *o)
{
	const char *rest = !strncmp(o, "https://", 8) ? o + 8 : !strncmp(o, "http://", 7) ? o + 7 : NULL;
	if (!rest || !*rest || strlen(o) > 255)
		return false;
	for (const char *p = rest; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == ':' ||
		      *p == '[' || *p == ']'))
			return false;
	return true;
}

static const char SQL_SDK_INSERT[] =
	"WITH p AS (SELECT pr.org_id, pr.id FROM projects pr JOIN orgs o ON o.id = pr.org_id "
	"  WHERE o.slug = $1 AND pr.slug = $2), "
	"k AS (INSERT INTO sdk_keys (org_id, project_id, name, key_hash, display_prefix, allowed_origins) "
	"  SELECT p.org_id, p.id, $3, decode($4, 'hex'), $5, $6::text[] FROM p RETURNING id, org_id), "
	"a AS (INSERT INTO audit_events (org_id, actor_kind, actor_id, action, target_kind, target_id, metadata) "
	"  SELECT k.org_id, 'system', 'cli', 'sdk_key.create', 'sdk_key', k.id::text, "
	"    jsonb_build_object('name', $3::text) FROM k) "
	"SELECT id FROM k";

static int sdk_key_create(const cfg *c, int argc, char **argv)
{
	const char *cmd = "sdk-key create";
	const char *org = NULL, *project = NULL, *name = "SDK Key";
	/* --origin repeats, so it is collected before the generic parser sees the rest. */
	char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
	char *origins = xstrdup("{");
	int nrest = 0, norigins = 0, rc = EXIT_USAGE;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	for (int i = 0; i < argc; i++) {
		const char *v = NULL;
		if (!strcmp(argv[i], "--origin") && i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(argv[i], "--origin=", 9))
			v = argv[i] + 9;
		else {
			rest[nrest++] = argv[i];
			continue;
		}
		if (!origin_valid(v)) {
			cli_fail(cmd, "--origin '%s' must be scheme://host[:port] in lowercase, e.g. https://app.example.com", v);
			goto out;
		}
		size_t n = strlen(origins) + strlen(v) + 4;
		origins = xrealloc(origins, n);
		strcat(origins, norigins++ ? ",\"" : "\"");
		strcat(origins, v);
		strcat(origins, "\"");
	}
	origins = xrealloc(origins, strlen(origins) + 2);
	strcat(origins, "}");
	const opt opts[] = { { "org", &org }, { "project", &project }, { "name", &name } };
	parse_result pr = cli_parse_opts(cmd, SDK_USAGE, nrest, rest, opts, sizeof opts / sizeof opts[0]);
	if (pr != PARSE_OK) {
		rc = pr == PARSE_HELP ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (!cli_require(cmd, org, "org") || !cli_require(cmd, project, "project"))
		goto out;
	rc = EXIT_FAIL;
	if (!(conn = cli_db_open(c, cmd)))
		goto out;
	char key[CREDS_TOKEN_LEN + 1], hash[CREDS_HASH_HEX + 1], prefix[CREDS_DISPLAY_LEN + 1];
	if (!creds_generate(CREDS_SDK_KEY, key))
		goto out;
	creds_hash_hex(key, CREDS_TOKEN_LEN, hash);
	creds_display_prefix(key, prefix);
	const char *params[] = { org, project, name, hash, prefix, origins };
	if (!(res = cli_q(conn, cmd, SQL_SDK_INSERT, 6, params)))
		goto out;
	if (PQntuples(res) != 1) {
		cli_fail(cmd, "no project '%s' in org '%s'", project, org);
		goto out;
	}
	fprintf(stderr, "created SDK Key %s for %s/%s; it is shown once:\n", PQgetvalue(res, 0, 0), org, project);
	printf("%s\n", key);
	fflush(stdout);
	rc = EXIT_OK;
out:
	PQclear(res);
	PQfinish(conn);
	free(origins);
	free(rest);
	return rc;
}

int cli_token(const cfg *c, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "create"))
		return token_create(c, argc - 1, argv + 1);
	fputs(TOKEN_USAGE, stderr);
	return EXIT_USAGE;
}

int cli_sdk_key(const cfg *c, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "create"))
		return sdk_key_create(c, argc - 1, argv + 1);
	fputs(SDK_USAGE, stderr);
	return EXIT_USAGE;
}
