// Issue 3, REST: alert rules (list, get, create, update, delete) over real
// HTTP and PostgreSQL: the condition/threshold and channel/target rules of
// the alerts table as 400s with a field, secret webhook URLs redacted,
// scopes, pagination, audit rows, other-org isolation, injection attempts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { assertError, assertScope, Fixture, INJECTIONS, UUID_RE } from './rest_fixture.mjs';

let f, theirs;

const SLACK = 'https://hooks.slack.com/services/T0000/B0000/abcdefSECRETxyz';
const base = { name: 'Stripe degraded', service: 'stripe', condition: 'status_at_least', min_status: 'degraded',
	channel: 'email', target: 'oncall@example.com' };

const create = async (body, token = f.write) => {
	const r = await f.api(token, 'POST', '/api/v1/alerts', body);
	assert.equal(r.status, 201, `create ${JSON.stringify(body)}: ${r.body}`);
	return r.json;
};
const patch = (id, body, token = f.write) => f.api(token, 'PATCH', `/api/v1/alerts/${id}`, body);

before(async () => {
	f = await Fixture.start();
	const r = await f.api(f.eve, 'POST', '/api/v1/alerts', { ...base, service: null, name: 'Theirs' });
	assert.equal(r.status, 201, r.body);
	theirs = r.json;
});
after(() => f?.finish());

describe('create', () => {
	test('status_at_least by email; error_rate_above by slack (target redacted, never audited)', async () => {
		const a = await create(base);
		assert.match(a.id, UUID_RE);
		assert.equal(a.service.slug, 'stripe');
		assert.equal(a.min_status, 'degraded');
		assert.equal(a.error_rate, null);
		assert.equal(a.target, 'oncall@example.com');
		assert.equal(a.target_redacted, false);
		assert.equal(a.enabled, true);
		const b = await create({ name: 'Any service erroring', condition: 'error_rate_above', error_rate: 0.25,
			channel: 'slack', target: SLACK, enabled: false });
		assert.equal(b.service, null);
		assert.equal(b.error_rate, 0.25);
		assert.equal(b.enabled, false);
		assert.equal(b.target_redacted, true);
		assert.equal(b.target, 'https://hooks.slack.com/…Txyz');
		assert.ok(!JSON.stringify(await f.get(f.read, `/api/v1/alerts/${b.id}`)).includes('SECRET'));
		assert.equal(await f.sql(`SELECT target FROM alerts WHERE id = '${b.id}'`), SLACK, 'stored in full');
		const ev = await f.audit(`action=alert.create&target=${b.id}`);
		assert.equal(ev.length, 1);
		assert.deepEqual(ev[0].metadata, { name: 'Any service erroring', condition: 'error_rate_above', channel: 'slack',
			service_id: null });
		assert.ok(!JSON.stringify(await f.audit()).includes('SECRET'));
	});

	test('the CHECK rules as 400s naming the field', async () => {
		const cases = [
			[{ ...base, name: '' }, 'name'],
			[{ ...base, name: undefined }, 'name'],
			[{ ...base, condition: undefined }, 'condition'],
			[{ ...base, condition: 'latency_above' }, 'condition'],
			[{ ...base, min_status: undefined }, 'min_status'],
			[{ ...base, min_status: 'operational' }, 'min_status'],
			[{ ...base, error_rate: 0.5 }, 'error_rate'],
			[{ ...base, condition: 'error_rate_above', min_status: undefined }, 'error_rate'],
			[{ ...base, condition: 'error_rate_above', min_status: undefined, error_rate: 0 }, 'error_rate'],
			[{ ...base, condition: 'error_rate_above', min_status: undefined, error_rate: 1 }, 'error_rate'],
			[{ ...base, condition: 'error_rate_above', min_status: undefined, error_rate: -0.1 }, 'error_rate'],
			[{ ...base, condition: 'error_rate_above', min_status: undefined, error_rate: '0.5' }, 'error_rate'],
			[{ ...base, condition: 'error_rate_above', error_rate: 0.5 }, 'min_status'],
			[{ ...base, channel: 'sms' }, 'channel'],
			[{ ...base, channel: undefined }, 'channel'],
			[{ ...base, target: undefined }, 'target'],
			[{ ...base, target: 'not-an-address' }, 'target'],
			[{ ...base, target: 'a@b' }, 'target'],
			[{ ...base, target: 'two@@example.com' }, 'target'],
			[{ ...base, target: 'sp ace@example.com' }, 'target'],
			[{ ...base, target: 'https://hooks.example.com/x' }, 'target'],
			[{ ...base, channel: 'webhook', target: 'http://hooks.example.com/x' }, 'target'],
			[{ ...base, channel: 'webhook', target: 'https://' }, 'target'],
			[{ ...base, channel: 'webhook', target: 'https://host/with space' }, 'target'],
			[{ ...base, channel: 'slack', target: 'oncall@example.com' }, 'target'],
			[{ ...base, channel: 'webhook', target: `https://h.example.com/${'x'.repeat(2048)}` }, 'target'],
			[{ ...base, service: 'no-such' }, 'service'],
			[{ ...base, service: theirs.id }, 'service'],
			[{ ...base, enabled: 'yes' }, 'enabled'],
			[{ ...base, priority: 1 }, 'priority'],
		];
		for (const [body, field] of cases)
			assertError(await f.api(f.write, 'POST', '/api/v1/alerts', body), 400, field);
		const w = await create({ ...base, channel: 'webhook', target: 'https://hooks.example.com:8443/cupd?k=v#frag' });
		assert.equal(w.target, 'https://hooks.example.com:8443/…frag');
	});
});

