/* web/login.c: GET/POST /login and POST /logout.
 *
 * Sign-in verifies an argon2id hash on the work pool, never on the loop
 * (server/password.h: ~30 ms each). A failed sign-in costs the same whether
 * the email exists or not: an unknown email is checked against a dummy hash
 * of the same cost. Failures count against the client IP and the email
 * (429 page once either is used up) and are audited (`login.failure`, with
 * the email but never the password); success creates a session (audited
 * `login.success` by session_create) and returns to `next`, which must be a
 * same-site path (open-redirect defence). */
#include <ctype.h>
#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "form.h"
#include "log.h"
#include "password.h"
#include "ratelimit.h"
#include "routes.h"
#include "session.h"
#include "web/pages.h"
#include "web/web_modules.h"
#include "workpool.h"
#include "xmem.h"

/* Failed sign-ins per email per minute (per instance); the per-IP limit is
 * CUPD_RATE_IP_PER_MIN. */
enum { LOGIN_FAILS_PER_EMAIL = 5, NEXT_MAX = 2048 };

#define DEFAULT_NEXT "/settings/credentials"

/* ----------------------------------------------------------- next check */

/* A same-site relative path: starts with one '/', never "//" or "/\" (which
 * browsers treat as another host), no backslash, no control characters or
 * spaces anywhere, bounded length. */
static bool next_ok(const char *n)
{
	if (!n || n[0] != '/' || n[1] == '/' || n[1] == '\\')
		return false;
	size_t len = 0;
	for (const unsigned char *p = (const unsigned char *)n; *p; p++, len++)
		if (*p <= 0x20 || *p == 0x7F || *p == '\\' || len >= NEXT_MAX)
			return false;
	return true;
}

static const char *next_or_default(const char *n)
{
	return next_ok(n) ? n : DEFAULT_NEXT;
}

static bool next_is_authorize(const char *n)
{
	return !strncmp(n, "/oauth/authorize?", 17) || !strncmp(n, "/authorize?", 11);
}

/* Copies src into out[cap], cut at a UTF-8 character boundary. */
static void cut_utf8(char *out, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, src, n);
	out[n] = '\0';
}

/* ------------------------------------------------------------ the form */

static void render_form(http_req *r, int status, const char *next, const char *email, const char *error)
{
	char csrf[SESSION_TOKEN_LEN + 1];
	if (!session_login_csrf_issue(r, csrf)) {
		pages_error(r, 503, "Try again", "The server could not prepare the sign-in form. Try again in a moment.");
		return;
	}
	struct evbuffer *out = evbuffer_new();
	pages_begin(out, &(pages_head){ .title = "Sign in", .narrow = true });
	pages_fmt(out, "<section class=\"card\" aria-labelledby=\"signin-title\">\n"
	               "<h1 id=\"signin-title\">Sign in</h1>\n");
	if (next_is_authorize(next))
		pages_fmt(out, "<p class=\"muted\">Sign in to CheckUpstream to connect an AI tool to your account.</p>\n");
	else
		pages_fmt(out, "<p class=\"muted\">Use your CheckUpstream account.</p>\n");
	if (error)
		pages_fmt(out, "<div class=\"notice notice-error\" role=\"alert\" id=\"signin-error\">%s</div>\n", error);
	bool have_email = email && *email;
	const char *described = error ? " aria-describedby=\"signin-error\"" : "";
	pages_fmt(out,
	          "<form method=\"post\" action=\"/login\">\n"
	          "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
	          "<input type=\"hidden\" name=\"next\" value=\"%s\">\n"
	          "<div class=\"field\"><label for=\"email\">Email</label>"
	          "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required"
	          " maxlength=\"254\" value=\"%s\"%S%S></div>\n"
	          "<div class=\"field\"><label for=\"password\">Password</label>"
	          "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\""
	          " required maxlength=\"1024\"%S%S></div>\n"
	          "<button type=\"submit\" class=\"btn btn-primary btn-block\">Sign in</button>\n"
	          "</form>\n</section>\n",
	          csrf, next, have_email ? email : "", have_email ? "" : " data-autofocus", described,
	          have_email ? " data-autofocus" : "", described);
	pages_end(out);
	pages_reply(r, status, out);
}

/* ------------------------------------------------------------ GET /login */

