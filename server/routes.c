/* routes.c: method + path → handler, for every surface (DESIGN.md §1).
 * Handlers live in the module that owns the surface; this file only says
 * which one answers what. */
#include "routes.h"

#include <stddef.h>

#include "health.h"

typedef struct route_def {
	unsigned methods;
	const char *pattern;
	unsigned flags;
	router_handler fn;
} route_def;

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/healthz", 0, health_healthz },
	{ ROUTER_GET, "/readyz", 0, health_readyz },
	{ ROUTER_GET, "/metrics", 0, health_metrics },
};

static const route_def DEBUG_ROUTES[] = {
	{ ROUTER_GET, "/debug/sleep", 0, health_debug_sleep },
};

static bool add_all(router *rt, const route_def *defs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!router_add(rt, defs[i].methods, defs[i].pattern, defs[i].flags, defs[i].fn))
			return false;
	return true;
}

router *routes_build(const cfg *c)
{
	router *rt = router_new();
	if (!add_all(rt, ROUTES, sizeof ROUTES / sizeof ROUTES[0]) ||
	    (c->debug_routes && !add_all(rt, DEBUG_ROUTES, sizeof DEBUG_ROUTES / sizeof DEBUG_ROUTES[0]))) {
		router_free(rt);
		return NULL;
	}
	return rt;
}
