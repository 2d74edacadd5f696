/* api/modules.h: the REST modules routes.c mounts, in order. */
#ifndef CUPD_API_MODULES_H
#define CUPD_API_MODULES_H

#include "routes.h"

extern const routes_module api_whoami_routes;
extern const routes_module api_projects_routes;
extern const routes_module api_services_routes;
extern const routes_module api_incidents_routes;
extern const routes_module api_incident_notes_routes;
extern const routes_module api_runbooks_routes;
extern const routes_module api_alerts_routes;
extern const routes_module api_members_routes;
extern const routes_module api_audit_events_routes;
extern const routes_module api_search_routes;
extern const routes_module api_api_tokens_routes;
extern const routes_module api_sdk_keys_routes;
extern const routes_module api_leaks_routes;
extern const routes_module api_ingest_routes;
extern const routes_module api_badge_routes;
extern const routes_module api_openapi_routes;

#define API_MODULES \
	&api_whoami_routes, \
	&api_projects_routes, \
	&api_services_routes, \
	&api_incidents_routes, \
	&api_incident_notes_routes, \
	&api_runbooks_routes, \
	&api_alerts_routes, \
	&api_members_routes, \
	&api_audit_events_routes, \
	&api_search_routes, \
	&api_api_tokens_routes, \
	&api_sdk_keys_routes, \
	&api_leaks_routes, \
	&api_ingest_routes, \
	&api_badge_routes, \
	&api_openapi_routes,

#endif
