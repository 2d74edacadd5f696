/* register.c: Dynamic Client Registration, POST /oauth/register (alias
 * /register), RFC 7591.
 *
 * REQUIREMENTS B25, B30, C19-C23, D16, D18, D22, E7, E17, E19.
 *
 * Lenient where real clients differ and strict where it matters: unknown
 * members (e.g. "resource"), unknown scopes ("claudeai", "openid") and
 * grant or response types we do not offer are dropped rather than refused,
 * and the answer echoes exactly what was registered. Every redirect URI must
 * pass oauth_redirect_uri_acceptable (one bad URI refuses the request, C22)
 * and there are at most 10 of at most 2048 characters each.
 *
 * token_endpoint_auth_method is honoured (C20, E17): "none" makes a public
 * client without a secret; client_secret_post/_basic (and the RFC default
 * when omitted, client_secret_basic) get a secret of 256 random bits,
 * shown once in this answer and stored only as SHA-256.
 *
 * Abuse limits (C23): registration is open, so it is rate limited per client
 * IP, 30 per minute per instance (1,800 an hour): generous on purpose,
 * because every claude.ai user registers from Anthropic's few egress
 * addresses and a per-IP limit sized for one person (the SDK's 20 an hour)
 * would lock all of them out. What keeps the table small is garbage
 * collection instead: the registration statement itself deletes up to 20
 * DCR clients older than 7 days that never obtained a grant (Claude
 * registers a new client per fresh connection), so stale rows are reaped
 * at least as fast as new ones arrive, with no timer to run. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "endpoint.h"
#include "log.h"
#include "oauth_modules.h"
#include "ratelimit.h"
#include "routes.h"
#include "token_issue.h"
#include "xmem.h"

enum { RATE_PER_MIN = 30, MAX_URI = 2048, CLIENT_NAME_MAX = 200 };

static const db_stmt REGISTER = {
	"oauth_register",
	"WITH gc AS ("
	"  DELETE FROM oauth_clients WHERE id IN ("
	"    SELECT c.id FROM oauth_clients c WHERE c.registered_via = 'dcr' AND c.created_at < now() - interval '7 days'"
	"      AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_pk = c.id)"
	"    ORDER BY c.created_at LIMIT 20 FOR UPDATE SKIP LOCKED)"
	"  RETURNING 1),"
	" ins AS (INSERT INTO oauth_clients (client_id, registered_via, client_secret_hash, token_endpoint_auth_method,"
	"    client_name, client_uri, logo_uri, redirect_uris, grant_types, scope, software_id, software_version,"
	"    metadata, registration_ip)"
	"  VALUES ($1, 'dcr', decode($2, 'hex'), $3, coalesce($4, ''), $5, $6,"
	"    ARRAY(SELECT e FROM json_array_elements_text($7::json) WITH ORDINALITY x(e, n) ORDER BY n),"
	"    ARRAY(SELECT e FROM json_array_elements_text($8::json) WITH ORDINALITY x(e, n) ORDER BY n),"
	"    $9, $10, $11, $12::jsonb, $13::inet)"
	"  RETURNING extract(epoch FROM created_at)::int8 AS issued_at)"
	" SELECT issued_at, (SELECT count(*) FROM gc) AS collected FROM ins",
	13,
};

typedef struct reg {
	json_t *doc;          /* owned: the registered metadata, echoed back */
	char secret[48];      /* the one-time secret, "" for public clients */
} reg;

static void reg_free(void *p)
{
	reg *g = p;
	json_decref(g->doc);
	OPENSSL_cleanse(g->secret, sizeof g->secret);
	free(g);
}

static void reply_bad(http_req *r, const char *error, const char *desc)
{
	oauth_reply_error(r, 400, error, desc);
}

static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* An https URL (or http on loopback) for client_uri / logo_uri; other
 * values are dropped, not refused. */
static const char *web_uri(json_t *v)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) > MAX_URI || !printable(s))
		return NULL;
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return NULL;
	return oauth_redirect_uri_acceptable(s, NULL) ? s : NULL;
}

static const char *short_text(json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	return s && *s && strlen(s) <= max && printable(s) ? s : NULL;
}

