/* jsonrpc.c: strict JSON-RPC 2.0 message classification. */
#include "jsonrpc.h"

#include <string.h>

#include "xmem.h"

static bool valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

static void classify(json_t *m, mcp_msg *out)
{
	memset(out, 0, sizeof *out);
	out->kind = MCP_MSG_INVALID;
	if (!json_is_object(m)) {
		out->error = "a JSON-RPC message must be an object";
		return;
	}
	json_t *ver = json_object_get(m, "jsonrpc");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
		out->error = "\"jsonrpc\" must be \"2.0\"";
		return;
	}
	json_t *id = json_object_get(m, "id");
	json_t *method = json_object_get(m, "method");
	json_t *params = json_object_get(m, "params");
	if (id && !valid_id(id)) {
		out->error = "\"id\" must be a string or an integer";
		return;
	}
	out->id = id;
	if (method) {
		if (!json_is_string(method) || !*json_string_value(method)) {
			out->error = "\"method\" must be a non-empty string";
			return;
		}
		if (params && !json_is_object(params)) {
			out->error = "\"params\" must be an object";
			return;
		}
		if (json_object_get(m, "result") || json_object_get(m, "error")) {
			out->error = "a request cannot carry \"result\" or \"error\"";
			return;
		}
		out->method = json_string_value(method);
		out->params = params;
		out->kind = id ? MCP_MSG_REQUEST : MCP_MSG_NOTIFICATION;
		return;
	}
	json_t *result = json_object_get(m, "result");
	json_t *error = json_object_get(m, "error");
	if (id && (!result != !error)) {
		out->kind = MCP_MSG_RESPONSE;
		return;
	}
	out->error = "not a request, notification or response";
}

mcp_body_status mcp_body_parse(const char *buf, size_t len, mcp_body *out, const char **why)
{
	memset(out, 0, sizeof *out);
	json_error_t err;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (!root) {
		*why = "the body is not valid JSON";
		return MCP_BODY_PARSE_ERROR;
	}
	if (json_is_array(root)) {
		size_t n = json_array_size(root);
		if (n == 0 || n > MCP_BATCH_MAX) {
			*why = n ? "a batch may hold at most 100 messages" : "an empty batch is not a message";
			json_decref(root);
			return MCP_BODY_INVALID;
		}
		out->batch = true;
		out->n = n;
		out->msgs = xcalloc(n, sizeof *out->msgs);
		for (size_t i = 0; i < n; i++)
			classify(json_array_get(root, i), &out->msgs[i]);
	} else if (json_is_object(root)) {
		out->n = 1;
		out->msgs = xcalloc(1, sizeof *out->msgs);
		classify(root, &out->msgs[0]);
	} else {
		*why = "the body must be a JSON-RPC object (or a batch array)";
		json_decref(root);
		return MCP_BODY_INVALID;
	}
	out->root = root;
	return MCP_BODY_OK;
}

void mcp_body_free(mcp_body *b)
{
	json_decref(b->root);
	free(b->msgs);
	memset(b, 0, sizeof *b);
}

bool mcp_body_has_requests(const mcp_body *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->msgs[i].kind == MCP_MSG_REQUEST)
			return true;
	return false;
}

json_t *mcp_result(json_t *id, json_t *result)
{
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result ? result : json_object());
}

json_t *mcp_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t *err = json_pack("{s:i, s:s}", "code", code, "message", message);
	if (data)
		json_object_set_new(err, "data", data);
	json_t *m = json_pack("{s:s, s:o}", "jsonrpc", "2.0", "error", err);
	if (id)
		json_object_set(m, "id", id);
	return m;
}
