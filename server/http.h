/* http.h: the HTTP core: worker threads, request context, replies.
 *
 * N worker threads each run their own event_base + evhttp and accept from one
 * shared listening socket. A request is handled start to finish on the worker
 * that accepted it. Handlers may answer at once or later (after a database
 * callback on the same loop); either way exactly one reply function ends the
 * request, which writes the access log line, records metrics and frees the
 * context. If the client disconnects first, the late reply is still safe: it
 * only frees the request. */
#ifndef CUPD_HTTP_H
#define CUPD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "router.h"

struct event_base;
struct evbuffer;

typedef struct http_server http_server;
typedef struct http_req http_req;

/* Per-worker hooks: worker_start runs on the worker thread before it serves
 * and returns that worker's context (http_req_worker_ctx); worker_stop runs on
 * the same thread after the loop ended. drain runs on the worker thread when
 * shutdown begins, so long-lived streams can be ended. */
typedef struct http_hooks {
	void *(*worker_start)(int index, struct event_base *base, void *arg);
	void (*worker_drain)(void *worker_ctx, void *arg);
	void (*worker_stop)(void *worker_ctx, void *arg);
	void *arg;
} http_hooks;

/* Binds the listening socket (so a busy port fails before anything else
 * starts). Borrows c and rt, which must outlive the server. NULL on error,
 * with the reason logged. */
http_server *http_server_new(const cfg *c, const router *rt, const http_hooks *hooks);

/* Starts the workers and blocks until SIGTERM/SIGINT, then stops accepting,
 * lets in-flight requests finish for up to cfg.shutdown_grace_seconds, and
 * returns true when every worker stopped cleanly. */
bool http_server_run(http_server *s);

void http_server_free(http_server *s);

/* ---- request accessors (valid until the reply) ---- */
unsigned http_req_method(const http_req *r);            /* ROUTER_* bit */
const char *http_req_method_name(const http_req *r);
const char *http_req_path(const http_req *r);           /* raw path, no query */
const char *http_req_param(const http_req *r, const char *name);  /* decoded {name} */
const char *http_req_header(const http_req *r, const char *name); /* case-insensitive */
/* Decoded value of query parameter name, or NULL. A malformed query string
 * reads as empty. The string lives until the reply. */
const char *http_req_query(http_req *r, const char *name);
/* The raw (still percent-encoded) query string without '?', or NULL. For
 * parsers that must see every pair, e.g. to refuse a repeated parameter. */
const char *http_req_query_raw(const http_req *r);
/* Request body as a contiguous buffer (may contain NULs); *len set. */
const unsigned char *http_req_body(http_req *r, size_t *len);
const char *http_req_id(const http_req *r);
const char *http_req_peer_ip(const http_req *r);
void *http_req_worker_ctx(const http_req *r);
int http_req_worker_index(const http_req *r);
const cfg *http_req_cfg(const http_req *r);

/* The matched route (borrowed from the router), or NULL. */
const router_route *http_req_route(const http_req *r);
/* User-Agent header or "". */
const char *http_req_user_agent(const http_req *r);

/* One slot for the app's per-request state (e.g. the authenticated
 * principal). free_fn (may be NULL) runs when the request ends. */
void http_req_set_app_data(http_req *r, void *data, void (*free_fn)(void *));
void *http_req_app_data(const http_req *r);

/* Replaces the peer address (e.g. with the client IP from a trusted proxy). */
void http_req_set_client_ip(http_req *r, const char *ip);

/* Adds a response header (copied). Call before the reply. */
void http_set_header(http_req *r, const char *name, const char *value);
/* Removes every response header called name. */
void http_remove_header(http_req *r, const char *name);

/* The Content-Security-Policy of every HTML reply, with form_action the
 * sources of its form-action directive (a string literal). */
#define HTTP_HTML_CSP(form_action)                                                                    \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " \
	"base-uri 'none'; form-action " form_action "; frame-ancestors 'none'"

/* ---- replies: exactly one ends each request ---- */
/* Sends body (reference stolen; NULL = no body) as application/json. */
void http_reply_json(http_req *r, int status, json_t *body);
/* {"error": error, "error_description": description} with status. */
void http_reply_error(http_req *r, int status, const char *error, const char *description);
/* Any content type, body copied. HTML replies get the strict CSP headers. */
void http_reply_body(http_req *r, int status, const char *content_type, const void *body, size_t len);
/* Takes everything in buf (left empty, still owned by the caller). */
void http_reply_evbuffer(http_req *r, int status, const char *content_type, struct evbuffer *buf);
void http_reply_empty(http_req *r, int status);

/* ---- streams (server-sent events): start, send*, end ---- */
typedef void (*http_stream_closed_fn)(http_req *r, void *arg);
/* Starts a chunked reply, exempts the connection from the idle timeout, and
 * arranges for on_closed to run if the client goes away first (after which
 * the caller must call http_stream_end, which then only frees). */
void http_stream_start(http_req *r, int status, const char *content_type,
                       http_stream_closed_fn on_closed, void *arg);
void http_stream_send(http_req *r, const void *data, size_t len);
void http_stream_end(http_req *r);

/* Reason phrase of an HTTP status code. */
const char *http_status_text(int status);

#endif
