/* tools.h: MCP tools as thin adapters over the API layer (DESIGN §3).
 *
 * Each tool is one table entry: name (^[a-z0-9_]{1,40}$: A46, E13), schemas,
 * annotations, the scope it needs, and an adapter that turns validated
 * arguments into one api_* call and its api_result into a tool result
 * (mcp_tool_reply). Nothing here re-implements the API. */
#ifndef CUPD_MCP_TOOLS_H
#define CUPD_MCP_TOOLS_H

#include "mcp.h"

typedef struct mcp_tool {
	const char *name;
	const char *title;
	const char *description;
	const char *input_schema;    /* JSON Schema text, root {"type":"object"} (A45) */
	const char *output_schema;   /* JSON Schema text, root {"type":"object"} */
	auth_scope scope;            /* needed to list and call it */
	bool read_only, destructive, idempotent;   /* annotations (A47) */
	void (*call)(mcp_call *call, json_t *args);
} mcp_tool;

/* tools/list and tools/call (methods.c routes them here). */
void mcp_tools_list(mcp_call *call);
void mcp_tools_call(mcp_call *call);

/* Turns an API result into a tool result: structuredContent (an object:
 * arrays are wrapped as {"items": [...]}) plus the same JSON as text (A51);
 * API errors become isError results with a useful message (A52). Use as
 * the api_done_fn of an adapter, with the mcp_call as arg. */
void mcp_tool_reply(api_result *res, void *call);

/* A failed tool run (isError: true) with message as its text. */
void mcp_tool_fail(mcp_call *call, const char *message);

/* Checks args against a JSON Schema subset (type, required, properties,
 * additionalProperties:false, enum, minLength/maxLength, minimum/maximum,
 * items.type). False with a message naming the argument. */
bool mcp_schema_check(const char *schema_text, json_t *args, char *why, size_t cap);

/* The tool table (tool_defs.c), in listing order. */
extern const mcp_tool mcp_tool_table[];
extern const size_t mcp_tool_count;

#endif
