/* fuzz_redirect_uri.c: libFuzzer target for the redirect URI policy
 * (oauth/clients.h: REQUIREMENTS C3, C5, E5, E6).
 *
 * The input is split at its first newline into a registered and a requested
 * URI (each up to its first NUL). Checked:
 *   - an acceptable URI has no fragment, no control, space or non-ASCII
 *     byte, and at most 2048 characters; javascript: is never acceptable;
 *   - matching is reflexive and symmetric;
 *   - two different strings match only as http URIs on the same loopback
 *     host that differ in nothing but the port;
 *   - oauth_client_redirect_ok agrees with oauth_redirect_uri_matches.
 * Invariants that do not hold abort, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clients.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_acceptable(const char *u)
{
	const char *why = NULL;
	if (!oauth_redirect_uri_acceptable(u, &why)) {
		check(why != NULL);
		return;
	}
	size_t n = strlen(u);
	check(n > 0 && n <= 2048);
	check(strchr(u, '#') == NULL);
	for (size_t i = 0; i < n; i++)
		check((unsigned char)u[i] > 0x20 && (unsigned char)u[i] < 0x7f);
	check(strncasecmp(u, "javascript:", 11) != 0 && strncasecmp(u, "data:", 5) != 0);
}

/* For an http URI on a loopback host: the host into host[] and the text
 * after the optional port; otherwise NULL. Written independently of
 * clients.c. */
static const char *loopback_rest(const char *u, char host[64])
{
	if (strncmp(u, "http://", 7) != 0)
		return NULL;
	const char *h = u + 7;
	size_t hl;
	if (*h == '[') {
		const char *rb = strchr(h, ']');
		if (!rb)
			return NULL;
		hl = (size_t)(rb - h) + 1;
	} else {
		hl = strcspn(h, ":/?#");
	}
	if (hl >= 64)
		return NULL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (strcasecmp(host, "localhost") && strcmp(host, "127.0.0.1") && strcmp(host, "[::1]"))
		return NULL;
	const char *p = h + hl;
	if (*p == ':') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	check(buf != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *nl = memchr(buf, '\n', size);
	char *reg = buf, *req = nl ? nl + 1 : buf;
	if (nl)
		*nl = '\0';
	check_acceptable(reg);
	check_acceptable(req);
	bool m = oauth_redirect_uri_matches(reg, req);
	check(oauth_redirect_uri_matches(reg, reg));
	check(m == oauth_redirect_uri_matches(req, reg));
	if (m && strcmp(reg, req) != 0) {
		char ha[64], hb[64];
		const char *a = loopback_rest(reg, ha), *b = loopback_rest(req, hb);
		check(a && b && !strcmp(ha, hb) && !strcmp(a, b));
	}
	oauth_client c = { 0 };
	c.redirect_uris[0] = reg;
	c.nredirect = 1;
	check(oauth_client_redirect_ok(&c, req) == m);
	free(buf);
	return 0;
}
