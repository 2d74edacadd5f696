/* test_cimd.c: the pure half of Client ID Metadata Documents (oauth/cimd.h):
 * the SSRF address classifier (REQUIREMENTS B27), client_id URLs (B26), the
 * document validator (B27, B29, B30, D14), Cache-Control lifetimes (B27)
 * and the pinned file (B28, D7, D9, D14). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cimd.h"

#define URL "https://app.example.com/oauth/client.json"

typedef struct {
	const char *ip;
	oauth_cimd_addr_class k;
	bool embedded;
} addr_case;

static void check_addrs(const addr_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool emb = !c[i].embedded;
		oauth_cimd_addr_class k = oauth_cimd_addr_classify_text(c[i].ip, &emb);
		if (k != c[i].k || emb != c[i].embedded)
			fail_msg("%s: class %s embedded %d, want %s embedded %d", c[i].ip, oauth_cimd_addr_class_name(k),
			         emb, oauth_cimd_addr_class_name(c[i].k), c[i].embedded);
	}
}

/* B27: every refused IPv4 range, at both ends, and its neighbours outside. */
static void classifies_ipv4(void **state)
{
	(void)state;
	static const addr_case C[] = {
		{ "0.0.0.0", OAUTH_CIMD_ADDR_UNSPECIFIED, false },
		{ "0.1.2.3", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "127.0.0.1", OAUTH_CIMD_ADDR_LOOPBACK, false },
		{ "127.255.255.254", OAUTH_CIMD_ADDR_LOOPBACK, false },
		{ "10.0.0.0", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "10.255.255.255", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "172.16.0.1", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "172.31.255.255", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "172.15.255.255", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "172.32.0.0", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "192.168.0.1", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "192.168.255.255", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "192.169.0.1", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "169.254.169.254", OAUTH_CIMD_ADDR_LINK_LOCAL, false }, /* cloud metadata */
		{ "169.254.0.0", OAUTH_CIMD_ADDR_LINK_LOCAL, false },
		{ "169.253.255.255", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "100.64.0.0", OAUTH_CIMD_ADDR_CGNAT, false },
		{ "100.127.255.255", OAUTH_CIMD_ADDR_CGNAT, false },
		{ "100.63.255.255", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "100.128.0.0", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "224.0.0.1", OAUTH_CIMD_ADDR_MULTICAST, false },
		{ "239.255.255.255", OAUTH_CIMD_ADDR_MULTICAST, false },
		{ "240.0.0.1", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "255.255.255.255", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "192.0.0.8", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "192.0.2.1", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "198.51.100.7", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "203.0.113.9", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "198.18.0.1", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "198.19.255.255", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "198.20.0.0", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "8.8.8.8", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "1.1.1.1", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "160.79.104.10", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "223.255.255.255", OAUTH_CIMD_ADDR_PUBLIC, false },
	};
	check_addrs(C, sizeof C / sizeof C[0]);
}

/* B27: IPv6 ranges, and IPv4 hidden in IPv6 (mapped, compatible, SIIT,
 * NAT64, 6to4), which take the hidden address's class. */
