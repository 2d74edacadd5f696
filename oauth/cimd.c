/* cimd.c: the pure half of Client ID Metadata Documents (see cimd.h):
 * address classes, client_id URLs, document validation, Cache-Control and
 * the pinned file. No loop, no database, no network: unit tests and
 * fuzz_cimd call these directly. */
#include "cimd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "xmem.h"

/* ------------------------------------------------------ addresses (SSRF) */

static oauth_cimd_addr_class classify_v4(const unsigned char a[4])
{
	if (a[0] == 0)
		return a[1] == 0 && a[2] == 0 && a[3] == 0 ? OAUTH_CIMD_ADDR_UNSPECIFIED : OAUTH_CIMD_ADDR_RESERVED;
	if (a[0] == 127)
		return OAUTH_CIMD_ADDR_LOOPBACK;
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
		return OAUTH_CIMD_ADDR_PRIVATE;
	if (a[0] == 169 && a[1] == 254)
		return OAUTH_CIMD_ADDR_LINK_LOCAL;
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return OAUTH_CIMD_ADDR_CGNAT;
	if (a[0] >= 224 && a[0] <= 239)
		return OAUTH_CIMD_ADDR_MULTICAST;
	if (a[0] >= 240) /* 240/4 reserved, 255.255.255.255 broadcast */
		return OAUTH_CIMD_ADDR_RESERVED;
	/* IETF protocol assignments, TEST-NET-1/2/3, 6to4 relay, benchmarking. */
	if ((a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) || (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
	    (a[0] == 203 && a[1] == 0 && a[2] == 113) || (a[0] == 192 && a[1] == 88 && a[2] == 99) ||
	    (a[0] == 198 && (a[1] & 0xfe) == 18))
		return OAUTH_CIMD_ADDR_RESERVED;
	return OAUTH_CIMD_ADDR_PUBLIC;
}

static bool zeros(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static oauth_cimd_addr_class classify_v6(const unsigned char a[16], bool *embedded)
{
	if (zeros(a, 16))
		return OAUTH_CIMD_ADDR_UNSPECIFIED;
	if (zeros(a, 15) && a[15] == 1)
		return OAUTH_CIMD_ADDR_LOOPBACK;
	/* ::ffff:a.b.c.d (mapped) */
	if (zeros(a, 10) && a[10] == 0xff && a[11] == 0xff) {
		*embedded = true;
		return classify_v4(a + 12);
	}
	/* ::a.b.c.d (compatible, deprecated): never dialled, but report what it hides. */
	if (zeros(a, 12)) {
		*embedded = true;
		oauth_cimd_addr_class k = classify_v4(a + 12);
		return k == OAUTH_CIMD_ADDR_PUBLIC ? OAUTH_CIMD_ADDR_RESERVED : k;
	}
	/* ::ffff:0:a.b.c.d (SIIT translated) */
	if (zeros(a, 8) && a[8] == 0xff && a[9] == 0xff && a[10] == 0 && a[11] == 0) {
		*embedded = true;
		return classify_v4(a + 12);
	}
	/* 64:ff9b::/96, NAT64 well-known prefix: a gateway dials the IPv4 address. */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && zeros(a + 4, 8)) {
		*embedded = true;
		return classify_v4(a + 12);
	}
	/* 64:ff9b:1::/48, local-use NAT64 */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0x00 && a[5] == 0x01)
		return OAUTH_CIMD_ADDR_PRIVATE;
	/* 2002::/16, 6to4: the IPv4 address in bits 16-47. */
	if (a[0] == 0x20 && a[1] == 0x02) {
		oauth_cimd_addr_class k = classify_v4(a + 2);
		if (k != OAUTH_CIMD_ADDR_PUBLIC)
			*embedded = true;
		return k;
	}
	if (a[0] == 0xff)
		return OAUTH_CIMD_ADDR_MULTICAST;
	if ((a[0] & 0xfe) == 0xfc)
		return OAUTH_CIMD_ADDR_PRIVATE;       /* fc00::/7 unique local */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return OAUTH_CIMD_ADDR_LINK_LOCAL;    /* fe80::/10 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return OAUTH_CIMD_ADDR_PRIVATE;       /* fec0::/10 site-local (deprecated) */
	/* Global unicast is 2000::/3; within it 2001::/23 (IETF protocol
	 * assignments, incl. Teredo 2001::/32) and 2001:db8::/32 (documentation)
	 * are not Internet hosts. Everything else (100::/64 discard, ...) is
	 * reserved. */
	if ((a[0] & 0xe0) != 0x20)
		return OAUTH_CIMD_ADDR_RESERVED;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] < 0x02)
		return OAUTH_CIMD_ADDR_RESERVED;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return OAUTH_CIMD_ADDR_RESERVED;
	return OAUTH_CIMD_ADDR_PUBLIC;
}

