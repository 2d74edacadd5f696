-- 0006_rest_api: what the REST resources of server/api/ need from the
-- database beyond plain tables: a way to raise the API layer's domain errors
-- from inside a statement, the member role change (whose rules need the
-- acting user's role and a lock), and indexes for the audit-log filters.
--
-- SQLSTATEs the API layer maps (server/api.h): CU400 invalid input, CU403
-- forbidden, CU404 not found, CU409 conflict. A CU400 message may start with
-- "<field>: "; the resources turn that prefix into the "field" of the 400.

-- Raises code with msg. Usable in any expression (it returns text, so cast
-- it to whatever the expression needs), e.g.
--   coalesce((SELECT id FROM services ...), cupd_fail('CU400', 'service: ...')::uuid)
-- VOLATILE (the default) on purpose: the planner must never pre-evaluate it
-- while folding constants, only when the branch holding it is reached.
CREATE OR REPLACE FUNCTION cupd_fail(code text, msg text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
END
$$;

-- Changes the role of p_user in p_org on behalf of p_actor (a user of that
-- org) and returns the member as json. Rules:
--   * only owners and admins change roles (the API route also needs the
--     admin scope; this re-checks the acting user's role as it is now);
--   * only an owner may make someone owner or change an owner's role;
--   * the last owner cannot be demoted (CU409);
--   * unchanged role: no update, no audit row, no NOTIFY.
-- Every member row of the org is locked first, so two concurrent demotions
-- cannot both see "another owner remains". The UPDATE fires
-- org_members_notify (0005), which narrows the user's cached tokens on every
-- instance.
CREATE OR REPLACE FUNCTION cupd_member_set_role(p_org uuid, p_actor uuid, p_user uuid, p_role text,
	p_actor_kind text, p_actor_id text, p_ip inet, p_user_agent text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
	actor_role text;
	old_role   text;
	owners     bigint;
BEGIN
	IF p_role IS NULL OR p_role NOT IN ('owner', 'admin', 'member') THEN
		RAISE EXCEPTION USING ERRCODE = 'CU400', MESSAGE = 'role: role must be owner, admin or member';
	END IF;
	PERFORM 1 FROM org_members WHERE org_id = p_org ORDER BY user_id FOR UPDATE;
	SELECT role INTO old_role FROM org_members WHERE org_id = p_org AND user_id = p_user;
	IF old_role IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'CU404', MESSAGE = 'No such member in this organization.';
	END IF;
	SELECT role INTO actor_role FROM org_members WHERE org_id = p_org AND user_id = p_actor;
	IF actor_role IS NULL OR actor_role NOT IN ('owner', 'admin') THEN
		RAISE EXCEPTION USING ERRCODE = 'CU403',
			MESSAGE = 'Only owners and admins of the organization can change roles.';
	END IF;
	IF (p_role = 'owner' OR old_role = 'owner') AND actor_role <> 'owner' THEN
		RAISE EXCEPTION USING ERRCODE = 'CU403',
			MESSAGE = 'Only an owner can make someone owner or change an owner''s role.';
	END IF;
	IF old_role = 'owner' AND p_role <> 'owner' THEN
		SELECT count(*) INTO owners FROM org_members WHERE org_id = p_org AND role = 'owner';
		IF owners <= 1 THEN
			RAISE EXCEPTION USING ERRCODE = 'CU409',
				MESSAGE = 'This is the last owner of the organization; make another member owner first.';
		END IF;
	END IF;
	IF p_role <> old_role THEN
		UPDATE org_members SET role = p_role WHERE org_id = p_org AND user_id = p_user;
		INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_user_id, action, target_kind,
			target_id, ip, user_agent, metadata)
		VALUES (p_org, p_actor_kind, p_actor_id, p_actor, 'member.role_change', 'user', p_user::text,
			p_ip, p_user_agent, jsonb_build_object('from', old_role, 'to', p_role));
	END IF;
	RETURN (SELECT json_build_object('id', u.id, 'email', u.email, 'name', u.name, 'role', m.role,
			'joined_at', m.created_at, 'created_at', m.created_at, 'disabled', u.disabled_at IS NOT NULL)
		FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = p_org AND m.user_id = p_user);
END
$$;

-- GET /api/v1/audit-events pages by (created_at, id) within an org and
-- filters by exact action, action prefix, actor and target.
CREATE INDEX IF NOT EXISTS audit_events_org_created_id_idx
	ON audit_events (org_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_events_org_action_idx
	ON audit_events (org_id, action text_pattern_ops, created_at DESC);
CREATE INDEX IF NOT EXISTS audit_events_org_target_idx
	ON audit_events (org_id, target_id, created_at DESC);