static void classifies_ipv6(void **state)
{
	(void)state;
	static const addr_case C[] = {
		{ "::", OAUTH_CIMD_ADDR_UNSPECIFIED, false },
		{ "::1", OAUTH_CIMD_ADDR_LOOPBACK, false },
		{ "fc00::1", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "fd12:3456:789a::1", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "fe80::1", OAUTH_CIMD_ADDR_LINK_LOCAL, false },
		{ "febf:ffff::1", OAUTH_CIMD_ADDR_LINK_LOCAL, false },
		{ "fec0::1", OAUTH_CIMD_ADDR_PRIVATE, false },
		{ "ff02::1", OAUTH_CIMD_ADDR_MULTICAST, false },
		{ "ff05::1:3", OAUTH_CIMD_ADDR_MULTICAST, false },
		{ "100::1", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "2001:db8::1", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "2001::1", OAUTH_CIMD_ADDR_RESERVED, false },          /* Teredo */
		{ "2001:1ff::1", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "2001:200::1", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "4000::1", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "2606:4700::6810:84e5", OAUTH_CIMD_ADDR_PUBLIC, false },
		{ "2a00:1450:4001::200e", OAUTH_CIMD_ADDR_PUBLIC, false },
		/* IPv4-mapped */
		{ "::ffff:127.0.0.1", OAUTH_CIMD_ADDR_LOOPBACK, true },
		{ "::ffff:10.1.2.3", OAUTH_CIMD_ADDR_PRIVATE, true },
		{ "::ffff:172.16.0.1", OAUTH_CIMD_ADDR_PRIVATE, true },
		{ "::ffff:192.168.1.1", OAUTH_CIMD_ADDR_PRIVATE, true },
		{ "::ffff:169.254.169.254", OAUTH_CIMD_ADDR_LINK_LOCAL, true },
		{ "::ffff:100.64.0.1", OAUTH_CIMD_ADDR_CGNAT, true },
		{ "::ffff:224.0.0.1", OAUTH_CIMD_ADDR_MULTICAST, true },
		{ "::ffff:0.0.0.0", OAUTH_CIMD_ADDR_UNSPECIFIED, true },
		{ "::ffff:7f00:1", OAUTH_CIMD_ADDR_LOOPBACK, true },
		{ "::ffff:8.8.8.8", OAUTH_CIMD_ADDR_PUBLIC, true },
		/* IPv4-compatible (deprecated): never public */
		{ "::127.0.0.1", OAUTH_CIMD_ADDR_LOOPBACK, true },
		{ "::10.0.0.1", OAUTH_CIMD_ADDR_PRIVATE, true },
		{ "::169.254.1.1", OAUTH_CIMD_ADDR_LINK_LOCAL, true },
		{ "::8.8.8.8", OAUTH_CIMD_ADDR_RESERVED, true },
		/* SIIT ::ffff:0:a.b.c.d */
		{ "::ffff:0:127.0.0.1", OAUTH_CIMD_ADDR_LOOPBACK, true },
		/* NAT64 well-known prefix and local-use prefix */
		{ "64:ff9b::127.0.0.1", OAUTH_CIMD_ADDR_LOOPBACK, true },
		{ "64:ff9b::a9fe:a9fe", OAUTH_CIMD_ADDR_LINK_LOCAL, true },
		{ "64:ff9b::8.8.8.8", OAUTH_CIMD_ADDR_PUBLIC, true },
		{ "64:ff9b:1::10.0.0.1", OAUTH_CIMD_ADDR_PRIVATE, false },
		/* 6to4 */
		{ "2002:7f00:1::1", OAUTH_CIMD_ADDR_LOOPBACK, true },
		{ "2002:c0a8:101::1", OAUTH_CIMD_ADDR_PRIVATE, true },
		{ "2002:808:808::1", OAUTH_CIMD_ADDR_PUBLIC, false },
		/* not an address */
		{ "localhost", OAUTH_CIMD_ADDR_RESERVED, false },
		{ "", OAUTH_CIMD_ADDR_RESERVED, false },
	};
	check_addrs(C, sizeof C / sizeof C[0]);
}

/* The decision: public only; the test-only loopback allowance admits plain
 * loopback and nothing else (not mapped loopback, not private). */
static void allowed_policy(void **state)
{
	(void)state;
	for (int k = OAUTH_CIMD_ADDR_PUBLIC; k <= OAUTH_CIMD_ADDR_RESERVED; k++) {
		bool want = k == OAUTH_CIMD_ADDR_PUBLIC;
		assert_int_equal(oauth_cimd_addr_allowed(k, false, false), want);
		assert_int_equal(oauth_cimd_addr_allowed(k, true, false), want);
		assert_int_equal(oauth_cimd_addr_allowed(k, false, true), want || k == OAUTH_CIMD_ADDR_LOOPBACK);
		assert_int_equal(oauth_cimd_addr_allowed(k, true, true), want);
	}
	struct sockaddr_in in = { .sin_family = AF_INET };
	inet_pton(AF_INET, "192.168.7.7", &in.sin_addr);
	assert_int_equal(oauth_cimd_addr_classify((struct sockaddr *)&in, NULL), OAUTH_CIMD_ADDR_PRIVATE);
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
	bool emb = false;
	assert_int_equal(oauth_cimd_addr_classify((struct sockaddr *)&in6, &emb), OAUTH_CIMD_ADDR_LOOPBACK);
	assert_true(emb);
	struct sockaddr other = { .sa_family = AF_UNIX };
	assert_int_equal(oauth_cimd_addr_classify(&other, NULL), OAUTH_CIMD_ADDR_RESERVED);
	assert_int_equal(oauth_cimd_addr_classify(NULL, NULL), OAUTH_CIMD_ADDR_RESERVED);
	assert_string_equal(oauth_cimd_addr_class_name(OAUTH_CIMD_ADDR_LINK_LOCAL), "link-local");
}

