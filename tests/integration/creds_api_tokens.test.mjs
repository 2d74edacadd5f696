// Issue 3, credentials: API Tokens through /api/v1/api-tokens over real HTTP
// and PostgreSQL — create (expiry policy, scope cap), list, rotate with its
// 24 h grace (uses counted), end-grace, disable/enable, revoke, expiry,
// demotion narrowing a token at once, audit rows, other-org isolation,
// injection attempts, and the secret appearing in exactly one response and
// never in cupd's logs or the database.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, psql, request, runCli, sleep, startCluster, startCupd, waitFor } from './lib/harness.mjs';

const PASSWORD = 'correct horse battery staple 42\n';
const TOKEN_RE = /^cup_api_[0-9A-Za-z]{38}$/;
const DAY_MS = 86400e3;

let cluster, srv;
const secrets = new Set();          // every secret minted in this file
const responses = [];               // every response body we saw, to count where each secret appears
const ids = {};                     // user ids by email
let ada, eve, bob;                  // admin of acme, admin of other, member of acme (write)

async function cli(args, stdin) {
	const r = await runCli(args, { env: { DATABASE_URL: cluster.url }, stdin });
	assert.equal(r.code, 0, `cupd ${args.join(' ')} failed: ${r.stderr}`);
	return r;
}

async function mint(org, email, scopes, name = 'cli') {
	const r = await cli(['token', 'create', '--org', org, '--user', email, '--scopes', scopes, '--name', name]);
	const tok = r.stdout.trim();
	assert.match(tok, TOKEN_RE);
	secrets.add(tok);
	return tok;
}

async function api(token, method, path, body, extraHeaders = {}) {
	const headers = { ...extraHeaders };
	if (token)
		headers.authorization = `Bearer ${token}`;
	if (body !== undefined)
		headers['content-type'] = 'application/json';
	const r = await request({ port: srv.port, method, path, headers,
		body: body === undefined ? undefined : JSON.stringify(body) });
	responses.push(r.body);
	if (typeof r.json?.token === 'string')
		secrets.add(r.json.token);
	return r;
}

const whoami = (token) => api(token, 'GET', '/api/v1/whoami');

async function create(body, token = ada) {
	const r = await api(token, 'POST', '/api/v1/api-tokens', body);
	assert.equal(r.status, 201, `create ${JSON.stringify(body)}: ${r.body}`);
	return r.json;
}

async function listAll(token = ada, query = '') {
	const out = [];
	let cursor = null;
	do {
		const q = new URLSearchParams(query);
		q.set('limit', '200');
		if (cursor)
			q.set('cursor', cursor);
		const r = await api(token, 'GET', `/api/v1/api-tokens?${q}`);
		assert.equal(r.status, 200, r.body);
		out.push(...r.json.data);
		cursor = r.json.next_cursor;
	} while (cursor);
	return out;
}

async function getToken(id, token = ada) {
	const r = await api(token, 'GET', `/api/v1/api-tokens/${id}`);
	assert.equal(r.status, 200, r.body);
	return r.json;
}

async function audit(action, targetId) {
	const out = await psql(cluster.url,
		`SELECT json_build_object('actor_kind', actor_kind, 'actor_id', actor_id, 'actor_user_id', actor_user_id,
		   'ip', host(ip), 'org_id', org_id, 'metadata', metadata)
		 FROM audit_events WHERE action = '${action}' AND target_id = '${targetId}' ORDER BY id`);
	return out ? out.split('\n').map((l) => JSON.parse(l)) : [];
}

function assert401(r, re) {
	assert.equal(r.status, 401, r.body);
	assert.equal(r.json.error, 'invalid_token');
	assert.match(r.headers['www-authenticate'] ?? '', /^Bearer realm="cupd", error="invalid_token"/);
	if (re)
		assert.match(r.json.error_description, re);
}

