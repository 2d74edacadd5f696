/* tools.c: tools/list, tools/call, result mapping and argument checks. */
#include "tools.h"

#include <stdio.h>
#include <string.h>

#include "jsonrpc.h"

static const mcp_tool *find_tool(const char *name)
{
	for (size_t i = 0; i < mcp_tool_count; i++)
		if (!strcmp(mcp_tool_table[i].name, name))
			return &mcp_tool_table[i];
	return NULL;
}

static json_t *tool_json(const mcp_tool *t)
{
	json_t *in = json_loads(t->input_schema, 0, NULL), *out = json_loads(t->output_schema, 0, NULL);
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:{s:s, s:b, s:b, s:b, s:b}}", "name", t->name, "title", t->title,
	                 "description", t->description, "inputSchema", in ? in : json_pack("{s:s}", "type", "object"),
	                 "outputSchema", out ? out : json_pack("{s:s}", "type", "object"), "annotations", "title",
	                 t->title, "readOnlyHint", t->read_only, "destructiveHint", t->destructive, "idempotentHint",
	                 t->idempotent, "openWorldHint", 0);
}

void mcp_tools_list(mcp_call *call)
{
	/* All tools fit one page; a cursor we never issued is invalid (A48). */
	if (json_object_get(call->params, "cursor")) {
		mcp_call_error(call, MCP_INVALID_PARAMS, "Invalid cursor", NULL);
		return;
	}
	json_t *tools = json_array();
	for (size_t i = 0; i < mcp_tool_count; i++)
		if (call->who->scope >= mcp_tool_table[i].scope) /* only what the token may call */
			json_array_append_new(tools, tool_json(&mcp_tool_table[i]));
	mcp_call_result(call, json_pack("{s:o}", "tools", tools));
}

void mcp_tool_fail(mcp_call *call, const char *message)
{
	mcp_call_result(call, json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", message, "isError", 1));
}

void mcp_tool_reply(api_result *res, void *arg)
{
	mcp_call *call = arg;
	char msg[600];
	switch (res->status) {
	case API_OK:
	case API_CREATED: {
		json_t *sc = json_is_object(res->data) ? json_incref(res->data) : json_pack("{s:O}", "items", res->data);
		char *text = json_dumps(sc, JSON_COMPACT);
		mcp_call_result(call, json_pack("{s:[{s:s, s:s}], s:o}", "content", "type", "text", "text", text ? text : "{}",
		                                "structuredContent", sc));
		free(text);
		return;
	}
	case API_INVALID:
		snprintf(msg, sizeof msg, "Invalid argument%s%s: %s", res->field ? " " : "", res->field ? res->field : "",
		         res->message ? res->message : "invalid input");
		break;
	case API_NOT_FOUND:
		snprintf(msg, sizeof msg, "Not found: %s Check the id (list tools return valid ids).",
		         res->message ? res->message : "");
		break;
	case API_CONFLICT:
	case API_FORBIDDEN:
		snprintf(msg, sizeof msg, "%s", res->message ? res->message : "Refused.");
		break;
	case API_UNAVAILABLE:
		snprintf(msg, sizeof msg, "CheckUpstream's database is briefly unavailable; retry in a few seconds.");
		break;
	default:
		mcp_call_error(call, MCP_INTERNAL_ERROR, "Internal error", NULL);
		return;
	}
	mcp_tool_fail(call, msg);
}

void mcp_tools_call(mcp_call *call)
{
	const char *name = json_string_value(json_object_get(call->params, "name"));
	json_t *args = json_object_get(call->params, "arguments");
	const mcp_tool *t = name ? find_tool(name) : NULL;
	if (!t) {
		mcp_call_error(call, MCP_INVALID_PARAMS, name ? "Unknown tool" : "params.name is required", NULL); /* A52 */
		return;
	}
	if (args && !json_is_object(args)) {
		mcp_call_error(call, MCP_INVALID_PARAMS, "params.arguments must be an object", NULL);
		return;
	}
	if (call->who->scope < t->scope) {
		mcp_call_insufficient_scope(call, t->scope);
		return;
	}
	json_t *empty = NULL;
	if (!args)
		args = empty = json_object();
	char why[300];
	if (!mcp_schema_check(t->input_schema, args, why, sizeof why)) {
		json_decref(empty);
		mcp_tool_fail(call, why); /* argument errors are tool results the model can read (A52) */
		return;
	}
	auth_note_tool_call(call->who);
	t->call(call, args);
	json_decref(empty);
}

/* ------------------------------------------------------------ schema */

static bool type_ok(const char *type, json_t *v)
{
	if (!type)
		return true;
	if (!strcmp(type, "string"))
		return json_is_string(v);
	if (!strcmp(type, "integer"))
		return json_is_integer(v);
	if (!strcmp(type, "number"))
		return json_is_number(v);
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(type, "array"))
		return json_is_array(v);
	if (!strcmp(type, "object"))
		return json_is_object(v);
	return true;
}

