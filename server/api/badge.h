/* api/badge.h: GET /api/v1/badge/{org_slug} — a shields-style SVG of an
 * org's worst current service status, for READMEs and status pages.
 *
 * Public: no credential is needed, and any (e.g. a `key` query parameter or
 * an Authorization header) is ignored. It never names a service. An org
 * that turned public badges off and an org that does not exist both get
 * the same neutral "private" badge with the same status and headers, so the
 * badge does not reveal which org slugs exist. */
#ifndef CUPD_API_BADGE_H
#define CUPD_API_BADGE_H

#include <stddef.h>

#include "api.h"

typedef enum {
	BADGE_OPERATIONAL = 0,
	BADGE_DEGRADED,
	BADGE_PARTIAL_OUTAGE,
	BADGE_MAJOR_OUTAGE,
	BADGE_PRIVATE,         /* badges off, or no such org */
	BADGE_UNAVAILABLE,     /* the database did not answer */
} badge_state;

/* The org's badge state: res->data is a JSON string, one of "operational",
 * "degraded", "partial_outage", "major_outage" (the worst status among its
 * services; operational when it has none) or "private" (badges off or no
 * such org: deliberately the same answer). */
void api_badge_status(const api_ctx *ctx, const char *org_slug, api_done_fn done, void *arg);

/* Renders the badge for state into out (cap bytes, NUL-terminated);
 * returns its length, or 0 if cap is too small. Pure; exposed for tests. */
size_t badge_svg(badge_state state, char *out, size_t cap);

/* "operational" → BADGE_OPERATIONAL, ...; anything else → BADGE_PRIVATE. */
badge_state badge_state_parse(const char *status);

#endif
