/* resources.c: runbooks and incidents as MCP resources (REQUIREMENTS A48,
 * MCP 2025-11-25 server/resources).
 *
 *   cupd://runbooks/{id}    text/markdown     api_runbooks_get
 *   cupd://incidents/{id}   application/json  api_incidents_get (with notes)
 *
 * resources/list pages through the org's runbooks, then its incidents,
 * with the API layer's own list functions; its cursor is opaque to clients:
 * "rb:" or "in:" followed by the API's next_cursor (empty = first page of
 * that kind). An unknown uri, a malformed one and another org's object all
 * answer -32002 "Resource not found", so ids of other orgs are never
 * distinguishable from ids that do not exist. */
#include <stdio.h>
#include <string.h>

#include "api/incidents.h"
#include "api/runbooks.h"
#include "jsonrpc.h"
#include "mcp.h"
#include "xmem.h"

void mcp_resources_list(mcp_call *call);
void mcp_resources_templates_list(mcp_call *call);
void mcp_resources_read(mcp_call *call);

enum { MCP_RESOURCE_NOT_FOUND = -32002, RESOURCES_PAGE = 50 };

#define RUNBOOK_PREFIX "cupd://runbooks/"
#define INCIDENT_PREFIX "cupd://incidents/"

/* An API failure of a list or read that is not "not found": -32603, with a
 * retry hint when the database is briefly away. */
static void fail_api(mcp_call *call, const api_result *res)
{
	mcp_call_error(call, MCP_INTERNAL_ERROR,
	               res->status == API_UNAVAILABLE ? "The database is briefly unavailable; retry in a few seconds"
	                                              : "Internal error",
	               NULL);
}

/* ---------------------------------------------------------------- list */

typedef struct list_state {
	mcp_call *call;
	json_t *resources;      /* owned: the page being built */
} list_state;

static json_t *runbook_resource(json_t *rb)
{
	char uri[80];
	snprintf(uri, sizeof uri, RUNBOOK_PREFIX "%s", json_string_value(json_object_get(rb, "id")));
	const char *title = json_string_value(json_object_get(rb, "title"));
	const char *svc = json_string_value(json_object_get(json_object_get(rb, "service"), "name"));
	char desc[300];
	snprintf(desc, sizeof desc, "Runbook%s%s", svc ? " for " : "", svc ? svc : "");
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "uri", uri, "name", title ? title : uri, "title",
	                 title ? title : uri, "description", desc, "mimeType", "text/markdown");
}

static json_t *incident_resource(json_t *inc)
{
	char uri[80];
	snprintf(uri, sizeof uri, INCIDENT_PREFIX "%s", json_string_value(json_object_get(inc, "id")));
	const char *title = json_string_value(json_object_get(inc, "title"));
	const char *svc = json_string_value(json_object_get(json_object_get(inc, "service"), "name"));
	char desc[400];
	snprintf(desc, sizeof desc, "Incident (%s, %s)%s%s, started %s",
	         json_string_value(json_object_get(inc, "status")), json_string_value(json_object_get(inc, "severity")),
	         svc ? " on " : "", svc ? svc : "", json_string_value(json_object_get(inc, "started_at")));
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "uri", uri, "name", title ? title : uri, "title",
	                 title ? title : uri, "description", desc, "mimeType", "application/json");
}

static void list_finish(list_state *st, const char *next_kind, const char *next_cursor)
{
	json_t *result = json_pack("{s:o}", "resources", st->resources);
	if (next_kind) {
		char cur[300];
		snprintf(cur, sizeof cur, "%s:%s", next_kind, next_cursor ? next_cursor : "");
		json_object_set_new(result, "nextCursor", json_string(cur)); /* absent on the last page (A48) */
	}
	mcp_call *call = st->call;
	free(st);
	mcp_call_result(call, result);
}

static void list_fail(list_state *st, const api_result *res)
{
	mcp_call *call = st->call;
	json_decref(st->resources);
	free(st);
	fail_api(call, res);
}

static void incidents_page(api_result *res, void *arg)
{
	list_state *st = arg;
	if (res->status != API_OK) {
		list_fail(st, res);
		return;
	}
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(res->data, "data"), i, it)
		json_array_append_new(st->resources, incident_resource(it));
	const char *next = json_string_value(json_object_get(res->data, "next_cursor"));
	list_finish(st, next ? "in" : NULL, next);
}

static void list_incidents(list_state *st, const char *cursor, int limit)
{
	api_page page;
	char lim[12];
	const char *why;
	snprintf(lim, sizeof lim, "%d", limit);
	if (!api_page_parse(lim, cursor, &page, &why)) {
		mcp_call *call = st->call;
		json_decref(st->resources);
		free(st);
		mcp_call_error(call, MCP_INVALID_PARAMS, "Invalid cursor", NULL);
		return;
	}
	api_incidents_list(&st->call->ctx, &page, NULL, incidents_page, st);
}

