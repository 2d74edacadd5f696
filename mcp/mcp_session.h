/* mcp_session.h: MCP sessions (REQUIREMENTS A25–A31).
 *
 * A session id is 32 random bytes in base64url (visible ASCII, 256 bits,
 * A25). Only its SHA-256 is stored, in mcp_sessions, so any instance can
 * continue a session and a restart never loses one (A29). Each session is
 * bound to the principal that created it (A26): presented with another
 * principal's credential it is unknown (404). Lookups are cached per
 * process; a DELETE on any instance NOTIFYs the others to drop theirs. */
#ifndef CUPD_MCP_SESSION_H
#define CUPD_MCP_SESSION_H

#include <stdbool.h>

#include "auth.h"
#include "db.h"

enum { MCP_SESSION_ID_LEN = 43 };

typedef struct mcp_session {
	char version[11];          /* negotiated protocol version */
} mcp_session;

/* "oauth:<user>:<client>" or "api_token:<id>" for p, into out. */
void mcp_session_principal(const auth_principal *p, char *out, size_t cap);

typedef void (*mcp_session_fn)(const mcp_session *s, db_status st, void *arg);

/* Creates a session for principal and writes its id into
 * id_out[MCP_SESSION_ID_LEN + 1] before returning; done runs once the row is
 * committed (s == NULL with st != DB_OK on failure). Contract as db_query:
 * on a non-DB_OK return done never runs. */
db_status mcp_session_create(db_pool *db, const auth_principal *p, const char *version, const char *client_info_json,
                             char id_out[MCP_SESSION_ID_LEN + 1], mcp_session_fn done, void *arg);

/* Finds a live session with this id bound to p. done gets NULL (st DB_OK)
 * when it is unknown, ended, expired or another principal's. May run before
 * this returns (cache hit). Never fails synchronously. */
void mcp_session_find(db_pool *db, const char *id, const auth_principal *p, mcp_session_fn done, void *arg);

/* Ends the session (if it exists and is p's): done gets a non-NULL s when
 * it was ended, NULL when unknown. */
void mcp_session_end(db_pool *db, const char *id, const auth_principal *p, mcp_session_fn done, void *arg);

/* NOTIFY hook (listener thread): "mcp_session:<hash>" drops a cached entry. */
void mcp_session_on_notify(const char *channel, const char *payload);

void mcp_session_cache_clear(void);

#endif
