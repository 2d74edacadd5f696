/* router.c: linear match over a small, read-only route table. */
#include "router.h"

#include <string.h>

#include "metrics.h"
#include "xmem.h"

struct router {
	router_route *routes;
	size_t n, cap;
};

router *router_new(void)
{
	return xcalloc(1, sizeof(router));
}

void router_free(router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->routes[i].pattern);
	free(r->routes);
	free(r);
}

static bool valid_pattern(const char *p)
{
	if (p[0] != '/')
		return false;
	int segs = 0, params = 0;
	for (const char *s = p + 1; *s;) {
		const char *end = strchr(s, '/');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		if (len == 0)
			return false;
		if (s[0] == '{') {
			if (len < 3 || s[len - 1] != '}')
				return false;
			params++;
		}
		segs++;
		s += len + (end ? 1 : 0);
		if (end && !*s)
			return false; /* trailing slash: use ROUTER_SLASH_OK instead */
	}
	return segs <= ROUTER_MAX_SEGMENTS && params <= ROUTER_MAX_PARAMS;
}

bool router_add(router *r, unsigned methods, const char *pattern, unsigned flags, router_handler fn)
{
	return router_add_with(r, methods, pattern, flags, fn, NULL);
}

bool router_add_with(router *r, unsigned methods, const char *pattern, unsigned flags, router_handler fn,
                     const void *data)
{
	if (!valid_pattern(pattern) || !fn || !methods)
		return false;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->routes = xrealloc(r->routes, r->cap * sizeof *r->routes);
	}
	if (methods & ROUTER_GET)
		methods |= ROUTER_HEAD;
	r->routes[r->n++] = (router_route){
		.pattern = xstrdup(pattern),
		.methods = methods,
		.flags = flags,
		.handler = fn,
		.data = data,
		.metric_id = metrics_route_id(pattern),
	};
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes seg[0..len) into out; false on bad escapes, NUL or '/'. */
static bool decode_segment(const char *seg, size_t len, char *out, size_t cap, size_t *outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = seg[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len || (hi = hexval(seg[i + 1])) < 0 || (lo = hexval(seg[i + 2])) < 0)
				return false;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0' || c == '/' || o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	*outlen = o;
	return true;
}

/* Splits path into segments; returns count, or -1 if too many. */
static int split(const char *path, size_t len, const char **seg, size_t *seglen, bool *trailing)
{
	int n = 0;
	size_t i = 1;
	*trailing = false;
	if (len == 1)
		return 0;
	while (i <= len) {
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		if (i == len && start == len) {
			*trailing = true;
			break;
		}
		if (n == ROUTER_MAX_SEGMENTS + 1)
			return -1;
		seg[n] = path + start;
		seglen[n] = i - start;
		n++;
		i++;
	}
	return n;
}

static bool match_route(const router_route *rt, const char **seg, const size_t *seglen, int nseg,
                        bool trailing, router_match *m)
{
	if (trailing && !(rt->flags & (ROUTER_SLASH_OK | ROUTER_PREFIX)))
		return false;
	const char *p = rt->pattern + 1;
	int i = 0;
	size_t used = 0;
	m->nparams = 0;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t plen = end ? (size_t)(end - p) : strlen(p);
		if (i >= nseg)
			return false;
		if (p[0] == '{') {
			size_t vlen;
			if (seglen[i] == 0 ||
			    !decode_segment(seg[i], seglen[i], m->buf + used, sizeof m->buf - used, &vlen))
				return false;
			m->names[m->nparams] = p; /* name parsed on lookup: "{id}" */
			m->values[m->nparams] = m->buf + used;
			m->nparams++;
			used += vlen + 1;
		} else if (plen != seglen[i] || memcmp(p, seg[i], plen) != 0) {
			return false;
		}
		i++;
		p += plen + (end ? 1 : 0);
	}
	return i == nseg || (rt->flags & ROUTER_PREFIX);
}

router_result router_find(const router *r, unsigned method, const char *path, size_t len, router_match *m)
{
	const char *seg[ROUTER_MAX_SEGMENTS + 1];
	size_t seglen[ROUTER_MAX_SEGMENTS + 1];
	bool trailing;
	m->route = NULL;
	m->allowed = 0;
	m->nparams = 0;
	if (len == 0 || path[0] != '/')
		return ROUTER_NOT_FOUND;
	int nseg = split(path, len, seg, seglen, &trailing);
	if (nseg < 0)
		return ROUTER_NOT_FOUND;
	for (int i = 0; i < nseg; i++)
		if (seglen[i] == 0)
			return ROUTER_NOT_FOUND; /* "//" never names a resource */
	for (size_t i = 0; i < r->n; i++) {
		const router_route *rt = &r->routes[i];
		if (!match_route(rt, seg, seglen, nseg, trailing, m))
			continue;
		if (rt->methods & method) {
			m->route = rt;
			return ROUTER_FOUND;
		}
		m->allowed |= rt->methods;
	}
	m->nparams = 0;
	return m->allowed ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

const char *router_param(const router_match *m, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < m->nparams; i++)
		if (!strncmp(m->names[i] + 1, name, n) && m->names[i][n + 1] == '}')
			return m->values[i];
	return NULL;
}

void router_allow_header(unsigned methods, char *out, size_t cap)
{
	static const struct { unsigned bit; const char *name; } M[] = {
		{ ROUTER_GET, "GET" }, { ROUTER_HEAD, "HEAD" }, { ROUTER_POST, "POST" }, { ROUTER_PUT, "PUT" },
		{ ROUTER_PATCH, "PATCH" }, { ROUTER_DELETE, "DELETE" }, { ROUTER_OPTIONS, "OPTIONS" },
	};
	size_t n = 0;
	if (cap == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
		if (!(methods & M[i].bit))
			continue;
		int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", M[i].name);
		if (w < 0 || (size_t)w >= cap - n) {
			out[n] = '\0'; /* never leave a partial name */
			break;
		}
		n += (size_t)w;
	}
}

size_t router_count(const router *r)
{
	return r->n;
}

const router_route *router_at(const router *r, size_t i)
{
	return i < r->n ? &r->routes[i] : NULL;
}
