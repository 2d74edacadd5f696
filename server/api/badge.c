/* api/badge.c: the status badge (see the header for the contract).
 *
 * Rate limiting: none per IP, on purpose. README badges are fetched through
 * image proxies (GitHub's camo, chat unfurlers), so thousands of viewers
 * reach us from a handful of addresses; a per-IP limit would turn popular
 * badges grey for everyone. The cost of a badge is bounded instead:
 *   - Cache-Control: public, max-age=60 lets those proxies and browsers
 *     absorb repeat views;
 *   - a small in-process cache answers the same slug for BADGE_CACHE_TTL_S
 *     seconds without the database (a flood for one badge costs one query
 *     per few seconds per instance);
 *   - a flood of distinct slugs still costs one indexed query each, and the
 *     database pool's bounded queue answers 503 rather than piling up. */
#include "api/badge.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/ingest_parse.h"
#include "routes.h"
#include "xmem.h"

/* ----------------------------------------------------------- API layer */

static const db_stmt STATUS = {
	"badge_status",
	"SELECT to_json(coalesce((SELECT CASE WHEN NOT o.public_badges THEN 'private' ELSE coalesce(("
	"    SELECT (ARRAY['operational','degraded','partial_outage','major_outage'])"
	"      [max(array_position(ARRAY['operational','degraded','partial_outage','major_outage'], st.status))]"
	"    FROM services s JOIN service_status st ON st.service_id = s.id WHERE s.org_id = o.id),"
	"    'operational') END"
	"  FROM orgs o WHERE o.slug = $1), 'private')) AS result",
	1,
};

void api_badge_status(const api_ctx *ctx, const char *org_slug, api_done_fn done, void *arg)
{
	/* A slug that cannot exist needs no query, and answers like any unknown org. */
	if (!org_slug || !ingest_valid_slug(org_slug)) {
		json_t *priv = json_string("private");
		api_result res = { .status = API_OK, .data = priv };
		done(&res, arg);
		json_decref(priv);
		return;
	}
	const char *params[] = { org_slug };
	api_run(ctx, &STATUS, params, API_OK, done, arg);
}

/* ---------------------------------------------------------------- SVG */

typedef struct badge_style {
	const char *status;   /* API value */
	const char *text;     /* shown */
	const char *color;
} badge_style;

static const badge_style STYLES[] = {
	[BADGE_OPERATIONAL] = { "operational", "operational", "#4c1" },
	[BADGE_DEGRADED] = { "degraded", "degraded", "#dfb317" },
	[BADGE_PARTIAL_OUTAGE] = { "partial_outage", "partial outage", "#fe7d37" },
	[BADGE_MAJOR_OUTAGE] = { "major_outage", "major outage", "#e05d44" },
	[BADGE_PRIVATE] = { "private", "private", "#9f9f9f" },
	[BADGE_UNAVAILABLE] = { "unavailable", "unavailable", "#9f9f9f" },
};

static const char LABEL[] = "upstreams";

badge_state badge_state_parse(const char *status)
{
	for (int i = 0; status && i <= BADGE_MAJOR_OUTAGE; i++)
		if (!strcmp(status, STYLES[i].status))
			return (badge_state)i;
	return BADGE_PRIVATE;
}

/* Width of s in Verdana 11px, in tenths of a pixel (shields.io's metric),
 * from per-letter advances; other characters count as wide letters. */
static int text_width10(const char *s)
{
	static const unsigned char lower[26] = { 68, 69, 59, 69, 67, 39, 69, 70, 30, 38, 65, 30, 107,
	                                          70, 67, 69, 69, 47, 57, 43, 70, 65, 90, 65, 65, 58 };
	int w = 0;
	for (; *s; s++)
		w += (*s >= 'a' && *s <= 'z') ? lower[*s - 'a'] : *s == ' ' ? 35 : 75;
	return w;
}

/* Appends s with &, <, >, " and ' escaped for XML text and attributes. */
static void xml_escape(char *out, size_t cap, size_t *len, const char *s)
{
	for (; *s && *len + 7 < cap; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		}
		if (rep) {
			size_t n = strlen(rep);
			memcpy(out + *len, rep, n);
			*len += n;
		} else {
			out[(*len)++] = *s;
		}
	}
	out[*len] = '\0';
}