// A change written by another process (psql, the CLI) reaches this cupd by
// NOTIFY, which races the next request by a few milliseconds at most; allow
// a bounded retry of 1 s and count how often the first attempt raced.
const races = { external: 0, externalChecks: 0 };
async function eventually(fn, want, what) {
	races.externalChecks++;
	const deadline = Date.now() + 1000;
	let r = await fn(), first = true;
	while (!want(r) && Date.now() < deadline) {
		if (first)
			races.external++;
		first = false;
		await sleep(5);
		r = await fn();
	}
	assert.ok(want(r), `${what}: ${r.status} ${r.body}`);
	return r;
}
const is401 = (r) => r.status === 401;

function near(iso, expectMs, slackMs = 120e3) {
	const d = Date.parse(iso) - expectMs;
	assert.ok(Math.abs(d) < slackMs, `${iso} is ${d} ms away from ${new Date(expectMs).toISOString()}`);
}

before(async () => {
	cluster = await startCluster();
	srv = await startCupd({ cluster, env: { CUPD_USAGE_FLUSH_MS: '200', CUPD_RATE_IP_PER_MIN: '100000' } });
	await cli(['org', 'add', '--slug', 'acme', '--name', 'Acme']);
	await cli(['org', 'add', '--slug', 'other', '--name', 'Other']);
	for (const [email, org, role] of [['ada@acme.test', 'acme', 'admin'], ['bob@acme.test', 'acme', 'member'],
		['carol@acme.test', 'acme', 'admin'], ['olive@acme.test', 'acme', 'owner'], ['eve@other.test', 'other', 'admin']])
		await cli(['user', 'add', '--email', email, '--org', org, '--role', role], PASSWORD);
	for (const line of (await psql(cluster.url, 'SELECT email, id FROM users')).split('\n')) {
		const [email, id] = line.split('|');
		ids[email] = id;
	}
	ada = await mint('acme', 'ada@acme.test', 'admin', 'ada admin');
	bob = await mint('acme', 'bob@acme.test', 'write', 'bob write');
	eve = await mint('other', 'eve@other.test', 'admin', 'eve admin');
});
after(cleanup);