oauth_cimd_addr_class oauth_cimd_addr_classify(const struct sockaddr *sa, bool *embedded)
{
	bool dummy;
	if (!embedded)
		embedded = &dummy;
	*embedded = false;
	if (!sa)
		return OAUTH_CIMD_ADDR_RESERVED;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return classify_v4((const unsigned char *)&in->sin_addr);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return classify_v6(in6->sin6_addr.s6_addr, embedded);
	}
	return OAUTH_CIMD_ADDR_RESERVED;
}

oauth_cimd_addr_class oauth_cimd_addr_classify_text(const char *ip, bool *embedded)
{
	unsigned char a[16];
	bool dummy;
	if (!embedded)
		embedded = &dummy;
	*embedded = false;
	if (ip && inet_pton(AF_INET, ip, a) == 1)
		return classify_v4(a);
	if (ip && inet_pton(AF_INET6, ip, a) == 1)
		return classify_v6(a, embedded);
	return OAUTH_CIMD_ADDR_RESERVED;
}

const char *oauth_cimd_addr_class_name(oauth_cimd_addr_class k)
{
	static const char *const N[] = { "public", "loopback", "private", "link-local", "shared (CGNAT)",
		                         "multicast", "unspecified", "reserved" };
	return (unsigned)k < sizeof N / sizeof N[0] ? N[k] : "reserved";
}

bool oauth_cimd_addr_allowed(oauth_cimd_addr_class k, bool embedded, bool allow_loopback)
{
	return k == OAUTH_CIMD_ADDR_PUBLIC || (allow_loopback && !embedded && k == OAUTH_CIMD_ADDR_LOOPBACK);
}

/* ---------------------------------------------------------------- URLs */

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_';
}