/* B26: https URLs with a path; the parts the fetcher uses. */
static void parses_urls(void **state)
{
	(void)state;
	oauth_cimd_url u;
	const char *why = NULL;
	assert_true(oauth_cimd_url_parse("https://claude.ai/oauth/claude-code-client-metadata", &u, &why));
	assert_string_equal(u.host, "claude.ai");
	assert_false(u.host_is_ip);
	assert_int_equal(u.port, 443);
	assert_string_equal(u.target, "/oauth/claude-code-client-metadata");
	assert_true(oauth_cimd_url_parse("https://127.0.0.1:8443/c.json?v=2", &u, &why));
	assert_string_equal(u.host, "127.0.0.1");
	assert_true(u.host_is_ip);
	assert_int_equal(u.port, 8443);
	assert_string_equal(u.target, "/c.json?v=2");
	assert_true(oauth_cimd_url_parse("https://[::1]:9/x", &u, &why));
	assert_string_equal(u.host, "::1");
	assert_true(u.host_is_ip);
	assert_int_equal(u.port, 9);
	assert_true(oauth_cimd_url_parse("https://a.b/x/.well/..x/%2ex", &u, &why));

	static const char *const BAD[] = {
		"http://app.example.com/c.json", "HTTPS://app.example.com/c.json", "https://app.example.com",
		"https://app.example.com/", "https://app.example.com/?x=1", "https://app.example.com?x=/a",
		"https://app.example.com/c.json#frag", "https://user@app.example.com/c.json",
		"https://u:p@app.example.com/c.json", "https:///c.json", "https://:443/c.json",
		"https://app.example.com:/c.json", "https://app.example.com:0/c.json",
		"https://app.example.com:65536/c.json", "https://app.example.com:44a/c.json",
		"https://app.example.com/a/../c.json", "https://app.example.com/./c.json", "https://app.example.com/a/..",
		"https://app.example.com/a/%2e%2E/c", "https://app.example.com/a/.%2e/c", "https://app.example.com/a/%2e/c",
		"https://app exa.com/c", "https://app.example.com/c d", "https://app.example.com/caf\xc3\xa9",
		"https://[::1/x", "https://[zz::1]/x", "https://[::1]x/x", "https://app%2eexample.com/c",
		"https://app.example.com\\@evil/c", "", "ftp://a.b/c",
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		why = NULL;
		if (oauth_cimd_url_parse(BAD[i], &u, &why))
			fail_msg("accepted %s", BAD[i]);
		assert_non_null(why);
	}
	assert_false(oauth_cimd_url_parse(NULL, &u, NULL));
	char big[2100];
	memcpy(big, "https://a.b/", 12);
	memset(big + 12, 'a', sizeof big - 13);
	big[sizeof big - 1] = '\0';
	assert_false(oauth_cimd_url_parse(big, &u, NULL));
	big[2048] = '\0';
	assert_true(oauth_cimd_url_parse(big, &u, NULL));
}

static bool doc_ok(const char *json, oauth_cimd_doc *d, char *why, size_t n)
{
	return oauth_cimd_doc_parse(URL, json, strlen(json), d, why, n);
}

/* B27, D9, D14: documents like Claude's and Claude Code's are accepted as
 * they are published (no application_type, B30; port-less loopback URIs). */
