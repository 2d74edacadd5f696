/* api.h: the API layer shared by REST handlers and MCP tools (DESIGN.md §3).
 *
 * An API function takes an api_ctx (who acts, in which org, from where) and
 * typed inputs, validates them, runs one SQL statement and hands back an
 * api_result with a JSON document. REST turns the result into an HTTP reply
 * (api_reply); MCP turns it into a tool result. Neither re-implements the
 * other: an MCP tool is a thin adapter over these functions.
 *
 * Statements run by api_run return one row with one json column named
 * "result" (zero rows = not found). Domain errors are raised in SQL with
 * SQLSTATEs that api_run maps: CU404 not found, CU409 conflict, CU400
 * invalid (message shown to the caller), CU403 forbidden; constraint
 * violations map to 400/409 as well. Completion callbacks run exactly once,
 * possibly before the API function returns (e.g. invalid input or the
 * database being down), so callers do nothing after calling one. */
#ifndef CUPD_API_H
#define CUPD_API_H

#include <jansson.h>
#include <stdbool.h>

#include "auth.h"
#include "db.h"
#include "http.h"

typedef struct api_ctx {
	char org_id[37];
	char org_slug[64];
	char user_id[37];          /* acting user ("" for SDK Keys) */
	auth_scope scope;
	const char *actor_kind;    /* "api_token" | "connection" | "user" (audit_events.actor_kind) */
	char actor_id[37];         /* token / grant / user id */
	char ip[46];
	char user_agent[256];
	char request_id[40];
	db_pool *db;               /* the calling worker's pool */
	const cfg *c;
} api_ctx;

typedef enum {
	API_OK = 0,
	API_CREATED,
	API_NOT_FOUND,
	API_INVALID,
	API_CONFLICT,
	API_FORBIDDEN,
	API_UNAVAILABLE,
	API_INTERNAL,
} api_status;

typedef struct api_result {
	api_status status;
	json_t *data;           /* owned by the callback: keep it (incref) or let it go */
	const char *message;    /* for errors; valid during the callback */
	const char *field;      /* invalid input: which field, or NULL */
	const char *etag;       /* quoted weak ETag of data when computed, or NULL */
} api_result;

typedef void (*api_done_fn)(api_result *res, void *arg);

/* Fills ctx from an authenticated REST request. */
void api_ctx_from_request(api_ctx *ctx, const http_req *r);

/* Runs st; see the file comment for the contract. ok_status is what a
 * success reports (API_OK or API_CREATED). */
void api_run(const api_ctx *ctx, const db_stmt *st, const char *const *params, api_status ok_status,
             api_done_fn done, void *arg);

/* Completes with an error without touching the database. */
void api_fail(api_status st, const char *field, const char *message, api_done_fn done, void *arg);

/* True when id is a uuid. Otherwise completes with API_NOT_FOUND ("No
 * <what> with this id in your organization.") and returns false: a
 * malformed id is simply not found, and never reaches a SQL cast. */
bool api_uuid_or_not_found(const char *id, const char *what, api_done_fn done, void *arg);

/* ---- REST adapter ---- */
/* Maps res to an HTTP reply: 200/201 with data, 400 (+ "field"), 403, 404,
 * 409, 503 + Retry-After, 500; adds the ETag and answers 304 when the
 * request's If-None-Match matches. */
void api_reply(http_req *r, api_result *res);

/* An api_done_fn for REST: arg is the http_req. */
void api_reply_cb(api_result *res, void *arg);

/* The request body parsed as a JSON object, or NULL after answering 400
 * (not JSON, not an object, wrong Content-Type) itself. Caller owns it. */
json_t *api_body_object(http_req *r);

/* ---- pagination: opaque cursors over (created_at, id) ---- */
enum { API_LIMIT_DEFAULT = 50, API_LIMIT_MAX = 200 };

typedef struct api_page {
	int limit;                 /* 1..API_LIMIT_MAX */
	char limit_plus_one[12];   /* as text, for SQL: fetch one extra to know if more exist */
	char after_ts[40];         /* "" = first page */
	char after_id[37];
} api_page;

/* Parses limit/cursor text (either may be NULL). False with *why on bad input. */
bool api_page_parse(const char *limit, const char *cursor, api_page *out, const char **why);
/* The SQL parameters for the page: after_ts or NULL, after_id or NULL. */
const char *api_page_ts(const api_page *p);
const char *api_page_id(const api_page *p);
/* Turns rows (limit+1 fetched, each with "created_at" and "id") into
 * {"data": [...limit...], "next_cursor": "..."|null}. Steals rows. */
json_t *api_page_wrap(json_t *rows, const api_page *p);

/* Runs a paged list statement whose parameters are (org_id, after_ts,
 * after_id, limit+1, filters...) and answers {data, next_cursor}; the
 * statement returns a json array of rows ordered by (created_at, id) DESC. */
void api_list_paged(const api_ctx *ctx, const db_stmt *st, const char *const *filters, int nfilters,
                    const api_page *page, api_done_fn done, void *arg);

/* Cursor text codec (exposed for tests and fuzzing). */
bool api_cursor_encode(const char *ts, const char *id, char *out, size_t cap);
bool api_cursor_decode(const char *cursor, char ts[40], char id[37]);

/* The five audit parameters every writing statement takes, in this order:
 * actor_kind, actor_id, actor_user_id (NULL if none), ip (NULL if unknown),
 * user_agent. Pointers borrow from ctx. */
void api_audit_params(const api_ctx *ctx, const char *out[5]);

/* The OpenAPI 3.1 document of every /api/ and /v1/ route in rt. */
struct router;
json_t *api_openapi_document(const struct router *rt, const cfg *c);

/* ---- input checks (true = valid) ---- */
bool api_is_uuid(const char *s);
/* A JSON string member of obj within [min,max] bytes of valid UTF-8 without
 * control characters; NULL when absent. *ok false (and *why set) when
 * present but invalid. */
const char *api_json_str(json_t *obj, const char *key, size_t min, size_t max, bool *ok, const char **why);

#endif
