/* api/account.h: who the caller is (shared by REST and the MCP whoami tool). */
#ifndef CUPD_API_ACCOUNT_H
#define CUPD_API_ACCOUNT_H

#include "api.h"

/* {org:{id,slug,name}, user:{id,email,name,role}, credential:{kind,id,name,scope}}
 * where kind is "api_token" or "connection" (an AI Connection's grant). */
void api_account_get(const api_ctx *ctx, api_done_fn done, void *arg);

/* The same document built from an API Token's cached principal, with no
 * database work (the cache is dropped on every role or token change).
 * NULL when p is not an API Token. Caller owns the result. */
json_t *api_account_from_principal(const auth_principal *p);

#endif
