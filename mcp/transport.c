/* transport.c: MCP Streamable HTTP at /mcp and /mcp/ (REQUIREMENTS A1–A42).
 *
 * POST: Origin/Host → auth → media types → parse → era → session → calls →
 * one JSON reply (or SSE for clients that only accept it). GET answers 405:
 * cupd never sends server-initiated messages (tool lists are fixed per
 * token, no subscriptions), and A22 allows 405; DELETE ends a session. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "jsonrpc.h"
#include "mcp.h"
#include "oauth.h"
#include "routes.h"
#include "mcp_session.h"
#include "xmem.h"

struct mcp_post {
	http_req *r;
	mcp_body body;
	json_t **responses;      /* one slot per request, in request order */
	size_t nresponses;
	size_t pending;
	bool sse;                /* client accepts only text/event-stream */
	bool done;               /* the HTTP reply was sent */
	char session_id[MCP_SESSION_ID_LEN + 1];
	char version[11];
	mcp_call *calls;
};

static const char ALLOW[] = "GET, POST, DELETE, OPTIONS";

/* --------------------------------------------------------- origins */

/* scheme://host[:port] of the public URL. */
static void public_origin(const cfg *c, char *out, size_t cap)
{
	const char *p = strstr(c->public_url, "://");
	size_t n = p ? (size_t)(p + 3 - c->public_url) + strcspn(p + 3, "/") : strlen(c->public_url);
	snprintf(out, cap, "%.*s", (int)n, c->public_url);
}

static bool origin_allowed(const http_req *r, const char *origin)
{
	const cfg *c = http_req_cfg(r);
	char own[300];
	public_origin(c, own, sizeof own);
	if (!strcasecmp(origin, own))
		return true;
	/* CUPD_MCP_ALLOWED_ORIGINS: exact origins, comma-separated (A35). */
	const char *list = c->mcp_allowed_origins ? c->mcp_allowed_origins : "";
	size_t olen = strlen(origin);
	for (const char *p = list; *p;) {
		p += strspn(p, ", ");
		size_t n = strcspn(p, ", ");
		if (n && n == olen && !strncasecmp(p, origin, n))
			return true;
		p += n;
	}
	return false;
}

static bool is_loopback_name(const char *h, size_t n)
{
	return (n == 9 && !strncasecmp(h, "localhost", 9)) || (n == 9 && !strncmp(h, "127.0.0.1", 9)) ||
	       (n == 5 && !strncmp(h, "[::1]", 5));
}

/* DNS-rebinding defence (A36): Host must name the public host; on a loopback
 * deployment any loopback name with the same port is the same server. */
static bool host_allowed(const http_req *r)
{
	const char *host = http_req_header(r, "Host");
	if (!host)
		return true; /* HTTP/1.0 */
	const cfg *c = http_req_cfg(r);
	char own[300];
	public_origin(c, own, sizeof own);
	const char *pub = strstr(own, "://") + 3;
	if (!strcasecmp(host, pub))
		return true;
	const char *pc = strrchr(pub, ':'), *hc = strrchr(host, ':');
	size_t pn = pc && pc[-1] != ':' ? (size_t)(pc - pub) : strlen(pub);
	size_t hn = hc && !strchr(hc, ']') ? (size_t)(hc - host) : strlen(host);
	const char *pport = pn < strlen(pub) ? pub + pn : "", *hport = hn < strlen(host) ? host + hn : "";
	return is_loopback_name(pub, pn) && is_loopback_name(host, hn) && !strcmp(pport, hport);
}

/* CORS for allowed browser origins, on every answer including 401s (A54). */
static void cors_headers(http_req *r, const char *origin)
{
	http_set_header(r, "Access-Control-Allow-Origin", origin);
	http_set_header(r, "Vary", "Origin");
	http_set_header(r, "Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate, MCP-Protocol-Version");
}

/* A JSON-RPC error as an HTTP error (id-less unless given). */
static void reply_rpc_error(http_req *r, int status, json_t *id, int code, const char *message)
{
	http_set_header(r, "Cache-Control", "no-store");
	http_reply_json(r, status, mcp_error(id, code, message, NULL));
}

