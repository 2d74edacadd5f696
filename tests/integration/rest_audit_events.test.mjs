// Issue 3, REST: GET /api/v1/audit-events (admin) over real HTTP and
// PostgreSQL: the rows every write of the REST resources leaves, filters
// (action exact and prefix*, actor, target, since), integer ids paged with
// the shared cursors, isolation between orgs, and injection attempts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { assertError, assertScope, Fixture, INJECTIONS } from './rest_fixture.mjs';

let f, tokenId, inc, rb, al;

before(async () => {
	f = await Fixture.start();
	tokenId = (await f.get(f.write, '/api/v1/whoami')).token.id;
	// One of each write, all with the write token.
	const post = async (p, body) => {
		const r = await f.api(f.write, 'POST', p, body);
		assert.ok(r.status === 201 || r.status === 200, `${p}: ${r.body}`);
		return r.json;
	};
	inc = await post('/api/v1/incidents', { title: 'Audited', service: 'stripe' });
	await f.api(f.write, 'PATCH', `/api/v1/incidents/${inc.id}`, { status: 'identified' });
	await post(`/api/v1/incidents/${inc.id}/acknowledge`);
	await post(`/api/v1/incidents/${inc.id}/notes`, { body: 'a note' });
	rb = await post('/api/v1/runbooks', { title: 'Audited runbook' });
	await f.api(f.write, 'PATCH', `/api/v1/runbooks/${rb.id}`, { body: 'changed' });
	await f.api(f.write, 'DELETE', `/api/v1/runbooks/${rb.id}`);
	al = await post('/api/v1/alerts', { name: 'A', condition: 'status_at_least', min_status: 'degraded',
		channel: 'email', target: 'a@example.com' });
	await f.api(f.write, 'PATCH', `/api/v1/alerts/${al.id}`, { enabled: false });
	await f.api(f.write, 'DELETE', `/api/v1/alerts/${al.id}`);
	// The other org writes too; none of it may show up here.
	assert.equal((await f.api(f.eve, 'POST', '/api/v1/incidents', { title: 'Theirs' })).status, 201);
});
after(() => f?.finish());

