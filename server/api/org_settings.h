/* api/org_settings.h: the caller's org's own settings — API layer (shared
 * by the settings pages and any REST or MCP adapter).
 *
 * The org answers as {id, slug, name, public_badges, created_at}.
 * public_badges false makes GET /api/v1/badge/{slug} answer the neutral
 * "private" badge (api/badge.h); that endpoint caches an answer for a few
 * seconds per instance, so a change reaches it within BADGE_CACHE_TTL_S
 * (5 s), and browsers and image proxies may keep a badge for its max-age
 * (60 s).
 *
 * Completion follows api.h: done runs exactly once, possibly before the
 * function returns. */
#ifndef CUPD_API_ORG_SETTINGS_H
#define CUPD_API_ORG_SETTINGS_H

#include <stdbool.h>

#include "api.h"

/* The org of ctx (read scope). */
void api_org_settings_get(const api_ctx *ctx, api_done_fn done, void *arg);

/* Turns public badges on or off (admin scope: API_FORBIDDEN otherwise).
 * When ctx acts for a user, that user's role is checked in SQL as it is
 * now: only owners and admins change it (403). Audited as "org.update"
 * with {"public_badges": on} when the value changes; setting the current
 * value changes and audits nothing. Answers the org. */
void api_org_settings_set_public_badges(const api_ctx *ctx, bool on, api_done_fn done, void *arg);

#endif
