/* oauth/oauth_modules.h: the OAuth modules routes.c mounts, in order. */
#ifndef CUPD_OAUTH_MODULES_H
#define CUPD_OAUTH_MODULES_H

#include "routes.h"

extern const routes_module oauth_authorize_routes;
extern const routes_module oauth_metadata_routes;
extern const routes_module oauth_register_routes;
extern const routes_module oauth_token_routes;
extern const routes_module oauth_revoke_routes;
extern const routes_module oauth_introspect_routes;
extern const routes_module oauth_connections_routes;

#define OAUTH_MODULES \
	&oauth_authorize_routes, \
	&oauth_metadata_routes, \
	&oauth_register_routes, \
	&oauth_token_routes, \
	&oauth_revoke_routes, \
	&oauth_introspect_routes, \
	&oauth_connections_routes,

#endif
