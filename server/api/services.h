/* api/services.h: upstream services (dependencies), their status and the
 * dependency graph — API layer (shared by REST and MCP). All read-only. */
#ifndef CUPD_API_SERVICES_H
#define CUPD_API_SERVICES_H

#include "api.h"

/* Optional filters of api_services_list; NULL = not filtered. */
typedef struct api_services_filter {
	const char *status;   /* operational | degraded | partial_outage | major_outage */
	const char *project;  /* project id or slug: services that project depends on */
	const char *q;        /* text search (websearch syntax) over name, slug, provider, category */
} api_services_filter;

enum { API_TIMELINE_DEFAULT = 50, API_TIMELINE_MAX = 500 };

/* Pages of {id, slug, name, provider, category, homepage_url, created_at,
 * status, error_rate, sample_count, status_updated_at}, newest first.
 * 400 (field) for a malformed filter. f may be NULL. */
void api_services_list(const api_ctx *ctx, const api_page *page, const api_services_filter *f, api_done_fn done,
                       void *arg);

/* One service by id or slug with its current status, error rate, the
 * projects that depend on it, its open incident count and the newest
 * timeline_limit entries of its status history as "timeline" (newest
 * first; 0 = API_TIMELINE_DEFAULT, at most API_TIMELINE_MAX). 404 for a
 * malformed reference or another org's service. */
void api_services_get(const api_ctx *ctx, const char *id_or_slug, int timeline_limit, api_done_fn done, void *arg);

/* {projects: [{id, slug, name, services: [service ids]}],
 *  services: [{id, slug, name, status}]} of the whole org. */
void api_services_graph(const api_ctx *ctx, api_done_fn done, void *arg);

#endif
