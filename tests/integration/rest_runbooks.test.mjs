// Issue 3, REST: runbooks (CRUD, text search, service link) over real HTTP
// and PostgreSQL: scopes, validation, pagination, audit rows, other-org
// isolation and injection attempts in every filter and id.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { assertError, assertScope, Fixture, INJECTIONS, UUID_RE } from './rest_fixture.mjs';

let f, theirs;

const create = async (body, token = f.write) => {
	const r = await f.api(token, 'POST', '/api/v1/runbooks', body);
	assert.equal(r.status, 201, `create ${JSON.stringify(body).slice(0, 100)}: ${r.body}`);
	return r.json;
};

before(async () => {
	f = await Fixture.start();
	const r = await f.api(f.eve, 'POST', '/api/v1/runbooks', { title: 'Their runbook', body: 'secret procedure' });
	assert.equal(r.status, 201, r.body);
	theirs = r.json;
});
after(() => f?.finish());

describe('runbooks CRUD', () => {
	test('create (with service slug), get, patch (unlink, body), delete; each write audited', async () => {
		const rb = await create({ title: 'Twilio SMS failing', body: '# Steps\n\n1. Check the **status** page', service: 'twilio' });
		assert.match(rb.id, UUID_RE);
		assert.equal(rb.service.slug, 'twilio');
		assert.equal(rb.created_by, f.ids.demoUser);
		const got = await f.get(f.read, `/api/v1/runbooks/${rb.id}`);
		assert.equal(got.body, '# Steps\n\n1. Check the **status** page');
		let r = await f.api(f.write, 'PATCH', `/api/v1/runbooks/${rb.id}`, { service: null, body: 'new body' });
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.service, null);
		assert.equal(r.json.body, 'new body');
		assert.equal(r.json.title, 'Twilio SMS failing');
		r = await f.api(f.write, 'PATCH', `/api/v1/runbooks/${rb.id}`, { title: 'Renamed', service: 'stripe' });
		assert.equal(r.json.service.slug, 'stripe');
		r = await f.api(f.write, 'PATCH', `/api/v1/runbooks/${rb.id}`, { title: 'Renamed' });
		assert.equal(r.status, 200, 'a no-op update answers the runbook');
		r = await f.api(f.write, 'DELETE', `/api/v1/runbooks/${rb.id}`);
		assert.equal(r.status, 200, r.body);
		assert.deepEqual(r.json, { id: rb.id, deleted: true });
		assertError(await f.api(f.read, 'GET', `/api/v1/runbooks/${rb.id}`), 404);
		assertError(await f.api(f.write, 'DELETE', `/api/v1/runbooks/${rb.id}`), 404);
		const ev = (await f.audit(`target=${rb.id}`)).reverse();
		assert.deepEqual(ev.map((e) => e.action), ['runbook.create', 'runbook.update', 'runbook.update', 'runbook.delete']);
		assert.deepEqual(ev[1].metadata.changed, ['body', 'service']);
		assert.deepEqual(ev[2].metadata.changed, ['title', 'service']);
		assert.equal(ev[3].metadata.title, 'Renamed');
	});

	test('validation: 400 with the field', async () => {
		const id = (await create({ title: 'Valid' })).id;
		for (const [body, field] of [[{}, 'title'], [{ title: '' }, 'title'], [{ title: 'x'.repeat(301) }, 'title'],
			[{ title: 't', body: 'x'.repeat(200001) }, 'body'], [{ title: 't', body: 'bell\u0007' }, 'body'],
			[{ title: 't', service: 'nope' }, 'service'], [{ title: 't', service: 'NOT OK' }, 'service'],
			[{ title: 't', extra: 1 }, 'extra'], [{ title: ['t'] }, 'title']])
			assertError(await f.api(f.write, 'POST', '/api/v1/runbooks', body), 400, field);
		assertError(await f.api(f.write, 'POST', '/api/v1/runbooks', { title: 't', body: 'nul\u0000' }), 400);
		assertError(await f.api(f.write, 'PATCH', `/api/v1/runbooks/${id}`, {}), 400);
		assertError(await f.api(f.write, 'PATCH', `/api/v1/runbooks/${id}`, { service: 'no-such' }), 400, 'service');
		assertError(await f.api(f.write, 'PATCH', `/api/v1/runbooks/${id}`, { title: 'a\tb' }), 400, 'title');
		const big = await create({ title: 'Big', body: '#'.repeat(200000) });
		assert.equal((await f.get(f.read, `/api/v1/runbooks/${big.id}`)).body.length, 200000);
	});

	test('a read token cannot write: 403 insufficient_scope', async () => {
		const id = (await create({ title: 'Scoped' })).id;
		assertScope(await f.api(f.read, 'POST', '/api/v1/runbooks', { title: 'x' }));
		assertScope(await f.api(f.read, 'PATCH', `/api/v1/runbooks/${id}`, { title: 'x' }));
		assertScope(await f.api(f.read, 'DELETE', `/api/v1/runbooks/${id}`));
		assert.equal((await f.get(f.read, `/api/v1/runbooks/${id}`)).title, 'Scoped');
	});
});

