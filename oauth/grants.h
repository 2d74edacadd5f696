/* grants.h: AI Connections as the resource server sees them.
 *
 * Validating an access token needs no database round trip (DESIGN §5): the
 * signature and claims are checked once and cached by SHA-256 of the token
 * until it expires; every use then checks the audience and an in-memory set
 * of revoked grants. That set is loaded at start, updated on the listener
 * thread the moment a "grant:<id>" NOTIFY arrives, and reloaded whenever the
 * listener reconnects, so a revoked connection's next request fails on every
 * instance. */
#ifndef CUPD_OAUTH_GRANTS_H
#define CUPD_OAUTH_GRANTS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "keys.h"

/* Loads revoked grants (blocking; at start-up). */
bool oauth_grants_init(PGconn *conn);
void oauth_grants_shutdown(void);

/* NOTIFY hook for the listener thread: grant revocations, signing-key
 * changes, and (channel NULL) a reload after reconnecting. Blocking work
 * here runs on the listener thread only. */
void oauth_on_notify(const char *channel, const char *payload, void *conninfo);

/* Marks a grant revoked in this process at once (the instance that revoked
 * it does not wait for its own NOTIFY). */
void oauth_grants_mark_revoked(const char *grant_id);
bool oauth_grants_is_revoked(const char *grant_id);

typedef enum {
	OAUTH_TOKEN_OK = 0,
	OAUTH_TOKEN_INVALID,      /* malformed, bad signature, wrong issuer, expired */
	OAUTH_TOKEN_WRONG_AUDIENCE,
	OAUTH_TOKEN_REVOKED,      /* its grant (AI Connection) was revoked */
} oauth_token_status;

/* Validates an access token for this server's MCP resource (B34): cached
 * signature + claims, audience == oauth_resource(), grant not revoked.
 * *why describes a failure (safe to show; never contains the token). */
oauth_token_status oauth_access_check(const char *token, size_t len, oauth_claims *out, const char **why);

/* auth_jwt_validator for the MCP endpoint: oauth_access_check, then the
 * principal (kind CREDS_JWT, cred_id = grant id, user, org, client, scope =
 * the highest scope word the token carries). */
#include "auth.h"
bool oauth_principal_from_token(const char *token, size_t len, auth_principal *out, const char **why);

/* Drops every cached verification (tests, key changes). */
void oauth_access_cache_clear(void);

#endif
