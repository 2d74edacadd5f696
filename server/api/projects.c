/* api/projects.c: projects of the caller's org.
 *
 * The pattern every resource follows: an api_* function per operation
 * (shared by REST and MCP) that validates input and runs ONE statement whose
 * single json column "result" is the answer; REST handlers only parse the
 * request, call it, and pass api_reply_cb. Writes audit in the same
 * statement, so the change and its audit row commit together. */
#include "api/projects.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "routes.h"

/* ---- API layer ---- */

static const db_stmt LIST = {
	"projects_list",
	"SELECT coalesce(json_agg(x ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT p.id, p.slug, p.name, p.created_at,"
	"    (SELECT count(*) FROM project_services ps WHERE ps.project_id = p.id) AS service_count"
	"  FROM projects p WHERE p.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (p.created_at, p.id) < ($2::timestamptz, $3::uuid))"
	"  ORDER BY p.created_at DESC, p.id DESC LIMIT $4) x",
	4,
};

void api_projects_list(const api_ctx *ctx, const api_page *page, api_done_fn done, void *arg)
{
	api_list_paged(ctx, &LIST, NULL, 0, page, done, arg);
}

static const db_stmt GET = {
	"projects_get",
	"SELECT json_build_object('id', p.id, 'slug', p.slug, 'name', p.name, 'created_at', p.created_at,"
	"  'services', coalesce((SELECT json_agg(json_build_object('id', s.id, 'slug', s.slug, 'name', s.name,"
	"      'status', coalesce(st.status, 'operational')) ORDER BY s.name)"
	"    FROM project_services ps JOIN services s ON s.id = ps.service_id"
	"    LEFT JOIN service_status st ON st.service_id = s.id"
	"    WHERE ps.project_id = p.id), '[]')) AS result"
	" FROM projects p WHERE p.org_id = $1 AND (p.id::text = $2 OR p.slug = $2)",
	2,
};

void api_projects_get(const api_ctx *ctx, const char *id_or_slug, api_done_fn done, void *arg)
{
	const char *params[] = { ctx->org_id, id_or_slug };
	api_run(ctx, &GET, params, API_OK, done, arg);
}

static const db_stmt CREATE = {
	"projects_create",
	"WITH ins AS (INSERT INTO projects (org_id, slug, name) VALUES ($1, $2, $3)"
	"    RETURNING id, slug, name, created_at),"
	" aud AS (INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_user_id, action,"
	"    target_kind, target_id, ip, user_agent, metadata)"
	"  SELECT $1, $4, $5, $6::uuid, 'project.create', 'project', ins.id::text, $7::inet, $8,"
	"    json_build_object('slug', ins.slug)::jsonb FROM ins)"
	" SELECT row_to_json(ins) AS result FROM ins",
	8,
};

static bool valid_slug(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 63 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

void api_projects_create(const api_ctx *ctx, const char *slug, const char *name, api_done_fn done, void *arg)
{
	if (!slug || !valid_slug(slug)) {
		api_fail(API_INVALID, "slug", "slug must be 2-63 lowercase letters, digits or '-', not starting with '-'",
		         done, arg);
		return;
	}
	if (!name || !*name || strlen(name) > 200) {
		api_fail(API_INVALID, "name", "name must be 1 to 200 characters", done, arg);
		return;
	}
	const char *audit[5];
	api_audit_params(ctx, audit);
	const char *params[] = { ctx->org_id, slug, name, audit[0], audit[1], audit[2], audit[3], audit[4] };
	api_run(ctx, &CREATE, params, API_CREATED, done, arg);
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
	api_ctx_from_request(&ctx, r);
	api_projects_list(&ctx, &page, api_reply_cb, r);
}

static void rest_get(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_projects_get(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static void rest_create(http_req *r)
{
	json_t *body = api_body_object(r);
	if (!body)
		return;
	bool ok = true;
	const char *why = NULL;
	const char *slug = api_json_str(body, "slug", 1, 63, &ok, &why);
	const char *name = ok ? api_json_str(body, "name", 1, 200, &ok, &why) : NULL;
	if (!ok) {
		app_reply_bad_request(r, why);
	} else {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_projects_create(&ctx, slug, name, api_reply_cb, r);
	}
	json_decref(body);
}

#define PAGE_QUERY "limit:integer:page size, 1-200 (default 50);cursor:string:next_cursor of the previous page"

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/projects", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "List projects", PAGE_QUERY },
	{ ROUTER_POST, "/api/v1/projects", 0, rest_create, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Create a project", NULL,
	  "{\"type\":\"object\",\"required\":[\"slug\",\"name\"],\"additionalProperties\":false,"
	  "\"properties\":{\"slug\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9][a-z0-9-]{1,62}$\"},"
	  "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200}}}",
	  201 },
	{ ROUTER_GET, "/api/v1/projects/{id}", 0, rest_get, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "Get a project (by id or slug) with the services it depends on" },
};
ROUTES_MODULE(api_projects_routes, "Projects", ROUTES);
