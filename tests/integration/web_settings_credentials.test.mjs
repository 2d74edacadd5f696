// web_settings_credentials.test.mjs: Settings → Credentials (SDK Keys and
// API Tokens) against the real cupd: every page renders for an owner and
// read-only for a member; CSRF and role checks on every POST; secrets are
// shown once (in the POST answer) and never in a later GET; what the forms
// do is what the REST API then sees; other orgs' ids are 404 pages; every
// name is escaped. Issue 6.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, sleep, waitFor } from './lib/harness.mjs';
import { csrfOf, stopClean } from './web_fixture.mjs';
import {
	MEMBER_EMAIL, MEMBER_PASSWORD, Settings, assertPageShape, get, mainOf, post, postForms, unescape,
} from './web_settings_fixture.mjs';

let s, owner, member;

before(async () => {
	s = await Settings.start();
	owner = await s.signIn();
	member = await s.signIn(MEMBER_EMAIL, MEMBER_PASSWORD);
});

after(async () => {
	if (s)
		await stopClean(s.srv);
	await cleanup();
});

const TOKENS = '/settings/credentials?tab=api-tokens';
const KEYS = '/settings/credentials?tab=sdk-keys';

/** Creates an API Token through the form; returns {token, html, res}. */
async function createToken(jar, fields) {
	const form = await s.page(jar, '/settings/api-tokens/new');
	const res = await s.submit(jar, form.body, '/settings/api-tokens', { scope: 'read', ...fields });
	const token = /<code class="secret-value" id="secret"[^>]*>(cup_api_[A-Za-z0-9]+)<\/code>/.exec(res.body)?.[1];
	return { token, res };
}

/** The REST view of a token by id. */
async function restToken(id) {
	const r = await s.api(s.admin, 'GET', `/api/v1/api-tokens/${id}`);
	assert.equal(r.status, 200, r.body);
	return r.json;
}

async function tokenIdOf(secret) {
	const r = await s.api(secret, 'GET', '/api/v1/whoami');
	assert.equal(r.status, 200, r.body);
	return r.json.token.id;
}

/** A project of the demo org for SDK Keys. */
const PROJECT = 'web-app';

describe('pages', () => {
	test('GET /settings → 303 to Credentials; signed out → sign-in with next', async () => {
		let r = await get(s.srv, owner, '/settings');
		assert.equal(r.status, 303);
		assert.equal(r.headers.location, '/settings/credentials');
		r = await get(s.srv, null, '/settings/credentials?tab=api-tokens');
		assert.equal(r.status, 303);
		assert.equal(r.headers.location, `/login?next=${encodeURIComponent('/settings/credentials?tab=api-tokens')}`);
	});

	test('every page renders for an owner, with its forms and the frame', async () => {
		const pages = [KEYS, TOKENS, '/settings/credentials?tab=connections', '/settings/organization',
			'/settings/audit', '/settings/api-tokens/new', '/settings/sdk-keys/new'];
		for (const p of pages) {
			const r = await s.page(owner, p);
			assertPageShape(r.body, p);
			assert.equal(r.headers['cache-control'], 'no-store');
			assert.match(r.headers['content-security-policy'], /script-src 'self'; style-src 'self'/);
			assert.match(r.body, /Demo Org/);
			assert.match(r.body, /aria-label="Settings"/);
		}
		assert.match((await s.page(owner, KEYS)).body, /Generate SDK Key/);
		assert.match((await s.page(owner, TOKENS)).body, /Generate API Token/);
		const form = await s.page(owner, '/settings/api-tokens/new');
		assert.deepEqual(postForms(form.body), ['/settings/api-tokens']);
		assert.match(form.body, /value="90"/, 'expiry defaults to 90 days');
		assert.match(form.body, /max="365"/);
		assert.match(form.body, /includes Read/, 'the hierarchy of scopes is explained');
	});

	test('a member sees read-only pages: no forms, no credential lists; form pages are 403', async () => {
		await s.api(s.admin, 'POST', '/api/v1/api-tokens', { name: 'visible to admins only', scope: 'read' });
		for (const p of [KEYS, TOKENS, '/settings/credentials?tab=connections', '/settings/organization', '/settings/audit']) {
			const r = await s.page(member, p);
			assertPageShape(r.body, `member ${p}`);
			assert.deepEqual(postForms(r.body), [], `${p}: no POST forms for a member`);
			assert.doesNotMatch(r.body, /visible to admins only/);
			assert.doesNotMatch(mainOf(r.body), /Generate (SDK Key|API Token)/);
		}
		for (const p of [KEYS, TOKENS, '/settings/audit'])
			assert.match((await s.page(member, p)).body, /Owners and admins only/);
		for (const p of ['/settings/api-tokens/new', '/settings/sdk-keys/new'])
			await s.page(member, p, 403);
	});

	test('unknown tab → 404 page; an org the user is not in → 404 page', async () => {
		await s.page(owner, '/settings/credentials?tab=nope', 404);
		const r = await s.page(owner, '/settings/credentials?org=other', 404);
		assert.doesNotMatch(r.body, /Other Org/);
	});
});

