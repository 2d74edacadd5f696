/* session.h: browser sessions and their CSRF tokens (DESIGN.md §2).
 *
 * A session is the cookie `cupd_session` holding 32 random bytes in
 * base64url (43 characters). Only SHA-256 of the cookie is stored (table
 * sessions), so a leaked table signs nobody in. The cookie is HttpOnly,
 * SameSite=Lax, Path=/ and Secure unless CUPD_PUBLIC_URL is plain http on a
 * loopback host (local development).
 *
 * Every session has a CSRF token derived from the cookie:
 * base64url(HMAC-SHA256(key = cookie text, "csrf")). Pages put it in a hidden
 * field named SESSION_CSRF_FIELD of every form that changes something; the
 * handler checks it with session_csrf_ok (constant time). Its SHA-256 is
 * stored as well (sessions.csrf_token_hash).
 *
 * Lifetime: a session ends CUPD_SESSION_IDLE_MINUTES after its last use
 * (pushed forward at most once a minute, never past the absolute limit) and
 * CUPD_SESSION_MAX_HOURS after sign-in, or when it is destroyed (sign-out).
 *
 * Before a session exists (the sign-in form) CSRF uses a double-submit
 * cookie: `cupd_login_csrf` must equal the form's hidden field.
 *
 * All functions run on the request's loop; none blocks. */
#ifndef CUPD_SESSION_H
#define CUPD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "http.h"

#define SESSION_COOKIE "cupd_session"
#define SESSION_LOGIN_CSRF_COOKIE "cupd_login_csrf"
/* Name of the hidden form field that carries a CSRF token. */
#define SESSION_CSRF_FIELD "csrf"

enum {
	SESSION_TOKEN_LEN = 43,    /* base64url of 32 bytes, no padding */
	SESSION_MAX_ORGS = 64,     /* memberships loaded per session (by org name) */
};

typedef struct session_org {
	char id[37];
	char slug[64];
	char name[201];
	char role[8];              /* owner | admin | member */
} session_org;

/* A signed-in user as session_load found them. Plain data; free with
 * session_free. */
typedef struct session {
	char id[37];               /* sessions.id */
	char user_id[37];
	char email[255];
	char name[201];            /* may be "" */
	int norgs;
	session_org orgs[SESSION_MAX_ORGS];  /* ordered by org name */
	char csrf[SESSION_TOKEN_LEN + 1];    /* this session's CSRF token */
	int64_t expires_at;        /* unix seconds: absolute end */
	int64_t idle_expires_at;   /* unix seconds: end if unused */
} session;

void session_free(session *s);

/* The membership of s in org_id, or NULL. */
const session_org *session_org_find(const session *s, const char *org_id);

/* ---- loading ---- */

/* s is the signed-in user (owned by the callback: free it with session_free)
 * or NULL. st is DB_OK when that is the answer (NULL = not signed in: no
 * cookie, unknown, expired, revoked, disabled user); otherwise the database
 * could not be asked and the callback answers 503 (app_reply_db_failure). */
typedef void (*session_fn)(http_req *r, session *s, db_status st, void *arg);

/* Looks up r's session cookie (joining users and org memberships) and pushes
 * its idle expiry forward when more than a minute has passed. done runs
 * exactly once on r's loop, possibly before this returns (no cookie). */
void session_load(http_req *r, session_fn done, void *arg);

/* Like session_load, but when nobody is signed in it answers r itself with
 * 303 to /login?next=<this path and query> (GET/HEAD) or a 403 page (other
 * methods), or with 503 when the database is down; done then never runs and
 * otherwise always gets a session. */
void session_require(http_req *r, session_fn done, void *arg);

/* ---- sign-in and sign-out ---- */

/* done: ok false when the database failed (the caller answers 503). */
typedef void (*session_done_fn)(http_req *r, bool ok, void *arg);

/* Creates a session for user_id, sets the cookie on r's reply, and records
 * `login.success` in the audit trail (one row per org of the user, or one
 * without org) in the same statement. done runs exactly once on r's loop. */
void session_create(http_req *r, const char *user_id, session_done_fn done, void *arg);

/* Ends s (revoked_at), audits `logout`, and expires the cookie on r's reply.
 * done runs exactly once on r's loop. */
void session_destroy(http_req *r, const session *s, session_done_fn done, void *arg);

/* ---- CSRF ---- */

/* The token forms of this session carry (SESSION_CSRF_FIELD). */
const char *session_csrf_token(const session *s);

/* True when form_value is this session's CSRF token (constant time). */
bool session_csrf_ok(const session *s, const char *form_value);

/* Sign-in form CSRF (double submit): returns the token to put into the form,
 * reusing a well-formed `cupd_login_csrf` cookie of r or setting a new one on
 * r's reply. out has SESSION_TOKEN_LEN + 1 bytes. False if the CSPRNG fails. */
bool session_login_csrf_issue(http_req *r, char out[SESSION_TOKEN_LEN + 1]);

/* True when r carries a `cupd_login_csrf` cookie equal to form_value. */
bool session_login_csrf_ok(const http_req *r, const char *form_value);

/* Expires the `cupd_login_csrf` cookie on r's reply (after a sign-in). */
void session_login_csrf_clear(http_req *r);

/* ---- pure helpers (no I/O; unit-tested and fuzzed) ---- */

/* Finds cookie name in a Cookie header value ("a=1; b=2") and copies its
 * value to out[cap]. False if absent, empty or too long. */
bool session_cookie_get(const char *header, const char *name, char *out, size_t cap);

/* True when s is exactly SESSION_TOKEN_LEN base64url characters. */
bool session_token_well_formed(const char *s);

/* base64url of len bytes without padding into out (4 * ceil(len / 3) + 1
 * bytes is always enough); returns the length written. */
size_t session_b64url(const unsigned char *in, size_t len, char *out);

/* Whether cookies for base URL public_url get the Secure attribute: always,
 * except plain http on localhost, 127.0.0.1 or [::1]. */
bool session_cookie_secure(const char *public_url);

#endif
