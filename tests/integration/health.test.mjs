// Issue 2, "HTTP core": /healthz, /readyz, /metrics, X-Request-Id, security
// headers on every response, and the structured access log.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
	accessLines, cleanup, metrics, parseMetrics, rawRequest, request, sleep, startCluster, startCupd,
} from './lib/harness.mjs';

let cluster, srv;

before(async () => {
	cluster = await startCluster();
	srv = await startCupd({ cluster, workers: 2 });
});
after(cleanup);

// The access log is buffered per worker and flushed by a 50 ms timer.
const FLUSH_MS = 300;

describe('health endpoints', () => {
	test('issue 2 "GET /healthz (200 while the process runs)"', async () => {
		const r = await request({ port: srv.port, path: '/healthz' });
		assert.equal(r.status, 200);
		assert.match(r.headers['content-type'], /^application\/json/);
		assert.deepEqual(r.json, { status: 'ok' });
	});

	test('issue 2 "GET /readyz (200 only while the database answers)": 200 while it does', async () => {
		const r = await request({ port: srv.port, path: '/readyz' });
		assert.equal(r.status, 200, r.body);
		assert.deepEqual(r.json, { status: 'ready' });
	});

	test('issue 2 HEAD implied by GET: HEAD /healthz is 200 with the GET headers', async () => {
		const r = await rawRequest({
			port: srv.port,
			data: 'HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
		});
		assert.equal(r.status, 200, r.text);
		assert.match(r.headers['content-type'], /^application\/json/);
		assert.equal(r.headers['x-content-type-options'], 'nosniff');
	});

	// RFC 9110 §9.3.2: a HEAD answer has no content. With a body the next
	// response on a keep-alive connection is misframed (Node refuses it).
	test('issue 2 HEAD /healthz sends no body', async () => {
		const r = await rawRequest({
			port: srv.port,
			data: 'HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
		});
		assert.equal(r.status, 200, r.text);
		assert.ok(r.closed, 'server closes after Connection: close');
		assert.equal(r.body, '', 'no body after the header block');
	});
});

