/* keys.h: ES256 signing keys shared by all instances, the JWKS, and JWTs.
 *
 * Keys live in signing_keys with the private half AES-256-GCM encrypted
 * under CUPD_KEY_ENCRYPTION_KEY. Every instance keeps the current set in
 * memory (reloaded on NOTIFY "signing_keys:changed"); the newest unretired
 * key signs, retired keys keep verifying until their tokens have expired.
 *
 * JWTs are made and checked with libjwt 1.10. It writes typ "JWT" (so RFC
 * 9068's at+jwt is not used, see STACK.md) and checks nothing but the
 * signature, so oauth_jwt_verify pins ES256 and checks kid, exp, nbf, iat
 * and iss itself; audience and grant are the caller's to check. */
#ifndef CUPD_OAUTH_KEYS_H
#define CUPD_OAUTH_KEYS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Claims of a cupd access token. */
typedef struct oauth_claims {
	char iss[256];
	char sub[37];          /* user id */
	char aud[512];         /* the MCP resource URL */
	char client_id[2049];
	char scope[128];       /* space-separated */
	char jti[40];
	char gid[37];          /* grant (AI Connection) id */
	char org[37];          /* org the grant acts in */
	int64_t iat, exp;
} oauth_claims;

/* Parses the 32-byte key from hex (64 chars) or base64 (44 chars). */
bool oauth_keys_parse_kek(const char *text, unsigned char out[32]);

/* Takes the key encryption key from c (no database work). */
bool oauth_keys_configure(const cfg *c, char *err, size_t errlen);

/* Loads the keys (blocking; never on a loop), creating the first one, or a
 * new one when the newest is older than the rotation period. Needs
 * oauth_keys_configure first. */
bool oauth_keys_ensure(PGconn *conn, char *err, size_t errlen);

/* oauth_keys_configure + oauth_keys_ensure. */
bool oauth_keys_init(const cfg *c, PGconn *conn, char *err, size_t errlen);

/* Reloads the key set from the database (blocking; run off the loops, e.g.
 * on the listener thread after NOTIFY). */
bool oauth_keys_reload(PGconn *conn);

/* Retires the signing key and creates a new one now (CLI, tests). */
bool oauth_keys_rotate(const cfg *c, PGconn *conn, char *err, size_t errlen);

void oauth_keys_shutdown(void);

/* True once oauth_keys_init succeeded (a key encryption key is configured). */
bool oauth_keys_enabled(void);

/* The JWKS document (RFC 7517) of every key that still verifies; caller frees. */
char *oauth_keys_jwks(void);

/* Signs claims with the current key. *out is malloc'd; caller frees. Takes
 * ~0.5 ms (libjwt re-parses the PEM): call from the work pool. */
bool oauth_jwt_sign(const oauth_claims *claims, char **out);

/* Verifies signature (ES256 pinned, key by kid), exp/nbf/iat (60 s leeway)
 * and iss == issuer. On failure *why says what (for logs and
 * error_description; never contains the token). */
bool oauth_jwt_verify(const char *token, size_t len, const char *issuer, oauth_claims *out, const char **why);

#endif
