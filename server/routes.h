/* routes.h: the one table of every HTTP route cupd serves. */
#ifndef CUPD_ROUTES_H
#define CUPD_ROUTES_H

#include "config.h"
#include "router.h"

/* Builds the router for configuration c. NULL if the table is malformed. */
router *routes_build(const cfg *c);

#endif
