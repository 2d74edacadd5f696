/* api/audit_events.c: GET /api/v1/audit-events (admin).
 *
 * audit_events ids are bigint identities, while the shared cursors
 * (api_list_paged) carry a uuid. Each row therefore also answers its id as
 * the uuid 00000000-0000-0000-hhhh-hhhhhhhhhhhh (the 64-bit id in hex) under
 * "id" for the pager, and the real id under "seq"; events_done swaps them
 * back, so callers only ever see the integer id. */
#include "api/audit_events.h"

#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "routes.h"
#include "xmem.h"

/* ---- API layer ---- */

/* Filters: $5 exact action, $6 action prefix, $7 actor, $8 target, $9 since. */
static const db_stmt LIST = {
	"audit_events_list",
	"SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC, x.id DESC), '[]') AS result FROM ("
	"  SELECT a.id, a.created_at, json_build_object("
	"    'id', '00000000-0000-0000-' || substr(lpad(to_hex(a.id), 16, '0'), 1, 4) || '-'"
	"      || substr(lpad(to_hex(a.id), 16, '0'), 5),"
	"    'seq', a.id, 'action', a.action,"
	"    'actor', json_build_object('kind', a.actor_kind, 'id', a.actor_id, 'user_id', a.actor_user_id),"
	"    'target', json_build_object('kind', a.target_kind, 'id', a.target_id),"
	"    'ip', host(a.ip), 'user_agent', a.user_agent, 'metadata', a.metadata,"
	"    'created_at', a.created_at) AS j"
	"  FROM audit_events a"
	"  WHERE a.org_id = $1"
	"    AND ($2::timestamptz IS NULL OR (a.created_at, a.id) < ($2::timestamptz,"
	"         ('x' || replace(right($3::text, 17), '-', ''))::bit(64)::bigint))"
	"    AND ($5::text IS NULL OR a.action = $5::text)"
	"    AND ($6::text IS NULL OR starts_with(a.action, $6::text))"
	"    AND ($7::text IS NULL OR a.actor_id = $7::text OR a.actor_user_id::text = $7::text)"
	"    AND ($8::text IS NULL OR a.target_id = $8::text)"
	"    AND ($9::timestamptz IS NULL OR a.created_at >= $9::timestamptz)"
	"  ORDER BY a.created_at DESC, a.id DESC LIMIT $4) x",
	9,
};

typedef struct events_call {
	api_done_fn done;
	void *arg;
} events_call;

/* {data: [{id: <uuid form>, seq: n, ...}], next_cursor} → {data: [{id: n, ...}], ...} */
static void events_done(api_result *res, void *arg)
{
	events_call c = *(events_call *)arg;
	free(arg);
	if (res->status == API_OK) {
		size_t i;
		json_t *row;
		json_array_foreach(json_object_get(res->data, "data"), i, row) {
			json_object_set(row, "id", json_object_get(row, "seq"));
			json_object_del(row, "seq");
		}
	}
	c.done(res, c.arg);
}

static bool action_ok(const char *s)
{
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '*')
		n--;
	if (n > 100 || (n == 0 && s[0] != '*'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_.:-", s[i]))
			return false;
	return true;
}

void api_audit_events_list(const api_ctx *ctx, const api_page *page, const api_audit_filter *f, api_done_fn done,
                           void *arg)
{
	static const api_audit_filter none = { 0 };
	if (!f)
		f = &none;
	char prefix[104] = "";
	const char *exact = NULL;
	if (f->action) {
		if (!action_ok(f->action)) {
			api_fail(API_INVALID, "action",
			         "action must be an action name like incident.create, or a prefix ending in * like incident.*",
			         done, arg);
			return;
		}
		size_t n = strlen(f->action);
		if (f->action[n - 1] == '*')
			memcpy(prefix, f->action, n - 1);
		else
			exact = f->action;
	}
	if (f->actor && !api__text_ok(f->actor, 1, 200, false)) {
		api_fail(API_INVALID, "actor", "actor must be an id of 1 to 200 characters", done, arg);
		return;
	}
	if (f->target && !api__text_ok(f->target, 1, 200, false)) {
		api_fail(API_INVALID, "target", "target must be an id of 1 to 200 characters", done, arg);
		return;
	}
	if (f->since && !api__is_timestamp(f->since)) {
		api_fail(API_INVALID, "since", "since must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z", done, arg);
		return;
	}
	events_call *c = xmalloc(sizeof *c);
	c->done = done;
	c->arg = arg;
	const char *filters[] = { exact, f->action && !exact ? prefix : NULL, f->actor, f->target, f->since };
	api_list_paged(ctx, &LIST, filters, 5, page, events_done, c);
}

/* ---- REST ---- */

static void rest_list(http_req *r)
{
	api_page page;
	if (!api__page_or_reply(r, &page))
		return;
	api_audit_filter f = {
		.action = api__query(r, "action"),
		.actor = api__query(r, "actor"),
		.target = api__query(r, "target"),
		.since = api__query(r, "since"),
	};
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_audit_events_list(&ctx, &page, &f, api_reply_cb, r);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/audit-events", 0, rest_list, AUTH_API_TOKEN, AUTH_SCOPE_ADMIN,
	  "List the organization's audit events, newest first",
	  API__PAGE_QUERY ";action:string:exact action (incident.create) or prefix ending in * (incident.*)"
	  ";actor:string:id of the acting token, connection or user;target:string:id of the object acted on"
	  ";since:string:RFC 3339 timestamp: at or after" },
};
ROUTES_MODULE(api_audit_events_routes, "Audit", ROUTES);
