/* prompts.c: the triage_incident prompt (MCP 2025-11-25 server/prompts).
 *
 * prompts/get fetches the incident with api_incidents_get (so another
 * org's id is unknown, as everywhere) and answers one user message that
 * embeds it as JSON and asks the model to triage it with cupd's tools.
 * An unknown prompt, a missing argument or an unknown incident → -32602. */
#include <stdio.h>
#include <string.h>

#include "api/incidents.h"
#include "jsonrpc.h"
#include "mcp.h"
#include "xmem.h"

void mcp_prompts_list(mcp_call *call);
void mcp_prompts_get(mcp_call *call);

#define TRIAGE "triage_incident"

void mcp_prompts_list(mcp_call *call)
{
	if (json_object_get(call->params, "cursor")) {
		mcp_call_error(call, MCP_INVALID_PARAMS, "Invalid cursor", NULL); /* one page, no cursors issued (A48) */
		return;
	}
	mcp_call_result(call, json_pack(
		"{s:[{s:s, s:s, s:s, s:[{s:s, s:s, s:b}]}]}", "prompts", "name", TRIAGE, "title", "Triage an incident",
		"description",
		"Investigate a CheckUpstream incident: the affected upstream service, related incidents and "
		"runbooks, then propose next steps and a status update.",
		"arguments", "name", "incident_id", "description", "id (uuid) of the incident to triage", "required", 1));
}

static void triage_done(api_result *res, void *arg)
{
	mcp_call *call = arg;
	if (res->status == API_NOT_FOUND) {
		mcp_call_error(call, MCP_INVALID_PARAMS, "No incident with this incident_id in this organization", NULL);
		return;
	}
	if (res->status != API_OK) {
		mcp_call_error(call, MCP_INTERNAL_ERROR,
		               res->status == API_UNAVAILABLE ? "The database is briefly unavailable; retry in a few seconds"
		                                              : "Internal error",
		               NULL);
		return;
	}
	char *incident = json_dumps(res->data, JSON_INDENT(2));
	const char *title = json_string_value(json_object_get(res->data, "title"));
	static const char head[] =
		"Triage this CheckUpstream incident. Here it is, with its notes (oldest first):\n\n```json\n";
	static const char tail[] =
		"\n```\n\n"
		"Use the CheckUpstream tools to investigate:\n"
		"- get_service on the affected service for its current status, error rate and status timeline;\n"
		"- list_incidents (status \"open\", same service) and search for related or earlier incidents;\n"
		"- list_runbooks / get_runbook (or search) for a runbook that applies.\n\n"
		"Then answer with: 1) what is happening and its likely cause (upstream or ours), with the evidence; "
		"2) the impact on our projects (get_dependency_graph shows which depend on the service); "
		"3) the next steps, following a runbook where one applies; "
		"4) the status you would set (investigating, identified, monitoring or resolved) and a short note for "
		"the timeline. Do not call acknowledge_incident, add_incident_note or update_incident_status until I "
		"confirm.";
	size_t n = sizeof head + strlen(incident ? incident : "{}") + sizeof tail;
	char *text = xmalloc(n);
	snprintf(text, n, "%s%s%s", head, incident ? incident : "{}", tail);
	char desc[400];
	snprintf(desc, sizeof desc, "Triage incident: %s", title ? title : "");
	mcp_call_result(call, json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}]}", "description", desc, "messages", "role",
	                                "user", "content", "type", "text", "text", text));
	free(text);
	free(incident);
}

void mcp_prompts_get(mcp_call *call)
{
	const char *name = json_string_value(json_object_get(call->params, "name"));
	if (!name || strcmp(name, TRIAGE)) {
		mcp_call_error(call, MCP_INVALID_PARAMS, name ? "Unknown prompt" : "params.name is required", NULL);
		return;
	}
	json_t *args = json_object_get(call->params, "arguments");
	const char *id = json_string_value(json_object_get(args, "incident_id"));
	if (!id || !*id) {
		mcp_call_error(call, MCP_INVALID_PARAMS, "Missing required argument incident_id", NULL);
		return;
	}
	api_incidents_get(&call->ctx, id, triage_done, call);
}
