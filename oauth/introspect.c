/* introspect.c: token introspection, POST /oauth/introspect (RFC 7662,
 * REQUIREMENTS C29, B34).
 *
 * Who may ask: confidential clients only, authenticated with
 * client_secret_basic or client_secret_post; anyone else gets 401
 * invalid_client. API Tokens are not accepted here on purpose: cupd is its
 * own resource server and needs no introspection, so the endpoint exists
 * for clients checking their own tokens, and a client only ever learns
 * about tokens issued to itself: another client's token reads
 * {"active":false} exactly like garbage does, so the endpoint cannot be
 * used to probe tokens.
 *
 * Access tokens are validated exactly as the MCP endpoint does
 * (oauth_access_check: ES256 pinned, iss, exp/nbf, audience, grant not
 * revoked, in memory), so a revoked connection reads inactive on every
 * instance as soon as its NOTIFY arrived. Refresh tokens are looked up by
 * hash: active while unspent, inside their idle expiry, and their grant
 * neither revoked nor expired. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "creds.h"
#include "endpoint.h"
#include "grants.h"
#include "oauth.h"
#include "oauth_modules.h"
#include "routes.h"
#include "token_issue.h"
#include "xmem.h"

typedef struct isp {
	http_req *r;
	oauth_form form;
	oauth_client *client;   /* owned once authenticated */
} isp;

static void isp_free(void *p)
{
	isp *v = p;
	oauth_form_free(&v->form);
	oauth_client_free(v->client);
	free(v);
}

static void reply_inactive(http_req *r)
{
	oauth_reply_json(r, 200, json_pack("{s:b}", "active", 0));
}

static const db_stmt REFRESH_INFO = {
	"oauth_introspect_refresh",
	"SELECT g.scope, g.user_id, g.id AS grant_id, g.resource, "
	"  extract(epoch FROM t.idle_expires_at)::int8 AS exp, extract(epoch FROM t.created_at)::int8 AS iat "
	"FROM oauth_refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id "
	"WHERE t.token_hash = decode($1, 'hex') AND g.client_pk = $2::uuid AND t.spent_at IS NULL "
	"  AND t.idle_expires_at > now() AND g.revoked_at IS NULL AND g.expires_at > now()",
	2,
};

static json_t *active_doc(const char *scope, const char *client_id, const char *sub, int64_t exp, int64_t iat,
                          const char *aud, const char *gid)
{
	return json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "active", 1, "scope", scope, "client_id",
	                 client_id, "sub", sub, "exp", (json_int_t)exp, "iat", (json_int_t)iat, "aud", aud, "iss",
	                 oauth_issuer(), "token_type", "Bearer", "gid", gid);
}

static void on_refresh_info(const db_result *res, void *arg)
{
	isp *v = arg;
	if (res->status != DB_OK) {
		oauth_reply_db_failure(v->r, res->status);
		return;
	}
	const PGresult *pg = res->res;
	const char *gid = db_rows(pg) == 1 ? db_get(pg, 0, "grant_id") : NULL;
	if (!gid || oauth_grants_is_revoked(gid)) {
		reply_inactive(v->r);
		return;
	}
	int64_t exp = 0, iat = 0;
	db_get_i64(pg, 0, "exp", &exp);
	db_get_i64(pg, 0, "iat", &iat);
	const char *scope = db_get(pg, 0, "scope"), *sub = db_get(pg, 0, "user_id"), *aud = db_get(pg, 0, "resource");
	oauth_reply_json(v->r, 200, active_doc(scope ? scope : "", v->client->client_id, sub ? sub : "", exp, iat,
	                                       aud ? aud : "", gid));
}

static void on_authenticated(http_req *r, oauth_client *client, void *arg)
{
	isp *v = arg;
	v->client = client;
	bool rep = false;
	const char *token = oauth_form_get(&v->form, "token", &rep);
	if (!token || rep) {
		oauth_reply_error(r, 400, "invalid_request", rep ? "The token parameter is repeated." : "token is required.");
		return;
	}
	size_t n = strlen(token);
	if (!strncmp(token, OAUTH_REFRESH_PREFIX, 5) && n <= 512) {
		char hash[OAUTH_HASH_HEX + 1];
		oauth_hash_hex(token, n, hash);
		const char *params[] = { hash, client->pk };
		db_status st = db_query(app_worker_of(r)->db, &REFRESH_INFO, params, on_refresh_info, v);
		if (st != DB_OK)
			oauth_reply_db_failure(r, st);
		return;
	}
	oauth_claims cl;
	const char *why = NULL;
	if (creds_classify(token, n) == CREDS_JWT && oauth_access_check(token, n, &cl, &why) == OAUTH_TOKEN_OK &&
	    !strcmp(cl.client_id, client->client_id)) {
		oauth_reply_json(r, 200, active_doc(cl.scope, cl.client_id, cl.sub, cl.exp, cl.iat, cl.aud, cl.gid));
		return;
	}
	reply_inactive(r);
}

static void introspect_post(http_req *r)
{
	if (!oauth_ready_or_reply(r))
		return;
	isp *v = xcalloc(1, sizeof *v);
	v->r = r;
	http_req_set_app_data(r, v, isp_free);
	if (!oauth_form_body_or_reply(r, &v->form))
		return;
	/* The caller authenticates before anything about the token is said (C29). */
	oauth_client_authenticate(r, &v->form, true, on_authenticated, v);
}

static void introspect_options(http_req *r)
{
	oauth_reply_preflight(r, OAUTH_PREFLIGHT_POST);
}

static const route_def ROUTES[] = {
	{ ROUTER_POST, "/oauth/introspect", 0, introspect_post, AUTH_PUBLIC, 0, "Token introspection (RFC 7662)" },
	{ ROUTER_OPTIONS, "/oauth/introspect", 0, introspect_options, AUTH_PUBLIC, 0, "CORS preflight" },
};
ROUTES_MODULE(oauth_introspect_routes, "OAuth", ROUTES);
