// rest_fixture.mjs: the world the rest_*.test.mjs files share (not a test
// itself). One throwaway cluster and one cupd per test file, the demo org
// from `cupd seed-demo`, tokens of each scope made with `cupd token create`,
// and a second org "other" with its own owner, token and objects, for
// isolation checks. Everything goes through the real CLI and real HTTP.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { cleanup, psql, request, runCli, startCluster, startCupd } from './lib/harness.mjs';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Strings that must never change what a statement does, in every filter and id. */
export const INJECTIONS = [
	"' OR 1=1 --",
	"'; DROP TABLE incidents; --",
	'1; DELETE FROM runbooks',
	'") OR ("1"="1',
	'%',
	'_',
	'*',
	'\\',
	'ünïcødé ✓ 日本語 🚀',
	'\u202eevil',
	'x'.repeat(5000),
	'00000000-0000-0000-0000-000000000000',
	'null',
];

export class Fixture {
	/** Starts everything; see the file comment. env: extra cupd settings. */
	static async start({ env = {}, workers = 2 } = {}) {
		const f = new Fixture();
		f.cluster = await startCluster();
		await f.cli(['migrate']);
		const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-rest-'));
		await f.cli(['seed-demo', '--password-file', path.join(dir, 'demo-password')]);
		f.read = await f.mint('demo', 'demo@example.com', 'read');
		f.write = await f.mint('demo', 'demo@example.com', 'write');
		f.admin = await f.mint('demo', 'demo@example.com', 'admin');
		await f.cli(['org', 'add', '--slug', 'other', '--name', 'Other Org']);
		await f.cli(['user', 'add', '--email', 'eve@example.com', '--org', 'other', '--role', 'owner'],
			'another password 12345\n');
		f.eve = await f.mint('other', 'eve@example.com', 'admin');
		f.env = { CUPD_RATE_API_TOKEN_PER_MIN: '1000000', CUPD_ACCESS_LOG: 'off', ...env };
		f.srv = await startCupd({ cluster: f.cluster, workers, env: f.env });
		f.ids = {
			demoOrg: await f.sql("SELECT id FROM orgs WHERE slug = 'demo'"),
			otherOrg: await f.sql("SELECT id FROM orgs WHERE slug = 'other'"),
			demoUser: await f.sql("SELECT id FROM users WHERE email = 'demo@example.com'"),
			eve: await f.sql("SELECT id FROM users WHERE email = 'eve@example.com'"),
		};
		return f;
	}

	/**
	 * Stops cupd with SIGTERM and checks it exited cleanly without any
	 * sanitizer report (leaks show only at a clean exit), then removes the
	 * cluster. For `after`.
	 */
	async finish() {
		try {
			if (this.srv && !this.srv.exitInfo()) {
				const r = await this.srv.stop('SIGTERM');
				assertCleanExit(this.srv, r);
			}
		} finally {
			await cleanup();
		}
	}

	async cli(args, stdin) {
		const r = await runCli(args, { env: { DATABASE_URL: this.cluster.url }, stdin });
		assert.equal(r.code, 0, `cupd ${args.join(' ')} failed: ${r.stderr}`);
		return r;
	}

	/** A new API Token from the CLI (stdout is the token). */
	async mint(org, email, scopes, name = 't') {
		const r = await this.cli(['token', 'create', '--org', org, '--user', email, '--name', name, '--scopes', scopes]);
		const tok = r.stdout.trim();
		assert.match(tok, /^cup_api_/);
		return tok;
	}

	/** Adds (or re-roles) a user of org through the CLI; returns its id. */
	async user(email, org, role) {
		await this.cli(['user', 'add', '--email', email, '--org', org, '--role', role], 'a password for tests 987\n');
		return this.sql(`SELECT id FROM users WHERE email = '${email}'`);
	}

	sql(text) {
		return psql(this.cluster.url, text);
	}

	/** One request to the fixture's cupd (or port). body is JSON-encoded. */
	async api(token, method, p, body, { headers = {}, port } = {}) {
		const h = { ...headers };
		if (token)
			h.authorization = `Bearer ${token}`;
		let payload;
		if (body !== undefined) {
			h['content-type'] = 'application/json';
			payload = typeof body === 'string' ? body : JSON.stringify(body);
		}
		return request({ port: port ?? this.srv.port, method, path: p, headers: h, body: payload, timeoutMs: 10000 });
	}

