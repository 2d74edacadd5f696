// harness.mjs: what every integration test needs to run the real cupd
// against a real, throwaway PostgreSQL cluster over 127.0.0.1.
//
// Environment (set by tests/integration/CMakeLists.txt):
//   CUPD_BIN    the cupd binary under test (normal or ASan+UBSan build)
//   CUPD_PG_SH  deploy/pg.sh, which makes private clusters
//
// Every process and cluster made here is registered; call cleanup() from an
// `after` hook. If the test process exits without that (a crash, an
// unhandled error), an exit hook still kills cupd and destroys the clusters.
// Node built-ins only.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

function required(name) {
	const v = process.env[name];
	if (!v)
		throw new Error(`${name} is not set; run the integration tests through ctest`);
	return v;
}

export const CUPD_BIN = required('CUPD_BIN');
export const PG_SH = required('CUPD_PG_SH');
/** The repository root (tests/integration/lib/../../..). */
export const SOURCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const live = { procs: new Set(), clusters: new Set() };

process.on('exit', () => {
	for (const p of live.procs)
		try { p.kill('SIGKILL'); } catch { /* already gone */ }
	for (const dir of live.clusters)
		spawnSync('bash', [PG_SH, 'destroy', dir], { stdio: 'ignore', timeout: 30000 });
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

/** Polls fn until it returns a truthy value; throws after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = {}) {
	const deadline = now() + timeoutMs;
	let last;
	for (;;) {
		try {
			const v = await fn();
			if (v)
				return v;
		} catch (e) {
			last = e;
		}
		if (now() >= deadline)
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
		await sleep(intervalMs);
	}
}

/** The environment of this process without any cupd or libpq setting, so a
 *  developer's shell cannot change what a test runs against. */
function baseEnv() {
	const env = {};
	for (const [k, v] of Object.entries(process.env))
		if (!k.startsWith('CUPD_') && !k.startsWith('PG') && k !== 'DATABASE_URL')
			env[k] = v;
	return env;
}

/**
 * Runs a program to completion (asynchronously, so other servers' pipes keep
 * draining). Never rejects for a non-zero exit; rejects only if it cannot be
 * started. After timeoutMs it is killed and timedOut is set.
 */
export function run(cmd, args, { env, stdin, timeoutMs = 30000 } = {}) {
	return new Promise((resolve, reject) => {
		const t0 = now();
		const p = spawn(cmd, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
		live.procs.add(p);
		let stdout = '', stderr = '', timedOut = false;
		p.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
		p.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
		const timer = setTimeout(() => { timedOut = true; p.kill('SIGKILL'); }, timeoutMs);
		p.on('error', (e) => { clearTimeout(timer); live.procs.delete(p); reject(e); });
		p.on('close', (code, signal) => {
			clearTimeout(timer);
			live.procs.delete(p);
			resolve({ code, signal, stdout, stderr, timedOut, ms: now() - t0 });
		});
		p.stdin.on('error', () => {}); // a program that exits without reading stdin
		p.stdin.end(stdin ?? '');
	});
}

/** Runs `$CUPD_BIN args...` with env on top of a clean environment. */
export function runCli(args, { env = {}, stdin, timeoutMs = 20000 } = {}) {
	return run(CUPD_BIN, args, { env: { ...baseEnv(), ...env }, stdin, timeoutMs });
}

async function pgsh(...args) {
	const r = await run('bash', [PG_SH, ...args], { timeoutMs: 60000 });
	if (r.code !== 0)
		throw new Error(`pg.sh ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
	return r.stdout.trim();
}

/**
 * Creates and starts a throwaway cluster (database "cupd") in a fresh
 * directory under os.tmpdir().
 */
export async function startCluster() {
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-it-'));
	live.clusters.add(dir);
	await pgsh('start', dir);
	const url = await pgsh('url', dir);
	let destroyed = false;
	return {
		dir,
		url,
		/** Fast shutdown; resolves once the server is down. */
		stop: () => pgsh('stop', dir),
		start: () => pgsh('start', dir),
		/** Creates database name and returns its conninfo. */
		createdb: async (name) => { await pgsh('createdb', dir, name); return pgsh('url', dir, name); },
		destroy: async () => {
			if (destroyed)
				return;
			destroyed = true;
			try {
				await pgsh('destroy', dir);
			} finally {
				live.clusters.delete(dir);
			}
		},
	};
}

/** Runs sql through psql (from PATH) and returns its unaligned output. */
export async function psql(url, sql) {
	const r = await run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql],
		{ env: baseEnv(), timeoutMs: 15000 });
	if (r.code !== 0)
		throw new Error(`psql failed (exit ${r.code}): ${r.stderr}`);
	return r.stdout.trim();
}

/** n distinct TCP ports on 127.0.0.1 that were free a moment ago. */
export async function freePorts(n) {
	const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => resolve(s));
	})));
	const ports = servers.map((s) => s.address().port);
	await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
	return ports;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort() {
	return (await freePorts(1))[0];
}

/**
 * Starts `cupd serve` on a free 127.0.0.1 port and waits (bounded) until
 * /healthz answers 200. Options:
 *   cluster   its url becomes DATABASE_URL (or pass env.DATABASE_URL)
 *   workers   CUPD_WORKERS (default 2)
 *   debug     CUPD_DEBUG_ROUTES=on
 *   env       more variables, applied last
 *   waitMs    how long to wait for /healthz (default 15 s: ASan starts slowly)
 *   port      listen on this port instead of a fresh free one
 */
export async function startCupd({ cluster, workers = 2, debug = false, env = {}, waitMs = 15000, port } = {}) {
	port ??= await freePort();
	const fullEnv = {
		...baseEnv(),
		DATABASE_URL: cluster ? cluster.url : '',
		CUPD_LISTEN: `127.0.0.1:${port}`,
		CUPD_WORKERS: String(workers),
		CUPD_DEBUG_ROUTES: debug ? 'on' : 'off',
		...env,
	};
	const proc = spawn(CUPD_BIN, ['serve'], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
	live.procs.add(proc);
	let out = '', err = '';
	proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
	proc.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
	let exitInfo = null;
	const exited = new Promise((resolve) => {
		proc.on('close', (code, signal) => {
			live.procs.delete(proc);
			exitInfo = { code, signal, at: now() };
			resolve(exitInfo);
		});
	});
	const srv = {
		port,
		base: `http://127.0.0.1:${port}`,
		proc,
		env: fullEnv,
		stdout: () => out,
		stderr: () => err,
		exited,
		/** null while running, else {code, signal, at}. */
		exitInfo: () => exitInfo,
		/** Sends signal and waits (bounded) for the exit. Returns {code, signal, ms}. */
		async stop(signal = 'SIGTERM', timeoutMs = 15000) {
			if (exitInfo)
				return { ...exitInfo, ms: 0 };
			const t0 = now();
			proc.kill(signal);
			let timer;
			const r = await Promise.race([exited, new Promise((res) => { timer = setTimeout(res, timeoutMs, null); })]);
			clearTimeout(timer);
			if (!r) {
				proc.kill('SIGKILL');
				await exited;
				throw new Error(`cupd did not exit within ${timeoutMs} ms of ${signal}; stderr:\n${err}`);
			}
			return { code: r.code, signal: r.signal, ms: r.at - t0 };
		},
		kill() {
			if (!exitInfo)
				proc.kill('SIGKILL');
			return exited;
		},
	};
	const deadline = now() + waitMs;
	for (;;) {
		if (exitInfo)
			throw new Error(`cupd exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before serving; stderr:\n${err}`);
		try {
			const r = await request({ port, path: '/healthz', timeoutMs: 1000 });
			if (r.status === 200)
				return srv;
		} catch { /* not listening yet */ }
		if (now() >= deadline) {
			await srv.kill();
			throw new Error(`cupd did not answer /healthz within ${waitMs} ms; stderr:\n${err}`);
		}
		await sleep(50);
	}
}

/** Kills every cupd still running and destroys every cluster of this file. */
export async function cleanup() {
	const waits = [];
	for (const p of live.procs) {
		waits.push(new Promise((r) => { p.once('close', r); setTimeout(r, 5000).unref(); }));
		try { p.kill('SIGKILL'); } catch { /* gone */ }
	}
	await Promise.all(waits);
	for (const dir of [...live.clusters]) {
		try {
			await pgsh('destroy', dir);
		} finally {
			live.clusters.delete(dir);
		}
	}
}

/**
 * One HTTP request on a fresh connection. Resolves with
 * {status, headers, body, json, ms}; json is undefined unless the body parses.
 * Rejects on connection errors and after timeoutMs.
 */
export function request({ port, method = 'GET', path: p = '/', headers = {}, body, timeoutMs = 5000 }) {
	return new Promise((resolve, reject) => {
		const t0 = now();
		const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => {
				clearTimeout(timer);
				const text = Buffer.concat(chunks).toString('utf8');
				let json;
				try { json = JSON.parse(text); } catch { /* not JSON */ }
				resolve({ status: res.statusCode, headers: res.headers, body: text, json, ms: now() - t0 });
			});
			res.on('error', reject);
		});
		const timer = setTimeout(() => {
			req.destroy(new Error(`${method} ${p}: no answer within ${timeoutMs} ms`));
		}, timeoutMs);
		req.on('error', (e) => { clearTimeout(timer); reject(e); });
		req.end(body);
	});
}

