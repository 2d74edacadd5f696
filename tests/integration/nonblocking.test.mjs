// Issue 2, "No handler ever blocks a loop on the database" and "Tests must
// include: a request whose query sleeps (pg_sleep(2)) does not delay a
// concurrent /healthz on the same worker (run with CUPD_WORKERS=1)".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, metrics, now, request, sleep, startCluster, startCupd, waitFor } from './lib/harness.mjs';

let cluster, srv;

before(async () => {
	cluster = await startCluster();
	srv = await startCupd({ cluster, workers: 1, debug: true });
	// All pool connections up, so the sleep does not wait for a connect.
	await waitFor(async () => (await metrics(srv.port)).get('cupd_db_connections') >= 2,
		{ timeoutMs: 10000, what: 'DB pool connections' });
});
after(cleanup);

describe('one worker, one slow query', () => {
	test('issue 2 "pg_sleep(2) does not delay a concurrent /healthz on the same worker"', async (t) => {
		const t0 = now();
		const slow = request({ port: srv.port, path: '/debug/sleep?seconds=2', timeoutMs: 10000 })
			.then((r) => ({ ...r, doneAt: now() }));

		// Prove the query is in flight on the (only) loop: one connection busy.
		await waitFor(async () => (await metrics(srv.port)).get('cupd_db_in_use') === 1,
			{ timeoutMs: 1500, intervalMs: 20, what: 'cupd_db_in_use == 1' });

		const lat = [];
		let lastAt = 0;
		for (let i = 0; i < 20; i++) {
			const r = await request({ port: srv.port, path: '/healthz', timeoutMs: 3000 });
			assert.equal(r.status, 200);
			lat.push(r.ms);
			lastAt = now();
			await sleep(50);
		}
		const res = await slow;
		t.diagnostic(`/healthz during pg_sleep(2): max ${Math.max(...lat).toFixed(1)} ms, ` +
			`median ${lat.sort((a, b) => a - b)[10].toFixed(1)} ms; sleep request ${(res.doneAt - t0).toFixed(0)} ms`);

		assert.ok(lastAt < res.doneAt, 'all 20 /healthz were answered while the sleep was still running');
		for (const ms of lat)
			assert.ok(ms < 200, `/healthz took ${ms.toFixed(1)} ms (limit 200)`);
		assert.equal(res.status, 200, res.body);
		assert.deepEqual(res.json, { slept: true });
		assert.ok(res.doneAt - t0 >= 2000, `the sleep request took ${(res.doneAt - t0).toFixed(0)} ms, at least 2 s`);
	});

	test('issue 2: two slow queries on one worker run side by side (pool, not one at a time)', async () => {
		const t0 = now();
		const rs = await Promise.all([1, 2].map(() =>
			request({ port: srv.port, path: '/debug/sleep?seconds=1', timeoutMs: 10000 })));
		const ms = now() - t0;
		for (const r of rs)
			assert.equal(r.status, 200);
		assert.ok(ms >= 1000 && ms < 1900, `two 1 s sleeps took ${ms.toFixed(0)} ms together`);
	});
});

describe('/debug/sleep input', () => {
	test('issue 2: bad seconds get 400 invalid_request', async () => {
		for (const q of ['', '?seconds=abc', '?seconds=-1', '?seconds=31', '?seconds=1x',
			'?seconds=infinity', '?other=1']) {
			const r = await request({ port: srv.port, path: `/debug/sleep${q}` });
			assert.equal(r.status, 400, `/debug/sleep${q}: ${r.body}`);
			assert.equal(r.json?.error, 'invalid_request', q);
		}
		const ok = await request({ port: srv.port, path: '/debug/sleep?seconds=0' });
		assert.equal(ok.status, 200, 'seconds=0 is valid');
	});

	test('issue 2: an empty seconds= gets 400, not a failed query', async () => {
		const r = await request({ port: srv.port, path: '/debug/sleep?seconds=' });
		assert.equal(r.status, 400, r.body);
	});
});

describe('without CUPD_DEBUG_ROUTES', () => {
	test('issue 2: /debug/sleep is 404 when CUPD_DEBUG_ROUTES is off', async () => {
		const plain = await startCupd({ cluster, workers: 1, debug: false });
		const r = await request({ port: plain.port, path: '/debug/sleep?seconds=0' });
		assert.equal(r.status, 404);
		assert.equal(r.json?.error, 'not_found');
		const st = await plain.stop();
		assert.equal(st.code, 0, `exit status; stderr:\n${plain.stderr()}`);
	});
});
