/* api/incidents.c: incidents of the caller's org: list with filters, get,
 * create, update (status, severity, title) and acknowledge. Notes live in
 * api/incident_notes.c. Each operation is one statement; writes lock the
 * row they change (FOR UPDATE in a CTE), so concurrent updates and
 * acknowledgements serialise, and add their audit row in the same
 * statement. */
#include "api/incidents.h"

#include <string.h>

#include "api/common.h"
#include "api/incidents_sql.h"
#include "routes.h"

static const char *const STATUSES[] = { "investigating", "identified", "monitoring", "resolved", NULL };
static const char *const SEVERITIES[] = { "minor", "major", "critical", NULL };

/* ---- API layer ---- */

/* Filters: $5 status or 'open', $6 service id, $7 service slug, $8 since, $9 severity. */
static const db_stmt LIST = {
	"incidents_list",
	"SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT i.id, i.created_at, " INCIDENT_JSON("i") " AS j FROM incidents i"
	"  WHERE i.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (i.created_at, i.id) < ($2::timestamptz, $3::uuid))"
	"    AND ($5::text IS NULL OR (CASE WHEN $5::text = 'open' THEN i.status <> 'resolved'"
	"         ELSE i.status = $5::text END))"
	"    AND (($6::uuid IS NULL AND $7::text IS NULL) OR i.service_id IN (SELECT s.id FROM services s"
	"         WHERE s.org_id = $1 AND (s.id = $6::uuid OR s.slug = $7::text)))"
	"    AND ($8::timestamptz IS NULL OR i.started_at >= $8::timestamptz)"
	"    AND ($9::text IS NULL OR i.severity = $9::text)"
	"  ORDER BY i.created_at DESC, i.id DESC LIMIT $4) x",
	9,
};

void api_incidents_list(const api_ctx *ctx, const api_page *page, const api_incidents_filter *f, api_done_fn done,
                        void *arg)
{
	static const api_incidents_filter none = { 0 };
	if (!f)
		f = &none;
	const char *svc_id = NULL, *svc_slug = NULL;
	if (f->status && strcmp(f->status, "open") && !api__one_of(f->status, STATUSES)) {
		api_fail(API_INVALID, "status",
		         "status must be investigating, identified, monitoring, resolved or open (= not resolved)", done,
		         arg);
		return;
	}
	if (f->service && !api__id_or_slug(f->service, &svc_id, &svc_slug)) {
		api_fail(API_INVALID, "service", "service must be a service id or slug", done, arg);
		return;
	}
	if (f->since && !api__is_timestamp(f->since)) {
		api_fail(API_INVALID, "since", "since must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z", done, arg);
		return;
	}
	if (f->severity && !api__one_of(f->severity, SEVERITIES)) {
		api_fail(API_INVALID, "severity", "severity must be minor, major or critical", done, arg);
		return;
	}
	const char *filters[] = { f->status, svc_id, svc_slug, f->since, f->severity };
	api_list_paged(ctx, &LIST, filters, 5, page, done, arg);
}

static const db_stmt GET = {
	"incidents_get",
	"SELECT json_build_object(" INCIDENT_FIELDS("i") ", " INCIDENT_NOTES("i") ") AS result"
	" FROM incidents i WHERE i.org_id = $1 AND i.id = $2::uuid",
	2,
};

void api_incidents_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "incident", done, arg))
		return;
	const char *params[] = { ctx->org_id, id };
	api_run(ctx, &GET, params, API_OK, done, arg);
}

/* $2 title, $3/$4 service id/slug (both NULL: none), $5 status, $6 severity,
 * $7 first note, $8..$12 audit (kind, id, user, ip, user agent). The
 * service must be the org's; otherwise cupd_fail raises a 400 on "service". */
static const db_stmt CREATE = {
	"incidents_create",
	"WITH ins AS (INSERT INTO incidents (org_id, service_id, title, status, severity, resolved_at, created_by)"
	"    VALUES ($1, " API__SERVICE_REF("$3", "$4") ", $2, $5, $6,"
	"      CASE WHEN $5::text = 'resolved' THEN now() END, $10::uuid)"
	"    RETURNING *),"
	" note AS (INSERT INTO incident_notes (incident_id, author_id, body)"
	"    SELECT ins.id, $10::uuid, $7::text FROM ins WHERE $7::text IS NOT NULL RETURNING *),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $8, $9, $10::uuid, 'incident.create', 'incident', ins.id::text, $11::inet, $12,"
	"      jsonb_build_object('title', ins.title, 'status', ins.status, 'severity', ins.severity,"
	"        'service_id', ins.service_id, 'note', $7::text IS NOT NULL) FROM ins)"
	" SELECT json_build_object(" INCIDENT_FIELDS("ins") ","
	"   'notes', coalesce((SELECT json_agg(" NOTE_JSON("n") ") FROM note n), '[]'),"
	"   'note_count', (SELECT count(*) FROM note)) AS result FROM ins",
	12,
};

