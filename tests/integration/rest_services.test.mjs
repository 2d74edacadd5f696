// Issue 3, REST: services (upstream dependencies with current status and a
// status timeline) and the dependency graph, over real HTTP and PostgreSQL:
// filters, id-or-slug lookups, pagination, ETag/304, other-org isolation
// and injection attempts in every filter and id.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { assertError, Fixture, INJECTIONS, UUID_RE } from './rest_fixture.mjs';

let f, other;   // the fixture; the other org's service

before(async () => {
	f = await Fixture.start();
	// A service of the other org, with a status and a history entry.
	other = await f.sql(`WITH s AS (INSERT INTO services (org_id, slug, name, provider, category)
		VALUES ('${f.ids.otherOrg}', 'stripe', 'Stripe (other)', 'stripe', 'payments') RETURNING id),
		st AS (INSERT INTO service_status (service_id, status) SELECT id, 'major_outage' FROM s),
		h AS (INSERT INTO service_status_history (service_id, status, reason) SELECT id, 'major_outage', 'x' FROM s)
		SELECT id FROM s`);
	// Many history entries for one demo service, to exercise timeline_limit.
	await f.sql(`INSERT INTO service_status_history (service_id, status, changed_at, reason)
		SELECT s.id, CASE WHEN g % 2 = 0 THEN 'degraded' ELSE 'operational' END,
		  now() - make_interval(days => 3, mins => g), 'synthetic ' || g
		FROM services s JOIN orgs o ON o.id = s.org_id, generate_series(1, 120) g
		WHERE o.slug = 'demo' AND s.slug = 'twilio'`);
});
after(() => f?.finish());

describe('GET /api/v1/services', () => {
	test('lists the demo services with their current status', async () => {
		const page = await f.get(f.read, '/api/v1/services');
		assert.equal(page.next_cursor, null);
		const bySlug = Object.fromEntries(page.data.map((s) => [s.slug, s]));
		assert.deepEqual(Object.keys(bySlug).sort(), ['aws-s3', 'github', 'sendgrid', 'stripe', 'twilio']);
		assert.equal(bySlug.stripe.status, 'partial_outage');
		assert.equal(bySlug.github.status, 'degraded');
		assert.ok(Math.abs(bySlug.stripe.error_rate - 0.184) < 1e-9);
		for (const s of page.data) {
			assert.match(s.id, UUID_RE);
			for (const k of ['name', 'provider', 'category', 'homepage_url', 'created_at', 'sample_count'])
				assert.ok(k in s, `${k} in ${JSON.stringify(s)}`);
		}
		assert.ok(!page.data.some((s) => s.id === other), 'another org\'s service is not listed');
	});

	test('pages with limit=1 until next_cursor is null: every service once, in order', async () => {
		const all = await f.pageAll(f.read, '/api/v1/services');
		assert.equal(all.length, 5);
		// The seed inserts all five in one transaction: equal created_at, so
		// the id tie-break is what keeps pages apart.
		assert.equal(new Set(all.map((s) => s.created_at)).size, 1);
		const big = await f.get(f.read, '/api/v1/services?limit=200');
		assert.deepEqual(all.map((s) => s.id), big.data.map((s) => s.id));
	});

	test('filters: status, project (id or slug), q, and their combination', async () => {
		const st = await f.get(f.read, '/api/v1/services?status=operational');
		assert.deepEqual(st.data.map((s) => s.slug).sort(), ['aws-s3', 'sendgrid', 'twilio']);
		const bySlug = await f.get(f.read, '/api/v1/services?project=billing-worker');
		assert.deepEqual(bySlug.data.map((s) => s.slug).sort(), ['aws-s3', 'sendgrid', 'stripe', 'twilio']);
		const pid = await f.sql("SELECT p.id FROM projects p JOIN orgs o ON o.id = p.org_id WHERE o.slug = 'demo' AND p.slug = 'web-app'");
		const byId = await f.get(f.read, `/api/v1/services?project=${pid}`);
		assert.deepEqual(byId.data.map((s) => s.slug).sort(), ['aws-s3', 'github', 'sendgrid', 'stripe']);
		const q = await f.get(f.read, '/api/v1/services?q=twilio');
		assert.deepEqual(q.data.map((s) => s.slug).sort(), ['sendgrid', 'twilio'], 'provider twilio matches SendGrid too');
		const words = await f.get(f.read, `/api/v1/services?q=${encodeURIComponent('aws storage')}`);
		assert.deepEqual(words.data.map((s) => s.slug), ['aws-s3']);
		const both = await f.get(f.read, '/api/v1/services?project=web-app&status=degraded');
		assert.deepEqual(both.data.map((s) => s.slug), ['github']);
		const none = await f.get(f.read, '/api/v1/services?project=no-such-project');
		assert.deepEqual(none.data, []);
	});

	test('bad filters and cursors are 400 with the field', async () => {
		assertError(await f.api(f.read, 'GET', '/api/v1/services?status=broken'), 400, 'status');
		assertError(await f.api(f.read, 'GET', '/api/v1/services?project=Not%20A%20Slug'), 400, 'project');
		assertError(await f.api(f.read, 'GET', `/api/v1/services?q=${'x'.repeat(201)}`), 400, 'q');
		assertError(await f.api(f.read, 'GET', '/api/v1/services?cursor=garbage'), 400, 'cursor');
		assertError(await f.api(f.read, 'GET', '/api/v1/services?cursor=MjAyNnxub3Bl'), 400, 'cursor');
		assertError(await f.api(f.read, 'GET', '/api/v1/services?limit=0'), 400, 'limit');
		assertError(await f.api(f.read, 'GET', '/api/v1/services?limit=201'), 400, 'limit');
		assertError(await f.api(f.read, 'GET', '/api/v1/services?limit=abc'), 400, 'limit');
	});
});