static void runbooks_page(api_result *res, void *arg)
{
	list_state *st = arg;
	if (res->status != API_OK) {
		list_fail(st, res);
		return;
	}
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(res->data, "data"), i, it)
		json_array_append_new(st->resources, runbook_resource(it));
	const char *next = json_string_value(json_object_get(res->data, "next_cursor"));
	if (next) {
		list_finish(st, "rb", next);
		return;
	}
	/* Runbooks are done: fill the rest of the page with the first incidents. */
	int room = RESOURCES_PAGE - (int)json_array_size(st->resources);
	if (room > 0)
		list_incidents(st, NULL, room);
	else
		list_finish(st, "in", NULL);
}

void mcp_resources_list(mcp_call *call)
{
	json_t *c = json_object_get(call->params, "cursor");
	const char *cursor = json_string_value(c);
	if (c && (!cursor || (strncmp(cursor, "rb:", 3) && strncmp(cursor, "in:", 3)))) {
		mcp_call_error(call, MCP_INVALID_PARAMS, "Invalid cursor", NULL); /* A48, A39 */
		return;
	}
	list_state *st = xcalloc(1, sizeof *st);
	st->call = call;
	st->resources = json_array();
	if (cursor && !strncmp(cursor, "in:", 3)) {
		list_incidents(st, cursor + 3, RESOURCES_PAGE);
		return;
	}
	api_page page;
	char lim[12];
	const char *why;
	snprintf(lim, sizeof lim, "%d", RESOURCES_PAGE);
	if (!api_page_parse(lim, cursor ? cursor + 3 : NULL, &page, &why)) {
		json_decref(st->resources);
		free(st);
		mcp_call_error(call, MCP_INVALID_PARAMS, "Invalid cursor", NULL);
		return;
	}
	api_runbooks_list(&call->ctx, &page, NULL, runbooks_page, st);
}

void mcp_resources_templates_list(mcp_call *call)
{
	if (json_object_get(call->params, "cursor")) {
		mcp_call_error(call, MCP_INVALID_PARAMS, "Invalid cursor", NULL); /* one page, no cursors issued */
		return;
	}
	mcp_call_result(call, json_pack(
		"{s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]}", "resourceTemplates",
		"uriTemplate", RUNBOOK_PREFIX "{id}", "name", "runbook", "title", "Runbook", "description",
		"A runbook's markdown by id (list_runbooks or search give ids)", "mimeType", "text/markdown",
		"uriTemplate", INCIDENT_PREFIX "{id}", "name", "incident", "title", "Incident", "description",
		"An incident with its notes, as JSON, by id (list_incidents or search give ids)", "mimeType",
		"application/json"));
}

/* ---------------------------------------------------------------- read */

typedef struct read_state {
	mcp_call *call;
	char uri[120];
	bool runbook;
} read_state;

static void not_found(mcp_call *call, const char *uri)
{
	mcp_call_error(call, MCP_RESOURCE_NOT_FOUND, "Resource not found", json_pack("{s:s}", "uri", uri));
}

static void read_done(api_result *res, void *arg)
{
	read_state *st = arg;
	mcp_call *call = st->call;
	if (res->status == API_NOT_FOUND || res->status == API_INVALID) {
		not_found(call, st->uri);
	} else if (res->status != API_OK) {
		fail_api(call, res);
	} else {
		char *text;
		if (st->runbook) {
			/* The body is the runbook's markdown; give it its title when it has none. */
			const char *title = json_string_value(json_object_get(res->data, "title"));
			const char *body = json_string_value(json_object_get(res->data, "body"));
			if (!body)
				body = "";
			if (!strncmp(body, "# ", 2)) {
				text = xstrdup(body);
			} else {
				size_t n = strlen(title ? title : "") + strlen(body) + 8;
				text = xmalloc(n);
				snprintf(text, n, "# %s\n\n%s", title ? title : "", body);
			}
		} else {
			text = json_dumps(res->data, JSON_COMPACT);
		}
		mcp_call_result(call, json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", st->uri, "mimeType",
		                                st->runbook ? "text/markdown" : "application/json", "text",
		                                text ? text : ""));
		free(text);
	}
	free(st);
}

void mcp_resources_read(mcp_call *call)
{
	const char *uri = json_string_value(json_object_get(call->params, "uri"));
	if (!uri) {
		mcp_call_error(call, MCP_INVALID_PARAMS, "params.uri is required", NULL);
		return;
	}
	bool runbook = !strncmp(uri, RUNBOOK_PREFIX, strlen(RUNBOOK_PREFIX));
	bool incident = !strncmp(uri, INCIDENT_PREFIX, strlen(INCIDENT_PREFIX));
	const char *id = runbook ? uri + strlen(RUNBOOK_PREFIX) : incident ? uri + strlen(INCIDENT_PREFIX) : NULL;
	if (!id || !api_is_uuid(id)) {
		char shown[120];
		snprintf(shown, sizeof shown, "%s", uri); /* echo at most a bounded prefix */
		not_found(call, shown);
		return;
	}
	read_state *st = xcalloc(1, sizeof *st);
	st->call = call;
	st->runbook = runbook;
	snprintf(st->uri, sizeof st->uri, "%s", uri);
	if (runbook)
		api_runbooks_get(&call->ctx, id, read_done, st);
	else
		api_incidents_get(&call->ctx, id, read_done, st);
}