void api_incidents_create(const api_ctx *ctx, const api_incident_new *in, api_done_fn done, void *arg)
{
	const char *svc_id = NULL, *svc_slug = NULL;
	const char *status = in->status ? in->status : "investigating";
	const char *severity = in->severity ? in->severity : "minor";
	if (!api__text_ok(in->title, 1, API_INCIDENT_TITLE_MAX, false)) {
		api_fail(API_INVALID, "title", "title must be 1 to 300 characters on one line", done, arg);
		return;
	}
	if (in->service && !api__id_or_slug(in->service, &svc_id, &svc_slug)) {
		api_fail(API_INVALID, "service", "service must be a service id or slug", done, arg);
		return;
	}
	if (!api__one_of(status, STATUSES)) {
		api_fail(API_INVALID, "status", "status must be investigating, identified, monitoring or resolved", done,
		         arg);
		return;
	}
	if (!api__one_of(severity, SEVERITIES)) {
		api_fail(API_INVALID, "severity", "severity must be minor, major or critical", done, arg);
		return;
	}
	if (in->note && !api__text_ok(in->note, 1, API_INCIDENT_NOTE_MAX, true)) {
		api_fail(API_INVALID, "note", "note must be 1 to 10000 characters of text", done, arg);
		return;
	}
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, in->title, svc_id, svc_slug, status, severity, in->note,
		                 a[0], a[1], a[2], a[3], a[4] };
	api__run(ctx, &CREATE, params, API_CREATED, done, arg);
}

/* $2 id, $3 title, $4 status, $5 severity (NULL = keep), $6..$10 audit. */
static const db_stmt UPDATE = {
	"incidents_update",
	"WITH cur AS (SELECT * FROM incidents WHERE org_id = $1 AND id = $2::uuid FOR UPDATE),"
	" upd AS (UPDATE incidents i SET title = coalesce($3::text, i.title), status = coalesce($4::text, i.status),"
	"    severity = coalesce($5::text, i.severity),"
	"    resolved_at = CASE WHEN $4::text IS NULL THEN i.resolved_at"
	"      WHEN $4::text = 'resolved' THEN coalesce(i.resolved_at, now()) ELSE NULL END"
	"    FROM cur WHERE i.id = cur.id RETURNING i.*),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $6, $7, $8::uuid, 'incident.update', 'incident', upd.id::text, $9::inet, $10,"
	"      jsonb_strip_nulls(jsonb_build_object("
	"        'title', CASE WHEN upd.title <> cur.title THEN jsonb_build_object('from', cur.title, 'to', upd.title) END,"
	"        'status', CASE WHEN upd.status <> cur.status"
	"          THEN jsonb_build_object('from', cur.status, 'to', upd.status) END,"
	"        'severity', CASE WHEN upd.severity <> cur.severity"
	"          THEN jsonb_build_object('from', cur.severity, 'to', upd.severity) END))"
	"    FROM upd JOIN cur ON cur.id = upd.id"
	"    WHERE (upd.title, upd.status, upd.severity) IS DISTINCT FROM (cur.title, cur.status, cur.severity))"
	" SELECT " INCIDENT_JSON("upd") " AS result FROM upd",
	10,
};

void api_incidents_update(const api_ctx *ctx, const char *id, const api_incident_patch *p, api_done_fn done,
                          void *arg)
{
	if (!api_uuid_or_not_found(id, "incident", done, arg))
		return;
	if (!p->title && !p->status && !p->severity) {
		api_fail(API_INVALID, NULL, "send at least one of title, status and severity", done, arg);
		return;
	}
	if (p->title && !api__text_ok(p->title, 1, API_INCIDENT_TITLE_MAX, false)) {
		api_fail(API_INVALID, "title", "title must be 1 to 300 characters on one line", done, arg);
		return;
	}
	if (p->status && !api__one_of(p->status, STATUSES)) {
		api_fail(API_INVALID, "status", "status must be investigating, identified, monitoring or resolved", done,
		         arg);
		return;
	}
	if (p->severity && !api__one_of(p->severity, SEVERITIES)) {
		api_fail(API_INVALID, "severity", "severity must be minor, major or critical", done, arg);
		return;
	}
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, id, p->title, p->status, p->severity, a[0], a[1], a[2], a[3], a[4] };
	api__run(ctx, &UPDATE, params, API_OK, done, arg);
}

/* $2 id, $3..$7 audit. The locked row (cur) is the current version even
 * when a concurrent acknowledgement committed first, so the answer of a
 * repeated call is never stale. */