describe('create', () => {
	test('201 with the secret once, the stored fields, 90-day default expiry; the token works', async () => {
		const t0 = Date.now();
		const tok = await create({ name: 'deploy bot', scope: 'write' });
		assert.match(tok.token, TOKEN_RE);
		assert.equal(tok.display_prefix, tok.token.slice(0, 12));
		assert.equal(tok.name, 'deploy bot');
		assert.equal(tok.scope, 'write');
		assert.equal(tok.effective_scope, 'write');
		assert.equal(tok.status, 'active');
		assert.deepEqual(tok.owner, { id: ids['ada@acme.test'], email: 'ada@acme.test', role: 'admin' });
		near(tok.expires_at, t0 + 90 * DAY_MS);
		for (const k of ['id', 'created_at', 'last_used_at', 'last_used_ip', 'grace_until', 'grace_use_count',
			'grace_last_used_at', 'grace_last_ip', 'replaced_by', 'leaked_at', 'revoked_at', 'disabled_at'])
			assert.ok(k in tok, `field ${k}`);
		const w = await whoami(tok.token);
		assert.equal(w.status, 200, w.body);
		assert.equal(w.json.token.id, tok.id);
		assert.equal(w.json.token.scope, 'write');
		// Listed and fetched without the secret.
		const listed = (await listAll()).find((x) => x.id === tok.id);
		assert.ok(listed);
		assert.equal(listed.token, undefined);
		assert.equal((await getToken(tok.id)).token, undefined);
		const rows = await audit('api_token.create', tok.id);
		assert.equal(rows.length, 1);
		assert.equal(rows[0].actor_kind, 'api_token');
		assert.equal(rows[0].actor_user_id, ids['ada@acme.test']);
		assert.equal(rows[0].ip, '127.0.0.1');
	});

	test('expires_in_days: 1..365 accepted, anything else is a 400 that says how', async () => {
		const t0 = Date.now();
		near((await create({ name: 'a', scope: 'read', expires_in_days: 30 })).expires_at, t0 + 30 * DAY_MS);
		near((await create({ name: 'b', scope: 'read', expires_in_days: 365 })).expires_at, t0 + 365 * DAY_MS);
		for (const days of [0, -1, 366, 1000, 1.5, '30', true, [], {}]) {
			const r = await api(ada, 'POST', '/api/v1/api-tokens', { name: 'x', scope: 'read', expires_in_days: days });
			assert.equal(r.status, 400, `expires_in_days ${JSON.stringify(days)}: ${r.body}`);
			assert.equal(r.json.field, 'expires_in_days');
			assert.match(r.json.error_description, /1 to 365/);
		}
	});

	test('non-expiring only with expires_in_days: null plus confirm_non_expiring: true', async () => {
		let r = await api(ada, 'POST', '/api/v1/api-tokens', { name: 'forever', scope: 'read', expires_in_days: null });
		assert.equal(r.status, 400);
		assert.equal(r.json.field, 'expires_in_days');
		assert.match(r.json.error_description, /"confirm_non_expiring": true/);
		r = await api(ada, 'POST', '/api/v1/api-tokens',
			{ name: 'forever', scope: 'read', expires_in_days: null, confirm_non_expiring: false });
		assert.equal(r.status, 400);
		r = await api(ada, 'POST', '/api/v1/api-tokens',
			{ name: 'forever', scope: 'read', expires_in_days: null, confirm_non_expiring: 'yes' });
		assert.equal(r.status, 400);
		assert.equal(r.json.field, 'confirm_non_expiring');
		// Confirmation without null is ambiguous: refused, not silently ignored.
		r = await api(ada, 'POST', '/api/v1/api-tokens',
			{ name: 'forever', scope: 'read', expires_in_days: 30, confirm_non_expiring: true });
		assert.equal(r.status, 400);
		assert.equal(r.json.field, 'confirm_non_expiring');
		r = await api(ada, 'POST', '/api/v1/api-tokens', { name: 'forever', scope: 'read', confirm_non_expiring: true });
		assert.equal(r.status, 400);
		const tok = await create({ name: 'forever', scope: 'read', expires_in_days: null, confirm_non_expiring: true });
		assert.equal(tok.expires_at, null);
		const w = await whoami(tok.token);
		assert.equal(w.status, 200);
		assert.equal(w.json.token.expires_at, null);
	});

	test('other input errors are 400 with the field; a misspelt option is refused, not defaulted', async () => {
		const cases = [
			[{ scope: 'read' }, 'name'],
			[{ name: '', scope: 'read' }, 'name'],
			[{ name: 'x'.repeat(101), scope: 'read' }, 'name'],
			[{ name: 'x' }, 'scope'],
			[{ name: 'x', scope: 'root' }, 'scope'],
			[{ name: 'x', scope: 'read', user_id: 'not-a-uuid' }, 'user_id'],
			[{ name: 'x', scope: 'read', expires_in_day: 7 }, 'body'],
		];
		for (const [body, field] of cases) {
			const r = await api(ada, 'POST', '/api/v1/api-tokens', body);
			assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
			assert.equal(r.json.field, field, JSON.stringify(body));
		}
		let r = await api(ada, 'POST', '/api/v1/api-tokens', undefined, { 'content-type': 'application/json' });
		assert.equal(r.status, 400);
		r = await request({ port: srv.port, method: 'POST', path: '/api/v1/api-tokens',
			headers: { authorization: `Bearer ${ada}` }, body: '{"name":"x","scope":"read"}' });
		assert.equal(r.status, 415);
	});

	test('scope cap by role: no admin token for a member, through the API or the CLI', async () => {
		const bobId = ids['bob@acme.test'];
		let r = await api(ada, 'POST', '/api/v1/api-tokens', { name: 'bob admin', scope: 'admin', user_id: bobId });
		assert.equal(r.status, 403, r.body);
		assert.match(r.json.error_description, /member may hold at most the write scope/);
		const tok = await create({ name: 'bob ci', scope: 'write', user_id: bobId });
		assert.equal(tok.owner.id, bobId);
		assert.equal(tok.owner.role, 'member');
		assert.equal((await whoami(tok.token)).json.user.email, 'bob@acme.test');
		// A member's own token cannot manage tokens at all (admin scope).
		r = await api(bob, 'POST', '/api/v1/api-tokens', { name: 'mine', scope: 'read' });
		assert.equal(r.status, 403);
		assert.equal(r.json.error, 'insufficient_scope');
		r = await api(bob, 'GET', '/api/v1/api-tokens');
		assert.equal(r.status, 403);
		const c = await runCli(['token', 'create', '--org', 'acme', '--user', 'bob@acme.test', '--scopes', 'admin',
			'--name', 'nope'], { env: { DATABASE_URL: cluster.url } });
		assert.notEqual(c.code, 0);
		assert.equal(c.stdout, '', 'no token printed');
		assert.match(c.stderr, /member may hold at most the write scope/);
		// The owner must be a member of this org: a user of another org is refused.
		r = await api(ada, 'POST', '/api/v1/api-tokens', { name: 'x', scope: 'read', user_id: ids['eve@other.test'] });
		assert.equal(r.status, 400);
		assert.equal(r.json.field, 'user_id');
	});
});

