/* api/search.c: GET /api/v1/search — the stored tsvector columns of
 * incidents, services and runbooks (sql/migrations/0002, 0003), queried
 * with websearch_to_tsquery('simple', q) so the GIN indexes serve it. Each
 * kind is capped before the merge, and ts_headline (costly on long runbook
 * bodies) runs only on the hits that are returned. */
#include "api/search.h"

#include <stdio.h>
#include <stdlib.h>

#include "api/common.h"
#include "routes.h"

/* $2 q, $3 limit. */
static const db_stmt FIND = {
	"search_find",
	"WITH q AS (SELECT websearch_to_tsquery('simple', $2::text) AS tsq),"
	" hits AS ("
	"  (SELECT 'incident' AS type, i.id, i.title, i.status || ', ' || i.severity AS snippet, NULL::text AS body,"
	"     ts_rank(i.search, q.tsq) AS rank, i.created_at"
	"   FROM incidents i, q WHERE i.org_id = $1 AND i.search @@ q.tsq"
	"   ORDER BY rank DESC, i.created_at DESC LIMIT $3::int)"
	"  UNION ALL"
	"  (SELECT 'service', s.id, s.name, concat_ws(', ', s.provider, nullif(s.category, '')), NULL,"
	"     ts_rank(s.search, q.tsq), s.created_at"
	"   FROM services s, q WHERE s.org_id = $1 AND s.search @@ q.tsq"
	"   ORDER BY 6 DESC, 7 DESC LIMIT $3::int)"
	"  UNION ALL"
	"  (SELECT 'runbook', r.id, r.title, NULL, r.body, ts_rank(r.search, q.tsq), r.created_at"
	"   FROM runbooks r, q WHERE r.org_id = $1 AND r.search @@ q.tsq"
	"   ORDER BY 6 DESC, 7 DESC LIMIT $3::int)),"
	" top AS (SELECT * FROM hits ORDER BY rank DESC, created_at DESC, id LIMIT $3::int)"
	" SELECT json_build_object('data', coalesce((SELECT json_agg(json_build_object('type', t.type, 'id', t.id,"
	"     'title', t.title, 'snippet', coalesce(t.snippet, ts_headline('simple', t.body, q.tsq,"
	"       'StartSel=**, StopSel=**, MaxWords=30, MinWords=10, MaxFragments=1')))"
	"     ORDER BY t.rank DESC, t.created_at DESC, t.id) FROM top t, q), '[]'),"
	"   'next_cursor', NULL::text) AS result",
	3,
};

void api_search_find(const api_ctx *ctx, const char *q, int limit, api_done_fn done, void *arg)
{
	if (!q || !*q) {
		api_fail(API_INVALID, "q", "q is required: the text to search for", done, arg);
		return;
	}
	if (!api__text_ok(q, 1, 200, false)) {
		api_fail(API_INVALID, "q", "q must be 1 to 200 characters of text", done, arg);
		return;
	}
	if (limit == 0)
		limit = API_SEARCH_DEFAULT;
	if (limit < 1 || limit > API_SEARCH_MAX) {
		api_fail(API_INVALID, "limit", "limit must be an integer from 1 to 50", done, arg);
		return;
	}
	char lim[12];
	snprintf(lim, sizeof lim, "%d", limit);
	const char *params[] = { ctx->org_id, q, lim };
	api_run(ctx, &FIND, params, API_OK, done, arg);
}

/* ---- REST ---- */

static void rest_find(http_req *r)
{
	const char *l = api__query(r, "limit");
	int n = 0;
	if (l) {
		char *end;
		long v = strtol(l, &end, 10);
		if (*end || v < 1 || v > API_SEARCH_MAX) {
			api__reply_invalid(r, "limit", "limit must be an integer from 1 to 50");
			return;
		}
		n = (int)v;
	}
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_search_find(&ctx, http_req_query(r, "q"), n, api_reply_cb, r);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/search", 0, rest_find, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "Search incidents, services and runbooks by text",
	  "q:string:the text (web search syntax: words, \"phrases\", -exclusions), required"
	  ";limit:integer:most hits to return, 1-50 (default 20)" },
};
ROUTES_MODULE(api_search_routes, "Search", ROUTES);