describe('update', () => {
	test('a threshold alone must suit the condition; switching condition needs its threshold', async () => {
		const a = await create(base);
		let r = await patch(a.id, { min_status: 'major_outage' });
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.min_status, 'major_outage');
		assertError(await patch(a.id, { error_rate: 0.2 }), 400, 'error_rate');
		assertError(await patch(a.id, { condition: 'error_rate_above' }), 400, 'error_rate');
		assertError(await patch(a.id, { min_status: 'degraded', error_rate: 0.2 }), 400, 'error_rate');
		r = await patch(a.id, { condition: 'error_rate_above', error_rate: 0.1 });
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.condition, 'error_rate_above');
		assert.equal(r.json.min_status, null, 'the old threshold is cleared');
		assert.equal(r.json.error_rate, 0.1);
		r = await patch(a.id, { error_rate: 0.3 });
		assert.equal(r.json.error_rate, 0.3);
		assertError(await patch(a.id, { min_status: 'degraded' }), 400, 'min_status');
		assert.equal((await f.get(f.read, `/api/v1/alerts/${a.id}`)).error_rate, 0.3, 'refused updates changed nothing');
	});

	test('a target alone must suit the channel; switching channel needs its target', async () => {
		const a = await create(base);
		let r = await patch(a.id, { target: 'other@example.org' });
		assert.equal(r.json.target, 'other@example.org');
		assertError(await patch(a.id, { target: SLACK }), 400, 'target');
		assertError(await patch(a.id, { channel: 'slack' }), 400, 'target');
		assertError(await patch(a.id, { channel: 'slack', target: 'x@example.com' }), 400, 'target');
		r = await patch(a.id, { channel: 'slack', target: SLACK });
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.channel, 'slack');
		r = await patch(a.id, { target: 'https://hooks.slack.com/services/NEW' });
		assert.equal(r.status, 200, r.body);
		assertError(await patch(a.id, { target: 'back@example.com' }), 400, 'target');
		assertError(await patch(a.id, { target: 'garbage' }), 400, 'target');
	});

	test('name, service (null = every service), enabled; audited with the changed fields', async () => {
		const a = await create(base);
		let r = await patch(a.id, { name: 'Renamed', enabled: false });
		assert.equal(r.json.name, 'Renamed');
		assert.equal(r.json.enabled, false);
		r = await patch(a.id, { service: null });
		assert.equal(r.json.service, null);
		r = await patch(a.id, { service: 'github' });
		assert.equal(r.json.service.slug, 'github');
		assertError(await patch(a.id, { service: 'nope' }), 400, 'service');
		assertError(await patch(a.id, {}), 400);
		assertError(await patch(a.id, { enabled: 'false' }), 400, 'enabled');
		r = await patch(a.id, { name: 'Renamed' });
		assert.equal(r.status, 200);
		const ev = (await f.audit(`action=alert.*&target=${a.id}`)).reverse();
		assert.deepEqual(ev.map((e) => [e.action, e.metadata.changed ?? null]), [
			['alert.create', null], ['alert.update', ['name', 'enabled']], ['alert.update', ['service']],
			['alert.update', ['service']]]);
	});
});

