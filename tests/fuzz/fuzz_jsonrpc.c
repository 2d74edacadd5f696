/* fuzz_jsonrpc.c: libFuzzer target for the MCP request parser
 * (mcp/jsonrpc.h) and the tool argument checker (mcp_schema_check).
 *
 * Every input is a POST body:
 *   1. mcp_body_parse classifies it; the result must be self-consistent:
 *      a batch holds 1..MCP_BATCH_MAX messages, each kind carries exactly
 *      the members it should, ids are strings or integers;
 *   2. every response the transport could build for it (a result for each
 *      id, an error for each message, and an id-less error) is a JSON
 *      object whose id, when present, equals the request's with the same
 *      JSON type, and never null;
 *   3. each message's params.arguments (or params itself) goes through
 *      mcp_schema_check against a fixed schema exercising every rule, and
 *      against each tool's own inputSchema; a failure must explain itself.
 * Invariants that do not hold abort, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"
#include "tools.h"

#define SCHEMA \
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"id\"],\"properties\":{" \
	"\"id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":40}," \
	"\"status\":{\"type\":\"string\",\"enum\":[\"open\",\"resolved\"]}," \
	"\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}," \
	"\"rate\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}," \
	"\"flag\":{\"type\":\"boolean\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}," \
	"\"meta\":{\"type\":\"object\"}}}"

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_response(json_t *m, json_t *id)
{
	check(json_is_object(m));
	const char *ver = json_string_value(json_object_get(m, "jsonrpc"));
	check(ver && !strcmp(ver, "2.0"));
	json_t *got = json_object_get(m, "id");
	if (id) {
		check(got != NULL);
		check(json_typeof(got) == json_typeof(id));
		check(json_equal(got, id));
	} else {
		check(got == NULL); /* never "id": null */
	}
	check(!(json_object_get(m, "result") && json_object_get(m, "error")));
	char *s = json_dumps(m, JSON_COMPACT);
	check(s != NULL);
	json_t *back = json_loads(s, 0, NULL);
	check(back != NULL && json_equal(back, m));
	json_decref(back);
	free(s);
	json_decref(m);
}

static void check_args(const char *schema, json_t *args)
{
	if (!json_is_object(args))
		return;
	char why[300];
	memset(why, 'x', sizeof why);
	if (!mcp_schema_check(schema, args, why, sizeof why))
		check(strlen(why) > 0 && strlen(why) < sizeof why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mcp_body b;
	const char *why = NULL;
	mcp_body_status st = mcp_body_parse((const char *)data, size, &b, &why);
	if (st != MCP_BODY_OK) {
		check(why != NULL && b.root == NULL && b.msgs == NULL && b.n == 0);
		return 0;
	}
	check(b.root != NULL && b.n >= 1 && b.n <= MCP_BATCH_MAX);
	check(b.batch == json_is_array(b.root));
	check(b.batch || b.n == 1);
	bool requests = false;
	for (size_t i = 0; i < b.n; i++) {
		mcp_msg *m = &b.msgs[i];
		switch (m->kind) {
		case MCP_MSG_REQUEST:
			requests = true;
			check(m->method && *m->method && m->id);
			break;
		case MCP_MSG_NOTIFICATION:
			check(m->method && *m->method && !m->id);
			break;
		case MCP_MSG_RESPONSE:
			check(!m->method && m->id);
			break;
		case MCP_MSG_INVALID:
			check(m->error != NULL);
			break;
		}
		if (m->id)
			check(json_is_string(m->id) || json_is_integer(m->id));
		if (m->params)
			check(json_is_object(m->params));
		if (m->id) /* only requests are answered with a result */
			check_response(mcp_result(m->id, NULL), m->id);
		check_response(mcp_error(m->id, MCP_INVALID_PARAMS, "x", json_pack("{s:s}", "k", "v")), m->id);
		check_response(mcp_error(NULL, MCP_PARSE_ERROR, "x", NULL), NULL);
		if (m->params) {
			json_t *args = json_object_get(m->params, "arguments");
			check_args(SCHEMA, args ? args : m->params);
			for (size_t t = 0; t < mcp_tool_count; t++)
				check_args(mcp_tool_table[t].input_schema, args ? args : m->params);
		}
	}
	check(requests == mcp_body_has_requests(&b));
	mcp_body_free(&b);
	check(b.root == NULL && b.msgs == NULL && b.n == 0);
	return 0;
}
