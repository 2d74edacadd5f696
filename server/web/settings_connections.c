/* web/settings_connections.c: Settings → Credentials → AI Connections.
 *
 *   GET  /settings/credentials?tab=connections             active connections, grouped by client
 *   POST /settings/connections/{id}/revoke                 one session (grant) → 303
 *   POST /settings/connections/clients/{client}/revoke     every session of one client → 303
 *
 * An AI Connection is an OAuth grant (oauth/connections.h). Owners and
 * admins see and revoke every connection of the org; a member sees and
 * revokes their own. Revoking takes effect at once: the API layer marks the
 * grant revoked in this process before answering and NOTIFYs the others,
 * so the tool's next request gets 401.
 *
 * "Revoke all" for a member is api_connections_revoke_client (their own
 * sessions of that client, one statement). For an admin, whose group shows
 * everyone's sessions of the client, it revokes each listed session with
 * api_connections_revoke, one after another. */
#include <ctype.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "connections.h"
#include "routes.h"
#include "web/pages.h"
#include "web/settings_layout.h"
#include "web/web_modules.h"
#include "xmem.h"

#define TAB_PATH "/settings/credentials?tab=connections"

/* --------------------------------------------------- naming the client */

typedef struct family_rule {
	const char *needle;   /* case-insensitive substring */
	const char *family;
} family_rule;

/* Checked against the client id (a CIMD URL names its vendor), then the
 * declared name, then the User-Agent; first match wins, so the specific
 * (Claude Code) comes before the general (Claude). */
static const family_rule FAMILIES[] = {
	{ "claude-code", "Claude Code" },
	{ "claude code", "Claude Code" },
	{ "claude-cli", "Claude Code" },
	{ "claude desktop", "Claude Desktop" },
	{ "claude-user", "Claude" },
	{ "claude.ai/", "Claude" },
	{ "claude.com/", "Claude" },
	{ "cursor", "Cursor" },
	{ "visual studio code", "VS Code" },
	{ "vscode", "VS Code" },
	{ "vs code", "VS Code" },
	{ "github copilot", "VS Code" },
	{ "mcp cli proxy", "mcp-remote" },
	{ "mcp-remote", "mcp-remote" },
	{ "mcp inspector", "MCP Inspector" },
	{ "inspector", "MCP Inspector" },
	{ "windsurf", "Windsurf" },
	{ "chatgpt", "ChatGPT" },
	{ "openai", "ChatGPT" },
	{ "goose", "Goose" },
	{ "claude", "Claude" },
};

static const char *family_in(const char *s)
{
	for (size_t i = 0; s && i < sizeof FAMILIES / sizeof FAMILIES[0]; i++)
		if (strcasestr(s, FAMILIES[i].needle))
			return FAMILIES[i].family;
	return NULL;
}

static const char *client_family(const char *client_id, const char *name, const char *ua)
{
	const char *f = family_in(client_id);
	if (!f)
		f = family_in(name);
	if (!f && ua && strstr(ua, " Claude/") && strstr(ua, "Electron/"))
		f = "Claude Desktop";
	if (!f && ua && strstr(ua, " Code/") && strstr(ua, "Electron/"))
		f = "VS Code";
	if (!f)
		f = family_in(ua);
	return f ? f : "Other MCP client";
}

/* "Chrome on Linux" from a browser User-Agent; NULL when unknown. */
static void device_summary(const char *ua, char *out, size_t cap)
{
	out[0] = '\0';
	if (!ua || !*ua)
		return;
	const char *os = strstr(ua, "Windows") ? "Windows"
	               : strstr(ua, "iPhone") || strstr(ua, "iPad") ? "iOS"
	               : strstr(ua, "Android") ? "Android"
	               : strstr(ua, "Mac OS X") || strstr(ua, "Macintosh") ? "macOS"
	               : strstr(ua, "CrOS") ? "ChromeOS"
	               : strstr(ua, "Linux") ? "Linux"
	               : NULL;
	const char *app = strstr(ua, "Electron/") ? NULL
	                : strstr(ua, "Edg/") ? "Edge"
	                : strstr(ua, "Firefox/") ? "Firefox"
	                : strstr(ua, "Chrome/") || strstr(ua, "Chromium/") ? "Chrome"
	                : strstr(ua, "Safari/") ? "Safari"
	                : NULL;
	if (app && os)
		snprintf(out, cap, "%s on %s", app, os);
	else if (os)
		snprintf(out, cap, "%s", os);
	else
		snprintf(out, cap, "%.60s", ua);
}

