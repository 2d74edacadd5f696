/* api/account.h: who the caller is (shared by REST and the MCP whoami tool). */
#ifndef CUPD_API_ACCOUNT_H
#define CUPD_API_ACCOUNT_H

#include "api.h"

/* {org:{id,slug,name}, user:{id,email,name,role}, credential:{kind,id,name,scope}}
 * where kind is "api_token" or "connection" (an AI Connection's grant). */
void api_account_get(const api_ctx *ctx, api_done_fn done, void *arg);

#endif
