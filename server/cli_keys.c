/* cli_keys.c: `cupd keys rotate` — replace the access-token signing key now.
 *
 * The new key signs from the moment every instance has reloaded the key set
 * (the signing_keys trigger NOTIFYs them); the previous key is retired, not
 * removed, so tokens it signed keep verifying and /oauth/jwks.json lists both
 * until the longest access-token lifetime has passed. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_internal.h"
#include "keys.h"

static const char KEYS_USAGE[] =
	"usage: cupd keys rotate\n"
	"Creates a new access-token signing key and retires the current one. Tokens signed with the\n"
	"retired key stay valid until they expire. Needs CUPD_KEY_ENCRYPTION_KEY.\n";

int cli_keys(const cfg *c, int argc, char **argv)
{
	const char *cmd = "keys rotate";
	if (argc < 1 || strcmp(argv[0], "rotate") != 0) {
		if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
			fputs(KEYS_USAGE, stdout);
			return EXIT_OK;
		}
		fputs(KEYS_USAGE, stderr);
		return EXIT_USAGE;
	}
	parse_result pr = cli_parse_opts(cmd, KEYS_USAGE, argc - 1, argv + 1, NULL, 0);
	if (pr != PARSE_OK)
		return pr == PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if (!c->key_encryption_key || !*c->key_encryption_key) {
		cli_fail(cmd, "CUPD_KEY_ENCRYPTION_KEY is not set");
		return EXIT_FAIL;
	}
	PGconn *pg = cli_db_open(c, cmd);
	if (!pg)
		return EXIT_FAIL;
	char err[256];
	bool ok = oauth_keys_rotate(c, pg, err, sizeof err);
	PQfinish(pg);
	oauth_keys_shutdown();
	if (!ok) {
		cli_fail(cmd, "%s", err);
		return EXIT_FAIL;
	}
	fputs("signing key rotated; the previous key keeps verifying until its tokens expire\n", stderr);
	return EXIT_OK;
}
