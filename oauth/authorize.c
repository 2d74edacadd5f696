/* authorize.c: the authorization endpoint and consent (REQUIREMENTS C1-C8,
 * C32-C37, C40, B31-B33, B38, B40, E5, E6, E20).
 *
 * GET /oauth/authorize (alias /authorize) validates the request, sends a
 * signed-out user to /login and back, and shows the consent page. The page's
 * form posts to the very same URL (path and query unchanged) with only the
 * CSRF token, the org and the decision in the body, and the POST runs the
 * same validation on that query before anything else: a consent POST can
 * never carry parameters the GET did not check (C34, E20).
 *
 * Order of checks (C2): client_id and redirect_uri first; while either is
 * wrong nothing is redirected and the person sees an HTML error page (400).
 * Every later problem goes back to the client as an error redirect with
 * error, error_description, state and iss (RFC 9207).
 *
 * Approve creates, in ONE statement, the grant (= the AI Connection) and
 * its authorization code (random, SHA-256 at rest, 60 s, bound to the
 * redirect URI, PKCE challenge, scope and resource) plus the audit row; a
 * second approval of the same client is a new grant and leaves the user's
 * other grants of that client alone (a second machine or process). */
#include <ctype.h>
#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "auth.h"
#include "clients.h"
#include "creds.h"
#include "form.h"
#include "log.h"
#include "oauth.h"
#include "oauth_modules.h"
#include "routes.h"
#include "session.h"
#include "web/pages.h"
#include "xmem.h"

enum { STATE_MAX = 1024, CHALLENGE_LEN = 43, MAX_RESOURCES = 8 };

/* One authorization request on its way through validation. */
typedef struct authz {
	http_req *r;
	bool post;                  /* the consent POST (else GET) */
	oauth_form q;               /* the parsed query (authorization parameters) */
	oauth_form body;            /* POST: csrf, org, decision */
	oauth_client *client;       /* owned, once looked up */
	const char *redirect_uri;   /* borrowed from q or client: where answers go */
	bool redirect_sent;         /* redirect_uri was in the request (RFC 6749 §4.1.3) */
	const char *state;          /* borrowed from q; NULL if absent or too long */
	const char *challenge;      /* borrowed from q */
	auth_scope scope;           /* highest known scope asked for (default write) */
	bool scope_defaulted;       /* no known scope was asked for */
	session *s;                 /* owned, once loaded */
} authz;

static void authz_free(authz *a)
{
	oauth_form_free(&a->q);
	oauth_form_free(&a->body);
	oauth_client_free(a->client);
	session_free(a->s);
	free(a);
}

/* ------------------------------------------------------------- replies */

static void bad_request_page(authz *a, const char *title, const char *message)
{
	pages_error(a->r, 400, title, message);
	authz_free(a);
}

static void append_param(struct evbuffer *b, bool *first, const char *k, const char *v)
{
	char *enc = pages_urlencode(v);
	evbuffer_add_printf(b, "%s%s=%s", *first ? "" : "&", k, enc);
	free(enc);
	*first = false;
}

/* 303 to the client's redirect URI with params (k, v pairs, NULL-terminated)
 * plus state and iss. The URI's own query (if any) is kept. */
