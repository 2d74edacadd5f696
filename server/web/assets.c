/* web/assets.c: GET /assets/{name}: the CSS and JS embedded at build time
 * (web/embed_assets.cmake). No CDN and no build step: the files under
 * web/assets/ are served as written. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "routes.h"
#include "web/web_modules.h"

typedef struct web_asset {
	const char *name;
	const unsigned char *data;
	size_t len;
} web_asset;

extern const web_asset web_assets[];
extern const size_t web_nassets;

enum { MAX_ASSETS = 32 };

/* Quoted strong ETags, computed once. */
static char etags[MAX_ASSETS][24];
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

static void compute_etags(void)
{
	for (size_t i = 0; i < web_nassets && i < MAX_ASSETS; i++) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		EVP_Digest(web_assets[i].data, web_assets[i].len, md, &mdlen, EVP_sha256(), NULL);
		snprintf(etags[i], sizeof etags[i], "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1], md[2], md[3],
		         md[4], md[5], md[6], md[7]);
	}
}

static const char *content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot && !strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	if (dot && !strcmp(dot, ".js"))
		return "text/javascript; charset=utf-8";
	if (dot && !strcmp(dot, ".svg"))
		return "image/svg+xml";
	return "application/octet-stream";
}

static void serve_asset(http_req *r)
{
	pthread_once(&etags_once, compute_etags);
	const char *name = http_req_param(r, "name");
	for (size_t i = 0; name && i < web_nassets && i < MAX_ASSETS; i++) {
		if (strcmp(web_assets[i].name, name) != 0)
			continue;
		http_set_header(r, "ETag", etags[i]);
		/* Short caching with revalidation: a new binary's assets show up
		 * within minutes without versioned URLs. */
		http_set_header(r, "Cache-Control", "public, max-age=300");
		const char *inm = http_req_header(r, "If-None-Match");
		if (inm && strstr(inm, etags[i])) {
			http_reply_empty(r, 304);
			return;
		}
		http_reply_body(r, 200, content_type(name), web_assets[i].data, web_assets[i].len);
		return;
	}
	http_reply_error(r, 404, "not_found", "No such asset.");
}

static const route_def ROUTES[] = {
	{ ROUTER_GET, "/assets/{name}", 0, serve_asset, AUTH_PUBLIC, 0, "Stylesheet and script of the web pages" },
};
ROUTES_MODULE(web_assets_routes, "Web", ROUTES);
