/* oauth.c: issuer and resource, fixed at start-up from configuration. */
#include "oauth.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static char issuer[512], resource[560], prm[640];

void oauth_init(const cfg *c)
{
	snprintf(issuer, sizeof issuer, "%s", c->public_url);
	snprintf(resource, sizeof resource, "%s/mcp", c->public_url);
	snprintf(prm, sizeof prm, "%s/.well-known/oauth-protected-resource/mcp", c->public_url);
}

const char *oauth_issuer(void) { return issuer; }
const char *oauth_resource(void) { return resource; }
const char *oauth_prm_url(void) { return prm; }

/* Lowercases scheme and host, drops a default port and one trailing slash. */
static bool normalize(const char *in, char *out, size_t cap)
{
	const char *sep = strstr(in, "://");
	if (!sep || strlen(in) >= cap)
		return false;
	size_t o = 0;
	const char *p = in;
	for (; p < sep + 3; p++)
		out[o++] = (char)tolower((unsigned char)*p);
	const char *host_end = p + strcspn(p, "/?#");
	for (; p < host_end; p++)
		out[o++] = (char)tolower((unsigned char)*p);
	out[o] = '\0';
	size_t hl = strlen(out);
	if (!strncmp(out, "https://", 8) && hl > 4 && !strcmp(out + hl - 4, ":443"))
		out[hl - 4] = '\0', o = hl - 4;
	else if (!strncmp(out, "http://", 7) && hl > 3 && !strcmp(out + hl - 3, ":80"))
		out[hl - 3] = '\0', o = hl - 3;
	snprintf(out + o, cap - o, "%s", p);
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == '/')
		out[n - 1] = '\0';
	return !strpbrk(out, "?#");
}

bool oauth_resource_matches(const char *r)
{
	char a[600], b[600], c[600];
	if (!r || !normalize(r, a, sizeof a) || !normalize(resource, b, sizeof b) || !normalize(issuer, c, sizeof c))
		return false;
	return !strcmp(a, b) || !strcmp(a, c);
}
