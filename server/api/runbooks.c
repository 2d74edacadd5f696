/* api/runbooks.c: runbooks of the caller's org — CRUD plus text search. */
#include "api/runbooks.h"

#include "api/common.h"
#include "routes.h"

#define RUNBOOK_FIELDS(a) \
	"'id', " a ".id, 'title', " a ".title," \
	" 'service', (SELECT json_build_object('id', svc.id, 'slug', svc.slug, 'name', svc.name)" \
	"   FROM services svc WHERE svc.id = " a ".service_id)," \
	" 'created_by', " a ".created_by, 'created_at', " a ".created_at, 'updated_at', " a ".updated_at"

#define RUNBOOK_JSON(a) "json_build_object(" RUNBOOK_FIELDS(a) ", 'body', " a ".body)"

/* ---- API layer ---- */

/* Filters: $5 search text, $6 service id, $7 service slug. */
static const db_stmt LIST = {
	"runbooks_list",
	"SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT r.id, r.created_at, json_build_object(" RUNBOOK_FIELDS("r") ","
	"    'excerpt', left(r.body, 200)) AS j FROM runbooks r"
	"  WHERE r.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2::timestamptz, $3::uuid))"
	"    AND ($5::text IS NULL OR r.search @@ websearch_to_tsquery('simple', $5::text))"
	"    AND (($6::uuid IS NULL AND $7::text IS NULL) OR r.service_id IN (SELECT s.id FROM services s"
	"         WHERE s.org_id = $1 AND (s.id = $6::uuid OR s.slug = $7::text)))"
	"  ORDER BY r.created_at DESC, r.id DESC LIMIT $4) x",
	7,
};

void api_runbooks_list(const api_ctx *ctx, const api_page *page, const api_runbooks_filter *f, api_done_fn done,
                       void *arg)
{
	static const api_runbooks_filter none = { 0 };
	if (!f)
		f = &none;
	const char *svc_id = NULL, *svc_slug = NULL;
	if (f->q && !api__text_ok(f->q, 1, 200, false)) {
		api_fail(API_INVALID, "q", "q must be 1 to 200 characters of text", done, arg);
		return;
	}
	if (f->service && !api__id_or_slug(f->service, &svc_id, &svc_slug)) {
		api_fail(API_INVALID, "service", "service must be a service id or slug", done, arg);
		return;
	}
	const char *filters[] = { f->q, svc_id, svc_slug };
	api_list_paged(ctx, &LIST, filters, 3, page, done, arg);
}

static const db_stmt GET = {
	"runbooks_get",
	"SELECT " RUNBOOK_JSON("r") " AS result FROM runbooks r WHERE r.org_id = $1 AND r.id = $2::uuid",
	2,
};

void api_runbooks_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "runbook", done, arg))
		return;
	const char *params[] = { ctx->org_id, id };
	api_run(ctx, &GET, params, API_OK, done, arg);
}

/* $2 title, $3 body, $4/$5 service id/slug, $6..$10 audit. */
static const db_stmt CREATE = {
	"runbooks_create",
	"WITH ins AS (INSERT INTO runbooks (org_id, service_id, title, body, created_by)"
	"    VALUES ($1, " API__SERVICE_REF("$4", "$5") ", $2, $3, $8::uuid) RETURNING *),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $6, $7, $8::uuid, 'runbook.create', 'runbook', ins.id::text, $9::inet, $10,"
	"      jsonb_build_object('title', ins.title, 'service_id', ins.service_id) FROM ins)"
	" SELECT " RUNBOOK_JSON("ins") " AS result FROM ins",
	10,
};

static bool check_service(const char *service, const char **id, const char **slug, api_done_fn done, void *arg)
{
	*id = *slug = NULL;
	if (service && !api__id_or_slug(service, id, slug)) {
		api_fail(API_INVALID, "service", "service must be a service id or slug", done, arg);
		return false;
	}
	return true;
}

static bool check_title(const char *title, api_done_fn done, void *arg)
{
	if (api__text_ok(title, 1, API_RUNBOOK_TITLE_MAX, false))
		return true;
	api_fail(API_INVALID, "title", "title must be 1 to 300 characters on one line", done, arg);
	return false;
}

static bool check_body(const char *body, api_done_fn done, void *arg)
{
	if (api__text_ok(body, 0, API_RUNBOOK_BODY_MAX, true))
		return true;
	api_fail(API_INVALID, "body", "body must be text of at most 200000 characters", done, arg);
	return false;
}

void api_runbooks_create(const api_ctx *ctx, const api_runbook_new *in, api_done_fn done, void *arg)
{
	const char *svc_id, *svc_slug, *body = in->body ? in->body : "";
	if (!check_title(in->title, done, arg) || !check_body(body, done, arg) ||
	    !check_service(in->service, &svc_id, &svc_slug, done, arg))
		return;
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, in->title, body, svc_id, svc_slug, a[0], a[1], a[2], a[3], a[4] };
	api__run(ctx, &CREATE, params, API_CREATED, done, arg);
}

/* $2 id, $3 title, $4 body (NULL = keep), $5 change the service link?,
 * $6/$7 service id/slug, $8..$12 audit. Audited only when something changed. */
