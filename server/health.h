/* health.h: liveness, readiness, metrics and test-only debug routes. */
#ifndef CUPD_HEALTH_H
#define CUPD_HEALTH_H

#include "http.h"

void health_healthz(http_req *r);   /* GET /healthz: 200 while the process runs */
void health_readyz(http_req *r);    /* GET /readyz: 200 only while the database answers */
void health_metrics(http_req *r);   /* GET /metrics: Prometheus text */
void health_debug_sleep(http_req *r); /* GET /debug/sleep?seconds=N (CUPD_DEBUG_ROUTES only) */

#endif
