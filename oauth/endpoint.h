/* endpoint.h: what the OAuth endpoints (metadata, register, token, revoke,
 * introspect) share: CORS, RFC 6749 error replies, form bodies and client
 * authentication.
 *
 * Everything here runs on the request's loop. Reply helpers end the
 * request (http.h); after one returns, the caller must not touch r. */
#ifndef CUPD_OAUTH_ENDPOINT_H
#define CUPD_OAUTH_ENDPOINT_H

#include <jansson.h>
#include <stdbool.h>

#include "clients.h"
#include "form.h"
#include "http.h"

/* Access-Control-Allow-Origin: * (never with credentials) and the headers a
 * browser client may read (C38, C39). Call before the reply. */
void oauth_cors(http_req *r);

/* Answers a CORS preflight: 204 with Allow-Methods `methods` and
 * Allow-Headers `headers`, cacheable for a day. */
void oauth_reply_preflight(http_req *r, const char *methods, const char *headers);

#define OAUTH_PREFLIGHT_GET "GET, OPTIONS", "MCP-Protocol-Version, Accept, Content-Type, Authorization"
#define OAUTH_PREFLIGHT_POST "POST, OPTIONS", "Authorization, Content-Type, Accept, MCP-Protocol-Version"

/* RFC 6749 section 5.2 error: {error, error_description} with Cache-Control:
 * no-store and Pragma: no-cache. status 401 with basic_challenge adds
 * WWW-Authenticate: Basic (C14). */
void oauth_reply_error(http_req *r, int status, const char *error, const char *description);
void oauth_reply_invalid_client(http_req *r, bool basic_challenge, const char *description);

/* A JSON success reply with Cache-Control: no-store and Pragma: no-cache
 * (C13); steals body. */
void oauth_reply_json(http_req *r, int status, json_t *body);

/* 503 temporarily_unavailable (with Retry-After) unless signing keys are
 * loaded (CUPD_KEY_ENCRYPTION_KEY is set). True when ready. */
bool oauth_ready_or_reply(http_req *r);

/* Maps a database failure to 503 temporarily_unavailable or 500 server_error. */
void oauth_reply_db_failure(http_req *r, db_status st);

/* Parses the body as application/x-www-form-urlencoded (C12). On a wrong
 * Content-Type or a malformed body answers 400 invalid_request and returns
 * false (f is then empty). */
bool oauth_form_body_or_reply(http_req *r, oauth_form *f);

/* Splits an "Authorization: Basic ..." value into client id and secret:
 * base64, split at the first ':', then form-urlencoded decoding of both
 * parts (RFC 6749 section 2.3.1, C18). Pure; *id and *secret are malloc'd.
 * False (nothing allocated) when the header is not Basic or is malformed. */
bool oauth_basic_parse(const char *header, char **id, char **secret);

/* The authenticated caller of a token/revoke/introspect request. client is
 * owned by the callee (free with oauth_client_free). */
typedef void (*oauth_caller_fn)(http_req *r, oauth_client *client, void *arg);

/* Client authentication (C17, C18): client_secret_basic (Authorization
 * header), client_secret_post (client_id + client_secret in the body) or
 * none (client_id alone, public clients). A confidential client may use
 * either secret method whatever it registered; two methods in one request
 * are invalid_request; an unknown client or wrong secret is 401
 * invalid_client (+ WWW-Authenticate: Basic when Basic was used). With
 * confidential_only, public clients are refused too (introspection). On
 * success done runs (maybe before this returns); otherwise this answers and
 * done never runs. f must live until done runs. */
void oauth_client_authenticate(http_req *r, const oauth_form *f, bool confidential_only, oauth_caller_fn done,
                               void *arg);

/* Space-separated scope text → the known scopes (read, write, admin) in
 * canonical order, deduplicated, into out. *unknown is set when a word was
 * not a known scope. Returns false if out is too small. */
bool oauth_scope_normalize(const char *in, char *out, size_t cap, bool *unknown);

#endif