static const db_stmt ACK = {
	"incidents_acknowledge",
	"WITH cur AS (SELECT * FROM incidents WHERE org_id = $1 AND id = $2::uuid FOR UPDATE),"
	" upd AS (UPDATE incidents i SET acknowledged_at = now(), acknowledged_by = $5::uuid"
	"    FROM cur WHERE i.id = cur.id AND cur.acknowledged_at IS NULL RETURNING i.*),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $3, $4, $5::uuid, 'incident.acknowledge', 'incident', upd.id::text, $6::inet, $7,"
	"      jsonb_build_object('status', upd.status) FROM upd)"
	" SELECT " INCIDENT_JSON("x") " AS result FROM"
	"  (SELECT * FROM upd UNION ALL SELECT * FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd)) x",
	7,
};

void api_incidents_acknowledge(const api_ctx *ctx, const char *id, api_done_fn done, void *arg)
{
	if (!api_uuid_or_not_found(id, "incident", done, arg))
		return;
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, id, a[0], a[1], a[2], a[3], a[4] };
	api_run(ctx, &ACK, params, API_OK, done, arg);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_incidents_filter f = {
		.status = api__query(r, "status"),
		.service = api__query(r, "service"),
		.since = api__query(r, "since"),
		.severity = api__query(r, "severity"),
	};
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_incidents_list(&ctx, &page, &f, api_reply_cb, r);
}

static void rest_get(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_incidents_get(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

static void rest_create(http_req *r)
{
	static const char *const allowed[] = { "title", "service", "severity", "status", "note", NULL };
	json_t *body = api__body_or_reply(r, allowed);
	if (!body)
		return;
	api_incident_new in = { 0 };
	if (api__str_or_reply(r, body, "title", &in.title, NULL) &&
	    api__str_or_reply(r, body, "service", &in.service, NULL) &&
	    api__str_or_reply(r, body, "severity", &in.severity, NULL) &&
	    api__str_or_reply(r, body, "status", &in.status, NULL) &&
	    api__str_or_reply(r, body, "note", &in.note, NULL)) {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_incidents_create(&ctx, &in, api_reply_cb, r);
	}
	json_decref(body);
}

static void rest_update(http_req *r)
{
	static const char *const allowed[] = { "title", "status", "severity", NULL };
	json_t *body = api__body_or_reply(r, allowed);
	if (!body)
		return;
	api_incident_patch p = { 0 };
	if (api__str_or_reply(r, body, "title", &p.title, NULL) &&
	    api__str_or_reply(r, body, "status", &p.status, NULL) &&
	    api__str_or_reply(r, body, "severity", &p.severity, NULL)) {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_incidents_update(&ctx, http_req_param(r, "id"), &p, api_reply_cb, r);
	}
	json_decref(body);
}

static void rest_acknowledge(http_req *r)
{
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_incidents_acknowledge(&ctx, http_req_param(r, "id"), api_reply_cb, r);
}

#define STATUS_ENUM "[\"investigating\",\"identified\",\"monitoring\",\"resolved\"]"
#define SEVERITY_ENUM "[\"minor\",\"major\",\"critical\"]"

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/incidents", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "List incidents, newest first",
	  API__PAGE_QUERY ";status:string:investigating, identified, monitoring, resolved, or open (= not resolved)"
	  ";service:string:id or slug of a service;since:string:RFC 3339 timestamp: started at or after"
	  ";severity:string:minor, major or critical" },
	{ ROUTER_POST, "/api/v1/incidents", 0, rest_create, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Open an incident", NULL,
	  "{\"type\":\"object\",\"required\":[\"title\"],\"additionalProperties\":false,\"properties\":{"
	  "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":300},"
	  "\"service\":{\"type\":[\"string\",\"null\"],\"description\":\"service id or slug\"},"
	  "\"severity\":{\"enum\":" SEVERITY_ENUM ",\"default\":\"minor\"},"
	  "\"status\":{\"enum\":" STATUS_ENUM ",\"default\":\"investigating\"},"
	  "\"note\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":10000,\"description\":\"first note\"}}}",
	  201 },
	{ ROUTER_GET, "/api/v1/incidents/{id}", 0, rest_get, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "Get an incident with its notes (oldest first)" },
	{ ROUTER_PATCH, "/api/v1/incidents/{id}", 0, rest_update, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Update an incident's status, severity or title (resolving sets resolved_at)", NULL,
	  "{\"type\":\"object\",\"minProperties\":1,\"additionalProperties\":false,\"properties\":{"
	  "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":300},"
	  "\"status\":{\"enum\":" STATUS_ENUM "},\"severity\":{\"enum\":" SEVERITY_ENUM "}}}" },
	{ ROUTER_POST, "/api/v1/incidents/{id}/acknowledge", 0, rest_acknowledge, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Acknowledge an incident (idempotent: later calls change nothing)" },
};
ROUTES_MODULE(api_incidents_routes, "Incidents", ROUTES);
