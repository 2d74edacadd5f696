/* api/api_tokens.h: API Tokens (cup_api_…) — API layer shared by REST and MCP.
 *
 * Every function here needs an admin-scoped caller (the REST routes demand
 * it; an MCP adapter must check it too) and acts inside ctx->org_id only:
 * another org's token id answers "not found", never "forbidden".
 *
 * A token object (list rows and every answer below) has: id, name,
 * display_prefix, scope, effective_scope (scope capped by the owner's role
 * now), owner {id, email, role}, created_at, expires_at (null = never),
 * status (active | disabled | expired | revoked | grace), disabled_at,
 * revoked_at, revoked_reason (revoked | leaked | rotated | user_removed),
 * leaked_at, last_used_at, last_used_ip, and the rotation fields
 * replaced_by, grace_until, grace_use_count, grace_last_used_at,
 * grace_last_ip (null/0 unless the token was rotated out). Usage fields are
 * written in batches by auth.c, so they lag by up to CUPD_USAGE_FLUSH_MS.
 *
 * Writes run as one statement with their audit row (api_token.create |
 * rotate | disable | enable | revoke). The 0005 triggers NOTIFY every
 * instance, whose listeners drop their cached copy; the instance that made
 * the change drops its own before answering, so the caller's next request
 * here never races that NOTIFY.
 * Completion follows api.h: done runs exactly once, possibly before the
 * function returns. */
#ifndef CUPD_API_API_TOKENS_H
#define CUPD_API_API_TOKENS_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"

enum { API_TOKEN_DAYS_DEFAULT = 90, API_TOKEN_DAYS_MAX = 365 };

/* What a new token should be. Zero-initialised means: no name (invalid),
 * the default expiry of 90 days, owned by the acting user. */
typedef struct api_token_new {
	const char *name;         /* 1..100 characters; borrowed */
	auth_scope scope;         /* read | write | admin; at most the owner's role allows */
	const char *user_id;      /* owner, a member of the org; NULL = ctx->user_id; borrowed */
	int expires_in_days;      /* 1..365; 0 = the default (90) */
	bool never_expires;       /* explicitly confirmed non-expiring token; expires_in_days must be 0 */
} api_token_new;

/* Reads a create request body ({"name", "scope", "user_id"?,
 * "expires_in_days"?, "confirm_non_expiring"?}) into *out, which borrows
 * strings from body. A token that never expires needs "expires_in_days":
 * null together with "confirm_non_expiring": true. Unknown members are
 * refused, so a misspelt option cannot silently fall back to a default.
 * False with *field and *why (static text) on bad input. */
bool api_tokens_parse_new(json_t *body, api_token_new *out, const char **field, const char **why);

/* Pages of token objects, newest first. status (NULL = all) keeps only one
 * of active | disabled | expired | revoked | grace. */
void api_tokens_list(const api_ctx *ctx, const api_page *page, const char *status, api_done_fn done, void *arg);

/* One token object by id. */
void api_tokens_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

/* Creates a token: API_CREATED with the token object plus "token", the full
 * secret, which exists only in this answer. 400 (field user_id) when the
 * owner is not an active member; 403 when the scope exceeds the owner's
 * role, or when the owner is someone else whose role is above the acting
 * user's (a token acts as its owner: an admin must not mint an owner's). */
void api_tokens_create(const api_ctx *ctx, const api_token_new *in, api_done_fn done, void *arg);

/* Rotates token id: API_CREATED with the new token object plus "token" and
 * "rotated_from" {id, grace_until}. The new token keeps the old one's name,
 * owner, scope (capped by the owner's role now) and lifetime (from now).
 * The old token names its successor (replaced_by) and keeps working until
 * grace_until = now + 24 h; its uses there are counted. 409 for a token
 * that is revoked, disabled, expired or already rotated; 403 for another
 * user's token whose role is above the acting user's (the new secret would
 * act as them). */
void api_tokens_rotate(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

/* Ends a rotated-out token's grace window now (revoked_reason "rotated",
 * audited as api_token.revoke). 409 for a token that was never rotated. */
void api_tokens_end_grace(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

/* Reversible switch; 409 on a revoked token. Idempotent. */
void api_tokens_disable(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);
void api_tokens_enable(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

/* Revokes immediately and for good (works on a grace token too). Idempotent. */
void api_tokens_revoke(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

#endif
