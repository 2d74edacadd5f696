-- 0004_events: telemetry from the SDKs, one row per upstream call.
--
-- High volume: bigint identity key, no uuid default to compute, and only the
-- indexes the status computation and cascading deletes need. Every extra
-- index here costs on each ingested event.
CREATE TABLE IF NOT EXISTS events (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id      uuid        NOT NULL,
	project_id  uuid        NOT NULL,
	service_id  uuid        NOT NULL,
	operation   text        NOT NULL CHECK (length(operation) BETWEEN 1 AND 200),  -- e.g. 'charges.create'
	outcome     text        NOT NULL CHECK (outcome IN ('ok', 'error')),
	latency_ms  integer     CHECK (latency_ms >= 0),
	occurred_at timestamptz NOT NULL,               -- client clock
	received_at timestamptz NOT NULL DEFAULT now(), -- our clock
	FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE,
	FOREIGN KEY (org_id, service_id) REFERENCES services (org_id, id) ON DELETE CASCADE
);
-- error rate of a service over a recent window
CREATE INDEX IF NOT EXISTS events_service_occurred_idx ON events (service_id, occurred_at);
-- per-project views, and deleting a project
CREATE INDEX IF NOT EXISTS events_project_occurred_idx ON events (project_id, occurred_at);
