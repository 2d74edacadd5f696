// Issue 3, REST: incidents (list with filters, get, create, update,
// acknowledge) and their notes over real HTTP and PostgreSQL: scopes,
// resolved_at rules, idempotent acknowledgement, pagination, audit rows,
// other-org isolation and injection attempts in every filter and id.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { assertError, assertScope, Fixture, INJECTIONS, micros, UUID_RE } from './rest_fixture.mjs';

let f, theirs;   // the fixture; an incident of the other org

const create = async (body, token = f.write) => {
	const r = await f.api(token, 'POST', '/api/v1/incidents', body);
	assert.equal(r.status, 201, `create ${JSON.stringify(body)}: ${r.body}`);
	return r.json;
};
const patch = (id, body, token = f.write) => f.api(token, 'PATCH', `/api/v1/incidents/${id}`, body);

before(async () => {
	f = await Fixture.start();
	await f.sql(`INSERT INTO services (org_id, slug, name) VALUES ('${f.ids.otherOrg}', 'their-api', 'Their API')`);
	const r = await f.api(f.eve, 'POST', '/api/v1/incidents', { title: 'Their incident', service: 'their-api', note: 'n' });
	assert.equal(r.status, 201, r.body);
	theirs = r.json;
});
after(() => f?.finish());

describe('create and get', () => {
	test('POST with service slug, severity and a first note; GET shows it with notes oldest first', async () => {
		const inc = await create({ title: 'GitHub API slow', service: 'github', severity: 'major', note: 'first\nsecond line' });
		assert.match(inc.id, UUID_RE);
		assert.equal(inc.status, 'investigating');
		assert.equal(inc.severity, 'major');
		assert.equal(inc.service.slug, 'github');
		assert.equal(inc.created_by, f.ids.demoUser);
		assert.equal(inc.resolved_at, null);
		assert.equal(inc.acknowledged_at, null);
		assert.equal(inc.note_count, 1);
		assert.equal(inc.notes[0].body, 'first\nsecond line');
		assert.equal(inc.notes[0].author.id, f.ids.demoUser);
		const n2 = await f.api(f.write, 'POST', `/api/v1/incidents/${inc.id}/notes`, { body: 'later' });
		assert.equal(n2.status, 201, n2.body);
		const got = await f.get(f.read, `/api/v1/incidents/${inc.id}`);
		assert.deepEqual(got.notes.map((n) => n.body), ['first\nsecond line', 'later']);
		assert.equal(got.note_count, 2);
		const ev = await f.audit(`action=incident.create&target=${inc.id}`);
		assert.equal(ev.length, 1);
		assert.equal(ev[0].actor.kind, 'api_token');
		assert.equal(ev[0].actor.user_id, f.ids.demoUser);
		assert.equal(ev[0].metadata.title, 'GitHub API slow');
	});

	test('defaults: minor, investigating, no service; status resolved at creation sets resolved_at', async () => {
		const a = await create({ title: 'Plain' });
		assert.equal(a.severity, 'minor');
		assert.equal(a.status, 'investigating');
		assert.equal(a.service, null);
		assert.deepEqual(a.notes, []);
		const b = await create({ title: 'Already over', status: 'resolved' });
		assert.ok(b.resolved_at);
		const sid = await f.sql("SELECT s.id FROM services s JOIN orgs o ON o.id = s.org_id WHERE o.slug = 'demo' AND s.slug = 'twilio'");
		const c = await create({ title: 'By id', service: sid });
		assert.equal(c.service.id, sid);
	});

	test('invalid input is 400 with the field', async () => {
		const cases = [
			[{}, 'title'], [{ title: '' }, 'title'], [{ title: 'x'.repeat(301) }, 'title'],
			[{ title: 'a\u0001b' }, 'title'], [{ title: 'two\nlines' }, 'title'], [{ title: 5 }, 'title'],
			[{ title: 't', severity: 'huge' }, 'severity'], [{ title: 't', status: 'open' }, 'status'],
			[{ title: 't', service: 'no-such-service' }, 'service'], [{ title: 't', service: 'Bad Slug!' }, 'service'],
			[{ title: 't', service: theirs.service.id }, 'service'],
			[{ title: 't', note: '' }, 'note'], [{ title: 't', note: 'x'.repeat(10001) }, 'note'],
			[{ title: 't', colour: 'red' }, 'colour'],
		];
		for (const [body, field] of cases)
			assertError(await f.api(f.write, 'POST', '/api/v1/incidents', body), 400, field);
		assertError(await f.api(f.write, 'POST', '/api/v1/incidents', '{"title": '), 400);
		assertError(await f.api(f.write, 'POST', '/api/v1/incidents', '[1]'), 400);
		const ok = await create({ title: 't', note: 'é'.repeat(10000) });
		assert.equal(ok.notes[0].body.length, 10000, '10000 characters, not bytes');
	});

	test('a read token cannot write: 403 insufficient_scope on every write route', async () => {
		const id = (await create({ title: 'scope check' })).id;
		assertScope(await f.api(f.read, 'POST', '/api/v1/incidents', { title: 'x' }));
		assertScope(await f.api(f.read, 'PATCH', `/api/v1/incidents/${id}`, { status: 'resolved' }));
		assertScope(await f.api(f.read, 'POST', `/api/v1/incidents/${id}/acknowledge`));
		assertScope(await f.api(f.read, 'POST', `/api/v1/incidents/${id}/notes`, { body: 'x' }));
		const got = await f.get(f.read, `/api/v1/incidents/${id}`);
		assert.equal(got.status, 'investigating');
		assert.equal(got.note_count, 0);
	});
});