static void on_registered(const db_result *res, void *arg)
{
	http_req *r = arg;
	reg *g = http_req_app_data(r);
	if (res->status != DB_OK || db_rows(res->res) != 1) {
		log_msg(LOG_WARN, "oauth: registration failed: %s %s", res->sqlstate ? res->sqlstate : "",
		        res->message ? res->message : "");
		oauth_reply_db_failure(r, res->status == DB_OK ? DB_ERROR : res->status);
		return;
	}
	int64_t issued = 0, collected = 0;
	db_get_i64(res->res, 0, "issued_at", &issued);
	db_get_i64(res->res, 0, "collected", &collected);
	if (collected > 0)
		log_msg(LOG_INFO, "oauth: removed %lld unused client registration(s) older than 7 days",
		        (long long)collected);
	json_t *out = json_deep_copy(g->doc);
	json_object_set_new(out, "client_id_issued_at", json_integer((json_int_t)issued));
	if (g->secret[0]) {
		json_object_set_new(out, "client_secret", json_string(g->secret));
		json_object_set_new(out, "client_secret_expires_at", json_integer(0));
	}
	log_msg(LOG_INFO, "oauth: registered client %s (%s)", json_string_value(json_object_get(out, "client_id")),
	        json_string_value(json_object_get(out, "token_endpoint_auth_method")));
	oauth_reply_json(r, 201, out);
}

