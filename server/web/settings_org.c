/* web/settings_org.c: Settings → Organization.
 *
 *   GET  /settings/organization                          badge setting + preview, members and roles
 *   POST /settings/organization/badges                   public badges on/off → 303
 *   POST /settings/organization/members/{user_id}/role   change a member's role → 303
 *
 * Members see the page without forms. The badge preview is the very SVG
 * GET /api/v1/badge/{slug} renders (badge_svg) for the state the API layer
 * reports now, inlined as a data: image: the public endpoint caches its
 * answer for a few seconds per instance and browsers keep it for a minute,
 * so an <img> of the public URL would still show the old state right after
 * a change. */
#include <event2/buffer.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "api/badge.h"
#include "api/members.h"
#include "api/org_settings.h"
#include "routes.h"
#include "web/pages.h"
#include "web/settings_layout.h"
#include "web/web_modules.h"
#include "xmem.h"

#define ORG_PATH "/settings/organization"

enum { BADGE_SVG_MAX = 4096 };

/* What the page collects before it renders (three API calls in a row). */
typedef struct org_page {
	json_t *org;              /* owned */
	char badge[32];           /* the public badge state now */
} org_page;

static void org_page_free(void *p)
{
	org_page *op = p;
	if (op)
		json_decref(op->org);
	free(op);
}

static const char *state_words(const char *st)
{
	if (!strcmp(st, "operational"))
		return "operational";
	if (!strcmp(st, "degraded"))
		return "degraded";
	if (!strcmp(st, "partial_outage"))
		return "partial outage";
	if (!strcmp(st, "major_outage"))
		return "major outage";
	return "private";
}

static void badge_section(settings_req *sr, struct evbuffer *out, const org_page *op)
{
	bool on = json_is_true(json_object_get(op->org, "public_badges"));
	const char *base = http_req_cfg(sr->r)->public_url;
	char url[400], md[600];
	snprintf(url, sizeof url, "%s/api/v1/badge/%s", base, sr->org->slug);
	snprintf(md, sizeof md, "[![CheckUpstream status](%s)](%s)", url, base);

	char svg[BADGE_SVG_MAX];
	size_t n = badge_svg(badge_state_parse(op->badge), svg, sizeof svg);
	char b64[BADGE_SVG_MAX * 4 / 3 + 8];
	int bn = n ? EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)svg, (int)n) : 0;
	b64[bn > 0 ? bn : 0] = '\0';

	pages_fmt(out, "<section class=\"card\" aria-labelledby=\"badge-title\">\n<div class=\"section-head\">"
	               "<h2 id=\"badge-title\">Public status badge</h2>"
	               "<span class=\"badge %S\" id=\"badge-state\">%S</span></div>\n",
	          on ? "badge-ok" : "", on ? "On" : "Off");
	pages_fmt(out, "<p class=\"muted\">A small image for READMEs and status pages showing the worst current status "
	               "of your upstream services. It never names a service. When badges are off, the same URL shows a "
	               "neutral \"private\" badge, exactly like an organization that does not exist.</p>\n");
	pages_fmt(out, "<div class=\"badge-preview\"><p class=\"secret-label\">What the public sees now</p>"
	               "<img id=\"badge-preview\" src=\"data:image/svg+xml;base64,%S\" alt=\"Badge: upstreams %s\" "
	               "height=\"20\"> <a class=\"small\" href=\"/api/v1/badge/%s\">Open the live badge</a></div>\n",
	          b64, state_words(op->badge), sr->org->slug);
	settings_snippet(out, "badge-markdown", "Markdown", md);
	if (sr->admin) {
		pages_fmt(out, "<form method=\"post\" action=\"/settings/organization/badges\" class=\"toggle-form\">");
		settings_form_hidden(sr, out);
		pages_fmt(out, "<input type=\"hidden\" name=\"public_badges\" value=\"%S\">"
		               "<button type=\"submit\" class=\"btn %S\">%S</button></form>\n",
		          on ? "off" : "on", on ? "" : "btn-primary", on ? "Turn public badges off" : "Turn public badges on");
		pages_fmt(out, "<p class=\"small muted\">Image proxies and browsers may keep the old badge for up to a minute "
		               "after a change.</p>\n");
	}
	pages_fmt(out, "</section>\n");
}

static const char *const ROLES[] = { "owner", "admin", "member" };

