/* web/web_modules.h: the web page modules routes.c mounts, in order. */
#ifndef CUPD_WEB_MODULES_H
#define CUPD_WEB_MODULES_H

#include "routes.h"

extern const routes_module web_assets_routes;
extern const routes_module web_login_routes;
extern const routes_module web_settings_routes;
extern const routes_module web_settings_keys_routes;
extern const routes_module web_settings_tokens_routes;
extern const routes_module web_settings_connections_routes;
extern const routes_module web_settings_org_routes;
extern const routes_module web_settings_audit_routes;

#define WEB_MODULES \
	&web_assets_routes, \
	&web_login_routes, \
	&web_settings_routes, \
	&web_settings_keys_routes, \
	&web_settings_tokens_routes, \
	&web_settings_connections_routes, \
	&web_settings_org_routes, \
	&web_settings_audit_routes,

#endif