/* "." or ".." as a path segment, literally or percent-encoded (%2e). */
static bool dot_segment(const char *s, size_t n)
{
	size_t dots = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] == '.') {
			i++;
		} else if (i + 3 <= n && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] == 'e' || s[i + 2] == 'E')) {
			i += 3;
		} else {
			return false;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

bool oauth_cimd_url_parse(const char *url, oauth_cimd_url *out, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	memset(out, 0, sizeof *out);
	size_t n = url ? strlen(url) : 0;
	if (n == 0 || n > OAUTH_CIMD_MAX_URL) {
		*why = "a client_id URL must have 1 to 2048 characters";
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f) {
			*why = "a client_id URL must not contain spaces, control or non-ASCII characters";
			return false;
		}
	if (strncmp(url, "https://", 8) != 0) {
		*why = "a client_id URL must use https";
		return false;
	}
	if (strchr(url, '#')) {
		*why = "a client_id URL must not contain a fragment";
		return false;
	}
	const char *a = url + 8;
	size_t alen = strcspn(a, "/?");
	if (memchr(a, '@', alen)) {
		*why = "a client_id URL must not carry user information";
		return false;
	}
	size_t hl;
	const char *port = NULL;
	if (alen && a[0] == '[') {
		const char *rb = memchr(a, ']', alen);
		struct in6_addr tmp;
		if (!rb || (size_t)(rb - a - 1) >= sizeof out->host)
			goto bad_host;
		memcpy(out->host, a + 1, (size_t)(rb - a - 1));
		if (inet_pton(AF_INET6, out->host, &tmp) != 1)
			goto bad_host;
		out->host_is_ip = true;
		hl = (size_t)(rb - a) + 1;
	} else {
		const char *colon = memchr(a, ':', alen);
		hl = colon ? (size_t)(colon - a) : alen;
		if (hl == 0 || hl > 253)
			goto bad_host;
		for (size_t i = 0; i < hl; i++)
			if (!host_char(a[i]))
				goto bad_host;
		memcpy(out->host, a, hl);
		struct in_addr tmp;
		out->host_is_ip = inet_pton(AF_INET, out->host, &tmp) == 1;
	}
	out->port = 443;
	if (hl < alen) {
		if (a[hl] != ':')
			goto bad_host;
		port = a + hl + 1;
		size_t pl = alen - hl - 1;
		long p = 0;
		if (pl == 0 || pl > 5)
			goto bad_port;
		for (size_t i = 0; i < pl; i++) {
			if (port[i] < '0' || port[i] > '9')
				goto bad_port;
			p = p * 10 + (port[i] - '0');
		}
		if (p < 1 || p > 65535)
			goto bad_port;
		out->port = (int)p;
	}
	const char *path = a + alen;
	size_t plen = strcspn(path, "?");
	if (*path != '/' || plen < 2) {
		*why = "a client_id URL must have a path, e.g. https://app.example.com/oauth/client.json";
		memset(out, 0, sizeof *out);
		return false;
	}
	for (size_t i = 1; i <= plen;) {
		size_t seg = strcspn(path + i, "/?");
		if (seg > plen - i)
			seg = plen - i;
		if (dot_segment(path + i, seg)) {
			*why = "a client_id URL must not contain \".\" or \"..\" path segments";
			memset(out, 0, sizeof *out);
			return false;
		}
		i += seg + 1;
	}
	memcpy(out->target, path, strlen(path) + 1);
	return true;
bad_host:
	*why = "a client_id URL must name a host (a DNS name or an IP address)";
	memset(out, 0, sizeof *out);
	return false;
bad_port:
	*why = "a client_id URL has an invalid port";
	memset(out, 0, sizeof *out);
	return false;
}

/* ----------------------------------------------------------- documents */

static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* client_uri / logo_uri: an https URL (or http on loopback), else dropped. */
static char *web_uri(const json_t *v)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) > OAUTH_CIMD_MAX_URL || (strncmp(s, "https://", 8) && strncmp(s, "http://", 7)))
		return NULL;
	return oauth_redirect_uri_acceptable(s, NULL) ? xstrdup(s) : NULL;
}

static bool string_array_has(const json_t *arr, const char *want)
{
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s && !strcmp(s, want))
			return true;
	}
	return false;
}

void oauth_cimd_doc_cleanup(oauth_cimd_doc *d)
{
	if (!d)
		return;
	free(d->client_name);
	free(d->client_uri);
	free(d->logo_uri);
	for (int i = 0; i < d->nredirect; i++)
		free(d->redirect_uris[i]);
	memset(d, 0, sizeof *d);
}

#define FAIL(...)                                    \
	do {                                         \
		snprintf(why, whylen, __VA_ARGS__); \
		goto fail;                           \
	} while (0)

