/* router.h: method + path routing with {named} path parameters.
 *
 * The route table is built once before workers start and is read-only
 * afterwards, so every worker matches against it without locks. Matching is
 * a pure function of (method, path), free of the event loop, so unit tests
 * and fuzzers call it directly. */
#ifndef CUPD_ROUTER_H
#define CUPD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

struct http_req;
typedef void (*router_handler)(struct http_req *req);

enum {
	ROUTER_GET = 1 << 0,
	ROUTER_POST = 1 << 1,
	ROUTER_PUT = 1 << 2,
	ROUTER_PATCH = 1 << 3,
	ROUTER_DELETE = 1 << 4,
	ROUTER_HEAD = 1 << 5,
	ROUTER_OPTIONS = 1 << 6,
};

/* Route flags. */
enum {
	ROUTER_SLASH_OK = 1 << 0,  /* "/x/" is served like "/x" (never redirected) */
	ROUTER_PREFIX = 1 << 1,    /* pattern also matches any deeper path */
};

enum { ROUTER_MAX_PARAMS = 6, ROUTER_MAX_SEGMENTS = 16, ROUTER_PARAM_BUF = 1024 };

typedef struct router_route {
	char *pattern;          /* owned; e.g. "/api/v1/incidents/{id}" */
	unsigned methods;       /* ROUTER_* bits; GET implies HEAD */
	unsigned flags;
	router_handler handler;
	const void *data;       /* borrowed; per-route data for the handler (route table entry) */
	int metric_id;          /* label id for metrics (metrics_route_id) */
} router_route;

typedef struct router_match {
	const router_route *route;   /* borrowed from the router */
	unsigned allowed;            /* on 405: the methods the path accepts */
	int nparams;
	const char *names[ROUTER_MAX_PARAMS];
	const char *values[ROUTER_MAX_PARAMS];   /* percent-decoded, point into buf */
	char buf[ROUTER_PARAM_BUF];
} router_match;

typedef enum { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED } router_result;

typedef struct router router;

router *router_new(void);
void router_free(router *r);

/* Adds a route. Patterns are absolute paths whose segments are literals or
 * {name}. Returns false (and adds nothing) on a malformed pattern. */
bool router_add(router *r, unsigned methods, const char *pattern, unsigned flags, router_handler fn);

/* Same, with data the handler reads back through the matched route. */
bool router_add_with(router *r, unsigned methods, const char *pattern, unsigned flags, router_handler fn,
                     const void *data);

/* Matches a raw (still percent-encoded) path without query string. Literal
 * segments compare exactly; a parameter segment matches one non-empty
 * segment whose decoded value holds no NUL or '/'. On ROUTER_FOUND, m holds
 * the route and parameters; on ROUTER_METHOD_NOT_ALLOWED, m->allowed. */
router_result router_find(const router *r, unsigned method, const char *path, size_t len, router_match *m);

/* Value of parameter name in m, or NULL. */
const char *router_param(const router_match *m, const char *name);

/* Writes "GET, HEAD, POST" style text for an Allow header into out. */
void router_allow_header(unsigned methods, char *out, size_t cap);

/* Number of routes and the i-th route, for tables built from the router (OpenAPI, tests). */
size_t router_count(const router *r);
const router_route *router_at(const router *r, size_t i);

#endif
