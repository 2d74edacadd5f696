/* web/settings_layout.c: the settings request context, the page frame and
 * formatting helpers (see settings_layout.h), and the two entry routes:
 * GET /settings (→ credentials) and GET /settings/credentials?tab=. */
#include "web/settings_layout.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "routes.h"
#include "web/pages.h"
#include "web/web_modules.h"
#include "xmem.h"

#define ORG_COOKIE "cupd_org"

/* ------------------------------------------------------------ context */

static void settings_req_free(settings_req *sr)
{
	if (!sr)
		return;
	if (sr->page_free)
		sr->page_free(sr->page);
	if (sr->posted)
		oauth_form_free(&sr->form);
	session_free(sr->s);
	free(sr);
}

void settings_api_ctx(api_ctx *ctx, const http_req *r, const session *s, const session_org *org)
{
	memset(ctx, 0, sizeof *ctx);
	if (org) {
		snprintf(ctx->org_id, sizeof ctx->org_id, "%s", org->id);
		snprintf(ctx->org_slug, sizeof ctx->org_slug, "%s", org->slug);
		ctx->scope = auth_role_cap(org->role);
	}
	snprintf(ctx->user_id, sizeof ctx->user_id, "%s", s->user_id);
	snprintf(ctx->actor_id, sizeof ctx->actor_id, "%s", s->user_id);
	ctx->actor_kind = "user";
	snprintf(ctx->ip, sizeof ctx->ip, "%s", http_req_peer_ip(r));
	/* Cut at a UTF-8 boundary: the audit column is text. */
	const char *ua = http_req_user_agent(r);
	size_t n = strlen(ua);
	if (n >= sizeof ctx->user_agent) {
		n = sizeof ctx->user_agent - 1;
		while (n > 0 && ((unsigned char)ua[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(ctx->user_agent, ua, n);
	ctx->user_agent[n] = '\0';
	snprintf(ctx->request_id, sizeof ctx->request_id, "%s", http_req_id(r));
	ctx->db = app_worker_of(r)->db;
	ctx->c = http_req_cfg(r);
}

static const session_org *org_by_slug(const session *s, const char *slug)
{
	for (int i = 0; slug && i < s->norgs; i++)
		if (!strcmp(s->orgs[i].slug, slug))
			return &s->orgs[i];
	return NULL;
}

static bool slug_like(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= 63 || !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return false;
	return n >= 2;
}

static void remember_org(http_req *r, const char *slug)
{
	char have[64];
	const char *cookie = http_req_header(r, "Cookie");
	if (cookie && session_cookie_get(cookie, ORG_COOKIE, have, sizeof have) && !strcmp(have, slug))
		return;
	char buf[200];
	snprintf(buf, sizeof buf, ORG_COOKIE "=%s; Path=/settings; Max-Age=31536000; HttpOnly; SameSite=Lax%s", slug,
	         session_cookie_secure(http_req_cfg(r)->public_url) ? "; Secure" : "");
	http_set_header(r, "Set-Cookie", buf);
}

static bool is_admin_role(const char *role)
{
	return !strcmp(role, "owner") || !strcmp(role, "admin");
}

static void on_session(http_req *r, session *s, db_status st, void *arg)
{
	const settings_route call = *(const settings_route *)arg;
	(void)st; /* session_require answers failures itself */
	settings_req *sr = xcalloc(1, sizeof *sr);
	sr->r = r;
	sr->s = s;
	bool post = call.need == SETTINGS_POST || call.need == SETTINGS_POST_ADMIN;
	if (post) {
		size_t len;
		const unsigned char *body = http_req_body(r, &len);
		if (!oauth_form_parse((const char *)body, len, &sr->form)) {
			settings_fail(sr, 400, "Bad request", "The form could not be read. Go back, reload the page and try again.");
			return;
		}
		sr->posted = true;
		if (!session_csrf_ok(s, oauth_form_get(&sr->form, SESSION_CSRF_FIELD, NULL))) {
			settings_fail(sr, 403, "Request refused",
			              "This request did not come from a CheckUpstream settings page, so nothing was changed. "
			              "Go back, reload the page and try again.");
			return;
		}
	}
	const char *want = post ? oauth_form_get(&sr->form, "org", NULL) : NULL;
	if (!want)
		want = http_req_query(r, "org");
	if (want && *want) {
		sr->org = org_by_slug(s, want);
		if (!sr->org) {
			settings_fail(sr, 404, "Organization not found",
			              "There is no organization with this name that you are a member of.");
			return;
		}
		if (!post)
			remember_org(r, sr->org->slug);
	} else {
		char have[64];
		const char *cookie = http_req_header(r, "Cookie");
		if (cookie && session_cookie_get(cookie, ORG_COOKIE, have, sizeof have) && slug_like(have))
			sr->org = org_by_slug(s, have);
		if (!sr->org && s->norgs > 0)
			sr->org = &s->orgs[0];
	}
	settings_api_ctx(&sr->ctx, r, s, sr->org);
	sr->admin = sr->org && is_admin_role(sr->org->role);
	if (!sr->org && call.need != SETTINGS_READ) {
		settings_fail(sr, 403, "No organization", "You are not a member of any organization, so there is nothing to change.");
		return;
	}
	if ((call.need == SETTINGS_READ_ADMIN || call.need == SETTINGS_POST_ADMIN) && !sr->admin) {
		settings_fail(sr, 403, "Owners and admins only",
		              post ? "Only owners and admins of this organization can change this, so nothing was changed."
		                   : "Only owners and admins of this organization can open this page.");
		return;
	}
	call.fn(sr);
}

void settings_start(http_req *r, const settings_route *route)
{
	/* route is static: session_require may answer r itself and never call
	 * back, and then there is nothing to free. */
	session_require(r, on_session, (void *)route);
}

const char *settings_field(const settings_req *sr, const char *key)
{
	return sr->posted ? oauth_form_get(&sr->form, key, NULL) : NULL;
}

/* ------------------------------------------------------------- endings */

void settings_reply(settings_req *sr, int status, struct evbuffer *out)
{
	http_req *r = sr->r;
	settings_req_free(sr);
	pages_reply(r, status, out);
}

void settings_fail(settings_req *sr, int status, const char *title, const char *message)
{
	if (!sr->s) {
		http_req *r = sr->r;
		settings_req_free(sr);
		pages_error(r, status, title, message);
		return;
	}
	struct evbuffer *out = evbuffer_new();
	pages_begin(out, &(pages_head){ .title = title, .user_email = sr->s->email, .csrf = sr->s->csrf, .narrow = true });
	pages_fmt(out,
	          "<section class=\"card\" aria-labelledby=\"err-title\">\n"
	          "<p class=\"eyebrow error-code\">Error %d</p>\n"
	          "<h1 id=\"err-title\">%s</h1>\n<p>%s</p>\n"
	          "<p><a class=\"btn\" href=\"",
	          status, title, message);
	settings_href(sr, out, "/settings/credentials");
	pages_fmt(out, "\">Back to settings</a></p>\n</section>\n");
	pages_end(out);
	settings_reply(sr, status, out);
}

void settings_fail_api(settings_req *sr, const api_result *res)
{
	const char *msg = res->message ? res->message : "";
	switch (res->status) {
	case API_NOT_FOUND:
		settings_fail(sr, 404, "Not found", "There is nothing with this id in this organization. It may have been "
		                                    "deleted, or the link belongs to another organization.");
		return;
	case API_FORBIDDEN:
		settings_fail(sr, 403, "Not allowed", msg);
		return;
	case API_CONFLICT:
		settings_fail(sr, 409, "That did not work", msg);
		return;
	case API_INVALID:
		settings_fail(sr, 400, "Check your input", msg);
		return;
	case API_UNAVAILABLE:
		http_set_header(sr->r, "Retry-After", "2");
		settings_fail(sr, 503, "Try again", "The database is not reachable right now. Try again in a moment.");
		return;
	default:
		settings_fail(sr, 500, "Something went wrong", "The request failed on our side; it has been logged.");
		return;
	}
}

void settings_redirect(settings_req *sr, const char *path, const char *done)
{
	/* path, then org (a slug) and done (a notice code): neither needs encoding. */
	char loc[600];
	size_t n = (size_t)snprintf(loc, sizeof loc, "%s", path);
	char sep = strchr(path, '?') ? '&' : '?';
	if (sr->org && n < sizeof loc) {
		n += (size_t)snprintf(loc + n, sizeof loc - n, "%corg=%s", sep, sr->org->slug);
		sep = '&';
	}
	if (done && n < sizeof loc)
		snprintf(loc + n, sizeof loc - n, "%cdone=%s", sep, done);
	http_req *r = sr->r;
	settings_req_free(sr);
	pages_redirect(r, loc);
}

typedef struct sync_call {
	settings_req *sr;
	json_t *data;                               /* owned reference, or NULL */
	void (*fn)(settings_req *sr, json_t *data); /* NULL: redirect */
	char path[300];
	char done[40];
} sync_call;

static void sync_done(void *arg)
{
	sync_call *c = arg;
	if (c->fn)
		c->fn(c->sr, c->data);
	else
		settings_redirect(c->sr, c->path, c->done[0] ? c->done : NULL);
	json_decref(c->data);
	free(c);
}

void settings_redirect_synced(settings_req *sr, const char *path, const char *done)
{
	sync_call *c = xcalloc(1, sizeof *c);
	c->sr = sr;
	snprintf(c->path, sizeof c->path, "%s", path);
	snprintf(c->done, sizeof c->done, "%s", done ? done : "");
	app_notify_barrier(sr->r, APP_BARRIER_TIMEOUT_MS, sync_done, c);
}

void settings_after_sync(settings_req *sr, json_t *data, void (*fn)(settings_req *sr, json_t *data))
{
	sync_call *c = xcalloc(1, sizeof *c);
	c->sr = sr;
	c->data = json_incref(data);
	c->fn = fn;
	app_notify_barrier(sr->r, APP_BARRIER_TIMEOUT_MS, sync_done, c);
}

/* ------------------------------------------------------------ notices */

typedef struct notice {
	const char *code;
	const char *text;
} notice;

static const notice NOTICES[] = {
	{ "key-revoked", "The SDK Key was revoked. Events sent with it are refused from now on." },
	{ "token-revoked", "The API Token was revoked. Requests with it get 401 from now on." },
	{ "token-disabled", "The API Token was disabled. Requests with it get 401 until you enable it again." },
	{ "token-enabled", "The API Token was enabled and works again." },
	{ "grace-ended", "The old token was cut off. Only the new token works now." },
	{ "connection-revoked", "The AI Connection was revoked. The tool's next request gets 401." },
	{ "client-revoked", "Every session of this AI tool was revoked. Its next request gets 401." },
	{ "badges-on", "Public badges are on. Anyone with the link sees your organization's status badge." },
	{ "badges-off", "Public badges are off. The badge URL now shows \"private\"." },
	{ "role-changed", "The member's role was changed. It applies to their next request." },
};

const char *settings_notice_text(const char *code)
{
	for (size_t i = 0; code && i < sizeof NOTICES / sizeof NOTICES[0]; i++)
		if (!strcmp(NOTICES[i].code, code))
			return NOTICES[i].text;
	return NULL;
}

/* ---------------------------------------------------------------- frame */

void settings_href(settings_req *sr, struct evbuffer *out, const char *path)
{
	pages_escape(out, path);
	if (sr->org) {
		pages_fmt(out, "%S", strchr(path, '?') ? "&amp;org=" : "?org=");
		pages_escape(out, sr->org->slug);
	}
}

void settings_form_hidden(settings_req *sr, struct evbuffer *out)
{
	pages_fmt(out, "<input type=\"hidden\" name=\"" SESSION_CSRF_FIELD "\" value=\"%s\">", sr->s->csrf);
	if (sr->org)
		pages_fmt(out, "<input type=\"hidden\" name=\"org\" value=\"%s\">", sr->org->slug);
	pages_fmt(out, "\n");
}

static void nav_link(settings_req *sr, struct evbuffer *out, const char *path, const char *label, bool current)
{
	pages_fmt(out, "<li><a href=\"");
	settings_href(sr, out, path);
	pages_fmt(out, "\"%S>%s</a></li>", current ? " aria-current=\"page\"" : "", label);
}

static void org_switcher(settings_req *sr, struct evbuffer *out)
{
	if (sr->s->norgs < 2)
		return;
	/* A plain GET form: works without script; the page keeps its path. */
	pages_fmt(out,
	          "<form class=\"org-switch\" method=\"get\" action=\"%s\">"
	          "<label for=\"org-switch\">Organization</label>"
	          "<select id=\"org-switch\" name=\"org\">",
	          http_req_path(sr->r));
	const char *tab = http_req_query(sr->r, "tab");
	for (int i = 0; i < sr->s->norgs; i++)
		pages_fmt(out, "<option value=\"%s\"%S>%s</option>", sr->s->orgs[i].slug,
		          &sr->s->orgs[i] == sr->org ? " selected" : "", sr->s->orgs[i].name);
	pages_fmt(out, "</select>");
	if (tab && !strcmp(http_req_path(sr->r), "/settings/credentials"))
		pages_fmt(out, "<input type=\"hidden\" name=\"tab\" value=\"%s\">", tab);
	pages_fmt(out, "<button type=\"submit\" class=\"btn btn-small\">Switch</button></form>\n");
}

void settings_page_begin(settings_req *sr, struct evbuffer *out, const char *title, const char *heading,
                         settings_nav nav)
{
	pages_begin(out, &(pages_head){ .title = title, .user_email = sr->s->email, .csrf = sr->s->csrf });
	pages_fmt(out, "<div class=\"settings-head\"><div>\n<p class=\"eyebrow\">Settings");
	if (sr->org)
		pages_fmt(out, " · %s <span class=\"role-chip\">%s</span>", sr->org->name, sr->org->role);
	pages_fmt(out, "</p>\n<h1>%s</h1>\n</div>\n", heading);
	org_switcher(sr, out);
	pages_fmt(out, "</div>\n<nav class=\"settings-nav\" aria-label=\"Settings\"><ul>");
	nav_link(sr, out, "/settings/credentials", "Credentials", nav == SETTINGS_NAV_CREDENTIALS);
	nav_link(sr, out, "/settings/organization", "Organization", nav == SETTINGS_NAV_ORG);
	nav_link(sr, out, "/settings/audit", "Audit log", nav == SETTINGS_NAV_AUDIT);
	pages_fmt(out, "</ul></nav>\n");
	const char *done = settings_notice_text(http_req_query(sr->r, "done"));
	if (done && !sr->posted)
		pages_fmt(out, "<div class=\"notice notice-ok\" role=\"status\">%s</div>\n", done);
}

void settings_tabs(settings_req *sr, struct evbuffer *out, settings_tab tab)
{
	pages_fmt(out, "<nav class=\"tabs\" aria-label=\"Credential types\"><ul>");
	nav_link(sr, out, "/settings/credentials?tab=sdk-keys", "SDK Keys", tab == SETTINGS_TAB_SDK_KEYS);
	nav_link(sr, out, "/settings/credentials?tab=api-tokens", "API Tokens", tab == SETTINGS_TAB_API_TOKENS);
	nav_link(sr, out, "/settings/credentials?tab=connections", "AI Connections", tab == SETTINGS_TAB_CONNECTIONS);
	pages_fmt(out, "</ul></nav>\n");
}

void settings_page_end(struct evbuffer *out)
{
	pages_end(out);
}

void settings_members_cannot(settings_req *sr, struct evbuffer *out, const char *what)
{
	pages_fmt(out,
	          "<div class=\"empty\">\n<p class=\"empty-title\">Owners and admins only</p>\n"
	          "<p>You are a %s of %s. Only owners and admins can see and manage %s. "
	          "Ask one of them (see <a href=\"",
	          sr->org ? sr->org->role : "member", sr->org ? sr->org->name : "this organization", what);
	settings_href(sr, out, "/settings/organization");
	pages_fmt(out, "\">Organization</a>) if you need access.</p>\n</div>\n");
}

void settings_no_org(settings_req *sr, const char *title, settings_nav nav)
{
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, title, title, nav);
	pages_fmt(out, "<div class=\"empty\">\n<p class=\"empty-title\">No organization yet</p>\n"
	               "<p>You are not a member of any organization. Ask an owner of your team's organization to add "
	               "you, then sign in again.</p>\n</div>\n");
	settings_page_end(out);
	settings_reply(sr, 200, out);
}

/* ---------------------------------------------------------------- lists */

bool settings_page_or_fail(settings_req *sr, int limit, api_page *page)
{
	char lim[12];
	const char *why = NULL;
	snprintf(lim, sizeof lim, "%d", limit);
	if (!api_page_parse(lim, http_req_query(sr->r, "cursor"), page, &why)) {
		settings_fail(sr, 400, "Bad link", "This page link is not valid any more. Start again from the first page.");
		return false;
	}
	return true;
}

void settings_pager(settings_req *sr, struct evbuffer *out, const char *base, const json_t *list)
{
	const char *next = settings_str(list, "next_cursor");
	const char *cur = http_req_query(sr->r, "cursor");
	if (!next && !(cur && *cur))
		return;
	pages_fmt(out, "<nav class=\"pager\" aria-label=\"Pages\">");
	if (cur && *cur) {
		pages_fmt(out, "<a class=\"btn\" href=\"");
		settings_href(sr, out, base);
		pages_fmt(out, "\">Newest</a>");
	}
	if (next) {
		char *enc = pages_urlencode(next);
		pages_fmt(out, "<a class=\"btn\" href=\"");
		settings_href(sr, out, base);
		pages_fmt(out, "%S%s\">Older</a>", strchr(base, '?') || sr->org ? "&amp;cursor=" : "?cursor=", enc);
		free(enc);
	}
	pages_fmt(out, "</nav>\n");
}

/* ------------------------------------------------------------ secrets */

void settings_secret(struct evbuffer *out, const char *id, const char *label, const char *secret)
{
	pages_fmt(out,
	          "<div class=\"secret\">\n<p class=\"secret-label\" id=\"%s-label\">%s</p>\n"
	          "<div class=\"secret-row\"><code class=\"secret-value\" id=\"%s\" aria-labelledby=\"%s-label\">%s</code>"
	          "<button type=\"button\" class=\"btn\" data-copy=\"#%s\" aria-describedby=\"%s-label\">Copy</button>"
	          "</div>\n</div>\n",
	          id, label, id, id, secret, id, id);
}

void settings_snippet(struct evbuffer *out, const char *id, const char *label, const char *text)
{
	pages_fmt(out,
	          "<div class=\"snippet\">\n<div class=\"snippet-head\"><p class=\"secret-label\" id=\"%s-label\">%s</p>"
	          "<button type=\"button\" class=\"btn btn-small\" data-copy=\"#%s\" aria-describedby=\"%s-label\">Copy"
	          "</button></div>\n<pre><code id=\"%s\">%s</code></pre>\n</div>\n",
	          id, label, id, id, id, text);
}

void settings_replace_url(settings_req *sr, struct evbuffer *out, const char *path)
{
	pages_fmt(out, "<div hidden data-replace-url=\"");
	settings_href(sr, out, path);
	pages_fmt(out, "\"></div>\n");
}

/* ----------------------------------------------------------- formatting */

const char *settings_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *settings_scope_words(const char *scope)
{
	if (!scope)
		return "None";
	if (!strcmp(scope, "admin"))
		return "Admin: read, change records, and manage credentials, members and settings";
	if (!strcmp(scope, "write"))
		return "Write: read, and change incidents, notes and runbooks";
	if (!strcmp(scope, "read"))
		return "Read: services, status, incidents, projects and runbooks";
	if (!strcmp(scope, "none"))
		return "None (the owner is no longer a member)";
	return scope;
}

static bool parse_iso(const char *iso, struct tm *tm, time_t *t)
{
	memset(tm, 0, sizeof *tm);
	int y, mo, d, h, mi, s;
	if (!iso || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
		return false;
	/* The database speaks UTC (db.c sets TimeZone), so the offset is +00:00. */
	const char *off = iso + 19;
	while (*off == '.' || (*off >= '0' && *off <= '9'))
		off++;
	if (strcmp(off, "+00:00") && strcmp(off, "Z") && strcmp(off, "+00"))
		return false;
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = s;
	*t = timegm(tm);
	return *t != (time_t)-1;
}

static void relative_text(char *buf, size_t cap, long diff)
{
	bool past = diff >= 0;
	long a = past ? diff : -diff;
	long n;
	const char *unit;
	if (a < 60) {
		snprintf(buf, cap, "%s", past ? "just now" : "in less than a minute");
		return;
	}
	if (a < 3600)
		n = a / 60, unit = "minute";
	else if (a < 86400)
		n = a / 3600, unit = "hour";
	else
		n = a / 86400, unit = "day";
	snprintf(buf, cap, "%s%ld %s%s%s", past ? "" : "in ", n, unit, n == 1 ? "" : "s", past ? " ago" : "");
}

void settings_time(struct evbuffer *out, const char *iso, bool relative, const char *none)
{
	struct tm tm;
	time_t t;
	if (!parse_iso(iso, &tm, &t)) {
		pages_escape(out, iso ? iso : none);
		return;
	}
	static const char *const MON[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char abs[40], rel[40];
	snprintf(abs, sizeof abs, "%d %s %d, %02d:%02d UTC", tm.tm_mday, MON[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	         tm.tm_min);
	long diff = (long)(time(NULL) - t);
	if (relative && (diff < 0 ? -diff : diff) < 45L * 86400) {
		relative_text(rel, sizeof rel, diff);
		pages_fmt(out, "<time datetime=\"%s\" title=\"%s\">%s</time>", iso, abs, rel);
	} else {
		pages_fmt(out, "<time datetime=\"%s\">%s</time>", iso, abs);
	}
}

/* -------------------------------------------------------------- routes */

static void settings_root(http_req *r)
{
	const char *org = http_req_query(r, "org");
	if (org && slug_like(org)) {
		char loc[120];
		snprintf(loc, sizeof loc, "/settings/credentials?org=%s", org);
		pages_redirect(r, loc);
		return;
	}
	pages_redirect(r, "/settings/credentials");
}

static void credentials_ready(settings_req *sr)
{
	const char *tab = http_req_query(sr->r, "tab");
	if (!tab || !strcmp(tab, "sdk-keys"))
		settings_keys_tab(sr);
	else if (!strcmp(tab, "api-tokens"))
		settings_tokens_tab(sr);
	else if (!strcmp(tab, "connections"))
		settings_connections_tab(sr);
	else
		settings_fail(sr, 404, "Not found", "There is no such tab. Use SDK Keys, API Tokens or AI Connections.");
}

static void credentials_get(http_req *r)
{
	SETTINGS_START(r, SETTINGS_READ, credentials_ready);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/settings", ROUTER_SLASH_OK, settings_root, AUTH_PUBLIC, 0, "Settings (redirects to Credentials)" },
	{ ROUTER_GET, "/settings/credentials", 0, credentials_get, AUTH_PUBLIC, 0,
	  "Settings → Credentials: SDK Keys, API Tokens, AI Connections (?tab=)" },
};
ROUTES_MODULE(web_settings_routes, "Web", ROUTES);
