/* web/web_modules.h: the web page modules routes.c mounts, in order. */
#ifndef CUPD_WEB_MODULES_H
#define CUPD_WEB_MODULES_H

#include "routes.h"

extern const routes_module web_assets_routes;
extern const routes_module web_login_routes;

#define WEB_MODULES \
	&web_assets_routes, \
	&web_login_routes,

#endif