static void redirect_to_client(authz *a, const char *const *kv)
{
	struct evbuffer *b = evbuffer_new();
	const char *uri = a->redirect_uri;
	evbuffer_add(b, uri, strlen(uri));
	evbuffer_add(b, strchr(uri, '?') ? "&" : "?", 1);
	bool first = true;
	for (; kv[0]; kv += 2)
		append_param(b, &first, kv[0], kv[1]);
	if (a->state)
		append_param(b, &first, "state", a->state);
	append_param(b, &first, "iss", oauth_issuer());
	evbuffer_add(b, "", 1);
	pages_redirect(a->r, (const char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
	authz_free(a);
}

static void error_redirect(authz *a, const char *error, const char *description)
{
	const char *kv[] = { "error", error, "error_description", description, NULL };
	redirect_to_client(a, kv);
}

/* ----------------------------------------------------------- validation */

static bool challenge_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return n == CHALLENGE_LEN;
}

/* Known scopes set the level; unknown ones (claudeai, openid, email,
 * profile, offline_access, ...) are ignored (C37, E19). */
static void parse_scope(authz *a, const char *scope)
{
	a->scope = AUTH_SCOPE_NONE;
	const char *p = scope ? scope : "";
	while (*p) {
		p += strspn(p, " ");
		size_t n = strcspn(p, " ");
		if (!n)
			break;
		static const struct { const char *name; auth_scope s; } K[] = {
			{ "read", AUTH_SCOPE_READ }, { "write", AUTH_SCOPE_WRITE }, { "admin", AUTH_SCOPE_ADMIN },
		};
		for (size_t i = 0; i < sizeof K / sizeof K[0]; i++)
			if (n == strlen(K[i].name) && !strncmp(p, K[i].name, n) && K[i].s > a->scope)
				a->scope = K[i].s;
		p += n;
	}
	a->scope_defaulted = a->scope == AUTH_SCOPE_NONE;
	if (a->scope_defaulted)
		a->scope = AUTH_SCOPE_WRITE; /* OAUTH_DEFAULT_SCOPE: "read write" */
}

static const char *scope_string(auth_scope s)
{
	switch (s) {
	case AUTH_SCOPE_ADMIN: return "read write admin";
	case AUTH_SCOPE_WRITE: return "read write";
	default: return "read";
	}
}

/* Everything after client and redirect URI are trusted. On a problem
 * answers with an error redirect (freeing a) and returns false. */
static bool validate_rest(authz *a)
{
	const oauth_form *q = &a->q;
	bool rep = false;
	const char *state = oauth_form_get(q, "state", &rep);
	a->state = (state && strlen(state) <= STATE_MAX) ? state : NULL;
	if (rep) {
		a->state = NULL;
		error_redirect(a, "invalid_request", "The state parameter is repeated.");
		return false;
	}
	if (state && !a->state) {
		error_redirect(a, "invalid_request", "The state parameter is longer than 1024 characters.");
		return false;
	}
	for (int i = 0; i < q->n; i++) {
		if (!strcmp(q->keys[i], "resource"))
			continue;
		bool repeated = false;
		oauth_form_get(q, q->keys[i], &repeated);
		if (repeated) {
			char d[160];
			snprintf(d, sizeof d, "The %.64s parameter is repeated; send it once.", q->keys[i]);
			error_redirect(a, "invalid_request", d);
			return false;
		}
	}
	const char *rt = oauth_form_get(q, "response_type", NULL);
	if (!rt) {
		error_redirect(a, "invalid_request", "response_type is required; use response_type=code.");
		return false;
	}
	if (strcmp(rt, "code") != 0) {
		error_redirect(a, "unsupported_response_type", "Only response_type=code is supported.");
		return false;
	}
	const char *ch = oauth_form_get(q, "code_challenge", NULL);
	const char *method = oauth_form_get(q, "code_challenge_method", NULL);
	if (!ch) {
		error_redirect(a, "invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256.");
		return false;
	}
	if (!method || strcmp(method, "S256") != 0) {
		error_redirect(a, "invalid_request", "code_challenge_method must be S256 (plain is not accepted).");
		return false;
	}
	if (!challenge_ok(ch)) {
		error_redirect(a, "invalid_request", "code_challenge must be 43 base64url characters (S256 of the verifier).");
		return false;
	}
	a->challenge = ch;
	const char *res[MAX_RESOURCES + 1];
	int nres = oauth_form_all(q, "resource", res, MAX_RESOURCES + 1);
	if (nres > MAX_RESOURCES) {
		error_redirect(a, "invalid_target", "Too many resource parameters.");
		return false;
	}
	for (int i = 0; i < nres; i++) {
		if (!oauth_resource_matches(res[i])) {
			char d[300];
			snprintf(d, sizeof d, "This server only issues tokens for the resource %s.", oauth_resource());
			error_redirect(a, "invalid_target", d);
			return false;
		}
	}
	parse_scope(a, oauth_form_get(q, "scope", NULL));
	return true;
}

/* ------------------------------------------------------------ consent */

static void redirect_host(const char *uri, char *out, size_t cap)
{
	const char *sep = strstr(uri, "://");
	const char *h = sep ? sep + 3 : uri;
	size_t n = strcspn(h, "/?#");
	const char *at = memchr(h, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	bool https = !strncasecmp(uri, "https://", 8);
	if (sep && !https)
		snprintf(out, cap, "%.*s://%.*s", (int)(sep - uri), uri, (int)n, h);
	else
		snprintf(out, cap, "%.*s", (int)n, h);
}

static bool redirect_is_loopback(const char *uri)
{
	if (strncasecmp(uri, "http://", 7) != 0)
		return false;
	const char *h = uri + 7;
	return !strncasecmp(h, "localhost", 9) ? (h[9] == ':' || h[9] == '/' || !h[9])
	     : !strncmp(h, "127.0.0.1", 9)     ? (h[9] == ':' || h[9] == '/' || !h[9])
	     : !strncmp(h, "[::1]", 5);
}

/* The CSP source that lets the consent form's POST be redirected to uri:
 * "scheme://host[:port]" for http(s), "scheme:" for a private-use scheme.
 * Browsers apply form-action to the redirect after a form submission, so
 * without it Approve and Deny would never reach the client. False (out
 * empty) when uri holds anything a CSP source cannot. */
static bool redirect_csp_source(const char *uri, char *out, size_t cap)
{
	out[0] = '\0';
	size_t sl = strcspn(uri, ":");
	if (!sl || uri[sl] != ':' || sl > 64)
		return false;
	for (size_t i = 0; i < sl; i++) {
		char c = uri[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i && ((c >= '0' && c <= '9') || c == '+' ||
		                                                                      c == '-' || c == '.'))))
			return false;
	}
	bool web = (sl == 4 && !strncasecmp(uri, "http", 4)) || (sl == 5 && !strncasecmp(uri, "https", 5));
	if (!web) {
		snprintf(out, cap, "%.*s:", (int)sl, uri);
		return true;
	}
	if (strncmp(uri + sl, "://", 3) != 0)
		return false;
	const char *h = uri + sl + 3;
	size_t hl = strcspn(h, "/?#");
	if (!hl || hl > 255 || memchr(h, '@', hl))
		return false;
	for (size_t i = 0; i < hl; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':' || c == '[' || c == ']'))
			return false;
	}
	snprintf(out, cap, "%.*s://%.*s", (int)sl, uri, (int)hl, h);
	return true;
}

