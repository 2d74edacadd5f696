// Issue 2, "Configuration from the environment with safe defaults, all
// listed by cupd --help ... A bad value stops start-up with a message naming
// the variable" and "cupd subcommands: ... --help and --version. Each prints
// a clear error and exits non-zero on bad input."
//
// No database: every check here fails (or succeeds) before cupd needs one.
// DATABASE_URL points at a socket that does not exist, so a value that were
// wrongly accepted would show up as a different error, not a hang.
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { SOURCE_DIR, cleanup, freePort, runCli, startCluster } from './lib/harness.mjs';

after(cleanup);

const NO_DB = 'host=/nonexistent-cupd-test port=1 user=nobody dbname=none connect_timeout=1';

async function serveWith(env, timeoutMs = 8000) {
	return runCli(['serve'], {
		env: { DATABASE_URL: NO_DB, CUPD_AUTO_MIGRATE: 'off', CUPD_LISTEN: '127.0.0.1:1', ...env },
		timeoutMs,
	});
}

describe('bad values stop start-up', () => {
	const cases = [
		['CUPD_WORKERS', 'abc'],
		['CUPD_WORKERS', '-1'],
		['CUPD_WORKERS', '100000'],
		['CUPD_LISTEN', 'nonsense'],
		['CUPD_LISTEN', '127.0.0.1:99999'],
		['CUPD_LISTEN', ':8080'],
		['CUPD_LISTEN', ''],
		['CUPD_PUBLIC_URL', 'ftp://x'],
		['CUPD_PUBLIC_URL', 'https://x/'],
		['CUPD_PUBLIC_URL', 'https://x.example?q=1'],
		['CUPD_LOG_LEVEL', 'loud'],
		['CUPD_ACCESS_LOG', 'maybe'],
		['CUPD_MAX_BODY_BYTES', '10'],
		['CUPD_MAX_HEADER_BYTES', '1k'],
		['CUPD_TIMEOUT_SECONDS', '0'],
		['CUPD_DB_POOL_SIZE', '1000'],
		['CUPD_SHUTDOWN_GRACE_SECONDS', '1.5'],
		['CUPD_AUTO_MIGRATE', 'perhaps'],
		['CUPD_DEBUG_ROUTES', '2'],
	];
	for (const [name, value] of cases) {
		test(`issue 2 "A bad value stops start-up with a message naming the variable": ${name}=${JSON.stringify(value)}`, async () => {
			const r = await serveWith({ [name]: value });
			assert.equal(r.timedOut, false, 'exited by itself');
			assert.notEqual(r.code, 0, 'non-zero exit');
			assert.equal(r.code, 2, `exit status 2 for bad configuration; stderr:\n${r.stderr}`);
			assert.ok(r.stderr.includes(name), `stderr names ${name}:\n${r.stderr}`);
			assert.equal(r.stderr.trim().split('\n').length, 1, `one line:\n${r.stderr}`);
			assert.equal(r.stdout, '', 'nothing on stdout');
		});
	}

	test('issue 2: the same check runs for every subcommand (migrate)', async () => {
		const r = await runCli(['migrate'], { env: { DATABASE_URL: NO_DB, CUPD_LOG_LEVEL: 'loud' } });
		assert.equal(r.code, 2);
		assert.match(r.stderr, /CUPD_LOG_LEVEL/);
	});

	test('issue 2 "safe defaults": good values of every kind are accepted (control for the cases above)', async () => {
		// Valid everything, but the database is missing: cupd gets past the
		// configuration and then waits for the database (up to 10 s), instead
		// of exiting at once with status 2 as every bad value above does.
		const port = await freePort();
		const r = await runCli(['serve'], {
			env: {
				DATABASE_URL: NO_DB, CUPD_AUTO_MIGRATE: 'OFF', CUPD_LISTEN: `127.0.0.1:${port}`,
				CUPD_PUBLIC_URL: 'https://cupd.example.com/base', CUPD_WORKERS: '1', CUPD_LOG_LEVEL: 'WARN',
				CUPD_ACCESS_LOG: 'no', CUPD_MAX_BODY_BYTES: '1024', CUPD_TIMEOUT_SECONDS: '1',
				CUPD_SHUTDOWN_GRACE_SECONDS: '0', CUPD_DEBUG_ROUTES: 'false',
				CUPD_KEY_ENCRYPTION_KEY: 'ab'.repeat(32),
				CUPD_CIMD_PINNED_FILE: path.join(SOURCE_DIR, 'deploy', 'cimd-pinned.json'),
			},
			timeoutMs: 1500,
		});
		// Still running when killed: the timeout is the expected outcome.
		assert.equal(r.timedOut, true, `cupd should have got past the configuration; exit ${r.code}, stderr:\n${r.stderr}`);
		assert.doesNotMatch(r.stderr, /CUPD_/, 'no complaint about any variable');
	});
});

