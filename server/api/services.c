/* api/services.c: the upstream services of the caller's org, their current
 * status (service_status, kept by ingest), their status timeline and the
 * project → service dependency graph. Read-only; follows api/projects.c. */
#include "api/services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "routes.h"

static const char *const STATUSES[] = { "operational", "degraded", "partial_outage", "major_outage", NULL };

/* ---- API layer ---- */

/* Filters: $5 status, $6 project id, $7 project slug, $8 search text. */
static const db_stmt LIST = {
	"services_list",
	"SELECT coalesce(json_agg(x ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT s.id, s.slug, s.name, s.provider, s.category, s.homepage_url, s.created_at,"
	"    coalesce(st.status, 'operational') AS status, coalesce(st.error_rate, 0) AS error_rate,"
	"    coalesce(st.sample_count, 0) AS sample_count, st.updated_at AS status_updated_at"
	"  FROM services s LEFT JOIN service_status st ON st.service_id = s.id"
	"  WHERE s.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (s.created_at, s.id) < ($2::timestamptz, $3::uuid))"
	"    AND ($5::text IS NULL OR coalesce(st.status, 'operational') = $5::text)"
	"    AND (($6::uuid IS NULL AND $7::text IS NULL) OR EXISTS (SELECT 1 FROM project_services ps"
	"      JOIN projects p ON p.id = ps.project_id"
	"      WHERE ps.service_id = s.id AND p.org_id = $1 AND (p.id = $6::uuid OR p.slug = $7::text)))"
	"    AND ($8::text IS NULL OR s.search @@ websearch_to_tsquery('simple', $8::text))"
	"  ORDER BY s.created_at DESC, s.id DESC LIMIT $4) x",
	8,
};

void api_services_list(const api_ctx *ctx, const api_page *page, const api_services_filter *f, api_done_fn done,
                       void *arg)
{
	static const api_services_filter none = { 0 };
	if (!f)
		f = &none;
	const char *project_id = NULL, *project_slug = NULL;
	if (f->status && !api__one_of(f->status, STATUSES)) {
		api_fail(API_INVALID, "status", "status must be operational, degraded, partial_outage or major_outage",
		         done, arg);
		return;
	}
	if (f->project && !api__id_or_slug(f->project, &project_id, &project_slug)) {
		api_fail(API_INVALID, "project", "project must be a project id or slug", done, arg);
		return;
	}
	if (f->q && !api__text_ok(f->q, 1, 200, false)) {
		api_fail(API_INVALID, "q", "q must be 1 to 200 characters of text", done, arg);
		return;
	}
	const char *filters[] = { f->status, project_id, project_slug, f->q };
	api_list_paged(ctx, &LIST, filters, 4, page, done, arg);
}

static const db_stmt GET = {
	"services_get",
	"SELECT json_build_object('id', s.id, 'slug', s.slug, 'name', s.name, 'provider', s.provider,"
	"  'category', s.category, 'homepage_url', s.homepage_url, 'created_at', s.created_at,"
	"  'status', coalesce(st.status, 'operational'), 'error_rate', coalesce(st.error_rate, 0),"
	"  'sample_count', coalesce(st.sample_count, 0), 'status_updated_at', st.updated_at,"
	"  'open_incidents', (SELECT count(*) FROM incidents i"
	"    WHERE i.org_id = s.org_id AND i.service_id = s.id AND i.status <> 'resolved'),"
	"  'projects', coalesce((SELECT json_agg(json_build_object('id', p.id, 'slug', p.slug, 'name', p.name)"
	"      ORDER BY p.name, p.id)"
	"    FROM project_services ps JOIN projects p ON p.id = ps.project_id WHERE ps.service_id = s.id), '[]'),"
	"  'timeline', coalesce((SELECT json_agg(json_build_object('status', h.status, 'changed_at', h.changed_at,"
	"      'reason', h.reason) ORDER BY h.changed_at DESC, h.id DESC)"
	"    FROM (SELECT * FROM service_status_history hh WHERE hh.service_id = s.id"
	"      ORDER BY hh.changed_at DESC, hh.id DESC LIMIT $4::int) h), '[]')) AS result"
	" FROM services s LEFT JOIN service_status st ON st.service_id = s.id"
	" WHERE s.org_id = $1 AND (s.id = $2::uuid OR s.slug = $3::text)",
	4,
};

