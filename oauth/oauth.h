/* oauth.h: process-wide facts of the authorization server and resource.
 *
 * The issuer is CUPD_PUBLIC_URL exactly (no trailing slash) and the MCP
 * resource is issuer + "/mcp" (REQUIREMENTS B3, B13, C31): both come from
 * configuration, never from Host or X-Forwarded-* headers. */
#ifndef CUPD_OAUTH_H
#define CUPD_OAUTH_H

#include <stdbool.h>

#include "config.h"
#include "routes.h"

/* Scopes of cupd access tokens: hierarchical like API Tokens. */
#define OAUTH_SCOPES_SUPPORTED "read write admin"
#define OAUTH_DEFAULT_SCOPE "read write"

enum {
	OAUTH_CODE_TTL_S = 60,               /* authorization codes (DESIGN §2) */
	OAUTH_REFRESH_GRACE_S = 60,          /* same successor for a retried refresh */
	OAUTH_REFRESH_IDLE_DAYS = 30,
	OAUTH_GRANT_LIFETIME_DAYS = 90,
};

/* Sets issuer/resource from c. Call once before workers start. */
void oauth_init(const cfg *c);

const char *oauth_issuer(void);        /* "https://host" */
const char *oauth_resource(void);      /* "https://host/mcp" */
const char *oauth_prm_url(void);       /* ".../.well-known/oauth-protected-resource/mcp" */

/* True when resource names this server's MCP resource after normalizing
 * scheme/host case, a default port and one trailing slash (B32); the bare
 * origin is accepted too (older metadata). */
bool oauth_resource_matches(const char *resource);

#endif