describe('update and acknowledge', () => {
	test('resolving sets resolved_at; reopening clears it; each change is audited with from/to', async () => {
		const inc = await create({ title: 'Flapping', severity: 'minor' });
		let r = await patch(inc.id, { status: 'resolved' });
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.status, 'resolved');
		const resolvedAt = r.json.resolved_at;
		assert.ok(resolvedAt);
		r = await patch(inc.id, { severity: 'critical' });
		assert.equal(r.json.resolved_at, resolvedAt, 'other changes keep resolved_at');
		r = await patch(inc.id, { status: 'resolved' });
		assert.equal(r.json.resolved_at, resolvedAt, 'resolving again keeps the first time');
		r = await patch(inc.id, { status: 'monitoring', title: 'Flapping again' });
		assert.equal(r.json.status, 'monitoring');
		assert.equal(r.json.resolved_at, null);
		assert.equal(r.json.title, 'Flapping again');
		assert.ok(micros(r.json.updated_at) > micros(inc.updated_at));
		const ev = await f.audit(`action=incident.update&target=${inc.id}`);
		assert.deepEqual(ev.map((e) => e.metadata).reverse(), [
			{ status: { from: 'investigating', to: 'resolved' } },
			{ severity: { from: 'minor', to: 'critical' } },
			{ status: { from: 'resolved', to: 'monitoring' }, title: { from: 'Flapping', to: 'Flapping again' } },
		], 'no audit row for the no-op second resolve');
	});

	test('PATCH validation: empty body, unknown member, bad values', async () => {
		const id = (await create({ title: 'v' })).id;
		assertError(await patch(id, {}), 400);
		assertError(await patch(id, { status: 'open' }), 400, 'status');
		assertError(await patch(id, { severity: 'low' }), 400, 'severity');
		assertError(await patch(id, { title: '' }), 400, 'title');
		assertError(await patch(id, { service: 'stripe' }), 400, 'service');
		assertError(await patch(id, { status: null }), 400);
	});

	test('acknowledge sets acknowledged_at/by once; a second call returns it unchanged and audits nothing', async () => {
		const inc = await create({ title: 'Ack me' });
		const a1 = await f.api(f.write, 'POST', `/api/v1/incidents/${inc.id}/acknowledge`);
		assert.equal(a1.status, 200, a1.body);
		assert.ok(a1.json.acknowledged_at);
		assert.equal(a1.json.acknowledged_by, f.ids.demoUser);
		const a2 = await f.api(f.admin, 'POST', `/api/v1/incidents/${inc.id}/acknowledge`);
		assert.equal(a2.status, 200, a2.body);
		assert.deepEqual(a2.json, a1.json);
		// Concurrent acknowledgements of a fresh incident: one timestamp wins.
		const b = await create({ title: 'Ack race' });
		const rs = await Promise.all(Array.from({ length: 8 },
			() => f.api(f.write, 'POST', `/api/v1/incidents/${b.id}/acknowledge`)));
		assert.ok(rs.every((r) => r.status === 200));
		assert.equal(new Set(rs.map((r) => r.json.acknowledged_at)).size, 1);
		assert.equal((await f.audit(`action=incident.acknowledge&target=${inc.id}`)).length, 1);
		assert.equal((await f.audit(`action=incident.acknowledge&target=${b.id}`)).length, 1);
	});
});

