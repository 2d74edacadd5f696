/* test_redirect_uri.c: the redirect URI policy of oauth/clients.h —
 * registration (REQUIREMENTS C5, B30, C22, E7) and matching (C3, E5, E6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clients.h"

/* C5, C22, D16, E7: Cursor's three URIs (rejecting any breaks Cursor),
 * Claude's, Claude Code's, mcp-remote's and Inspector's. */
static void accepts_real_clients(void **state)
{
	(void)state;
	static const char *const OK[] = {
		"cursor://anysphere.cursor-mcp/oauth/callback",
		"https://www.cursor.com/agents/mcp/oauth/callback",
		"http://localhost:8787/callback",
		"https://claude.ai/api/mcp/auth_callback",
		"https://claude.com/api/mcp/auth_callback",
		"http://localhost/callback",
		"http://127.0.0.1/callback",
		"http://127.0.0.1:33418/oauth/callback",
		"http://[::1]:6274/oauth/callback",
		"http://localhost:6274/oauth/callback/debug",
		"com.example.app:/oauth2redirect",
		"vscode://vscode.github-authentication/did-authenticate",
		"https://app.example.com:8443/cb?tenant=a&x=y",
		"HTTPS://Example.COM/cb",
	};
	for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++) {
		const char *why = NULL;
		if (!oauth_redirect_uri_acceptable(OK[i], &why))
			fail_msg("refused %s: %s", OK[i], why);
	}
}

/* C5, B37: script/data carriers, files, non-loopback http, fragments. */
static void refuses_dangerous(void **state)
{
	(void)state;
	static const char *const BAD[] = {
		"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>", "file:///etc/passwd",
		"vbscript:msgbox", "http://evil.example/cb", "http://localhost.evil.example/cb",
		"http://127.0.0.1.evil.example/cb", "https://claude.ai/cb#frag", "cursor://x/cb#", "https://a.b/c d",
		"https://", "https:///path", "https://user:pw@claude.ai/cb", "http://localhost@evil.example/cb",
		"http://localhost:/cb", "http://localhost:80a/cb", "relative/path", "/cb", "", "c:/windows/cb",
		"myapp:", "blob:https://a.b/uuid", "about:blank", "ws://localhost/cb", "https://a.b/\x01",
		"https://a.b/caf\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		const char *why = NULL;
		if (oauth_redirect_uri_acceptable(BAD[i], &why))
			fail_msg("accepted %s", BAD[i]);
		assert_non_null(why);
	}
	assert_false(oauth_redirect_uri_acceptable(NULL, NULL));
	char *big = malloc(2100);
	memcpy(big, "https://a.b/", 12);
	memset(big + 12, 'a', 2100 - 13);
	big[2099] = '\0';
	assert_false(oauth_redirect_uri_acceptable(big, NULL));
	big[2040] = '\0';
	assert_true(oauth_redirect_uri_acceptable(big, NULL));
	free(big);
}

/* C3: exact string match, except the port of loopback URIs (RFC 8252 §7.3). */
static void matching(void **state)
{
	(void)state;
	static const struct { const char *reg, *req; bool match; } C[] = {
		{ "https://claude.ai/api/mcp/auth_callback", "https://claude.ai/api/mcp/auth_callback", true },
		{ "cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback", true },
		/* loopback: port ignored, in both directions (D14: CIMD registers port-less) */
		{ "http://localhost/callback", "http://localhost:51234/callback", true },
		{ "http://localhost:8787/callback", "http://localhost:9999/callback", true },
		{ "http://localhost:8787/callback", "http://localhost/callback", true },
		{ "http://127.0.0.1/callback", "http://127.0.0.1:40000/callback", true },
		{ "http://[::1]/cb", "http://[::1]:3000/cb", true },
		{ "http://localhost/cb?x=1", "http://localhost:5/cb?x=1", true },
		/* E6: host, path and query still exact; one loopback host never matches another */
		{ "http://localhost/callback", "http://127.0.0.1:51234/callback", false },
		{ "http://127.0.0.1/callback", "http://[::1]:1/callback", false },
		{ "http://localhost/callback", "http://localhost:1/callback/", false },
		{ "http://localhost/callback", "http://localhost:1/Callback", false },
		{ "http://localhost/cb?x=1", "http://localhost:5/cb?x=2", false },
		{ "http://localhost/cb", "http://localhost:5/cb?x=1", false },
		{ "http://localhost/cb", "http://localhost:5/cb#x", false },
		{ "http://localhost/cb", "http://localhost:5@evil.example/cb", false },
		{ "http://localhost/cb", "http://localhost:abc/cb", false },
		{ "http://localhost/cb", "https://localhost:5/cb", false },
		/* no port rule off loopback, no prefix or case folding anywhere */
		{ "https://claude.ai/cb", "https://claude.ai:443/cb", false },
		{ "https://claude.ai/cb", "https://claude.ai/cb/extra", false },
		{ "https://claude.ai/cb", "https://CLAUDE.ai/cb", false },
		{ "https://claude.ai/cb", "https://claude.ai/cb?x=1", false },
		{ "cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp:1/oauth/callback", false },
		{ "http://evil.example/cb", "http://evil.example:8080/cb", false },
	};
	for (size_t i = 0; i < sizeof C / sizeof C[0]; i++)
		if (oauth_redirect_uri_matches(C[i].reg, C[i].req) != C[i].match)
			fail_msg("%s vs %s: expected %s", C[i].reg, C[i].req, C[i].match ? "match" : "no match");
	assert_false(oauth_redirect_uri_matches(NULL, "x"));
	assert_false(oauth_redirect_uri_matches("x", NULL));
}

static void client_redirect_ok(void **state)
{
	(void)state;
	oauth_client c = { 0 };
	char a[] = "cursor://anysphere.cursor-mcp/oauth/callback", b[] = "http://localhost:8787/callback";
	c.redirect_uris[0] = a;
	c.redirect_uris[1] = b;
	c.nredirect = 2;
	assert_true(oauth_client_redirect_ok(&c, "http://localhost:1234/callback"));
	assert_true(oauth_client_redirect_ok(&c, a));
	assert_false(oauth_client_redirect_ok(&c, "https://www.cursor.com/agents/mcp/oauth/callback"));
	assert_false(oauth_client_redirect_ok(NULL, a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_real_clients),
		cmocka_unit_test(refuses_dangerous),
		cmocka_unit_test(matching),
		cmocka_unit_test(client_redirect_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
