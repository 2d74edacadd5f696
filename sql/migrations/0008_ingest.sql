-- 0008_ingest: storing SDK telemetry (POST /v1/events) and turning it into
-- each service's status.
--
-- Write path (server/api/ingest.c): one call of cupd_ingest_events per
-- request stores the whole batch with set-based inserts and appends one small
-- row per (service, time bucket) of the batch to service_event_counts.
--
-- Status path (server/api/status_rollup.c, a timer on worker 0 of every
-- instance): cupd_status_rollup folds those rows, sums the ones inside the
-- window and updates service_status, adding a service_status_history row
-- only when a status changes. It never reads the events table: at 100,000
-- events/s a five-minute window holds 30 million events, but only
-- (services x window / bucket) count rows.

-- events keeps no foreign keys. PostgreSQL checks a foreign key with one
-- query per inserted row (PG 15 does not batch them), and with two of them
-- those checks were about half the database time of ingest. The references
-- are sound without them: cupd_ingest_events takes service ids from a join
-- on the org's services and the project from the SDK Key that was just
-- authenticated. The cascades the keys gave are kept by statement-level
-- triggers below (deleting an org cascades to its projects and services,
-- whose triggers then delete the events).
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_org_id_project_id_fkey;
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_org_id_service_id_fkey;

-- One index instead of 0004's two, (service_id, occurred_at) and
-- (project_id, occurred_at): every index costs a B-tree insert and its WAL on
-- each event, and this one serves both directions because an org has few
-- services and projects:
--   a service's events:  service_id = $s [AND occurred_at ...] — prefix, or
--                        with project_id = ANY(the org's projects) for a window;
--   a project's events:  service_id = ANY(the org's services) AND project_id = $p.
-- Measured on 2 cores: ~18% less WAL per event (405 -> 330 bytes) and ~15%
-- less PostgreSQL CPU per event. The status rollup reads neither (see below).
DROP INDEX IF EXISTS events_service_occurred_idx;
DROP INDEX IF EXISTS events_project_occurred_idx;
CREATE INDEX IF NOT EXISTS events_service_project_occurred_idx ON events (service_id, project_id, occurred_at);

CREATE OR REPLACE FUNCTION cupd_events_cascade() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'projects' THEN
		DELETE FROM events e USING gone g, services s
		WHERE s.org_id = g.org_id AND e.service_id = s.id AND e.project_id = g.id;
	ELSE
		DELETE FROM events e USING gone g WHERE e.service_id = g.id;
	END IF;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS projects_events_cascade ON projects;
CREATE TRIGGER projects_events_cascade AFTER DELETE ON projects
	REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION cupd_events_cascade();
DROP TRIGGER IF EXISTS services_events_cascade ON services;
CREATE TRIGGER services_events_cascade AFTER DELETE ON services
	REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION cupd_events_cascade();

