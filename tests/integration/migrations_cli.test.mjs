// Issue 2, "Migrations: ... applied in order inside a transaction under an
// advisory lock (two instances starting at once are safe), recorded in a
// schema_migrations table" and the operator subcommands "migrate, org add,
// user add (password read from stdin, never from argv), seed-demo".
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { cleanup, freePorts, migrationVersions, psql, request, runCli, startCluster, startCupd } from './lib/harness.mjs';

let cluster, versions, tmp;

before(async () => {
	cluster = await startCluster();
	versions = await migrationVersions();
	tmp = await mkdtemp(path.join(os.tmpdir(), 'cupd-cli-'));
});
after(async () => {
	await cleanup();
	if (tmp)
		await rm(tmp, { recursive: true, force: true });
});

const cli = (url, args, opts = {}) => runCli(args, { ...opts, env: { DATABASE_URL: url, ...(opts.env ?? {}) } });
const recorded = async (url) => (await psql(url, 'SELECT version FROM schema_migrations ORDER BY version')).split('\n');

/** "table=count,..." over every table of the public schema. */
const rowCounts = (url) => psql(url, `
	SELECT string_agg(format('%s=%s', table_name,
	         (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM public.%I', table_name),
	                                              false, true, '')))[1]::text), ',' ORDER BY table_name)
	FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);

describe('cupd migrate', () => {
	let url;
	before(async () => { url = await cluster.createdb('mig_cli'); });

	test('issue 2 "cupd migrate": a fresh database gets every migration, in order, recorded once', async () => {
		assert.ok(versions.length >= 4, `migrations found: ${versions}`);
		const r = await cli(url, ['migrate']);
		assert.equal(r.code, 0, r.stderr);
		const applied = [...r.stdout.matchAll(/^applied (\S+) \(\d+ ms\)$/gm)].map((m) => m[1]);
		assert.deepEqual(applied, versions, 'one "applied" line per migration, in name order');
		assert.deepEqual(await recorded(url), versions);
	});

	test('issue 2 "cupd migrate" again: "schema up to date", nothing applied', async () => {
		const before = await rowCounts(url);
		const r = await cli(url, ['migrate']);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, 'schema up to date\n');
		assert.equal(await rowCounts(url), before, 'no table changed');
	});

	test('issue 2 "exits non-zero on bad input": migrate without a reachable database', async () => {
		const r = await cli('host=/nonexistent-cupd-test port=1 dbname=x connect_timeout=1', ['migrate']);
		assert.notEqual(r.code, 0);
		assert.match(r.stderr, /^cupd migrate: cannot connect to the database/m);
	});
});

describe('two instances start at once', () => {
	test('issue 2 "two instances starting at once are safe": both serve, each migration applied once', async (t) => {
		const url = await cluster.createdb('mig_race');
		const db = { url };
		// Ports first, so that both processes are spawned in the same tick.
		const [pa, pb] = await freePorts(2);
		const [a, b] = await Promise.all([startCupd({ cluster: db, workers: 1, port: pa }),
			startCupd({ cluster: db, workers: 1, port: pb })]);
		for (const s of [a, b]) {
			const r = await request({ port: s.port, path: '/readyz' });
			assert.equal(r.status, 200, `instance on ${s.port}: ${r.body}`);
		}
		const rows = await psql(url, 'SELECT count(*), count(DISTINCT version) FROM schema_migrations');
		assert.equal(rows, `${versions.length}|${versions.length}`, 'each version recorded exactly once');
		assert.deepEqual(await recorded(url), versions);
		const applied = [a, b].flatMap((s) => [...s.stderr().matchAll(/applied (\S+) \(\d+ ms\)/g)].map((m) => m[1]));
		assert.deepEqual(applied.sort(), versions, 'between them the two applied each migration once');
		t.diagnostic(`applied by each instance: ${[a, b].map((s) => (s.stderr().match(/applied \S+ \(/g) ?? []).length).join(' + ')}`);
		for (const s of [a, b]) {
			const st = await s.stop();
			assert.equal(st.code, 0, `exit status; stderr:\n${s.stderr()}`);
		}
	});
});

describe('cupd org add / user add', () => {
	let url;
	before(async () => {
		url = await cluster.createdb('cli_users');
		const r = await cli(url, ['migrate']);
		assert.equal(r.code, 0, r.stderr);
	});

	test('issue 2 "org add --slug S --name N"', async () => {
		const r = await cli(url, ['org', 'add', '--slug', 'acme', '--name', 'Acme']);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /^created org acme \(/);
		assert.equal(await psql(url, "SELECT name FROM orgs WHERE slug = 'acme'"), 'Acme');
	});

	test('issue 2 "prints a clear error and exits non-zero": duplicate slug, bad slug, missing option', async () => {
		const dup = await cli(url, ['org', 'add', '--slug', 'acme', '--name', 'Other']);
		assert.notEqual(dup.code, 0);
		assert.match(dup.stderr, /already exists/);
		assert.equal(await psql(url, "SELECT count(*) FROM orgs WHERE slug = 'acme'"), '1');
		assert.equal(await psql(url, "SELECT name FROM orgs WHERE slug = 'acme'"), 'Acme', 'not overwritten');
		for (const args of [['--slug', '-bad', '--name', 'X'], ['--slug', 'UPPER', '--name', 'X'],
			['--name', 'No Slug'], ['--slug', 'noname'], ['--slug', 'x1', '--name', 'X', 'extra']]) {
			const r = await cli(url, ['org', 'add', ...args]);
			assert.equal(r.code, 2, `org add ${args.join(' ')}: ${r.stderr}`);
			assert.match(r.stderr, /^cupd org add: /);
		}
	});

	const PW = 'correct horse battery staple';

	test('issue 2 "user add --email E --org S --role owner|admin|member (password read from stdin)"', async () => {
		const r = await cli(url, ['user', 'add', '--email', 'a@b.c', '--org', 'acme', '--role', 'admin'], { stdin: `${PW}\n` });
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /created user a@b\.c/);
		assert.ok(!r.stdout.includes(PW) && !r.stderr.includes(PW), 'the password is never printed');
		const row = await psql(url, `SELECT u.password_hash, m.role FROM users u
			JOIN org_members m ON m.user_id = u.id JOIN orgs o ON o.id = m.org_id
			WHERE u.email = 'a@b.c' AND o.slug = 'acme'`);
		const [hash, role] = row.split('|');
		assert.equal(role, 'admin');
		assert.match(hash, /^\$argon2id\$/, 'stored as an argon2id hash');
		assert.ok(!hash.includes(PW));
	});

	test('issue 2 "never from argv": --password is not an option', async () => {
		for (const args of [['--password', PW], [`--password=${PW}`]]) {
			const r = await cli(url, ['user', 'add', '--email', 'p@b.c', '--org', 'acme', '--role', 'member', ...args],
				{ stdin: `${PW}\n` });
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /unknown option '--password'/);
		}
		assert.equal(await psql(url, "SELECT count(*) FROM users WHERE email = 'p@b.c'"), '0');
	});

	test('issue 2 "exits non-zero on bad input": no password, short password, bad role/email/org', async () => {
		const cases = [
			[['--email', 'n@b.c', '--org', 'acme', '--role', 'member'], '', /needs a password/],
			[['--email', 'n@b.c', '--org', 'acme', '--role', 'member'], 'short\n', /password must be/],
			[['--email', 'n@b.c', '--org', 'acme', '--role', 'root'], `${PW}\n`, /role must be/],
			[['--email', 'not-an-email', '--org', 'acme', '--role', 'member'], `${PW}\n`, /email/],
			[['--email', 'n@b.c', '--org', 'nope', '--role', 'member'], `${PW}\n`, /no org with slug 'nope'/],
		];
		for (const [args, stdin, why] of cases) {
			const r = await cli(url, ['user', 'add', ...args], { stdin });
			assert.notEqual(r.code, 0, `user add ${args.join(' ')}`);
			assert.match(r.stderr, why);
		}
		assert.equal(await psql(url, "SELECT count(*) FROM users WHERE email = 'n@b.c'"), '0');
	});
});

describe('cupd seed-demo', () => {
	test('issue 2 "seed-demo": run twice, same password, no new rows the second time', async () => {
		const url = await cluster.createdb('cli_seed');
		assert.equal((await cli(url, ['migrate'])).code, 0);
		const file = path.join(tmp, 'demo-password');

		const first = await cli(url, ['seed-demo', '--password-file', file]);
		assert.equal(first.code, 0, first.stderr);
		assert.match(first.stdout, /^seeded org demo: \d+ rows added$/m);
		const pw1 = /^demo login: demo@example\.com \/ (\S+)$/m.exec(first.stdout)?.[1];
		assert.ok(pw1, `password printed: ${first.stdout}`);
		assert.equal(await readFile(file, 'utf8'), `${pw1}\n`, 'the password file holds it');
		assert.equal((await stat(file)).mode & 0o777, 0o600, 'password file is private');
		const counts1 = await rowCounts(url);
		for (const t of ['orgs', 'users', 'services', 'incidents', 'runbooks'])
			assert.match(counts1, new RegExp(`(^|,)${t}=[1-9]`), `${t} seeded: ${counts1}`);

		const second = await cli(url, ['seed-demo', '--password-file', file]);
		assert.equal(second.code, 0, second.stderr);
		assert.match(second.stdout, /^demo data already present, nothing changed$/m);
		const pw2 = /^demo login: demo@example\.com \/ (\S+)$/m.exec(second.stdout)?.[1];
		assert.equal(pw2, pw1, 'the same password both times');
		assert.equal(await rowCounts(url), counts1, 'row counts unchanged by the second run');
	});
});