/**
 * Writes raw bytes on a new connection and collects everything the server
 * sends until it closes the connection (or timeoutMs). Never rejects:
 * {text, status, headers, body, closed, error, ms, closeMs} describe what
 * happened. closeMs is the time from connect to the server's close.
 */
export function rawRequest({ port, data = '', timeoutMs = 5000, endAfterWrite = false }) {
	return new Promise((resolve) => {
		const t0 = now();
		const chunks = [];
		let error = null, closed = false, connectedAt = null, done = false;
		const s = net.connect({ host: '127.0.0.1', port });
		const finish = () => {
			if (done)
				return;
			done = true;
			clearTimeout(timer);
			const text = Buffer.concat(chunks).toString('latin1');
			resolve({ ...parseRaw(text), text, closed, error, ms: now() - t0,
				closeMs: closed && connectedAt !== null ? now() - connectedAt : null });
			s.destroy();
		};
		const timer = setTimeout(finish, timeoutMs);
		s.on('connect', () => {
			connectedAt = now();
			if (data.length)
				s.write(data);
			if (endAfterWrite)
				s.end();
		});
		s.on('data', (c) => chunks.push(c));
		s.on('error', (e) => { error = e; });
		s.on('close', () => { closed = true; finish(); });
	});
}

/** Splits the first response in text into {status, headers, body}. */
export function parseRaw(text) {
	const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text);
	if (!m)
		return { status: null, headers: {}, body: '' };
	const end = text.indexOf('\r\n\r\n');
	const head = end < 0 ? text : text.slice(0, end);
	const headers = {};
	for (const line of head.split('\r\n').slice(1)) {
		const i = line.indexOf(':');
		if (i > 0)
			headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
	}
	return { status: Number(m[1]), headers, body: end < 0 ? '' : text.slice(end + 4) };
}

