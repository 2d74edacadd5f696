-- 0003_incidents: incidents and their notes, runbooks, alert rules.

CREATE TABLE IF NOT EXISTS incidents (
	id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id          uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	service_id      uuid,       -- NULL: not tied to one service
	title           text        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
	status          text        NOT NULL DEFAULT 'investigating'
	                CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
	severity        text        NOT NULL DEFAULT 'minor'
	                CHECK (severity IN ('minor', 'major', 'critical')),
	started_at      timestamptz NOT NULL DEFAULT now(),
	acknowledged_at timestamptz,
	acknowledged_by uuid        REFERENCES users (id) ON DELETE SET NULL,
	resolved_at     timestamptz,
	created_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	-- search with: WHERE search @@ websearch_to_tsquery('simple', $1)
	search          tsvector    GENERATED ALWAYS AS (to_tsvector('simple', title)) STORED,
	CHECK (status <> 'resolved' OR resolved_at IS NOT NULL),
	-- The service must belong to the same org; deleting it keeps the incident.
	FOREIGN KEY (org_id, service_id) REFERENCES services (org_id, id)
		ON DELETE SET NULL (service_id)
);
CREATE INDEX IF NOT EXISTS incidents_org_created_idx ON incidents (org_id, created_at DESC);
CREATE INDEX IF NOT EXISTS incidents_open_idx ON incidents (org_id, started_at DESC)
	WHERE status <> 'resolved';
CREATE INDEX IF NOT EXISTS incidents_service_idx ON incidents (org_id, service_id);
CREATE INDEX IF NOT EXISTS incidents_search_idx ON incidents USING gin (search);
CREATE OR REPLACE TRIGGER incidents_touch_updated_at BEFORE UPDATE ON incidents
	FOR EACH ROW EXECUTE FUNCTION cupd_touch_updated_at();

CREATE TABLE IF NOT EXISTS incident_notes (
	id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	incident_id uuid        NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	author_id   uuid        REFERENCES users (id) ON DELETE SET NULL,
	body        text        NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS incident_notes_incident_idx
	ON incident_notes (incident_id, created_at);

-- Markdown how-tos, optionally tied to a service.
CREATE TABLE IF NOT EXISTS runbooks (
	id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id     uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	service_id uuid,
	title      text        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
	body       text        NOT NULL DEFAULT '' CHECK (length(body) <= 200000),
	created_by uuid        REFERENCES users (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	-- search with: WHERE search @@ websearch_to_tsquery('simple', $1)
	search     tsvector    GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED,
	FOREIGN KEY (org_id, service_id) REFERENCES services (org_id, id)
		ON DELETE SET NULL (service_id)
);
CREATE INDEX IF NOT EXISTS runbooks_org_created_idx ON runbooks (org_id, created_at DESC);
CREATE INDEX IF NOT EXISTS runbooks_service_idx ON runbooks (org_id, service_id);
CREATE INDEX IF NOT EXISTS runbooks_search_idx ON runbooks USING gin (search);
CREATE OR REPLACE TRIGGER runbooks_touch_updated_at BEFORE UPDATE ON runbooks
	FOR EACH ROW EXECUTE FUNCTION cupd_touch_updated_at();

-- Alert rules. condition picks which threshold column applies:
--   status_at_least  -> min_status (fires at that status or worse)
--   error_rate_above -> error_rate (fraction 0..1, fires when exceeded)
CREATE TABLE IF NOT EXISTS alerts (
	id         uuid             PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id     uuid             NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
	name       text             NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	service_id uuid,            -- NULL: every service of the org
	condition  text             NOT NULL
	           CHECK (condition IN ('status_at_least', 'error_rate_above')),
	min_status text             CHECK (min_status IN ('degraded', 'partial_outage', 'major_outage')),
	error_rate double precision CHECK (error_rate > 0 AND error_rate < 1),
	channel    text             NOT NULL CHECK (channel IN ('email', 'webhook', 'slack')),
	target     text             NOT NULL CHECK (length(target) <= 2048),  -- address or URL
	enabled    boolean          NOT NULL DEFAULT true,
	created_by uuid             REFERENCES users (id) ON DELETE SET NULL,
	created_at timestamptz      NOT NULL DEFAULT now(),
	updated_at timestamptz      NOT NULL DEFAULT now(),
	CHECK ((condition = 'status_at_least' AND min_status IS NOT NULL AND error_rate IS NULL)
	    OR (condition = 'error_rate_above' AND error_rate IS NOT NULL AND min_status IS NULL)),
	CHECK ((channel = 'email' AND target ~ '^[^@[:space:]]+@[^@[:space:]]+$')
	    OR (channel IN ('webhook', 'slack') AND target ~ '^https?://')),
	-- an alert on a deleted service is meaningless: it goes too
	FOREIGN KEY (org_id, service_id) REFERENCES services (org_id, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS alerts_org_created_idx ON alerts (org_id, created_at DESC);
CREATE INDEX IF NOT EXISTS alerts_service_idx ON alerts (org_id, service_id);
CREATE OR REPLACE TRIGGER alerts_touch_updated_at BEFORE UPDATE ON alerts
	FOR EACH ROW EXECUTE FUNCTION cupd_touch_updated_at();
