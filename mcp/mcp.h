/* mcp.h: the MCP endpoint's shared types: one call (a JSON-RPC request
 * being answered) and the method table.
 *
 * The transport (transport.c) parses a POST, decides era and session, and
 * hands each request to a method handler as an mcp_call. A handler answers
 * exactly once, now or later on the same loop, with mcp_call_result or
 * mcp_call_error; when every call of the POST has answered, the transport
 * replies. Handlers are era-neutral: the transport adds what an era needs
 * around their results. */
#ifndef CUPD_MCP_H
#define CUPD_MCP_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "auth.h"
#include "http.h"

#define MCP_LATEST_VERSION "2025-11-25"

typedef struct mcp_post mcp_post;

typedef struct mcp_call {
	mcp_post *post;              /* owner; do not touch after answering */
	size_t index;                /* position of the response in the reply */
	json_t *id;                  /* borrowed from the body (lives as long as the post) */
	const char *method;
	json_t *params;              /* borrowed; NULL when absent */
	const auth_principal *who;   /* borrowed from the request */
	api_ctx ctx;                 /* for API-layer calls (actor = the token or connection) */
	const char *version;         /* negotiated protocol version */
	bool batch;                  /* part of a batch: no HTTP-level step-up */
} mcp_call;

/* Answers call with result (stolen; NULL = {}). */
void mcp_call_result(mcp_call *call, json_t *result);
/* Answers call with a JSON-RPC error (data stolen, may be NULL). */
void mcp_call_error(mcp_call *call, int code, const char *message, json_t *data);
/* Answers the whole HTTP request with 403 insufficient_scope naming every
 * scope needed (B9), when the call is not part of a batch; otherwise
 * answers the call with a JSON-RPC error saying the same. */
void mcp_call_insufficient_scope(mcp_call *call, auth_scope needed);

typedef void (*mcp_method_fn)(mcp_call *call);

/* Handlers of every method but initialize (methods.c); NULL if unknown. */
mcp_method_fn mcp_method_lookup(const char *method);

/* initialize's result for a requested version (A40). */
json_t *mcp_initialize_result(const char *requested_version, const char **negotiated);

/* True for the 2025-era versions we negotiate (A32, 0.3). */
bool mcp_version_supported(const char *v);

#endif
