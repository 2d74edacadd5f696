/* refresh_bench_verify.c: access-token signing and verification per second,
 * with the real keys module (tests/bench/refresh_bench.sh runs it).
 *
 * Loads the signing keys from DATABASE_URL exactly as cupd serve does
 * (CUPD_KEY_ENCRYPTION_KEY, CUPD_PUBLIC_URL), then on one thread measures:
 *   sign      oauth_jwt_sign (what the token endpoint runs on the work pool)
 *   verify    oauth_jwt_verify on tokens never seen before (first use of a
 *             token at the MCP endpoint, before the cache knows it)
 *   first     oauth_access_check on tokens never seen before (verify + cache
 *             insert + audience + revoked-grant check)
 *   cached    oauth_access_check on a token already verified (every later
 *             request with it: SHA-256, a hash lookup, two string checks)
 * and prints one line per measurement. Usage: refresh_bench_verify [N]. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "grants.h"
#include "keys.h"
#include "log.h"
#include "oauth.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void fill(oauth_claims *cl, int i)
{
	memset(cl, 0, sizeof *cl);
	snprintf(cl->iss, sizeof cl->iss, "%s", oauth_issuer());
	snprintf(cl->aud, sizeof cl->aud, "%s", oauth_resource());
	snprintf(cl->sub, sizeof cl->sub, "00000000-0000-0000-0000-%012d", i);
	snprintf(cl->client_id, sizeof cl->client_id, "cupc_benchmarkclient");
	snprintf(cl->scope, sizeof cl->scope, "read write");
	snprintf(cl->jti, sizeof cl->jti, "bench-%08d", i);
	snprintf(cl->gid, sizeof cl->gid, "00000000-0000-0000-0001-%012d", i);
	snprintf(cl->org, sizeof cl->org, "00000000-0000-0000-0002-000000000001");
	cl->iat = (int64_t)time(NULL);
	cl->exp = cl->iat + 3600;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	if (n < 10)
		n = 10;
	cfg c;
	if (!cfg_load(&c, stderr))
		return 2;
	log_setup(LOG_WARN, false);
	oauth_init(&c);
	PGconn *pg = PQconnectdb(c.database_url);
	char err[256];
	if (PQstatus(pg) != CONNECTION_OK || !oauth_keys_init(&c, pg, err, sizeof err) || !oauth_grants_init(pg)) {
		fprintf(stderr, "refresh_bench_verify: cannot load keys: %s %s\n", PQerrorMessage(pg), err);
		return 1;
	}
	PQfinish(pg);

	char **tok = calloc((size_t)n, sizeof *tok);
	oauth_claims cl;
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		fill(&cl, i);
		if (!oauth_jwt_sign(&cl, &tok[i])) {
			fprintf(stderr, "refresh_bench_verify: signing failed\n");
			return 1;
		}
	}
	double sign = n / (now_s() - t0);

	const char *why;
	t0 = now_s();
	for (int i = 0; i < n; i++)
		if (!oauth_jwt_verify(tok[i], strlen(tok[i]), oauth_issuer(), &cl, &why)) {
			fprintf(stderr, "refresh_bench_verify: verify failed: %s\n", why);
			return 1;
		}
	double verify = n / (now_s() - t0);

	oauth_access_cache_clear();
	t0 = now_s();
	for (int i = 0; i < n; i++)
		if (oauth_access_check(tok[i], strlen(tok[i]), &cl, &why) != OAUTH_TOKEN_OK) {
			fprintf(stderr, "refresh_bench_verify: access check failed: %s\n", why);
			return 1;
		}
	double first = n / (now_s() - t0);

	int rounds = n * 200;
	t0 = now_s();
	for (int i = 0; i < rounds; i++)
		if (oauth_access_check(tok[i % n], strlen(tok[i % n]), &cl, &why) != OAUTH_TOKEN_OK)
			return 1;
	double cached = rounds / (now_s() - t0);

	printf("access tokens, one thread, %d distinct tokens:\n", n);
	printf("  sign (oauth_jwt_sign, ES256, key parsed once) %10.0f /s  (%.3f ms each)\n", sign, 1e3 / sign);
	printf("  verify, uncached (oauth_jwt_verify)            %10.0f /s  (%.3f ms each)\n", verify, 1e3 / verify);
	printf("  first use (oauth_access_check, cache miss)     %10.0f /s  (%.3f ms each)\n", first, 1e3 / first);
	printf("  cached (oauth_access_check, cache hit)         %10.0f /s  (%.1f us each)\n", cached, 1e6 / cached);
	for (int i = 0; i < n; i++)
		free(tok[i]);
	free(tok);
	oauth_grants_shutdown();
	oauth_keys_shutdown();
	cfg_cleanup(&c);
	return 0;
}