describe('list, search, pagination', () => {
	test('limit=1 pages: every runbook once, newest first, with excerpts not bodies', async () => {
		const all = await f.pageAll(f.read, '/api/v1/runbooks');
		const n = Number(await f.sql(`SELECT count(*) FROM runbooks WHERE org_id = '${f.ids.demoOrg}'`));
		assert.equal(all.length, n);
		for (const rb of all) {
			assert.ok(!('body' in rb));
			assert.ok(rb.excerpt.length <= 200);
		}
		assert.ok(!all.some((rb) => rb.id === theirs.id));
	});

	test('q searches title and body (web search syntax); service filters', async () => {
		const keys = await f.get(f.read, `/api/v1/runbooks?q=${encodeURIComponent('access keys')}`);
		assert.deepEqual(keys.data.map((r) => r.title), ['Rotate AWS S3 access keys']);
		const body = await f.get(f.read, '/api/v1/runbooks?q=kubectl');
		assert.deepEqual(body.data.map((r) => r.title), ['Stripe API errors or timeouts']);
		const phrase = await f.get(f.read, `/api/v1/runbooks?q=${encodeURIComponent('"rate limit" -stripe')}`);
		assert.deepEqual(phrase.data.map((r) => r.title), ['Email delivery failing (SendGrid)']);
		const svc = await f.get(f.read, '/api/v1/runbooks?service=sendgrid');
		assert.deepEqual(svc.data.map((r) => r.title), ['Email delivery failing (SendGrid)']);
		assert.deepEqual((await f.get(f.read, '/api/v1/runbooks?q=procedure')).data, [], 'not the other org\'s');
		const paged = await f.pageAll(f.read, '/api/v1/runbooks?q=the');
		assert.ok(paged.length >= 2);
		assertError(await f.api(f.read, 'GET', `/api/v1/runbooks?q=${'q'.repeat(201)}`), 400, 'q');
		assertError(await f.api(f.read, 'GET', '/api/v1/runbooks?service=Bad%20Slug'), 400, 'service');
		assertError(await f.api(f.read, 'GET', '/api/v1/runbooks?cursor=bad'), 400, 'cursor');
	});

	test('ETag then If-None-Match is 304', async () => {
		const r1 = await f.api(f.read, 'GET', '/api/v1/runbooks');
		const r2 = await f.api(f.read, 'GET', '/api/v1/runbooks', undefined, { headers: { 'if-none-match': r1.headers.etag } });
		assert.equal(r2.status, 304);
		const id = r1.json.data[0].id;
		const g1 = await f.api(f.read, 'GET', `/api/v1/runbooks/${id}`);
		const g2 = await f.api(f.read, 'GET', `/api/v1/runbooks/${id}`, undefined, { headers: { 'if-none-match': g1.headers.etag } });
		assert.equal(g2.status, 304);
	});
});

describe('isolation and injection', () => {
	test('another org\'s runbook is 404 on get, patch and delete, and stays as it was', async () => {
		for (const [m, body] of [['GET'], ['PATCH', { title: 'mine now' }], ['DELETE']])
			assertError(await f.api(f.admin, m, `/api/v1/runbooks/${theirs.id}`, body), 404);
		const still = await f.get(f.eve, `/api/v1/runbooks/${theirs.id}`);
		assert.equal(still.title, 'Their runbook');
		assert.equal(still.body, 'secret procedure');
	});

	test('in every filter, id and body: 4xx or empty, never 500, tables intact', async () => {
		const id = (await create({ title: 'Target' })).id;
		const before = await f.tableCounts();
		for (const s of INJECTIONS) {
			const e = encodeURIComponent(s);
			for (const p of [`/api/v1/runbooks?q=${e}`, `/api/v1/runbooks?service=${e}`, `/api/v1/runbooks?cursor=${e}`,
				`/api/v1/runbooks?limit=${e}`, `/api/v1/runbooks/${e}`]) {
				const r = await f.api(f.read, 'GET', p);
				// q is free text: words of an injection string may match real text.
				const emptyOrSearch = r.status === 200 && (r.json.data.length === 0 || p.includes('?q='));
				assert.ok((r.status >= 400 && r.status < 500) || emptyOrSearch,
					`${p.slice(0, 100)}: ${r.status} ${r.body.slice(0, 200)}`);
			}
			for (const [m, p, body] of [['PATCH', `/api/v1/runbooks/${e}`, { title: 'x' }], ['DELETE', `/api/v1/runbooks/${e}`],
				['PATCH', `/api/v1/runbooks/${id}`, { service: s }], ['POST', '/api/v1/runbooks', { title: 'x', service: s }]]) {
				const r = await f.api(f.write, m, p, body);
				assert.ok(r.status >= 400 && r.status < 500, `${m} ${p.slice(0, 80)}: ${r.status} ${r.body}`);
			}
		}
		assert.deepEqual(await f.tableCounts(), before);
		assert.equal((await f.get(f.read, `/api/v1/runbooks/${id}`)).title, 'Target');
	});
});
