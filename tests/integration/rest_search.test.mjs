// Issue 3, REST: GET /api/v1/search (read) over real HTTP and PostgreSQL:
// hits across incidents, services and runbooks as {type, id, title,
// snippet}, best first, at most 50; 400 for an empty q; the other org's
// objects never found; injection strings are only text to search for.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { assertError, Fixture, INJECTIONS, UUID_RE } from './rest_fixture.mjs';

let f;

before(async () => {
	f = await Fixture.start();
	// 60 incidents that all match "needle", and one of the other org.
	await f.sql(`INSERT INTO incidents (org_id, title) SELECT '${f.ids.demoOrg}', 'needle number ' || g
		FROM generate_series(1, 60) g`);
	assert.equal((await f.api(f.eve, 'POST', '/api/v1/incidents', { title: 'needle of the other org' })).status, 201);
	assert.equal((await f.api(f.eve, 'POST', '/api/v1/runbooks', { title: 'Stripe at other', body: 'stripe' })).status, 201);
});
after(() => f?.finish());

const search = (q, extra = '', token = f.read) =>
	f.api(token, 'GET', `/api/v1/search?q=${encodeURIComponent(q)}${extra}`);

describe('GET /api/v1/search', () => {
	test('finds incidents, services and runbooks; every hit resolves through its own route', async () => {
		const r = await search('stripe');
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.next_cursor, null);
		const types = new Set(r.json.data.map((h) => h.type));
		assert.deepEqual([...types].sort(), ['incident', 'runbook', 'service']);
		for (const h of r.json.data) {
			assert.deepEqual(Object.keys(h).sort(), ['id', 'snippet', 'title', 'type']);
			assert.match(h.id, UUID_RE);
			const got = await f.get(f.read, `/api/v1/${h.type}s/${h.id}`);
			assert.equal(got.title ?? got.name, h.title);
		}
		const svc = r.json.data.find((h) => h.type === 'service');
		assert.equal(svc.title, 'Stripe');
		assert.equal(svc.snippet, 'stripe, payments');
		const rb = r.json.data.find((h) => h.type === 'runbook');
		assert.match(rb.snippet, /\*\*Stripe\*\*/i, 'the matched words are marked');
		assert.ok(!r.json.data.some((h) => h.title === 'Stripe at other'));
	});

	test('web search syntax: phrases and exclusions', async () => {
		const phrase = (await search('"access keys"')).json.data;
		assert.deepEqual(phrase.map((h) => h.title), ['Rotate AWS S3 access keys']);
		const minus = (await search('email -sendgrid')).json.data;
		assert.ok(minus.every((h) => !/sendgrid/i.test(h.title)), JSON.stringify(minus));
		assert.deepEqual((await search('nothing-matches-this-zzz')).json.data, []);
	});

	test('at most 50 hits (default 20), limit 1..50; none of the other org', async () => {
		const d = (await search('needle')).json.data;
		assert.equal(d.length, 20);
		const max = (await search('needle', '&limit=50')).json.data;
		assert.equal(max.length, 50);
		assert.equal(new Set(max.map((h) => h.id)).size, 50);
		assert.ok(max.every((h) => h.type === 'incident' && h.title.startsWith('needle number')));
		assert.equal((await search('needle', '&limit=1')).json.data.length, 1);
		for (const bad of ['0', '51', 'x'])
			assertError(await search('needle', `&limit=${bad}`), 400, 'limit');
		const theirs = (await search('needle', '&limit=50', f.eve)).json.data;
		assert.deepEqual(theirs.map((h) => h.title), ['needle of the other org']);
	});

	test('empty, missing or over-long q is 400 on q', async () => {
		assertError(await f.api(f.read, 'GET', '/api/v1/search'), 400, 'q');
		assertError(await f.api(f.read, 'GET', '/api/v1/search?q='), 400, 'q');
		assertError(await search('x'.repeat(201)), 400, 'q');
		assertError(await search('tab\there'), 400, 'q');
	});

	test('ETag then If-None-Match is 304', async () => {
		const r1 = await search('stripe');
		const r2 = await f.api(f.read, 'GET', '/api/v1/search?q=stripe', undefined,
			{ headers: { 'if-none-match': r1.headers.etag } });
		assert.equal(r2.status, 304);
	});

	test('injection strings are text to search for: 200 or 400, never 500; tables intact', async () => {
		const before = await f.tableCounts();
		for (const s of INJECTIONS) {
			const r = await search(s);
			assert.ok(r.status === 200 || r.status === 400, `${s.slice(0, 40)}: ${r.status} ${r.body.slice(0, 200)}`);
			if (r.status === 200)
				assert.ok(r.json.data.length <= 20);
		}
		assert.deepEqual((await search("'; DROP TABLE incidents; --")).json.data, []);
		assert.deepEqual(await f.tableCounts(), before);
	});
});
