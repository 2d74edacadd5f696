/* oauth/oauth_modules.h: the OAuth modules routes.c mounts, in order. */
#ifndef CUPD_OAUTH_MODULES_H
#define CUPD_OAUTH_MODULES_H

#include "routes.h"

#define OAUTH_MODULES

#endif