static const char *const SCOPE_WORDS[] = {
	[AUTH_SCOPE_READ] = "See your organization's services, their status, incidents, projects and runbooks.",
	[AUTH_SCOPE_WRITE] = "Create and change incidents, notes, runbooks and other records in the organization.",
	[AUTH_SCOPE_ADMIN] = "Manage the organization's credentials, members and settings.",
};

static void render_consent(authz *a)
{
	const oauth_client *c = a->client;
	const session *s = a->s;
	const char *name = c->name && *c->name ? c->name : NULL;
	char host[300];
	redirect_host(a->redirect_uri, host, sizeof host);
	struct evbuffer *out = evbuffer_new();
	pages_begin(out, &(pages_head){ .title = "Authorize access", .user_email = s->email, .csrf = s->csrf,
	                                .narrow = true });
	char initial[2] = { name ? (char)toupper((unsigned char)name[0]) : '?', '\0' };
	if (!isalnum((unsigned char)initial[0]))
		initial[0] = '?';
	pages_fmt(out,
	          "<section class=\"card consent\" aria-labelledby=\"consent-title\">\n"
	          "<p class=\"eyebrow\">Authorize access</p>\n"
	          "<div class=\"client\"><div class=\"client-icon\" aria-hidden=\"true\">%s</div><div>\n"
	          "<h1 id=\"consent-title\">%s wants to access your CheckUpstream account</h1>\n",
	          initial, name ? name : "An unnamed app");
	if (c->cimd) {
		char idhost[300];
		redirect_host(c->client_id, idhost, sizeof idhost);
		pages_fmt(out,
		          "<p class=\"small\"><span class=\"badge badge-ok\">Verified domain</span> "
		          "Identified by a metadata document published on <strong>%s</strong>.</p>\n",
		          idhost);
	} else {
		pages_fmt(out,
		          "<p class=\"small\"><span class=\"badge badge-warn\">Unverified</span> "
		          "The name was declared by the app itself when it registered and has not been verified. "
		          "Approve only if you are connecting this app yourself right now.</p>\n");
	}
	pages_fmt(out, "</div></div>\n");
	if (redirect_is_loopback(a->redirect_uri))
		pages_fmt(out,
		          "<div class=\"notice notice-warn\" role=\"note\"><strong>Local app.</strong> After you approve, "
		          "access is handed to a program on this computer (%s). Approve only if you just started this "
		          "connection yourself, for example from Claude Code, Cursor or another tool on this device.</div>\n",
		          host);
	pages_fmt(out,
	          "<ul class=\"facts\">\n"
	          "<li><span class=\"k\">Signed in as</span><span class=\"v\">%s</span></li>\n"
	          "<li><span class=\"k\">Sends you back to</span><span class=\"v\">%s</span></li>\n",
	          s->email, host);
	if (s->norgs == 1)
		pages_fmt(out, "<li><span class=\"k\">Organization</span><span class=\"v\">%s</span></li>\n",
		          s->orgs[0].name);
	pages_fmt(out, "</ul>\n<h2>It will be able to</h2>\n<ul class=\"scopes\">\n");
	for (auth_scope l = AUTH_SCOPE_READ; l <= a->scope; l++)
		pages_fmt(out, "<li>%s</li>\n", SCOPE_WORDS[l]);
	pages_fmt(out, "</ul>\n");
	bool capped = false;
	for (int i = 0; i < s->norgs; i++)
		capped |= auth_role_cap(s->orgs[i].role) < a->scope;
	if (capped)
		pages_fmt(out,
		          "<p class=\"small muted\">Your role limits what the app gets: as a member of an organization "
		          "it can read and write there, but not administer it.</p>\n");

	/* The form posts back to this exact URL; the POST re-validates it all. */
	const char *rq = http_req_query_raw(a->r);
	pages_fmt(out, "<form method=\"post\" action=\"%s?%s\">\n<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n",
	          http_req_path(a->r), rq ? rq : "", s->csrf);
	if (s->norgs > 1) {
		pages_fmt(out, "<div class=\"field\"><label for=\"org\">Organization</label>\n<select id=\"org\" name=\"org\">\n");
		for (int i = 0; i < s->norgs; i++)
			pages_fmt(out, "<option value=\"%s\">%s (%s)</option>\n", s->orgs[i].id, s->orgs[i].name,
			          s->orgs[i].role);
		pages_fmt(out, "</select></div>\n");
	} else {
		pages_fmt(out, "<input type=\"hidden\" name=\"org\" value=\"%s\">\n", s->orgs[0].id);
	}
	pages_fmt(out,
	          "<div class=\"actions\">\n"
	          "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"btn\">Deny</button>\n"
	          "<button type=\"submit\" name=\"decision\" value=\"approve\" class=\"btn btn-primary\">Approve</button>\n"
	          "</div>\n</form>\n"
	          "<p class=\"small muted\">You can disconnect it at any time under Settings &rarr; Credentials &rarr; "
	          "AI Connections.</p>\n</section>\n");
	pages_end(out);
	http_req *r = a->r;
	char src[400], csp[700];
	if (redirect_csp_source(a->redirect_uri, src, sizeof src)) {
		snprintf(csp, sizeof csp, HTTP_HTML_CSP("'self' %s"), src);
		http_set_header(r, "Content-Security-Policy", csp);
	}
	authz_free(a);
	pages_reply(r, 200, out);
}

