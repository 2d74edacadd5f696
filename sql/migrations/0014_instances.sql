-- 0014_instances: the cupd processes serving this database right now.
--
-- A revocation answers only once every live instance has acknowledged a
-- barrier NOTIFY sent after it (server/app.c), so the caller's next request
-- is refused wherever it lands. To know how many acknowledgements to wait
-- for, each instance registers here, refreshes last_seen_at every few
-- seconds and deletes its row when it stops; a crashed one drops out of the
-- count once its heartbeat is stale.
CREATE TABLE IF NOT EXISTS cupd_instances (
	id           text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
	hostname     text        NOT NULL DEFAULT '',
	started_at   timestamptz NOT NULL DEFAULT now(),
	last_seen_at timestamptz NOT NULL DEFAULT now()
);
