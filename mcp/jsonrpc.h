/* jsonrpc.h: JSON-RPC 2.0 framing for MCP (REQUIREMENTS A7–A15, A39).
 *
 * Pure functions over a request body: no I/O, no globals, fuzzed. Request
 * ids are kept as the parsed json_t (string or integer) and echoed with the
 * same JSON type (A13, A15); results are always objects (A14). */
#ifndef CUPD_MCP_JSONRPC_H
#define CUPD_MCP_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* JSON-RPC and MCP error codes (A39; never -32020..-32099 outside their
 * meaning in the 2026-07-28 revision). */
enum {
	MCP_PARSE_ERROR = -32700,
	MCP_INVALID_REQUEST = -32600,
	MCP_METHOD_NOT_FOUND = -32601,
	MCP_INVALID_PARAMS = -32602,
	MCP_INTERNAL_ERROR = -32603,
	MCP_SERVER_ERROR = -32000,        /* transport-level refusals (400s) */
	MCP_SESSION_NOT_FOUND = -32001,
};

enum { MCP_BATCH_MAX = 100 };

typedef enum {
	MCP_MSG_REQUEST,        /* method + id */
	MCP_MSG_NOTIFICATION,   /* method, no id */
	MCP_MSG_RESPONSE,       /* result or error + id (client answering us) */
	MCP_MSG_INVALID,        /* not a JSON-RPC 2.0 message; see error */
} mcp_msg_kind;

typedef struct mcp_msg {
	mcp_msg_kind kind;
	json_t *id;             /* borrowed from the body; NULL for notifications */
	const char *method;     /* borrowed */
	json_t *params;         /* borrowed; NULL when absent (an object otherwise) */
	const char *error;      /* MCP_MSG_INVALID: why */
} mcp_msg;

typedef struct mcp_body {
	json_t *root;           /* owned */
	bool batch;             /* the body was a JSON array */
	size_t n;
	mcp_msg *msgs;          /* owned array of n */
} mcp_body;

typedef enum {
	MCP_BODY_OK,
	MCP_BODY_PARSE_ERROR,   /* not JSON → -32700 */
	MCP_BODY_INVALID,       /* empty batch, too long, not an object/array → -32600 */
} mcp_body_status;

/* Parses and classifies buf[0..len). On MCP_BODY_OK, *out must be released
 * with mcp_body_free. Individual messages may still be MCP_MSG_INVALID. */
mcp_body_status mcp_body_parse(const char *buf, size_t len, mcp_body *out, const char **why);
void mcp_body_free(mcp_body *b);

/* True when the message is a request, or carries a method (counting
 * notifications), respectively. */
bool mcp_body_has_requests(const mcp_body *b);

/* {"jsonrpc":"2.0","id":id,"result":result}; steals result (NULL → {}). */
json_t *mcp_result(json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":id,"error":{code,message,data?}}; steals data.
 * id NULL → the error has no id member (A34 allows it; never "id":null in
 * a 200 body, A13). */
json_t *mcp_error(json_t *id, int code, const char *message, json_t *data);

#endif
