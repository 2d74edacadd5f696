/* fuzz_router.c: libFuzzer target for the router (server/router.h).
 *
 * Every input is used twice:
 *   1. as a raw request path (exact-size copy, not NUL-terminated) looked up
 *      in a table of routes like cupd's, built once. A first byte below 8
 *      picks the method (1 << byte; 7 is a method no route has) and is not
 *      part of the path; otherwise the method is GET.
 *   2. as a pattern (up to its first NUL) given to router_add on a scratch
 *      router, with flags from the input length.
 * Invariants that do not hold abort, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void handler(struct http_req *r)
{
	(void)r;
}

static const struct {
	unsigned methods;
	const char *pattern;
	unsigned flags;
} ROUTES[] = {
	{ ROUTER_GET, "/healthz", 0 },
	{ ROUTER_GET, "/", 0 },
	{ ROUTER_GET | ROUTER_POST | ROUTER_DELETE, "/mcp", ROUTER_SLASH_OK },
	{ ROUTER_GET, "/static", ROUTER_PREFIX },
	{ ROUTER_GET | ROUTER_PATCH | ROUTER_DELETE, "/api/v1/incidents/{id}", 0 },
	{ ROUTER_POST, "/api/v1/incidents/{id}/notes", 0 },
	{ ROUTER_GET, "/api/v1/incidents/new", 0 },
	{ ROUTER_GET, "/orgs/{org}/projects/{project}/keys/{key}", ROUTER_SLASH_OK },
	{ ROUTER_GET, "/u/{name}", ROUTER_PREFIX },
	{ ROUTER_PUT, "/a/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}", 0 },
	{ ROUTER_OPTIONS, "/.well-known/oauth-authorization-server", 0 },
};

static router *table;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	table = router_new();
	for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++)
		CHECK(router_add(table, ROUTES[i].methods, ROUTES[i].pattern, ROUTES[i].flags, handler));
	return 0;
}

/* m's parameter values are non-empty strings inside m->buf with no '/'. */
static void check_params(const router_match *m)
{
	CHECK(m->nparams >= 0 && m->nparams <= ROUTER_MAX_PARAMS);
	for (int i = 0; i < m->nparams; i++) {
		const char *v = m->values[i];
		CHECK(v >= m->buf && v < m->buf + sizeof m->buf);
		size_t n = strnlen(v, (size_t)(m->buf + sizeof m->buf - v));
		CHECK(v + n < m->buf + sizeof m->buf); /* terminated inside buf */
		CHECK(n > 0);
		CHECK(!memchr(v, '/', n));
		CHECK(m->names[i][0] == '{');
	}
}

static void lookup(const uint8_t *data, size_t size)
{
	unsigned method = ROUTER_GET;
	if (size > 0 && data[0] < 8) {
		method = 1u << data[0];
		data++;
		size--;
	}
	char *path = malloc(size ? size : 1);
	memcpy(path, data, size);

	router_match m, again;
	router_result r = router_find(table, method, path, size, &m);
	switch (r) {
	case ROUTER_FOUND:
		CHECK(m.route && (m.route->methods & method));
		CHECK(size > 0 && path[0] == '/');
		check_params(&m);
		break;
	case ROUTER_METHOD_NOT_ALLOWED:
		CHECK(!m.route && m.allowed && !(m.allowed & method) && m.nparams == 0);
		break;
	case ROUTER_NOT_FOUND:
		CHECK(!m.route && !m.allowed && m.nparams == 0);
		break;
	default:
		abort();
	}
	/* Pure function of (method, path). */
	CHECK(router_find(table, method, path, size, &again) == r);
	CHECK(again.route == m.route && again.allowed == m.allowed && again.nparams == m.nparams);

	/* Allow text for any method set fits any buffer. */
	char allow[64];
	size_t cap = 1 + (size % sizeof allow);
	memset(allow, 'x', sizeof allow);
	router_allow_header(m.allowed | (size ? data[size - 1] : 0), allow, cap);
	CHECK(strnlen(allow, cap) < cap);
	for (size_t i = cap; i < sizeof allow; i++)
		CHECK(allow[i] == 'x');
	free(path);
}

static void as_pattern(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *pat = malloc(n + 1);
	memcpy(pat, data, n);
	pat[n] = '\0';
	router *s = router_new();
	if (router_add(s, ROUTER_GET, pat, (unsigned)(size % 4), handler)) {
		CHECK(router_count(s) == 1);
		const router_route *rt = router_at(s, 0);
		CHECK(rt && !strcmp(rt->pattern, pat) && pat[0] == '/');
		CHECK(rt->methods == (ROUTER_GET | ROUTER_HEAD));
		/* Without escapes, a pattern's own text is a path it matches: its
		 * literals compare equal and each "{name}" is a non-empty value, as
		 * long as those values fit the parameter buffer (longer ones are
		 * refused by design). */
		if (!strchr(pat, '%') && n < ROUTER_PARAM_BUF) {
			router_match m;
			CHECK(router_find(s, ROUTER_HEAD, pat, n, &m) == ROUTER_FOUND);
			check_params(&m);
		}
	} else {
		CHECK(router_count(s) == 0);
	}
	router_free(s);
	free(pat);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lookup(data, size);
	as_pattern(data, size);
	return 0;
}
