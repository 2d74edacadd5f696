-- 0005_credentials: API Tokens (cup_api_…) and SDK Keys (cup_sdk_…).
--
-- Only SHA-256 digests of the credentials are stored (DESIGN.md §2); the
-- display_prefix ("cup_api_AbCd") is the non-secret part shown in lists.
-- Every change that can end or narrow a credential NOTIFYs channel
-- cupd_events from a trigger, so each instance drops its cached copy before
-- its next request whatever wrote the row (API, CLI, leak report, psql).
-- Usage columns (last_used_*, grace_*) are written in batches and notify
-- nothing.

CREATE TABLE IF NOT EXISTS api_tokens (
	id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id             uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	-- the user it acts as; its power is capped by that user's role at use
	user_id            uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name               text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	scope              text        NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
	token_hash         bytea       NOT NULL CONSTRAINT api_tokens_hash_key UNIQUE
	                   CHECK (octet_length(token_hash) = 32),
	display_prefix     text        NOT NULL CHECK (display_prefix LIKE 'cup\_api\_%'),
	created_at         timestamptz NOT NULL DEFAULT now(),
	expires_at         timestamptz,            -- NULL: never (explicitly confirmed)
	disabled_at        timestamptz,            -- reversible
	revoked_at         timestamptz,            -- permanent
	revoked_reason     text        CHECK (revoked_reason IN ('revoked', 'leaked', 'rotated', 'user_removed')),
	-- rotation: the old token names its successor and stays valid until grace_until
	replaced_by        uuid        REFERENCES api_tokens (id) ON DELETE SET NULL,
	grace_until        timestamptz,
	leaked_at          timestamptz,
	last_used_at       timestamptz,
	last_used_ip       inet,
	-- uses of a rotated-out token during its grace window, so its owner can
	-- see whether anything still calls with it
	grace_use_count    bigint      NOT NULL DEFAULT 0,
	grace_last_used_at timestamptz,
	grace_last_ip      inet,
	CONSTRAINT api_tokens_org_id_key UNIQUE (org_id, id)
);
CREATE INDEX IF NOT EXISTS api_tokens_org_created_idx ON api_tokens (org_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE IF NOT EXISTS sdk_keys (
	id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id          uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	project_id      uuid        NOT NULL,
	name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	key_hash        bytea       NOT NULL CONSTRAINT sdk_keys_hash_key UNIQUE
	                CHECK (octet_length(key_hash) = 32),
	display_prefix  text        NOT NULL CHECK (display_prefix LIKE 'cup\_sdk\_%'),
	-- exact scheme://host[:port] browser origins; empty: any origin
	allowed_origins text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(allowed_origins) <= 50),
	created_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
	created_at      timestamptz NOT NULL DEFAULT now(),
	revoked_at      timestamptz,
	revoked_reason  text        CHECK (revoked_reason IN ('revoked', 'rotated')),
	replaced_by     uuid        REFERENCES sdk_keys (id) ON DELETE SET NULL,
	-- publishable keys are only flagged when reported as leaked, never revoked
	leak_reported_at timestamptz,
	last_used_at    timestamptz,
	CONSTRAINT sdk_keys_org_id_key UNIQUE (org_id, id),
	FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS sdk_keys_org_created_idx ON sdk_keys (org_id, created_at DESC, id DESC);

CREATE OR REPLACE FUNCTION cupd_notify_credential() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	kind text := CASE TG_TABLE_NAME WHEN 'api_tokens' THEN 'api_token' ELSE 'sdk_key' END;
	row_id uuid := CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END;
BEGIN
	PERFORM pg_notify('cupd_events', kind || ':' || row_id);
	RETURN NULL;
END
$$;

-- Usage-only updates (last_used_*, grace_*) must not notify: WHEN lists
-- the columns that change what a token may do.
DROP TRIGGER IF EXISTS api_tokens_notify ON api_tokens;
CREATE TRIGGER api_tokens_notify AFTER UPDATE ON api_tokens FOR EACH ROW
	WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
	      OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at
	      OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
	      OR OLD.grace_until IS DISTINCT FROM NEW.grace_until
	      OR OLD.scope IS DISTINCT FROM NEW.scope
	      OR OLD.user_id IS DISTINCT FROM NEW.user_id)
	EXECUTE FUNCTION cupd_notify_credential();
DROP TRIGGER IF EXISTS api_tokens_notify_delete ON api_tokens;
CREATE TRIGGER api_tokens_notify_delete AFTER DELETE ON api_tokens FOR EACH ROW
	EXECUTE FUNCTION cupd_notify_credential();

DROP TRIGGER IF EXISTS sdk_keys_notify ON sdk_keys;
CREATE TRIGGER sdk_keys_notify AFTER UPDATE ON sdk_keys FOR EACH ROW
	WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
	      OR OLD.allowed_origins IS DISTINCT FROM NEW.allowed_origins
	      OR OLD.project_id IS DISTINCT FROM NEW.project_id)
	EXECUTE FUNCTION cupd_notify_credential();
DROP TRIGGER IF EXISTS sdk_keys_notify_delete ON sdk_keys;
CREATE TRIGGER sdk_keys_notify_delete AFTER DELETE ON sdk_keys FOR EACH ROW
	EXECUTE FUNCTION cupd_notify_credential();

-- A role change or removal narrows or ends every token of that user in that
-- org; disabling a user ends all of them.
CREATE OR REPLACE FUNCTION cupd_notify_member() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'users' THEN
		PERFORM pg_notify('cupd_events', 'user:' || NEW.id);
	ELSE
		PERFORM pg_notify('cupd_events', 'user:' || OLD.user_id);
	END IF;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS org_members_notify ON org_members;
CREATE TRIGGER org_members_notify AFTER UPDATE OR DELETE ON org_members FOR EACH ROW
	EXECUTE FUNCTION cupd_notify_member();
DROP TRIGGER IF EXISTS users_notify ON users;
CREATE TRIGGER users_notify AFTER UPDATE ON users FOR EACH ROW
	WHEN (OLD.disabled_at IS DISTINCT FROM NEW.disabled_at)
	EXECUTE FUNCTION cupd_notify_member();