static const db_stmt UPDATE = {
	"runbooks_update",
	"WITH cur AS (SELECT * FROM runbooks WHERE org_id = $1 AND id = $2::uuid FOR UPDATE),"
	" upd AS (UPDATE runbooks r SET title = coalesce($3::text, r.title), body = coalesce($4::text, r.body),"
	"    service_id = CASE WHEN $5::boolean THEN " API__SERVICE_REF("$6", "$7") " ELSE r.service_id END"
	"    FROM cur WHERE r.id = cur.id RETURNING r.*),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $8, $9, $10::uuid, 'runbook.update', 'runbook', upd.id::text, $11::inet, $12,"
	"      jsonb_build_object('changed', to_jsonb(array_remove(ARRAY["
	"        CASE WHEN upd.title <> cur.title THEN 'title' END,"
	"        CASE WHEN upd.body <> cur.body THEN 'body' END,"
	"        CASE WHEN upd.service_id IS DISTINCT FROM cur.service_id THEN 'service' END], NULL)),"
	"        'title', upd.title)"
	"    FROM upd JOIN cur ON cur.id = upd.id"
	"    WHERE (upd.title, upd.body, upd.service_id) IS DISTINCT FROM (cur.title, cur.body, cur.service_id))"
	" SELECT " RUNBOOK_JSON("upd") " AS result FROM upd",
	12,
};

void api_runbooks_update(const api_ctx *ctx, const char *id, const api_runbook_patch *p, api_done_fn done,
                         void *arg)
{
	const char *svc_id, *svc_slug;
	if (!api_uuid_or_not_found(id, "runbook", done, arg))
		return;
	if (!p->title && !p->body && !p->set_service) {
		api_fail(API_INVALID, NULL, "send at least one of title, body and service", done, arg);
		return;
	}
	if ((p->title && !check_title(p->title, done, arg)) || (p->body && !check_body(p->body, done, arg)) ||
	    !check_service(p->set_service ? p->service : NULL, &svc_id, &svc_slug, done, arg))
		return;
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, id, p->title, p->body, p->set_service ? "true" : "false", svc_id,
		                 svc_slug, a[0], a[1], a[2], a[3], a[4] };
	api__run(ctx, &UPDATE, params, API_OK, done, arg);
}

/* $2 id, $3..$7 audit. */
static const db_stmt DELETE = {
	"runbooks_delete",
	"WITH del AS (DELETE FROM runbooks WHERE org_id = $1 AND id = $2::uuid RETURNING id, title),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $3, $4, $5::uuid, 'runbook.delete', 'runbook', del.id::text, $6::inet, $7,"
	"      jsonb_build_object('title', del.title) FROM del)"
	" SELECT json_build_object('id', del.id, 'deleted', true) AS result FROM del",
	7,
};

void api_runbooks_delete(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "runbook", done, arg))
		return;
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, id, a[0], a[1], a[2], a[3], a[4] };
	api_run(ctx, &DELETE, params, API_OK, done, arg);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_runbooks_filter f = { .q = api__query(r, "q"), .service = api__query(r, "service") };
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_runbooks_list(&ctx, &page, &f, api_reply_cb, r);
}

static void rest_get(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_runbooks_get(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static void rest_create(http_req *r)
{
	static const char *const allowed[] = { "title", "body", "service", NULL };
	json_t *body = api__body_or_reply(r, allowed);
	if (!body)
		return;
	api_runbook_new in = { 0 };
	if (api__str_or_reply(r, body, "title", &in.title, NULL) && api__str_or_reply(r, body, "body", &in.body, NULL) &&
	    api__str_or_reply(r, body, "service", &in.service, NULL)) {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_runbooks_create(&ctx, &in, api_reply_cb, r);
	}
	json_decref(body);
}

static void rest_update(http_req *r)
{
	static const char *const allowed[] = { "title", "body", "service", NULL };
	json_t *body = api__body_or_reply(r, allowed);
	if (!body)
		return;
	api_runbook_patch p = { 0 };
	if (api__str_or_reply(r, body, "title", &p.title, NULL) && api__str_or_reply(r, body, "body", &p.body, NULL) &&
	    api__str_or_reply(r, body, "service", &p.service, &p.set_service)) {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_runbooks_update(&ctx, http_req_param(r, "id"), &p, api_reply_cb, r);
	}
	json_decref(body);
}

static void rest_delete(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_runbooks_delete(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

#define RUNBOOK_PROPS \
	"\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":300}," \
	"\"body\":{\"type\":\"string\",\"maxLength\":200000,\"description\":\"markdown\"}," \
	"\"service\":{\"type\":[\"string\",\"null\"],\"description\":\"service id or slug; null: not tied to one\"}"

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/runbooks", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "List runbooks, newest first",
	  API__PAGE_QUERY ";q:string:text search over title and body (web search syntax)"
	  ";service:string:id or slug of a service" },
	{ ROUTER_POST, "/api/v1/runbooks", 0, rest_create, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Create a runbook", NULL,
	  "{\"type\":\"object\",\"required\":[\"title\"],\"additionalProperties\":false,\"properties\":{" RUNBOOK_PROPS
	  "}}",
	  201 },
	{ ROUTER_GET, "/api/v1/runbooks/{id}", 0, rest_get, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "Get a runbook with its body" },
	{ ROUTER_PATCH, "/api/v1/runbooks/{id}", 0, rest_update, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Update a runbook's title, body or service link", NULL,
	  "{\"type\":\"object\",\"minProperties\":1,\"additionalProperties\":false,\"properties\":{" RUNBOOK_PROPS "}}" },
	{ ROUTER_DELETE, "/api/v1/runbooks/{id}", 0, rest_delete, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Delete a runbook" },
};
ROUTES_MODULE(api_runbooks_routes, "Runbooks", ROUTES);