-- Per-(service, bucket) counts of recent events, append-only from ingest
-- (merged = false: one row per request and bucket, never updated, so
-- concurrent requests never wait on each other's row locks). The rollup
-- replaces those rows with merged sums and deletes buckets that have left
-- the window, so the table stays small.
CREATE TABLE IF NOT EXISTS service_event_counts (
	service_id uuid        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
	bucket     timestamptz NOT NULL,   -- start of the bucket the events occurred in
	ok         bigint      NOT NULL CHECK (ok >= 0),
	err        bigint      NOT NULL CHECK (err >= 0),
	merged     boolean     NOT NULL DEFAULT false
);
-- the rollup's per-service sums and the cascade from services
CREATE INDEX IF NOT EXISTS service_event_counts_service_idx ON service_event_counts (service_id, bucket);

-- Stores one request's valid events for an SDK Key's project and returns
-- {"accepted": n, "refused_services": [slug, ...]}.
--
-- The arrays are parallel, one element per event: service slug (already
-- validated and lowercased), operation, outcome as is-error, latency in ms
-- (NULL: not given) and occurrence time in microseconds since the epoch.
-- Slugs the org does not know yet become services (name = slug) and every
-- slug of the batch becomes an edge of p_project, unless the org already
-- has p_max_services services: then the slugs that do not fit are listed
-- in refused_services and their events are not stored.
--
-- plpgsql rather than one CTE statement for the bound: under READ COMMITTED
-- each statement here takes a fresh snapshot, so after the advisory lock the
-- count sees every service that concurrent requests created; within a single
-- statement it could not, and two requests could both take the last slot.
-- The lock is taken only when a batch names a new slug.
CREATE OR REPLACE FUNCTION cupd_ingest_events(p_org uuid, p_project uuid, p_services text[],
	p_operations text[], p_errors boolean[], p_latency integer[], p_ts_us bigint[],
	p_max_services integer, p_window_s integer, p_bucket_s integer) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
	missing    text[];    -- slugs the org has no service for, in order of first appearance
	need_edges boolean;   -- some slug's service is not yet an edge of p_project
	room       bigint;
	refused    text[];
	stored     bigint;
BEGIN
	-- The common case (known services, known edges) costs this one lookup
	-- and the insert below; the writes in between run only on first sight.
	SELECT array_agg(d.slug ORDER BY d.first) FILTER (WHERE s.id IS NULL),
	       coalesce(bool_or(s.id IS NOT NULL AND ps.service_id IS NULL), false)
	INTO missing, need_edges
	FROM (SELECT slug, min(i) AS first FROM unnest(p_services) WITH ORDINALITY AS u(slug, i) GROUP BY slug) d
	LEFT JOIN services s ON s.org_id = p_org AND s.slug = d.slug
	LEFT JOIN project_services ps ON ps.project_id = p_project AND ps.service_id = s.id;

	IF missing IS NOT NULL THEN
		-- 1668641380 = 'cupd'; the second key spreads orgs over lock slots.
		PERFORM pg_advisory_xact_lock(1668641380, hashtext(p_org::text));
		SELECT p_max_services - count(*) INTO room FROM services WHERE org_id = p_org;
		INSERT INTO services (org_id, slug, name)
		SELECT p_org, u.m, u.m
		FROM unnest(missing) WITH ORDINALITY AS u(m, i)
		WHERE NOT EXISTS (SELECT 1 FROM services s WHERE s.org_id = p_org AND s.slug = u.m)
		ORDER BY u.i
		LIMIT greatest(room, 0)
		ON CONFLICT (org_id, slug) DO NOTHING;
		SELECT array_agg(u.m ORDER BY u.i) INTO refused
		FROM unnest(missing) WITH ORDINALITY AS u(m, i)
		WHERE NOT EXISTS (SELECT 1 FROM services s WHERE s.org_id = p_org AND s.slug = u.m);
		need_edges := true;
	END IF;

	IF need_edges THEN
		INSERT INTO project_services (org_id, project_id, service_id)
		SELECT p_org, p_project, s.id
		FROM services s
		WHERE s.org_id = p_org AND s.slug = ANY (p_services)
		ON CONFLICT DO NOTHING;
	END IF;

	WITH ev AS MATERIALIZED (
		SELECT s.id AS service_id, e.op, e.err, e.lat, e.us
		FROM unnest(p_services, p_operations, p_errors, p_latency, p_ts_us) AS e(slug, op, err, lat, us)
		JOIN services s ON s.org_id = p_org AND s.slug = e.slug
	), ins AS (
		INSERT INTO events (org_id, project_id, service_id, operation, outcome, latency_ms, occurred_at)
		SELECT p_org, p_project, ev.service_id, ev.op, CASE WHEN ev.err THEN 'error' ELSE 'ok' END, ev.lat,
		       timestamptz 'epoch' + ev.us * interval '1 microsecond'
		FROM ev
	), counted AS (
		-- Only events that can still count: older ones never reach a status.
		INSERT INTO service_event_counts (service_id, bucket, ok, err)
		SELECT ev.service_id, to_timestamp(ev.us / 1000000 / p_bucket_s * p_bucket_s),
		       count(*) FILTER (WHERE NOT ev.err), count(*) FILTER (WHERE ev.err)
		FROM ev
		WHERE ev.us >= (extract(epoch FROM now()) - p_window_s - p_bucket_s) * 1000000
		GROUP BY 1, 2
	)
	SELECT count(*) INTO stored FROM ev;

	RETURN json_build_object('accepted', stored, 'refused_services', coalesce(to_json(refused), '[]'::json));
END
$$;

-- Recomputes the status of every service with recent counts and returns how
-- many statuses changed, or -1 when another instance is already doing it.
--
--   error_rate = errors / events among the buckets that start inside the
--                last p_window_s seconds (a sliding window, moving in steps
--                of the bucket size);
--   status     = by the first threshold the rate reaches: major, partial,
--                degraded, else operational; but with fewer than
--                p_min_samples events the previous status stands (too
--                little evidence either way), and with none at all the
--                service is operational (nothing says it is failing).
--
-- A service whose counts have all left the window is computed once more
-- (0 events: operational) before its rows are deleted, so an outage ends
-- even when its traffic stops. Services that never had counts (seeded or
-- created through the API) are left alone.
CREATE OR REPLACE FUNCTION cupd_status_rollup(p_window_s integer, p_degraded double precision,
	p_partial double precision, p_major double precision, p_min_samples integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	cutoff  timestamptz := now() - make_interval(secs => p_window_s);
	changed integer;
BEGIN
	-- 1668641380 = 'cupd', 1919904876 = 'rol' + 'l': one rollup at a time across instances.
	IF NOT pg_try_advisory_xact_lock(1668641380, 1919904876) THEN
		RETURN -1;
	END IF;

	-- Fold the rows requests appended since the last run: one per (service, bucket).
	WITH d AS (
		DELETE FROM service_event_counts WHERE NOT merged RETURNING service_id, bucket, ok, err
	)
	INSERT INTO service_event_counts (service_id, bucket, ok, err, merged)
	SELECT service_id, bucket, sum(ok), sum(err), true FROM d GROUP BY service_id, bucket;

	WITH w AS (
		SELECT service_id,
		       coalesce(sum(ok) FILTER (WHERE bucket >= cutoff), 0) AS ok,
		       coalesce(sum(err) FILTER (WHERE bucket >= cutoff), 0) AS err
		FROM service_event_counts
		GROUP BY service_id
	), v AS (
		SELECT w.service_id, w.ok + w.err AS n,
		       CASE WHEN w.ok + w.err > 0 THEN w.err::double precision / (w.ok + w.err) ELSE 0 END AS rate
		FROM w
	), s AS (
		SELECT v.*,
		       CASE WHEN v.n = 0 THEN 'operational'
		            WHEN v.n < p_min_samples THEN coalesce(st.status, 'operational')
		            WHEN v.rate >= p_major THEN 'major_outage'
		            WHEN v.rate >= p_partial THEN 'partial_outage'
		            WHEN v.rate >= p_degraded THEN 'degraded'
		            ELSE 'operational' END AS status,
		       st.status AS old_status
		FROM v LEFT JOIN service_status st ON st.service_id = v.service_id
	), up AS (
		INSERT INTO service_status AS st (service_id, status, error_rate, sample_count, updated_at)
		SELECT s.service_id, s.status, s.rate, s.n, now() FROM s
		ON CONFLICT (service_id) DO UPDATE
		SET status = excluded.status, error_rate = excluded.error_rate,
		    sample_count = excluded.sample_count, updated_at = excluded.updated_at
		-- no write (and no WAL) for a service whose numbers did not move
		WHERE (st.status, st.error_rate, st.sample_count)
		      IS DISTINCT FROM (excluded.status, excluded.error_rate, excluded.sample_count)
	)
	INSERT INTO service_status_history (service_id, status, reason)
	SELECT s.service_id, s.status,
	       format('error rate %s%% over %s event(s) in the last %s s', round((s.rate * 100)::numeric, 1), s.n,
	              p_window_s)
	FROM s
	WHERE s.status IS DISTINCT FROM coalesce(s.old_status, 'operational');
	GET DIAGNOSTICS changed = ROW_COUNT;

	DELETE FROM service_event_counts WHERE bucket < cutoff;
	RETURN changed;
END
$$;
