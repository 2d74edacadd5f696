/* methods.c: the MCP methods cupd serves (2025 revisions; A40–A52). */
#include <string.h>

#include "jsonrpc.h"
#include "mcp.h"
#include "tools.h"

static const char *const VERSIONS[] = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" };

bool mcp_version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++)
		if (v && !strcmp(v, VERSIONS[i]))
			return true;
	return false;
}

json_t *mcp_initialize_result(const char *requested, const char **negotiated)
{
	/* A40: echo a supported request, otherwise offer the newest; never an error. */
	*negotiated = mcp_version_supported(requested) ? requested : MCP_LATEST_VERSION;
	for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++)
		if (!strcmp(*negotiated, VERSIONS[i]))
			*negotiated = VERSIONS[i]; /* a static string outlives the request */
	/* A41: declare only what is implemented. */
	return json_pack("{s:s, s:{s:{s:b}, s:{s:b, s:b}, s:{s:b}}, s:{s:s, s:s, s:s, s:s}, s:s}",
	                 "protocolVersion", *negotiated,
	                 "capabilities", "tools", "listChanged", 0,
	                 "resources", "subscribe", 0, "listChanged", 0,
	                 "prompts", "listChanged", 0,
	                 "serverInfo", "name", "cupd", "title", "CheckUpstream", "version", CUPD_VERSION,
	                 "websiteUrl", "https://checkupstream.com",
	                 "instructions",
	                 "CheckUpstream watches the upstream services (Stripe, AWS, GitHub, ...) your code depends on. "
	                 "Use list_services and get_service for their health, list_incidents/get_incident to "
	                 "investigate, runbooks for what to do, and the write tools to acknowledge, annotate or "
	                 "resolve incidents. Runbooks and incidents are also resources (cupd://runbooks/{id}, "
	                 "cupd://incidents/{id}); the triage_incident prompt starts an investigation.");
}

static void ping(mcp_call *call)
{
	mcp_call_result(call, json_object()); /* A14, A42 */
}

static void initialize_again(mcp_call *call)
{
	mcp_call_error(call, MCP_INVALID_REQUEST, "initialize must be the first request, sent alone", NULL);
}

/* resources.c and prompts.c (their only callers are this table). */
void mcp_resources_list(mcp_call *call);
void mcp_resources_templates_list(mcp_call *call);
void mcp_resources_read(mcp_call *call);
void mcp_prompts_list(mcp_call *call);
void mcp_prompts_get(mcp_call *call);

typedef struct method_def {
	const char *name;
	mcp_method_fn fn;
} method_def;

static const method_def METHODS[] = {
	{ "ping", ping },
	{ "initialize", initialize_again },
	{ "tools/list", mcp_tools_list },
	{ "tools/call", mcp_tools_call },
	{ "resources/list", mcp_resources_list },
	{ "resources/templates/list", mcp_resources_templates_list },
	{ "resources/read", mcp_resources_read },
	{ "prompts/list", mcp_prompts_list },
	{ "prompts/get", mcp_prompts_get },
};

mcp_method_fn mcp_method_lookup(const char *method)
{
	for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
		if (!strcmp(METHODS[i].name, method))
			return METHODS[i].fn;
	return NULL;
}