static void on_get_session(http_req *r, session *s, db_status st, void *arg)
{
	(void)arg;
	const char *next = next_or_default(http_req_query(r, "next"));
	if (st == DB_OK && s) {
		session_free(s);
		pages_redirect(r, next);
		return;
	}
	/* With the database down the form still shows; POST then says so. */
	session_free(s);
	render_form(r, 200, next, NULL, NULL);
}

static void login_get(http_req *r)
{
	session_load(r, on_get_session, NULL);
}

/* ------------------------------------------------------- POST /login */

typedef struct login_ctx {
	http_req *r;
	char email[255];
	char email_key[255];          /* lowercased, for the per-email limit */
	char next[NEXT_MAX + 1];
	char *password;               /* owned; cleansed before free */
	char user_id[37];             /* "" when the email is unknown */
	char hash[PASSWORD_HASH_MAX];  /* the user's hash, or "" */
	const char *reason;           /* failure reason for the audit row */
	bool verified;                /* set on the pool thread */
} login_ctx;

static void login_ctx_free(login_ctx *c)
{
	if (c->password) {
		OPENSSL_cleanse(c->password, strlen(c->password));
		free(c->password);
	}
	OPENSSL_cleanse(c->hash, sizeof c->hash);
	free(c);
}

/* main() is meant to install the process-wide pool before the workers start;
 * until it does, sign-in uses a pool of its own (never the global setter, so
 * no thread writes what others read). */
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static workpool *fallback_pool;

static void make_pool(void)
{
	if (!workpool_default())
		fallback_pool = workpool_new(2);
}

static workpool *login_pool(void)
{
	pthread_once(&pool_once, make_pool);
	return workpool_default() ? workpool_default() : fallback_pool;
}

/* A hash of a random password with the same parameters as real ones, so a
 * sign-in for an unknown email costs what a real check costs. */
static char dummy_hash[PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
	unsigned char raw[12];
	char pw[2 * sizeof raw + 1];
	if (RAND_bytes(raw, sizeof raw) != 1)
		memset(raw, 0x5a, sizeof raw);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(pw + 2 * i, 3, "%02x", raw[i]);
	if (!password_hash(pw, dummy_hash, sizeof dummy_hash))
		dummy_hash[0] = '\0';
	OPENSSL_cleanse(pw, sizeof pw);
}

static void verify_work(void *arg)
{
	login_ctx *c = arg;
	pthread_once(&dummy_once, make_dummy);
	if (c->hash[0]) {
		c->verified = password_verify(c->hash, c->password);
	} else {
		(void)password_verify(dummy_hash, c->password);
		c->verified = false;
	}
}

/* Peeks both budgets; refused once either has no failure left. */
static bool limits_allow(http_req *r, const login_ctx *c, ratelimit_info *rl)
{
	char key[300];
	snprintf(key, sizeof key, "login:ip:%s", http_req_peer_ip(r));
	ratelimit_peek(key, http_req_cfg(r)->rate_ip, rl);
	if (rl->remaining == 0) {
		rl->allowed = false;
		return false;
	}
	snprintf(key, sizeof key, "login:email:%s", c->email_key);
	ratelimit_peek(key, LOGIN_FAILS_PER_EMAIL, rl);
	rl->allowed = rl->remaining > 0;
	return rl->allowed;
}

static void limits_take(http_req *r, const login_ctx *c)
{
	char key[300];
	ratelimit_info rl;
	snprintf(key, sizeof key, "login:ip:%s", http_req_peer_ip(r));
	ratelimit_take(key, http_req_cfg(r)->rate_ip, &rl);
	snprintf(key, sizeof key, "login:email:%s", c->email_key);
	ratelimit_take(key, LOGIN_FAILS_PER_EMAIL, &rl);
}

static void reply_429(http_req *r, const ratelimit_info *rl)
{
	char msg[200];
	ratelimit_set_headers(r, rl);
	snprintf(msg, sizeof msg,
	         "There were too many failed sign-in attempts. Wait %d seconds, then try again.",
	         rl->retry_after > 0 ? rl->retry_after : 60);
	pages_error(r, 429, "Too many attempts", msg);
}

static const db_stmt USER_BY_EMAIL = {
	"login_user_by_email",
	"SELECT id, coalesce(password_hash, '') AS password_hash, disabled_at IS NOT NULL AS disabled"
	" FROM users WHERE lower(email) = lower($1)",
	1,
};

