-- 0007_member_notify: adding a member must drop cached verdicts too.
--
-- 0005 notified on membership UPDATE and DELETE only. A user removed from
-- an org and added back (INSERT) therefore kept getting 401 "no longer a
-- member" for up to the cache lifetime (10 minutes), because no instance
-- heard about the new membership. Adding a member now NOTIFYs as well, so
-- every instance drops that user's cached tokens before the next request.
CREATE OR REPLACE FUNCTION cupd_notify_member() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'users' THEN
		PERFORM pg_notify('cupd_events', 'user:' || NEW.id);
	ELSIF TG_OP = 'INSERT' THEN
		PERFORM pg_notify('cupd_events', 'user:' || NEW.user_id);
	ELSE
		PERFORM pg_notify('cupd_events', 'user:' || OLD.user_id);
	END IF;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS org_members_notify ON org_members;
CREATE TRIGGER org_members_notify AFTER INSERT OR UPDATE OR DELETE ON org_members FOR EACH ROW
	EXECUTE FUNCTION cupd_notify_member();