describe('list, delete, scopes, isolation', () => {
	test('pages with limit=1; filters service and enabled', async () => {
		const all = await f.pageAll(f.read, '/api/v1/alerts');
		const n = Number(await f.sql(`SELECT count(*) FROM alerts WHERE org_id = '${f.ids.demoOrg}'`));
		assert.equal(all.length, n);
		assert.ok(n >= 5);
		assert.ok(!all.some((a) => a.id === theirs.id));
		const off = await f.pageAll(f.read, '/api/v1/alerts?enabled=false', { limit: 2 });
		assert.deepEqual(off.map((a) => a.id), all.filter((a) => !a.enabled).map((a) => a.id));
		const stripe = await f.get(f.read, '/api/v1/alerts?service=stripe&limit=200');
		assert.deepEqual(stripe.data.map((a) => a.id), all.filter((a) => a.service?.slug === 'stripe').map((a) => a.id));
		assertError(await f.api(f.read, 'GET', '/api/v1/alerts?enabled=maybe'), 400, 'enabled');
		assertError(await f.api(f.read, 'GET', '/api/v1/alerts?cursor=%25%25'), 400, 'cursor');
		const e1 = await f.api(f.read, 'GET', '/api/v1/alerts');
		assert.equal((await f.api(f.read, 'GET', '/api/v1/alerts', undefined,
			{ headers: { 'if-none-match': e1.headers.etag } })).status, 304);
	});

	test('delete: 200 once, then 404; audited', async () => {
		const a = await create(base);
		const r = await f.api(f.write, 'DELETE', `/api/v1/alerts/${a.id}`);
		assert.deepEqual(r.json, { id: a.id, deleted: true });
		assertError(await f.api(f.write, 'DELETE', `/api/v1/alerts/${a.id}`), 404);
		assertError(await f.api(f.read, 'GET', `/api/v1/alerts/${a.id}`), 404);
		assert.equal((await f.audit(`action=alert.delete&target=${a.id}`)).length, 1);
	});

	test('a read token cannot write', async () => {
		const a = await create(base);
		assertScope(await f.api(f.read, 'POST', '/api/v1/alerts', base));
		assertScope(await f.api(f.read, 'PATCH', `/api/v1/alerts/${a.id}`, { enabled: false }));
		assertScope(await f.api(f.read, 'DELETE', `/api/v1/alerts/${a.id}`));
		assert.equal((await f.get(f.read, `/api/v1/alerts/${a.id}`)).enabled, true);
	});

	test('another org\'s rule is 404 on get, patch and delete, and unchanged', async () => {
		for (const [m, body] of [['GET'], ['PATCH', { enabled: false }], ['DELETE']])
			assertError(await f.api(f.admin, m, `/api/v1/alerts/${theirs.id}`, body), 404);
		const still = await f.get(f.eve, `/api/v1/alerts/${theirs.id}`);
		assert.equal(still.enabled, true);
		assert.equal(still.name, 'Theirs');
	});

	test('injection attempts in filters, ids and values: 4xx or empty, tables intact', async () => {
		const a = await create(base);
		const before = await f.tableCounts();
		for (const s of INJECTIONS) {
			const e = encodeURIComponent(s);
			for (const p of [`/api/v1/alerts?service=${e}`, `/api/v1/alerts?enabled=${e}`, `/api/v1/alerts?cursor=${e}`,
				`/api/v1/alerts/${e}`]) {
				const r = await f.api(f.read, 'GET', p);
				assert.ok((r.status >= 400 && r.status < 500) || (r.status === 200 && r.json.data.length === 0),
					`${p.slice(0, 100)}: ${r.status} ${r.body.slice(0, 200)}`);
			}
			for (const [m, p, body] of [['PATCH', `/api/v1/alerts/${e}`, { enabled: false }], ['DELETE', `/api/v1/alerts/${e}`],
				['PATCH', `/api/v1/alerts/${a.id}`, { target: s }], ['PATCH', `/api/v1/alerts/${a.id}`, { condition: s }],
				['PATCH', `/api/v1/alerts/${a.id}`, { min_status: s }], ['POST', '/api/v1/alerts', { ...base, channel: s }]]) {
				const r = await f.api(f.write, m, p, body);
				assert.ok(r.status >= 400 && r.status < 500, `${m} ${p.slice(0, 80)}: ${r.status} ${r.body}`);
			}
		}
		assert.deepEqual(await f.tableCounts(), before);
	});
});
