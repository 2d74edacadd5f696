// Issue 2, "lost connections are re-established with backoff; while the
// database is down, requests that need it get 503 with Retry-After quickly
// (not a hang), and service resumes by itself when it returns" and "Tests
// must include: stopping PostgreSQL mid-run gives 503s within a second and
// recovery after restart without restarting cupd".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, metrics, now, request, sleep, startCluster, startCupd, waitFor } from './lib/harness.mjs';

let cluster;

before(async () => {
	cluster = await startCluster();
});
after(cleanup);

function assert503(r, what) {
	assert.equal(r.status, 503, `${what}: ${r.body}`);
	assert.ok(/^\d+$/.test(r.headers['retry-after'] ?? ''), `${what}: Retry-After is delay-seconds (${r.headers['retry-after']})`);
	assert.equal(r.json?.error, 'database_unavailable', `${what}: ${r.body}`);
	assert.equal(typeof r.json?.error_description, 'string');
	assert.equal(r.headers['x-content-type-options'], 'nosniff');
}

describe('PostgreSQL stops and comes back while cupd runs', () => {
	test('issue 2 "stopping PostgreSQL mid-run gives 503s within a second and recovery after restart without restarting cupd"', async (t) => {
		const srv = await startCupd({ cluster, workers: 2, env: { CUPD_DB_POOL_SIZE: '4' } });
		await waitFor(async () => (await request({ port: srv.port, path: '/readyz' })).status === 200,
			{ timeoutMs: 5000, what: '/readyz 200 before the outage' });
		const reconnectsBefore = (await metrics(srv.port)).get('cupd_db_reconnects_total');

		await cluster.stop();
		const stopped = now();

		// Within 1 s of the cluster being down, /readyz says so.
		let first;
		while (now() - stopped < 1000) {
			const r = await request({ port: srv.port, path: '/readyz', timeoutMs: 2000 });
			if (r.status === 503) {
				first = now() - stopped;
				break;
			}
			assert.equal(r.status, 200, `before the first 503: ${r.body}`);
			await sleep(20);
		}
		assert.ok(first !== undefined, 'a 503 within 1 s of the stop');

		// From then on, every /readyz is a fast 503 (both workers: new
		// connections alternate). 3 s of outage: the reconnect backoff reaches
		// its 2 s cap, which recovery below must still beat.
		const lat = [];
		for (let i = 0; i < 20; i++) {
			const r = await request({ port: srv.port, path: '/readyz', timeoutMs: 3000 });
			assert503(r, `/readyz #${i} during the outage`);
			assert.ok(r.ms < 500, `/readyz #${i} took ${r.ms.toFixed(1)} ms (limit 500)`);
			lat.push(r.ms);
			await sleep(150);
		}
		// /healthz does not need the database.
		const h = await request({ port: srv.port, path: '/healthz' });
		assert.equal(h.status, 200, '/healthz during the outage');
		const m = await metrics(srv.port);
		assert.equal(m.get('cupd_db_connections'), 0, 'no open DB connections during the outage');
		assert.ok(m.get('cupd_db_unavailable_total') >= 20, 'refusals are counted');

		const started = now(); // pg_ctl -w start itself takes a few hundred ms
		await cluster.start();
		const upMs = now() - started;
		await waitFor(async () => (await request({ port: srv.port, path: '/readyz', timeoutMs: 2000 })).status === 200,
			{ timeoutMs: 5000, intervalMs: 25, what: 'a first /readyz 200 within 5 s of the restart' });
		const firstOk = now() - started;
		// Each worker reconnects on its own backoff (capped at 2 s): recovered
		// means 8 answers in a row are 200, over new connections that land on
		// both workers, all within 5 s of the restart.
		let streak = 0;
		await waitFor(async () => {
			const r = await request({ port: srv.port, path: '/readyz', timeoutMs: 2000 });
			streak = r.status === 200 ? streak + 1 : 0;
			return streak >= 8;
		}, { timeoutMs: Math.max(0, 5000 - (now() - started)), intervalMs: 10, what: '8 /readyz 200s in a row within 5 s of the restart' });
		// And every pool connection of both workers (2 x CUPD_DB_POOL_SIZE=4) is open again.
		await waitFor(async () => (await metrics(srv.port)).get('cupd_db_connections') === 8,
			{ timeoutMs: Math.max(0, 5000 - (now() - started)), intervalMs: 10, what: 'all 8 pool connections within 5 s of the restart' });
		const recovered = now() - started;
		assert.ok((await metrics(srv.port)).get('cupd_db_reconnects_total') > reconnectsBefore, 'reconnects are counted');

		t.diagnostic(`first 503 ${first.toFixed(0)} ms after the stop; 503 latency max ${Math.max(...lat).toFixed(1)} ms; ` +
			`after the restart began: first 200 at ${firstOk.toFixed(0)} ms, all workers at ${recovered.toFixed(0)} ms ` +
			`(pg.sh start took ${upMs.toFixed(0)} ms)`);
		assert.equal(srv.exitInfo(), null, 'the same cupd process served throughout');
		const st = await srv.stop();
		assert.equal(st.code, 0, `exit status; stderr:\n${srv.stderr()}`);
	});
});

describe('cupd starts while PostgreSQL is down', () => {
	test('issue 2 "service resumes by itself": CUPD_AUTO_MIGRATE=off, /readyz 503 until the database starts', async (t) => {
		await cluster.stop();
		const srv = await startCupd({ cluster, workers: 2, env: { CUPD_AUTO_MIGRATE: 'off' }, waitMs: 3000 });
		for (let i = 0; i < 4; i++) {
			const r = await request({ port: srv.port, path: '/readyz', timeoutMs: 3000 });
			assert503(r, `/readyz #${i} with the database down`);
			assert.ok(r.ms < 500, `took ${r.ms.toFixed(1)} ms`);
		}
		const started = now();
		await cluster.start();
		await waitFor(async () => (await request({ port: srv.port, path: '/readyz', timeoutMs: 2000 })).status === 200,
			{ timeoutMs: 5000, intervalMs: 25, what: '/readyz 200 within 5 s of the start' });
		t.diagnostic(`ready ${(now() - started).toFixed(0)} ms after the database start began`);
		const st = await srv.stop();
		assert.equal(st.code, 0, `exit status; stderr:\n${srv.stderr()}`);
	});

	test('issue 2: cupd started before its database comes up once the database starts (no restart)', async (t) => {
		await cluster.stop();
		const t0 = now();
		const starting = startCupd({ cluster, workers: 2, env: { CUPD_AUTO_MIGRATE: 'off' }, waitMs: 20000 });
		await sleep(1000);
		const started = now();
		await cluster.start();
		const srv = await starting;
		t.diagnostic(`serving ${(now() - started).toFixed(0)} ms after the database start began ` +
			`(${(now() - t0).toFixed(0)} ms after launch)`);
		await waitFor(async () => (await request({ port: srv.port, path: '/readyz', timeoutMs: 2000 })).status === 200,
			{ timeoutMs: 5000, intervalMs: 25, what: '/readyz 200 within 5 s of the start' });
		const st = await srv.stop();
		assert.equal(st.code, 0, `exit status; stderr:\n${srv.stderr()}`);
	});
});
