-- 0002_services: what an org builds (projects), what those depend on
-- (services, the upstream APIs it watches), the edges between them and the
-- current and past health of each service.
--
-- Child tables carry org_id and reference their parents by (org_id, id), so
-- the database itself refuses an edge between two orgs' rows.

CREATE TABLE IF NOT EXISTS projects (
	id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id     uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	slug       text        NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
	name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT projects_org_slug_key UNIQUE (org_id, slug),
	CONSTRAINT projects_org_id_key UNIQUE (org_id, id)
);

-- An upstream dependency of an org (Stripe, AWS S3, ...).
CREATE TABLE IF NOT EXISTS services (
	id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id       uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	slug         text        NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
	name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	provider     text        CHECK (length(provider) <= 100),  -- e.g. 'aws'; NULL: self-hosted/unknown
	category     text        NOT NULL DEFAULT '' CHECK (length(category) <= 100),  -- e.g. 'payments'
	homepage_url text        CHECK (homepage_url ~ '^https?://' AND length(homepage_url) <= 2048),
	created_at   timestamptz NOT NULL DEFAULT now(),
	-- Search with: WHERE search @@ websearch_to_tsquery('simple', $1).
	-- 'simple' (no stemming) suits names like "S3" or "SendGrid"; a stored
	-- generated column keeps queries and the index from drifting apart.
	search       tsvector    GENERATED ALWAYS AS (to_tsvector('simple',
	                 name || ' ' || slug || ' ' || coalesce(provider, '') || ' ' || category)) STORED,
	CONSTRAINT services_org_slug_key UNIQUE (org_id, slug),
	CONSTRAINT services_org_id_key UNIQUE (org_id, id)
);
CREATE INDEX IF NOT EXISTS services_search_idx ON services USING gin (search);

-- Dependency graph: project -> service it calls.
CREATE TABLE IF NOT EXISTS project_services (
	org_id     uuid        NOT NULL,
	project_id uuid        NOT NULL,
	service_id uuid        NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (project_id, service_id),
	FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE,
	FOREIGN KEY (org_id, service_id) REFERENCES services (org_id, id) ON DELETE CASCADE
);
-- "which projects does this service outage hit"
CREATE INDEX IF NOT EXISTS project_services_service_idx ON project_services (org_id, service_id);

-- Current health, one row per service, rewritten as telemetry arrives.
CREATE TABLE IF NOT EXISTS service_status (
	service_id   uuid             PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
	status       text             NOT NULL DEFAULT 'operational'
	             CHECK (status IN ('operational', 'degraded', 'partial_outage', 'major_outage')),
	error_rate   double precision NOT NULL DEFAULT 0 CHECK (error_rate BETWEEN 0 AND 1),
	sample_count bigint           NOT NULL DEFAULT 0 CHECK (sample_count >= 0),
	updated_at   timestamptz      NOT NULL DEFAULT now()
);

-- Timeline of status changes (one row per transition).
CREATE TABLE IF NOT EXISTS service_status_history (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_id uuid        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
	status     text        NOT NULL
	           CHECK (status IN ('operational', 'degraded', 'partial_outage', 'major_outage')),
	changed_at timestamptz NOT NULL DEFAULT now(),
	reason     text        NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS service_status_history_service_idx
	ON service_status_history (service_id, changed_at DESC);