static void member_row(settings_req *sr, struct evbuffer *out, json_t *m, int n)
{
	const char *id = settings_str(m, "id");
	const char *role = settings_str(m, "role");
	const char *name = settings_str(m, "name");
	const char *email = settings_str(m, "email");
	bool me_owner = !strcmp(sr->org->role, "owner");
	/* Only an owner changes an owner or makes one (the API says so too). */
	bool editable = sr->admin && id && role && (me_owner || strcmp(role, "owner"));
	pages_fmt(out, "<tr>\n<td data-label=\"Member\"><span class=\"cell-main\">%s</span>", name && *name ? name : email);
	if (name && *name)
		pages_fmt(out, "<br><span class=\"small muted\">%s</span>", email);
	if (id && !strcmp(id, sr->s->user_id))
		pages_fmt(out, " <span class=\"badge\">You</span>");
	if (json_is_true(json_object_get(m, "disabled")))
		pages_fmt(out, " <span class=\"badge\">Disabled</span>");
	pages_fmt(out, "</td>\n<td data-label=\"Joined\">");
	settings_time(out, settings_str(m, "joined_at"), false, "—");
	pages_fmt(out, "</td>\n<td data-label=\"Role\">");
	if (!editable) {
		pages_fmt(out, "<span class=\"role-chip\">%s</span>", role);
	} else {
		pages_fmt(out, "<form method=\"post\" action=\"/settings/organization/members/%s/role\" class=\"role-form\">",
		          id);
		settings_form_hidden(sr, out);
		pages_fmt(out, "<label class=\"visually-hidden\" for=\"role-%d\">Role of %s</label>"
		               "<select id=\"role-%d\" name=\"role\">",
		          n, email, n);
		for (size_t i = 0; i < sizeof ROLES / sizeof ROLES[0]; i++) {
			if (!me_owner && !strcmp(ROLES[i], "owner"))
				continue;
			pages_fmt(out, "<option value=\"%s\"%S>%s</option>", ROLES[i], !strcmp(role, ROLES[i]) ? " selected" : "",
			          ROLES[i]);
		}
		pages_fmt(out, "</select><button type=\"submit\" class=\"btn btn-small\">Save<span class=\"visually-hidden\">"
		               " role of %s</span></button></form>",
		          email);
	}
	pages_fmt(out, "</td>\n</tr>\n");
}

static void on_members(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	org_page *op = sr->page;
	struct evbuffer *out = evbuffer_new();
	settings_page_begin(sr, out, "Organization", "Organization", SETTINGS_NAV_ORG);
	badge_section(sr, out, op);
	pages_fmt(out, "<section class=\"card\" aria-labelledby=\"members-title\">\n"
	               "<h2 id=\"members-title\">Members</h2>\n<p class=\"muted\">Owners and admins manage credentials, "
	               "members and settings; members can read and change records, and their API Tokens and AI tools "
	               "never get more. A role change applies to the person's next request, tokens included.%S</p>\n",
	          sr->admin ? "" : " Only owners and admins can change roles.");
	json_t *rows = json_object_get(res->data, "data");
	pages_fmt(out, "<div class=\"table-wrap\"><table class=\"data\">\n<caption class=\"visually-hidden\">Members of "
	               "%s</caption>\n<thead><tr><th scope=\"col\">Member</th><th scope=\"col\">Joined</th>"
	               "<th scope=\"col\">Role</th></tr></thead>\n<tbody>\n",
	          sr->org->name);
	size_t i;
	json_t *m;
	json_array_foreach(rows, i, m)
		member_row(sr, out, m, (int)i + 1);
	pages_fmt(out, "</tbody></table></div>\n");
	settings_pager(sr, out, ORG_PATH, res->data);
	pages_fmt(out, "</section>\n");
	settings_page_end(out);
	settings_reply(sr, 200, out);
}

static void on_badge(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	org_page *op = sr->page;
	const char *st = json_string_value(res->data);
	snprintf(op->badge, sizeof op->badge, "%s", st ? st : "private");
	api_page page;
	if (!settings_page_or_fail(sr, API_LIMIT_MAX, &page))
		return;
	api_members_list(&sr->ctx, &page, on_members, sr);
}

static void on_org(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	org_page *op = xcalloc(1, sizeof *op);
	op->org = json_incref(res->data);
	sr->page = op;
	sr->page_free = org_page_free;
	api_badge_status(&sr->ctx, sr->org->slug, on_badge, sr);
}

static void org_ready(settings_req *sr)
{
	if (!sr->org) {
		settings_no_org(sr, "Organization", SETTINGS_NAV_ORG);
		return;
	}
	api_org_settings_get(&sr->ctx, on_org, sr);
}

static void org_get(http_req *r)
{
	SETTINGS_START(r, SETTINGS_READ, org_ready);
}

/* ------------------------------------------------------------ changes */

static void on_badges_set(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	bool on = json_is_true(json_object_get(res->data, "public_badges"));
	settings_redirect(sr, ORG_PATH, on ? "badges-on" : "badges-off");
}

static void badges_ready(settings_req *sr)
{
	const char *v = settings_field(sr, "public_badges");
	if (!v || (strcmp(v, "on") && strcmp(v, "off"))) {
		settings_fail(sr, 400, "Bad request", "The form did not say whether to turn badges on or off.");
		return;
	}
	api_org_settings_set_public_badges(&sr->ctx, !strcmp(v, "on"), on_badges_set, sr);
}

static void badges_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST_ADMIN, badges_ready);
}

static void on_role_set(api_result *res, void *arg)
{
	settings_req *sr = arg;
	if (res->status != API_OK) {
		settings_fail_api(sr, res);
		return;
	}
	settings_redirect_synced(sr, ORG_PATH, "role-changed");
}

static void role_ready(settings_req *sr)
{
	const char *role = settings_field(sr, "role");
	api_members_set_role(&sr->ctx, http_req_param(sr->r, "user_id"), role ? role : "", on_role_set, sr);
}

static void role_post(http_req *r)
{
	SETTINGS_START(r, SETTINGS_POST_ADMIN, role_ready);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/settings/organization", 0, org_get, AUTH_PUBLIC, 0, "Settings → Organization" },
	{ ROUTER_POST, "/settings/organization/badges", 0, badges_post, AUTH_PUBLIC, 0, "Public badges on or off" },
	{ ROUTER_POST, "/settings/organization/members/{user_id}/role", 0, role_post, AUTH_PUBLIC, 0,
	  "Change a member's role" },
};
ROUTES_MODULE(web_settings_org_routes, "Web", ROUTES);
