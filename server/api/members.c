/* api/members.c: members of the caller's org; role changes (admin). */
#include "api/members.h"

#include <stdio.h>
#include <stdlib.h>

#include "api/common.h"
#include "app.h"
#include "routes.h"
#include "xmem.h"

/* ---- API layer ---- */

static const db_stmt LIST = {
	"members_list",
	"SELECT coalesce(json_agg(x ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT u.id, u.email, u.name, m.role, m.created_at AS joined_at, m.created_at,"
	"    u.disabled_at IS NOT NULL AS disabled"
	"  FROM org_members m JOIN users u ON u.id = m.user_id"
	"  WHERE m.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (m.created_at, m.user_id) < ($2::timestamptz, $3::uuid))"
	"  ORDER BY m.created_at DESC, m.user_id DESC LIMIT $4) x",
	4,
};

void api_members_list(const api_ctx *ctx, const api_page *page, api_done_fn done, void *arg)
{
	api_list_paged(ctx, &LIST, NULL, 0, page, done, arg);
}

/* The rules live in cupd_member_set_role (sql/migrations/0006). */
static const db_stmt SET_ROLE = {
	"members_set_role",
	"SELECT cupd_member_set_role($1, $2::uuid, $3::uuid, $4::text, $5, $6, $7::inet, $8) AS result",
	8,
};

typedef struct set_role_call {
	char user_id[37];
	api_done_fn done;
	void *arg;
} set_role_call;

static void set_role_done(api_result *res, void *arg)
{
	set_role_call *c = arg;
	if (res->status == API_OK) {
		/* The NOTIFY of the org_members trigger reaches every instance's
		 * listener, but asynchronously: drop this instance's copies now so
		 * the caller's very next request here already sees the new role. */
		char payload[48];
		snprintf(payload, sizeof payload, "user:%s", c->user_id);
		auth_on_notify(APP_NOTIFY_CHANNEL, payload, NULL);
	}
	c->done(res, c->arg);
	free(c);
}

void api_members_set_role(const api_ctx *ctx, const char *user_id, const char *role, api_done_fn done, void *arg)
{
	static const char *const ROLES[] = { "owner", "admin", "member", NULL };
	if (!api_is_uuid(user_id)) {
		api_fail(API_NOT_FOUND, NULL, "Not found.", done, arg);
		return;
	}
	if (!api__one_of(role, ROLES)) {
		api_fail(API_INVALID, "role", "role must be owner, admin or member", done, arg);
		return;
	}
	set_role_call *c = xmalloc(sizeof *c);
	snprintf(c->user_id, sizeof c->user_id, "%s", user_id);
	c->done = done;
	c->arg = arg;
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, a[2], user_id, role, a[0], a[1], a[3], a[4] };
	api__run(ctx, &SET_ROLE, params, API_OK, set_role_done, c);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_members_list(&ctx, &page, api_reply_cb, r);
}

static void rest_update(http_req *r)
{
	static const char *const allowed[] = { "role", NULL };
	json_t *body = api__body_or_reply(r, allowed);
	if (!body)
		return;
	const char *role = NULL;
	if (api__str_or_reply(r, body, "role", &role, NULL)) {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_members_set_role(&ctx, http_req_param(r, "user_id"), role, api_reply_cb, r);
	}
	json_decref(body);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/members", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "List the members of the organization with their roles", API__PAGE_QUERY },
	{ ROUTER_PATCH, "/api/v1/members/{user_id}", ROUTE_NOTIFY_BARRIER, rest_update, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "Change a member's role (only owners grant or remove owner; the last owner stays)", NULL,
	  "{\"type\":\"object\",\"required\":[\"role\"],\"additionalProperties\":false,\"properties\":{"
	  "\"role\":{\"enum\":[\"owner\",\"admin\",\"member\"]}}}" },
};
ROUTES_MODULE(api_members_routes, "Members", ROUTES);
