/* tool_defs.c: the tool table. Each entry adapts one API-layer function. */
#include <stdio.h>
#include <string.h>

#include "api/account.h"
#include "tools.h"

static void whoami(mcp_call *call, json_t *args)
{
	(void)args;
	api_account_get(&call->ctx, mcp_tool_reply, call);
}

#define NO_ARGS "{\"type\":\"object\",\"additionalProperties\":false}"

const mcp_tool mcp_tool_table[] = {
	{ "whoami", "Who am I", "The CheckUpstream organization, user and credential this connection acts as.",
	  NO_ARGS,
	  "{\"type\":\"object\",\"properties\":{\"org\":{\"type\":\"object\"},\"user\":{\"type\":\"object\"},"
	  "\"credential\":{\"type\":\"object\"}},\"required\":[\"org\",\"user\",\"credential\"]}",
	  AUTH_SCOPE_READ, true, false, true, whoami },
};
const size_t mcp_tool_count = sizeof mcp_tool_table / sizeof mcp_tool_table[0];
