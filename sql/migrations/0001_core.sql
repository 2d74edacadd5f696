-- 0001_core: tenants, people, browser sessions and the audit trail.
--
-- Conventions for every migration (see server/migrate.h):
--   * all pending files run in ONE transaction; no BEGIN/COMMIT here, no
--     CREATE INDEX CONCURRENTLY;
--   * idempotent where PostgreSQL allows it (IF NOT EXISTS, OR REPLACE);
--   * ids are uuid (gen_random_uuid() is core since PostgreSQL 13), except
--     append-only high-volume tables, which use bigint identity;
--   * every timestamp is timestamptz;
--   * slugs share one format: lowercase letters, digits and '-', 2-63 chars,
--     not starting with '-'.

-- Keeps updated_at honest whatever code path writes the row.
CREATE OR REPLACE FUNCTION cupd_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END
$$;

CREATE TABLE IF NOT EXISTS orgs (
	id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	slug          text        NOT NULL
	              CONSTRAINT orgs_slug_key UNIQUE
	              CONSTRAINT orgs_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
	name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	-- false: GET /api/v1/badge/{slug} answers with a "Private" badge
	public_badges boolean     NOT NULL DEFAULT true,
	created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
	id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	-- Stored as typed; unique and looked up case-insensitively:
	-- WHERE lower(email) = lower($1) uses users_email_key.
	email         text        NOT NULL
	              CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
	name          text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
	-- argon2id PHC string (server/password.h); NULL: no password login
	password_hash text        CHECK (password_hash LIKE '$argon2id$%'),
	created_at    timestamptz NOT NULL DEFAULT now(),
	-- set: the user can no longer sign in; rows stay for the audit trail
	disabled_at   timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (lower(email));

CREATE TABLE IF NOT EXISTS org_members (
	org_id     uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role       text        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, user_id)
);
-- "which orgs is this user in" (login, org switcher)
CREATE INDEX IF NOT EXISTS org_members_user_idx ON org_members (user_id);

-- Browser sessions. Only SHA-256 digests of the cookie and CSRF tokens are
-- stored, so a leaked table does not let anyone sign in.
CREATE TABLE IF NOT EXISTS sessions (
	id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash      bytea       NOT NULL
	                CONSTRAINT sessions_token_hash_key UNIQUE
	                CHECK (octet_length(token_hash) = 32),
	csrf_token_hash bytea       NOT NULL CHECK (octet_length(csrf_token_hash) = 32),
	created_at      timestamptz NOT NULL DEFAULT now(),
	last_seen_at    timestamptz NOT NULL DEFAULT now(),
	expires_at      timestamptz NOT NULL,  -- absolute limit, never extended
	idle_expires_at timestamptz NOT NULL,  -- pushed forward on use, capped by expires_at
	ip              inet,
	user_agent      text,
	revoked_at      timestamptz,           -- logout or password change
	CHECK (idle_expires_at <= expires_at)
);
CREATE INDEX IF NOT EXISTS sessions_user_idx ON sessions (user_id);
-- the janitor deletes sessions past their absolute expiry
CREATE INDEX IF NOT EXISTS sessions_expires_idx ON sessions (expires_at);

-- Who did what, append-only. org_id is NULL for events outside any org
-- (e.g. a user created by the CLI); it survives the org (SET NULL) because
-- an audit trail should outlive what it describes.
CREATE TABLE IF NOT EXISTS audit_events (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id        uuid        REFERENCES orgs (id) ON DELETE SET NULL,
	actor_kind    text        NOT NULL
	              CHECK (actor_kind IN ('user', 'api_token', 'connection', 'system')),
	actor_id      text,       -- user/token/grant id, or e.g. 'cli' for system
	actor_user_id uuid        REFERENCES users (id) ON DELETE SET NULL,
	action        text        NOT NULL CHECK (length(action) BETWEEN 1 AND 100),  -- e.g. 'org.create'
	target_kind   text,
	target_id     text,
	ip            inet,
	user_agent    text,
	metadata      jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
	created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_events_org_created_idx
	ON audit_events (org_id, created_at DESC);
