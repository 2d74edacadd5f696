/* clients.h: OAuth clients: lookup, authentication and redirect URIs.
 *
 * A client_id is either one we issued at registration (DCR, RFC 7591) or an
 * https URL naming a Client ID Metadata Document (CIMD), fetched, validated
 * and cached. Both resolve to the same oauth_client, validated the same way
 * on the authorize and the token leg (REQUIREMENTS B29). */
#ifndef CUPD_OAUTH_CLIENTS_H
#define CUPD_OAUTH_CLIENTS_H

#include <stdbool.h>

#include "db.h"

struct event_base;

enum { OAUTH_MAX_REDIRECTS = 10 };

typedef enum { OAUTH_AUTH_NONE, OAUTH_AUTH_SECRET_POST, OAUTH_AUTH_SECRET_BASIC } oauth_auth_method;

typedef struct oauth_client {
	char pk[37];                        /* oauth_clients.id */
	char *client_id;                    /* owned */
	char *name;                         /* owned; client_name ("" if none) — self-declared, unverified */
	char *client_uri;                   /* owned or NULL */
	char *logo_uri;                     /* owned or NULL */
	char *redirect_uris[OAUTH_MAX_REDIRECTS];  /* owned */
	int nredirect;
	oauth_auth_method method;           /* registered token_endpoint_auth_method */
	unsigned char secret_hash[32];      /* SHA-256 of the secret, when method != NONE */
	bool cimd;                          /* identified by a metadata document on its own domain */
	bool allows_refresh;                /* grant_types includes refresh_token */
} oauth_client;

void oauth_client_free(oauth_client *c);

/* done gets the client (ownership passes to done) or NULL when unknown, or
 * st != DB_OK when it could not be decided (database down, CIMD fetch
 * failed: then *why says why). Runs on base's loop, exactly once, maybe
 * before this returns. */
typedef void (*oauth_client_fn)(oauth_client *c, db_status st, const char *why, void *arg);
void oauth_client_lookup(db_pool *db, struct event_base *base, const char *client_id, oauth_client_fn done,
                         void *arg);

/* Registration policy for one redirect URI (REQUIREMENTS C5, B30): https;
 * http only on loopback hosts (127.0.0.1, [::1], localhost); private-use
 * schemes of native apps (e.g. cursor://...) with a dot-free or reverse-DNS
 * scheme name; never javascript:, data:, file:, vbscript:, and never a
 * fragment. */
bool oauth_redirect_uri_acceptable(const char *uri, const char **why);

/* Exact string match against a registered URI, except that for http
 * loopback URIs the port is ignored while scheme, host, path and query must
 * still match exactly; one loopback host never matches another (C3, RFC 8252
 * §7.3). */
bool oauth_redirect_uri_matches(const char *registered, const char *requested);

/* requested matches one of c's redirect URIs. */
bool oauth_client_redirect_ok(const oauth_client *c, const char *requested);

#endif