/* One row per org of the user (or one without org) so each org's audit
 * log shows its members' failed sign-ins; the email is in metadata. */
static const db_stmt AUDIT_FAILURE = {
	"login_audit_failure",
	"WITH u AS (SELECT id FROM users WHERE lower(email) = lower($1)),"
	" o AS (SELECT m.org_id FROM org_members m JOIN u ON m.user_id = u.id"
	"   UNION ALL SELECT NULL::uuid WHERE NOT EXISTS (SELECT 1 FROM org_members m JOIN u ON m.user_id = u.id))"
	" INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_user_id, action, target_kind, target_id,"
	"   ip, user_agent, metadata)"
	" SELECT o.org_id, 'user', (SELECT id::text FROM u), (SELECT id FROM u), 'login.failure', 'user',"
	"   (SELECT id::text FROM u), $2::inet, $3, jsonb_build_object('email', $1::text, 'reason', $4::text)"
	" FROM o",
	4,
};

static void on_failure_audited(const db_result *res, void *arg)
{
	login_ctx *c = arg;
	if (res->status != DB_OK)
		log_msg(LOG_WARN, "login.failure audit failed: %s", res->message ? res->message : "?");
	render_form(c->r, 200, c->next, c->email, "Incorrect email or password.");
	login_ctx_free(c);
}

static void fail_login(login_ctx *c)
{
	http_req *r = c->r;
	limits_take(r, c);
	const char *ip = http_req_peer_ip(r);
	char ua[513];
	cut_utf8(ua, sizeof ua, http_req_user_agent(r));
	const char *params[] = { c->email, (ip && strcmp(ip, "-")) ? ip : NULL, ua, c->reason };
	if (db_query(app_worker_of(r)->db, &AUDIT_FAILURE, params, on_failure_audited, c) != DB_OK) {
		render_form(r, 200, c->next, c->email, "Incorrect email or password.");
		login_ctx_free(c);
	}
}

static void on_session_created(http_req *r, bool ok, void *arg)
{
	login_ctx *c = arg;
	if (!ok) {
		pages_error(r, 503, "Try again", "Signing in failed because the database is unavailable. Try again in a moment.");
	} else {
		session_login_csrf_clear(r);
		pages_redirect(r, c->next);
	}
	login_ctx_free(c);
}

static void verify_done(void *arg)
{
	login_ctx *c = arg;
	if (c->verified) {
		session_create(c->r, c->user_id, on_session_created, c);
		return;
	}
	fail_login(c);
}

static void on_user(const db_result *res, void *arg)
{
	login_ctx *c = arg;
	http_req *r = c->r;
	if (res->status != DB_OK) {
		app_reply_db_failure(r, res->status);
		login_ctx_free(c);
		return;
	}
	c->reason = "unknown_email";
	if (db_rows(res->res) == 1) {
		const char *hash = db_get(res->res, 0, "password_hash");
		snprintf(c->user_id, sizeof c->user_id, "%s", db_get(res->res, 0, "id"));
		if (db_get_bool(res->res, 0, "disabled"))
			c->reason = "disabled";
		else if (!hash || !*hash)
			c->reason = "no_password";
		else if (strlen(hash) < sizeof c->hash) {
			snprintf(c->hash, sizeof c->hash, "%s", hash);
			c->reason = "bad_password";
		}
	}
	workpool *pool = login_pool();
	if (!pool || !workpool_submit(pool, app_worker_of(r)->base, verify_work, verify_done, c)) {
		pages_error(r, 503, "Try again", "The server is busy. Try again in a moment.");
		login_ctx_free(c);
	}
}

/* Plausible email: 3-254 bytes, an '@' after the first byte, no spaces or
 * control characters, valid UTF-8 (the database refuses anything else). */