describe('a token acts as its owner', () => {
	test('an admin can neither mint nor rotate a token that acts as an owner; the owner can', async () => {
		const olive = await mint('acme', 'olive@acme.test', 'admin', 'olive admin');
		let r = await api(ada, 'POST', '/api/v1/api-tokens', { name: 'as olive', scope: 'read', user_id: ids['olive@acme.test'] });
		assert.equal(r.status, 403, r.body);
		assert.match(r.json.error_description, /not above yours/);
		// Peers and lower roles are fine; so is the owner minting for an admin.
		assert.equal((await create({ name: 'as carol', scope: 'read', user_id: ids['carol@acme.test'] })).owner.email,
			'carol@acme.test');
		const forAda = await create({ name: 'for ada', scope: 'admin', user_id: ids['ada@acme.test'] }, olive);
		assert.equal(forAda.owner.email, 'ada@acme.test');
		// Rotation hands out a new secret acting as the owner: same rule.
		const olives = (await listAll()).find((x) => x.name === 'olive admin');
		r = await api(ada, 'POST', `/api/v1/api-tokens/${olives.id}/rotate`);
		assert.equal(r.status, 403, r.body);
		assert.equal(r.json.token, undefined);
		assert.equal((await getToken(olives.id)).status, 'active', 'nothing rotated');
		// An admin may still stop it.
		assert.equal((await api(ada, 'POST', `/api/v1/api-tokens/${olives.id}/disable`)).status, 200);
		assert401(await whoami(olive), /disabled/);
		assert.equal((await api(ada, 'POST', `/api/v1/api-tokens/${olives.id}/enable`)).status, 200);
		// The owner rotates her own token; an admin rotates a member's.
		r = await api(olive, 'POST', `/api/v1/api-tokens/${olives.id}/rotate`);
		assert.equal(r.status, 201, r.body);
		const bobs = await create({ name: 'bob rotate', scope: 'read', user_id: ids['bob@acme.test'] });
		assert.equal((await api(ada, 'POST', `/api/v1/api-tokens/${bobs.id}/rotate`)).status, 201);
	});
});

