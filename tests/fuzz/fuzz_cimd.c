/* fuzz_cimd.c: libFuzzer target for Client ID Metadata Documents
 * (oauth/cimd.h: REQUIREMENTS B26-B29).
 *
 * The whole input is a fetched document body for a fixed client_id. Split
 * at its first newline, the first line (up to a NUL) is also a client_id
 * URL, a Cache-Control value and a Content-Type, and the rest a document
 * for that URL and a pinned file. The first 4 and 16 bytes are an IPv4 and
 * an IPv6 address for the classifier. Checked:
 *   - an accepted document has 1 to 10 redirect URIs, each acceptable as a
 *     registered redirect URI, and a client_name (if any) of at most 200
 *     printable characters; a refused one says why and holds nothing;
 *   - an accepted URL is https with a host, a port in 1..65535, a request
 *     target starting with "/" (not "/" alone) and no fragment or user
 *     information; a pinned file's entries all have valid URLs and names;
 *   - cache lifetimes stay inside [floor, ceiling];
 *   - an address is allowed only if public (or plain loopback when asked).
 * Invariants that do not hold abort, which libFuzzer reports as a crash. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cimd.h"

#define FIXED "https://app.example.com/oauth/client.json"

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_doc(const char *url, const char *body, size_t len)
{
	oauth_cimd_doc d;
	char why[300] = "";
	if (!oauth_cimd_doc_parse(url, body, len, &d, why, sizeof why)) {
		check(why[0] != '\0');
		check(d.nredirect == 0 && !d.client_name && !d.client_uri && !d.logo_uri);
		return;
	}
	check(len <= OAUTH_CIMD_MAX_BODY);
	check(d.nredirect >= 1 && d.nredirect <= OAUTH_MAX_REDIRECTS);
	for (int i = 0; i < d.nredirect; i++)
		check(oauth_redirect_uri_acceptable(d.redirect_uris[i], NULL));
	if (d.client_name) {
		size_t n = strlen(d.client_name);
		check(n > 0 && n <= OAUTH_CIMD_NAME_MAX);
		for (size_t i = 0; i < n; i++)
			check((unsigned char)d.client_name[i] >= 0x20 && d.client_name[i] != 0x7f);
	}
	if (d.client_uri)
		check(!strncmp(d.client_uri, "https://", 8) || !strncmp(d.client_uri, "http://", 7));
	oauth_cimd_doc_cleanup(&d);
}

static void check_url(const char *url)
{
	oauth_cimd_url u;
	const char *why = NULL;
	if (!oauth_cimd_url_parse(url, &u, &why)) {
		check(why != NULL);
		return;
	}
	check(!strncmp(url, "https://", 8) && strlen(url) <= OAUTH_CIMD_MAX_URL);
	const char *auth_end = strpbrk(url + 8, "/?");
	check(!strchr(url, '#') && auth_end && !memchr(url + 8, '@', (size_t)(auth_end - url - 8)));
	check(u.host[0] != '\0' && u.port >= 1 && u.port <= 65535);
	check(u.target[0] == '/' && u.target[1] != '\0' && u.target[1] != '?');
	check(strstr(url, u.target) != NULL);
}

static void check_addr(const uint8_t *data, size_t size)
{
	if (size >= 4) {
		struct sockaddr_in in = { .sin_family = AF_INET };
		memcpy(&in.sin_addr, data, 4);
		bool emb;
		oauth_cimd_addr_class k = oauth_cimd_addr_classify((struct sockaddr *)&in, &emb);
		check(!emb);
		check(oauth_cimd_addr_allowed(k, emb, false) == (k == OAUTH_CIMD_ADDR_PUBLIC));
		check(data[0] != 127 || k == OAUTH_CIMD_ADDR_LOOPBACK);
		check(data[0] != 10 || k == OAUTH_CIMD_ADDR_PRIVATE);
	}
	if (size >= 16) {
		struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
		memcpy(&in6.sin6_addr, data, 16);
		bool emb;
		oauth_cimd_addr_class k = oauth_cimd_addr_classify((struct sockaddr *)&in6, &emb);
		check(!oauth_cimd_addr_allowed(k, emb, true) || k == OAUTH_CIMD_ADDR_PUBLIC ||
		      (k == OAUTH_CIMD_ADDR_LOOPBACK && !emb));
		/* An IPv4-mapped address is judged exactly like the IPv4 address. */
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (!memcmp(data, mapped, 12)) {
			struct sockaddr_in in = { .sin_family = AF_INET };
			memcpy(&in.sin_addr, data + 12, 4);
			check(emb && k == oauth_cimd_addr_classify((struct sockaddr *)&in, NULL));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_doc(FIXED, (const char *)data, size);
	check_addr(data, size);

	const uint8_t *nl = memchr(data, '\n', size);
	size_t first = nl ? (size_t)(nl - data) : size;
	char *line = malloc(first + 1);
	memcpy(line, data, first);
	line[first] = '\0';
	check_url(line);
	int age = oauth_cimd_max_age(line, 300, 86400);
	check(age >= 300 && age <= 86400);
	age = oauth_cimd_max_age(line, 1, 1);
	check(age == 1);
	(void)oauth_cimd_content_type_ok(line);
	if (nl) {
		const char *rest = (const char *)nl + 1;
		size_t rlen = size - first - 1;
		check_doc(line, rest, rlen);
		char err[512];
		oauth_cimd_pins *p = oauth_cimd_pins_parse(rest, rlen, err, sizeof err);
		if (p) {
			check(oauth_cimd_pins_count(p) <= 100);
			oauth_cimd_pin *pin = oauth_cimd_pins_find(p, line);
			if (pin) {
				check_url(line);
				check(oauth_cimd_pin_doc(pin)->client_name != NULL);
			}
			oauth_cimd_pins_free(p);
		}
	}
	free(line);
	return 0;
}
