/* web/settings_layout.h: what the settings pages share — the request
 * context, the organization the pages act in, the page frame (settings
 * navigation, credential tabs, notices), formatting helpers, and the tab
 * renderers the credentials page dispatches to.
 *
 * Every settings page calls the API layer (api.h and one header per
 * resource) with an api_ctx built from the browser session: actor_kind
 * "user", actor and user id the signed-in user, scope the highest the
 * user's role in the chosen org allows (auth_role_cap). The pages never run
 * SQL of their own.
 *
 * Who may do what. Owners and admins see and change everything. A member
 * gets read-only pages: the organization page (badge state, members), and
 * only their own AI Connections, which they may revoke (the API layer lets
 * anyone revoke their own). SDK Keys, API Tokens and the audit log need
 * the admin scope in the API layer, so a member sees a notice there
 * instead of the lists, and gets a 403 page for any form page or POST.
 *
 * The org: query parameter `org` (a slug) on GET, hidden form field `org`
 * on POST, else the `cupd_org` cookie (set when the user picks an org),
 * else the user's first org by name. An org the user does not belong to
 * answers 404, exactly like one that does not exist.
 *
 * Every POST carries the session CSRF token (403 page without it), and
 * answers 303 to a GET page (POST/redirect/GET), except the two that show a
 * new secret once: that page is the POST response itself (Cache-Control:
 * no-store), so no later GET can show the secret again. A POST that ends
 * or narrows a credential answers only after the notify barrier, as its
 * REST route does (settings_redirect_synced).
 *
 * All functions run on the request's loop. */
#ifndef CUPD_WEB_SETTINGS_LAYOUT_H
#define CUPD_WEB_SETTINGS_LAYOUT_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "form.h"
#include "http.h"
#include "session.h"

struct evbuffer;

/* What a handler needs before it runs. */
typedef enum {
	SETTINGS_READ,          /* GET: any member of the org */
	SETTINGS_READ_ADMIN,    /* GET of a form or admin-only page: owner or admin (403 page otherwise) */
	SETTINGS_POST,          /* POST any member may send (their own AI Connections) */
	SETTINGS_POST_ADMIN,    /* POST that changes the org's credentials or settings: owner or admin */
} settings_need;

/* The top-level settings sections (navigation). */
typedef enum { SETTINGS_NAV_CREDENTIALS, SETTINGS_NAV_ORG, SETTINGS_NAV_AUDIT } settings_nav;

/* The three tabs of Settings → Credentials. */
typedef enum { SETTINGS_TAB_SDK_KEYS, SETTINGS_TAB_API_TOKENS, SETTINGS_TAB_CONNECTIONS } settings_tab;

typedef struct settings_req {
	http_req *r;
	session *s;               /* owned: the signed-in user */
	const session_org *org;   /* borrowed from s: the org the page acts in; NULL when the user has none */
	api_ctx ctx;              /* the API layer's view of the user in org */
	bool admin;               /* owner or admin of org */
	bool posted;              /* a POST whose body was parsed into form */
	oauth_form form;          /* POST body (owned) */
	void *page;               /* the handler's own state (owned; page_free frees it) */
	void (*page_free)(void *page);
} settings_req;

typedef void (*settings_fn)(settings_req *sr);

/* What a route handler runs, and what it needs first. */
typedef struct settings_route {
	settings_need need;
	settings_fn fn;
} settings_route;

/* Loads the session (signed out: redirect to sign-in, or a 403 page for a
 * POST), picks the org, checks the CSRF token of a POST and route->need;
 * then runs route->fn with a context it owns. Otherwise it answers r itself
 * and fn never runs (so nothing is allocated before the session is known).
 * Every path that ends the request from fn must go through one of the
 * settings_reply/_fail/_redirect functions below, which free sr. route must
 * outlive the request (a static). */
void settings_start(http_req *r, const settings_route *route);

/* A route handler's body: SETTINGS_START(r, SETTINGS_READ, fn); */
#define SETTINGS_START(r, need_, fn_)                                          \
	do {                                                                   \
		static const settings_route settings_route_ = { (need_), (fn_) }; \
		settings_start((r), &settings_route_);                        \
	} while (0)

/* Fills ctx for the API layer: the user of s acting in org, from r. */
void settings_api_ctx(api_ctx *ctx, const http_req *r, const session *s, const session_org *org);

