/* revoke.c: token revocation, POST /oauth/revoke (RFC 7009, REQUIREMENTS C28).
 *
 * Same client authentication as the token endpoint. token_type_hint is
 * ignored: the token's own shape says what it is ("cupr_" refresh tokens,
 * JWT access tokens), so a wrong or unknown hint can never fail the call.
 *
 * Revoking either kind revokes its grant, i.e. the whole AI Connection:
 * every access and refresh token of it dies on every instance (the trigger
 * NOTIFYs; this instance marks it at once). Access tokens are not stored
 * one by one (DESIGN §2), so there is nothing narrower to revoke: ending one
 * access token ends that connection, and the client authorizes again.
 *
 * The answer is 200 for valid, unknown, expired and already revoked tokens
 * alike, and also for a token issued to another client, which is left
 * untouched: a client can only ever revoke its own connections, and learns
 * nothing about other tokens. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "creds.h"
#include "endpoint.h"
#include "grants.h"
#include "log.h"
#include "oauth_modules.h"
#include "routes.h"
#include "token_issue.h"
#include "xmem.h"

typedef struct rev {
	http_req *r;
	oauth_form form;
	oauth_client *client;   /* owned once authenticated */
} rev;

static void rev_free(void *p)
{
	rev *v = p;
	oauth_form_free(&v->form);
	oauth_client_free(v->client);
	free(v);
}

static void reply_ok(http_req *r)
{
	oauth_reply_json(r, 200, json_object());
}

/* Both statements revoke a grant of this client and audit it; the grant id
 * comes back so this instance can mark it revoked before its NOTIFY. */
#define REVOKE_TAIL                                                                                             \
	"  RETURNING g.id, g.org_id),"                                                                          \
	" aud AS (INSERT INTO audit_events (org_id, actor_kind, actor_id, action, target_kind, target_id, ip,"  \
	"    user_agent, metadata)"                                                                             \
	"  SELECT upd.org_id, 'connection', upd.id::text, 'connection.revoke', 'connection', upd.id::text,"     \
	"    $3::inet, $4, jsonb_build_object('via', 'token_revocation', 'token', $5::text) FROM upd)"          \
	" SELECT id FROM upd"

static const db_stmt REVOKE_BY_REFRESH = {
	"oauth_revoke_refresh",
	"WITH upd AS (UPDATE oauth_grants g SET revoked_at = now(), revoked_reason = 'token_revocation'"
	"  FROM oauth_refresh_tokens t WHERE t.token_hash = decode($1, 'hex') AND g.id = t.grant_id"
	"    AND g.client_pk = $2::uuid AND g.revoked_at IS NULL" REVOKE_TAIL,
	5,
};

static const db_stmt REVOKE_BY_GRANT = {
	"oauth_revoke_grant",
	"WITH upd AS (UPDATE oauth_grants g SET revoked_at = now(), revoked_reason = 'token_revocation'"
	"  WHERE g.id = $1::uuid AND g.client_pk = $2::uuid AND g.revoked_at IS NULL" REVOKE_TAIL,
	5,
};

static void on_revoked(const db_result *res, void *arg)
{
	rev *v = arg;
	if (res->status != DB_OK) {
		log_msg(LOG_WARN, "oauth: revocation failed: %s %s", res->sqlstate, res->message);
		oauth_reply_db_failure(v->r, res->status);
		return;
	}
	for (int i = 0; i < db_rows(res->res); i++) {
		const char *gid = db_get(res->res, i, "id");
		if (gid) {
			oauth_grants_mark_revoked(gid);
			log_msg(LOG_INFO, "oauth: client %s revoked its connection %s (RFC 7009)", v->client->client_id, gid);
		}
	}
	reply_ok(v->r);
}

static void run(rev *v, const db_stmt *st, const char *key, const char *kind)
{
	const char *ip = http_req_peer_ip(v->r);
	const char *params[] = { key, v->client->pk, (ip && strcmp(ip, "-")) ? ip : NULL, http_req_user_agent(v->r),
		                 kind };
	db_status s = db_query(app_worker_of(v->r)->db, st, params, on_revoked, v);
	if (s != DB_OK)
		oauth_reply_db_failure(v->r, s);
}

static void on_authenticated(http_req *r, oauth_client *client, void *arg)
{
	rev *v = arg;
	v->client = client;
	const char *token = oauth_form_get(&v->form, "token", NULL);
	size_t n = strlen(token);
	if (!strncmp(token, OAUTH_REFRESH_PREFIX, 5) && n <= 512) {
		char hash[OAUTH_HASH_HEX + 1];
		oauth_hash_hex(token, n, hash);
		run(v, &REVOKE_BY_REFRESH, hash, "refresh_token");
		return;
	}
	if (creds_classify(token, n) == CREDS_JWT) {
		oauth_claims cl;
		const char *why = NULL;
		oauth_token_status st = oauth_access_check(token, n, &cl, &why);
		/* Valid, or valid but already revoked / for another audience: the
		 * claims are known. Expired or forged tokens need no revoking. */
		if (st != OAUTH_TOKEN_INVALID && !strcmp(cl.client_id, client->client_id)) {
			run(v, &REVOKE_BY_GRANT, cl.gid, "access_token");
			return;
		}
	}
	reply_ok(r);
}

static void revoke_post(http_req *r)
{
	if (!oauth_ready_or_reply(r))
		return;
	rev *v = xcalloc(1, sizeof *v);
	v->r = r;
	http_req_set_app_data(r, v, rev_free);
	if (!oauth_form_body_or_reply(r, &v->form))
		return;
	bool rep = false;
	if (!oauth_form_get(&v->form, "token", &rep) || rep) {
		oauth_reply_error(r, 400, "invalid_request", rep ? "The token parameter is repeated." : "token is required.");
		return;
	}
	oauth_client_authenticate(r, &v->form, false, on_authenticated, v);
}

static void revoke_options(http_req *r)
{
	oauth_reply_preflight(r, OAUTH_PREFLIGHT_POST);
}

static const route_def ROUTES[] = {
	{ ROUTER_POST, "/oauth/revoke", 0, revoke_post, AUTH_PUBLIC, 0, "Token revocation (RFC 7009)" },
	{ ROUTER_OPTIONS, "/oauth/revoke", 0, revoke_options, AUTH_PUBLIC, 0, "CORS preflight" },
};
ROUTES_MODULE(oauth_revoke_routes, "OAuth", ROUTES);
