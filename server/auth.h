/* auth.h: who is calling — bearer classification, credential cache, gate.
 *
 * Pipeline (DESIGN.md §3): client IP → classify bearer by prefix → resolve it
 * (cache, or one async lookup on a miss) → check it is the kind this route
 * takes → scope → rate limit → handler. The route table says what each route
 * needs; routes.c runs auth_gate before the handler.
 *
 * Validated credentials live in one process-wide cache keyed by SHA-256, so
 * a valid token costs a hash and a lookup. Every change that ends or narrows
 * a credential NOTIFYs (sql/migrations/0005); the LISTEN thread calls
 * auth_on_notify, which drops cached entries before the next request is
 * authenticated, and a listener reconnect clears the whole cache. */
#ifndef CUPD_AUTH_H
#define CUPD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "creds.h"
#include "db.h"
#include "http.h"

typedef enum {
	AUTH_SCOPE_NONE = 0,
	AUTH_SCOPE_READ = 1,    /* every GET */
	AUTH_SCOPE_WRITE = 2,   /* GET + create/update */
	AUTH_SCOPE_ADMIN = 3,   /* everything, incl. credentials and team */
} auth_scope;

typedef enum {
	AUTH_PUBLIC = 0,     /* no credential; per-IP rate limit only */
	AUTH_API_TOKEN,      /* cup_api_… (REST) */
	AUTH_SDK_KEY,        /* cup_sdk_… (telemetry ingest) */
	AUTH_MCP,            /* an OAuth access token for this resource, or an API Token */
} auth_need;

typedef struct auth_principal {
	creds_kind kind;          /* CREDS_API_TOKEN, CREDS_SDK_KEY, CREDS_JWT (OAuth), or CREDS_NONE */
	char cred_id[37];         /* token or key id; for OAuth the grant (AI Connection) id */
	char client_id[256];      /* OAuth: the client the grant belongs to (truncated) */
	char org_id[37];
	char org_slug[64];
	char org_name[201];
	char user_id[37];         /* API Token: the user it acts as */
	char user_email[255];
	char user_name[201];
	char project_id[37];      /* SDK Key: its project */
	char name[101];           /* credential name */
	char role[8];             /* owner | admin | member (API Token) */
	auth_scope token_scope;   /* what the token was created with */
	auth_scope scope;         /* effective: token scope capped by the user's role now */
	int64_t expires_at;       /* unix seconds; 0 = never */
	bool in_grace;            /* a rotated-out token inside its 24 h grace window */
} auth_principal;

/* Sets up the cache and usage batching. Call once before workers start. */
void auth_init(const cfg *c);
void auth_shutdown(void);

/* NOTIFY hook; runs on the LISTEN thread (channel NULL = reconnected). */
void auth_on_notify(const char *channel, const char *payload, void *arg);

/* Authenticates r for need/min_scope and calls next(r) on success; otherwise
 * answers 401/403/429/503 itself and next never runs. next may run before
 * this returns (cache hit) or later on r's loop (cache miss). */
void auth_gate(http_req *r, auth_need need, auth_scope min_scope, router_handler next);

/* The principal auth_gate established for r (NULL before, or on public routes). */
const auth_principal *auth_principal_of(const http_req *r);

/* Validates an OAuth access token for the MCP endpoint and fills *out
 * (kind CREDS_JWT); false with *why on any failure. Installed by main()
 * from the OAuth module, so the core does not depend on it. */
typedef bool (*auth_jwt_validator)(const char *token, size_t len, auth_principal *out, const char **why);
void auth_set_jwt_validator(auth_jwt_validator fn);

/* Counts one MCP tool call for the connection behind p (batched). */
void auth_note_tool_call(const auth_principal *p);

/* Writes batched usage (last_used_at, last IP, grace-window uses) with one
 * statement per credential kind. Runs on the loop that owns db. */
void auth_usage_flush(db_pool *db);

/* Drops every cached entry (tests, listener reconnect). */
void auth_cache_clear(void);

/* Scope names: "read" | "write" | "admin". */
const char *auth_scope_name(auth_scope s);
auth_scope auth_scope_parse(const char *s);
/* Highest scope a role may use: member → write, admin/owner → admin. */
auth_scope auth_role_cap(const char *role);

#endif
