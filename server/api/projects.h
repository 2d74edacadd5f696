/* api/projects.h: projects — API layer (shared by REST and MCP). */
#ifndef CUPD_API_PROJECTS_H
#define CUPD_API_PROJECTS_H

#include "api.h"

/* Pages of {id, slug, name, created_at, service_count}, newest first. */
void api_projects_list(const api_ctx *ctx, const api_page *page, api_done_fn done, void *arg);
/* One project by id or slug, with the services it depends on. */
void api_projects_get(const api_ctx *ctx, const char *id_or_slug, api_done_fn done, void *arg);
/* Creates a project (scope write); 409 when the slug exists. */
void api_projects_create(const api_ctx *ctx, const char *slug, const char *name, api_done_fn done, void *arg);

#endif
