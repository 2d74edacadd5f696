/* main.c: subcommand dispatch and the serve lifecycle. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "app.h"
#include "auth.h"
#include "cimd.h"
#include "clientip.h"
#include "grants.h"
#include "keys.h"
#include "oauth.h"
#include "ratelimit.h"
#include "workpool.h"
#include "cli.h"
#include "config.h"
#include "db_listen.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "routes.h"

static void usage(FILE *out)
{
	fputs("cupd " CUPD_VERSION ": CheckUpstream's credential, OAuth 2.1 and MCP edge\n\n"
	      "Usage:\n"
	      "  cupd serve                         run the HTTP server (applies migrations first)\n"
	      "  cupd migrate                       apply pending database migrations\n"
	      "  cupd org add --slug S --name N     create an organization\n"
	      "  cupd user add --email E --org S --role owner|admin|member [--name N]\n"
	      "                                     create a user or add them to an org;\n"
	      "                                     the password is read from stdin\n"
	      "  cupd seed-demo [--password-file F] create the demo org, user and data\n"
	      "  cupd token create --org S --user E --name N [--scopes read|write|admin]\n"
	      "                    [--expires-in-days D | --never-expires yes]\n"
	      "                                     print a new API Token once\n"
	      "  cupd sdk-key create --org S --project P [--name N] [--origin O]...\n"
	      "                                     print a new SDK Key once\n"
	      "  cupd keys rotate                   new access-token signing key now (old one keeps verifying)\n"
	      "  cupd --help | --version\n\n",
	      out);
	cfg_print_help(out);
}

/* Before serving: migrations, signing keys and the revoked-grant set.
 * With CUPD_AUTO_MIGRATE on the schema must be brought up to date first, so
 * this waits briefly for a database that is still starting (containers, the
 * dev script) and fails after that. With it off, an unreachable database is
 * not fatal: cupd serves (readyz says 503) and the listener loads the rest
 * when the database comes back. */
static bool prepare_database(const cfg *c)
{
	char err[512];
	int attempts = c->auto_migrate ? 20 : 1;
	for (int attempt = 0; attempt < attempts; attempt++) {
		PGconn *pg = PQconnectdb(c->database_url);
		if (PQstatus(pg) == CONNECTION_OK) {
			bool ok = !c->auto_migrate || migrate_apply(pg, stderr, err, sizeof err);
			if (!ok)
				log_msg(LOG_ERROR, "migration failed: %s", err);
			if (ok && oauth_keys_enabled() && !(ok = oauth_keys_ensure(pg, err, sizeof err)))
				log_msg(LOG_ERROR, "%s", err);
			if (ok && !(ok = oauth_grants_init(pg)))
				log_msg(LOG_ERROR, "cannot load AI Connection state");
			PQfinish(pg);
			return ok;
		}
		if (attempt == 0)
			log_msg(LOG_WARN, "database not reachable yet (%s)", PQerrorMessage(pg));
		PQfinish(pg);
		if (attempt + 1 < attempts)
			usleep(500 * 1000);
	}
	if (!c->auto_migrate) {
		log_msg(LOG_WARN, "serving without the database; it is used as soon as it answers");
		return true;
	}
	log_msg(LOG_ERROR, "database not reachable: check DATABASE_URL");
	return false;
}

static int serve(const cfg *c)
{
	int rc = 1;
	router *rt = NULL;
	http_server *srv = NULL;
	app a = { .c = c };

	if (!clientip_init(c->trusted_proxies, stderr))
		return 2;
	oauth_init(c);
	app_instance_init();
	char err[256];
	if (*c->key_encryption_key && !oauth_keys_configure(c, err, sizeof err)) {
		log_msg(LOG_ERROR, "%s", err);
		return 2;
	}
	if (!*c->key_encryption_key)
		log_msg(LOG_WARN, "CUPD_KEY_ENCRYPTION_KEY is not set: the OAuth server cannot issue tokens "
		                  "(its endpoints answer 503) until it is");
	/* A bad pinned-documents or CA file stops start-up instead of first use. */
	if (!oauth_cimd_init(c))
		return 2;
	metrics_init(c->workers);
	/* argon2id and JWT signing: one thread per core, off the event loops. */
	workpool *pool = workpool_new(c->workers);
	workpool_set_default(pool);
	ratelimit_init();
	auth_init(c);
	auth_set_jwt_validator(oauth_principal_from_token);
	if (!(rt = routes_build(c))) {
		log_msg(LOG_ERROR, "route table is malformed");
		goto out;
	}
	/* Bind first: a busy port fails at once, before any database wait. */
	http_hooks hooks = app_hooks(&a);
	if (!(srv = http_server_new(c, rt, &hooks)))
		goto out;
	if (!prepare_database(c))
		goto out;
	const char *channels[] = { APP_NOTIFY_CHANNEL };
	/* Revocations apply on the listener thread the moment they arrive. */
	a.listener = db_listener_start(c->database_url, channels, 1, app_on_notify_thread, c->database_url);
	rc = http_server_run(srv) ? 0 : 1;
out:
	http_server_free(srv);
	db_listener_stop(a.listener);
	workpool_set_default(NULL);
	workpool_free(pool);
	router_free(rt);
	auth_shutdown();
	oauth_cimd_shutdown();
	oauth_grants_shutdown();
	oauth_keys_shutdown();
	ratelimit_shutdown();
	clientip_shutdown();
	metrics_shutdown();
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		puts("cupd " CUPD_VERSION);
		return 0;
	}

	cfg c;
	if (!cfg_load(&c, stderr))
		return 2;
	log_setup(c.log_level, c.access_log);

	int rc;
	if (!strcmp(cmd, "serve") && argc == 2)
		rc = serve(&c);
	else if (!strcmp(cmd, "migrate") && argc == 2)
		rc = cli_migrate(&c);
	else if (!strcmp(cmd, "org") && argc >= 3 && !strcmp(argv[2], "add"))
		rc = cli_org_add(&c, argc - 3, argv + 3);
	else if (!strcmp(cmd, "user") && argc >= 3 && !strcmp(argv[2], "add"))
		rc = cli_user_add(&c, argc - 3, argv + 3);
	else if (!strcmp(cmd, "token"))
		rc = cli_token(&c, argc - 2, argv + 2);
	else if (!strcmp(cmd, "sdk-key"))
		rc = cli_sdk_key(&c, argc - 2, argv + 2);
	else if (!strcmp(cmd, "seed-demo"))
		rc = cli_seed_demo(&c, argc - 2, argv + 2);
	else if (!strcmp(cmd, "keys"))
		rc = cli_keys(&c, argc - 2, argv + 2);
	else {
		fprintf(stderr, "cupd: unknown command \"%s\"; see cupd --help\n", cmd);
		rc = 2;
	}
	cfg_cleanup(&c);
	return rc;
}
