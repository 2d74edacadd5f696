/* api/incident_notes.c: the timeline of notes on an incident (add, page).
 * Notes carry no org of their own; every statement reaches them through
 * their incident, scoped by org, so another org's incident is 404. */
#include "api/incidents.h"

#include "api/common.h"
#include "api/incidents_sql.h"
#include "routes.h"

/* ---- API layer ---- */

/* $2 incident, $3 body, $4..$8 audit (kind, id, user, ip, user agent). */
static const db_stmt ADD = {
	"incident_notes_add",
	"WITH inc AS (SELECT id FROM incidents WHERE org_id = $1 AND id = $2::uuid),"
	" ins AS (INSERT INTO incident_notes (incident_id, author_id, body)"
	"    SELECT inc.id, $6::uuid, $3::text FROM inc RETURNING *),"
	" aud AS (" API__AUDIT_INSERT
	"    SELECT $1, $4, $5, $6::uuid, 'incident.note', 'incident', ins.incident_id::text, $7::inet, $8,"
	"      jsonb_build_object('note_id', ins.id, 'length', length(ins.body)) FROM ins)"
	" SELECT " NOTE_JSON("ins") " AS result FROM ins",
	8,
};

void api_incident_notes_add(const api_ctx *ctx, const char *incident_id, const char *body, api_done_fn done,
                            void *arg)
{
	if (!api_is_uuid(incident_id)) {
		api_fail(API_NOT_FOUND, NULL, "Not found.", done, arg);
		return;
	}
	if (!api__text_ok(body, 1, API_INCIDENT_NOTE_MAX, true)) {
		api_fail(API_INVALID, "body", "body must be 1 to 10000 characters of text", done, arg);
		return;
	}
	const char *a[5];
	api_audit_params(ctx, a);
	const char *params[] = { ctx->org_id, incident_id, body, a[0], a[1], a[2], a[3], a[4] };
	api_run(ctx, &ADD, params, API_CREATED, done, arg);
}

/* $5 incident. No row at all (→ 404) when the incident is not the org's. */
static const db_stmt LIST = {
	"incident_notes_list",
	"SELECT (SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC, x.id DESC), '[]') FROM ("
	"    SELECT n.id, n.created_at, " NOTE_JSON("n") " AS j FROM incident_notes n"
	"    WHERE n.incident_id = i.id"
	"      AND ($2::timestamptz IS NULL OR (n.created_at, n.id) < ($2::timestamptz, $3::uuid))"
	"    ORDER BY n.created_at DESC, n.id DESC LIMIT $4) x) AS result"
	" FROM incidents i WHERE i.org_id = $1 AND i.id = $5::uuid",
	5,
};

void api_incident_notes_list(const api_ctx *ctx, const char *incident_id, const api_page *page, api_done_fn done,
                             void *arg)
{
	if (!api_is_uuid(incident_id)) {
		api_fail(API_NOT_FOUND, NULL, "Not found.", done, arg);
		return;
	}
	const char *filters[] = { incident_id };
	api_list_paged(ctx, &LIST, filters, 1, page, done, arg);
}

/* ---- REST ---- */

static void rest_add(http_req *r)
{
	static const char *const allowed[] = { "body", NULL };
	json_t *body = api__body_or_reply(r, allowed);
	if (!body)
		return;
	const char *text = NULL;
	if (api__str_or_reply(r, body, "body", &text, NULL)) {
		api_ctx ctx;
		api_ctx_from_request(&ctx, r);
		api_incident_notes_add(&ctx, http_req_param(r, "id"), text, api_reply_cb, r);
	}
	json_decref(body);
}

static void rest_list(http_req *r)
{
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_incident_notes_list(&ctx, http_req_param(r, "id"), &page, api_reply_cb, r);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/incidents/{id}/notes", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_READ,
	  "List an incident's notes, newest first", API__PAGE_QUERY },
	{ ROUTER_POST, "/api/v1/incidents/{id}/notes", 0, rest_add, AUTH_API_TOKEN, AUTH_SCOPE_WRITE,
	  "Add a note to an incident", NULL,
	  "{\"type\":\"object\",\"required\":[\"body\"],\"additionalProperties\":false,\"properties\":{"
	  "\"body\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":10000}}}",
	  201 },
};
ROUTES_MODULE(api_incident_notes_routes, "Incidents", ROUTES);