/* Origin and Host checks shared by POST, GET and DELETE (A34, A36). */
static bool front_door(http_req *r)
{
	const char *origin = http_req_header(r, "Origin");
	if (origin) {
		if (!origin_allowed(r, origin)) {
			reply_rpc_error(r, 403, NULL, MCP_SERVER_ERROR,
			                "Origin not allowed; add it to CUPD_MCP_ALLOWED_ORIGINS to use this server from a browser");
			return false;
		}
		cors_headers(r, origin);
	}
	if (!host_allowed(r)) {
		reply_rpc_error(r, 403, NULL, MCP_SERVER_ERROR, "Host does not name this server");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ replies */

static void post_free(mcp_post *p)
{
	for (size_t i = 0; i < p->nresponses; i++)
		json_decref(p->responses[i]);
	free(p->responses);
	free(p->calls);
	mcp_body_free(&p->body);
	free(p);
}

static void common_headers(mcp_post *p)
{
	if (p->session_id[0])
		http_set_header(p->r, "Mcp-Session-Id", p->session_id);
	if (p->version[0])
		http_set_header(p->r, "MCP-Protocol-Version", p->version);
	http_set_header(p->r, "Cache-Control", "no-store");
}

/* Every request answered: one object, or an array for a batch (A9, A11). */
static void post_finish(mcp_post *p)
{
	http_req *r = p->r;
	common_headers(p);
	if (p->sse) {
		/* One event per response, then the stream ends (A16–A18). */
		size_t cap = 256;
		for (size_t i = 0; i < p->nresponses; i++) {
			char *s = json_dumps(p->responses[i], JSON_COMPACT);
			cap += strlen(s) + 32;
			free(s);
		}
		char *buf = xmalloc(cap), *w = buf;
		for (size_t i = 0; i < p->nresponses; i++) {
			char *s = json_dumps(p->responses[i], JSON_COMPACT);
			w += sprintf(w, "event: message\ndata: %s\n\n", s);
			free(s);
		}
		http_set_header(r, "X-Accel-Buffering", "no");
		http_reply_body(r, 200, "text/event-stream", buf, (size_t)(w - buf));
		free(buf);
	} else if (p->body.batch) {
		json_t *arr = json_array();
		for (size_t i = 0; i < p->nresponses; i++)
			json_array_append(arr, p->responses[i]);
		http_reply_json(r, 200, arr);
	} else {
		http_reply_json(r, 200, json_incref(p->responses[0]));
	}
	post_free(p);
}

static void call_answer(mcp_call *call, json_t *msg)
{
	mcp_post *p = call->post;
	p->responses[call->index] = msg;
	if (--p->pending == 0) {
		if (p->done)
			post_free(p);
		else
			post_finish(p);
	}
}

void mcp_call_result(mcp_call *call, json_t *result)
{
	call_answer(call, mcp_result(call->id, result));
}

void mcp_call_error(mcp_call *call, int code, const char *message, json_t *data)
{
	call_answer(call, mcp_error(call->id, code, message, data));
}

void mcp_call_insufficient_scope(mcp_call *call, auth_scope needed)
{
	mcp_post *p = call->post;
	const char *scope = needed >= AUTH_SCOPE_ADMIN ? "read write admin" : needed >= AUTH_SCOPE_WRITE ? "read write" : "read";
	char desc[200];
	snprintf(desc, sizeof desc, "This tool needs the %s scope; reconnect and approve it.", auth_scope_name(needed));
	if (!call->batch && !p->done) {
		/* One challenge naming every scope needed, so the client can step up (B9, B10). */
		char hdr[700];
		snprintf(hdr, sizeof hdr,
		         "Bearer error=\"insufficient_scope\", scope=\"%s\", resource_metadata=\"%s\", error_description=\"%s\"",
		         scope, oauth_prm_url(), desc);
		http_set_header(p->r, "WWW-Authenticate", hdr);
		common_headers(p);
		http_reply_json(p->r, 403, mcp_error(call->id, MCP_SERVER_ERROR, desc, NULL));
		p->done = true;
	}
	call_answer(call, mcp_error(call->id, MCP_SERVER_ERROR, desc, json_pack("{s:s}", "required_scope", scope)));
}

/* ------------------------------------------------------------- era */

typedef enum { ERA_LEGACY, ERA_MODERN_PROBE } mcp_era;

static bool modern_version(const char *v)
{
	return v && strcmp(v, "2026-07-28") >= 0;
}

/* MODERN-2026.md §1: a request is modern when its params._meta carries the
 * protocolVersion claim, or its MCP-Protocol-Version header names a modern
 * revision. Until that revision is served, such requests get the fallback
 * of A28 so probing clients retry with initialize. */
static mcp_era classify_era(const http_req *r, const mcp_body *b)
{
	if (modern_version(http_req_header(r, "MCP-Protocol-Version")))
		return ERA_MODERN_PROBE;
	for (size_t i = 0; i < b->n; i++) {
		json_t *meta = json_object_get(b->msgs[i].params, "_meta");
		if (json_object_get(meta, "io.modelcontextprotocol/protocolVersion"))
			return ERA_MODERN_PROBE;
	}
	return ERA_LEGACY;
}

/* -------------------------------------------------------------- POST */

static bool media_type_is(const char *value, const char *type)
{
	size_t n = strlen(type);
	while (value && *value == ' ')
		value++;
	return value && !strncasecmp(value, type, n) && (value[n] == '\0' || value[n] == ';' || value[n] == ' ');
}

/* A6: lenient. JSON when acceptable (or nothing said), else SSE, else 406. */
static int negotiate(const char *accept, bool *sse)
{
	*sse = false;
	if (!accept || !*accept || strstr(accept, "application/json") || strstr(accept, "*/*") ||
	    strstr(accept, "application/*"))
		return 0;
	if (strstr(accept, "text/event-stream")) {
		*sse = true;
		return 0;
	}
	return 406;
}

static void dispatch(mcp_post *p, const auth_principal *who)
{
	size_t nreq = 0;
	for (size_t i = 0; i < p->body.n; i++)
		if (p->body.msgs[i].kind == MCP_MSG_REQUEST || p->body.msgs[i].kind == MCP_MSG_INVALID)
			nreq++;
	if (nreq == 0) {
		/* Only notifications and responses: 202, no body (A10, A42). */
		common_headers(p);
		http_reply_empty(p->r, 202);
		post_free(p);
		return;
	}
	p->nresponses = nreq;
	p->pending = nreq;
	p->responses = xcalloc(nreq, sizeof *p->responses);
	p->calls = xcalloc(nreq, sizeof *p->calls);
	api_ctx ctx;
	api_ctx_from_request(&ctx, p->r);
	/* Set every call up first, then start them: a call may answer
	 * synchronously, and the reply must wait for all of them. */
	const mcp_msg **msg_of = xcalloc(nreq, sizeof *msg_of);
	size_t k = 0;
	for (size_t i = 0; i < p->body.n; i++) {
		mcp_msg *m = &p->body.msgs[i];
		if (m->kind != MCP_MSG_REQUEST && m->kind != MCP_MSG_INVALID)
			continue;
		msg_of[k] = m;
		p->calls[k] = (mcp_call){ .post = p, .index = k, .id = m->id, .method = m->method, .params = m->params,
		                          .who = who, .ctx = ctx, .version = p->version, .batch = p->body.batch };
		k++;
	}
	p->pending++; /* held until every call has started */
	for (size_t i = 0; i < nreq; i++) {
		mcp_call *c = &p->calls[i];
		if (msg_of[i]->kind == MCP_MSG_INVALID) {
			mcp_call_error(c, MCP_INVALID_REQUEST, msg_of[i]->error, NULL);
			continue;
		}
		mcp_method_fn fn = mcp_method_lookup(c->method);
		if (!fn) {
			/* Unknown methods are a JSON-RPC error inside HTTP 200 (A41). */
			mcp_call_error(c, MCP_METHOD_NOT_FOUND, "Method not found", NULL);
			continue;
		}
		fn(c);
	}
	free(msg_of);
	if (--p->pending == 0) {
		if (p->done)
			post_free(p);
		else
			post_finish(p);
	}
}

typedef struct init_state {
	mcp_post *post;
	json_t *result;
} init_state;

static void initialize_done(const mcp_session *s, db_status st, void *arg)
{
	init_state *is = arg;
	mcp_post *p = is->post;
	if (!s) {
		json_decref(is->result);
		p->session_id[0] = '\0';
		app_reply_db_failure(p->r, st == DB_OK ? DB_UNAVAILABLE : st);
		post_free(p);
		free(is);
		return;
	}
	/* The session is committed before the client learns its id. */
	p->nresponses = 1;
	p->pending = 0;
	p->responses = xcalloc(1, sizeof *p->responses);
	p->responses[0] = mcp_result(p->body.msgs[0].id, is->result);
	free(is);
	post_finish(p);
}

static void handle_initialize(mcp_post *p, const auth_principal *who)
{
	mcp_msg *m = &p->body.msgs[0];
	const char *requested = json_string_value(json_object_get(m->params, "protocolVersion"));
	const char *negotiated;
	json_t *result = mcp_initialize_result(requested, &negotiated);
	snprintf(p->version, sizeof p->version, "%s", negotiated);
	char *client_info = json_dumps(json_object_get(m->params, "clientInfo"), JSON_COMPACT | JSON_ENCODE_ANY);
	init_state *is = xcalloc(1, sizeof *is);
	is->post = p;
	is->result = result;
	/* A30: any session header on initialize is ignored; a new session starts. */
	db_status st = mcp_session_create(app_worker_of(p->r)->db, who, negotiated, client_info, p->session_id,
	                                  initialize_done, is);
	free(client_info);
	if (st != DB_OK) {
		json_decref(result);
		free(is);
		p->session_id[0] = '\0';
		app_reply_db_failure(p->r, st);
		post_free(p);
	}
}

static void session_found(const mcp_session *s, db_status st, void *arg)
{
	mcp_post *p = arg;
	if (st != DB_OK) {
		app_reply_db_failure(p->r, st);
		post_free(p);
		return;
	}
	if (!s) {
		/* Unknown, ended, expired or someone else's: 404 so the client re-initializes (A27). */
		p->session_id[0] = '\0';
		reply_rpc_error(p->r, 404, NULL, MCP_SESSION_NOT_FOUND, "Session not found");
		post_free(p);
		return;
	}
	const char *hdr = http_req_header(p->r, "MCP-Protocol-Version");
	/* A32/A33: the header may differ from the session within the supported set. */
	snprintf(p->version, sizeof p->version, "%s", hdr ? hdr : s->version);
	dispatch(p, auth_principal_of(p->r));
}

static void post_authed(http_req *r)
{
	const auth_principal *who = auth_principal_of(r);
	if (!media_type_is(http_req_header(r, "Content-Type"), "application/json")) {
		reply_rpc_error(r, 415, NULL, MCP_SERVER_ERROR, "Content-Type must be application/json");
		return;
	}
	bool sse;
	if (negotiate(http_req_header(r, "Accept"), &sse)) {
		reply_rpc_error(r, 406, NULL, MCP_SERVER_ERROR,
		                "Accept must allow application/json or text/event-stream");
		return;
	}
	size_t len;
	const unsigned char *body = http_req_body(r, &len);
	mcp_post *p = xcalloc(1, sizeof *p);
	p->r = r;
	p->sse = sse;
	const char *why = NULL;
	mcp_body_status bs = mcp_body_parse((const char *)body, len, &p->body, &why);
	if (bs != MCP_BODY_OK) {
		reply_rpc_error(r, 400, NULL, bs == MCP_BODY_PARSE_ERROR ? MCP_PARSE_ERROR : MCP_INVALID_REQUEST, why);
		free(p);
		return;
	}
	if (classify_era(r, &p->body) == ERA_MODERN_PROBE) {
		/* A28: a clean 400 with -32000 makes probing clients fall back to initialize. */
		reply_rpc_error(r, 400, p->body.batch ? NULL : p->body.msgs[0].id, MCP_SERVER_ERROR,
		                "This server speaks MCP 2025-11-25 and earlier; start with initialize");
		post_free(p);
		return;
	}
	bool has_init = false;
	for (size_t i = 0; i < p->body.n; i++)
		if (p->body.msgs[i].method && !strcmp(p->body.msgs[i].method, "initialize"))
			has_init = true;
	if (has_init) {
		if (p->body.batch || p->body.msgs[0].kind != MCP_MSG_REQUEST) {
			reply_rpc_error(r, 400, NULL, MCP_INVALID_REQUEST, "initialize must be sent alone, as a request (A8)");
			post_free(p);
			return;
		}
		handle_initialize(p, who);
		return;
	}
	const char *hdr_version = http_req_header(r, "MCP-Protocol-Version");
	if (hdr_version && !mcp_version_supported(hdr_version)) {
		char msg[160];
		snprintf(msg, sizeof msg, "Unsupported MCP-Protocol-Version %.20s; supported: 2025-11-25, 2025-06-18, "
		                          "2025-03-26, 2024-11-05", hdr_version);
		reply_rpc_error(r, 400, NULL, MCP_SERVER_ERROR, msg);
		post_free(p);
		return;
	}
	const char *sid = http_req_header(r, "Mcp-Session-Id");
	if (!sid || !*sid) {
		bool discover = !p->body.batch && p->body.msgs[0].method &&
		                !strcmp(p->body.msgs[0].method, "server/discover");
		/* A28: a bare server/discover probe gets -32601 so it falls back. */
		reply_rpc_error(r, 400, p->body.batch ? NULL : p->body.msgs[0].id,
		                discover ? MCP_METHOD_NOT_FOUND : MCP_SERVER_ERROR,
		                discover ? "Method not found" : "Mcp-Session-Id header is required; send initialize first");
		post_free(p);
		return;
	}
	if (strlen(sid) != MCP_SESSION_ID_LEN) {
		reply_rpc_error(r, 404, NULL, MCP_SESSION_NOT_FOUND, "Session not found"); /* never one of ours */
		post_free(p);
		return;
	}
	snprintf(p->session_id, sizeof p->session_id, "%.43s", sid);
	mcp_session_find(app_worker_of(r)->db, sid, who, session_found, p);
}

static void mcp_http_post(http_req *r)
{
	if (front_door(r))
		auth_gate(r, AUTH_MCP, AUTH_SCOPE_READ, post_authed);
}

/* ------------------------------------------------- GET, DELETE, others */

static void get_authed(http_req *r)
{
	/* A22: no server-initiated messages, so no GET stream. */
	http_set_header(r, "Allow", ALLOW);
	reply_rpc_error(r, 405, NULL, MCP_SERVER_ERROR, "This server does not offer a GET stream");
}

static void mcp_http_get(http_req *r)
{
	if (front_door(r))
		auth_gate(r, AUTH_MCP, AUTH_SCOPE_READ, get_authed);
}

typedef struct del_state {
	http_req *r;
} del_state;

static void delete_done(const mcp_session *s, db_status st, void *arg)
{
	http_req *r = arg;
	if (st != DB_OK)
		app_reply_db_failure(r, st);
	else if (!s)
		reply_rpc_error(r, 404, NULL, MCP_SESSION_NOT_FOUND, "Session not found");
	else
		http_reply_empty(r, 204); /* A31 */
}

static void delete_authed(http_req *r)
{
	const char *sid = http_req_header(r, "Mcp-Session-Id");
	if (!sid || !*sid || strlen(sid) > 128) {
		reply_rpc_error(r, 400, NULL, MCP_SERVER_ERROR, "Mcp-Session-Id header is required");
		return;
	}
	mcp_session_end(app_worker_of(r)->db, sid, auth_principal_of(r), delete_done, r);
}

static void mcp_http_delete(http_req *r)
{
	if (front_door(r))
		auth_gate(r, AUTH_MCP, AUTH_SCOPE_READ, delete_authed);
}

/* CORS preflight (A53): no auth (A4); only allowlisted origins get CORS. */
static void mcp_http_options(http_req *r)
{
	const char *origin = http_req_header(r, "Origin");
	if (origin && origin_allowed(r, origin)) {
		cors_headers(r, origin);
		http_set_header(r, "Access-Control-Allow-Methods", ALLOW);
		http_set_header(r, "Access-Control-Allow-Headers",
		                "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID");
		http_set_header(r, "Access-Control-Max-Age", "600");
	} else if (origin) {
		reply_rpc_error(r, 403, NULL, MCP_SERVER_ERROR, "Origin not allowed");
		return;
	}
	http_set_header(r, "Allow", ALLOW);
	http_reply_empty(r, 204);
}

static void mcp_http_other(http_req *r)
{
	http_set_header(r, "Allow", ALLOW); /* A3 */
	reply_rpc_error(r, 405, NULL, MCP_SERVER_ERROR, "Method not allowed");
}

/* Auth runs inside the handlers, after the Origin check: AUTH_PUBLIC here. */
static const route_def ROUTES[] = {
	{ ROUTER_POST, "/mcp", ROUTER_SLASH_OK, mcp_http_post, AUTH_PUBLIC, 0, "MCP (streamable HTTP)" },
	{ ROUTER_GET, "/mcp", ROUTER_SLASH_OK, mcp_http_get, AUTH_PUBLIC, 0, "MCP: no GET stream (405)" },
	{ ROUTER_DELETE, "/mcp", ROUTER_SLASH_OK, mcp_http_delete, AUTH_PUBLIC, 0, "MCP: end a session" },
	{ ROUTER_OPTIONS, "/mcp", ROUTER_SLASH_OK, mcp_http_options, AUTH_PUBLIC, 0, "MCP: CORS preflight" },
	{ ROUTER_PUT | ROUTER_PATCH, "/mcp", ROUTER_SLASH_OK, mcp_http_other, AUTH_PUBLIC, 0, "MCP: 405" },
};
ROUTES_MODULE(mcp_routes, "MCP", ROUTES);