bool oauth_cimd_doc_from_json(const char *client_id, const json_t *o, bool pinned, oauth_cimd_doc *out, char *why,
                              size_t whylen)
{
	char dummy[8];
	if (!why || !whylen)
		why = dummy, whylen = sizeof dummy;
	memset(out, 0, sizeof *out);
	if (!json_is_object(o))
		FAIL("the client metadata document is not a JSON object");

	const json_t *id = json_object_get(o, "client_id");
	if (id || !pinned) {
		const char *s = json_string_value(id);
		if (!s || !client_id || strcmp(s, client_id) != 0)
			FAIL("the document's client_id is not exactly the URL it was fetched from");
	}
	if (json_object_get(o, "client_secret") || json_object_get(o, "client_secret_expires_at"))
		FAIL("a client metadata document must not contain a client_secret (such clients are public)");
	const json_t *m = json_object_get(o, "token_endpoint_auth_method");
	if (m && !json_is_null(m)) {
		const char *s = json_string_value(m);
		if (!s || strcmp(s, "none") != 0)
			FAIL("token_endpoint_auth_method must be \"none\": clients identified by a metadata document are "
			     "public");
	}

	const json_t *uris = json_object_get(o, "redirect_uris");
	size_t nuris = json_array_size(uris);
	if (!json_is_array(uris) || nuris == 0)
		FAIL("redirect_uris must be a non-empty array");
	if (nuris > OAUTH_MAX_REDIRECTS)
		FAIL("redirect_uris may list at most %d URIs", OAUTH_MAX_REDIRECTS);
	for (size_t i = 0; i < nuris; i++) {
		const char *u = json_string_value(json_array_get(uris, i));
		const char *uwhy = "a redirect URI is not a string";
		if (!u || !oauth_redirect_uri_acceptable(u, &uwhy))
			FAIL("redirect_uris[%zu]: %s", i, uwhy);
		out->redirect_uris[out->nredirect++] = xstrdup(u);
	}

	const json_t *gts = json_object_get(o, "grant_types");
	out->allows_refresh = true;
	if (gts && !json_is_null(gts)) {
		if (!json_is_array(gts) || !string_array_has(gts, "authorization_code"))
			FAIL("grant_types must include authorization_code");
		out->allows_refresh = string_array_has(gts, "refresh_token");
	}
	const json_t *rts = json_object_get(o, "response_types");
	if (rts && !json_is_null(rts) && (!json_is_array(rts) || !string_array_has(rts, "code")))
		FAIL("response_types must include code");

	const json_t *nm = json_object_get(o, "client_name");
	if (nm && !json_is_null(nm)) {
		const char *s = json_string_value(nm);
		if (!s || strlen(s) > OAUTH_CIMD_NAME_MAX || !printable(s))
			FAIL("client_name must be text of at most %d characters", OAUTH_CIMD_NAME_MAX);
		if (*s)
			out->client_name = xstrdup(s);
	}
	if (pinned && !out->client_name)
		FAIL("a pinned client needs a client_name");
	out->client_uri = web_uri(json_object_get(o, "client_uri"));
	out->logo_uri = web_uri(json_object_get(o, "logo_uri"));
	return true;
fail:
	oauth_cimd_doc_cleanup(out);
	return false;
}

bool oauth_cimd_doc_parse(const char *client_id, const char *body, size_t len, oauth_cimd_doc *out, char *why,
                          size_t whylen)
{
	memset(out, 0, sizeof *out);
	if (len > OAUTH_CIMD_MAX_BODY) {
		if (why && whylen)
			snprintf(why, whylen, "the client metadata document is larger than %d bytes", OAUTH_CIMD_MAX_BODY);
		return false;
	}
	json_error_t jerr;
	json_t *o = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!json_is_object(o)) {
		if (why && whylen)
			snprintf(why, whylen, "the client metadata document is not a JSON object");
		json_decref(o);
		return false;
	}
	bool ok = oauth_cimd_doc_from_json(client_id, o, false, out, why, whylen);
	json_decref(o);
	return ok;
}

bool oauth_cimd_content_type_ok(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strcspn(ct, "; \t");
	bool ok = (n == 16 && !strncasecmp(ct, "application/json", 16)) ||
	          (n > 17 && !strncasecmp(ct, "application/", 12) && !strncasecmp(ct + n - 5, "+json", 5));
	if (!ok)
		return false;
	const char *rest = ct + n;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	return *rest == '\0' || *rest == ';';
}

static int clamp(long v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : (int)v;
}

