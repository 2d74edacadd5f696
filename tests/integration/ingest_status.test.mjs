// Issue 3, "From recent events each service's status is computed
// (operational / degraded / partial_outage / major_outage by error rate over
// a window; thresholds in config) and kept in service_status."
//
// The window is shortened to WINDOW_S seconds through CUPD_STATUS_WINDOW_SECONDS;
// the rollup runs every 2 s on worker 0 of each instance.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { cleanup, psql, request, runCli, sleep, startCluster, startCupd, waitFor } from './lib/harness.mjs';

const WINDOW_S = 6;
let cluster, srv, key;

async function cli(args) {
	const r = await runCli(args, { env: { DATABASE_URL: cluster.url } });
	assert.equal(r.code, 0, `cupd ${args.join(' ')} failed: ${r.stderr}`);
	return r.stdout.trim();
}

const sql = (q) => psql(cluster.url, q);

/** Sends n events for service, the first `errors` of them failed. */
async function send(service, n, errors, { port = srv.port } = {}) {
	const events = [];
	for (let i = 0; i < n; i++)
		events.push({ service, operation: 'call', outcome: i < errors ? 'error' : 'ok', latency_ms: 10 });
	const r = await request({
		port, method: 'POST', path: '/v1/events',
		headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
		body: JSON.stringify({ events }),
	});
	assert.equal(r.status, 202, r.body);
	assert.equal(r.json.accepted, n);
}

/** "status|error_rate|sample_count" of service, or '' without a row. */
const statusOf = (service) => sql("SELECT st.status || '|' || round(st.error_rate::numeric, 2) || '|' || st.sample_count " +
	`FROM service_status st JOIN services s ON s.id = st.service_id WHERE s.slug = '${service}'`);

const historyOf = async (service) => {
	const t = await sql("SELECT string_agg(h.status, ',' ORDER BY h.id) FROM service_status_history h " +
		`JOIN services s ON s.id = h.service_id WHERE s.slug = '${service}'`);
	return t ? t.split(',') : [];
};

const waitStatus = (service, status, timeoutMs = 8000) => waitFor(async () => {
	const s = await statusOf(service);
	return s.startsWith(`${status}|`) ? s : null;
}, { timeoutMs, intervalMs: 200, what: `${service} to be ${status}` });

before(async () => {
	cluster = await startCluster();
	await cli(['migrate']);
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-status-'));
	await cli(['seed-demo', '--password-file', path.join(dir, 'demo-password')]);
	key = await cli(['sdk-key', 'create', '--org', 'demo', '--project', 'web-app']);
	srv = await startCupd({
		cluster,
		env: { CUPD_ACCESS_LOG: 'off', CUPD_STATUS_WINDOW_SECONDS: String(WINDOW_S), CUPD_RATE_SDK_KEY_PER_MIN: '100000' },
	});
});
after(cleanup);

