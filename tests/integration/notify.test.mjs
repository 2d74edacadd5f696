// Issue 2, "One listener connection per process with LISTEN, delivering
// NOTIFY payloads into the loops (used later for instant revocation)".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, metrics, now, psql, sleep, startCluster, startCupd, waitFor } from './lib/harness.mjs';

const WORKERS = 3; // not 2, so "one per worker" cannot pass by accident
const COUNTER = 'cupd_notify_received_total';

let cluster, srv;

const received = async () => (await metrics(srv.port)).get(COUNTER);
const listeners = () => psql(cluster.url,
	"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cupd-listener' AND query = 'LISTEN cupd_events'");

before(async () => {
	cluster = await startCluster();
	srv = await startCupd({ cluster, workers: WORKERS });
	await waitFor(async () => (await listeners()) === '1', { timeoutMs: 10000, what: 'the LISTEN connection' });
	// Warm up until every worker has subscribed: NOTIFY until a full round arrives.
	await waitFor(async () => {
		await psql(cluster.url, "NOTIFY cupd_events, 'warmup:0'");
		await sleep(200);
		return (await received()) >= WORKERS;
	}, { timeoutMs: 10000, intervalMs: 0, what: 'every worker subscribed' });
	await sleep(300);
});
after(cleanup);

/** Sends sql, then waits up to 2 s for the counter to rise by want; returns ms. */
async function expectRise(sql, want) {
	const base = await received();
	const t0 = now();
	await psql(cluster.url, sql);
	await waitFor(async () => (await received()) - base >= want,
		{ timeoutMs: 2000, intervalMs: 10, what: `${COUNTER} +${want}` });
	const ms = now() - t0;
	await sleep(300); // no late duplicates
	assert.equal((await received()) - base, want, `${COUNTER} rose by exactly ${want}`);
	return ms;
}

describe('LISTEN/NOTIFY fan-out', () => {
	test('issue 2 "One listener connection per process with LISTEN"', async () => {
		assert.equal(await listeners(), '1');
		const all = await psql(cluster.url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cupd-listener'");
		assert.equal(all, '1', 'exactly one listener connection, not one per worker');
	});

	test('issue 2 "delivering NOTIFY payloads into the loops": one delivery per worker within 2 s', async (t) => {
		const ms = await expectRise("NOTIFY cupd_events, 'test:1'", WORKERS);
		t.diagnostic(`NOTIFY reached all ${WORKERS} workers in ${ms.toFixed(0)} ms (psql included)`);
	});

	test('issue 2: several NOTIFYs in one transaction each reach every worker', async () => {
		await expectRise("BEGIN; NOTIFY cupd_events, 'test:2'; NOTIFY cupd_events, 'test:3'; " +
			"NOTIFY cupd_events, 'test:4'; COMMIT;", 3 * WORKERS);
	});

	test('issue 2: other channels are not delivered', async () => {
		const base = await received();
		await psql(cluster.url, "NOTIFY some_other_channel, 'test:5'");
		await sleep(500);
		assert.equal(await received(), base);
	});

	test('issue 2: after PostgreSQL restarts, the listener reconnects and delivers again', async (t) => {
		await cluster.stop();
		await cluster.start();
		const t0 = now();
		await waitFor(async () => (await listeners()) === '1', { timeoutMs: 5000, what: 'the listener back' });
		t.diagnostic(`listener back ${(now() - t0).toFixed(0)} ms after the restart`);
		await expectRise("NOTIFY cupd_events, 'test:6'", WORKERS);
	});
});