void api_services_get(const api_ctx *ctx, const char *id_or_slug, int timeline_limit, api_done_fn done, void *arg)
{
	const char *id, *slug;
	if (!api__id_or_slug(id_or_slug, &id, &slug)) {
		api_fail(API_NOT_FOUND, NULL, "Not found.", done, arg);
		return;
	}
	if (timeline_limit == 0)
		timeline_limit = API_TIMELINE_DEFAULT;
	if (timeline_limit < 1 || timeline_limit > API_TIMELINE_MAX) {
		api_fail(API_INVALID, "timeline_limit", "timeline_limit must be an integer from 1 to 500", done, arg);
		return;
	}
	char lim[12];
	snprintf(lim, sizeof lim, "%d", timeline_limit);
	const char *params[] = { ctx->org_id, id, slug, lim };
	api_run(ctx, &GET, params, API_OK, done, arg);
}

static const db_stmt GRAPH = {
	"services_graph",
	"SELECT json_build_object("
	"  'projects', coalesce((SELECT json_agg(json_build_object('id', p.id, 'slug', p.slug, 'name', p.name,"
	"      'services', coalesce((SELECT json_agg(ps.service_id ORDER BY ps.service_id)"
	"        FROM project_services ps WHERE ps.project_id = p.id), '[]')) ORDER BY p.name, p.id)"
	"    FROM projects p WHERE p.org_id = $1), '[]'),"
	"  'services', coalesce((SELECT json_agg(json_build_object('id', s.id, 'slug', s.slug, 'name', s.name,"
	"      'status', coalesce(st.status, 'operational')) ORDER BY s.name, s.id)"
	"    FROM services s LEFT JOIN service_status st ON st.service_id = s.id WHERE s.org_id = $1), '[]')"
	") AS result",
	1,
};

void api_services_graph(const api_ctx *ctx, api_done_fn done, void *arg)
{
	const char *params[] = { ctx->org_id };
	api_run(ctx, &GRAPH, params, API_OK, done, arg);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_services_filter f = {
		.status = api__query(r, "status"),
		.project = api__query(r, "project"),
		.q = api__query(r, "q"),
	};
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_services_list(&ctx, &page, &f, api_reply_cb, r);
}

static void rest_get(http_req *r)
{
	const char *tl = api__query(r, "timeline_limit");
	int n = 0;
	if (tl) {
		char *end;
		long v = strtol(tl, &end, 10);
		if (*end || v < 1 || v > API_TIMELINE_MAX) {
			api__reply_invalid(r, "timeline_limit", "timeline_limit must be an integer from 1 to 500");
			return;
		}
		n = (int)v;
	}
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_services_get(&ctx, http_req_param(r, "id"), n, api_reply_cb, r);
}

static void rest_graph(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_services_graph(&ctx, api_reply_cb, r);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/services", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "List upstream services with their current status",
	  API__PAGE_QUERY ";status:string:operational, degraded, partial_outage or major_outage"
	  ";project:string:id or slug of a project: only the services it depends on"
	  ";q:string:text search over name, slug, provider and category (web search syntax)" },
	{ ROUTER_GET, "/api/v1/services/{id}", 0, rest_get, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "Get a service (by id or slug) with its status, error rate and status timeline",
	  "timeline_limit:integer:how many of the newest status changes to include, 1-500 (default 50)" },
	{ ROUTER_GET, "/api/v1/dependency-graph", 0, rest_graph, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "The projects of the organization, the services each depends on, and their statuses" },
};
ROUTES_MODULE(api_services_routes, "Services", ROUTES);
