// Issue 3, REST: members (read) and role changes (admin) over real HTTP and
// PostgreSQL: the owner rules checked against the acting user's role in
// SQL, the last owner kept, audit rows, other-org isolation, and a demoted
// admin's token narrowed at once — on the instance that made the change,
// on a second instance through the org_members NOTIFY, and after a change
// made outside cupd (psql).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { now, sleep, startCupd } from './lib/harness.mjs';
import { assertCleanExit, assertError, assertScope, Fixture, INJECTIONS } from './rest_fixture.mjs';

let f, ada, bob, adaTok, bobTok;

const setRole = (userId, role, token = f.admin, port) =>
	f.api(token, 'PATCH', `/api/v1/members/${userId}`, { role }, { port });
const auditProbe = (token, port) => f.api(token, 'GET', '/api/v1/audit-events?limit=1', undefined, { port });

before(async () => {
	f = await Fixture.start();
	ada = await f.user('ada@example.com', 'demo', 'admin');
	bob = await f.user('bob@example.com', 'demo', 'member');
	adaTok = await f.mint('demo', 'ada@example.com', 'admin', 'ada');
	bobTok = await f.mint('demo', 'bob@example.com', 'write', 'bob');
});
after(() => f?.finish());

describe('GET /api/v1/members', () => {
	test('every member of this org with role, email, name and joined time; pages with limit=1', async () => {
		const all = await f.pageAll(f.read, '/api/v1/members');
		const byEmail = Object.fromEntries(all.map((m) => [m.email, m]));
		assert.deepEqual(Object.keys(byEmail).sort(), ['ada@example.com', 'bob@example.com', 'demo@example.com']);
		assert.equal(byEmail['demo@example.com'].role, 'owner');
		assert.equal(byEmail['demo@example.com'].name, 'Demo User');
		assert.equal(byEmail['ada@example.com'].role, 'admin');
		assert.equal(byEmail['bob@example.com'].id, bob);
		for (const m of all) {
			assert.ok(m.joined_at && m.joined_at === m.created_at);
			assert.equal(m.disabled, false);
		}
		const e1 = await f.api(f.read, 'GET', '/api/v1/members');
		assert.equal((await f.api(f.read, 'GET', '/api/v1/members', undefined,
			{ headers: { 'if-none-match': e1.headers.etag } })).status, 304);
		const theirs = await f.get(f.eve, '/api/v1/members');
		assert.deepEqual(theirs.data.map((m) => m.email), ['eve@example.com']);
		assertError(await f.api(f.read, 'GET', '/api/v1/members?cursor=nope'), 400, 'cursor');
	});
});

describe('PATCH /api/v1/members/{user_id}', () => {
	test('needs the admin scope', async () => {
		assertScope(await setRole(bob, 'admin', f.write));
		assertScope(await setRole(bob, 'admin', f.read));
		assertScope(await setRole(bob, 'admin', bobTok));
	});

	test('an owner changes roles; each change is audited with from/to; no-op changes write nothing', async () => {
		let r = await setRole(bob, 'admin');
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.role, 'admin');
		assert.equal(r.json.email, 'bob@example.com');
		r = await setRole(bob, 'admin');
		assert.equal(r.status, 200);
		r = await setRole(bob, 'member');
		assert.equal(r.json.role, 'member');
		const ev = (await f.audit(`action=member.role_change&target=${bob}`)).reverse();
		assert.deepEqual(ev.map((e) => e.metadata), [{ from: 'member', to: 'admin' }, { from: 'admin', to: 'member' }]);
		assert.equal(ev[0].actor.user_id, f.ids.demoUser);
		assert.equal(ev[0].target.kind, 'user');
	});

	test('an admin may not grant owner nor change an owner (403), may change others', async () => {
		let r = await setRole(bob, 'owner', adaTok);
		assertError(r, 403);
		assert.match(r.json.error_description, /owner/);
		assertError(await setRole(f.ids.demoUser, 'member', adaTok), 403);
		assertError(await setRole(ada, 'owner', adaTok), 403, undefined);
		r = await setRole(bob, 'admin', adaTok);
		assert.equal(r.status, 200, r.body);
		r = await setRole(bob, 'member', adaTok);
		assert.equal(r.json.role, 'member');
		assert.equal((await f.get(f.read, '/api/v1/members?limit=200')).data.find((m) => m.id === f.ids.demoUser).role, 'owner');
	});

	test('the last owner cannot be demoted (409); with a second owner it can', async () => {
		let r = await setRole(f.ids.demoUser, 'admin');
		assertError(r, 409);
		assert.match(r.json.error_description, /last owner/);
		r = await setRole(ada, 'owner');
		assert.equal(r.json.role, 'owner');
		const adaOwner = await f.mint('demo', 'ada@example.com', 'admin', 'ada-owner');
		r = await setRole(f.ids.demoUser, 'admin', adaOwner);
		assert.equal(r.status, 200, r.body);
		assertError(await setRole(ada, 'admin', adaOwner), 409, undefined);
		// Put things back: ada (owner) restores the demo user, then steps down.
		assert.equal((await setRole(f.ids.demoUser, 'owner', adaOwner)).status, 200);
		assert.equal((await setRole(ada, 'admin', adaOwner)).status, 200);
		const owners = Number(await f.sql(`SELECT count(*) FROM org_members WHERE org_id = '${f.ids.demoOrg}' AND role = 'owner'`));
		assert.equal(owners, 1);
	});

	test('concurrent demotions of two owners leave one owner', async () => {
		await setRole(ada, 'owner');
		const adaOwner = await f.mint('demo', 'ada@example.com', 'admin', 'ada-race');
		const [a, b] = await Promise.all([setRole(ada, 'admin', f.admin), setRole(f.ids.demoUser, 'admin', adaOwner)]);
		// The loser finds itself no longer allowed (403: its user was demoted
		// first) or the target the last owner (409); never both succeed.
		const st = [a.status, b.status].sort();
		assert.equal(st[0], 200, `${a.body} ${b.body}`);
		assert.ok(st[1] === 403 || st[1] === 409, `${a.body} ${b.body}`);
		const owners = await f.sql(`SELECT string_agg(u.email, ',') FROM org_members m JOIN users u ON u.id = m.user_id
			WHERE m.org_id = '${f.ids.demoOrg}' AND m.role = 'owner'`);
		assert.equal(owners.split(',').length, 1);
		// Restore: demo user owner, ada admin.
		if (owners !== 'demo@example.com') {
			assert.equal((await setRole(f.ids.demoUser, 'owner', adaOwner)).status, 200);
			assert.equal((await setRole(ada, 'admin', f.admin)).status, 200);
		}
	});

	test('bad input: role 400; malformed, unknown or other-org user 404', async () => {
		assertError(await setRole(bob, 'superuser'), 400, 'role');
		assertError(await f.api(f.admin, 'PATCH', `/api/v1/members/${bob}`, {}), 400, 'role');
		assertError(await f.api(f.admin, 'PATCH', `/api/v1/members/${bob}`, { role: 'admin', extra: 1 }), 400, 'extra');
		assertError(await setRole('not-a-uuid', 'admin'), 404);
		assertError(await setRole('00000000-0000-0000-0000-000000000000', 'admin'), 404);
		const r = await setRole(f.ids.eve, 'member');
		assertError(r, 404);
		assert.equal(await f.sql(`SELECT role FROM org_members WHERE user_id = '${f.ids.eve}'`), 'owner');
		const before = await f.tableCounts();
		for (const s of INJECTIONS) {
			assert.ok((await setRole(encodeURIComponent(s), 'admin')).status === 404);
			assert.ok((await setRole(bob, s)).status === 400);
		}
		assert.deepEqual(await f.tableCounts(), before);
	});
});

