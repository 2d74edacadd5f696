-- 0010_oauth_endpoints: what the token endpoint and the AI Connections
-- registry run on top of 0009, each as one round trip.

-- Code exchange (RFC 6749 §4.1.3). Redeems through cupd_redeem_code (which
-- raises CU400 for an unknown or expired code), records the grant's first
-- use (last_used_at, last_ip, the client's User-Agent) and returns its
-- absolute expiry so access tokens never outlive it. outcome:
--   'ok'     one row with the code's bindings (the caller checks client,
--            redirect_uri, PKCE and resource);
--   'expired' the code was valid but its grant has reached its absolute
--            lifetime;
--   'replay' the code was used before: cupd_redeem_code has revoked the
--            grant; grant_id names it (so the caller marks it revoked at
--            once) and the replay is audited. A code whose grant had been
--            revoked already also reads 'replay' (it is dead either way).
CREATE OR REPLACE FUNCTION cupd_exchange_code(p_hash bytea, p_ip inet, p_user_agent text)
RETURNS TABLE (outcome text, grant_id uuid, redirect_uri text, redirect_sent boolean, code_challenge text,
               scope text, resource text, client_pk uuid, user_id uuid, org_id uuid, expires_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	gid uuid;
	exp timestamptz;
BEGIN
	SELECT * INTO r FROM cupd_redeem_code(p_hash) x;
	IF NOT FOUND THEN
		SELECT c.grant_id INTO gid FROM oauth_codes c WHERE c.code_hash = p_hash;
		INSERT INTO audit_events (org_id, actor_kind, actor_id, action, target_kind, target_id, ip, user_agent,
		                          metadata)
		SELECT g.org_id, 'connection', g.id::text, 'connection.code_replay', 'connection', g.id::text, p_ip,
		       left(p_user_agent, 512), jsonb_build_object('client_pk', g.client_pk)
		  FROM oauth_grants g
		 WHERE g.id = gid AND g.revoked_reason = 'code_replay' AND g.revoked_at = now();
		RETURN QUERY SELECT 'replay'::text, gid, NULL::text, NULL::boolean, NULL::text, NULL::text, NULL::text,
		                    NULL::uuid, NULL::uuid, NULL::uuid, NULL::timestamptz;
		RETURN;
	END IF;
	UPDATE oauth_grants g
	   SET last_used_at = now(), last_ip = coalesce(p_ip, g.last_ip),
	       user_agent = coalesce(g.user_agent, left(p_user_agent, 512))
	 WHERE g.id = r.grant_id
	RETURNING g.expires_at INTO exp;
	IF exp <= now() THEN
		RETURN QUERY SELECT 'expired'::text, r.grant_id, NULL::text, NULL::boolean, NULL::text, NULL::text,
		                    NULL::text, NULL::uuid, NULL::uuid, NULL::uuid, exp;
		RETURN;
	END IF;
	RETURN QUERY SELECT 'ok'::text, r.grant_id, r.redirect_uri, r.redirect_sent, r.code_challenge, r.scope,
	                    r.resource, r.client_pk, r.user_id, r.org_id, exp;
END
$$;

-- Refresh (OAuth 2.1 §4.3.1) around cupd_rotate_refresh:
--   * a requested scope that is not a subset of the grant's is refused
--     BEFORE rotating ('invalid_scope'), so an error spends nothing;
--   * rotated/repeat record the client's IP (written only when it changed,
--     so a steady client does not add a row version per refresh) and
--     return the grant's absolute expiry;
--   * reuse (the grant is now revoked, C25) is audited as
--     connection.refresh_reuse.
CREATE OR REPLACE FUNCTION cupd_refresh_grant(p_hash bytea, p_client_pk uuid, p_successor_hash bytea,
                                              p_grace interval, p_idle interval, p_scope text, p_ip inet,
                                              p_user_agent text)