static bool email_ok(const char *e)
{
	size_t n = e ? strlen(e) : 0;
	if (n < 3 || n > 254)
		return false;
	const char *at = strchr(e, '@');
	if (!at || at == e || !at[1])
		return false;
	for (const unsigned char *p = (const unsigned char *)e; *p;) {
		if (*p <= 0x20 || *p == 0x7F)
			return false;
		size_t k = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
		if (!k || (k == 2 && *p < 0xC2))
			return false;
		for (size_t i = 1; i < k; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += k;
	}
	return true;
}

static void login_post(http_req *r)
{
	size_t len;
	const unsigned char *body = http_req_body(r, &len);
	oauth_form f;
	if (!oauth_form_parse((const char *)body, len, &f)) {
		pages_error(r, 400, "Bad request", "The sign-in form could not be read. Reload the page and try again.");
		return;
	}
	const char *csrf = oauth_form_get(&f, SESSION_CSRF_FIELD, NULL);
	const char *email = oauth_form_get(&f, "email", NULL);
	const char *password = oauth_form_get(&f, "password", NULL);
	const char *next = next_or_default(oauth_form_get(&f, "next", NULL));
	if (!session_login_csrf_ok(r, csrf)) {
		oauth_form_free(&f);
		pages_error(r, 403, "Sign-in form expired",
		            "This sign-in form is no longer valid (it may have been open too long, or cookies are blocked). "
		            "Go back, reload the page and sign in again.");
		return;
	}
	login_ctx *c = xcalloc(1, sizeof *c);
	c->r = r;
	snprintf(c->next, sizeof c->next, "%s", next);
	if (!email_ok(email) || !password) {
		bool has_email = email && email_ok(email);
		snprintf(c->email, sizeof c->email, "%s", has_email ? email : "");
		oauth_form_free(&f);
		render_form(r, 200, c->next, c->email,
		            !has_email ? "Enter the email address of your account." : "Enter your password.");
		login_ctx_free(c);
		return;
	}
	snprintf(c->email, sizeof c->email, "%s", email);
	for (size_t i = 0; c->email[i]; i++)
		c->email_key[i] = (char)tolower((unsigned char)c->email[i]);
	c->password = xstrdup(password);
	oauth_form_free(&f);

	ratelimit_info rl;
	if (!limits_allow(r, c, &rl)) {
		reply_429(r, &rl);
		login_ctx_free(c);
		return;
	}
	const char *params[] = { c->email };
	db_status st = db_query(app_worker_of(r)->db, &USER_BY_EMAIL, params, on_user, c);
	if (st != DB_OK) {
		app_reply_db_failure(r, st);
		login_ctx_free(c);
	}
}

/* ------------------------------------------------------- POST /logout */

typedef struct logout_ctx {
	char csrf[SESSION_TOKEN_LEN + 1];
	bool has_csrf;
} logout_ctx;

static void on_logged_out(http_req *r, bool ok, void *arg)
{
	(void)arg;
	if (!ok) {
		pages_error(r, 503, "Try again", "Signing out failed because the database is unavailable. Try again.");
		return;
	}
	pages_redirect(r, "/login");
}

static void on_logout_session(http_req *r, session *s, db_status st, void *arg)
{
	logout_ctx *c = arg;
	if (st != DB_OK) {
		free(c);
		app_reply_db_failure(r, st);
		return;
	}
	if (!s) {
		free(c);
		pages_redirect(r, "/login");
		return;
	}
	bool ok = c->has_csrf && session_csrf_ok(s, c->csrf);
	free(c);
	if (!ok) {
		session_free(s);
		pages_error(r, 403, "Request refused",
		            "This sign-out request did not come from a CheckUpstream page. Use the Sign out button.");
		return;
	}
	session_destroy(r, s, on_logged_out, NULL);
	session_free(s);
}

static void logout_post(http_req *r)
{
	size_t len;
	const unsigned char *body = http_req_body(r, &len);
	oauth_form f;
	logout_ctx *c = xcalloc(1, sizeof *c);
	if (oauth_form_parse((const char *)body, len, &f)) {
		const char *v = oauth_form_get(&f, SESSION_CSRF_FIELD, NULL);
		if (v && strlen(v) == SESSION_TOKEN_LEN) {
			memcpy(c->csrf, v, SESSION_TOKEN_LEN + 1);
			c->has_csrf = true;
		}
		oauth_form_free(&f);
	}
	session_load(r, on_logout_session, c);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/login", 0, login_get, AUTH_PUBLIC, 0, "Sign-in page" },
	{ ROUTER_POST, "/login", 0, login_post, AUTH_PUBLIC, 0, "Sign in with email and password" },
	{ ROUTER_POST, "/logout", 0, logout_post, AUTH_PUBLIC, 0, "Sign out (session CSRF token required)" },
};
ROUTES_MODULE(web_login_routes, "Web", ROUTES);