static void accepts_documents(void **state)
{
	(void)state;
	oauth_cimd_doc d;
	char why[300] = "";
	const char *cc = "{\"client_id\":\"" URL "\",\"client_name\":\"Claude Code\","
	                 "\"redirect_uris\":[\"http://localhost/callback\",\"http://127.0.0.1/callback\"],"
	                 "\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"],"
	                 "\"token_endpoint_auth_method\":\"none\",\"client_uri\":\"https://app.example.com\","
	                 "\"logo_uri\":\"javascript:alert(1)\",\"scope\":\"claudeai\",\"software_statement\":\"x\"}";
	if (!doc_ok(cc, &d, why, sizeof why))
		fail_msg("refused: %s", why);
	assert_string_equal(d.client_name, "Claude Code");
	assert_int_equal(d.nredirect, 2);
	assert_string_equal(d.redirect_uris[1], "http://127.0.0.1/callback");
	assert_true(d.allows_refresh);
	assert_string_equal(d.client_uri, "https://app.example.com");
	assert_null(d.logo_uri); /* dropped, not refused */
	/* E5: the registered port-less loopback URI matches a ported request. */
	oauth_client c = { .nredirect = d.nredirect };
	for (int i = 0; i < d.nredirect; i++)
		c.redirect_uris[i] = d.redirect_uris[i];
	assert_true(oauth_client_redirect_ok(&c, "http://127.0.0.1:51234/callback"));
	assert_true(oauth_client_redirect_ok(&c, "http://localhost:8080/callback"));
	assert_false(oauth_client_redirect_ok(&c, "http://127.0.0.1:51234/other"));
	oauth_cimd_doc_cleanup(&d);

	/* Minimal: client_id + redirect_uris; no auth method means public. */
	assert_true(doc_ok("{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://app.example.com/cb\"]}", &d, why,
	                   sizeof why));
	assert_null(d.client_name);
	assert_true(d.allows_refresh);
	oauth_cimd_doc_cleanup(&d);
	/* grant_types without refresh_token; null members count as absent. */
	assert_true(doc_ok("{\"client_id\":\"" URL "\",\"redirect_uris\":[\"cursor://x.y/cb\"],"
	                   "\"grant_types\":[\"authorization_code\"],\"client_name\":null,"
	                   "\"token_endpoint_auth_method\":null}",
	                   &d, why, sizeof why));
	assert_false(d.allows_refresh);
	oauth_cimd_doc_cleanup(&d);
	oauth_cimd_doc_cleanup(NULL);
}

/* B27, B29: what makes a document unusable, each with a reason. */
static void refuses_documents(void **state)
{
	(void)state;
	static const struct { const char *json, *reason; } BAD[] = {
		{ "", "not a JSON object" },
		{ "not json", "not a JSON object" },
		{ "[]", "not a JSON object" },
		{ "\"" URL "\"", "not a JSON object" },
		{ "{\"client_id\":\"" URL "\",\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"]}",
		  "not a JSON object" }, /* duplicate member */
		{ "{\"redirect_uris\":[\"https://a.b/c\"]}", "client_id" },
		{ "{\"client_id\":\"https://app.example.com/oauth/client.json/\",\"redirect_uris\":[\"https://a.b/c\"]}",
		  "client_id" },
		{ "{\"client_id\":\"HTTPS://app.example.com/oauth/client.json\",\"redirect_uris\":[\"https://a.b/c\"]}",
		  "client_id" },
		{ "{\"client_id\":7,\"redirect_uris\":[\"https://a.b/c\"]}", "client_id" },
		{ "{\"client_id\":\"" URL "\"}", "redirect_uris" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[]}", "redirect_uris" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":\"https://a.b/c\"}", "redirect_uris" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\",7]}", "redirect_uris[1]" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"javascript:alert(1)\"]}", "redirect_uris[0]" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"http://evil.example/cb\"]}", "redirect_uris[0]" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/cb#x\"]}", "redirect_uris[0]" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\","
		  "\"10\",\"11\"]}",
		  "at most 10" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],"
		  "\"token_endpoint_auth_method\":\"client_secret_basic\"}",
		  "none" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],"
		  "\"token_endpoint_auth_method\":\"private_key_jwt\"}",
		  "none" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],\"client_secret\":\"s\"}",
		  "client_secret" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],\"grant_types\":[\"implicit\"]}",
		  "authorization_code" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],\"grant_types\":\"authorization_code\"}",
		  "authorization_code" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],\"response_types\":[\"token\"]}",
		  "response_types" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],\"client_name\":42}", "client_name" },
		{ "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],\"client_name\":\"a\\u0007b\"}",
		  "client_name" },
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		oauth_cimd_doc d;
		char why[300] = "";
		if (doc_ok(BAD[i].json, &d, why, sizeof why))
			fail_msg("accepted %s", BAD[i].json);
		if (!strstr(why, BAD[i].reason))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", BAD[i].json, why, BAD[i].reason);
		assert_int_equal(d.nredirect, 0);
		assert_null(d.client_name);
	}
	/* client_name over 200 characters */
	char big[600];
	int n = snprintf(big, sizeof big, "%s",
	                 "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"],\"client_name\":\"");
	memset(big + n, 'x', 201);
	strcpy(big + n + 201, "\"}");
	oauth_cimd_doc d;
	char why[300];
	assert_false(doc_ok(big, &d, why, sizeof why));
	big[n + 200] = '"', big[n + 201] = '}', big[n + 202] = '\0';
	assert_true(doc_ok(big, &d, why, sizeof why));
	oauth_cimd_doc_cleanup(&d);
	/* 5120 bytes at most, whatever the content */
	char *huge = malloc(OAUTH_CIMD_MAX_BODY + 2);
	memset(huge, ' ', OAUTH_CIMD_MAX_BODY + 1);
	huge[OAUTH_CIMD_MAX_BODY + 1] = '\0';
	memcpy(huge, "{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"]}",
	       strlen("{\"client_id\":\"" URL "\",\"redirect_uris\":[\"https://a.b/c\"]}"));
	assert_false(oauth_cimd_doc_parse(URL, huge, OAUTH_CIMD_MAX_BODY + 1, &d, why, sizeof why));
	assert_non_null(strstr(why, "5120"));
	assert_true(oauth_cimd_doc_parse(URL, huge, OAUTH_CIMD_MAX_BODY, &d, why, sizeof why));
	oauth_cimd_doc_cleanup(&d);
	free(huge);
	assert_false(oauth_cimd_doc_parse(URL, NULL, 0, &d, NULL, 0));
}