	/** GET that must answer 200; returns the JSON. */
	async get(token, p) {
		const r = await this.api(token, 'GET', p);
		assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body}`);
		return r.json;
	}

	/**
	 * Pages through a list with limit=1 until next_cursor is null and checks
	 * every page has the list shape, no item repeats and the order is
	 * (created_at, id) descending. Returns the items.
	 */
	async pageAll(token, p, { limit = 1, key = 'id' } = {}) {
		const items = [];
		const seen = new Set();
		let cursor = null, pages = 0;
		do {
			const u = new URL(p, 'http://x');
			u.searchParams.set('limit', String(limit));
			if (cursor)
				u.searchParams.set('cursor', cursor);
			const page = await this.get(token, u.pathname + u.search);
			assert.ok(Array.isArray(page.data), 'data is an array');
			assert.ok('next_cursor' in page, 'next_cursor present');
			assert.ok(page.data.length <= limit, `page of ${page.data.length} > limit ${limit}`);
			if (page.next_cursor !== null)
				assert.equal(page.data.length, limit, 'a page with a next_cursor is full');
			for (const it of page.data) {
				assert.ok(!seen.has(it[key]), `duplicate ${it[key]} across pages`);
				seen.add(it[key]);
				items.push(it);
			}
			cursor = page.next_cursor;
			assert.ok(++pages < 1000, 'pagination does not end');
		} while (cursor);
		for (let i = 1; i < items.length; i++) {
			const a = items[i - 1], b = items[i];
			const ta = micros(a.created_at), tb = micros(b.created_at);
			const idOrder = typeof a[key] === 'number' ? a[key] > b[key] : String(a[key]) > String(b[key]);
			assert.ok(ta > tb || (ta === tb && idOrder),
				`order: ${a.created_at}/${a[key]} before ${b.created_at}/${b[key]}`);
		}
		return items;
	}

	/** Row counts of the tables the API writes: injection attempts must leave them standing. */
	async tableCounts() {
		const out = await this.sql(`SELECT json_build_object(
			'incidents', (SELECT count(*) FROM incidents), 'incident_notes', (SELECT count(*) FROM incident_notes),
			'runbooks', (SELECT count(*) FROM runbooks), 'alerts', (SELECT count(*) FROM alerts),
			'services', (SELECT count(*) FROM services), 'org_members', (SELECT count(*) FROM org_members),
			'audit_events', (SELECT count(*) FROM audit_events))`);
		return JSON.parse(out);
	}

	/** Audit events of the demo org (admin token), newest first, filtered by query. */
	async audit(query = '') {
		const page = await this.get(this.admin, `/api/v1/audit-events?limit=200${query ? `&${query}` : ''}`);
		return page.data;
	}
}

/** Microseconds since the epoch of a PostgreSQL json timestamptz (BigInt). */
export function micros(iso) {
	const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(.*)$/.exec(iso);
	assert.ok(m, `timestamp ${iso}`);
	return BigInt(Date.parse(m[1] + m[3])) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** A cupd stopped by SIGTERM exited 0 and printed no sanitizer report. */
export function assertCleanExit(srv, stopped) {
	const err = srv.stderr();
	assert.doesNotMatch(err, /Sanitizer|runtime error:/, `sanitizer report:\n${err.slice(-4000)}`);
	assert.equal(stopped.code, 0, `cupd exit ${stopped.code} ${stopped.signal}:\n${err.slice(-2000)}`);
}

/** Asserts r is a 4xx JSON error (optionally with status and field). */
export function assertError(r, status, field) {
	if (status)
		assert.equal(r.status, status, `${r.status} ${r.body}`);
	else
		assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
	assert.equal(typeof r.json?.error, 'string', r.body);
	if (field !== undefined)
		assert.equal(r.json.field, field, r.body);
}

/** 403 insufficient_scope, as the auth gate answers it. */
export function assertScope(r) {
	assert.equal(r.status, 403, r.body);
	assert.equal(r.json.error, 'insufficient_scope', r.body);
}