describe('demotion narrows existing tokens at once', () => {
	test('admin → member: the next request has write at most; back to admin restores it', async () => {
		const carol = await mint('acme', 'carol@acme.test', 'admin', 'carol admin');
		let w = await whoami(carol);
		assert.equal(w.json.token.effective_scope, 'admin');
		assert.equal((await api(carol, 'GET', '/api/v1/api-tokens')).status, 200);
		await cli(['user', 'add', '--email', 'carol@acme.test', '--org', 'acme', '--role', 'member'], '\n');
		w = await eventually(() => whoami(carol), (x) => x.json?.token?.effective_scope === 'write', 'demoted');
		assert.equal(w.status, 200);
		assert.equal(w.json.token.scope, 'admin');
		assert.equal(w.json.token.effective_scope, 'write');
		const r = await api(carol, 'GET', '/api/v1/api-tokens');
		assert.equal(r.status, 403, r.body);
		assert.equal(r.json.error, 'insufficient_scope');
		assert.match(r.json.error_description, /capped by its owner's role/);
		const listed = (await listAll()).find((x) => x.name === 'carol admin');
		assert.equal(listed.effective_scope, 'write');
		assert.equal(listed.owner.role, 'member');
		await cli(['user', 'add', '--email', 'carol@acme.test', '--org', 'acme', '--role', 'admin'], '\n');
		await eventually(() => api(carol, 'GET', '/api/v1/api-tokens'), (x) => x.status === 200, 'promoted');
		// Removed from the org: the token stops; added back: it works again.
		await psql(cluster.url, `DELETE FROM org_members WHERE user_id = '${ids['carol@acme.test']}'`);
		assert401(await eventually(() => whoami(carol), is401, 'removed'), /no longer a member/);
		await cli(['user', 'add', '--email', 'carol@acme.test', '--org', 'acme', '--role', 'admin'], '\n');
		await eventually(() => whoami(carol), (x) => x.status === 200, 'added back');
	});
});

describe('rotation', () => {
	test('the old token works during the grace window, its uses are counted, then it stops', async (t) => {
		const old = await create({ name: 'rotating', scope: 'write', expires_in_days: 30 });
		assert.equal((await whoami(old.token)).json.token.in_rotation_grace, false); // cached before rotation
		const t0 = Date.now();
		const r = await api(ada, 'POST', `/api/v1/api-tokens/${old.id}/rotate`);
		assert.equal(r.status, 201, r.body);
		const neu = r.json;
		assert.match(neu.token, TOKEN_RE);
		assert.notEqual(neu.token, old.token);
		assert.equal(neu.name, 'rotating');
		assert.equal(neu.scope, 'write');
		assert.equal(neu.owner.id, old.owner.id);
		near(neu.expires_at, t0 + 30 * DAY_MS); // the same lifetime, from now
		assert.equal(neu.rotated_from.id, old.id);
		near(neu.rotated_from.grace_until, t0 + DAY_MS);

		// The rotation NOTIFY drops the cached copy; count the uses once the
		// old token reads as in grace (a request racing the NOTIFY would not be).
		let raced = 0, graceUses = 0;
		await waitFor(async () => {
			const w = await whoami(old.token);
			assert.equal(w.status, 200, w.body);
			if (w.json.token.in_rotation_grace)
				graceUses++;
			else
				raced++;
			return w.json.token.in_rotation_grace;
		}, { timeoutMs: 2000, intervalMs: 5, what: 'old token in grace' });
		for (let i = 0; i < 3; i++) {
			const w = await whoami(old.token);
			assert.equal(w.status, 200);
			assert.equal(w.json.token.in_rotation_grace, true);
			graceUses++;
		}
		assert.equal((await whoami(neu.token)).status, 200);
		t.diagnostic(`requests that raced the rotation NOTIFY on the same instance: ${raced}`);

		const seen = await waitFor(async () => {
			const x = await getToken(old.id);
			return x.grace_use_count === graceUses ? x : null;
		}, { timeoutMs: 3000, what: `grace_use_count ${graceUses}` });
		assert.equal(seen.status, 'grace');
		assert.equal(seen.replaced_by, neu.id);
		assert.equal(seen.grace_last_ip, '127.0.0.1');
		assert.equal(seen.last_used_ip, '127.0.0.1');
		assert.ok(Date.parse(seen.grace_last_used_at) >= t0 - 1000);
		assert.ok(Date.parse(seen.last_used_at) >= t0 - 1000);
		near(seen.grace_until, t0 + DAY_MS);
		const rows = await audit('api_token.rotate', old.id);
		assert.equal(rows.length, 1);
		assert.equal(rows[0].metadata.replaced_by, neu.id);

		// Rotating the rotated-out token again points at its replacement.
		const again = await api(ada, 'POST', `/api/v1/api-tokens/${old.id}/rotate`);
		assert.equal(again.status, 409);
		assert.ok(again.json.error_description.includes(neu.id));

		// Grace over (moved in the database; the trigger NOTIFYs) → 401.
		await psql(cluster.url, `UPDATE api_tokens SET grace_until = now() - interval '1 second' WHERE id = '${old.id}'`);
		assert401(await eventually(() => whoami(old.token), is401, 'grace over'), /revoked/);
		assert.equal((await whoami(neu.token)).status, 200);
		const ended = await getToken(old.id);
		assert.equal(ended.status, 'revoked');
		assert.equal(ended.revoked_reason, 'rotated');
	});

	test('end-grace cuts a rotated-out token off early; DELETE on it works too', async () => {
		const a = await create({ name: 'cut early', scope: 'read' });
		const b = (await api(ada, 'POST', `/api/v1/api-tokens/${a.id}/rotate`)).json;
		assert.equal((await whoami(a.token)).status, 200);
		let r = await api(ada, 'POST', `/api/v1/api-tokens/${a.id}/end-grace`);
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.status, 'revoked');
		assert.equal(r.json.revoked_reason, 'rotated');
		assert401(await whoami(a.token), /revoked/);
		assert.equal((await whoami(b.token)).status, 200);
		const rows = await audit('api_token.revoke', a.id);
		assert.equal(rows.length, 1);
		assert.equal(rows[0].metadata.grace_ended_early, true);
		// Not rotated → 409 that names the way to revoke.
		r = await api(ada, 'POST', `/api/v1/api-tokens/${b.id}/end-grace`);
		assert.equal(r.status, 409);
		assert.match(r.json.error_description, /DELETE \/api\/v1\/api-tokens\//);

		const c = await create({ name: 'delete in grace', scope: 'read' });
		const d = (await api(ada, 'POST', `/api/v1/api-tokens/${c.id}/rotate`)).json;
		assert.equal((await whoami(c.token)).status, 200);
		assert.equal((await api(ada, 'DELETE', `/api/v1/api-tokens/${c.id}`)).status, 200);
		assert401(await whoami(c.token), /revoked/);
		assert.equal((await whoami(d.token)).status, 200);
	});

	test('a revoked, disabled or expired token cannot be rotated', async () => {
		const t = await create({ name: 'no rotate', scope: 'read' });
		await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/disable`);
		assert.equal((await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/rotate`)).status, 409);
		await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/enable`);
		await psql(cluster.url, `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = '${t.id}'`);
		assert.equal((await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/rotate`)).status, 409);
		await api(ada, 'DELETE', `/api/v1/api-tokens/${t.id}`);
		const r = await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/rotate`);
		assert.equal(r.status, 409);
		assert.match(r.json.error_description, /revoked/);
	});
});

describe('expiry, disable, revoke', () => {
	test('an expired token gets 401 saying it expired', async () => {
		const t = await create({ name: 'expiring', scope: 'read' });
		assert.equal((await whoami(t.token)).status, 200); // now cached
		await psql(cluster.url, `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = '${t.id}'`);
		const r = await eventually(() => whoami(t.token), is401, 'expired');
		assert401(r, /expired/);
		assert.match(r.headers['www-authenticate'], /expired/);
		assert.equal((await getToken(t.id)).status, 'expired');
	});

	test('disabled → 401, enabled again → works; both idempotent and audited once', async () => {
		const t = await create({ name: 'switch', scope: 'read' });
		assert.equal((await whoami(t.token)).status, 200);
		let r = await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/disable`);
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.status, 'disabled');
		assert.ok(r.json.disabled_at);
		assert401(await whoami(t.token), /disabled/);
		r = await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/disable`);
		assert.equal(r.status, 200);
		assert.equal((await getToken(t.id)).status, 'disabled');
		r = await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/enable`);
		assert.equal(r.status, 200);
		assert.equal(r.json.status, 'active');
		assert.equal(r.json.disabled_at, null);
		assert.equal((await whoami(t.token)).status, 200);
		assert.equal((await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/enable`)).status, 200);
		assert.equal((await audit('api_token.disable', t.id)).length, 1);
		assert.equal((await audit('api_token.enable', t.id)).length, 1);
	});

	test('revoked → 401 for good: stays refused, cannot be enabled, repeat DELETE is a no-op', async () => {
		const t = await create({ name: 'doomed', scope: 'read' });
		assert.equal((await whoami(t.token)).status, 200);
		let r = await api(ada, 'DELETE', `/api/v1/api-tokens/${t.id}`);
		assert.equal(r.status, 200, r.body);
		assert.equal(r.json.status, 'revoked');
		assert.equal(r.json.revoked_reason, 'revoked');
		assert401(await whoami(t.token), /revoked/);
		r = await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/enable`);
		assert.equal(r.status, 409);
		assert.match(r.json.error_description, /permanent/);
		assert.equal((await api(ada, 'POST', `/api/v1/api-tokens/${t.id}/disable`)).status, 409);
		assert.equal((await api(ada, 'DELETE', `/api/v1/api-tokens/${t.id}`)).status, 200);
		for (let i = 0; i < 5; i++) {
			assert401(await whoami(t.token), /revoked/);
			await sleep(200);
		}
		const rows = await audit('api_token.revoke', t.id);
		assert.equal(rows.length, 1);
		assert.equal(rows[0].actor_kind, 'api_token');
		assert.equal(rows[0].ip, '127.0.0.1');
		assert.equal((await getToken(t.id)).status, 'revoked');
	});
});

