/* api/sdk_keys.h: SDK Keys (cup_sdk_…) — API layer shared by REST and MCP.
 *
 * SDK Keys are publishable: they only send telemetry to POST /v1/events of
 * one project, so they have no scope, no expiry and no rotation grace (a
 * rotated key is revoked at once). Every function needs an admin-scoped
 * caller and acts inside ctx->org_id only (other orgs' ids are not found).
 *
 * A key object has: id, name, project {id, slug}, display_prefix,
 * allowed_origins (exact lowercase scheme://host[:port]; empty = any),
 * created_at, last_used_at, status (active | revoked), revoked_at,
 * revoked_reason (revoked | rotated), replaced_by, leak_reported_at.
 * Writes are audited in the same statement (sdk_key.create | rotate |
 * revoke) and NOTIFY every instance through the 0005 triggers. Completion
 * follows api.h. */
#ifndef CUPD_API_SDK_KEYS_H
#define CUPD_API_SDK_KEYS_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"

enum { API_SDK_ORIGINS_MAX = 50 };

typedef struct api_sdk_key_new {
	const char *project;          /* project id or slug; borrowed */
	const char *name;             /* 1..100 characters; borrowed */
	const char *const *origins;   /* borrowed; norigins entries */
	int norigins;                 /* 0..API_SDK_ORIGINS_MAX */
} api_sdk_key_new;

/* Reads a create body ({"project", "name", "allowed_origins"?}) into *out,
 * which borrows from body; origins are written into origins_buf (room for
 * API_SDK_ORIGINS_MAX). False with *field and *why on bad input. */
bool api_sdk_keys_parse_new(json_t *body, api_sdk_key_new *out, const char *origins_buf[API_SDK_ORIGINS_MAX],
                            const char **field, const char **why);

/* True for an exact lowercase browser origin: http(s)://host[:port], no
 * path, query, fragment, user info or trailing slash. */
bool api_sdk_origin_valid(const char *origin);

/* Pages of key objects, newest first. */
void api_sdk_keys_list(const api_ctx *ctx, const api_page *page, api_done_fn done, void *arg);
void api_sdk_keys_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

/* Creates a key: API_CREATED with the key object plus "key" (the secret,
 * only in this answer) and "init_snippet" (how an SDK sends events with
 * it). 400 (field project) when the project is not in the org. */
void api_sdk_keys_create(const api_ctx *ctx, const api_sdk_key_new *in, api_done_fn done, void *arg);

/* Rotates: a new key for the same project, name and origins (API_CREATED,
 * with "key", "init_snippet" and "rotated_from"); the old key is revoked
 * in the same statement. 409 for a revoked key. */
void api_sdk_keys_rotate(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

/* Revokes now and for good. Idempotent. */
void api_sdk_keys_revoke(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

#endif