static void content_types(void **state)
{
	(void)state;
	static const char *const OK[] = { "application/json", "application/json; charset=utf-8", "Application/JSON",
		                          " application/json ;charset=UTF-8", "application/oauth-client+json" };
	static const char *const BAD[] = { NULL, "", "text/html", "text/json", "application/jsonx", "application/json5",
		                           "application/javascript", "json", "application/+json" };
	for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++)
		if (!oauth_cimd_content_type_ok(OK[i]))
			fail_msg("refused %s", OK[i]);
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
		if (oauth_cimd_content_type_ok(BAD[i]))
			fail_msg("accepted %s", BAD[i] ? BAD[i] : "(null)");
}

/* B27: Cache-Control max-age clamped to [5 min, 24 h]; 1 hour without one;
 * no-store / no-cache → the floor. */
static void cache_lifetimes(void **state)
{
	(void)state;
	static const struct { const char *cc; int want; } C[] = {
		{ NULL, 3600 },
		{ "", 3600 },
		{ "public", 3600 },
		{ "max-age=600", 600 },
		{ "public, max-age=7200", 7200 },
		{ "MAX-AGE=900, must-revalidate", 900 },
		{ "max-age=\"1200\"", 1200 },
		{ "max-age=10", 300 },
		{ "max-age=0", 300 },
		{ "max-age=999999999999999999999", 86400 },
		{ "max-age=100000", 86400 },
		{ "no-store", 300 },
		{ "max-age=7200, no-store", 300 },
		{ "no-cache", 300 },
		{ "private, max-age=1000", 1000 },
		{ "max-age=abc", 3600 },
		{ "max-age=", 3600 },
		{ "max-age=12x", 3600 },
		{ "s-maxage=50", 3600 },
		{ "max-age=400, max-age=900", 400 },
		{ ",,, max-age=500 ,", 500 },
	};
	for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
		int got = oauth_cimd_max_age(C[i].cc, 300, 86400);
		if (got != C[i].want)
			fail_msg("%s: %d, want %d", C[i].cc ? C[i].cc : "(null)", got, C[i].want);
	}
	assert_int_equal(oauth_cimd_max_age("max-age=1", 1, 86400), 1);        /* a test floor */
	assert_int_equal(oauth_cimd_max_age(NULL, 300, 600), 600);              /* default above the ceiling */
}

