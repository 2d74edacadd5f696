-- 0011_mcp: MCP Streamable HTTP sessions (REQUIREMENTS A25–A31).
--
-- Sessions live in PostgreSQL so a restart, a deploy or a request landing on
-- another instance never answers 404 to a live session (A29, E11): several
-- clients never re-initialize after one. A session is bound to the
-- principal that created it (A26): the same user through the same OAuth
-- client, or the same API Token; presented by anyone else it is unknown.
-- Only the SHA-256 of the session id is stored.

CREATE TABLE IF NOT EXISTS mcp_sessions (
	id_hash          bytea       PRIMARY KEY CHECK (octet_length(id_hash) = 32),
	-- "oauth:<user id>:<client_id>" or "api_token:<token id>"
	principal        text        NOT NULL CHECK (length(principal) <= 2200),
	org_id           uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	grant_id         uuid        REFERENCES oauth_grants (id) ON DELETE CASCADE,
	protocol_version text        NOT NULL CHECK (protocol_version ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	client_info      jsonb       NOT NULL DEFAULT '{}',
	created_at       timestamptz NOT NULL DEFAULT now(),
	last_seen_at     timestamptz NOT NULL DEFAULT now(),
	idle_expires_at  timestamptz NOT NULL,
	deleted_at       timestamptz
);
CREATE INDEX IF NOT EXISTS mcp_sessions_expiry_idx ON mcp_sessions (idle_expires_at);

CREATE OR REPLACE FUNCTION cupd_notify_mcp_session() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('cupd_events', 'mcp_session:' || encode(NEW.id_hash, 'hex'));
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS mcp_sessions_notify ON mcp_sessions;
CREATE TRIGGER mcp_sessions_notify AFTER UPDATE ON mcp_sessions FOR EACH ROW
	WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
	EXECUTE FUNCTION cupd_notify_mcp_session();
