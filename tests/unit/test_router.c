/* test_router.c: route table, matching, parameters and Allow text (router.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

/* Distinct handlers, so a match can be told apart by its handler. */
static void h_a(struct http_req *r) { (void)r; }
static void h_b(struct http_req *r) { (void)r; }
static void h_c(struct http_req *r) { (void)r; }

/* Matches path through an exact-size heap copy, so a read past len is an
 * ASan error rather than a silent look at a terminator. */
static router_result find(const router *rt, unsigned method, const char *path, router_match *m)
{
	size_t n = strlen(path);
	char *copy = malloc(n ? n : 1);
	memcpy(copy, path, n);
	router_result res = router_find(rt, method, copy, n, m);
	/* Parameter values point into m->buf, never into the path: free now. */
	free(copy);
	return res;
}

static void literals(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/healthz", 0, h_a));
	assert_true(router_add(rt, ROUTER_GET, "/api/v1/things", 0, h_b));
	assert_true(router_add(rt, ROUTER_GET, "/", 0, h_c));
	router_match m;

	assert_int_equal(find(rt, ROUTER_GET, "/healthz", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_a);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(find(rt, ROUTER_GET, "/api/v1/things", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_b);
	assert_int_equal(find(rt, ROUTER_GET, "/", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_c);

	static const char *const miss[] = {
		"/healthzz", "/health", "/HEALTHZ", "/healthz/x", "/api/v1", "/api/v1/things/1",
		"/api/v2/things", "/%68ealthz", /* literals compare raw, undecoded */
		"healthz", "", "x/healthz",
	};
	for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++) {
		assert_int_equal(find(rt, ROUTER_GET, miss[i], &m), ROUTER_NOT_FOUND);
		assert_null(m.route);
	}
	router_free(rt);
}

static void len_is_respected(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/healthz", 0, h_a));
	router_match m;
	const char buf[] = "/healthzXYZ";
	assert_int_equal(router_find(rt, ROUTER_GET, buf, 8, &m), ROUTER_FOUND);
	assert_int_equal(router_find(rt, ROUTER_GET, buf, 7, &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_find(rt, ROUTER_GET, buf, 0, &m), ROUTER_NOT_FOUND);
	router_free(rt);
}

static void params_capture_and_decode(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/orgs/{slug}/users/{id}", 0, h_a));
	router_match m;

	assert_int_equal(find(rt, ROUTER_GET, "/orgs/acme/users/42", &m), ROUTER_FOUND);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(router_param(&m, "slug"), "acme");
	assert_string_equal(router_param(&m, "id"), "42");
	assert_null(router_param(&m, "user"));
	assert_null(router_param(&m, "i"));  /* a prefix of a name is not the name */
	assert_null(router_param(&m, "ids"));

	assert_int_equal(find(rt, ROUTER_GET, "/orgs/ac%20me%2b%2B/users/%C3%A9%7e", &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "slug"), "ac me++");
	assert_string_equal(router_param(&m, "id"), "\xc3\xa9~");

	/* '+' is not a space in a path; '%25' is a literal percent sign. */
	assert_int_equal(find(rt, ROUTER_GET, "/orgs/a+b/users/100%25", &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "slug"), "a+b");
	assert_string_equal(router_param(&m, "id"), "100%");

	/* Wrong number of segments. */
	assert_int_equal(find(rt, ROUTER_GET, "/orgs/acme/users", &m), ROUTER_NOT_FOUND);
	assert_int_equal(find(rt, ROUTER_GET, "/orgs/acme/users/1/x", &m), ROUTER_NOT_FOUND);
	assert_int_equal(find(rt, ROUTER_GET, "/orgs/acme/members/1", &m), ROUTER_NOT_FOUND);
	router_free(rt);
}

static void params_reject_slash_nul_and_bad_escapes(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/files/{name}", 0, h_a));
	router_match m;

	static const char *const bad[] = {
		"/files/a%2Fb", "/files/a%2fb", "/files/%2F", /* an encoded '/' never enters a value */
		"/files/a%00b", "/files/%00",                 /* nor an encoded NUL */
		"/files/%", "/files/a%", "/files/a%4", "/files/%zz", "/files/%4g", "/files/%g4",
		"/files/%%41", "/files/%-1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(find(rt, ROUTER_GET, bad[i], &m), ROUTER_NOT_FOUND);
		assert_int_equal(m.nparams, 0);
	}
	/* A value needs a non-empty segment. */
	assert_int_equal(find(rt, ROUTER_GET, "/files/", &m), ROUTER_NOT_FOUND);
	assert_int_equal(find(rt, ROUTER_GET, "/files", &m), ROUTER_NOT_FOUND);
	/* Escapes at the very end are fine when complete. */
	assert_int_equal(find(rt, ROUTER_GET, "/files/a%41", &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "name"), "aA");
	router_free(rt);
}

static void params_too_long_for_the_buffer(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/a/{x}", 0, h_a));
	assert_true(router_add(rt, ROUTER_GET, "/b/{p1}/{p2}", 0, h_b));
	router_match m;
	char path[3 * ROUTER_PARAM_BUF];

	/* ROUTER_PARAM_BUF - 1 bytes plus the terminator fit exactly. */
	snprintf(path, sizeof path, "/a/%.*s", ROUTER_PARAM_BUF - 1, "");
	memset(path + 3, 'v', ROUTER_PARAM_BUF - 1);
	path[3 + ROUTER_PARAM_BUF - 1] = '\0';
	assert_int_equal(find(rt, ROUTER_GET, path, &m), ROUTER_FOUND);
	assert_int_equal(strlen(router_param(&m, "x")), ROUTER_PARAM_BUF - 1);

	/* One more does not, and is refused rather than truncated. */
	memset(path + 3, 'v', ROUTER_PARAM_BUF);
	path[3 + ROUTER_PARAM_BUF] = '\0';
	assert_int_equal(find(rt, ROUTER_GET, path, &m), ROUTER_NOT_FOUND);

	/* Two values share the buffer: together they must fit too. */
	size_t half = ROUTER_PARAM_BUF / 2 + 8, n = 0;
	n += (size_t)snprintf(path + n, sizeof path - n, "/b/");
	memset(path + n, 'p', half);
	n += half;
	path[n++] = '/';
	memset(path + n, 'q', half);
	n += half;
	path[n] = '\0';
	assert_int_equal(find(rt, ROUTER_GET, path, &m), ROUTER_NOT_FOUND);
	router_free(rt);
}

static void empty_segments_never_match(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/a/b", 0, h_a));
	assert_true(router_add(rt, ROUTER_GET, "/p/{x}", ROUTER_PREFIX, h_b));
	assert_true(router_add(rt, ROUTER_GET, "/s", ROUTER_SLASH_OK, h_c));
	router_match m;
	static const char *const bad[] = {
		"//a/b", "/a//b", "/a/b//", "//", "///", "/p//x", "/p/x//y", "//s", "/s//",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(find(rt, ROUTER_GET, bad[i], &m), ROUTER_NOT_FOUND);
	router_free(rt);
}

static void trailing_slash_only_with_slash_ok(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET | ROUTER_POST, "/mcp", ROUTER_SLASH_OK, h_a));
	assert_true(router_add(rt, ROUTER_GET, "/strict", 0, h_b));
	assert_true(router_add(rt, ROUTER_GET, "/items/{id}", ROUTER_SLASH_OK, h_c));
	router_match m;

	assert_int_equal(find(rt, ROUTER_POST, "/mcp", &m), ROUTER_FOUND);
	assert_int_equal(find(rt, ROUTER_POST, "/mcp/", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_a);
	assert_int_equal(find(rt, ROUTER_GET, "/strict", &m), ROUTER_FOUND);
	assert_int_equal(find(rt, ROUTER_GET, "/strict/", &m), ROUTER_NOT_FOUND);
	assert_int_equal(find(rt, ROUTER_GET, "/items/7/", &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "id"), "7");
	/* SLASH_OK is one slash, not a prefix. */
	assert_int_equal(find(rt, ROUTER_GET, "/mcp/x", &m), ROUTER_NOT_FOUND);
	router_free(rt);
}

static void prefix_routes(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/static", ROUTER_PREFIX, h_a));
	assert_true(router_add(rt, ROUTER_GET, "/u/{name}", ROUTER_PREFIX, h_b));
	router_match m;

	static const char *const hit[] = { "/static", "/static/", "/static/app.css", "/static/a/b/c.js" };
	for (size_t i = 0; i < sizeof hit / sizeof hit[0]; i++) {
		assert_int_equal(find(rt, ROUTER_GET, hit[i], &m), ROUTER_FOUND);
		assert_ptr_equal(m.route->handler, h_a);
	}
	assert_int_equal(find(rt, ROUTER_GET, "/staticx", &m), ROUTER_NOT_FOUND);
	assert_int_equal(find(rt, ROUTER_GET, "/stati", &m), ROUTER_NOT_FOUND);
	assert_int_equal(find(rt, ROUTER_GET, "/u/ada/repos/1", &m), ROUTER_FOUND);
	assert_string_equal(router_param(&m, "name"), "ada");

	/* A deep path under a prefix matches up to the segment limit. */
	char deep[256] = "/static";
	for (int i = 1; i < ROUTER_MAX_SEGMENTS; i++)
		strcat(deep, "/d");
	assert_int_equal(find(rt, ROUTER_GET, deep, &m), ROUTER_FOUND);
	router_free(rt);
}

static void too_many_segments(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/static", ROUTER_PREFIX, h_a));
	char pat[512] = "", path[4096] = "";
	/* Patterns: ROUTER_MAX_SEGMENTS segments are fine, one more is refused. */
	for (int i = 0; i < ROUTER_MAX_SEGMENTS; i++)
		strcat(pat, "/s");
	assert_true(router_add(rt, ROUTER_GET, pat, 0, h_b));
	router_match m;
	assert_int_equal(find(rt, ROUTER_GET, pat, &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_b);
	strcat(pat, "/s");
	size_t before = router_count(rt);
	assert_false(router_add(rt, ROUTER_GET, pat, 0, h_b));
	assert_int_equal(router_count(rt), before);

	/* Paths far deeper than the limit are not found, even under a prefix. */
	strcpy(path, "/static");
	for (int i = 0; i < 200; i++)
		strcat(path, "/x");
	assert_int_equal(find(rt, ROUTER_GET, path, &m), ROUTER_NOT_FOUND);
	router_free(rt);
}

static void too_many_params(void **state)
{
	(void)state;
	router *rt = router_new();
	char pat[256] = "";
	for (int i = 0; i < ROUTER_MAX_PARAMS; i++)
		snprintf(pat + strlen(pat), sizeof pat - strlen(pat), "/{p%d}", i);
	assert_true(router_add(rt, ROUTER_GET, pat, 0, h_a));
	router_match m;
	assert_int_equal(find(rt, ROUTER_GET, "/a/b/c/d/e/f", &m), ROUTER_FOUND);
	assert_int_equal(m.nparams, ROUTER_MAX_PARAMS);
	assert_string_equal(router_param(&m, "p0"), "a");
	assert_string_equal(router_param(&m, "p5"), "f");
	strcat(pat, "/{p6}");
	assert_false(router_add(rt, ROUTER_GET, pat, 0, h_a));
	assert_int_equal(router_count(rt), 1);
	router_free(rt);
}

static void method_not_allowed(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/x", 0, h_a));
	assert_true(router_add(rt, ROUTER_POST, "/x", 0, h_b));
	assert_true(router_add(rt, ROUTER_DELETE, "/items/{id}", 0, h_c));
	router_match m;

	assert_int_equal(find(rt, ROUTER_POST, "/x", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_b); /* a later route with the method wins over 405 */

	assert_int_equal(find(rt, ROUTER_PUT, "/x", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, ROUTER_GET | ROUTER_HEAD | ROUTER_POST);
	assert_null(m.route);
	assert_int_equal(m.nparams, 0);

	assert_int_equal(find(rt, ROUTER_GET, "/items/9", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, ROUTER_DELETE);

	/* An unknown method (0) on a known path is 405 too; on an unknown path, 404. */
	assert_int_equal(find(rt, 0, "/x", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(find(rt, ROUTER_PUT, "/y", &m), ROUTER_NOT_FOUND);
	assert_int_equal(m.allowed, 0);
	router_free(rt);
}

static void head_implied_by_get(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/g", 0, h_a));
	assert_true(router_add(rt, ROUTER_POST, "/p", 0, h_b));
	router_match m;
	assert_int_equal(find(rt, ROUTER_HEAD, "/g", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_a);
	assert_int_equal(m.route->methods, ROUTER_GET | ROUTER_HEAD);
	assert_int_equal(find(rt, ROUTER_HEAD, "/p", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, ROUTER_POST);
	router_free(rt);
}

static void first_route_wins(void **state)
{
	(void)state;
	router *rt = router_new();
	assert_true(router_add(rt, ROUTER_GET, "/orgs/new", 0, h_a));
	assert_true(router_add(rt, ROUTER_GET, "/orgs/{slug}", 0, h_b));
	router_match m;
	assert_int_equal(find(rt, ROUTER_GET, "/orgs/new", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_a);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(find(rt, ROUTER_GET, "/orgs/acme", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_b);
	assert_string_equal(router_param(&m, "slug"), "acme");
	router_free(rt);
}

static void allow_header_text(void **state)
{
	(void)state;
	char out[96];
	router_allow_header(ROUTER_GET | ROUTER_HEAD, out, sizeof out);
	assert_string_equal(out, "GET, HEAD");
	router_allow_header(ROUTER_POST | ROUTER_GET | ROUTER_HEAD, out, sizeof out);
	assert_string_equal(out, "GET, HEAD, POST");
	router_allow_header(ROUTER_OPTIONS | ROUTER_DELETE | ROUTER_PATCH | ROUTER_PUT | ROUTER_POST |
	                    ROUTER_HEAD | ROUTER_GET, out, sizeof out);
	assert_string_equal(out, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	router_allow_header(ROUTER_DELETE, out, sizeof out);
	assert_string_equal(out, "DELETE");
	router_allow_header(0, out, sizeof out);
	assert_string_equal(out, "");

	/* Small buffers: a prefix of the full text, always terminated, never
	 * overrun. (A cut can leave part of a name, e.g. "GET,": snprintf has
	 * written it before router_allow_header sees it does not fit. Callers
	 * use 96 bytes; the longest text is 44.) */
	for (size_t cap = 1; cap <= 48; cap++) {
		char small[64];
		memset(small, '#', sizeof small);
		router_allow_header(0x7f, small, cap);
		size_t n = strlen(small);
		assert_true(n < cap);
		assert_int_equal(strncmp(small, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS", n), 0);
		for (size_t i = cap; i < sizeof small; i++)
			assert_int_equal(small[i], '#');
	}
}

static void malformed_patterns_refused(void **state)
{
	(void)state;
	router *rt = router_new();
	static const char *const bad[] = {
		"", "healthz", "x/y", "//", "/a//b", "//a", "/a/", "/a/b/",
		"/{}", "/{x", "/{x}y", "/a/{}", "/{", "/{/}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(router_add(rt, ROUTER_GET, bad[i], 0, h_a));
	assert_false(router_add(rt, 0, "/ok", 0, h_a));     /* no method */
	assert_false(router_add(rt, ROUTER_GET, "/ok", 0, NULL)); /* no handler */
	assert_int_equal(router_count(rt), 0);
	assert_null(router_at(rt, 0));

	assert_true(router_add(rt, ROUTER_GET, "/ok/{x}", 0, h_a));
	assert_int_equal(router_count(rt), 1);
	const router_route *r0 = router_at(rt, 0);
	assert_non_null(r0);
	assert_string_equal(r0->pattern, "/ok/{x}");
	assert_int_equal(r0->methods, ROUTER_GET | ROUTER_HEAD);
	assert_true(r0->metric_id > 0); /* 0 is "unmatched" */
	assert_null(router_at(rt, 1));
	router_free(rt);
}

static void many_routes(void **state)
{
	(void)state;
	router *rt = router_new();
	char pat[64];
	for (int i = 0; i < 100; i++) { /* past the first growth of the table */
		snprintf(pat, sizeof pat, "/r%d/{id}", i);
		assert_true(router_add(rt, ROUTER_GET, pat, 0, (i % 2) ? h_a : h_b));
	}
	assert_int_equal(router_count(rt), 100);
	router_match m;
	assert_int_equal(find(rt, ROUTER_GET, "/r77/abc", &m), ROUTER_FOUND);
	assert_string_equal(m.route->pattern, "/r77/{id}");
	assert_string_equal(router_param(&m, "id"), "abc");
	router_free(rt);
	router_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literals),
		cmocka_unit_test(len_is_respected),
		cmocka_unit_test(params_capture_and_decode),
		cmocka_unit_test(params_reject_slash_nul_and_bad_escapes),
		cmocka_unit_test(params_too_long_for_the_buffer),
		cmocka_unit_test(empty_segments_never_match),
		cmocka_unit_test(trailing_slash_only_with_slash_ok),
		cmocka_unit_test(prefix_routes),
		cmocka_unit_test(too_many_segments),
		cmocka_unit_test(too_many_params),
		cmocka_unit_test(method_not_allowed),
		cmocka_unit_test(head_implied_by_get),
		cmocka_unit_test(first_route_wins),
		cmocka_unit_test(allow_header_text),
		cmocka_unit_test(malformed_patterns_refused),
		cmocka_unit_test(many_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