RETURNS TABLE (outcome text, grant_id uuid, scope text, resource text, user_id uuid, org_id uuid,
               expires_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	gscope text;
	exp timestamptz;
BEGIN
	IF p_scope IS NOT NULL THEN
		SELECT g.scope INTO gscope FROM oauth_refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id
		 WHERE t.token_hash = p_hash AND g.client_pk = p_client_pk;
		IF FOUND AND NOT (string_to_array(p_scope, ' ') <@ string_to_array(gscope, ' ')) THEN
			RETURN QUERY SELECT 'invalid_scope'::text, NULL::uuid, NULL::text, NULL::text, NULL::uuid, NULL::uuid,
			                    NULL::timestamptz;
			RETURN;
		END IF;
	END IF;
	SELECT * INTO r FROM cupd_rotate_refresh(p_hash, p_client_pk, p_successor_hash, p_grace, p_idle) x;
	IF r.outcome IN ('rotated', 'repeat') THEN
		IF p_ip IS NOT NULL THEN
			UPDATE oauth_grants g SET last_ip = p_ip WHERE g.id = r.grant_id AND g.last_ip IS DISTINCT FROM p_ip;
		END IF;
		SELECT g.expires_at INTO exp FROM oauth_grants g WHERE g.id = r.grant_id;
	ELSIF r.outcome = 'reuse' THEN
		INSERT INTO audit_events (org_id, actor_kind, actor_id, action, target_kind, target_id, ip, user_agent,
		                          metadata)
		SELECT g.org_id, 'connection', g.id::text, 'connection.refresh_reuse', 'connection', g.id::text, p_ip,
		       left(p_user_agent, 512), jsonb_build_object('client_pk', g.client_pk)
		  FROM oauth_grants g WHERE g.id = r.grant_id;
	END IF;
	RETURN QUERY SELECT r.outcome, r.grant_id, r.scope, r.resource, r.user_id, r.org_id, exp;
END
$$;

-- One AI Connection as the registry shows it (API layer, REST, settings).
CREATE OR REPLACE FUNCTION cupd_connection_json(p_grant uuid) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'id', g.id,
		'user', json_build_object('id', u.id, 'email', u.email),
		'client', json_build_object('id', c.id, 'client_id', c.client_id, 'name', c.client_name,
		                            'client_uri', c.client_uri, 'logo_uri', c.logo_uri,
		                            'verified', c.registered_via IN ('cimd', 'pinned'),
		                            'registered_via', c.registered_via),
		'scopes', coalesce(string_to_array(nullif(g.scope, ''), ' '), '{}'),
		'resource', g.resource,
		'created_at', g.created_at,
		'expires_at', g.expires_at,
		'last_used_at', g.last_used_at,
		'last_ip', host(g.last_ip),
		'user_agent', g.user_agent,
		'status', CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked'
		               WHEN g.expires_at <= now() THEN 'expired' ELSE 'active' END,
		'revoked_at', g.revoked_at,
		'revoked_reason', g.revoked_reason,
		'tool_calls_30d', coalesce((SELECT sum(x.tool_calls) FROM oauth_grant_usage x
		                             WHERE x.grant_id = g.id AND x.day > current_date - 30), 0))
	  FROM oauth_grants g JOIN users u ON u.id = g.user_id JOIN oauth_clients c ON c.id = g.client_pk
	 WHERE g.id = p_grant
$$;

-- Revokes one AI Connection: its owner, or an admin of its org (p_admin).
-- Idempotent: an already revoked connection is returned as it is.
-- CU404 when it is not in p_org, CU403 when someone else's and not admin.
CREATE OR REPLACE FUNCTION cupd_revoke_connection(p_org uuid, p_grant uuid, p_user uuid, p_admin boolean,
                                                  p_actor_kind text, p_actor_id text, p_ip inet,
                                                  p_user_agent text)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
	g oauth_grants%ROWTYPE;
BEGIN
	SELECT * INTO g FROM oauth_grants WHERE id = p_grant AND org_id = p_org FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'No AI Connection with this id in your organization.' USING ERRCODE = 'CU404';
	END IF;
	IF g.user_id IS DISTINCT FROM p_user AND NOT p_admin THEN
		RAISE EXCEPTION 'Revoking another member''s AI Connection needs the admin scope.' USING ERRCODE = 'CU403';
	END IF;
	IF g.revoked_at IS NULL THEN
		UPDATE oauth_grants SET revoked_at = now(), revoked_by = p_user,
		       revoked_reason = CASE WHEN g.user_id = p_user THEN 'user' ELSE 'admin' END
		 WHERE id = g.id;
		INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_user_id, action, target_kind, target_id, ip,
		                          user_agent, metadata)
		VALUES (p_org, p_actor_kind, p_actor_id, p_user, 'connection.revoke', 'connection', g.id::text, p_ip,
		        p_user_agent, jsonb_build_object('user_id', g.user_id, 'client_pk', g.client_pk));
	END IF;
	RETURN cupd_connection_json(g.id);
END
$$;

-- "Revoke all" of one client for one user (a client used from several
-- machines has one connection per approval). Returns {"revoked": [ids]}.
CREATE OR REPLACE FUNCTION cupd_revoke_client_connections(p_org uuid, p_client_pk uuid, p_user uuid,
                                                          p_actor_kind text, p_actor_id text, p_ip inet,
                                                          p_user_agent text)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
	ids uuid[];
BEGIN
	WITH upd AS (
		UPDATE oauth_grants SET revoked_at = now(), revoked_by = p_user, revoked_reason = 'user'
		 WHERE org_id = p_org AND client_pk = p_client_pk AND user_id = p_user AND revoked_at IS NULL
		RETURNING id)
	SELECT coalesce(array_agg(id), '{}') INTO ids FROM upd;
	INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_user_id, action, target_kind, target_id, ip,
	                          user_agent, metadata)
	SELECT p_org, p_actor_kind, p_actor_id, p_user, 'connection.revoke', 'connection', i::text, p_ip,
	       p_user_agent, jsonb_build_object('client_pk', p_client_pk, 'all_of_client', true)
	  FROM unnest(ids) AS i;
	RETURN json_build_object('revoked', to_json(ids));
END
$$;