describe('GET /api/v1/services/{id}', () => {
	test('by slug and by id: status, error rate, projects, open incidents, timeline (newest first)', async () => {
		const s = await f.get(f.read, '/api/v1/services/stripe');
		assert.equal(s.slug, 'stripe');
		assert.equal(s.status, 'partial_outage');
		assert.ok(Math.abs(s.error_rate - 0.184) < 1e-9);
		assert.deepEqual(s.projects.map((p) => p.slug).sort(), ['billing-worker', 'web-app']);
		assert.equal(s.open_incidents, 1);
		assert.deepEqual(s.timeline.map((t) => t.status), ['partial_outage', 'degraded']);
		const again = await f.get(f.read, `/api/v1/services/${s.id}`);
		assert.deepEqual(again, s);
		const upper = await f.get(f.read, `/api/v1/services/${s.id.toUpperCase()}`);
		assert.equal(upper.id, s.id);
	});

	test('timeline_limit: default 50, any 1..500, newest first; else 400', async () => {
		const d = await f.get(f.read, '/api/v1/services/twilio');
		assert.equal(d.timeline.length, 50);
		const five = await f.get(f.read, '/api/v1/services/twilio?timeline_limit=5');
		assert.deepEqual(five.timeline.map((t) => t.reason), d.timeline.slice(0, 5).map((t) => t.reason));
		for (let i = 1; i < d.timeline.length; i++)
			assert.ok(Date.parse(d.timeline[i - 1].changed_at) >= Date.parse(d.timeline[i].changed_at));
		const all = await f.get(f.read, '/api/v1/services/twilio?timeline_limit=500');
		assert.equal(all.timeline.length, 120);
		for (const bad of ['0', '501', '-1', 'x', '1.5'])
			assertError(await f.api(f.read, 'GET', `/api/v1/services/twilio?timeline_limit=${bad}`), 400, 'timeline_limit');
	});

	test('another org\'s service is 404 by id, and its slug finds only our own', async () => {
		const r = await f.api(f.read, 'GET', `/api/v1/services/${other}`);
		assertError(r, 404);
		assert.doesNotMatch(r.body, /other/i);
		const mine = await f.get(f.read, '/api/v1/services/stripe');
		assert.notEqual(mine.id, other);
		const theirs = await f.get(f.eve, '/api/v1/services/stripe');
		assert.equal(theirs.id, other);
		assert.equal(theirs.status, 'major_outage');
	});

	test('ETag, then If-None-Match answers 304 with no body', async () => {
		const r1 = await f.api(f.read, 'GET', '/api/v1/services/stripe');
		assert.equal(r1.status, 200);
		const etag = r1.headers.etag;
		assert.match(etag, /^W\/"[0-9a-f]{32}"$/);
		const r2 = await f.api(f.read, 'GET', '/api/v1/services/stripe', undefined, { headers: { 'if-none-match': etag } });
		assert.equal(r2.status, 304);
		assert.equal(r2.body, '');
		const l1 = await f.api(f.read, 'GET', '/api/v1/services');
		const l2 = await f.api(f.read, 'GET', '/api/v1/services', undefined, { headers: { 'if-none-match': l1.headers.etag } });
		assert.equal(l2.status, 304);
		// A status change gives a new tag.
		await f.sql("UPDATE service_status SET error_rate = 0.19 WHERE service_id = (SELECT id FROM services WHERE slug = 'stripe' AND org_id = (SELECT id FROM orgs WHERE slug = 'demo'))");
		const r3 = await f.api(f.read, 'GET', '/api/v1/services/stripe', undefined, { headers: { 'if-none-match': etag } });
		assert.equal(r3.status, 200);
		assert.notEqual(r3.headers.etag, etag);
	});
});