describe('API Tokens', () => {
	test('generate: shown once with a curl example; works on the REST API; no later GET shows it', async () => {
		const { token, res } = await createToken(owner, { name: 'ci deploy', scope: 'write', days: '30' });
		assert.equal(res.status, 200);
		assert.ok(token, mainOf(res.body).slice(0, 800));
		assert.equal(res.headers['cache-control'], 'no-store');
		assert.match(unescape(res.body), new RegExp(`curl -H "Authorization: Bearer ${token}"`));
		assert.match(res.body, /data-replace-url="\/settings\/credentials\?tab=api-tokens&amp;org=demo"/);
		const me = await s.api(token, 'GET', '/api/v1/whoami');
		assert.equal(me.status, 200);
		const t = await restToken(me.json.token.id);
		assert.equal(t.scope, 'write');
		const days = (Date.parse(t.expires_at) - Date.now()) / 86400e3;
		assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);
		for (const p of [TOKENS, `/settings/api-tokens/${t.id}`, `/settings/api-tokens/${t.id}/rotate`,
			`/settings/api-tokens/${t.id}/revoke`, '/settings/audit', '/settings/organization']) {
			const r = await s.page(owner, p);
			assert.ok(!r.body.includes(token), `${p} must not show the secret again`);
			assert.ok(!r.body.includes(token.slice(8)), `${p} must not show the secret's random part`);
		}
		assert.match((await s.page(owner, TOKENS)).body, /ci deploy/);
	});

	test('expiry: 90 days by default; over 365 refused; "never" needs the extra confirmation', async () => {
		let { token } = await createToken(owner, { name: 'default expiry' });
		let t = await restToken(await tokenIdOf(token));
		const days = (Date.parse(t.expires_at) - Date.now()) / 86400e3;
		assert.ok(days > 89.9 && days <= 90, `${days}`);

		const before = (await s.api(s.admin, 'GET', '/api/v1/api-tokens?limit=200')).json.data.length;
		let r = await createToken(owner, { name: 'too long', days: '366' });
		assert.equal(r.res.status, 400);
		assert.equal(r.token, undefined);
		assert.match(r.res.body, /role="alert"/);
		r = await createToken(owner, { name: 'forever?', never: 'yes' });
		assert.equal(r.res.status, 400, 'never without the confirmation is refused');
		assert.equal(r.token, undefined);
		assert.match(r.res.body, /explicit confirmation/);
		assert.match(r.res.body, /class="field expiry show-confirm"/);
		assert.match(r.res.body, /value="forever\?"/, 'the form keeps what was typed');
		assert.equal((await s.api(s.admin, 'GET', '/api/v1/api-tokens?limit=200')).json.data.length, before);

		({ token } = await createToken(owner, { name: 'forever', never: 'yes', confirm_never: 'yes' }));
		t = await restToken(await tokenIdOf(token));
		assert.equal(t.expires_at, null);
	});

	test('disable / enable / revoke through the forms change what the REST API sees', async () => {
		const { token } = await createToken(owner, { name: 'switchable' });
		const id = await tokenIdOf(token);
		let list = await s.page(owner, TOKENS);
		let r = await s.submit(owner, list.body, `/settings/api-tokens/${id}/disable`);
		assert.equal(r.status, 303);
		assert.equal(r.headers.location, `${TOKENS}&org=demo&done=token-disabled`);
		assert.equal((await s.api(token, 'GET', '/api/v1/whoami')).status, 401);
		assert.equal((await restToken(id)).status, 'disabled');
		const after = await s.page(owner, r.headers.location);
		assert.match(after.body, /role="status">The API Token was disabled/);

		r = await s.submit(owner, after.body, `/settings/api-tokens/${id}/enable`);
		assert.equal(r.status, 303);
		assert.equal((await s.api(token, 'GET', '/api/v1/whoami')).status, 200);
		assert.equal((await restToken(id)).status, 'active');

		const confirm = await s.page(owner, `/settings/api-tokens/${id}/revoke`);
		assertPageShape(confirm.body, 'revoke confirm');
		assert.match(confirm.body, /Revoking is permanent/);
		assert.equal((await s.api(token, 'GET', '/api/v1/whoami')).status, 200, 'the confirm page changes nothing');
		r = await s.submit(owner, confirm.body, `/settings/api-tokens/${id}/revoke`);
		assert.equal(r.status, 303);
		assert.equal((await s.api(token, 'GET', '/api/v1/whoami')).status, 401);
		assert.equal((await restToken(id)).status, 'revoked');
		list = await s.page(owner, TOKENS);
		assert.ok(!postForms(list.body).some((a) => a.includes(id)), 'a revoked token has no forms');
	});

	test('rotate: new token shown once; both work in the grace window; usage of the old one is shown; cut off',
		async () => {
			const { token: old } = await createToken(owner, { name: 'rotating', scope: 'write' });
			const oldId = await tokenIdOf(old);
			const confirm = await s.page(owner, `/settings/api-tokens/${oldId}/rotate`);
			assert.match(confirm.body, /keeps working for 24 hours/);
			const res = await s.submit(owner, confirm.body, `/settings/api-tokens/${oldId}/rotate`);
			assert.equal(res.status, 200);
			assert.equal(res.headers['cache-control'], 'no-store');
			const fresh = /id="secret"[^>]*>(cup_api_[A-Za-z0-9]+)</.exec(res.body)?.[1];
			assert.ok(fresh && fresh !== old);
			assert.match(res.body, new RegExp(`href="/settings/api-tokens/${oldId}\\?org=demo"`));
			assert.equal((await s.api(fresh, 'GET', '/api/v1/whoami')).status, 200);
			assert.equal((await s.api(old, 'GET', '/api/v1/whoami')).status, 200, 'the old one works in grace');
			assert.equal((await restToken(oldId)).status, 'grace');

			// The detail page shows the old token's use since rotation (batched, ~100 ms here).
			const detail = await waitFor(async () => {
				const d = await s.page(owner, `/settings/api-tokens/${oldId}`);
				return /<dt>Uses since rotation<\/dt><dd>[1-9]/.test(d.body) && d;
			}, { timeoutMs: 5000, what: 'grace use on the page' });
			assertPageShape(detail.body, 'token detail');
			assert.match(detail.body, /<dt>Last IP address<\/dt><dd>127\.0\.0\.1</);
			assert.match(detail.body, /Something still uses the old token/);
			assert.ok(!detail.body.includes(old) && !detail.body.includes(fresh));

			const r = await s.submit(owner, detail.body, `/settings/api-tokens/${oldId}/end-grace`);
			assert.equal(r.status, 303);
			assert.equal(r.headers.location, `/settings/api-tokens/${oldId}?org=demo&done=grace-ended`);
			assert.equal((await s.api(old, 'GET', '/api/v1/whoami')).status, 401);
			assert.equal((await s.api(fresh, 'GET', '/api/v1/whoami')).status, 200);
			const rotatedAgain = await s.page(owner, `/settings/api-tokens/${oldId}/rotate`);
			assert.deepEqual(postForms(rotatedAgain.body), [], 'nothing to rotate any more');
		});

	test('a token named <script> (made through the API) is escaped everywhere', async () => {
		const evil = '<script>alert(1)</script>';
		const r = await s.api(s.admin, 'POST', '/api/v1/api-tokens', { name: evil, scope: 'read' });
		assert.equal(r.status, 201, r.body);
		for (const p of [TOKENS, `/settings/api-tokens/${r.json.id}`, `/settings/api-tokens/${r.json.id}/revoke`,
			'/settings/audit']) {
			const page = await s.page(owner, p);
			assert.ok(!page.body.includes(evil), `${p}: raw markup`);
			assert.ok(page.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), `${p}: escaped name`);
		}
	});
});