describe('GET /api/v1/audit-events', () => {
	test('admin scope only', async () => {
		assertScope(await f.api(f.read, 'GET', '/api/v1/audit-events'));
		assertScope(await f.api(f.write, 'GET', '/api/v1/audit-events'));
		assert.equal((await f.api(f.admin, 'GET', '/api/v1/audit-events')).status, 200);
	});

	test('every write of the REST resources left one row, with actor, target, ip and user agent', async () => {
		const mine = await f.audit(`actor=${tokenId}`);
		assert.deepEqual(mine.map((e) => e.action).reverse(), [
			'incident.create', 'incident.update', 'incident.acknowledge', 'incident.note',
			'runbook.create', 'runbook.update', 'runbook.delete', 'alert.create', 'alert.update', 'alert.delete']);
		for (const e of mine) {
			assert.equal(typeof e.id, 'number');
			assert.deepEqual(e.actor, { kind: 'api_token', id: tokenId, user_id: f.ids.demoUser });
			assert.equal(e.ip, '127.0.0.1');
			assert.equal(typeof e.user_agent, 'string');
			assert.equal(typeof e.metadata, 'object');
		}
		assert.deepEqual(mine.find((e) => e.action === 'incident.create').target, { kind: 'incident', id: inc.id });
		assert.ok(!(await f.audit()).some((e) => e.metadata?.title === 'Theirs'), 'other org\'s events stay hidden');
		const theirs = await f.get(f.eve, '/api/v1/audit-events?limit=200');
		assert.ok(theirs.data.some((e) => e.metadata?.title === 'Theirs'));
		assert.ok(!theirs.data.some((e) => e.actor.id === tokenId));
	});

	test('filters: exact action, prefix*, *, actor (token or user id), target, since', async () => {
		const all = await f.audit();
		const check = async (q, pred) => {
			const got = await f.audit(q);
			assert.deepEqual(got.map((e) => e.id), all.filter(pred).map((e) => e.id), q);
			return got;
		};
		assert.equal((await check('action=incident.note', (e) => e.action === 'incident.note')).length, 1);
		assert.equal((await check('action=incident.*', (e) => e.action.startsWith('incident.'))).length, 4);
		assert.equal((await check('action=runbook*', (e) => e.action.startsWith('runbook'))).length, 3);
		await check('action=*', () => true);
		await check('action=incident', () => false);
		await check(`actor=${tokenId}`, (e) => e.actor.id === tokenId);
		await check(`actor=${f.ids.demoUser}`, (e) => e.actor.user_id === f.ids.demoUser);
		await check('actor=cli', (e) => e.actor.id === 'cli');
		await check(`target=${inc.id}`, (e) => e.target.id === inc.id);
		await check(`target=${rb.id}&action=runbook.delete`, (e) => e.target.id === rb.id && e.action === 'runbook.delete');
		await check(`since=${encodeURIComponent(new Date(Date.now() + 3600e3).toISOString())}`, () => false);
		await check('since=2000-01-01T00:00:00Z', () => true);
	});

	test('pages with limit=1 until next_cursor is null: integer ids, no duplicates, no gaps', async () => {
		const paged = await f.pageAll(f.admin, '/api/v1/audit-events');
		const all = await f.audit();
		assert.ok(all.length >= 10);
		assert.deepEqual(paged.map((e) => e.id), all.map((e) => e.id));
		const count = Number(await f.sql(`SELECT count(*) FROM audit_events WHERE org_id = '${f.ids.demoOrg}'`));
		assert.equal(paged.length, count);
		assert.ok(paged.every((e) => Number.isInteger(e.id)));
		const filtered = await f.pageAll(f.admin, '/api/v1/audit-events?action=incident.*', { limit: 3 });
		assert.equal(filtered.length, 4);
		const e1 = await f.api(f.admin, 'GET', '/api/v1/audit-events?action=incident.*');
		assert.equal((await f.api(f.admin, 'GET', '/api/v1/audit-events?action=incident.*', undefined,
			{ headers: { 'if-none-match': e1.headers.etag } })).status, 304);
	});

	test('bad filters and cursors are 400 with the field', async () => {
		for (const bad of ['Incident.Create', 'a b', '**', 'x*y', '', 'a'.repeat(101)])
			if (bad)
				assertError(await f.api(f.admin, 'GET', `/api/v1/audit-events?action=${encodeURIComponent(bad)}`), 400, 'action');
		assertError(await f.api(f.admin, 'GET', '/api/v1/audit-events?since=last-week'), 400, 'since');
		assertError(await f.api(f.admin, 'GET', `/api/v1/audit-events?actor=${'a'.repeat(201)}`), 400, 'actor');
		assertError(await f.api(f.admin, 'GET', `/api/v1/audit-events?target=${encodeURIComponent('a\u0001')}`), 400, 'target');
		assertError(await f.api(f.admin, 'GET', '/api/v1/audit-events?cursor=xyz'), 400, 'cursor');
		assertError(await f.api(f.admin, 'GET', '/api/v1/audit-events?limit=1000'), 400, 'limit');
	});

	test('injection attempts in every filter: 4xx or empty, tables intact', async () => {
		const before = await f.tableCounts();
		for (const s of INJECTIONS) {
			const e = encodeURIComponent(s);
			for (const k of ['action', 'actor', 'target', 'since', 'cursor', 'limit']) {
				const r = await f.api(f.admin, 'GET', `/api/v1/audit-events?${k}=${e}`);
				const ok = (r.status >= 400 && r.status < 500) || (r.status === 200 && r.json.data.length === 0) ||
					(r.status === 200 && k === 'action' && s === '*');
				assert.ok(ok, `${k}=${s.slice(0, 40)}: ${r.status} ${r.body.slice(0, 200)}`);
			}
		}
		assert.deepEqual(await f.tableCounts(), before);
	});
});