/* The host of an https client id (CIMD URL), for "verified: <host>". */
static void url_host(const char *url, char *out, size_t cap)
{
	out[0] = '\0';
	const char *p = url ? strstr(url, "://") : NULL;
	if (!p)
		return;
	p += 3;
	size_t n = strcspn(p, "/?#");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static const char *scope_of(const json_t *conn)
{
	/* Scopes are levels: the highest one says it all. */
	const char *best = NULL;
	int rank = 0;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(conn, "scopes"), i, s) {
		const char *v = json_string_value(s);
		int r = !v ? 0 : !strcmp(v, "admin") ? 3 : !strcmp(v, "write") ? 2 : !strcmp(v, "read") ? 1 : 0;
		if (r > rank)
			rank = r, best = v;
	}
	return best;
}

/* ------------------------------------------------------------ the list */

static void session_row(settings_req *sr, struct evbuffer *out, json_t *g)
{
	const char *id = settings_str(g, "id");
	char dev[80];
	device_summary(settings_str(g, "user_agent"), dev, sizeof dev);
	pages_fmt(out, "<tr>\n<td data-label=\"Session\">");
	if (sr->admin)
		pages_fmt(out, "<span class=\"cell-main\">%s</span><br>", settings_str(json_object_get(g, "user"), "email"));
	if (dev[0])
		pages_fmt(out, "<span class=\"small muted\">Approved from %s</span>", dev);
	else if (!sr->admin)
		pages_fmt(out, "<span class=\"muted\">—</span>");
	pages_fmt(out, "</td>\n");
	const char *scope = scope_of(g);
	pages_fmt(out, "<td data-label=\"Access\">%s</td>\n", scope ? settings_scope_words(scope) : "No known scope");
	pages_fmt(out, "<td data-label=\"Connected\">");
	settings_time(out, settings_str(g, "created_at"), true, "—");
	pages_fmt(out, "</td>\n<td data-label=\"Last used\">");
	settings_time(out, settings_str(g, "last_used_at"), true, "Never");
	pages_fmt(out, "</td>\n<td data-label=\"Last IP\">%s</td>\n",
	          settings_str(g, "last_ip") ? settings_str(g, "last_ip") : "—");
	pages_fmt(out, "<td data-label=\"Tool calls (30 days)\" class=\"num\">%d</td>\n",
	          (int)json_integer_value(json_object_get(g, "tool_calls_30d")));
	pages_fmt(out, "<td data-label=\"Actions\" class=\"row-actions\">"
	               "<form method=\"post\" action=\"/settings/connections/%s/revoke\" class=\"inline\">",
	          id);
	settings_form_hidden(sr, out);
	pages_fmt(out, "<button type=\"submit\" class=\"btn btn-small btn-danger\">Revoke<span class=\"visually-hidden\">"
	               " this session</span></button></form></td>\n</tr>\n");
}

