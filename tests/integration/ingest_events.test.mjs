// Issue 3, "Ingest POST /v1/events": SDK Keys only, per-event validation
// that keeps the valid events, batch and body limits, storage in PostgreSQL,
// services created on first sight (bounded per org), and SQL-looking input
// stored verbatim or refused, never executed.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { cleanup, psql, request, runCli, startCluster, startCupd, waitFor } from './lib/harness.mjs';

let cluster, srv, key, apiToken;

async function cli(args, stdin) {
	const r = await runCli(args, { env: { DATABASE_URL: cluster.url }, stdin });
	assert.equal(r.code, 0, `cupd ${args.join(' ')} failed: ${r.stderr}`);
	return r.stdout.trim();
}

const sql = (q) => psql(cluster.url, q);

/** POST /v1/events with body (an object is JSON-encoded) and an SDK Key by default. */
function post(body, { token = key, headers = {}, contentType = 'application/json' } = {}) {
	const h = { ...headers };
	if (token)
		h.authorization = `Bearer ${token}`;
	if (contentType)
		h['content-type'] = contentType;
	return request({
		port: srv.port, method: 'POST', path: '/v1/events', headers: h,
		body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), timeoutMs: 15000,
	});
}

const ev = (operation, extra = {}) => ({ service: 'stripe', operation, outcome: 'ok', latency_ms: 12, ...extra });

/** Rows stored with this operation (psql text output). */
const count = async (where) => Number(await sql(`SELECT count(*) FROM events WHERE ${where}`));

before(async () => {
	cluster = await startCluster();
	await cli(['migrate']);
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-ingest-'));
	await cli(['seed-demo', '--password-file', path.join(dir, 'demo-password')]);
	key = await cli(['sdk-key', 'create', '--org', 'demo', '--project', 'web-app', '--name', 'ingest test']);
	assert.match(key, /^cup_sdk_/);
	apiToken = await cli(['token', 'create', '--org', 'demo', '--user', 'demo@example.com', '--name', 'api',
		'--scopes', 'admin']);
	srv = await startCupd({
		cluster,
		env: { CUPD_ACCESS_LOG: 'off', CUPD_RATE_SDK_KEY_PER_MIN: '100000', CUPD_RATE_IP_PER_MIN: '100000' },
	});
});
after(cleanup);

describe('accepting events', () => {
	test('issue 3 "per-event validation errors reported without dropping the valid ones; 202 with counts"', async () => {
		const now = new Date();
		const events = [
			ev('mix.valid.0'),
			{ service: 'stripe', operation: 'mix.bad.outcome', outcome: 'maybe' },
			ev('mix.valid.2', { service: 'GitHub', outcome: 'error', timestamp: new Date(now - 60000).toISOString() }),
			'not an object',
			ev('mix.bad.service', { service: 'has space' }),
			ev('mix.bad.latency', { latency_ms: -5 }),
			ev('mix.bad.old', { timestamp: new Date(now - 25 * 3600 * 1000).toISOString() }),
			ev('mix.bad.ahead', { timestamp: new Date(now.getTime() + 10 * 60 * 1000).toISOString() }),
			ev('mix.valid.8', { latency_ms: undefined }),
			{ operation: 'mix.bad.noservice', outcome: 'ok' },
		];
		const r = await post({ events: events });
		assert.equal(r.status, 202, r.body);
		assert.equal(r.json.accepted, 3);
		assert.equal(r.json.rejected, 7);
		assert.deepEqual(r.json.errors.map((e) => [e.index, e.field]), [
			[1, 'outcome'], [3, null], [4, 'service'], [5, 'latency_ms'], [6, 'timestamp'], [7, 'timestamp'],
			[9, 'service'],
		]);
		for (const e of r.json.errors)
			assert.ok(typeof e.error === 'string' && e.error.length > 10, `message for ${e.index}: ${e.error}`);
		assert.match(r.json.errors.find((e) => e.index === 6).error, /24 hours/);
		assert.match(r.json.errors.find((e) => e.index === 7).error, /future/);

		// The valid ones are in the database, exactly as sent; the invalid ones are not.
		assert.equal(await count("operation LIKE 'mix.valid.%'"), 3);
		assert.equal(await count("operation LIKE 'mix.bad.%'"), 0);
		const row = await sql("SELECT s.slug, e.outcome, e.latency_ms, e.project_id = p.id, " +
			"abs(extract(epoch FROM e.occurred_at) - " + (now.getTime() - 60000) / 1000 + ") < 0.002 " +
			"FROM events e JOIN services s ON s.id = e.service_id JOIN projects p ON p.slug = 'web-app' " +
			"WHERE e.operation = 'mix.valid.2'");
		assert.equal(row, 'github|error|12|t|t', 'service lowercased, outcome, latency, project, timestamp');
		assert.equal(await sql("SELECT latency_ms IS NULL FROM events WHERE operation = 'mix.valid.8'"), 't');
		// no timestamp: the server's clock
		assert.equal(await sql("SELECT abs(extract(epoch FROM occurred_at - now())) < 60 FROM events " +
			"WHERE operation = 'mix.valid.0'"), 't');
	});

	test('at most 100 errors are listed; the counts cover all of them', async () => {
		const events = [];
		for (let i = 0; i < 150; i++)
			events.push({ service: 'stripe', operation: `many.bad.${i}`, outcome: 'nope' });
		for (let i = 0; i < 10; i++)
			events.push(ev(`many.good.${i}`));
		const r = await post({ events });
		assert.equal(r.status, 202, r.body);
		assert.equal(r.json.accepted, 10);
		assert.equal(r.json.rejected, 150);
		assert.equal(r.json.errors.length, 100);
		assert.deepEqual(r.json.errors.map((e) => e.index), [...Array(100).keys()]);
		assert.equal(await count("operation LIKE 'many.good.%'"), 10);
	});

	test('an empty batch is accepted with zero counts', async () => {
		const r = await post({ events: [] });
		assert.equal(r.status, 202, r.body);
		assert.deepEqual(r.json, { accepted: 0, rejected: 0, errors: [] });
	});

	test('a batch of exactly 1000 is accepted and stored in one transaction', async () => {
		const events = [];
		for (let i = 0; i < 1000; i++)
			events.push(ev(`thousand.${i}`, { outcome: i % 10 ? 'ok' : 'error' }));
		const r = await post({ events });
		assert.equal(r.status, 202, r.body);
		assert.equal(r.json.accepted, 1000);
		assert.equal(await count("operation LIKE 'thousand.%'"), 1000);
		assert.equal(await count("operation LIKE 'thousand.%' AND outcome = 'error'"), 100);
		// One statement, one transaction: every row carries the same xmin.
		assert.equal(await sql("SELECT count(DISTINCT xmin::text) FROM events WHERE operation LIKE 'thousand.%'"), '1');
	});
});