int oauth_cimd_max_age(const char *cc, int min_s, int max_s)
{
	long max_age = -1;
	bool no_store = false;
	for (const char *p = cc; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t n = strcspn(p, ",");
		size_t name = strcspn(p, "=, \t");
		if (name > n)
			name = n;
		if ((name == 8 && !strncasecmp(p, "no-store", 8)) || (name == 8 && !strncasecmp(p, "no-cache", 8))) {
			no_store = true;
		} else if (name == 7 && !strncasecmp(p, "max-age", 7) && p[7] == '=') {
			const char *v = p + 8;
			bool quoted = *v == '"';
			v += quoted;
			long x = 0;
			size_t digits = 0;
			while (v[digits] >= '0' && v[digits] <= '9') {
				if (x < 100000000L)
					x = x * 10 + (v[digits] - '0');
				digits++;
			}
			const char *end = v + digits;
			if (quoted && *end == '"')
				end++;
			while (*end == ' ' || *end == '\t')
				end++;
			if (digits > 0 && (*end == ',' || *end == '\0') && max_age < 0)
				max_age = x;
		}
		p += n;
	}
	if (no_store)
		return min_s;
	return clamp(max_age >= 0 ? max_age : OAUTH_CIMD_DEFAULT_MAX_AGE, min_s, max_s);
}

/* ------------------------------------------------------ pinned documents */

struct oauth_cimd_pin {
	char *client_id;        /* owned */
	oauth_cimd_doc doc;
	atomic_bool synced;     /* written to oauth_clients by this process */
};

struct oauth_cimd_pins {
	size_t n;
	oauth_cimd_pin *v;      /* owned, n entries */
};

enum { MAX_PINS = 100 };

void oauth_cimd_pins_free(oauth_cimd_pins *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].client_id);
		oauth_cimd_doc_cleanup(&p->v[i].doc);
	}
	free(p->v);
	free(p);
}

oauth_cimd_pins *oauth_cimd_pins_parse(const char *text, size_t len, char *err, size_t errlen)
{
	char dummy[8];
	if (!err || !errlen)
		err = dummy, errlen = sizeof dummy;
	json_error_t jerr;
	json_t *o = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!json_is_object(o)) {
		if (o || !text)
			snprintf(err, errlen, "the pinned client file must be a JSON object mapping client_id URLs to documents");
		else
			snprintf(err, errlen, "the pinned client file is not valid JSON (line %d: %s)", jerr.line, jerr.text);
		json_decref(o);
		return NULL;
	}
	if (json_object_size(o) > MAX_PINS) {
		snprintf(err, errlen, "the pinned client file lists more than %d clients", MAX_PINS);
		json_decref(o);
		return NULL;
	}
	oauth_cimd_pins *p = xcalloc(1, sizeof *p);
	p->v = xcalloc(json_object_size(o), sizeof *p->v);
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val) {
		oauth_cimd_url u;
		const char *uwhy;
		char dwhy[300];
		if (!oauth_cimd_url_parse(key, &u, &uwhy)) {
			snprintf(err, errlen, "pinned client \"%.200s\": %s", key, uwhy);
			goto fail;
		}
		oauth_cimd_pin *pin = &p->v[p->n];
		if (!oauth_cimd_doc_from_json(key, val, true, &pin->doc, dwhy, sizeof dwhy)) {
			snprintf(err, errlen, "pinned client \"%.200s\": %s", key, dwhy);
			goto fail;
		}
		pin->client_id = xstrdup(key);
		atomic_init(&pin->synced, false);
		p->n++;
	}
	json_decref(o);
	return p;
fail:
	json_decref(o);
	oauth_cimd_pins_free(p);
	return NULL;
}

size_t oauth_cimd_pins_count(const oauth_cimd_pins *p)
{
	return p ? p->n : 0;
}

oauth_cimd_pin *oauth_cimd_pins_find(const oauth_cimd_pins *p, const char *client_id)
{
	for (size_t i = 0; p && client_id && i < p->n; i++)
		if (!strcmp(p->v[i].client_id, client_id))
			return &p->v[i];
	return NULL;
}

const oauth_cimd_doc *oauth_cimd_pin_doc(const oauth_cimd_pin *pin)
{
	return pin ? &pin->doc : NULL;
}

bool oauth_cimd__pin_synced(oauth_cimd_pin *pin)
{
	return atomic_load(&pin->synced);
}

void oauth_cimd__pin_set_synced(oauth_cimd_pin *pin)
{
	atomic_store(&pin->synced, true);
}