static void client_card(settings_req *sr, struct evbuffer *out, json_t *grants, int n)
{
	json_t *first = json_array_get(grants, 0);
	json_t *c = json_object_get(first, "client");
	const char *name = settings_str(c, "name");
	const char *client_id = settings_str(c, "client_id");
	bool verified = json_is_true(json_object_get(c, "verified"));
	const char *family = client_family(client_id, name, settings_str(first, "user_agent"));
	json_int_t calls = 0;
	size_t i;
	json_t *g;
	json_array_foreach(grants, i, g)
		calls += json_integer_value(json_object_get(g, "tool_calls_30d"));
	char initial[2] = { name && isalnum((unsigned char)name[0]) ? (char)toupper((unsigned char)name[0]) : '?', 0 };
	pages_fmt(out, "<article class=\"client-card\" aria-labelledby=\"client-%d\">\n<div class=\"client-head\">"
	               "<div class=\"client-icon\" aria-hidden=\"true\">%s</div>\n<div class=\"client-title\">"
	               "<h3 id=\"client-%d\">%s</h3>\n<p class=\"small\">",
	          n, initial, n, name && *name ? name : "Unnamed app");
	if (verified) {
		char host[200];
		url_host(client_id, host, sizeof host);
		pages_fmt(out, "<span class=\"badge badge-ok\">Verified</span> <span class=\"muted\">identity published on "
		               "%s</span>",
		          host[0] ? host : "its own domain");
	} else {
		pages_fmt(out, "<span class=\"badge badge-warn\">Unverified</span> <span class=\"muted\">name declared by "
		               "the app itself (dynamic registration)</span>");
	}
	pages_fmt(out, "</p>\n<p class=\"small muted\"><span class=\"family\">%s</span> · %d session%S · %d tool "
	               "call%S in the last 30 days</p>\n</div>\n",
	          family, (int)json_array_size(grants), json_array_size(grants) == 1 ? "" : "s", (int)calls,
	          calls == 1 ? "" : "s");
	pages_fmt(out, "<form method=\"post\" action=\"/settings/connections/clients/%s/revoke\" class=\"client-revoke\">",
	          settings_str(c, "id"));
	settings_form_hidden(sr, out);
	pages_fmt(out, "<button type=\"submit\" class=\"btn btn-danger\">Revoke all<span class=\"visually-hidden\"> "
	               "sessions of %s</span></button></form>\n</div>\n",
	          name && *name ? name : "this app");
	pages_fmt(out, "<div class=\"table-wrap\"><table class=\"data\">\n<caption class=\"visually-hidden\">Sessions of "
	               "%s</caption>\n<thead><tr><th scope=\"col\">Session</th><th scope=\"col\">Access</th>"
	               "<th scope=\"col\">Connected</th><th scope=\"col\">Last used</th><th scope=\"col\">Last IP</th>"
	               "<th scope=\"col\">Tool calls (30 days)</th><th scope=\"col\"><span class=\"visually-hidden\">"
	               "Actions</span></th></tr></thead>\n<tbody>\n",
	          name && *name ? name : "Unnamed app");
	json_array_foreach(grants, i, g)
		session_row(sr, out, g);
	pages_fmt(out, "</tbody></table></div>\n</article>\n");
}

static void empty_state(settings_req *sr, struct evbuffer *out)
{
	const char *base = http_req_cfg(sr->r)->public_url;
	char url[600], buf[1400];
	snprintf(url, sizeof url, "%s/mcp", base);
	pages_fmt(out, "<div class=\"empty\">\n<p class=\"empty-title\">No AI tools connected%S</p>\n"
	               "<p>Connect an AI tool to let it read your services, incidents and runbooks (and, if you allow it, "
	               "change them). You approve each connection in the browser and can revoke it here at any time.</p>\n"
	               "</div>\n<h3>Connect a tool</h3>\n",
	          sr->admin ? "" : " by you");
	settings_snippet(out, "mcp-url", "Server URL", url);
	pages_fmt(out, "<ol class=\"howto\">\n<li><strong>Claude Desktop</strong> (and claude.ai): Settings → Connectors → "
	               "Add custom connector, paste the server URL, then Connect and approve.</li>\n"
	               "<li><strong>Claude Code</strong>: run the command below, then <code>/mcp</code> in Claude Code "
	               "and choose Authenticate.</li>\n<li><strong>Cursor</strong>: add the server to "
	               "<code>.cursor/mcp.json</code> as below, then click Connect in Cursor's MCP settings.</li>\n</ol>\n");
	snprintf(buf, sizeof buf, "claude mcp add --transport http checkupstream %s", url);
	settings_snippet(out, "claude-code-cmd", "Claude Code", buf);
	snprintf(buf, sizeof buf, "{\n  \"mcpServers\": {\n    \"checkupstream\": { \"url\": \"%s\" }\n  }\n}", url);
	settings_snippet(out, "cursor-json", "Cursor: .cursor/mcp.json", buf);
}

static void on_list(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	json_t *rows = json_object_get(res->data, "data");
	/* Group by client, in the order clients first appear (newest first). */
	json_t *order = json_array(), *by = json_object();
	size_t i;
	json_t *g;
	json_array_foreach(rows, i, g) {
		const char *cid = settings_str(json_object_get(g, "client"), "id");
		if (!cid)
			continue;
		json_t *list = json_object_get(by, cid);
		if (!list) {
			list = json_array();
			json_object_set_new(by, cid, list);
			json_array_append(order, list);
		}
		json_array_append(list, g);
	}
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, "AI Connections · Credentials", "Credentials", SETTINGS_NAV_CREDENTIALS);
	settings_tabs(sr, out, SETTINGS_TAB_CONNECTIONS);
	pages_fmt(out, "<section class=\"card\" aria-labelledby=\"conn-title\">\n"
	               "<h2 id=\"conn-title\">AI Connections</h2>\n<p class=\"muted\">%S Revoking takes effect at once: "
	               "the tool's next request is refused and it has to ask you again.</p>\n",
	          sr->admin ? "AI tools that people in this organization connected through OAuth, grouped by tool. "
	                      "Each approval (a device or a process) is one session."
	                    : "AI tools you connected to this organization through OAuth, grouped by tool. Each approval "
	                      "(a device or a process) is one session.");
	if (!json_array_size(order)) {
		empty_state(sr, out);
	} else {
		json_t *list;
		json_array_foreach(order, i, list)
			client_card(sr, out, list, (int)i + 1);
	}
	settings_pager(sr, out, TAB_PATH, res->data);
	pages_fmt(out, "</section>\n");
	json_decref(order);
	json_decref(by);
	settings_page_end(out);
	settings_reply(sr, 200, out);
}