/* ------------------------------------------------------------ approve */

static const db_stmt APPROVE = {
	"oauth_authorize_approve",
	"WITH m AS (SELECT 1 FROM org_members WHERE org_id = $1::uuid AND user_id = $2::uuid),"
	" g AS (INSERT INTO oauth_grants (org_id, user_id, client_pk, scope, resource, expires_at, user_agent, last_ip)"
	"   SELECT $1::uuid, $2::uuid, $3::uuid, $4, $5, now() + make_interval(days => $14::int), $6, $7::inet FROM m"
	"   RETURNING id),"
	" c AS (INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, redirect_sent, code_challenge, scope,"
	"     resource, expires_at)"
	"   SELECT decode($8, 'hex'), g.id, $9, $10::boolean, $11, $4, $5, now() + make_interval(secs => $15::int)"
	"   FROM g RETURNING grant_id),"
	" a AS (INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_user_id, action, target_kind,"
	"     target_id, ip, user_agent, metadata)"
	"   SELECT $1::uuid, 'user', $2, $2::uuid, 'connection.approve', 'connection', g.id::text, $7::inet, $6,"
	"     jsonb_build_object('client_id', $12::text, 'client_name', $13::text, 'scope', $4::text,"
	"       'resource', $5::text)"
	"   FROM g)"
	" SELECT c.grant_id FROM c",
	15,
};

typedef struct approve_ctx {
	authz *a;
	char code[SESSION_TOKEN_LEN + 1];
} approve_ctx;