static void register_post(http_req *r)
{
	if (!oauth_ready_or_reply(r))
		return;
	char key[80];
	ratelimit_info rl;
	snprintf(key, sizeof key, "dcr:%s", http_req_peer_ip(r));
	if (!ratelimit_take(key, RATE_PER_MIN, &rl)) {
		oauth_cors(r);
		ratelimit_reply_429(r, &rl);
		return;
	}
	size_t len;
	const unsigned char *body = http_req_body(r, &len);
	json_error_t jerr;
	json_t *in = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(in)) {
		json_decref(in);
		reply_bad(r, "invalid_client_metadata", "The body must be a JSON object of client metadata (RFC 7591).");
		return;
	}
	reg *g = xcalloc(1, sizeof *g);
	http_req_set_app_data(r, g, reg_free);
	json_t *doc = g->doc = json_object();

	/* redirect_uris: required; every one acceptable (C5, C22). */
	json_t *uris = json_object_get(in, "redirect_uris");
	size_t nuris = json_array_size(uris);
	if (!json_is_array(uris) || nuris == 0) {
		reply_bad(r, "invalid_redirect_uri", "redirect_uris must be a non-empty array.");
		goto out;
	}
	if (nuris > OAUTH_MAX_REDIRECTS) {
		reply_bad(r, "invalid_redirect_uri", "At most 10 redirect_uris may be registered.");
		goto out;
	}
	json_t *ruris = json_array();
	json_object_set_new(doc, "redirect_uris", ruris);
	for (size_t i = 0; i < nuris; i++) {
		const char *u = json_string_value(json_array_get(uris, i));
		const char *why = "a redirect URI is not a string";
		if (!u || !oauth_redirect_uri_acceptable(u, &why)) {
			char d[300];
			snprintf(d, sizeof d, "redirect_uris[%zu]: %s.", i, why);
			reply_bad(r, "invalid_redirect_uri", d);
			goto out;
		}
		json_array_append_new(ruris, json_string(u));
	}

	/* token_endpoint_auth_method: RFC 7591 §2 default client_secret_basic. */
	json_t *m = json_object_get(in, "token_endpoint_auth_method");
	const char *method = m ? json_string_value(m) : "client_secret_basic";
	if (!method || (strcmp(method, "none") && strcmp(method, "client_secret_post") &&
	                strcmp(method, "client_secret_basic"))) {
		reply_bad(r, "invalid_client_metadata",
		          "token_endpoint_auth_method must be none, client_secret_post or client_secret_basic.");
		goto out;
	}
	json_object_set_new(doc, "token_endpoint_auth_method", json_string(method));

	/* grant_types: keep the ones we offer; authorization_code is required. */
	json_t *gts = json_object_get(in, "grant_types");
	json_t *rgts = json_array();
	json_object_set_new(doc, "grant_types", rgts);
	if (!gts) {
		json_array_append_new(rgts, json_string("authorization_code"));
		json_array_append_new(rgts, json_string("refresh_token"));
	} else {
		bool code = false, refresh = false;
		for (size_t i = 0; i < json_array_size(gts); i++) {
			const char *s = json_string_value(json_array_get(gts, i));
			code |= s && !strcmp(s, "authorization_code");
			refresh |= s && !strcmp(s, "refresh_token");
		}
		if (!json_is_array(gts) || !code) {
			reply_bad(r, "invalid_client_metadata", "grant_types must include authorization_code (the only "
			                                        "interactive grant offered, with refresh_token).");
			goto out;
		}
		json_array_append_new(rgts, json_string("authorization_code"));
		if (refresh)
			json_array_append_new(rgts, json_string("refresh_token"));
	}
	json_t *rts = json_object_get(in, "response_types");
	if (rts) {
		bool code = false;
		for (size_t i = 0; i < json_array_size(rts); i++) {
			const char *s = json_string_value(json_array_get(rts, i));
			code |= s && !strcmp(s, "code");
		}
		if (!code) {
			reply_bad(r, "invalid_client_metadata", "response_types must include code.");
			goto out;
		}
	}
	json_object_set_new(doc, "response_types", json_pack("[s]", "code"));

	/* Descriptive members: validated, or dropped when unusable. */
	json_t *nm = json_object_get(in, "client_name");
	const char *name = NULL;
	if (nm && !json_is_null(nm)) {
		name = json_string_value(nm);
		if (!name || strlen(name) > CLIENT_NAME_MAX || !printable(name)) {
			reply_bad(r, "invalid_client_metadata", "client_name must be text of at most 200 characters.");
			goto out;
		}
		if (*name)
			json_object_set_new(doc, "client_name", json_string(name));
		else
			name = NULL;
	}
	const char *client_uri = web_uri(json_object_get(in, "client_uri"));
	const char *logo_uri = web_uri(json_object_get(in, "logo_uri"));
	if (client_uri)
		json_object_set_new(doc, "client_uri", json_string(client_uri));
	if (logo_uri)
		json_object_set_new(doc, "logo_uri", json_string(logo_uri));
	char scope[64] = "";
	const char *sc = json_string_value(json_object_get(in, "scope"));
	bool unknown;
	if (sc && oauth_scope_normalize(sc, scope, sizeof scope, &unknown) && scope[0])
		json_object_set_new(doc, "scope", json_string(scope)); /* unknown words dropped (C21, E19) */
	const char *software_id = short_text(json_object_get(in, "software_id"), 200);
	const char *software_version = short_text(json_object_get(in, "software_version"), 100);
	if (software_id)
		json_object_set_new(doc, "software_id", json_string(software_id));
	if (software_version)
		json_object_set_new(doc, "software_version", json_string(software_version));
	const char *app_type = json_string_value(json_object_get(in, "application_type"));
	if (app_type && (!strcmp(app_type, "native") || !strcmp(app_type, "web")))
		json_object_set_new(doc, "application_type", json_string(app_type)); /* B30: recorded, never enforced */

	/* Identity and, for confidential clients, the one-time secret. */
	char client_id[48] = "cupc_", secret_hash[OAUTH_HASH_HEX + 1] = "";
	if (!oauth_random_b64url(24, client_id + 5, sizeof client_id - 5) ||
	    (strcmp(method, "none") && !oauth_random_b64url(32, g->secret, sizeof g->secret))) {
		oauth_reply_error(r, 503, "temporarily_unavailable", "No randomness available; retry.");
		goto out;
	}
	json_object_set_new(doc, "client_id", json_string(client_id));
	if (g->secret[0])
		oauth_hash_hex(g->secret, strlen(g->secret), secret_hash);

	char *uris_text = json_dumps(json_object_get(doc, "redirect_uris"), JSON_COMPACT);
	char *grants_text = json_dumps(rgts, JSON_COMPACT);
	char *doc_text = json_dumps(doc, JSON_COMPACT);
	const char *ip = http_req_peer_ip(r);
	const char *params[] = {
		client_id, secret_hash[0] ? secret_hash : NULL, method, name, client_uri, logo_uri, uris_text, grants_text,
		scope[0] ? scope : NULL, software_id, software_version, doc_text, (ip && strcmp(ip, "-")) ? ip : NULL,
	};
	db_status st = db_query(app_worker_of(r)->db, &REGISTER, params, on_registered, r);
	free(uris_text);
	free(grants_text);
	free(doc_text);
	if (st != DB_OK)
		oauth_reply_db_failure(r, st);
out:
	json_decref(in);
}

static void register_options(http_req *r)
{
	oauth_reply_preflight(r, OAUTH_PREFLIGHT_POST);
}

static const route_def ROUTES[] = {
	{ ROUTER_POST, "/oauth/register", 0, register_post, AUTH_PUBLIC, 0, "Dynamic Client Registration (RFC 7591)" },
	{ ROUTER_OPTIONS, "/oauth/register", 0, register_options, AUTH_PUBLIC, 0, "CORS preflight" },
	{ ROUTER_POST, "/register", 0, register_post, AUTH_PUBLIC, 0, "Alias of /oauth/register (B24)" },
	{ ROUTER_OPTIONS, "/register", 0, register_options, AUTH_PUBLIC, 0, "CORS preflight" },
};
ROUTES_MODULE(oauth_register_routes, "OAuth", ROUTES);