describe('lists', () => {
	test('cursor pagination, status filter, bad parameters', async () => {
		const made = [];
		for (let i = 0; i < 5; i++)
			made.push((await create({ name: `page ${i}`, scope: 'read' })).id);
		const seen = [];
		let cursor = null, pages = 0;
		do {
			const r = await api(ada, 'GET', `/api/v1/api-tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
			assert.equal(r.status, 200, r.body);
			assert.ok(r.json.data.length <= 2);
			seen.push(...r.json.data);
			cursor = r.json.next_cursor;
			pages++;
		} while (cursor);
		assert.equal(new Set(seen.map((x) => x.id)).size, seen.length, 'no duplicates across pages');
		for (const id of made)
			assert.ok(seen.some((x) => x.id === id));
		for (let i = 1; i < seen.length; i++)
			assert.ok(seen[i - 1].created_at >= seen[i].created_at, 'newest first');
		assert.ok(pages >= Math.ceil(seen.length / 2));
		const revoked = await listAll(ada, 'status=revoked');
		assert.ok(revoked.length > 0);
		assert.ok(revoked.every((x) => x.status === 'revoked'));
		for (const q of ['status=bogus', 'limit=0', 'limit=201', 'cursor=nope']) {
			const r = await api(ada, 'GET', `/api/v1/api-tokens?${q}`);
			assert.equal(r.status, 400, q);
		}
	});

	test('another org sees none of these tokens and gets 404 for each of them', async () => {
		const t = await create({ name: 'acme only', scope: 'read' });
		const theirs = await listAll(eve);
		assert.ok(theirs.every((x) => x.owner.email === 'eve@other.test'), 'eve lists only her org');
		for (const [method, p] of [['GET', ''], ['POST', '/rotate'], ['POST', '/disable'], ['POST', '/enable'],
			['POST', '/end-grace'], ['DELETE', '']]) {
			const r = await api(eve, method, `/api/v1/api-tokens/${t.id}${p}`);
			assert.equal(r.status, 404, `${method} ${p}: ${r.body}`);
		}
		assert.equal((await whoami(t.token)).status, 200, 'untouched');
		assert.equal((await getToken(t.id)).status, 'active');
	});

	test('injection attempts in ids, filters and names are inert', async () => {
		for (const id of ["' OR '1'='1", '1;DROP TABLE api_tokens', '00000000-0000-0000-0000-000000000000',
			"00000000-0000-0000-0000-000000000000' OR 'x'='x", '%27%20OR%201%3D1--']) {
			const p = `/api/v1/api-tokens/${id.startsWith('%') ? id : encodeURIComponent(id)}`;
			assert.equal((await api(ada, 'GET', p)).status, 404, id);
			assert.equal((await api(ada, 'DELETE', p)).status, 404, id);
			assert.equal((await api(ada, 'POST', `${p}/disable`)).status, 404, id);
		}
		const r = await api(ada, 'GET', `/api/v1/api-tokens?status=${encodeURIComponent("active' OR '1'='1")}`);
		assert.equal(r.status, 400);
		const evil = "x'); DROP TABLE api_tokens; --";
		const t = await create({ name: evil, scope: 'read' });
		assert.equal(t.name, evil);
		assert.equal((await getToken(t.id)).name, evil);
		assert.ok(Number(await psql(cluster.url, 'SELECT count(*) FROM api_tokens')) > 5);
	});

	test('every API Token route is in the OpenAPI document', async () => {
		const r = await request({ port: srv.port, path: '/api/v1/openapi.json' });
		assert.equal(r.status, 200);
		const paths = r.json.paths;
		assert.ok(paths['/api/v1/api-tokens'].get && paths['/api/v1/api-tokens'].post);
		assert.ok(paths['/api/v1/api-tokens/{id}'].get && paths['/api/v1/api-tokens/{id}'].delete);
		for (const op of ['rotate', 'end-grace', 'disable', 'enable'])
			assert.ok(paths[`/api/v1/api-tokens/{id}/${op}`]?.post, op);
		assert.equal(paths['/api/v1/api-tokens'].post['x-required-scope'], 'admin');
	});
});

describe('secrets', () => {
	test('each secret appears in exactly one response, never in the logs or the database', async (t) => {
		const apiMinted = [...secrets].filter((s) => !responses.every((b) => !b.includes(s)));
		assert.ok(apiMinted.length >= 10, `secrets minted through the API: ${apiMinted.length}`);
		for (const s of apiMinted) {
			const n = responses.filter((b) => b.includes(s)).length;
			assert.equal(n, 1, `${s.slice(0, 12)}… appeared in ${n} responses`);
		}
		t.diagnostic(`external writes (psql, CLI) whose first check raced the NOTIFY: ${races.external} of ${races.externalChecks}`);
		const logs = srv.stdout() + srv.stderr();
		assert.ok(logs.length > 0, 'cupd wrote an access log');
		const db = await psql(cluster.url,
			"SELECT (SELECT string_agg(t::text, ' ') FROM api_tokens t) || (SELECT string_agg(a::text, ' ') FROM audit_events a)");
		for (const s of secrets) {
			assert.ok(!logs.includes(s), `${s.slice(0, 12)}… is in cupd's output`);
			assert.ok(!logs.includes(s.slice(12)), `the secret part of ${s.slice(0, 12)}… is in cupd's output`);
			assert.ok(!db.includes(s.slice(12)), `${s.slice(0, 12)}… is stored in the database`);
		}
	});

	test('cupd exits 0 on SIGTERM with no sanitizer report', async () => {
		for (const s of [srv]) {
			const r = await s.stop('SIGTERM');
			assert.doesNotMatch(s.stderr(), /Sanitizer|runtime error:/, `sanitizer report:\n${s.stderr().slice(-4000)}`);
			assert.equal(r.code, 0, `cupd exit ${r.code} ${r.signal}:\n${s.stderr().slice(-2000)}`);
		}
	});
});
