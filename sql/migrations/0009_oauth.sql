-- 0009_oauth: the OAuth 2.1 authorization server and the AI Connections registry.
--
-- A grant IS an AI Connection: one user's approval of one client (one
-- device/approval), with its scopes and resource. Codes and refresh tokens
-- hang off the grant; revoking the grant kills both and NOTIFYs, so access
-- tokens (JWTs, never stored) die on every instance before their next use.
-- Secrets (client secrets, codes, refresh tokens) are stored as SHA-256.

CREATE TABLE IF NOT EXISTS oauth_clients (
	id                         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	-- DCR: "cupc_" + random; CIMD: the https URL of its metadata document
	client_id                  text        NOT NULL CONSTRAINT oauth_clients_client_id_key UNIQUE
	                           CHECK (length(client_id) BETWEEN 8 AND 2048),
	registered_via             text        NOT NULL CHECK (registered_via IN ('dcr', 'cimd', 'pinned')),
	client_secret_hash         bytea       CHECK (octet_length(client_secret_hash) = 32),
	token_endpoint_auth_method text        NOT NULL
	                           CHECK (token_endpoint_auth_method IN ('none', 'client_secret_post', 'client_secret_basic')),
	client_name                text        NOT NULL DEFAULT '' CHECK (length(client_name) <= 200),
	client_uri                 text        CHECK (length(client_uri) <= 2048),
	logo_uri                   text        CHECK (length(logo_uri) <= 2048),
	redirect_uris              text[]      NOT NULL CHECK (cardinality(redirect_uris) BETWEEN 1 AND 10),
	grant_types                text[]      NOT NULL DEFAULT '{authorization_code,refresh_token}',
	scope                      text,
	software_id                text        CHECK (length(software_id) <= 200),
	software_version           text        CHECK (length(software_version) <= 100),
	-- the registration as echoed to the client (RFC 7591 §3.2.1)
	metadata                   jsonb       NOT NULL DEFAULT '{}',
	registration_ip            inet,
	created_at                 timestamptz NOT NULL DEFAULT now(),
	-- CIMD documents are re-fetched after this; NULL for DCR
	fetched_at                 timestamptz,
	cache_until                timestamptz,
	CHECK ((token_endpoint_auth_method = 'none') = (client_secret_hash IS NULL))
);
-- unused DCR registrations are garbage-collected by age
CREATE INDEX IF NOT EXISTS oauth_clients_created_idx ON oauth_clients (created_at);