describe('a role change narrows the user\'s tokens at once', () => {
	test('same instance: the demoted admin\'s next admin call is 403, write calls still work', async () => {
		assert.equal((await auditProbe(adaTok)).status, 200, 'cached as admin');
		const r = await setRole(ada, 'member');
		assert.equal(r.status, 200, r.body);
		const probe = await auditProbe(adaTok);
		assertScope(probe);
		assert.match(probe.json.error_description, /capped by its owner's role/);
		const w = await f.api(adaTok, 'POST', '/api/v1/incidents', { title: 'still writes' });
		assert.equal(w.status, 201, w.body);
		assert.equal((await setRole(ada, 'admin')).status, 200);
		assert.equal((await auditProbe(adaTok)).status, 200, 'promotion widens it again at once');
	});

	test('second instance on the same database: narrowed by the org_members NOTIFY', async (t) => {
		const srv2 = await startCupd({ cluster: f.cluster, workers: 2, env: f.env });
		const samples = [];
		for (let round = 0; round < 5; round++) {
			assert.equal((await auditProbe(adaTok, srv2.port)).status, 200, 'warm srv2\'s cache');
			const r = await setRole(ada, 'member');
			assert.equal(r.status, 200, r.body);
			const t0 = now();
			let probe = await auditProbe(adaTok, srv2.port), tries = 1;
			while (probe.status !== 403 && now() - t0 < 2000) {
				await sleep(2);
				probe = await auditProbe(adaTok, srv2.port);
				tries++;
			}
			assertScope(probe);
			samples.push({ ms: now() - t0, tries });
			assert.equal((await setRole(ada, 'admin')).status, 200);
			const t1 = now();
			while ((await auditProbe(adaTok, srv2.port)).status !== 200) {
				assert.ok(now() - t1 < 2000, 're-promotion reaches srv2');
				await sleep(2);
			}
		}
		const firstTry = samples.filter((s) => s.tries === 1).length;
		t.diagnostic(`srv2 answered 403 on the first request after the PATCH in ${firstTry}/5 rounds; ` +
			`worst ${Math.max(...samples.map((s) => s.ms)).toFixed(1)} ms`);
		assertCleanExit(srv2, await srv2.stop());
	});

	test('a change made outside cupd (psql) reaches the cache through NOTIFY too', async (t) => {
		assert.equal((await auditProbe(adaTok)).status, 200);
		await f.sql(`UPDATE org_members SET role = 'member' WHERE org_id = '${f.ids.demoOrg}' AND user_id = '${ada}'`);
		const t0 = now();
		let probe = await auditProbe(adaTok), tries = 1;
		while (probe.status !== 403 && now() - t0 < 2000) {
			await sleep(2);
			probe = await auditProbe(adaTok);
			tries++;
		}
		assertScope(probe);
		t.diagnostic(`narrowed after ${tries} request(s), ${(now() - t0).toFixed(1)} ms after psql returned`);
		await f.sql(`UPDATE org_members SET role = 'admin' WHERE org_id = '${f.ids.demoOrg}' AND user_id = '${ada}'`);
	});
});
