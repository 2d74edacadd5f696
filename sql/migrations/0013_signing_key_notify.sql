-- 0013_signing_key_notify: notify key changes only when a row changed.
--
-- The statement-level trigger of 0009 fired for every UPDATE of
-- signing_keys, also when it matched no row; each instance's start-up key
-- check runs such an UPDATE, so instances kept waking each other up. A
-- row-level trigger fires only for rows that were inserted or changed.
DROP TRIGGER IF EXISTS signing_keys_notify ON signing_keys;
CREATE TRIGGER signing_keys_notify AFTER INSERT OR UPDATE ON signing_keys FOR EACH ROW
	EXECUTE FUNCTION cupd_notify_signing_key();