CREATE TABLE IF NOT EXISTS oauth_grants (
	id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id         uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_pk      uuid        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	scope          text        NOT NULL,           -- space-separated, e.g. "read write"
	resource       text        NOT NULL,           -- the MCP resource URL (token audience)
	created_at     timestamptz NOT NULL DEFAULT now(),
	expires_at     timestamptz NOT NULL,           -- absolute lifetime of the connection
	last_used_at   timestamptz,
	last_ip        inet,
	user_agent     text        CHECK (length(user_agent) <= 512),
	revoked_at     timestamptz,
	revoked_by     uuid        REFERENCES users (id) ON DELETE SET NULL,
	revoked_reason text        CHECK (revoked_reason IN ('user', 'admin', 'refresh_reuse', 'code_replay',
	                                                     'token_revocation', 'user_removed'))
);
CREATE INDEX IF NOT EXISTS oauth_grants_user_idx ON oauth_grants (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS oauth_grants_org_idx ON oauth_grants (org_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS oauth_grants_revoked_idx ON oauth_grants (revoked_at) WHERE revoked_at IS NOT NULL;

-- Tool calls per connection per day, written in batches.
CREATE TABLE IF NOT EXISTS oauth_grant_usage (
	grant_id   uuid   NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
	day        date   NOT NULL,
	tool_calls bigint NOT NULL DEFAULT 0,
	requests   bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (grant_id, day)
);

CREATE TABLE IF NOT EXISTS oauth_codes (
	code_hash      bytea       PRIMARY KEY CHECK (octet_length(code_hash) = 32),
	grant_id       uuid        NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
	redirect_uri   text        NOT NULL,
	-- RFC 6749 §4.1.3: redirect_uri must be repeated at the token endpoint
	-- only when the authorization request carried one
	redirect_sent  boolean     NOT NULL,
	code_challenge text        NOT NULL CHECK (code_challenge ~ '^[A-Za-z0-9_-]{43}$'),
	scope          text        NOT NULL,
	resource       text        NOT NULL,
	created_at     timestamptz NOT NULL DEFAULT now(),
	expires_at     timestamptz NOT NULL,
	used_at        timestamptz
);
CREATE INDEX IF NOT EXISTS oauth_codes_expires_idx ON oauth_codes (expires_at);

-- Refresh tokens of a grant form one rotation chain (family = grant).
CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (
	id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	token_hash   bytea       NOT NULL CONSTRAINT oauth_refresh_tokens_hash_key UNIQUE
	             CHECK (octet_length(token_hash) = 32),
	grant_id     uuid        NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
	parent_id    uuid        REFERENCES oauth_refresh_tokens (id) ON DELETE SET NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	idle_expires_at timestamptz NOT NULL,
	spent_at     timestamptz,     -- rotated: its successor was issued
	successor_id uuid        REFERENCES oauth_refresh_tokens (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS oauth_refresh_tokens_grant_idx ON oauth_refresh_tokens (grant_id);

-- ES256 signing keys shared by every instance. The private key is
-- AES-256-GCM encrypted with CUPD_KEY_ENCRYPTION_KEY (nonce || ciphertext || tag).
CREATE TABLE IF NOT EXISTS signing_keys (
	kid          text        PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{8,64}$'),
	alg          text        NOT NULL DEFAULT 'ES256' CHECK (alg = 'ES256'),
	public_pem   text        NOT NULL,
	private_enc  bytea       NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	-- newest key not yet retired signs; retired keys still verify until
	-- every token they signed has expired, then leave the JWKS
	retired_at   timestamptz,
	removed_at   timestamptz
);

CREATE OR REPLACE FUNCTION cupd_notify_grant() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('cupd_events', 'grant:' || NEW.id);
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS oauth_grants_notify ON oauth_grants;
CREATE TRIGGER oauth_grants_notify AFTER UPDATE ON oauth_grants FOR EACH ROW
	WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
	EXECUTE FUNCTION cupd_notify_grant();

CREATE OR REPLACE FUNCTION cupd_notify_signing_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('cupd_events', 'signing_keys:changed');
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS signing_keys_notify ON signing_keys;
CREATE TRIGGER signing_keys_notify AFTER INSERT OR UPDATE ON signing_keys FOR EACH STATEMENT
	EXECUTE FUNCTION cupd_notify_signing_key();

-- Removing a member or disabling a user ends their AI Connections too.
CREATE OR REPLACE FUNCTION cupd_revoke_member_grants() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE oauth_grants SET revoked_at = now(), revoked_reason = 'user_removed'
	 WHERE org_id = OLD.org_id AND user_id = OLD.user_id AND revoked_at IS NULL;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS org_members_revoke_grants ON org_members;
CREATE TRIGGER org_members_revoke_grants AFTER DELETE ON org_members FOR EACH ROW
	EXECUTE FUNCTION cupd_revoke_member_grants();

-- Redeems an authorization code atomically (RFC 6749 §4.1.2: single use).
-- A replayed code revokes the grant it created and everything issued from
-- it (OAuth 2.1 §4.1.2). Raises CU400 invalid_grant for unknown/expired.
CREATE OR REPLACE FUNCTION cupd_redeem_code(p_hash bytea)
RETURNS TABLE (grant_id uuid, redirect_uri text, redirect_sent boolean, code_challenge text,
               scope text, resource text, client_pk uuid, user_id uuid, org_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
	c oauth_codes%ROWTYPE;
BEGIN
	SELECT * INTO c FROM oauth_codes WHERE code_hash = p_hash FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invalid_grant: unknown authorization code' USING ERRCODE = 'CU400';
	END IF;
	IF c.used_at IS NOT NULL THEN
		UPDATE oauth_grants g SET revoked_at = now(), revoked_reason = 'code_replay'
		 WHERE g.id = c.grant_id AND g.revoked_at IS NULL;
		RETURN; -- zero rows: the caller answers invalid_grant; the revocation commits
	END IF;
	IF c.expires_at <= now() THEN
		RAISE EXCEPTION 'invalid_grant: the authorization code has expired' USING ERRCODE = 'CU400';
	END IF;
	UPDATE oauth_codes SET used_at = now() WHERE code_hash = p_hash;
	RETURN QUERY SELECT c.grant_id, c.redirect_uri, c.redirect_sent, c.code_challenge, c.scope, c.resource,
	                    g.client_pk, g.user_id, g.org_id
	               FROM oauth_grants g WHERE g.id = c.grant_id AND g.revoked_at IS NULL;
END
$$;

-- Rotates a refresh token (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2). The row
-- lock serializes every refresh of one token across all instances. The
-- successor's hash is computed by the caller from the presented token, so
-- presenting the same spent token again within p_grace yields the same
-- successor (retries, parallel processes sharing one token); any other
-- reuse revokes the whole grant. outcome: 'rotated' | 'repeat' | 'reuse' |
-- 'invalid' | 'expired'.
CREATE OR REPLACE FUNCTION cupd_rotate_refresh(p_hash bytea, p_client_pk uuid, p_successor_hash bytea,
                                               p_grace interval, p_idle interval)
RETURNS TABLE (outcome text, grant_id uuid, scope text, resource text, user_id uuid, org_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
	t oauth_refresh_tokens%ROWTYPE;
	g oauth_grants%ROWTYPE;
	succ oauth_refresh_tokens%ROWTYPE;
	new_id uuid;
BEGIN
	SELECT * INTO t FROM oauth_refresh_tokens WHERE token_hash = p_hash FOR UPDATE;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 'invalid'::text, NULL::uuid, NULL::text, NULL::text, NULL::uuid, NULL::uuid;
		RETURN;
	END IF;
	SELECT * INTO g FROM oauth_grants WHERE id = t.grant_id;
	IF g.client_pk <> p_client_pk OR g.revoked_at IS NOT NULL THEN
		RETURN QUERY SELECT 'invalid'::text, g.id, NULL::text, NULL::text, NULL::uuid, NULL::uuid;
		RETURN;
	END IF;
	IF g.expires_at <= now() THEN
		RETURN QUERY SELECT 'expired'::text, g.id, NULL::text, NULL::text, NULL::uuid, NULL::uuid;
		RETURN;
	END IF;
	IF t.spent_at IS NULL THEN
		IF t.idle_expires_at <= now() THEN
			RETURN QUERY SELECT 'expired'::text, g.id, NULL::text, NULL::text, NULL::uuid, NULL::uuid;
			RETURN;
		END IF;
		INSERT INTO oauth_refresh_tokens (token_hash, grant_id, parent_id, idle_expires_at)
		VALUES (p_successor_hash, g.id, t.id, least(now() + p_idle, g.expires_at)) RETURNING id INTO new_id;
		UPDATE oauth_refresh_tokens SET spent_at = now(), successor_id = new_id WHERE id = t.id;
		UPDATE oauth_grants SET last_used_at = now() WHERE id = g.id;
		RETURN QUERY SELECT 'rotated'::text, g.id, g.scope, g.resource, g.user_id, g.org_id;
		RETURN;
	END IF;
	SELECT * INTO succ FROM oauth_refresh_tokens WHERE id = t.successor_id;
	IF FOUND AND succ.spent_at IS NULL AND succ.token_hash = p_successor_hash
	   AND t.spent_at > now() - p_grace THEN
		RETURN QUERY SELECT 'repeat'::text, g.id, g.scope, g.resource, g.user_id, g.org_id;
		RETURN;
	END IF;
	UPDATE oauth_grants SET revoked_at = now(), revoked_reason = 'refresh_reuse' WHERE id = g.id;
	RETURN QUERY SELECT 'reuse'::text, g.id, NULL::text, NULL::text, NULL::uuid, NULL::uuid;
END
$$;
