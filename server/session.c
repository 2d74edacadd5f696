/* session.c: browser sessions, their cookie and CSRF tokens. */
#include "session.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "creds.h"
#include "log.h"
#include "web/pages.h"
#include "xmem.h"

/* ------------------------------------------------------------ pure helpers */

size_t session_b64url(const unsigned char *in, size_t len, char *out)
{
	static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i = 0;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = A[v >> 18 & 63];
		out[o++] = A[v >> 12 & 63];
		out[o++] = A[v >> 6 & 63];
		out[o++] = A[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = A[v >> 18 & 63];
		out[o++] = A[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = A[v >> 18 & 63];
		out[o++] = A[v >> 12 & 63];
		out[o++] = A[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

bool session_token_well_formed(const char *s)
{
	size_t n = 0;
	for (; s && s[n]; n++) {
		char c = s[n];
		if (n >= SESSION_TOKEN_LEN ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return n == SESSION_TOKEN_LEN;
}

bool session_cookie_get(const char *header, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = header;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = p + strcspn(p, ";");
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			const char *kend = eq;
			while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
				kend--;
			if ((size_t)(kend - p) == nlen && !memcmp(p, name, nlen)) {
				const char *v = eq + 1;
				const char *vend = end;
				while (v < vend && (*v == ' ' || *v == '\t'))
					v++;
				while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
					vend--;
				if (vend - v >= 2 && *v == '"' && vend[-1] == '"')
					v++, vend--;
				size_t len = (size_t)(vend - v);
				if (len == 0 || len >= cap)
					return false;
				memcpy(out, v, len);
				out[len] = '\0';
				return true;
			}
		}
		p = end;
	}
	return false;
}

bool session_cookie_secure(const char *u)
{
	if (strncmp(u, "http://", 7) != 0)
		return true;
	const char *h = u + 7;
	size_t hl;
	if (*h == '[') {
		const char *rb = strchr(h, ']');
		if (!rb)
			return true;
		hl = (size_t)(rb - h) + 1;
	} else {
		hl = strcspn(h, ":/");
	}
	static const char *const loop[] = { "localhost", "127.0.0.1", "[::1]" };
	for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++)
		if (hl == strlen(loop[i]) && !strncasecmp(h, loop[i], hl))
			return false;
	return true;
}

/* --------------------------------------------------------------- tokens */

static bool random_token(char out[SESSION_TOKEN_LEN + 1])
{
	unsigned char raw[32];
	if (RAND_bytes(raw, sizeof raw) != 1)
		return false;
	session_b64url(raw, sizeof raw, out);
	OPENSSL_cleanse(raw, sizeof raw);
	return true;
}

static void csrf_derive(const char *token, char out[SESSION_TOKEN_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	HMAC(EVP_sha256(), token, (int)strlen(token), (const unsigned char *)"csrf", 4, mac, &maclen);
	session_b64url(mac, 32, out);
}

static void hash_hex(const char *s, char out[CREDS_HASH_HEX + 1])
{
	creds_hash_hex(s, strlen(s), out);
}

static const char *client_ip_param(const http_req *r)
{
	const char *ip = http_req_peer_ip(r);
	return (ip && *ip && strcmp(ip, "-")) ? ip : NULL;
}

/* The User-Agent cut to 512 bytes at a UTF-8 boundary (audit and session rows). */
static void user_agent_param(const http_req *r, char out[513])
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

static void set_cookie(http_req *r, const char *name, const char *value, const char *path, long max_age)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name, value, path, max_age,
	         session_cookie_secure(http_req_cfg(r)->public_url) ? "; Secure" : "");
	http_set_header(r, "Set-Cookie", buf);
}

/* --------------------------------------------------------------- objects */

void session_free(session *s)
{
	free(s);
}

const session_org *session_org_find(const session *s, const char *org_id)
{
	for (int i = 0; s && org_id && i < s->norgs; i++)
		if (!strcmp(s->orgs[i].id, org_id))
			return &s->orgs[i];
	return NULL;
}

const char *session_csrf_token(const session *s)
{
	return s->csrf;
}

bool session_csrf_ok(const session *s, const char *v)
{
	if (!s || !v || strlen(v) != SESSION_TOKEN_LEN)
		return false;
	return creds_equal(s->csrf, v, SESSION_TOKEN_LEN);
}

/* ---------------------------------------------------------------- load */

static const db_stmt LOAD = {
	"session_load",
	"WITH s AS (SELECT id, user_id, expires_at, idle_expires_at, last_seen_at FROM sessions"
	"   WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL"
	"     AND expires_at > now() AND idle_expires_at > now()),"
	" t AS (UPDATE sessions x SET last_seen_at = now(),"
	"       idle_expires_at = least(now() + make_interval(mins => $2::int), x.expires_at)"
	"     FROM s WHERE x.id = s.id AND s.last_seen_at < now() - interval '1 minute'"
	"     RETURNING x.idle_expires_at)"
	" SELECT s.id, u.id AS user_id, u.email, u.name,"
	"   extract(epoch FROM s.expires_at)::bigint AS expires_at,"
	"   extract(epoch FROM coalesce((SELECT idle_expires_at FROM t), s.idle_expires_at))::bigint AS idle_expires_at,"
	"   (SELECT coalesce(json_agg(json_build_object('id', o.id, 'slug', o.slug, 'name', o.name, 'role', m.role)"
	"      ORDER BY o.name, o.id), '[]')"
	"    FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = u.id) AS orgs"
	" FROM s JOIN users u ON u.id = s.user_id WHERE u.disabled_at IS NULL",
	2,
};

typedef struct load_ctx {
	http_req *r;
	session_fn done;
	void *arg;
	char csrf[SESSION_TOKEN_LEN + 1];
} load_ctx;

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static session *session_from_row(const PGresult *res, const char *csrf)
{
	session *s = xcalloc(1, sizeof *s);
	copy_str(s->id, sizeof s->id, db_get(res, 0, "id"));
	copy_str(s->user_id, sizeof s->user_id, db_get(res, 0, "user_id"));
	copy_str(s->email, sizeof s->email, db_get(res, 0, "email"));
	copy_str(s->name, sizeof s->name, db_get(res, 0, "name"));
	db_get_i64(res, 0, "expires_at", &s->expires_at);
	db_get_i64(res, 0, "idle_expires_at", &s->idle_expires_at);
	memcpy(s->csrf, csrf, sizeof s->csrf);
	const char *orgs = db_get(res, 0, "orgs");
	json_t *arr = orgs ? json_loads(orgs, 0, NULL) : NULL;
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		if (s->norgs == SESSION_MAX_ORGS)
			break;
		session_org *so = &s->orgs[s->norgs++];
		copy_str(so->id, sizeof so->id, json_string_value(json_object_get(o, "id")));
		copy_str(so->slug, sizeof so->slug, json_string_value(json_object_get(o, "slug")));
		copy_str(so->name, sizeof so->name, json_string_value(json_object_get(o, "name")));
		copy_str(so->role, sizeof so->role, json_string_value(json_object_get(o, "role")));
	}
	json_decref(arr);
	return s;
}

static void on_loaded(const db_result *res, void *arg)
{
	load_ctx *c = arg;
	http_req *r = c->r;
	session *s = NULL;
	db_status st = res->status;
	if (st == DB_OK && db_rows(res->res) == 1)
		s = session_from_row(res->res, c->csrf);
	else if (st != DB_OK)
		log_msg(LOG_WARN, "session lookup failed: %s", res->message ? res->message : "?");
	session_fn done = c->done;
	void *darg = c->arg;
	free(c);
	done(r, s, st, darg);
}

void session_load(http_req *r, session_fn done, void *arg)
{
	char token[SESSION_TOKEN_LEN + 8];
	const char *cookie = http_req_header(r, "Cookie");
	if (!cookie || !session_cookie_get(cookie, SESSION_COOKIE, token, sizeof token) ||
	    !session_token_well_formed(token)) {
		done(r, NULL, DB_OK, arg);
		return;
	}
	load_ctx *c = xcalloc(1, sizeof *c);
	c->r = r;
	c->done = done;
	c->arg = arg;
	csrf_derive(token, c->csrf);
	char hash[CREDS_HASH_HEX + 1], idle[16];
	hash_hex(token, hash);
	OPENSSL_cleanse(token, sizeof token);
	snprintf(idle, sizeof idle, "%d", http_req_cfg(r)->session_idle_minutes);
	const char *params[] = { hash, idle };
	db_status st = db_query(app_worker_of(r)->db, &LOAD, params, on_loaded, c);
	if (st != DB_OK) {
		free(c);
		done(r, NULL, st, arg);
	}
}

/* ------------------------------------------------------------- require */

typedef struct require_ctx {
	session_fn done;
	void *arg;
} require_ctx;

static void reply_signin_needed(http_req *r)
{
	unsigned m = http_req_method(r);
	if (m != ROUTER_GET && m != ROUTER_HEAD) {
		pages_error(r, 403, "You are signed out",
		            "Your session has ended, so nothing was changed. Sign in again and repeat what you were doing.");
		return;
	}
	const char *q = http_req_query_raw(r);
	size_t n = strlen(http_req_path(r)) + (q ? strlen(q) + 1 : 0) + 1;
	char *next = xmalloc(n);
	snprintf(next, n, "%s%s%s", http_req_path(r), q ? "?" : "", q ? q : "");
	char *enc = pages_urlencode(next);
	free(next);
	size_t ln = strlen(enc) + 16;
	char *loc = xmalloc(ln);
	snprintf(loc, ln, "/login?next=%s", enc);
	free(enc);
	pages_redirect(r, loc);
	free(loc);
}

static void on_required(http_req *r, session *s, db_status st, void *arg)
{
	require_ctx c = *(require_ctx *)arg;
	free(arg);
	if (st != DB_OK) {
		app_reply_db_failure(r, st);
		return;
	}
	if (!s) {
		reply_signin_needed(r);
		return;
	}
	c.done(r, s, st, c.arg);
}

void session_require(http_req *r, session_fn done, void *arg)
{
	require_ctx *c = xmalloc(sizeof *c);
	c->done = done;
	c->arg = arg;
	session_load(r, on_required, c);
}

/* ------------------------------------------------------ create / destroy */

/* Audit rows for a user event: one per org the user belongs to, or one
 * without org when they belong to none. src is the CTE with (id, user_id);
 * ip and ua are the parameter numbers of the client IP and User-Agent. */
#define AUDIT_PER_ORG(action, src, ip, ua)                                                                  \
	" aud AS (INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_user_id, action,"               \
	"   target_kind, target_id, ip, user_agent, metadata)"                                                   \
	"  SELECT o.org_id, 'user', " src ".user_id::text, " src ".user_id, '" action "', 'session', "           \
	  src ".id::text, " ip "::inet, " ua ", '{}'::jsonb"                                                      \
	"  FROM " src " CROSS JOIN (SELECT m.org_id FROM org_members m JOIN " src " ON m.user_id = " src ".user_id" \
	"    UNION ALL SELECT NULL::uuid WHERE NOT EXISTS"                                                       \
	"      (SELECT 1 FROM org_members m JOIN " src " ON m.user_id = " src ".user_id)) o)"

static const db_stmt CREATE = {
	"session_create",
	"WITH ins AS (INSERT INTO sessions (user_id, token_hash, csrf_token_hash, expires_at, idle_expires_at,"
	"     ip, user_agent)"
	"   SELECT u.id, decode($2, 'hex'), decode($3, 'hex'), now() + make_interval(hours => $4::int),"
	"     least(now() + make_interval(mins => $5::int), now() + make_interval(hours => $4::int)), $6::inet, $7"
	"   FROM users u WHERE u.id = $1::uuid AND u.disabled_at IS NULL RETURNING id, user_id),"
	/* The user's dead sessions go when they sign in again (no janitor needed). */
	" gc AS (DELETE FROM sessions WHERE user_id = $1::uuid"
	"   AND (expires_at < now() - interval '1 day' OR idle_expires_at < now() - interval '1 day'"
	"        OR revoked_at < now() - interval '1 day')),"
	AUDIT_PER_ORG("login.success", "ins", "$6", "$7")
	" SELECT id FROM ins",
	7,
};

static const db_stmt DESTROY = {
	"session_destroy",
	"WITH up AS (UPDATE sessions SET revoked_at = now() WHERE id = $1::uuid AND revoked_at IS NULL"
	"   RETURNING id, user_id),"
	AUDIT_PER_ORG("logout", "up", "$2", "$3")
	" SELECT id FROM up",
	3,
};

typedef struct write_ctx {
	http_req *r;
	session_done_fn done;
	void *arg;
	char token[SESSION_TOKEN_LEN + 1];   /* create: the new cookie value */
	bool create;
} write_ctx;

static void on_written(const db_result *res, void *arg)
{
	write_ctx *c = arg;
	http_req *r = c->r;
	bool ok = res->status == DB_OK;
	const cfg *cf = http_req_cfg(r);
	if (!ok)
		log_msg(LOG_WARN, "session %s failed: %s", c->create ? "create" : "destroy",
		        res->message ? res->message : "?");
	if (c->create && ok && db_rows(res->res) == 1)
		set_cookie(r, SESSION_COOKIE, c->token, "/", (long)cf->session_max_hours * 3600);
	else if (c->create && ok)
		ok = false; /* the user vanished or was disabled meanwhile */
	if (!c->create)
		set_cookie(r, SESSION_COOKIE, "", "/", 0);
	OPENSSL_cleanse(c->token, sizeof c->token);
	session_done_fn done = c->done;
	void *darg = c->arg;
	free(c);
	done(r, ok, darg);
}

void session_create(http_req *r, const char *user_id, session_done_fn done, void *arg)
{
	write_ctx *c = xcalloc(1, sizeof *c);
	c->r = r;
	c->done = done;
	c->arg = arg;
	c->create = true;
	char csrf[SESSION_TOKEN_LEN + 1], th[CREDS_HASH_HEX + 1], ch[CREDS_HASH_HEX + 1];
	if (!random_token(c->token)) {
		free(c);
		done(r, false, arg);
		return;
	}
	csrf_derive(c->token, csrf);
	hash_hex(c->token, th);
	hash_hex(csrf, ch);
	const cfg *cf = http_req_cfg(r);
	char hours[16], mins[16], ua[513];
	snprintf(hours, sizeof hours, "%d", cf->session_max_hours);
	snprintf(mins, sizeof mins, "%d", cf->session_idle_minutes);
	user_agent_param(r, ua);
	const char *params[] = { user_id, th, ch, hours, mins, client_ip_param(r), ua };
	db_status st = db_query(app_worker_of(r)->db, &CREATE, params, on_written, c);
	if (st != DB_OK) {
		OPENSSL_cleanse(c->token, sizeof c->token);
		free(c);
		done(r, false, arg);
	}
}

void session_destroy(http_req *r, const session *s, session_done_fn done, void *arg)
{
	write_ctx *c = xcalloc(1, sizeof *c);
	c->r = r;
	c->done = done;
	c->arg = arg;
	char ua[513];
	user_agent_param(r, ua);
	const char *params[] = { s->id, client_ip_param(r), ua };
	db_status st = db_query(app_worker_of(r)->db, &DESTROY, params, on_written, c);
	if (st != DB_OK) {
		free(c);
		set_cookie(r, SESSION_COOKIE, "", "/", 0);
		done(r, false, arg);
	}
}

/* ------------------------------------------------------ sign-in CSRF */

bool session_login_csrf_issue(http_req *r, char out[SESSION_TOKEN_LEN + 1])
{
	char have[SESSION_TOKEN_LEN + 8];
	const char *cookie = http_req_header(r, "Cookie");
	if (cookie && session_cookie_get(cookie, SESSION_LOGIN_CSRF_COOKIE, have, sizeof have) &&
	    session_token_well_formed(have)) {
		memcpy(out, have, SESSION_TOKEN_LEN + 1);
		return true;
	}
	if (!random_token(out))
		return false;
	/* Lives for the sign-in only: an hour is plenty to type a password. */
	set_cookie(r, SESSION_LOGIN_CSRF_COOKIE, out, "/login", 3600);
	return true;
}

bool session_login_csrf_ok(const http_req *r, const char *v)
{
	char have[SESSION_TOKEN_LEN + 8];
	const char *cookie = http_req_header(r, "Cookie");
	if (!v || !cookie || !session_cookie_get(cookie, SESSION_LOGIN_CSRF_COOKIE, have, sizeof have) ||
	    !session_token_well_formed(have) || strlen(v) != SESSION_TOKEN_LEN)
		return false;
	return creds_equal(have, v, SESSION_TOKEN_LEN);
}

void session_login_csrf_clear(http_req *r)
{
	set_cookie(r, SESSION_LOGIN_CSRF_COOKIE, "", "/login", 0);
}