/* B28, D7, D9, D14: the pinned file of the README. */
static void pinned_file(void **state)
{
	(void)state;
	const char *text =
		"{\n"
		"  \"https://claude.ai/oauth/mcp-oauth-client-metadata\": {\n"
		"    \"client_name\": \"Claude\",\n"
		"    \"redirect_uris\": [\"https://claude.ai/api/mcp/auth_callback\",\n"
		"                      \"https://claude.com/api/mcp/auth_callback\"],\n"
		"    \"client_uri\": \"https://claude.ai\"\n"
		"  },\n"
		"  \"https://claude.ai/oauth/claude-code-client-metadata\": {\n"
		"    \"client_name\": \"Claude Code\",\n"
		"    \"redirect_uris\": [\"http://localhost/callback\", \"http://127.0.0.1/callback\"],\n"
		"    \"client_uri\": \"https://claude.ai\"\n"
		"  }\n"
		"}\n";
	char err[300] = "";
	oauth_cimd_pins *p = oauth_cimd_pins_parse(text, strlen(text), err, sizeof err);
	if (!p)
		fail_msg("refused: %s", err);
	assert_int_equal(oauth_cimd_pins_count(p), 2);
	oauth_cimd_pin *pin = oauth_cimd_pins_find(p, "https://claude.ai/oauth/claude-code-client-metadata");
	assert_non_null(pin);
	const oauth_cimd_doc *d = oauth_cimd_pin_doc(pin);
	assert_string_equal(d->client_name, "Claude Code");
	assert_int_equal(d->nredirect, 2);
	assert_true(d->allows_refresh);
	assert_false(oauth_cimd__pin_synced(pin));
	oauth_cimd__pin_set_synced(pin);
	assert_true(oauth_cimd__pin_synced(pin));
	d = oauth_cimd_pin_doc(oauth_cimd_pins_find(p, "https://claude.ai/oauth/mcp-oauth-client-metadata"));
	assert_string_equal(d->redirect_uris[1], "https://claude.com/api/mcp/auth_callback");
	assert_null(oauth_cimd_pins_find(p, "https://claude.ai/oauth/other"));
	assert_null(oauth_cimd_pins_find(p, NULL));
	oauth_cimd_pins_free(p);

	static const struct { const char *text, *reason; } BAD[] = {
		{ "[]", "JSON object" },
		{ "{", "not valid JSON" },
		{ "{\"http://a.b/c\":{\"client_name\":\"A\",\"redirect_uris\":[\"https://a.b/cb\"]}}", "https" },
		{ "{\"https://a.b/c\":{\"redirect_uris\":[\"https://a.b/cb\"]}}", "client_name" },
		{ "{\"https://a.b/c\":{\"client_name\":\"A\"}}", "redirect_uris" },
		{ "{\"https://a.b/c\":{\"client_name\":\"A\",\"redirect_uris\":[\"http://evil.example/cb\"]}}",
		  "redirect_uris[0]" },
		{ "{\"https://a.b/c\":{\"client_id\":\"https://a.b/d\",\"client_name\":\"A\","
		  "\"redirect_uris\":[\"https://a.b/cb\"]}}",
		  "client_id" },
		{ "{\"https://a.b/c\":\"x\"}", "JSON object" },
	};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		err[0] = '\0';
		if ((p = oauth_cimd_pins_parse(BAD[i].text, strlen(BAD[i].text), err, sizeof err))) {
			oauth_cimd_pins_free(p);
			fail_msg("accepted %s", BAD[i].text);
		}
		if (!strstr(err, BAD[i].reason))
			fail_msg("%s: \"%s\" lacks \"%s\"", BAD[i].text, err, BAD[i].reason);
	}
	assert_null(oauth_cimd_pins_parse(NULL, 0, NULL, 0));
	oauth_cimd_pins_free(NULL);
	assert_int_equal(oauth_cimd_pins_count(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classifies_ipv4),  cmocka_unit_test(classifies_ipv6),   cmocka_unit_test(allowed_policy),
		cmocka_unit_test(parses_urls),      cmocka_unit_test(accepts_documents), cmocka_unit_test(refuses_documents),
		cmocka_unit_test(content_types),    cmocka_unit_test(cache_lifetimes),   cmocka_unit_test(pinned_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
