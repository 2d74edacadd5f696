// mcp_conformance.test.mjs: the MCP conformance suite (npm
// @modelcontextprotocol/conformance, pinned in package.json) against cupd,
// with every result printed in the test output.
//
// Which version: 0.1.13. Later ones (0.1.14+) import fs.globSync, which
// needs Node 22; this machine has Node 20.
// Authentication: `conformance server` has no option for headers or
// credentials (its client connects with a bare StreamableHTTPClientTransport),
// so it talks to a small loopback proxy that adds the API Token and
// otherwise passes requests through unchanged; only the proxy's own
// Host/Origin are mapped to cupd's, so the DNS-rebinding scenario still
// reaches cupd with the hostile Host and Origin it sends.
// Scenarios: those that apply to a product server must pass (lifecycle,
// ping, tools/resources/prompts listing, concurrent POST streams, DNS
// rebinding); the rest exercise the reference server's fixture tools
// (test_simple_text, test_error_handling, ...), logging, completion,
// subscriptions or sampling, which cupd does not offer: they are run and
// their results printed, not asserted.
// Issue 5 "Tests"; REQUIREMENTS A1, A11, A14, A34, A36, A40, A45.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { cleanup, run, runCli, startCluster, startCupd } from '../integration/lib/harness.mjs';

const require = createRequire(import.meta.url);
const PKG = path.dirname(require.resolve('@modelcontextprotocol/conformance/package.json'));
const CLI = path.join(PKG, 'dist', 'index.js');
const MUST_PASS = ['server-initialize', 'ping', 'tools-list', 'resources-list', 'prompts-list',
	'server-sse-multiple-streams', 'dns-rebinding-protection'];

let srv, proxy, proxyPort, token, outDir;

/** Loopback proxy: adds the API Token; maps only its own Host/Origin to cupd's. */
function startProxy(target, bearer) {
	const t = new URL(target);
	const server = http.createServer((req, res) => {
		const own = [`127.0.0.1:${server.address().port}`, `localhost:${server.address().port}`];
		const headers = { ...req.headers, authorization: `Bearer ${bearer}` };
		if (own.includes(headers.host))
			headers.host = t.host;
		if (headers.origin && own.some((h) => headers.origin === `http://${h}`))
			headers.origin = t.origin;
		const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers }, (r) => {
			res.writeHead(r.statusCode, r.headers);
			r.pipe(res);
		});
		up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
		req.pipe(up);
	});
	return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
	const cluster = await startCluster();
	const env = { DATABASE_URL: cluster.url };
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-e2e-conformance-'));
	for (const args of [['migrate'], ['seed-demo', '--password-file', path.join(dir, 'pw')]])
		assert.equal((await runCli(args, { env })).code, 0);
	const t = await runCli(['token', 'create', '--org', 'demo', '--user', 'demo@example.com', '--name', 'conformance',
		'--scopes', 'write'], { env });
	token = t.stdout.trim();
	srv = await startCupd({ cluster, env: { CUPD_ACCESS_LOG: 'off', CUPD_RATE_API_TOKEN_PER_MIN: '100000' } });
	proxy = await startProxy(srv.base, token);
	proxyPort = proxy.address().port;
	outDir = await mkdtemp(path.join(os.tmpdir(), 'cupd-conformance-out-'));
});

after(async () => {
	await new Promise((r) => (proxy ? proxy.close(r) : r()));
	if (srv) {
		const r = await srv.stop('SIGTERM');
		assert.doesNotMatch(srv.stderr(), /Sanitizer|runtime error:/);
		assert.equal(r.code, 0);
	}
	await cleanup();
});

/** Runs one scenario; returns its checks (from the results directory). */
async function scenario(name) {
	const dir = path.join(outDir, name);
	const r = await run(process.execPath, [CLI, 'server', '--url', `http://127.0.0.1:${proxyPort}/mcp`,
		'--scenario', name, '-o', dir], { timeoutMs: 60000 });
	assert.ok(!r.timedOut, `${name} timed out`);
	const sub = (await readdir(dir).catch(() => []))[0];
	const checks = sub ? JSON.parse(await readFile(path.join(dir, sub, 'checks.json'), 'utf8')) : [];
	return { checks, code: r.code, output: r.stdout + r.stderr };
}

function report(name, checks) {
	for (const c of checks)
		console.log(`  [${name}] ${c.status} ${c.id}: ${c.description}${c.errorMessage ? ` — ${c.errorMessage}` : ''}`);
}

test('conformance 0.1.13: the server scenarios that apply to a product server pass', { timeout: 240000 }, async () => {
	const v = JSON.parse(await readFile(path.join(PKG, 'package.json'), 'utf8')).version;
	console.log(`@modelcontextprotocol/conformance ${v}, through an API-Token proxy on 127.0.0.1:${proxyPort}`);
	const failed = [];
	for (const name of MUST_PASS) {
		const { checks, output } = await scenario(name);
		report(name, checks);
		assert.ok(checks.length > 0, `${name}: no checks recorded:\n${output.slice(-2000)}`);
		for (const c of checks)
			if (c.status === 'FAILURE')
				failed.push(`${name}/${c.id}: ${c.errorMessage ?? ''}`);
	}
	assert.deepEqual(failed, [], 'scenarios that apply to cupd must pass');
});

test('conformance 0.1.13: the other server scenarios (reference-server fixtures), results recorded',
	{ timeout: 240000 }, async () => {
		const list = await run(process.execPath, [CLI, 'list', '--server'], { timeoutMs: 30000 });
		const all = list.stdout.split('\n').map((l) => /^\s+-\s+(\S+)/.exec(l)?.[1]).filter(Boolean);
		assert.ok(all.length >= MUST_PASS.length, list.stdout);
		const tally = { SUCCESS: 0, FAILURE: 0, WARNING: 0, other: 0 };
		for (const name of all.filter((n) => !MUST_PASS.includes(n))) {
			const { checks } = await scenario(name);
			report(name, checks);
			for (const c of checks)
				tally[c.status in tally ? c.status : 'other']++;
		}
		console.log(`  not asserted (they need the reference server's fixture tools, logging, completion, `
			+ `subscriptions or sampling): ${JSON.stringify(tally)}`);
	});