describe('metrics', () => {
	test('issue 2 "/metrics (Prometheus text: requests by route and status, latency histogram, DB pool, SSE streams)"', async () => {
		const before = await metrics(srv.port);
		const key = 'cupd_http_requests_total{route="/healthz",status="200"}';
		const n = 7;
		for (let i = 0; i < n; i++)
			assert.equal((await request({ port: srv.port, path: '/healthz' })).status, 200);
		const r = await request({ port: srv.port, path: '/metrics' });
		assert.equal(r.status, 200);
		assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
		const after = parseMetrics(r.body);

		// Exactly the requests made here, no more and no fewer.
		assert.equal((after.get(key) ?? 0) - (before.get(key) ?? 0), n, `${key} counts our requests`);

		// The histogram: TYPE line, cumulative buckets ending in +Inf == _count.
		assert.match(r.body, /^# TYPE cupd_http_request_duration_seconds histogram$/m);
		const buckets = [...after].filter(([k]) =>
			k.startsWith('cupd_http_request_duration_seconds_bucket{route="/healthz",'));
		assert.ok(buckets.length >= 2, 'several buckets for /healthz');
		for (let i = 1; i < buckets.length; i++)
			assert.ok(buckets[i][1] >= buckets[i - 1][1], `buckets are cumulative at ${buckets[i][0]}`);
		const inf = after.get('cupd_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}');
		const count = after.get('cupd_http_request_duration_seconds_count{route="/healthz"}');
		assert.ok(count >= n, '_count includes our requests');
		assert.equal(inf, count, '+Inf bucket == _count');
		assert.ok(after.has('cupd_http_request_duration_seconds_sum{route="/healthz"}'));

		// Pool and stream gauges. 2 workers x CUPD_DB_POOL_SIZE (4) connections once all are up.
		assert.match(r.body, /^# TYPE cupd_db_connections gauge$/m);
		assert.ok(after.get('cupd_db_connections') >= 1, 'at least one open DB connection');
		assert.ok(after.has('cupd_db_in_use'), 'pool in use');
		assert.ok(after.has('cupd_db_waiting'), 'pool waiting');
		assert.equal(after.get('cupd_sse_streams_open'), 0, 'no SSE streams open');
	});
});

describe('X-Request-Id', () => {
	const HEX16 = /^[0-9a-f]{16}$/;

	test('issue 2 "X-Request-Id echoed": a valid id comes back unchanged', async () => {
		for (const id of ['abc-123_X.y', 'A.b_c-9', 'a'.repeat(39)]) {
			const r = await request({ port: srv.port, path: '/healthz', headers: { 'X-Request-Id': id } });
			assert.equal(r.headers['x-request-id'], id);
		}
	});

	test('issue 2 "X-Request-Id echoed": up to 64 characters, the limit valid_request_id() enforces', async () => {
		for (const id of ['b'.repeat(40), 'a'.repeat(64)]) {
			const r = await request({ port: srv.port, path: '/healthz', headers: { 'X-Request-Id': id } });
			assert.equal(r.headers['x-request-id'], id);
		}
	});

	test('issue 2 "X-Request-Id ... generated": absent or invalid ids are replaced by 16 hex', async () => {
		const seen = new Set();
		const cases = [undefined, 'has spaces in it', 'a'.repeat(65), 'semi;colon', 'quote"d', ''];
		for (const id of cases) {
			const headers = id === undefined ? {} : { 'X-Request-Id': id };
			const r = await request({ port: srv.port, path: '/healthz', headers });
			const got = r.headers['x-request-id'];
			assert.match(got, HEX16, `request id for ${JSON.stringify(id)}`);
			seen.add(got);
		}
		assert.equal(seen.size, cases.length, 'generated ids differ');
	});

	test('issue 2: the id is on error responses too (404, 405)', async () => {
		const r404 = await request({ port: srv.port, path: '/nope', headers: { 'X-Request-Id': 'e404' } });
		assert.equal(r404.headers['x-request-id'], 'e404');
		const r405 = await request({ port: srv.port, method: 'POST', path: '/healthz', headers: { 'X-Request-Id': 'e405' } });
		assert.equal(r405.headers['x-request-id'], 'e405');
	});
});

describe('security headers', () => {
	test('issue 2 "Security headers on every response": 200, 404 and 405 answers', async () => {
		const cases = [
			[{ path: '/healthz' }, 200],
			[{ path: '/readyz' }, 200],
			[{ path: '/metrics' }, 200],
			[{ path: '/no/such/route' }, 404],
			[{ method: 'POST', path: '/healthz' }, 405],
			[{ method: 'DELETE', path: '/readyz' }, 405],
		];
		for (const [req, status] of cases) {
			const r = await request({ port: srv.port, ...req });
			const what = `${req.method ?? 'GET'} ${req.path}`;
			assert.equal(r.status, status, what);
			assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
			assert.equal(r.headers['referrer-policy'], 'no-referrer', what);
			// JSON answers carry no HTML policy, and plain http gets no HSTS.
			assert.equal(r.headers['strict-transport-security'], undefined, what);
		}
	});
});

describe('access log', () => {
	test('issue 2 "Structured access log (one JSON line per request: time, method, route, status, duration, request id)"', async () => {
		await sleep(FLUSH_MS);
		const before = accessLines(srv.stdout()).length;
		const reqs = [
			{ path: '/healthz', id: 'log-1', status: 200, route: '/healthz', method: 'GET' },
			{ path: '/readyz', id: 'log-2', status: 200, route: '/readyz', method: 'GET' },
			{ path: '/nope', id: 'log-3', status: 404, route: '-', method: 'GET' },
			{ path: '/healthz', id: 'log-4', status: 405, route: '-', method: 'DELETE' },
			{ path: '/healthz', id: 'log-5', status: 200, route: '/healthz', method: 'HEAD' },
		];
		for (const q of reqs) {
			if (q.method === 'HEAD') // raw: Node's client refuses the HEAD body cupd sends today
				await rawRequest({ port: srv.port, data: `HEAD ${q.path} HTTP/1.1\r\nHost: t\r\nX-Request-Id: ${q.id}\r\nConnection: close\r\n\r\n` });
			else
				await request({ port: srv.port, method: q.method, path: q.path, headers: { 'X-Request-Id': q.id } });
		}
		await sleep(FLUSH_MS);
		const lines = accessLines(srv.stdout()).slice(before);
		assert.equal(lines.length, reqs.length, `exactly one line per request:\n${JSON.stringify(lines, null, 1)}`);
		for (const q of reqs) {
			const mine = lines.filter((l) => l.request_id === q.id);
			assert.equal(mine.length, 1, `one line for ${q.id}`);
			const l = mine[0];
			assert.equal(l.method, q.method);
			assert.equal(l.route, q.route);
			assert.equal(l.status, q.status);
			assert.equal(typeof l.duration_ms, 'number');
			assert.ok(l.duration_ms >= 0 && l.duration_ms < 5000, `duration_ms ${l.duration_ms}`);
			assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
			assert.ok(Math.abs(Date.parse(l.time) - Date.now()) < 60000, 'time is now');
		}
	});

	test('issue 2 "never a credential": the query string is not logged anywhere', async () => {
		const secret = 'secret-xyz';
		const r = await request({
			port: srv.port, path: `/healthz?token=${secret}&access_token=${secret}`,
			headers: { 'X-Request-Id': 'query-secret', Authorization: `Bearer ${secret}-bearer` },
		});
		assert.equal(r.status, 200);
		await sleep(FLUSH_MS);
		const line = accessLines(srv.stdout()).find((l) => l.request_id === 'query-secret');
		assert.ok(line, 'the request was logged (so the check below looked at a flushed log)');
		assert.equal(line.path, '/healthz', 'path without query');
		assert.ok(!srv.stdout().includes(secret), 'secret in stdout');
		assert.ok(!srv.stderr().includes(secret), 'secret in stderr');
	});
});