describe('SDK Keys', () => {
	/** Generates a key through the form; returns {key, res}. */
	async function createKey(fields) {
		const form = await s.page(owner, '/settings/sdk-keys/new');
		const res = await s.submit(owner, form.body, '/settings/sdk-keys', { project: PROJECT, ...fields });
		const key = /id="secret"[^>]*>(cup_sdk_[A-Za-z0-9]+)</.exec(res.body)?.[1];
		return { key, res };
	}
	const ingest = (key, headers = {}) => s.api(key, 'POST', '/v1/events', {
		events: [{ service: 'stripe', operation: 'charges.create', outcome: 'ok', latency_ms: 12 }] }, headers);

	test('generate: project required, origins optional; key and init snippet once; it sends events', async () => {
		const form = await s.page(owner, '/settings/sdk-keys/new');
		assert.match(form.body, /<select id="project" name="project" required/);
		const { key, res } = await createKey({ name: 'web <prod>', origins: 'https://App.Example.com/\nhttp://localhost:3000' });
		assert.equal(res.status, 200, mainOf(res.body).slice(0, 600));
		assert.ok(key);
		assert.equal(res.headers['cache-control'], 'no-store');
		assert.match(res.body, /web &lt;prod&gt;/);
		assert.match(res.body, /https:\/\/app\.example\.com, http:\/\/localhost:3000/, 'origins normalised');
		assert.match(unescape(res.body), new RegExp(`Bearer ${key}`), 'the init snippet carries the key');
		const ok = await ingest(key, { origin: 'https://app.example.com' });
		assert.ok(ok.status === 202 || ok.status === 200, `${ok.status} ${ok.body}`);
		const refused = await ingest(key, { origin: 'https://evil.example' });
		assert.equal(refused.status, 403);
		for (const p of [KEYS, '/settings/audit']) {
			const page = await s.page(owner, p);
			assert.ok(!page.body.includes(key) && !page.body.includes(key.slice(8)), `${p} shows the key again`);
		}
		const list = await s.page(owner, KEYS);
		assert.match(list.body, /web &lt;prod&gt;/);
		assert.match(list.body, /https:\/\/app\.example\.com/);
	});

	test('bad input re-renders the form (400) and creates nothing', async () => {
		const n = Number(await s.sql('SELECT count(*) FROM sdk_keys'));
		let r = await createKey({ name: 'x', origins: 'https://ok.example/path' });
		assert.equal(r.res.status, 400);
		assert.match(r.res.body, /is not an origin/);
		r = await createKey({ name: '' });
		assert.equal(r.res.status, 400);
		r = await createKey({ name: 'x', project: 'no-such-project' });
		assert.equal(r.res.status, 400);
		assert.equal(r.key, undefined);
		assert.equal(Number(await s.sql('SELECT count(*) FROM sdk_keys')), n);
	});

	test('rotate revokes the old key at once; revoke through the confirmation', async () => {
		const { key } = await createKey({ name: 'to rotate' });
		const id = (await s.api(s.admin, 'GET', '/api/v1/sdk-keys?limit=200')).json.data.find((k) => k.name === 'to rotate').id;
		const confirm = await s.page(owner, `/settings/sdk-keys/${id}/rotate`);
		assert.match(confirm.body, /no grace period/);
		const res = await s.submit(owner, confirm.body, `/settings/sdk-keys/${id}/rotate`);
		assert.equal(res.status, 200);
		const fresh = /id="secret"[^>]*>(cup_sdk_[A-Za-z0-9]+)</.exec(res.body)?.[1];
		assert.ok(fresh && fresh !== key);
		assert.equal((await ingest(key)).status, 401);
		assert.ok([200, 202].includes((await ingest(fresh)).status));

		const freshId = (await s.api(s.admin, 'GET', '/api/v1/sdk-keys?limit=200')).json.data
			.find((k) => k.name === 'to rotate' && k.status === 'active').id;
		const rc = await s.page(owner, `/settings/sdk-keys/${freshId}/revoke`);
		const r = await s.submit(owner, rc.body, `/settings/sdk-keys/${freshId}/revoke`);
		assert.equal(r.status, 303);
		assert.match(r.headers.location, /done=key-revoked/);
		assert.equal((await ingest(fresh)).status, 401);
		const k = await s.api(s.admin, 'GET', `/api/v1/sdk-keys/${freshId}`);
		assert.equal(k.json.status, 'revoked');
	});
});