size_t badge_svg(badge_state state, char *out, size_t cap)
{
	if ((unsigned)state > BADGE_UNAVAILABLE)
		state = BADGE_PRIVATE;
	const badge_style *b = &STYLES[state];
	char label[64], text[64], color[16];
	size_t n = 0;
	xml_escape(label, sizeof label, &n, LABEL);
	n = 0;
	xml_escape(text, sizeof text, &n, b->text);
	n = 0;
	xml_escape(color, sizeof color, &n, b->color);
	int lt = text_width10(LABEL), rt = text_width10(b->text);
	int lw = (lt + 100 + 5) / 10, rw = (rt + 100 + 5) / 10; /* 5 px padding each side */
	int w = lw + rw;
	int written = snprintf(out, cap,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"20\" role=\"img\" aria-label=\"%s: %s\">"
		"<title>%s: %s</title>"
		"<linearGradient id=\"s\" x2=\"0\" y2=\"100%%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/>"
		"<stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>"
		"<clipPath id=\"r\"><rect width=\"%d\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>"
		"<g clip-path=\"url(#r)\"><rect width=\"%d\" height=\"20\" fill=\"#555\"/>"
		"<rect x=\"%d\" width=\"%d\" height=\"20\" fill=\"%s\"/><rect width=\"%d\" height=\"20\" fill=\"url(#s)\"/></g>"
		"<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" "
		"text-rendering=\"geometricPrecision\" font-size=\"110\">"
		"<text aria-hidden=\"true\" x=\"%d\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" transform=\"scale(.1)\" "
		"textLength=\"%d\">%s</text>"
		"<text x=\"%d\" y=\"140\" transform=\"scale(.1)\" fill=\"#fff\" textLength=\"%d\">%s</text>"
		"<text aria-hidden=\"true\" x=\"%d\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" transform=\"scale(.1)\" "
		"textLength=\"%d\">%s</text>"
		"<text x=\"%d\" y=\"140\" transform=\"scale(.1)\" fill=\"#fff\" textLength=\"%d\">%s</text>"
		"</g></svg>",
		w, label, text, label, text, w, lw, lw, rw, color, w,
		lw * 5, lt, label, lw * 5, lt, label,
		lw * 10 + rw * 5, rt, text, lw * 10 + rw * 5, rt, text);
	if (written < 0 || (size_t)written >= cap) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	return (size_t)written;
}

/* -------------------------------------------------------------- cache */

enum { BADGE_CACHE_SLOTS = 1024, BADGE_CACHE_TTL_S = 5 };

/* Direct-mapped by slug hash: bounded memory whatever slugs arrive. */
static struct {
	pthread_mutex_t lock;
	struct {
		char slug[INGEST_SERVICE_MAX + 1];
		badge_state state;
		time_t until;
	} slot[BADGE_CACHE_SLOTS];
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned slot_of(const char *slug)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *slug; slug++)
		h = (h ^ (unsigned char)*slug) * 16777619u;
	return h % BADGE_CACHE_SLOTS;
}

static bool cache_get(const char *slug, badge_state *out)
{
	time_t now = time(NULL);
	unsigned i = slot_of(slug);
	pthread_mutex_lock(&cache.lock);
	bool hit = cache.slot[i].until > now && !strcmp(cache.slot[i].slug, slug);
	if (hit)
		*out = cache.slot[i].state;
	pthread_mutex_unlock(&cache.lock);
	return hit;
}

static void cache_put(const char *slug, badge_state state)
{
	unsigned i = slot_of(slug);
	pthread_mutex_lock(&cache.lock);
	snprintf(cache.slot[i].slug, sizeof cache.slot[i].slug, "%s", slug);
	cache.slot[i].state = state;
	cache.slot[i].until = time(NULL) + BADGE_CACHE_TTL_S;
	pthread_mutex_unlock(&cache.lock);
}

/* ---------------------------------------------------------------- REST */

static void reply_badge(http_req *r, badge_state state)
{
	char svg[2048];
	size_t n = badge_svg(state, svg, sizeof svg);
	/* SVG is a document format: even opened directly it may run nothing. */
	http_set_header(r, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
	if (state == BADGE_UNAVAILABLE) {
		http_set_header(r, "Cache-Control", "no-store");
		http_set_header(r, "Retry-After", "5");
		http_reply_body(r, 503, "image/svg+xml", svg, n);
		return;
	}
	http_set_header(r, "Cache-Control", "public, max-age=60");
	http_reply_body(r, 200, "image/svg+xml", svg, n);
}

typedef struct badge_call {
	http_req *r;
	char slug[INGEST_SERVICE_MAX + 1];
} badge_call;

static void badge_done(api_result *res, void *arg)
{
	badge_call *call = arg;
	badge_state state = BADGE_UNAVAILABLE;
	if (res->status == API_OK) {
		state = badge_state_parse(json_string_value(res->data));
		cache_put(call->slug, state);
	}
	reply_badge(call->r, state);
	free(call);
}

static void rest_badge(http_req *r)
{
	/* "demo.svg" reads as "demo", the way badge URLs are often written. */
	char slug[80];
	const char *param = http_req_param(r, "org_slug");
	snprintf(slug, sizeof slug, "%s", param ? param : "");
	size_t n = strlen(slug);
	if (n > 4 && !strcmp(slug + n - 4, ".svg"))
		slug[n - 4] = '\0';
	if (!ingest_valid_slug(slug)) {
		reply_badge(r, BADGE_PRIVATE);
		return;
	}
	badge_state state;
	if (cache_get(slug, &state)) {
		reply_badge(r, state);
		return;
	}
	badge_call *call = xcalloc(1, sizeof *call);
	call->r = r;
	snprintf(call->slug, sizeof call->slug, "%s", slug);
	api_ctx ctx;
	api_ctx_from_request(&ctx, r);
	api_badge_status(&ctx, slug, badge_done, call);
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/api/v1/badge/{org_slug}", 0, rest_badge, AUTH_PUBLIC, AUTH_SCOPE_NONE,
	  "Status badge (SVG) of an organization's worst current service status; no credential needed" },
};
ROUTES_MODULE(api_badge_routes, "Badges", ROUTES);
