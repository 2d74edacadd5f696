/* fuzz_jwt.c: libFuzzer target for access-token verification (oauth/keys.h,
 * oauth/grants.h; REQUIREMENTS B34).
 *
 * No database and no key set: every input must be refused by
 * oauth_jwt_verify and oauth_access_check (header parsing, base64url, JSON,
 * the ES256 pin and the key lookup run on it), with a reason and without
 * crashing. The same bytes then go to libjwt's own jwt_decode with an ES256
 * public key generated at start-up — the call oauth_jwt_verify makes once a
 * kid matched — and whatever it accepts must be ES256 (the pin holds) or be
 * refused by the algorithm check.
 * Invariants that do not hold abort, which libFuzzer reports as a crash. */
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grants.h"
#include "keys.h"

static char *pub_pem;

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	check(pk != NULL);
	BIO *b = BIO_new(BIO_s_mem());
	check(PEM_write_bio_PUBKEY(b, pk) == 1);
	char *data;
	long n = BIO_get_mem_data(b, &data);
	pub_pem = malloc((size_t)n + 1);
	memcpy(pub_pem, data, (size_t)n);
	pub_pem[n] = '\0';
	BIO_free(b);
	EVP_PKEY_free(pk);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	oauth_claims cl;
	const char *why = NULL;
	check(!oauth_jwt_verify((const char *)data, size, "https://cupd.example", &cl, &why));
	check(why != NULL && !strstr(why, "."));
	why = NULL;
	check(oauth_access_check((const char *)data, size, &cl, &why) == OAUTH_TOKEN_INVALID);
	check(why != NULL);

	char *tok = malloc(size + 1);
	check(tok != NULL);
	memcpy(tok, data, size);
	tok[size] = '\0';
	jwt_t *jwt = NULL;
	if (jwt_decode(&jwt, tok, (const unsigned char *)pub_pem, (int)strlen(pub_pem)) == 0 && jwt) {
		jwt_alg_t alg = jwt_get_alg(jwt);
		/* A forgery cannot carry ES256: it would need the private key. An
		 * HS* token keyed with the public PEM is what the pin refuses. */
		check(alg != JWT_ALG_ES256);
		(void)jwt_get_grant(jwt, "kid");
		(void)jwt_get_grant_int(jwt, "exp");
		char *aud = jwt_get_grants_json(jwt, "aud");
		free(aud);
	}
	jwt_free(jwt);
	free(tok);
	return 0;
}