describe('status from events', () => {
	test('issue 3 "by error rate over a window": 60% errors → major_outage, then healthy traffic → operational after the window', async () => {
		await send('flaky-api', 100, 60);
		const s = await waitStatus('flaky-api', 'major_outage');
		assert.equal(s, 'major_outage|0.60|100');
		assert.deepEqual(await historyOf('flaky-api'), ['major_outage']);
		assert.match(await sql("SELECT h.reason FROM service_status_history h JOIN services s ON s.id = h.service_id " +
			"WHERE s.slug = 'flaky-api'"), /60\.0% over 100 event/);

		// Healthy traffic: the errors still count until they leave the window.
		const t0 = Date.now();
		let recovered = '';
		while (Date.now() - t0 < (WINDOW_S + 8) * 1000) {
			await send('flaky-api', 30, 0);
			recovered = await statusOf('flaky-api');
			if (recovered.startsWith('operational|'))
				break;
			await sleep(500);
		}
		assert.match(recovered, /^operational\|0\.00\|\d+$/, 'operational with only healthy events in the window');
		assert.ok(Date.now() - t0 >= (WINDOW_S - 3) * 1000, 'not before the errors left the window');
		const h = await historyOf('flaky-api');
		assert.equal(h[0], 'major_outage');
		assert.equal(h.at(-1), 'operational');
		for (let i = 1; i < h.length; i++)
			assert.notEqual(h[i], h[i - 1], 'a history row only when the status changes');
	});

	test('thresholds: 10% → degraded, 30% → partial_outage, 2% → operational (no history row)', async () => {
		await send('deg-api', 100, 10);
		await send('part-api', 100, 30);
		await send('fine-api', 100, 2);
		assert.equal(await waitStatus('deg-api', 'degraded'), 'degraded|0.10|100');
		assert.equal(await waitStatus('part-api', 'partial_outage'), 'partial_outage|0.30|100');
		assert.equal(await waitStatus('fine-api', 'operational'), 'operational|0.02|100');
		assert.deepEqual(await historyOf('deg-api'), ['degraded']);
		assert.deepEqual(await historyOf('part-api'), ['partial_outage']);
		assert.deepEqual(await historyOf('fine-api'), []);
	});

	test('fewer events than the minimum sample count do not change the status', async () => {
		await send('thin-api', 10, 10);
		const s = await waitStatus('thin-api', 'operational');
		assert.equal(s, 'operational|1.00|10', 'rate and count recorded, status unchanged');
		assert.deepEqual(await historyOf('thin-api'), []);
	});

	test('an outage ends when its errors leave the window, even without new traffic', async () => {
		await send('gone-api', 40, 40);
		await waitStatus('gone-api', 'major_outage');
		const s = await waitStatus('gone-api', 'operational', (WINDOW_S + 8) * 1000);
		assert.equal(s, 'operational|0.00|0');
		assert.deepEqual(await historyOf('gone-api'), ['major_outage', 'operational']);
	});

	test('old events (inside 24 h, outside the window) are stored but do not count', async () => {
		const events = [];
		const at = new Date(Date.now() - 3600 * 1000).toISOString();
		for (let i = 0; i < 50; i++)
			events.push({ service: 'past-api', operation: 'call', outcome: 'error', timestamp: at });
		const r = await request({
			port: srv.port, method: 'POST', path: '/v1/events',
			headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
			body: JSON.stringify({ events }),
		});
		assert.equal(r.json.accepted, 50);
		await sleep(4500);
		assert.ok(['', 'operational|0.00|0'].includes(await statusOf('past-api')), await statusOf('past-api'));
		assert.equal(await sql("SELECT count(*) FROM events e JOIN services s ON s.id = e.service_id WHERE s.slug = 'past-api'"), '50');
	});

	test('the badge follows the computed status', async () => {
		await send('badge-api', 100, 90);
		await waitStatus('badge-api', 'major_outage');
		await waitFor(async () => {
			const r = await request({ port: srv.port, path: '/api/v1/badge/demo' });
			return r.status === 200 && r.body.includes('major outage');
		}, { timeoutMs: 8000, intervalMs: 250, what: 'the badge to show the major outage' });
	});
});

describe('several instances', () => {
	test('two instances on one database record each change once', async () => {
		const second = await startCupd({
			cluster,
			env: { CUPD_ACCESS_LOG: 'off', CUPD_STATUS_WINDOW_SECONDS: String(WINDOW_S), CUPD_RATE_SDK_KEY_PER_MIN: '100000' },
		});
		await send('twin-api', 50, 40);
		await send('twin-api', 50, 20, { port: second.port });
		assert.equal(await waitStatus('twin-api', 'major_outage'), 'major_outage|0.60|100');
		// Keep it failing through several ticks of both instances.
		for (let i = 0; i < 5; i++) {
			await sleep(1000);
			await send('twin-api', 20, 20, { port: i % 2 ? second.port : srv.port });
		}
		assert.match(await statusOf('twin-api'), /^major_outage\|/);
		assert.deepEqual(await historyOf('twin-api'), ['major_outage']);
		await second.stop();
	});
});

describe('configuration', () => {
	test('thresholds out of order or out of range stop cupd with a message naming the variable', async () => {
		for (const [env, re] of [
			[{ CUPD_STATUS_MAJOR: '0.1' }, /CUPD_STATUS_DEGRADED <= CUPD_STATUS_PARTIAL <= CUPD_STATUS_MAJOR/],
			[{ CUPD_STATUS_DEGRADED: '1.5' }, /CUPD_STATUS_DEGRADED/],
			[{ CUPD_STATUS_PARTIAL: 'half' }, /CUPD_STATUS_PARTIAL/],
			[{ CUPD_STATUS_WINDOW_SECONDS: '0' }, /CUPD_STATUS_WINDOW_SECONDS/],
			[{ CUPD_STATUS_MIN_SAMPLES: '-1' }, /CUPD_STATUS_MIN_SAMPLES/],
		]) {
			const r = await runCli(['serve'], { env: { DATABASE_URL: cluster.url, CUPD_LISTEN: '127.0.0.1:1', ...env }, timeoutMs: 5000 });
			assert.notEqual(r.code, 0, JSON.stringify(env));
			assert.match(r.stderr, re);
		}
	});
});
