/* api/alerts.h: alert rules — API layer (shared by REST and MCP).
 *
 * A rule fires on a service (or on every service of the org) when
 *   condition status_at_least:  its status reaches min_status or worse, or
 *   condition error_rate_above: its error rate exceeds error_rate (0..1),
 * and notifies channel at target: email → an address, webhook and slack →
 * an https:// URL. It answers as {id, name, service: {id, slug, name} |
 * null, condition, min_status, error_rate, channel, target, enabled,
 * created_by, created_at, updated_at}. Ids are uuids; a malformed id or
 * another org's rule is 404. Writes need the write scope and audit
 * (alert.create, alert.update, alert.delete). */
#ifndef CUPD_API_ALERTS_H
#define CUPD_API_ALERTS_H

#include <stdbool.h>

#include "api.h"

/* Optional filters of api_alerts_list; NULL = not filtered. */
typedef struct api_alerts_filter {
	const char *service;   /* service id or slug: rules on that service */
	const char *enabled;   /* "true" | "false" */
} api_alerts_filter;

/* Pages of rules, newest first. */
void api_alerts_list(const api_ctx *ctx, const api_page *page, const api_alerts_filter *f, api_done_fn done,
                     void *arg);

void api_alerts_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

typedef struct api_alert_new {
	const char *name;         /* required, 1-200 characters */
	const char *service;      /* service id or slug; NULL = every service */
	const char *condition;    /* required */
	const char *min_status;   /* required with status_at_least, else absent */
	bool has_error_rate;      /* required with error_rate_above, else absent */
	double error_rate;        /* 0 < error_rate < 1 */
	const char *channel;      /* required: email | webhook | slack */
	const char *target;       /* required; matches channel */
	bool has_enabled;         /* default true */
	bool enabled;
} api_alert_new;

/* Creates a rule (201); 400 naming the field that breaks the rules above. */
void api_alerts_create(const api_ctx *ctx, const api_alert_new *in, api_done_fn done, void *arg);

/* Fields to change; NULL / has_ false = keep. At least one must be set.
 * A new condition needs its threshold with it; a threshold alone must suit
 * the rule's condition. A new channel needs its target with it; a target
 * alone must suit the rule's channel. */
typedef struct api_alert_patch {
	const char *name;
	bool set_service;         /* change the service: to service, or every service when NULL */
	const char *service;
	const char *condition;
	const char *min_status;
	bool has_error_rate;
	double error_rate;
	const char *channel;
	const char *target;
	bool has_enabled;
	bool enabled;
} api_alert_patch;

void api_alerts_update(const api_ctx *ctx, const char *id, const api_alert_patch *p, api_done_fn done, void *arg);

/* Deletes a rule; answers {id, deleted: true}. */
void api_alerts_delete(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

/* Target checks (exposed for tests): a plausible email address; an https
 * URL with a host and no spaces. Both at most 2048 bytes. */
bool api_alerts_email_ok(const char *s);
bool api_alerts_https_ok(const char *s);

#endif
