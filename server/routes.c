/* routes.c: every module's routes, behind the auth gate (DESIGN.md §1, §3). */
#include "routes.h"

#include <stddef.h>
#include <stdlib.h>

#include "api/modules.h"
#include "oauth_modules.h"

extern const routes_module mcp_routes;
#include "web/web_modules.h"
#include "health.h"
#include "http.h"

static const route_def HEALTH[] = {
	{ ROUTER_GET, "/healthz", 0, health_healthz, AUTH_PUBLIC, 0, "Liveness: 200 while the process runs" },
	{ ROUTER_GET, "/readyz", 0, health_readyz, AUTH_PUBLIC, 0, "Readiness: 200 only while the database answers" },
	{ ROUTER_GET, "/metrics", 0, health_metrics, AUTH_PUBLIC, 0, "Prometheus metrics" },
};
static ROUTES_MODULE(health_routes, "Health", HEALTH);

static const route_def DEBUG[] = {
	{ ROUTER_GET, "/debug/sleep", 0, health_debug_sleep, AUTH_PUBLIC, 0, "Test only: pg_sleep on the loop" },
};
static ROUTES_MODULE(debug_routes, "Debug", DEBUG);

/* Order matters only for overlapping patterns: literals before {params}. */
static const routes_module *const MODULES[] = {
	&health_routes,
	API_MODULES
	OAUTH_MODULES
	WEB_MODULES
	&mcp_routes,
};

/* Entries carry their module so the gate and the OpenAPI generator find both. */
typedef struct bound_def {
	const route_def *def;
	const routes_module *mod;
} bound_def;

static bound_def *bound;
static size_t nbound, capbound;
static const router *current;

static void gate(http_req *r)
{
	const bound_def *b = http_req_route(r)->data;
	auth_gate(r, b->def->auth, b->def->scope, b->def->fn);
}

static bool add_module(router *rt, const routes_module *m)
{
	for (size_t i = 0; i < m->n; i++) {
		if (nbound == capbound)
			return false;
		bound[nbound] = (bound_def){ &m->defs[i], m };
		if (!router_add_with(rt, m->defs[i].methods, m->defs[i].pattern, m->defs[i].flags, gate, &bound[nbound]))
			return false;
		nbound++;
	}
	return true;
}

router *routes_build(const cfg *c)
{
	size_t total = debug_routes.n;
	for (size_t i = 0; i < sizeof MODULES / sizeof MODULES[0]; i++)
		total += MODULES[i]->n;
	/* Sized once, never reallocated: routes keep pointers into it. */
	free(bound);
	bound = calloc(total, sizeof *bound);
	nbound = 0;
	capbound = total;
	router *rt = router_new();
	for (size_t i = 0; i < sizeof MODULES / sizeof MODULES[0]; i++)
		if (!add_module(rt, MODULES[i]))
			goto fail;
	if (c->debug_routes && !add_module(rt, &debug_routes))
		goto fail;
	current = rt;
	return rt;
fail:
	router_free(rt);
	return NULL;
}

const router *routes_router(void)
{
	return current;
}

const route_def *routes_def_of(const router_route *rt)
{
	const bound_def *b = rt ? rt->data : NULL;
	return b ? b->def : NULL;
}

const routes_module *routes_module_of(const router_route *rt)
{
	const bound_def *b = rt ? rt->data : NULL;
	return b ? b->mod : NULL;
}
