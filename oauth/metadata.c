/* metadata.c: discovery documents and the JWKS.
 *
 * REQUIREMENTS B1-B24, C38, E2, E3, E8. Every document is public (no auth,
 * GET + OPTIONS, CORS "*"), never redirected, built from configuration only
 * (C31: never from Host or X-Forwarded-*), and ignores MCP-Protocol-Version
 * (B17). The issuer is CUPD_PUBLIC_URL byte for byte (B13, B18).
 *
 * client_id_metadata_document_supported is advertised only while URL
 * client_ids can be resolved, fetched or pinned (cimd.h; B26, B28, E22):
 * advertising it makes Claude and Claude Code skip DCR. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cimd.h"
#include "endpoint.h"
#include "keys.h"
#include "oauth.h"
#include "oauth_modules.h"
#include "routes.h"

static json_t *url(const char *path)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s%s", oauth_issuer(), path);
	return json_string(buf);
}

static json_t *scopes(void)
{
	return json_pack("[s, s, s]", "read", "write", "admin");
}

static void reply_doc(http_req *r, json_t *doc)
{
	oauth_cors(r);
	http_set_header(r, "Cache-Control", "public, max-age=300");
	http_reply_json(r, 200, doc);
}

/* RFC 9728 (B2, B3, B12): the same document at the root and path-inserted URLs. */
static void protected_resource(http_req *r)
{
	json_t *doc = json_pack("{s:s, s:[s], s:o, s:[s], s:s}", "resource", oauth_resource(), "authorization_servers",
	                        oauth_issuer(), "scopes_supported", scopes(), "bearer_methods_supported", "header",
	                        "resource_name", "CheckUpstream MCP");
	reply_doc(r, doc);
}

/* RFC 8414 fields every client reads (B19, B20, B21, B38). */
static json_t *as_document(void)
{
	json_t *auth_methods = json_pack("[s, s, s]", "none", "client_secret_post", "client_secret_basic");
	json_t *doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "issuer", oauth_issuer(),
	                        "authorization_endpoint", url("/oauth/authorize"), "token_endpoint", url("/oauth/token"),
	                        "registration_endpoint", url("/oauth/register"), "revocation_endpoint",
	                        url("/oauth/revoke"), "introspection_endpoint", url("/oauth/introspect"), "jwks_uri",
	                        url("/oauth/jwks.json"));
	json_object_set_new(doc, "response_types_supported", json_pack("[s]", "code"));
	json_object_set_new(doc, "response_modes_supported", json_pack("[s]", "query"));
	json_object_set_new(doc, "grant_types_supported", json_pack("[s, s]", "authorization_code", "refresh_token"));
	json_object_set_new(doc, "code_challenge_methods_supported", json_pack("[s]", "S256"));
	json_object_set_new(doc, "token_endpoint_auth_methods_supported", json_deep_copy(auth_methods));
	json_object_set_new(doc, "revocation_endpoint_auth_methods_supported", json_deep_copy(auth_methods));
	json_object_set_new(doc, "introspection_endpoint_auth_methods_supported",
	                    json_pack("[s, s]", "client_secret_basic", "client_secret_post"));
	json_object_set_new(doc, "scopes_supported", scopes());
	json_object_set_new(doc, "authorization_response_iss_parameter_supported", json_true());
	json_object_set_new(doc, "client_id_metadata_document_supported", json_boolean(oauth_cimd_available()));
	json_object_set_new(doc, "service_documentation", url("/settings/credentials"));
	json_decref(auth_methods);
	return doc;
}

static void authorization_server(http_req *r)
{
	reply_doc(r, as_document());
}

/* OpenID Provider Metadata (B16, B23): a valid document for clients that
 * probe it; code_challenge_methods_supported included. */
static void openid_configuration(http_req *r)
{
	json_t *doc = as_document();
	json_object_set_new(doc, "subject_types_supported", json_pack("[s]", "public"));
	json_object_set_new(doc, "id_token_signing_alg_values_supported", json_pack("[s]", "ES256"));
	reply_doc(r, doc);
}

static void jwks(http_req *r)
{
	if (!oauth_ready_or_reply(r))
		return;
	char *doc = oauth_keys_jwks();
	oauth_cors(r);
	/* Short: a rotated-in key must reach verifiers well inside the overlap. */
	http_set_header(r, "Cache-Control", "public, max-age=300");
	http_reply_body(r, 200, "application/json", doc ? doc : "{\"keys\":[]}", doc ? strlen(doc) : 11);
	free(doc);
}

static void preflight(http_req *r)
{
	oauth_reply_preflight(r, OAUTH_PREFLIGHT_GET);
}

#define DOC(path, fn, what)                                                          \
	{ ROUTER_GET, path, 0, fn, AUTH_PUBLIC, 0, what },                           \
	{ ROUTER_OPTIONS, path, 0, preflight, AUTH_PUBLIC, 0, "CORS preflight" }

static const route_def ROUTES[] = {
	DOC("/.well-known/oauth-protected-resource", protected_resource, "Protected resource metadata (RFC 9728)"),
	DOC("/.well-known/oauth-protected-resource/mcp", protected_resource,
	    "Protected resource metadata of /mcp (RFC 9728, path-inserted)"),
	DOC("/.well-known/oauth-authorization-server", authorization_server,
	    "Authorization server metadata (RFC 8414)"),
	DOC("/.well-known/openid-configuration", openid_configuration, "OpenID Provider metadata"),
	DOC("/oauth/jwks.json", jwks, "Public keys of access-token signatures (RFC 7517)"),
};
ROUTES_MODULE(oauth_metadata_routes, "OAuth", ROUTES);