describe('notes', () => {
	test('POST notes: 1..10000 characters, audited; GET notes pages newest first', async () => {
		const inc = await create({ title: 'Chatty' });
		for (let i = 0; i < 5; i++) {
			const r = await f.api(f.write, 'POST', `/api/v1/incidents/${inc.id}/notes`, { body: `note ${i}` });
			assert.equal(r.status, 201, r.body);
			assert.equal(r.json.incident_id, inc.id);
		}
		assertError(await f.api(f.write, 'POST', `/api/v1/incidents/${inc.id}/notes`, { body: '' }), 400, 'body');
		assertError(await f.api(f.write, 'POST', `/api/v1/incidents/${inc.id}/notes`, { body: 'x'.repeat(10001) }), 400, 'body');
		assertError(await f.api(f.write, 'POST', `/api/v1/incidents/${inc.id}/notes`, {}), 400, 'body');
		const notes = await f.pageAll(f.read, `/api/v1/incidents/${inc.id}/notes`);
		assert.deepEqual(notes.map((n) => n.body), ['note 4', 'note 3', 'note 2', 'note 1', 'note 0']);
		const ev = await f.audit(`action=incident.note&target=${inc.id}`);
		assert.equal(ev.length, 5);
		assert.deepEqual(new Set(ev.map((e) => e.metadata.note_id)), new Set(notes.map((n) => n.id)));
	});
});

describe('list, filters and pagination', () => {
	test('limit=1 pages until next_cursor is null: no duplicates, no gaps', async () => {
		const all = await f.pageAll(f.read, '/api/v1/incidents');
		const big = await f.get(f.read, '/api/v1/incidents?limit=200');
		assert.equal(big.next_cursor, null);
		assert.deepEqual(all.map((i) => i.id), big.data.map((i) => i.id));
		const count = Number(await f.sql(`SELECT count(*) FROM incidents WHERE org_id = '${f.ids.demoOrg}'`));
		assert.equal(all.length, count);
		const pages3 = await f.pageAll(f.read, '/api/v1/incidents', { limit: 3 });
		assert.deepEqual(pages3.map((i) => i.id), big.data.map((i) => i.id));
	});

	test('filters: status, open, service, severity, since', async () => {
		const all = (await f.get(f.read, '/api/v1/incidents?limit=200')).data;
		const check = async (q, pred) => {
			const got = await f.pageAll(f.read, `/api/v1/incidents?${q}`, { limit: 2 });
			assert.deepEqual(got.map((i) => i.id), all.filter(pred).map((i) => i.id), q);
			return got;
		};
		assert.ok((await check('status=open', (i) => i.status !== 'resolved')).length > 0);
		assert.ok((await check('status=resolved', (i) => i.status === 'resolved')).length > 0);
		await check('status=investigating', (i) => i.status === 'investigating');
		assert.ok((await check('service=stripe', (i) => i.service?.slug === 'stripe')).length > 0);
		const gid = all.find((i) => i.service?.slug === 'github').service.id;
		await check(`service=${gid}`, (i) => i.service?.id === gid);
		await check('severity=critical', (i) => i.severity === 'critical');
		await check('status=open&severity=major', (i) => i.status !== 'resolved' && i.severity === 'major');
		const since = new Date(Date.now() - 3600e3).toISOString();
		const recent = await check(`since=${encodeURIComponent(since)}`, (i) => Date.parse(i.started_at) >= Date.parse(since));
		assert.ok(!recent.some((i) => i.title === 'SendGrid email delivery outage'), 'started a day ago');
		await check(`since=${encodeURIComponent('2020-01-01T00:00:00+02:00')}`, () => true);
		await check('service=no-such-service', () => false);
	});

	test('malformed filters and cursors are 400 with the field', async () => {
		for (const bad of ['yesterday', '2026-02-30T00:00:00Z', '2026-01-01', '2026-01-01T25:00:00Z',
			'2026-01-01T00:00:00', '2026-01-01T00:00:00+2', "' OR 1=1 --"])
			assertError(await f.api(f.read, 'GET', `/api/v1/incidents?since=${encodeURIComponent(bad)}`), 400, 'since');
		assertError(await f.api(f.read, 'GET', '/api/v1/incidents?status=closed'), 400, 'status');
		assertError(await f.api(f.read, 'GET', '/api/v1/incidents?severity=low'), 400, 'severity');
		assertError(await f.api(f.read, 'GET', '/api/v1/incidents?service=NOT%20OK'), 400, 'service');
		assertError(await f.api(f.read, 'GET', '/api/v1/incidents?cursor=AAAA'), 400, 'cursor');
		assertError(await f.api(f.read, 'GET', `/api/v1/incidents/${theirs.id}/notes?cursor=zz`), 400, 'cursor');
	});

	test('ETag then If-None-Match is 304; a change gives a new tag', async () => {
		const inc = await create({ title: 'Tagged' });
		const p = `/api/v1/incidents/${inc.id}`;
		const r1 = await f.api(f.read, 'GET', p);
		const r2 = await f.api(f.read, 'GET', p, undefined, { headers: { 'if-none-match': r1.headers.etag } });
		assert.equal(r2.status, 304);
		const l1 = await f.api(f.read, 'GET', '/api/v1/incidents?status=open');
		assert.equal((await f.api(f.read, 'GET', '/api/v1/incidents?status=open', undefined,
			{ headers: { 'if-none-match': l1.headers.etag } })).status, 304);
		await f.api(f.write, 'POST', `${p}/notes`, { body: 'changes the tag' });
		const r3 = await f.api(f.read, 'GET', p, undefined, { headers: { 'if-none-match': r1.headers.etag } });
		assert.equal(r3.status, 200);
	});
});