describe('--help and --version', () => {
	test('issue 2 "all listed by cupd --help": every variable the source reads, and DATABASE_URL', async () => {
		const r = await runCli(['--help']);
		assert.equal(r.code, 0);
		// Every "CUPD_..." string literal in server/ is a variable cupd reads.
		const names = new Set(['DATABASE_URL', 'CUPD_LISTEN', 'CUPD_PUBLIC_URL', 'CUPD_WORKERS', 'CUPD_LOG_LEVEL']);
		const dir = path.join(SOURCE_DIR, 'server');
		for (const f of await readdir(dir, { recursive: true })) {
			if (!f.endsWith('.c'))
				continue;
			const src = await readFile(path.join(dir, f), 'utf8');
			for (const m of src.matchAll(/"(CUPD_[A-Z0-9_]+)"/g))
				names.add(m[1]);
		}
		assert.ok(names.size >= 16, `found the variables in server/ (${names.size})`);
		for (const n of names)
			assert.match(r.stdout, new RegExp(`^\\s+${n}\\s`, 'm'), `--help lists ${n}`);
		for (const sub of ['serve', 'migrate', 'org add', 'user add', 'seed-demo', '--version'])
			assert.ok(r.stdout.includes(sub), `--help mentions ${sub}`);
		assert.match(r.stdout, /default: 127\.0\.0\.1:8080/, 'defaults are shown');
	});

	test('issue 2 "--version": prints the project version', async () => {
		const cm = await readFile(path.join(SOURCE_DIR, 'CMakeLists.txt'), 'utf8');
		const version = /project\(cupd VERSION ([0-9.]+)/.exec(cm)[1];
		const r = await runCli(['--version']);
		assert.equal(r.code, 0);
		assert.equal(r.stdout, `cupd ${version}\n`);
	});

	test('issue 2 "exits non-zero on bad input": unknown or incomplete subcommands', async () => {
		for (const args of [['frobnicate'], ['serve', 'extra'], ['org'], ['org', 'delete'], ['user'], ['--nope'], []]) {
			const r = await runCli(args, { env: { DATABASE_URL: NO_DB } });
			assert.notEqual(r.code, 0, `cupd ${args.join(' ')}`);
			assert.ok(r.stderr.length > 0, `cupd ${args.join(' ')}: says why on stderr`);
			assert.equal(r.timedOut, false);
		}
		const r = await runCli(['frobnicate'], { env: { DATABASE_URL: NO_DB } });
		assert.match(r.stderr, /unknown command "frobnicate"/);
	});
});

describe('listening port already in use', () => {
	test('issue 2 "prints a clear error and exits non-zero": port taken', async () => {
		// serve() binds after it has prepared the database, so this needs one.
		const cluster = await startCluster();
		const blocker = net.createServer();
		await new Promise((res) => blocker.listen(0, '127.0.0.1', res));
		const { port } = blocker.address();
		try {
			const r = await runCli(['serve'], {
				env: { DATABASE_URL: cluster.url, CUPD_LISTEN: `127.0.0.1:${port}` }, timeoutMs: 20000,
			});
			assert.equal(r.timedOut, false, 'exited by itself');
			assert.equal(r.code, 1, `exit status; stderr:\n${r.stderr}`);
			assert.match(r.stderr, /CUPD_LISTEN: cannot listen on 127\.0\.0\.1:\d+: Address already in use/);
		} finally {
			blocker.close();
			await cluster.destroy();
		}
	});

	test('issue 2: a busy port is reported before cupd waits for its database', async () => {
		const blocker = net.createServer();
		await new Promise((res) => blocker.listen(0, '127.0.0.1', res));
		const { port } = blocker.address();
		try {
			const r = await serveWith({ CUPD_LISTEN: `127.0.0.1:${port}` }, 4000);
			assert.equal(r.timedOut, false, 'exited by itself within 4 s');
			assert.match(r.stderr, /CUPD_LISTEN: cannot listen/);
		} finally {
			blocker.close();
		}
	});
});