void settings_connections_tab(settings_req *sr)
{
	if (!sr->org) {
		settings_no_org(sr, "Credentials", SETTINGS_NAV_CREDENTIALS);
		return;
	}
	api_page page;
	if (!settings_page_or_fail(sr, API_LIMIT_MAX, &page))
		return;
	api_connections_filter f = { .status = "active" };
	api_connections_list(&sr->ctx, &f, &page, on_list, sr);
}

/* ------------------------------------------------------------ revoking */

static void on_revoked(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	settings_redirect_synced(sr, TAB_PATH, "connection-revoked");
}

static void revoke_ready(settings_req *sr)
{
	api_connections_revoke(&sr->ctx, http_req_param(sr->r, "id"), on_revoked, sr);
}

static void revoke_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST, revoke_ready);
}

/* An admin's "Revoke all": the listed ids, revoked one by one. */
typedef struct revoke_all {
	json_t *ids;              /* owned: grant ids still to revoke */
	size_t next;
} revoke_all;

static void revoke_all_free(void *p)
{
	revoke_all *ra = p;
	if (ra)
		json_decref(ra->ids);
	free(ra);
}

static void revoke_next(settings_req *sr);

static void on_one_revoked(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	revoke_next(sr);
}

static void revoke_next(settings_req *sr)
{
	revoke_all *ra = sr->page;
	if (ra->next == json_array_size(ra->ids)) {
		settings_redirect_synced(sr, TAB_PATH, "client-revoked");
		return;
	}
	const char *id = json_string_value(json_array_get(ra->ids, ra->next++));
	api_connections_revoke(&sr->ctx, id, on_one_revoked, sr);
}

static void nothing_to_revoke(settings_req *sr)
{
	settings_fail(sr, 404, "Not found",
	              "This AI tool has no active sessions in this organization that you can revoke. They may have been "
	              "revoked already.");
}

static void on_client_listed(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	revoke_all *ra = xcalloc(1, sizeof *ra);
	ra->ids = json_array();
	sr->page = ra;
	sr->page_free = revoke_all_free;
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(res->data, "data"), i, g)
		if (settings_str(g, "id"))
			json_array_append_new(ra->ids, json_string(settings_str(g, "id")));
	if (!json_array_size(ra->ids)) {
		nothing_to_revoke(sr);
		return;
	}
	revoke_next(sr);
}

static void on_client_revoked(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	if (!json_array_size(json_object_get(res->data, "revoked"))) {
		nothing_to_revoke(sr);
		return;
	}
	settings_redirect_synced(sr, TAB_PATH, "client-revoked");
}

static void revoke_client_ready(settings_req *sr)
{
	const char *client = http_req_param(sr->r, "client");
	if (!client || !api_is_uuid(client)) {
		nothing_to_revoke(sr);
		return;
	}
	if (!sr->admin) {
		api_connections_revoke_client(&sr->ctx, client, on_client_revoked, sr);
		return;
	}
	api_page page;
	const char *why;
	(void)api_page_parse("200", NULL, &page, &why);
	api_connections_filter f = { .status = "active", .client_pk = client };
	api_connections_list(&sr->ctx, &f, &page, on_client_listed, sr);
}

static void revoke_client_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST, revoke_client_ready);
}

static const route_def ROUTES[] = {
	{ ROUTER_POST, "/settings/connections/{id}/revoke", 0, revoke_post, AUTH_PUBLIC, 0,
	  "Revoke one AI Connection session" },
	{ ROUTER_POST, "/settings/connections/clients/{client}/revoke", 0, revoke_client_post, AUTH_PUBLIC, 0,
	  "Revoke every session of one AI tool" },
};
ROUTES_MODULE(web_settings_connections_routes, "Web", ROUTES);
