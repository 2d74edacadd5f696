/* api/leaks.h: reports of credentials found in public (issue 3).
 *
 * Anyone may report strings they found (a secret scanner, a researcher, a
 * user who pasted a token into a public issue). Each string is classified
 * by creds_classify first: garbage and bad checksums cost no database work.
 * Every live API Token among them is revoked at once (revoked_reason and
 * leaked_at set, audited as api_token.leaked in its own org); SDK Keys are
 * publishable, so they are only flagged (leak_reported_at, audited once as
 * sdk_key.leak_reported). All of it is one statement. The answer never says
 * which strings were real. */
#ifndef CUPD_API_LEAKS_H
#define CUPD_API_LEAKS_H

#include <stddef.h>

#include "api.h"

enum { API_LEAK_MAX_TOKENS = 100, API_LEAK_SOURCE_MAX = 2048 };

/* Handles tokens[0..n) (n ≤ API_LEAK_MAX_TOKENS, lengths in lens) found at
 * source (a URL or free text, may be NULL). Completes with API_OK and
 * {"received": n} whatever the strings were, or API_UNAVAILABLE when the
 * database could not be asked. ctx needs only ip, user_agent, db (no org:
 * each credential's own org gets the audit row). */
void api_leaks_report(const api_ctx *ctx, const char *const *tokens, const size_t *lens, size_t n,
                      const char *source, api_done_fn done, void *arg);

#endif