describe('isolation', () => {
	test('another org\'s incident is 404 on every route and is left untouched', async () => {
		const id = theirs.id;
		for (const [m, p, body] of [
			['GET', `/api/v1/incidents/${id}`], ['PATCH', `/api/v1/incidents/${id}`, { status: 'resolved' }],
			['POST', `/api/v1/incidents/${id}/acknowledge`], ['POST', `/api/v1/incidents/${id}/notes`, { body: 'x' }],
			['GET', `/api/v1/incidents/${id}/notes`]]) {
			const r = await f.api(f.admin, m, p, body);
			assertError(r, 404);
			assert.doesNotMatch(r.body, /Their/);
		}
		const list = await f.get(f.admin, '/api/v1/incidents?limit=200');
		assert.ok(!list.data.some((i) => i.id === id));
		const still = await f.get(f.eve, `/api/v1/incidents/${id}`);
		assert.equal(still.status, 'investigating');
		assert.equal(still.acknowledged_at, null);
		assert.equal(still.note_count, 1);
		// Malformed ids are 404 too, before any SQL.
		for (const bad of ['nope', '1', `${id}x`, id.replace(/-/g, '')])
			assertError(await f.api(f.read, 'GET', `/api/v1/incidents/${bad}`), 404);
	});
});

describe('injection attempts', () => {
	test('in every filter, id and body: 4xx or empty, never 500, tables intact', async () => {
		const before = await f.tableCounts();
		const id = (await create({ title: 'Injection target' })).id;
		const after0 = await f.tableCounts();
		for (const s of INJECTIONS) {
			const e = encodeURIComponent(s);
			for (const p of [`/api/v1/incidents?status=${e}`, `/api/v1/incidents?service=${e}`,
				`/api/v1/incidents?since=${e}`, `/api/v1/incidents?severity=${e}`, `/api/v1/incidents?cursor=${e}`,
				`/api/v1/incidents/${e}`, `/api/v1/incidents/${e}/notes`]) {
				const r = await f.api(f.read, 'GET', p);
				assert.ok(r.status >= 400 && r.status < 500 || (r.status === 200 && r.json.data?.length === 0),
					`${p}: ${r.status} ${r.body.slice(0, 200)}`);
			}
			for (const [m, p, body] of [['PATCH', `/api/v1/incidents/${e}`, { status: 'resolved' }],
				['POST', `/api/v1/incidents/${e}/acknowledge`], ['POST', `/api/v1/incidents/${e}/notes`, { body: 'x' }],
				['PATCH', `/api/v1/incidents/${id}`, { status: s }], ['PATCH', `/api/v1/incidents/${id}`, { severity: s }],
				['POST', '/api/v1/incidents', { title: 't', service: s }]]) {
				const r = await f.api(f.write, m, p, body);
				assert.ok(r.status >= 400 && r.status < 500, `${m} ${p.slice(0, 80)} ${String(JSON.stringify(body)).slice(0, 80)}: ${r.status} ${r.body}`);
			}
		}
		// As text, they are stored verbatim (parameters, not SQL).
		const t = await create({ title: "'; DROP TABLE incidents; --", note: "' OR 1=1 --" });
		assert.equal((await f.get(f.read, `/api/v1/incidents/${t.id}`)).title, "'; DROP TABLE incidents; --");
		const now = await f.tableCounts();
		assert.equal(now.incidents, after0.incidents + 1);
		assert.equal(now.incident_notes, before.incident_notes + 1);
	});
});
