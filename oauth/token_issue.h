/* token_issue.h: minting what the token endpoint hands out.
 *
 * Access tokens are ES256 JWTs (keys.h) signed on the work pool, never on
 * an event loop: libjwt re-parses the PEM on every signature (~0.4 ms).
 * Refresh tokens are "cupr_" + 43 base64url characters, stored only as
 * SHA-256. The first one of a grant is random; each successor is derived
 * from the token it replaces, HMAC-SHA256(K, presented) with K =
 * HKDF-SHA256(CUPD_KEY_ENCRYPTION_KEY, info "cupd refresh successor"), so
 * every instance computes the same successor for a retried refresh and the
 * database can hand it out again inside the grace window (REQUIREMENTS C26)
 * without ever storing a usable token. */
#ifndef CUPD_OAUTH_TOKEN_ISSUE_H
#define CUPD_OAUTH_TOKEN_ISSUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keys.h"

struct event_base;

#define OAUTH_REFRESH_PREFIX "cupr_"
enum {
	OAUTH_REFRESH_LEN = 5 + 43,           /* prefix + base64url(32 bytes) */
	OAUTH_HASH_HEX = 64,
};

/* Lowercase hex SHA-256 of s[0..n) into out[OAUTH_HASH_HEX + 1]. */
void oauth_hash_hex(const char *s, size_t n, char out[OAUTH_HASH_HEX + 1]);

/* base64url (no padding) of nbytes from RAND_bytes into out (cap must hold
 * 4*nbytes/3 + 2). False only if the CSPRNG fails. */
bool oauth_random_b64url(size_t nbytes, char *out, size_t cap);

/* A new random refresh token. */
bool oauth_refresh_new(char out[OAUTH_REFRESH_LEN + 1]);

/* The successor of presented (see the file comment). c supplies the key
 * encryption key; false when it is missing or malformed. Thread-safe. */
bool oauth_refresh_successor(const cfg *c, const char *presented, size_t len, char out[OAUTH_REFRESH_LEN + 1]);

/* Fills the claims of an access token: iss = issuer, aud = the MCP
 * resource, a random jti, iat = now, exp = min(now + minutes, grant_exp)
 * (grant_exp 0 = no cap). False if a value does not fit its claim. */
bool oauth_claims_fill(oauth_claims *cl, const char *user_id, const char *client_id, const char *scope,
                       const char *grant_id, const char *org_id, int minutes, int64_t grant_exp);

/* Signs claims on the work pool; done then runs on base's loop with the
 * compact JWT (malloc'd, the callee frees it) or NULL if signing failed.
 * Returns false when the pool's queue is full: done never runs and the
 * caller answers 503. cl is copied. */
typedef void (*oauth_signed_fn)(char *jwt, void *arg);
bool oauth_sign_async(struct event_base *base, const oauth_claims *cl, oauth_signed_fn done, void *arg);

#endif