/* ---- ending the request (each frees sr) ---- */

/* Sends out (freed) as the HTML page. */
void settings_reply(settings_req *sr, int status, struct evbuffer *out);
/* A complete error page in the settings frame. */
void settings_fail(settings_req *sr, int status, const char *title, const char *message);
/* The error page for a failed API call (404, 403, 409, 400, 503, 500). */
void settings_fail_api(settings_req *sr, const api_result *res);
/* 303 to path (which may have a query) plus org and, when done is not NULL,
 * done=<done>: the code of a notice from settings_notice_text. */
void settings_redirect(settings_req *sr, const char *path, const char *done);

/* For changes that end, narrow or re-time a credential (revoke, disable,
 * enable, rotate, end a grace period, revoke an AI Connection, change a role):
 * the same as settings_redirect, or fn(sr, data), but only once every
 * instance has applied the change (app_notify_barrier, at most 2 s), so
 * the next request to any instance already sees it. data is kept (incref)
 * until fn returns; path and done are copied. */
void settings_redirect_synced(settings_req *sr, const char *path, const char *done);
void settings_after_sync(settings_req *sr, json_t *data, void (*fn)(settings_req *sr, json_t *data));

/* ---- the page frame ---- */

/* Opens the document: top bar, "Settings · <org>", the h1 title, the org
 * switcher, the section navigation and the notice named by ?done=.
 * heading is the h1 text; title the <title>. */
void settings_page_begin(settings_req *sr, struct evbuffer *out, const char *title, const char *heading,
                         settings_nav nav);
/* The credential tabs (a nav of links) under the frame. */
void settings_tabs(settings_req *sr, struct evbuffer *out, settings_tab tab);
void settings_page_end(struct evbuffer *out);

/* A card saying the user's role cannot see or change what; no data. */
void settings_members_cannot(settings_req *sr, struct evbuffer *out, const char *what);

/* The hidden CSRF and org fields every form of these pages carries. */
void settings_form_hidden(settings_req *sr, struct evbuffer *out);

/* Appends path with the org parameter (escaped for an attribute). */
void settings_href(settings_req *sr, struct evbuffer *out, const char *path);

/* The text of notice code (?done=), or NULL for an unknown one. */
const char *settings_notice_text(const char *code);

/* Ends the request with the frame and an empty state for a user who
 * belongs to no organization. */
void settings_no_org(settings_req *sr, const char *title, settings_nav nav);

/* ---- lists ---- */

/* Reads ?cursor= into page (limit items). On a malformed cursor it answers
 * a 400 page itself (freeing sr) and returns false. */
bool settings_page_or_fail(settings_req *sr, int limit, api_page *page);

/* "Older" (next_cursor of list) and "Newest" (when this page had a cursor)
 * links; base is the page's path and query without org or cursor. */
void settings_pager(settings_req *sr, struct evbuffer *out, const char *base, const json_t *list);

/* ---- show-once secrets ---- */

/* The secret in a <code id=id> with a copy button (app.js, clipboard API). */
void settings_secret(struct evbuffer *out, const char *id, const char *label, const char *secret);
/* A preformatted block with a copy button. */
void settings_snippet(struct evbuffer *out, const char *id, const char *label, const char *text);
/* Tells app.js to replace this history entry with path (GET), so reloading
 * the page that shows a secret shows the list instead of posting again. */
void settings_replace_url(settings_req *sr, struct evbuffer *out, const char *path);

/* ---- formatting ---- */

/* A <time> element for an RFC 3339 timestamp from the API: "12 May 2026,
 * 14:03 UTC", or "3 hours ago" / "in 89 days" when relative; none (escaped)
 * when iso is NULL or unreadable. */
void settings_time(struct evbuffer *out, const char *iso, bool relative, const char *none);

/* Member key of o as a string, or NULL (also for JSON null). */
const char *settings_str(const json_t *o, const char *key);

/* The "scope" of a token or the highest of a connection's scopes, in words. */
const char *settings_scope_words(const char *scope);

/* The form field key of a POST, or NULL. */
const char *settings_field(const settings_req *sr, const char *key);

/* ---- the credential tabs (settings_keys.c, settings_tokens.c,
 *      settings_connections.c); each ends the request ---- */
void settings_keys_tab(settings_req *sr);
void settings_tokens_tab(settings_req *sr);
void settings_connections_tab(settings_req *sr);

#endif
