/* routes.h: the route table: who may call what, and how it is documented.
 *
 * Each module that serves HTTP exports one routes_module listing its routes;
 * routes.c concatenates them. Every route passes auth_gate (client IP, the
 * credential the route takes, scope, rate limit) before its handler, so a
 * handler starts with an authenticated principal. The OpenAPI document is
 * generated from the same entries, so it cannot miss a route. */
#ifndef CUPD_ROUTES_H
#define CUPD_ROUTES_H

#include "auth.h"
#include "config.h"
#include "router.h"

typedef struct route_def {
	unsigned methods;          /* ROUTER_* (one method per entry for API routes) */
	const char *pattern;
	unsigned flags;            /* ROUTER_SLASH_OK, ..., ROUTE_NOTIFY_BARRIER */
	router_handler fn;
	auth_need auth;
	auth_scope scope;          /* minimum scope for API Tokens */
	const char *summary;       /* OpenAPI: one line */
	const char *query;         /* OpenAPI: query parameters "name:type:description;..." or NULL */
	const char *body;          /* OpenAPI: JSON Schema text of the request body, or NULL */
	int ok_status;             /* OpenAPI: success status (0 = 200) */
} route_def;

/* Route flag: a successful answer waits for app_notify_barrier, because the
 * change it made (a revocation) must reach every instance first. */
enum { ROUTE_NOTIFY_BARRIER = 1 << 8 };

typedef struct routes_module {
	const char *tag;           /* OpenAPI tag, e.g. "Incidents" */
	const route_def *defs;
	size_t n;
} routes_module;

#define ROUTES_MODULE(name, tag_, table) \
	const routes_module name = { tag_, table, sizeof(table) / sizeof((table)[0]) }

/* Builds the router for configuration c. NULL if the table is malformed. */
router *routes_build(const cfg *c);

/* The router routes_build made last (one per process). */
const router *routes_router(void);

/* The table entry of a matched route (for the OpenAPI generator and tests). */
const route_def *routes_def_of(const router_route *rt);
const routes_module *routes_module_of(const router_route *rt);

#endif
