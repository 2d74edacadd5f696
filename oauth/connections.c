/* connections.c: the AI Connections registry (see connections.h) and its
 * REST surface: GET /api/v1/connections, DELETE /api/v1/connections/{id}.
 * Rows are shaped once, in SQL (cupd_connection_json, migration 0010), for
 * the list and the revoke answer alike. */
#include "connections.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "grants.h"
#include "oauth_modules.h"
#include "routes.h"
#include "xmem.h"

/* ---- API layer ---- */

static const db_stmt LIST = {
	"connections_list",
	"SELECT coalesce(json_agg(cupd_connection_json(x.id) ORDER BY x.created_at DESC, x.id DESC), '[]') AS result "
	"FROM (SELECT g.id, g.created_at FROM oauth_grants g WHERE g.org_id = $1::uuid"
	"    AND ($2::timestamptz IS NULL OR (g.created_at, g.id) < ($2::timestamptz, $3::uuid))"
	"    AND ($5::uuid IS NULL OR g.user_id = $5::uuid)"
	"    AND ($6::text IS NULL OR $6::text = CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked'"
	"                                             WHEN g.expires_at <= now() THEN 'expired' ELSE 'active' END)"
	"    AND ($7::uuid IS NULL OR g.user_id = $7::uuid)"
	"    AND ($8::uuid IS NULL OR g.client_pk = $8::uuid)"
	"  ORDER BY g.created_at DESC, g.id DESC LIMIT $4) x",
	8,
};

static bool is_admin(const api_ctx *ctx)
{
	return ctx->scope >= AUTH_SCOPE_ADMIN;
}

void api_connections_list(const api_ctx *ctx, const api_connections_filter *filters, const api_page *page,
                          api_done_fn done, void *arg)
{
	api_connections_filter none = { 0 };
	const api_connections_filter *f = filters ? filters : &none;
	if (f->status && strcmp(f->status, "active") && strcmp(f->status, "revoked") && strcmp(f->status, "expired")) {
		api_fail(API_INVALID, "status", "status must be active, revoked or expired", done, arg);
		return;
	}
	if ((f->user_id && !api_is_uuid(f->user_id)) || (f->client_pk && !api_is_uuid(f->client_pk))) {
		api_fail(API_INVALID, f->user_id && !api_is_uuid(f->user_id) ? "user" : "client",
		         "user and client must be ids (uuid)", done, arg);
		return;
	}
	if (!is_admin(ctx) && !ctx->user_id[0]) {
		api_fail(API_FORBIDDEN, NULL, "AI Connections belong to users; this credential acts as none.", done, arg);
		return;
	}
	/* Everyone but an admin sees only their own connections. */
	const char *filters_sql[] = { is_admin(ctx) ? NULL : ctx->user_id, f->status, f->user_id, f->client_pk };
	api_list_paged(ctx, &LIST, filters_sql, 4, page, done, arg);
}

/* Marks what the statement revoked in this process at once, then answers. */
typedef struct revoked_call {
	api_done_fn done;
	void *arg;
} revoked_call;

static void mark(json_t *conn)
{
	const char *id = json_string_value(json_object_get(conn, "id"));
	const char *status = json_string_value(json_object_get(conn, "status"));
	if (id && status && !strcmp(status, "revoked"))
		oauth_grants_mark_revoked(id);
}

static void on_revoked(api_result *res, void *arg)
{
	revoked_call *rc = arg;
	if (res->status == API_OK && res->data) {
		json_t *ids = json_object_get(res->data, "revoked");
		if (json_is_array(ids)) {
			for (size_t i = 0; i < json_array_size(ids); i++) {
				const char *id = json_string_value(json_array_get(ids, i));
				if (id)
					oauth_grants_mark_revoked(id);
			}
		} else {
			mark(res->data);
		}
	}
	rc->done(res, rc->arg);
	free(rc);
}

static const db_stmt REVOKE = {
	"connections_revoke",
	"SELECT cupd_revoke_connection($1::uuid, $2::uuid, $3::uuid, $4::boolean, $5, $6, $7::inet, $8) AS result",
	8,
};

void api_connections_revoke(const api_ctx *ctx, const char *grant_id, api_done_fn done, void *arg)
{
	if (!grant_id || !api_is_uuid(grant_id)) {
		api_fail(API_NOT_FOUND, NULL, "No AI Connection with this id in your organization.", done, arg);
		return;
	}
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, grant_id, audit[2], is_admin(ctx) ? "true" : "false", audit[0], audit[1],
		                 audit[3], audit[4] };
	revoked_call *rc = xmalloc(sizeof *rc);
	rc->done = done;
	rc->arg = arg;
	api_run(ctx, &REVOKE, params, API_OK, on_revoked, rc);
}

static const db_stmt REVOKE_CLIENT = {
	"connections_revoke_client",
	"SELECT cupd_revoke_client_connections($1::uuid, $2::uuid, $3::uuid, $4, $5, $6::inet, $7) AS result",
	7,
};

void api_connections_revoke_client(const api_ctx *ctx, const char *client_pk, api_done_fn done, void *arg)
{
	if (!client_pk || !api_is_uuid(client_pk)) {
		api_fail(API_INVALID, "client", "client must be an id (uuid)", done, arg);
		return;
	}
	if (!ctx->user_id[0]) {
		api_fail(API_FORBIDDEN, NULL, "AI Connections belong to users; this credential acts as none.", done, arg);
		return;
	}
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, client_pk, ctx->user_id, audit[0], audit[1], audit[3], audit[4] };
	revoked_call *rc = xmalloc(sizeof *rc);
	rc->done = done;
	rc->arg = arg;
	api_run(ctx, &REVOKE_CLIENT, params, API_OK, on_revoked, rc);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_ctx ctx;
	api_page page;
	const char *why;
	if (!api_page_parse(http_req_query(r, "limit"), http_req_query(r, "cursor"), &page, &why)) {
		app_reply_bad_request(r, why);
		return;
	}
	api_connections_filter f = {
		.status = http_req_query(r, "status"),
		.user_id = http_req_query(r, "user"),
		.client_pk = http_req_query(r, "client"),
	};
	api_ctx_from_request(&ctx, r);
	api_connections_list(&ctx, &f, &page, api_reply_cb, r);
}

static void rest_revoke(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_connections_revoke(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/connections", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "List AI Connections (OAuth grants): all of the org for admins, your own otherwise",
	  "limit:integer:page size, 1-200 (default 50);cursor:string:next_cursor of the previous page;"
	  "status:string:active, revoked or expired;user:string:only this user's (id);"
	  "client:string:only this client's (id)" },
	{ ROUTER_DELETE, "/api/v1/connections/{id}", ROUTE_NOTIFY_BARRIER, rest_revoke, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Revoke an AI Connection: its tokens stop working on every instance at once (admin scope for "
	  "another member's)" },
};
ROUTES_MODULE(oauth_connections_routes, "AI Connections", ROUTES);
