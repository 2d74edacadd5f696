// Issue 3, "Badges": GET /api/v1/badge/{org_slug} → SVG of the org's worst
// current status, one of four, no service names; no authentication and a
// `key` query parameter ignored; public badges off → a neutral "private"
// badge; unknown org → the same neutral badge; short Cache-Control.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { cleanup, psql, request, runCli, startCluster, startCupd, waitFor } from './lib/harness.mjs';

let cluster, srv;

async function cli(args) {
	const r = await runCli(args, { env: { DATABASE_URL: cluster.url } });
	assert.equal(r.code, 0, `cupd ${args.join(' ')} failed: ${r.stderr}`);
	return r.stdout.trim();
}

const sql = (q) => psql(cluster.url, q);
const badge = (slug, opts = {}) => request({ port: srv.port, path: `/api/v1/badge/${slug}`, ...opts });

const COLORS = {
	operational: '#4c1', degraded: '#dfb317', partial_outage: '#fe7d37', major_outage: '#e05d44', private: '#9f9f9f',
};
const TEXT = {
	operational: 'operational', degraded: 'degraded', partial_outage: 'partial outage', major_outage: 'major outage',
	private: 'private',
};

/** An org whose services have exactly these statuses (their names are secrets). */
async function orgWith(slug, statuses) {
	await cli(['org', 'add', '--slug', slug, '--name', `Org ${slug}`]);
	for (const [i, st] of statuses.entries()) {
		await sql(`WITH s AS (INSERT INTO services (org_id, slug, name) SELECT id, 'secret-svc-${slug}-${i}', ` +
			`'Secret Service ${slug} ${i}' FROM orgs WHERE slug = '${slug}' RETURNING id) ` +
			`INSERT INTO service_status (service_id, status) SELECT id, '${st}' FROM s`);
	}
}

function assertBadge(r, state) {
	assert.equal(r.status, 200, r.body);
	assert.equal(r.headers['content-type'], 'image/svg+xml');
	assert.equal(r.headers['cache-control'], 'public, max-age=60');
	assert.match(r.body, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>.*<\/svg>$/s);
	assert.ok(r.body.includes(`aria-label="upstreams: ${TEXT[state]}"`), r.body);
	assert.ok(r.body.includes(`fill="${COLORS[state]}"`), `colour of ${state}`);
	assert.ok(r.body.includes('>upstreams</text>'));
	assert.ok(r.body.includes(`>${TEXT[state]}</text>`));
	for (const other of Object.keys(TEXT).filter((s) => s !== state))
		assert.ok(!r.body.includes(`>${TEXT[other]}</text>`), `not also ${other}`);
	assert.doesNotMatch(r.body, /<script|on\w+=|javascript:|href=/i);
}

before(async () => {
	cluster = await startCluster();
	await cli(['migrate']);
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-badge-'));
	await cli(['seed-demo', '--password-file', path.join(dir, 'demo-password')]);
	await orgWith('b-none', []);
	await orgWith('b-ok', ['operational', 'operational']);
	await orgWith('b-deg', ['operational', 'degraded']);
	await orgWith('b-part', ['degraded', 'partial_outage', 'operational']);
	await orgWith('b-major', ['partial_outage', 'major_outage', 'degraded']);
	await orgWith('b-private', ['major_outage']);
	await sql("UPDATE orgs SET public_badges = false WHERE slug = 'b-private'");
	srv = await startCupd({ cluster, env: { CUPD_ACCESS_LOG: 'off' } });
});
after(cleanup);