static void on_approved(const db_result *res, void *arg)
{
	approve_ctx *x = arg;
	authz *a = x->a;
	if (res->status != DB_OK) {
		log_msg(LOG_WARN, "authorize: approving failed: %s", res->message ? res->message : "?");
		OPENSSL_cleanse(x->code, sizeof x->code);
		free(x);
		if (res->status == DB_ERROR)
			pages_error(a->r, 500, "Something went wrong", "The connection could not be created. Try again.");
		else
			app_reply_db_failure(a->r, res->status);
		authz_free(a);
		return;
	}
	if (db_rows(res->res) != 1) {
		OPENSSL_cleanse(x->code, sizeof x->code);
		free(x);
		pages_error(a->r, 403, "Not a member",
		            "You are no longer a member of that organization, so it cannot be connected.");
		authz_free(a);
		return;
	}
	const char *kv[] = { "code", x->code, NULL };
	redirect_to_client(a, kv);
	OPENSSL_cleanse(x->code, sizeof x->code);
	free(x);
}

/* Cut to 512 bytes at a UTF-8 boundary (oauth_grants.user_agent). */
static void user_agent_512(const http_req *r, char out[513])
{
	const char *ua = http_req_user_agent(r);
	size_t n = strlen(ua);
	if (n > 512) {
		n = 512;
		while (n > 0 && ((unsigned char)ua[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, ua, n);
	out[n] = '\0';
}

static void approve(authz *a, const session_org *org)
{
	auth_scope cap = auth_role_cap(org->role);
	auth_scope granted = a->scope < cap ? a->scope : cap;
	approve_ctx *x = xcalloc(1, sizeof *x);
	x->a = a;
	unsigned char raw[32];
	if (RAND_bytes(raw, sizeof raw) != 1) {
		free(x);
		pages_error(a->r, 503, "Try again", "The server could not create a code. Try again in a moment.");
		authz_free(a);
		return;
	}
	session_b64url(raw, sizeof raw, x->code);
	OPENSSL_cleanse(raw, sizeof raw);
	char hash[CREDS_HASH_HEX + 1], ua[513], days[16], ttl[16];
	creds_hash_hex(x->code, strlen(x->code), hash);
	user_agent_512(a->r, ua);
	snprintf(days, sizeof days, "%d", OAUTH_GRANT_LIFETIME_DAYS);
	snprintf(ttl, sizeof ttl, "%d", OAUTH_CODE_TTL_S);
	const char *ip = http_req_peer_ip(a->r);
	const char *params[] = {
		org->id, a->s->user_id, a->client->pk, scope_string(granted), oauth_resource(), ua,
		(ip && *ip && strcmp(ip, "-")) ? ip : NULL, hash, a->redirect_uri, a->redirect_sent ? "true" : "false",
		a->challenge, a->client->client_id, a->client->name ? a->client->name : "", days, ttl,
	};
	db_status st = db_query(app_worker_of(a->r)->db, &APPROVE, params, on_approved, x);
	if (st != DB_OK) {
		OPENSSL_cleanse(x->code, sizeof x->code);
		free(x);
		app_reply_db_failure(a->r, st);
		authz_free(a);
	}
}

/* -------------------------------------------------------- after login */

static void login_redirect(authz *a)
{
	/* Back to the GET of this same authorization request after sign-in. */
	const char *rq = http_req_query_raw(a->r);
	size_t n = strlen(http_req_path(a->r)) + (rq ? strlen(rq) : 0) + 2;
	char *next = xmalloc(n);
	snprintf(next, n, "%s?%s", http_req_path(a->r), rq ? rq : "");
	char *enc = pages_urlencode(next);
	free(next);
	size_t ln = strlen(enc) + 16;
	char *loc = xmalloc(ln);
	snprintf(loc, ln, "/login?next=%s", enc);
	free(enc);
	pages_redirect(a->r, loc);
	free(loc);
	authz_free(a);
}

static void on_session(http_req *r, session *s, db_status st, void *arg)
{
	(void)r;
	authz *a = arg;
	a->s = s;
	if (st != DB_OK) {
		app_reply_db_failure(a->r, st);
		authz_free(a);
		return;
	}
	if (!s) {
		login_redirect(a);
		return;
	}
	if (s->norgs == 0) {
		pages_error(a->r, 403, "No organization",
		            "Your account is not a member of any organization, so there is nothing an app could be "
		            "connected to. Ask an administrator to add you.");
		authz_free(a);
		return;
	}
	if (!a->post) {
		render_consent(a);
		return;
	}
	const char *csrf = oauth_form_get(&a->body, SESSION_CSRF_FIELD, NULL);
	if (!session_csrf_ok(s, csrf)) {
		pages_error(a->r, 403, "Request refused",
		            "This approval did not come from the consent page of your session (the CSRF token is missing "
		            "or wrong). Nothing was approved. Start the connection again from your app.");
		authz_free(a);
		return;
	}
	const char *decision = oauth_form_get(&a->body, "decision", NULL);
	if (decision && !strcmp(decision, "deny")) {
		error_redirect(a, "access_denied", "The user denied the request.");
		return;
	}
	if (!decision || strcmp(decision, "approve") != 0) {
		bad_request_page(a, "Bad request", "Choose Approve or Deny on the consent page.");
		return;
	}
	const char *org_id = oauth_form_get(&a->body, "org", NULL);
	const session_org *org = org_id ? session_org_find(s, org_id) : (s->norgs == 1 ? &s->orgs[0] : NULL);
	if (!org) {
		bad_request_page(a, "Choose an organization",
		                 "Pick one of your organizations for the app to act in, then approve again.");
		return;
	}
	approve(a, org);
}

/* ------------------------------------------------------------ client */

static void on_client(oauth_client *c, db_status st, const char *why, void *arg)
{
	authz *a = arg;
	a->client = c;
	if (st != DB_OK) {
		if (why) {
			char msg[400];
			snprintf(msg, sizeof msg, "The app's client_id could not be resolved: %s", why);
			bad_request_page(a, "Unknown app", msg);
		} else {
			app_reply_db_failure(a->r, st);
			authz_free(a);
		}
		return;
	}
	if (!c) {
		bad_request_page(a, "Unknown app",
		                 "The app that sent you here is not registered with CheckUpstream (unknown client_id). "
		                 "Nothing was shared. Start the connection again from the app.");
		return;
	}
	const char *ru = oauth_form_get(&a->q, "redirect_uri", NULL);
	if (ru) {
		if (!oauth_client_redirect_ok(c, ru)) {
			bad_request_page(a, "Redirect address not allowed",
			                 "The app asked to send you to an address it did not register (redirect_uri). "
			                 "For your safety you were not sent there, and nothing was shared.");
			return;
		}
		a->redirect_uri = ru;
		a->redirect_sent = true;
	} else if (c->nredirect == 1) {
		a->redirect_uri = c->redirect_uris[0]; /* C4 */
	} else {
		bad_request_page(a, "Redirect address missing",
		                 "The app registered several redirect addresses but did not say which one to use "
		                 "(redirect_uri is missing), so it cannot be answered.");
		return;
	}
	if (!validate_rest(a))
		return;
	session_load(a->r, on_session, a);
}

static void authorize(http_req *r)
{
	authz *a = xcalloc(1, sizeof *a);
	a->r = r;
	a->post = http_req_method(r) == ROUTER_POST;
	const char *rq = http_req_query_raw(r);
	if (!oauth_form_parse(rq ? rq : "", rq ? strlen(rq) : 0, &a->q)) {
		bad_request_page(a, "Bad request", "The authorization request could not be read (malformed query string).");
		return;
	}
	if (a->post) {
		size_t len;
		const unsigned char *body = http_req_body(r, &len);
		if (!oauth_form_parse((const char *)body, len, &a->body)) {
			bad_request_page(a, "Bad request", "The consent form could not be read.");
			return;
		}
	}
	bool rep_client = false, rep_redirect = false;
	const char *client_id = oauth_form_get(&a->q, "client_id", &rep_client);
	oauth_form_get(&a->q, "redirect_uri", &rep_redirect);
	if (!client_id) {
		bad_request_page(a, "Unknown app",
		                 "The authorization request names no app (client_id is missing). Start the connection "
		                 "again from the app.");
		return;
	}
	if (rep_client || rep_redirect) {
		bad_request_page(a, "Bad request",
		                 "The authorization request repeats client_id or redirect_uri, so it cannot be trusted.");
		return;
	}
	app_worker *w = app_worker_of(r);
	oauth_client_lookup(w->db, w->base, client_id, on_client, a);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/oauth/authorize", 0, authorize, AUTH_PUBLIC, 0, "OAuth 2.1 authorization endpoint (consent page)" },
	{ ROUTER_POST, "/oauth/authorize", 0, authorize, AUTH_PUBLIC, 0, "Consent decision (session CSRF token)" },
	{ ROUTER_GET, "/authorize", 0, authorize, AUTH_PUBLIC, 0, "Alias of /oauth/authorize" },
	{ ROUTER_POST, "/authorize", 0, authorize, AUTH_PUBLIC, 0, "Alias of /oauth/authorize (consent decision)" },
};
ROUTES_MODULE(oauth_authorize_routes, "OAuth", ROUTES);