/**
 * Parses Prometheus text into a Map from `name{labels}` (exactly as
 * written, labels in their order) or `name` to its numeric value.
 */
export function parseMetrics(text) {
	const m = new Map();
	for (const line of text.split('\n')) {
		if (!line || line.startsWith('#'))
			continue;
		const i = line.lastIndexOf(' ');
		m.set(line.slice(0, i), Number(line.slice(i + 1)));
	}
	return m;
}

/** GET /metrics, parsed. */
export async function metrics(port) {
	const r = await request({ port, path: '/metrics' });
	if (r.status !== 200)
		throw new Error(`/metrics answered ${r.status}`);
	return parseMetrics(r.body);
}

/** The access-log lines (parsed JSON) in a cupd's stdout; throws on a line
 *  that is not JSON. */
export function accessLines(stdout) {
	return stdout.split('\n').filter((l) => l.length).map((l) => {
		try {
			return JSON.parse(l);
		} catch {
			throw new Error(`stdout line is not JSON: ${l}`);
		}
	});
}

/** The migrations the binary embeds, from sql/migrations (versions, sorted). */
export async function migrationVersions() {
	const { readdir } = await import('node:fs/promises');
	return (await readdir(path.join(SOURCE_DIR, 'sql', 'migrations')))
		.filter((f) => /^\d{4}_.+\.sql$/.test(f)).map((f) => f.slice(0, -4)).sort();
}