describe('GET /api/v1/dependency-graph', () => {
	test('projects with their service ids, services with statuses, all of this org only', async () => {
		const g = await f.get(f.read, '/api/v1/dependency-graph');
		assert.deepEqual(g.projects.map((p) => p.slug).sort(), ['billing-worker', 'web-app']);
		assert.equal(g.services.length, 5);
		const svcById = Object.fromEntries(g.services.map((s) => [s.id, s]));
		for (const p of g.projects) {
			assert.match(p.id, UUID_RE);
			assert.equal(p.services.length, 4);
			for (const id of p.services)
				assert.ok(svcById[id], `edge to a listed service ${id}`);
		}
		const web = g.projects.find((p) => p.slug === 'web-app');
		assert.deepEqual(web.services.map((id) => svcById[id].slug).sort(), ['aws-s3', 'github', 'sendgrid', 'stripe']);
		assert.equal(g.services.find((s) => s.slug === 'stripe').status, 'partial_outage');
		assert.ok(!svcById[other]);
		const theirs = await f.get(f.eve, '/api/v1/dependency-graph');
		assert.deepEqual(theirs.projects, []);
		assert.deepEqual(theirs.services.map((s) => s.id), [other]);
	});
});

describe('injection attempts', () => {
	test('in every filter and id: 4xx or empty, never 500, tables intact', async () => {
		const before = await f.tableCounts();
		for (const s of INJECTIONS) {
			const e = encodeURIComponent(s);
			for (const p of [`/api/v1/services?status=${e}`, `/api/v1/services?project=${e}`,
				`/api/v1/services?q=${e}`, `/api/v1/services?cursor=${e}`, `/api/v1/services?limit=${e}`,
				`/api/v1/services/${e}`, `/api/v1/services/stripe?timeline_limit=${e}`]) {
				const r = await f.api(f.read, 'GET', p);
				assert.ok(r.status < 500, `${p}: ${r.status} ${r.body}`);
				if (r.status === 200 && Array.isArray(r.json.data))
					assert.ok(r.json.data.length === 0 || p.includes('q='), `${p}: ${r.body.slice(0, 200)}`);
			}
		}
		// q is free text: an injection string is just words to search for.
		const q = await f.get(f.read, `/api/v1/services?q=${encodeURIComponent("' OR 1=1 --")}`);
		assert.deepEqual(q.data, []);
		assert.deepEqual(await f.tableCounts(), before);
	});
});