describe('refusing whole requests', () => {
	test('issue 3 "limits on batch size": more than 1000 events → 400, nothing stored', async () => {
		const events = [];
		for (let i = 0; i < 1001; i++)
			events.push(ev(`toomany.${i}`));
		const r = await post({ events });
		assert.equal(r.status, 400, r.body);
		assert.equal(r.json.error, 'invalid_request');
		assert.match(r.json.error_description, /1000/);
		assert.equal(await count("operation LIKE 'toomany.%'"), 0);
	});

	test('issue 3 "limits on ... body": a body over the server limit → 413', async () => {
		const big = JSON.stringify({ events: [ev('x'.repeat(100)), { pad: 'y'.repeat(1100 * 1024) }] });
		let status;
		try {
			status = (await post(big)).status;
		} catch (e) {
			// evhttp may close while the client is still sending; then no status arrives.
			assert.match(e.code ?? e.message, /EPIPE|ECONNRESET|socket hang up/);
			status = 413;
		}
		assert.equal(status, 413);
	});

	test('not JSON, not an object, no events array → 400', async () => {
		for (const body of ['{"events": [', 'events=1', '[]', '"events"', '{}', '{"events": {}}', '{"events": null}', '']) {
			const r = await post(body);
			assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status} ${r.body}`);
			assert.equal(r.json.error, 'invalid_request');
			assert.ok(r.json.error_description.length > 10);
		}
		const dup = await post('{"events": [], "events": []}');
		assert.equal(dup.status, 400);
	});

	test('wrong Content-Type → 415', async () => {
		for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', null]) {
			const r = await post({ events: [ev('ct')] }, { contentType: ct });
			assert.equal(r.status, 415, `${ct}: ${r.status} ${r.body}`);
			assert.equal(r.json.error, 'unsupported_media_type');
		}
		const ok = await post({ events: [ev('ct.charset')] }, { contentType: 'application/json; charset=utf-8' });
		assert.equal(ok.status, 202, ok.body);
		assert.equal(await count("operation = 'ct'"), 0);
	});
});

describe('credentials', () => {
	test('issue 3 "SDK Key only": an API Token gets 403 naming the right credential', async () => {
		const r = await post({ events: [ev('with.api.token')] }, { token: apiToken });
		assert.equal(r.status, 403, r.body);
		assert.equal(r.json.error, 'wrong_credential_type');
		assert.match(r.json.error_description, /SDK Key \(cup_sdk_/);
		assert.match(r.json.error_description, /settings\/credentials/);
		assert.equal(await count("operation = 'with.api.token'"), 0);
	});

	test('no credential → 401 with WWW-Authenticate; a malformed key → 401', async () => {
		const r = await post({ events: [ev('anon')] }, { token: null });
		assert.equal(r.status, 401, r.body);
		assert.match(r.headers['www-authenticate'], /^Bearer/);
		const bad = await post({ events: [ev('anon')] }, { token: key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A') });
		assert.equal(bad.status, 401, bad.body);
		assert.equal(await count("operation = 'anon'"), 0);
	});

	test('a revoked SDK Key → 401 (at once, through NOTIFY)', async () => {
		const k = await cli(['sdk-key', 'create', '--org', 'demo', '--project', 'web-app', '--name', 'to revoke']);
		assert.equal((await post({ events: [ev('revoke.before')] }, { token: k })).status, 202); // now cached
		await sql(`UPDATE sdk_keys SET revoked_at = now(), revoked_reason = 'revoked' WHERE name = 'to revoke'`);
		const r = await waitFor(async () => {
			const x = await post({ events: [ev('revoke.after')] }, { token: k });
			return x.status === 401 ? x : null;
		}, { timeoutMs: 3000, what: 'the revoked key to be refused' });
		assert.equal(r.json.error, 'invalid_token');
		assert.match(r.json.error_description, /revoked/);
		assert.equal(await count("operation = 'revoke.after'"), 0);
	});
});

describe('services from telemetry', () => {
	test('an unknown slug creates the service (name = slug) and the project edge, once', async () => {
		for (let i = 0; i < 3; i++) {
			const r = await post({ events: [ev(`new.svc.${i}`, { service: 'Brand-New-API' }), ev(`new.svc.b${i}`, { service: 'brand-new-api' })] });
			assert.equal(r.status, 202, r.body);
			assert.equal(r.json.accepted, 2);
		}
		assert.equal(await sql("SELECT count(*) || '|' || min(name) FROM services WHERE slug = 'brand-new-api'"), '1|brand-new-api');
		assert.equal(await sql("SELECT count(*) FROM project_services ps JOIN services s ON s.id = ps.service_id " +
			"JOIN projects p ON p.id = ps.project_id WHERE s.slug = 'brand-new-api' AND p.slug = 'web-app'"), '1');
		assert.equal(await count("operation LIKE 'new.svc.%'"), 6);

		// The REST API shows it as a dependency of the project.
		const proj = await request({ port: srv.port, path: '/api/v1/projects/web-app',
			headers: { authorization: `Bearer ${apiToken}` } });
		assert.equal(proj.status, 200, proj.body);
		assert.ok(proj.json.services.some((s) => s.slug === 'brand-new-api'), proj.body);
	});

	test('a key of another project adds that project\'s edge to an existing service', async () => {
		const k = await cli(['sdk-key', 'create', '--org', 'demo', '--project', 'billing-worker']);
		const r = await post({ events: [ev('edge.billing', { service: 'brand-new-api' })] }, { token: k });
		assert.equal(r.status, 202, r.body);
		assert.equal(await sql("SELECT string_agg(p.slug, ',' ORDER BY p.slug) FROM project_services ps " +
			"JOIN services s ON s.id = ps.service_id JOIN projects p ON p.id = ps.project_id " +
			"WHERE s.slug = 'brand-new-api'"), 'billing-worker,web-app');
		assert.equal(await sql("SELECT count(*) FROM services WHERE slug = 'brand-new-api'"), '1');
	});

	test('the same slug in another org is another org\'s service', async () => {
		await cli(['org', 'add', '--slug', 'other', '--name', 'Other Org']);
		await sql("INSERT INTO projects (org_id, slug, name) SELECT id, 'other-app', 'Other App' FROM orgs WHERE slug = 'other'");
		const k = await cli(['sdk-key', 'create', '--org', 'other', '--project', 'other-app']);
		const r = await post({ events: [ev('other.org', { service: 'stripe' })] }, { token: k });
		assert.equal(r.status, 202, r.body);
		assert.equal(await sql("SELECT count(*) FROM services WHERE slug = 'stripe'"), '2');
		assert.equal(await sql("SELECT o.slug FROM events e JOIN services s ON s.id = e.service_id " +
			"JOIN orgs o ON o.id = s.org_id WHERE e.operation = 'other.org'"), 'other');
		assert.equal(await sql("SELECT count(*) FROM events e JOIN services s ON s.id = e.service_id " +
			"WHERE e.operation = 'other.org' AND s.org_id <> e.org_id"), '0');
	});

	test('at most 200 services per org: events for more new services are refused with a clear error', async () => {
		const have = Number(await sql("SELECT count(*) FROM services s JOIN orgs o ON o.id = s.org_id WHERE o.slug = 'demo'"));
		const room = 200 - have;
		assert.ok(room > 10, `room for ${room}`);
		const events = [];
		for (let i = 0; i < room + 5; i++)
			events.push(ev(`bound.${i}`, { service: `bulk-${String(i).padStart(3, '0')}` }));
		events.push(ev('bound.existing', { service: 'stripe' }));
		const r = await post({ events });
		assert.equal(r.status, 202, r.body);
		assert.equal(r.json.accepted, room + 1);
		assert.equal(r.json.rejected, 5);
		assert.deepEqual(r.json.errors.map((e) => e.index), [room, room + 1, room + 2, room + 3, room + 4]);
		for (const e of r.json.errors) {
			assert.equal(e.field, 'service');
			assert.match(e.error, /200 services/);
		}
		assert.equal(await sql("SELECT count(*) FROM services s JOIN orgs o ON o.id = s.org_id WHERE o.slug = 'demo'"), '200');
		// the first ones in the batch got the slots
		assert.equal(await sql(`SELECT count(*) FROM services WHERE slug = 'bulk-${String(room - 1).padStart(3, '0')}'`), '1');
		assert.equal(await sql(`SELECT count(*) FROM services WHERE slug = 'bulk-${String(room).padStart(3, '0')}'`), '0');

		// Full: existing services still take events, new ones are refused.
		const again = await post({ events: [ev('full.old', { service: 'bulk-000' }), ev('full.new', { service: 'one-more' })] });
		assert.equal(again.status, 202, again.body);
		assert.equal(again.json.accepted, 1);
		assert.deepEqual(again.json.errors.map((e) => [e.index, e.field]), [[1, 'service']]);
		assert.equal(await count("operation = 'full.old'"), 1);

		// Concurrent requests cannot push past the bound either.
		await sql("DELETE FROM services WHERE slug IN ('bulk-000', 'bulk-001')");
		const racers = [];
		for (let i = 0; i < 6; i++)
			racers.push(post({ events: [ev(`race.${i}`, { service: `racer-${i}` })] }));
		const answers = await Promise.all(racers);
		assert.equal(answers.reduce((n, a) => n + a.json.accepted, 0), 2);
		assert.equal(await sql("SELECT count(*) FROM services s JOIN orgs o ON o.id = s.org_id WHERE o.slug = 'demo'"), '200');
	});
});

describe('SQL injection', () => {
	const NASTY = [
		"'; DROP TABLE events; --",
		"x' OR '1'='1",
		'"); DELETE FROM services; --',
		'{a,b}',
		'{"x","y"}',
		'NULL',
		'\\',
		'\\"',
		'$1',
		"E'\\x00'",
		'ünïcødé ✓ 日本語 🚀',
		'a,b,"c"',
	];

	test('operations that look like SQL or array syntax are stored verbatim', async () => {
		const events = NASTY.map((op) => ev(op, { service: 'sendgrid' }));
		const r = await post({ events });
		assert.equal(r.status, 202, r.body);
		assert.equal(r.json.accepted, NASTY.length);
		// hex, so psql's output format cannot blur what is stored
		const stored = (await sql("SELECT string_agg(encode(convert_to(e.operation, 'UTF8'), 'hex'), ',') " +
			"FROM events e JOIN services s ON s.id = e.service_id WHERE s.slug = 'sendgrid'")).split(',');
		const got = stored.map((h) => Buffer.from(h, 'hex').toString('utf8'));
		assert.deepEqual(got.sort(), [...NASTY].sort());
		assert.equal(await sql("SELECT to_regclass('events') IS NOT NULL AND to_regclass('services') IS NOT NULL"), 't');
	});

	test('service names that look like SQL are refused per event; tables intact', async () => {
		const services = ["x'; DROP TABLE services; --", 'a"b', 'a,b', 'a}b', 'NULL ', "stripe' --"];
		const before = await sql('SELECT count(*) FROM services');
		const r = await post({ events: [...services.map((s) => ev('inj.svc', { service: s })), ev('inj.ok')] });
		assert.equal(r.status, 202, r.body);
		assert.equal(r.json.accepted, 1);
		assert.equal(r.json.rejected, services.length);
		assert.ok(r.json.errors.every((e) => e.field === 'service'));
		assert.equal(await sql('SELECT count(*) FROM services'), before);
		assert.equal(await count("operation = 'inj.svc'"), 0);
	});
});
