// Issue 2, "Limits: header size, body size (default 1 MiB), read/write
// timeouts, all configurable; oversize gets 413/431, not a crash" and "Tests
// must include ... oversize header/body".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, rawRequest, request, sleep, startCluster, startCupd } from './lib/harness.mjs';

const MAX_HEADER = 4096;
const MAX_BODY = 2048;
const TIMEOUT_S = 1;

let cluster, srv;

before(async () => {
	cluster = await startCluster();
	srv = await startCupd({
		cluster, workers: 2,
		env: {
			CUPD_MAX_HEADER_BYTES: String(MAX_HEADER),
			CUPD_MAX_BODY_BYTES: String(MAX_BODY),
			CUPD_TIMEOUT_SECONDS: String(TIMEOUT_S),
		},
	});
});
after(cleanup);

async function assertStillServes() {
	const r = await request({ port: srv.port, path: '/healthz' });
	assert.equal(r.status, 200, 'server still answers /healthz');
	assert.equal(srv.exitInfo(), null, `cupd is still running; stderr:\n${srv.stderr()}`);
}

const headerOf = (bytes) => `X-Filler: ${'h'.repeat(bytes)}\r\n`;

describe('header size', () => {
	test('issue 2 "oversize header": a header block over CUPD_MAX_HEADER_BYTES gets 431 with a JSON body', async () => {
		const r = await rawRequest({
			port: srv.port,
			data: `GET /healthz HTTP/1.1\r\nHost: t\r\n${headerOf(8192)}\r\n`,
		});
		assert.equal(r.status, 431, r.text.slice(0, 200));
		assert.match(r.text, /"error":"request_header_fields_too_large"/);
		assert.match(r.text, /X-Content-Type-Options: nosniff/i);
		assert.ok(r.closed, 'connection closed after the refusal');
		await assertStillServes();
	});

	test('issue 2: a header block past the hard backstop (4x, at least 64 KiB) is cut off by evhttp', async () => {
		// Beyond this evhttp stops reading and answers 400 itself, so a client
		// cannot make a connection buffer unbounded headers.
		const r = await rawRequest({
			port: srv.port,
			data: `GET /healthz HTTP/1.1\r\nHost: t\r\n${headerOf(70 * 1024)}\r\n`,
		});
		assert.ok(r.status === 400 || r.closed, `status ${r.status}`);
		await assertStillServes();
	});

	test('issue 2: a header block under the limit is served (the limit is what refused above)', async () => {
		const r = await rawRequest({
			port: srv.port,
			data: `GET /healthz HTTP/1.1\r\nHost: t\r\n${headerOf(MAX_HEADER - 1024)}Connection: close\r\n\r\n`,
		});
		assert.equal(r.status, 200, r.text.slice(0, 200));
	});

	test('issue 2: many header lines adding up past the limit are refused too', async () => {
		const lines = Array.from({ length: 200 }, (_, i) => `X-H${i}: ${'v'.repeat(40)}\r\n`).join('');
		const r = await rawRequest({ port: srv.port, data: `GET /healthz HTTP/1.1\r\nHost: t\r\n${lines}\r\n` });
		assert.equal(r.status, 431, r.text.slice(0, 200));
		await assertStillServes();
	});
});

describe('body size', () => {
	test('issue 2 "oversize body": Content-Length over CUPD_MAX_BODY_BYTES gets 413', async () => {
		// Announced size alone is enough for evhttp to refuse, before any body is sent.
		const r = await rawRequest({
			port: srv.port,
			data: `POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: ${MAX_BODY * 2}\r\n\r\n`,
		});
		assert.equal(r.status, 413, r.text.slice(0, 200));
		await assertStillServes();
	});

	test('issue 2 "oversize body": a POSTed body over the limit gets 413', async () => {
		const body = 'b'.repeat(MAX_BODY + 1);
		const r = await rawRequest({
			port: srv.port,
			data: `POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
		});
		assert.equal(r.status, 413, r.text.slice(0, 200));
		await assertStillServes();
	});

	test('issue 2 "oversize body": a chunked body over the limit gets 413', async () => {
		const chunk = 'c'.repeat(MAX_BODY);
		const r = await rawRequest({
			port: srv.port,
			data: `POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n` +
				`${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
		});
		assert.equal(r.status, 413, r.text.slice(0, 200));
		await assertStillServes();
	});

	test('issue 2: a body at the limit passes evhttp and reaches the router (405, not 413)', async () => {
		for (const n of [1, MAX_BODY - 1, MAX_BODY]) {
			const r = await request({ port: srv.port, method: 'POST', path: '/healthz', body: 'x'.repeat(n) });
			assert.equal(r.status, 405, `body of ${n} bytes`);
		}
	});

	test('issue 2 "not a crash": 60 concurrent oversize requests, then normal service', async () => {
		const body = 'z'.repeat(MAX_BODY * 4);
		const reqs = [];
		for (let i = 0; i < 20; i++) {
			reqs.push(rawRequest({ port: srv.port, data: `GET /healthz HTTP/1.1\r\nHost: t\r\n${headerOf(16384)}\r\n` }));
			reqs.push(rawRequest({ port: srv.port, data: `POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}` }));
			reqs.push(rawRequest({ port: srv.port, data: `POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n` }));
		}
		const results = await Promise.all(reqs);
		for (const r of results) {
			// A refusal, or (when the client was still writing) a reset after it; never a hang.
			assert.ok(r.closed, 'connection ended');
			if (r.status !== null)
				assert.ok([400, 413, 431].includes(r.status), `status ${r.status}`);
			else
				assert.equal(r.error?.code, 'ECONNRESET', `no answer and no reset: ${r.text}`);
		}
		assert.ok(results.filter((r) => r.status !== null).length >= results.length / 2,
			'most oversize requests got their 413/431 answer');
		await assertStillServes();
	});
});

describe('timeouts', () => {
	test('issue 2 "read/write timeouts": a silent connection is closed after CUPD_TIMEOUT_SECONDS', async () => {
		const r = await rawRequest({ port: srv.port, data: '', timeoutMs: 10000 });
		assert.ok(r.closed, 'closed by the server');
		assert.ok(r.closeMs >= TIMEOUT_S * 1000 * 0.8, `closed after ${r.closeMs} ms, not earlier than the timeout`);
		assert.ok(r.closeMs < TIMEOUT_S * 1000 + 2000, `closed after ${r.closeMs} ms`);
	});

	test('issue 2 "read/write timeouts": an idle keep-alive connection is closed after CUPD_TIMEOUT_SECONDS', async () => {
		const r = await rawRequest({ port: srv.port, data: 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n', timeoutMs: 10000 });
		assert.equal(r.status, 200, 'the request itself is answered');
		assert.ok(r.closed, 'then the idle connection is closed');
		assert.ok(r.closeMs >= TIMEOUT_S * 1000 * 0.8 && r.closeMs < TIMEOUT_S * 1000 + 2000,
			`closed after ${r.closeMs} ms`);
	});

	test('issue 2 "read/write timeouts": a request that stops half-way is dropped', async () => {
		const r = await rawRequest({ port: srv.port, data: 'GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ', timeoutMs: 10000 });
		assert.ok(r.closed, 'closed by the server');
		assert.ok(r.closeMs < TIMEOUT_S * 1000 + 2000, `closed after ${r.closeMs} ms`);
		assert.ok(r.status === null || r.status === 400 || r.status === 408, `status ${r.status}`);
		await sleep(10);
		await assertStillServes();
	});
});