/* JSON Schema lengths count characters (code points), as clients and the
 * API's own limits do; jansson guarantees valid UTF-8, so counting the
 * bytes that do not continue a sequence is enough. */
static json_int_t utf8_chars(const char *s, size_t n)
{
	json_int_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xc0) != 0x80;
	return chars;
}

static bool check_value(const char *key, json_t *spec, json_t *v, char *why, size_t cap)
{
	const char *type = json_string_value(json_object_get(spec, "type"));
	if (!type_ok(type, v)) {
		snprintf(why, cap, "Argument %s must be of type %s.", key, type);
		return false;
	}
	json_t *en = json_object_get(spec, "enum");
	if (json_is_array(en)) {
		bool hit = false;
		size_t i;
		json_t *e;
		json_array_foreach(en, i, e) hit = hit || json_equal(e, v);
		if (!hit) {
			char *opts = json_dumps(en, JSON_COMPACT);
			snprintf(why, cap, "Argument %s must be one of %s.", key, opts ? opts : "the listed values");
			free(opts);
			return false;
		}
	}
	if (json_is_string(v)) {
		json_int_t len = utf8_chars(json_string_value(v), json_string_length(v));
		json_t *mn = json_object_get(spec, "minLength"), *mx = json_object_get(spec, "maxLength");
		if ((mn && len < json_integer_value(mn)) || (mx && len > json_integer_value(mx))) {
			snprintf(why, cap, "Argument %s must be %lld to %lld characters long.", key,
			         mn ? (long long)json_integer_value(mn) : 0LL, mx ? (long long)json_integer_value(mx) : 100000LL);
			return false;
		}
	}
	if (json_is_number(v)) {
		double x = json_number_value(v);
		json_t *mn = json_object_get(spec, "minimum"), *mx = json_object_get(spec, "maximum");
		if ((mn && x < json_number_value(mn)) || (mx && x > json_number_value(mx))) {
			snprintf(why, cap, "Argument %s is out of range (%g to %g).", key, mn ? json_number_value(mn) : -1e308,
			         mx ? json_number_value(mx) : 1e308);
			return false;
		}
	}
	if (json_is_array(v)) {
		const char *itype = json_string_value(json_object_get(json_object_get(spec, "items"), "type"));
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) if (!type_ok(itype, e))
		{
			snprintf(why, cap, "Every item of %s must be of type %s.", key, itype);
			return false;
		}
	}
	return true;
}

bool mcp_schema_check(const char *schema_text, json_t *args, char *why, size_t cap)
{
	json_t *schema = json_loads(schema_text, 0, NULL);
	bool ok = false;
	if (!schema) {
		snprintf(why, cap, "Internal error: tool schema is invalid.");
		return false;
	}
	json_t *props = json_object_get(schema, "properties");
	json_t *req = json_object_get(schema, "required");
	bool closed = json_is_false(json_object_get(schema, "additionalProperties"));
	size_t i;
	json_t *r;
	json_array_foreach(req, i, r) if (!json_object_get(args, json_string_value(r)))
	{
		snprintf(why, cap, "Missing required argument %s.", json_string_value(r));
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(args, key, v)
	{
		json_t *spec = json_object_get(props, key);
		if (!spec) {
			if (closed) {
				snprintf(why, cap, "Unknown argument %s.", key);
				goto out;
			}
			continue;
		}
		if (!check_value(key, spec, v, why, cap))
			goto out;
	}
	ok = true;
out:
	json_decref(schema);
	return ok;
}
