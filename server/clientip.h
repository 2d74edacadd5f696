/* clientip.h: the one place that decides a request's client IP.
 *
 * The socket peer, unless the peer is a trusted proxy (CUPD_TRUSTED_PROXIES,
 * a comma-separated CIDR list): then X-Forwarded-For is read right to left,
 * skipping trusted hops, and the first untrusted address is the client. Rate
 * limits, audit rows and last-used IPs all use the result. */
#ifndef CUPD_CLIENTIP_H
#define CUPD_CLIENTIP_H

#include <stdbool.h>
#include <stdio.h>

#include "http.h"

/* Parses the CIDR list (empty = trust nobody). False + message on err. */
bool clientip_init(const char *cidrs, FILE *err);
void clientip_shutdown(void);

/* Replaces r's client IP as described above. Call once per request. */
void clientip_resolve(http_req *r);

/* Exposed for tests: is ip inside any trusted CIDR? */
bool clientip_trusted(const char *ip);

#endif