describe('every POST is guarded', () => {
	let tokenId, token, keyId;
	before(async () => {
		const t = await s.api(s.admin, 'POST', '/api/v1/api-tokens', { name: 'guarded', scope: 'read' });
		tokenId = t.json.id;
		token = t.json.token;
		const k = await s.api(s.admin, 'POST', '/api/v1/sdk-keys', { name: 'guarded', project: PROJECT });
		keyId = k.json.id;
	});
	const posts = () => [
		['/settings/api-tokens', { name: 'nope', scope: 'read', days: '5' }],
		[`/settings/api-tokens/${tokenId}/disable`, {}],
		[`/settings/api-tokens/${tokenId}/revoke`, {}],
		[`/settings/api-tokens/${tokenId}/rotate`, {}],
		[`/settings/api-tokens/${tokenId}/end-grace`, {}],
		[`/settings/api-tokens/${tokenId}/enable`, {}],
		['/settings/sdk-keys', { project: PROJECT, name: 'nope' }],
		[`/settings/sdk-keys/${keyId}/rotate`, {}],
		[`/settings/sdk-keys/${keyId}/revoke`, {}],
		['/settings/organization/badges', { public_badges: 'off' }],
		[`/settings/organization/members/${s.ids.member}/role`, { role: 'admin' }],
		['/settings/connections/00000000-0000-4000-8000-000000000000/revoke', {}],
		['/settings/connections/clients/00000000-0000-4000-8000-000000000000/revoke', {}],
	];
	async function unchanged() {
		assert.equal((await s.api(token, 'GET', '/api/v1/whoami')).status, 200, 'the token still works');
		assert.equal((await s.api(s.admin, 'GET', `/api/v1/sdk-keys/${keyId}`)).json.status, 'active');
		assert.equal(await s.sql("SELECT public_badges FROM orgs WHERE slug = 'demo'"), 't');
		assert.equal(await s.sql(`SELECT role FROM org_members WHERE user_id = '${s.ids.member}'`), 'member');
		assert.equal(Number(await s.sql("SELECT count(*) FROM api_tokens WHERE name = 'nope'")), 0);
	}

	test('CSRF token missing or wrong → 403 page, nothing changed', async () => {
		const csrf = csrfOf(owner.get('cupd_session'));
		for (const [p, fields] of posts()) {
			let r = await post(s.srv, owner, p, { org: 'demo', ...fields });
			assert.equal(r.status, 403, `${p} without CSRF: ${r.status}`);
			assert.match(r.body, /Request refused/);
			r = await post(s.srv, owner, p, { org: 'demo', csrf: csrfOf('another session'), ...fields });
			assert.equal(r.status, 403, `${p} with a wrong CSRF token`);
			r = await post(s.srv, owner, p, { org: 'demo', csrf: csrf.slice(0, -1), ...fields });
			assert.equal(r.status, 403, `${p} with a truncated CSRF token`);
		}
		await unchanged();
	});

	test('a member posting with a valid CSRF token → 403 page (connections: 404/403 by the API), nothing changed',
		async () => {
			const csrf = csrfOf(member.get('cupd_session'));
			for (const [p, fields] of posts()) {
				const r = await post(s.srv, member, p, { org: 'demo', csrf, ...fields });
				const want = p.startsWith('/settings/connections') ? 404 : 403;
				assert.equal(r.status, want, `member POST ${p}: ${r.status}`);
				assert.match(r.headers['content-type'], /^text\/html/);
			}
			await unchanged();
		});

	test('signed out → 403 page, never a redirect that drops the form', async () => {
		const r = await post(s.srv, null, `/settings/api-tokens/${tokenId}/revoke`, { org: 'demo', csrf: 'x'.repeat(43) });
		assert.equal(r.status, 403);
		await unchanged();
	});
});