describe('badge states', () => {
	test('issue 3 "SVG of the org\'s worst current status, one of four"', async () => {
		assertBadge(await badge('b-none'), 'operational');
		assertBadge(await badge('b-ok'), 'operational');
		assertBadge(await badge('b-deg'), 'degraded');
		assertBadge(await badge('b-part'), 'partial_outage');
		assertBadge(await badge('b-major'), 'major_outage');
		// seed-demo: stripe is in a partial outage, the worst of the demo org
		assertBadge(await badge('demo'), 'partial_outage');
	});

	test('issue 3 "no service names" in any badge', async () => {
		const names = (await sql("SELECT string_agg(slug || '|' || name, '|') FROM services")).split('|');
		assert.ok(names.includes('stripe') && names.includes('Stripe'));
		for (const org of ['demo', 'b-deg', 'b-part', 'b-major', 'b-private']) {
			const body = (await badge(org)).body.toLowerCase();
			for (const n of names)
				assert.ok(!body.includes(n.toLowerCase()), `${org} badge mentions ${n}`);
			assert.ok(!body.includes('secret'), `${org} badge mentions a service`);
		}
	});

	test('issue 3 "public badges off → a neutral private badge for everyone"', async () => {
		assertBadge(await badge('b-private'), 'private');
		// credentials change nothing
		const token = await cli(['token', 'create', '--org', 'demo', '--user', 'demo@example.com', '--name', 'b']);
		assertBadge(await badge('b-private', { headers: { authorization: `Bearer ${token}` } }), 'private');
	});

	test('issue 3 "unknown org → the neutral badge too (no existence leak)": same status, headers and body as private', async () => {
		const priv = await badge('b-private');
		for (const slug of ['no-such-org', 'zz', 'NOT-A-SLUG', 'a', '-x', '%27%20OR%201%3D1--', 'x'.repeat(70),
			'demo..', 'b-ok%20']) {
			const r = await badge(slug);
			assertBadge(r, 'private');
			assert.equal(r.body, priv.body, slug);
			const strip = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => !['date', 'x-request-id'].includes(k)));
			assert.deepEqual(strip(r.headers), strip(priv.headers), `headers for ${slug}`);
		}
	});

	test('turning public badges off and on applies within seconds', async () => {
		await sql("UPDATE orgs SET public_badges = false WHERE slug = 'b-deg'");
		await waitFor(async () => (await badge('b-deg')).body.includes('>private</text>'),
			{ timeoutMs: 10000, intervalMs: 250, what: 'the private badge' });
		await sql("UPDATE orgs SET public_badges = true WHERE slug = 'b-deg'");
		await waitFor(async () => (await badge('b-deg')).body.includes('>degraded</text>'),
			{ timeoutMs: 10000, intervalMs: 250, what: 'the degraded badge again' });
	});
});

describe('access', () => {
	test('issue 3 "no authentication, and a key query parameter is ignored, never required"', async () => {
		const plain = await badge('b-major');
		for (const q of ['?key=', '?key=garbage', `?key=cup_sdk_${'A'.repeat(38)}`, '?key=a&key=b&x=1']) {
			const r = await badge(`b-major${q}`);
			assertBadge(r, 'major_outage');
			assert.equal(r.body, plain.body);
		}
		const withJunk = await badge('b-major', { headers: { authorization: 'Bearer cup_api_not_a_token' } });
		assertBadge(withJunk, 'major_outage');
	});

	test('"<slug>.svg" is the same badge', async () => {
		const r = await badge('b-part.svg');
		assertBadge(r, 'partial_outage');
	});

	test('not rate limited per IP (image proxies fetch from few addresses)', async () => {
		const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => badge(i % 2 ? 'demo' : 'no-such-org')));
		assert.ok(rs.every((r) => r.status === 200), rs.map((r) => r.status).join(','));
	});

	test('the badge is listed in the OpenAPI document without security', async () => {
		const token = await cli(['token', 'create', '--org', 'demo', '--user', 'demo@example.com', '--name', 'o']);
		const r = await request({ port: srv.port, path: '/api/v1/openapi.json', headers: { authorization: `Bearer ${token}` } });
		assert.equal(r.status, 200, r.body);
		const op = r.json.paths['/api/v1/badge/{org_slug}']?.get;
		assert.ok(op, 'documented');
		assert.deepEqual(op.security, []);
		assert.ok(r.json.paths['/v1/events']?.post, '/v1/events documented');
	});
});
