/* clients.c: client lookup (DCR rows; URL client_ids through cimd.h) and
 * the redirect URI policy of registration and matching (see clients.h). */
#include "clients.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cimd.h"
#include "log.h"
#include "xmem.h"

enum { MAX_URI = 2048 };

/* ------------------------------------------------------- redirect URIs */

/* The parts of an absolute URI this policy looks at (all borrowed). */
typedef struct uri_parts {
	const char *scheme;
	size_t scheme_len;
	bool authority;            /* "scheme://" */
	bool userinfo;             /* an '@' inside the authority */
	const char *host;          /* without brackets' meaning: "[::1]" stays bracketed */
	size_t host_len;
	const char *port;          /* digits after ':' (may be empty), NULL if no ':' */
	size_t port_len;
	const char *rest;          /* path, query (and fragment) after the authority */
} uri_parts;

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool parse_uri(const char *u, uri_parts *p)
{
	memset(p, 0, sizeof *p);
	if (!is_alpha(u[0]))
		return false;
	size_t i = 1;
	while (is_alpha(u[i]) || is_digit(u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.')
		i++;
	if (u[i] != ':')
		return false;
	p->scheme = u;
	p->scheme_len = i;
	const char *s = u + i + 1;
	if (s[0] != '/' || s[1] != '/') {
		p->rest = s;
		return true;
	}
	p->authority = true;
	s += 2;
	size_t alen = strcspn(s, "/?#");
	p->rest = s + alen;
	p->userinfo = memchr(s, '@', alen) != NULL;
	const char *hp = s;
	size_t hl;
	if (alen && s[0] == '[') {
		const char *rb = memchr(s, ']', alen);
		if (!rb)
			return false;
		hl = (size_t)(rb - s) + 1;
	} else {
		const char *colon = memchr(s, ':', alen);
		hl = colon ? (size_t)(colon - s) : alen;
	}
	p->host = hp;
	p->host_len = hl;
	if (hl < alen) {
		if (s[hl] != ':')
			return false;
		p->port = s + hl + 1;
		p->port_len = alen - hl - 1;
	}
	return true;
}

static bool scheme_is(const uri_parts *p, const char *name)
{
	return p->scheme_len == strlen(name) && !strncasecmp(p->scheme, name, p->scheme_len);
}

static bool host_is_loopback(const uri_parts *p)
{
	static const char *const L[] = { "localhost", "127.0.0.1", "[::1]" };
	for (size_t i = 0; i < sizeof L / sizeof L[0]; i++)
		if (p->host_len == strlen(L[i]) && !strncasecmp(p->host, L[i], p->host_len))
			return true;
	return false;
}

static bool port_ok(const uri_parts *p)
{
	if (!p->port)
		return true;
	if (p->port_len == 0 || p->port_len > 5)
		return false;
	for (size_t i = 0; i < p->port_len; i++)
		if (!is_digit(p->port[i]))
			return false;
	return true;
}

static bool host_chars_ok(const uri_parts *p)
{
	if (p->host_len == 0)
		return false;
	if (p->host[0] == '[') {
		for (size_t i = 1; i + 1 < p->host_len; i++)
			if (!(is_digit(p->host[i]) || strchr("abcdefABCDEF:.", p->host[i])))
				return false;
		return p->host_len > 2;
	}
	for (size_t i = 0; i < p->host_len; i++) {
		char c = p->host[i];
		if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

/* Schemes that are never a native app's callback: script and data
 * carriers, local files, browser internals and other protocols. */
static const char *const DENIED_SCHEMES[] = {
	"javascript", "vbscript", "livescript", "data", "file", "blob", "about", "filesystem",
	"view-source", "jar", "ftp", "ws", "wss", "mailto", "tel", "sms",
};

bool oauth_redirect_uri_acceptable(const char *uri, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (!uri || !*uri) {
		*why = "a redirect URI is empty";
		return false;
	}
	size_t n = strlen(uri);
	if (n > MAX_URI) {
		*why = "a redirect URI is longer than 2048 characters";
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)uri[i];
		if (c <= 0x20 || c >= 0x7f) {
			*why = "a redirect URI contains spaces, control or non-ASCII characters (percent-encode them)";
			return false;
		}
	}
	if (strchr(uri, '#')) {
		*why = "a redirect URI must not contain a fragment (RFC 6749 section 3.1.2)";
		return false;
	}
	uri_parts p;
	if (!parse_uri(uri, &p)) {
		*why = "a redirect URI is not an absolute URI";
		return false;
	}
	for (size_t i = 0; i < sizeof DENIED_SCHEMES / sizeof DENIED_SCHEMES[0]; i++)
		if (scheme_is(&p, DENIED_SCHEMES[i])) {
			*why = "a redirect URI uses a scheme that is never allowed (javascript:, data:, file:, ...)";
			return false;
		}
	if (scheme_is(&p, "https") || scheme_is(&p, "http")) {
		if (!p.authority || p.userinfo || !host_chars_ok(&p) || !port_ok(&p)) {
			*why = "a redirect URI has no valid host (or carries user information)";
			return false;
		}
		if (scheme_is(&p, "http") && !host_is_loopback(&p)) {
			*why = "http redirect URIs are allowed only on loopback hosts (127.0.0.1, [::1], localhost); "
			       "use https";
			return false;
		}
		return true;
	}
	/* A private-use scheme of a native app (RFC 8252 section 7.1), e.g.
	 * cursor://anysphere.cursor-mcp/oauth/callback or com.example.app:/cb. A
	 * one-letter "scheme" is a Windows drive, not an app. */
	if (p.scheme_len < 2 || (!*p.rest && !p.authority)) {
		*why = "a redirect URI with a custom scheme needs an app-specific scheme name and a path";
		return false;
	}
	if (p.authority && p.userinfo) {
		*why = "a redirect URI must not carry user information";
		return false;
	}
	return true;
}

bool oauth_redirect_uri_matches(const char *registered, const char *requested)
{
	if (!registered || !requested)
		return false;
	if (!strcmp(registered, requested))
		return true;
	/* Loopback exception (RFC 8252 section 7.3): native apps listen on a
	 * port chosen at run time, so only the port may differ. Scheme, host,
	 * path and query still compare exactly, byte for byte. */
	uri_parts a, b;
	if (!parse_uri(registered, &a) || !parse_uri(requested, &b))
		return false;
	if (a.scheme_len != 4 || strncmp(a.scheme, "http", 4) || b.scheme_len != 4 || strncmp(b.scheme, "http", 4))
		return false;
	if (!a.authority || !b.authority || a.userinfo || b.userinfo)
		return false;
	if (!host_is_loopback(&a) || a.host_len != b.host_len || memcmp(a.host, b.host, a.host_len) != 0)
		return false;
	if (!port_ok(&a) || !port_ok(&b))
		return false;
	return !strcmp(a.rest, b.rest) && !strchr(b.rest, '#');
}

bool oauth_client_redirect_ok(const oauth_client *c, const char *requested)
{
	for (int i = 0; c && i < c->nredirect; i++)
		if (oauth_redirect_uri_matches(c->redirect_uris[i], requested))
			return true;
	return false;
}

/* ------------------------------------------------------------- lookup */

void oauth_client_free(oauth_client *c)
{
	if (!c)
		return;
	free(c->client_id);
	free(c->name);
	free(c->client_uri);
	free(c->logo_uri);
	for (int i = 0; i < c->nredirect; i++)
		free(c->redirect_uris[i]);
	free(c);
}

static const db_stmt LOOKUP = {
	"oauth_client_lookup",
	"SELECT id, client_id, registered_via, encode(client_secret_hash, 'hex') AS secret, "
	"  token_endpoint_auth_method AS method, client_name, client_uri, logo_uri, "
	"  array_to_json(redirect_uris)::text AS redirect_uris, "
	"  'refresh_token' = ANY (grant_types) AS allows_refresh, "
	"  coalesce(cache_until > now(), false) AS fresh, "
	"  coalesce(fetched_at > now() - make_interval(days => 7), false) AS recent "
	"FROM oauth_clients WHERE client_id = $1",
	1,
};

typedef struct lookup {
	oauth_client_fn done;
	void *arg;
	db_pool *db;
	struct event_base *base;
	char *client_id;     /* owned */
} lookup;

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static oauth_client *client_from_row(const PGresult *res)
{
	oauth_client *c = xcalloc(1, sizeof *c);
	const char *v;
	snprintf(c->pk, sizeof c->pk, "%s", (v = db_get(res, 0, "id")) ? v : "");
	c->client_id = xstrdup((v = db_get(res, 0, "client_id")) ? v : "");
	c->name = xstrdup((v = db_get(res, 0, "client_name")) ? v : "");
	c->client_uri = dup_or_null(db_get(res, 0, "client_uri"));
	c->logo_uri = dup_or_null(db_get(res, 0, "logo_uri"));
	v = db_get(res, 0, "registered_via");
	c->cimd = v && (!strcmp(v, "cimd") || !strcmp(v, "pinned"));
	c->allows_refresh = db_get_bool(res, 0, "allows_refresh");
	v = db_get(res, 0, "method");
	c->method = !v || !strcmp(v, "none") ? OAUTH_AUTH_NONE
	            : !strcmp(v, "client_secret_post") ? OAUTH_AUTH_SECRET_POST : OAUTH_AUTH_SECRET_BASIC;
	v = db_get(res, 0, "secret");
	if (c->method != OAUTH_AUTH_NONE) {
		if (!v || strlen(v) != 64) {
			oauth_client_free(c);
			return NULL;
		}
		for (int i = 0; i < 32; i++)
			c->secret_hash[i] = (unsigned char)(hexv(v[2 * i]) << 4 | hexv(v[2 * i + 1]));
	}
	json_t *uris = json_loads((v = db_get(res, 0, "redirect_uris")) ? v : "[]", 0, NULL);
	for (size_t i = 0; i < json_array_size(uris) && c->nredirect < OAUTH_MAX_REDIRECTS; i++) {
		const char *u = json_string_value(json_array_get(uris, i));
		if (u)
			c->redirect_uris[c->nredirect++] = xstrdup(u);
	}
	json_decref(uris);
	return c;
}

/* Client ID Metadata Documents (REQUIREMENTS B26-B29): a URL client_id is
 * pinned in configuration, or stored from an earlier fetch and still fresh,
 * or fetched now (SSRF-safe, size-capped, validated like a registration) and
 * stored with registered_via 'cimd' (cimd.h). stored is the row read here
 * (ownership passes), or NULL. */
static void cimd_resolve(lookup *l, oauth_client *stored, const PGresult *res)
{
	oauth_cimd_stored s = { .client = stored };
	if (stored) {
		const char *via = db_get(res, 0, "registered_via");
		s.pinned_row = via && !strcmp(via, "pinned");
		s.fresh = db_get_bool(res, 0, "fresh");
		s.recent = db_get_bool(res, 0, "recent");
	}
	oauth_cimd_resolve(l->db, l->base, l->client_id, s, l->done, l->arg);
}

static void lookup_done(const db_result *res, void *arg)
{
	lookup *l = arg;
	if (res->status != DB_OK) {
		l->done(NULL, res->status, res->message, l->arg);
	} else if (db_rows(res->res) == 1) {
		oauth_client *c = client_from_row(res->res);
		if (!c)
			log_msg(LOG_ERROR, "oauth: client row %s is inconsistent (secret)", l->client_id);
		if (c && c->cimd)
			cimd_resolve(l, c, res->res);
		else
			l->done(c, c ? DB_OK : DB_ERROR, c ? NULL : "inconsistent client row", l->arg);
	} else if (!strncmp(l->client_id, "https://", 8)) {
		cimd_resolve(l, NULL, NULL);
	} else {
		l->done(NULL, DB_OK, NULL, l->arg);
	}
	free(l->client_id);
	free(l);
}

void oauth_client_lookup(db_pool *db, struct event_base *base, const char *client_id, oauth_client_fn done,
                         void *arg)
{
	size_t n = client_id ? strlen(client_id) : 0;
	if (n < 8 || n > MAX_URI) {
		done(NULL, DB_OK, NULL, arg); /* no client_id of ours has this length */
		return;
	}
	lookup *l = xcalloc(1, sizeof *l);
	l->done = done;
	l->arg = arg;
	l->db = db;
	l->base = base;
	l->client_id = xstrdup(client_id);
	const char *params[] = { client_id };
	db_status st = db_query(db, &LOOKUP, params, lookup_done, l);
	if (st != DB_OK) {
		free(l->client_id);
		free(l);
		done(NULL, st, st == DB_OVERLOADED ? "database overloaded" : "database unavailable", arg);
	}
}