describe('other organizations', () => {
	test("another org's token, key, member and connection ids → 404 pages, and they keep working", async () => {
		const t = await s.api(s.eve, 'POST', '/api/v1/api-tokens', { name: 'eve token', scope: 'read' });
		assert.equal(t.status, 201, t.body);
		const p = await s.api(s.eve, 'POST', '/api/v1/projects', { slug: 'eve-app', name: 'Eve App' });
		assert.equal(p.status, 201, p.body);
		const k = await s.api(s.eve, 'POST', '/api/v1/sdk-keys', { name: 'eve key', project: 'eve-app' });
		assert.equal(k.status, 201, k.body);
		for (const path of [`/settings/api-tokens/${t.json.id}`, `/settings/api-tokens/${t.json.id}/rotate`,
			`/settings/api-tokens/${t.json.id}/revoke`, `/settings/sdk-keys/${k.json.id}/rotate`,
			`/settings/sdk-keys/${k.json.id}/revoke`, '/settings/api-tokens/not-a-uuid']) {
			const r = await s.page(owner, path, 404);
			assertPageShape(r.body, `404 ${path}`);
			assert.doesNotMatch(r.body, /eve/);
		}
		const page = await s.page(owner, TOKENS);
		for (const [action] of [[`/settings/api-tokens/${t.json.id}/revoke`], [`/settings/api-tokens/${t.json.id}/disable`],
			[`/settings/api-tokens/${t.json.id}/rotate`], [`/settings/sdk-keys/${k.json.id}/revoke`],
			[`/settings/organization/members/${s.ids.eve}/role`]]) {
			const csrf = csrfOf(owner.get('cupd_session'));
			const r = await post(s.srv, owner, action, { csrf, org: 'demo', role: 'member' });
			assert.equal(r.status, 404, `${action}: ${r.status}`);
		}
		assert.ok(page);
		assert.equal((await s.api(t.json.token, 'GET', '/api/v1/whoami')).status, 200);
		const key = await s.api(s.eve, 'GET', `/api/v1/sdk-keys/${k.json.id}`);
		assert.equal(key.json.status, 'active');
		assert.equal(await s.sql(`SELECT role FROM org_members WHERE user_id = '${s.ids.eve}'`), 'owner');
		await sleep(0);
	});
});
