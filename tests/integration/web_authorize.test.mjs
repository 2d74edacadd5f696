// web_authorize.test.mjs: the authorization endpoint and consent page
// (REQUIREMENTS C1-C8, C32-C37, C40, B31-B33, B38, B40, D2, D11, E5, E6,
// E19, E20).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, psql, request, runCli } from './lib/harness.mjs';
import {
	DEMO_EMAIL, Jar, addClient, addUser, authorizeUrl, csrfOf, get, hidden, locationParams, login, pkce, post,
	sha256hex, startWeb, stopClean,
} from './web_fixture.mjs';

const CB = 'http://127.0.0.1:9999/callback';

let w, base, jar, loopback, multi, csrf;

/** Valid authorization parameters for client, overridable. */
function params(over = {}) {
	return {
		response_type: 'code', client_id: loopback, redirect_uri: CB, code_challenge: pkce().challenge,
		code_challenge_method: 'S256', state: 'st-Ω 1/2', scope: 'read write', resource: `${base}/mcp`, ...over,
	};
}

/** Asserts an error redirect to CB with state and iss (C2, B38). */
function assertErrorRedirect(r, error, state = 'st-Ω 1/2') {
	assert.equal(r.status, 303, r.body);
	assert.ok(r.headers.location.startsWith(`${CB}?`), r.headers.location);
	const q = locationParams(r.headers.location);
	assert.equal(q.error, error);
	assert.ok(q.error_description);
	assert.equal(q.state, state ?? undefined);
	assert.equal(q.iss, base);
	return q;
}

/** Asserts the HTML error page that never redirects (C2). */
function assertNoRedirectPage(r) {
	assert.equal(r.status, 400);
	assert.equal(r.headers.location, undefined);
	assert.match(r.headers['content-type'], /^text\/html/);
	assert.doesNotMatch(r.body, /127\.0\.0\.1:9999|evil/);
}

before(async () => {
	w = await startWeb();
	base = w.srv.base;
	loopback = await addClient(w.srv, { name: 'Claude <Code>', redirects: [CB] });
	multi = await addClient(w.srv, {
		name: 'Cursor', redirects: ['cursor://anysphere.cursor-mcp/oauth/callback', 'https://www.cursor.example/cb'],
	});
	jar = new Jar();
	const r = await login(w.srv, jar, DEMO_EMAIL, w.password);
	assert.equal(r.status, 303);
	csrf = csrfOf(jar.get('cupd_session'));
});
after(async () => {
	if (w)
		await stopClean(w.srv);
	await cleanup();
});

describe('client and redirect URI first: an HTML error page, never a redirect (C2, C3, C4)', () => {
	test('unknown client_id', async () => {
		assertNoRedirectPage(await get(w.srv, jar, authorizeUrl(params({ client_id: 'cupc_unknown_000000' }))));
		assertNoRedirectPage(await get(w.srv, jar, authorizeUrl(params({ client_id: undefined }))));
	});

	test('unregistered redirect_uri, even with other errors present', async () => {
		for (const uri of ['http://127.0.0.1:9999/callback/x', 'http://localhost:9999/callback', 'https://evil.example/cb',
			'http://127.0.0.1:9999/callback?x=1', 'http://127.0.0.1:9999/Callback'])
			assertNoRedirectPage(await get(w.srv, jar, authorizeUrl(params({ redirect_uri: uri, response_type: 'token' }))));
	});

	test('a loopback redirect may use another port (RFC 8252, E5)', async () => {
		const r = await get(w.srv, jar, authorizeUrl(params({ redirect_uri: 'http://127.0.0.1:51234/callback' })));
		assert.equal(r.status, 200);
		assert.match(r.body, /127\.0\.0\.1:51234/);
	});

	test('redirect_uri may be omitted only with one registered URI (C4)', async () => {
		const one = await get(w.srv, jar, authorizeUrl(params({ redirect_uri: undefined })));
		assert.equal(one.status, 200);
		assertNoRedirectPage(await get(w.srv, jar, authorizeUrl(params({ client_id: multi, redirect_uri: undefined }))));
	});

	test('a repeated client_id or redirect_uri cannot be trusted', async () => {
		assertNoRedirectPage(await get(w.srv, jar, authorizeUrl(params({ client_id: [loopback, multi] }))));
		assertNoRedirectPage(await get(w.srv, jar, authorizeUrl(params({ redirect_uri: [CB, CB] }))));
	});
});

describe('every other problem redirects with error, state and iss (C1, C6, C7, B31, B32, B38, B40)', () => {
	test('response_type', async () => {
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ response_type: 'token' }))), 'unsupported_response_type');
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ response_type: undefined }))), 'invalid_request');
	});

	test('PKCE missing, plain, without method, or malformed', async () => {
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ code_challenge: undefined }))), 'invalid_request');
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ code_challenge_method: 'plain' }))), 'invalid_request');
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ code_challenge_method: undefined }))), 'invalid_request');
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ code_challenge: 'short' }))), 'invalid_request');
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ code_challenge: `${'a'.repeat(42)}+` }))), 'invalid_request');
	});

	test('resource must name this MCP server (invalid_target); absent defaults to it (B33)', async () => {
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ resource: 'https://other.example/mcp' }))), 'invalid_target');
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ resource: [`${base}/mcp`, 'https://x.example/'] }))), 'invalid_target');
		for (const ok of [undefined, `${base}/mcp/`, `${base.toUpperCase().replace('HTTP', 'http')}/mcp`, base,
			[`${base}/mcp`, `${base}/mcp/`]])
			assert.equal((await get(w.srv, jar, authorizeUrl(params({ resource: ok })))).status, 200, String(ok));
	});

	test('a repeated parameter other than resource → invalid_request (C1)', async () => {
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ scope: ['read', 'write'] }))), 'invalid_request');
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ code_challenge_method: ['S256', 'S256'] }))), 'invalid_request');
		const q = assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ state: ['a', 'b'] }))), 'invalid_request', null);
		assert.equal(q.state, undefined);
	});

	test('state is echoed byte for byte and capped at 1024 characters (C6)', async () => {
		const odd = 'a b+c&d=e%f/Ω"<>';
		assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ state: odd, response_type: 'x' }))),
			'unsupported_response_type', odd);
		const q = assertErrorRedirect(await get(w.srv, jar, authorizeUrl(params({ state: 's'.repeat(1025) }))),
			'invalid_request', null);
		assert.equal(q.state, undefined);
		assert.equal((await get(w.srv, jar, authorizeUrl(params({ state: 's'.repeat(1024) })))).status, 200);
		assert.equal((await get(w.srv, jar, authorizeUrl(params({ state: undefined })))).status, 200, 'state is optional');
	});

	test('an error for a client still works when the user is signed out (no login first)', async () => {
		assertErrorRedirect(await get(w.srv, new Jar(), authorizeUrl(params({ code_challenge_method: 'plain' }))), 'invalid_request');
	});
});

describe('scopes (C37, E19, B11)', () => {
	const scopesShown = (html) => (html.match(/<ul class="scopes">([\s\S]*?)<\/ul>/)[1].match(/<li>/g) || []).length;

	test('unknown scopes are ignored; none known → read write', async () => {
		let r = await get(w.srv, jar, authorizeUrl(params({ scope: 'claudeai' })));
		assert.equal(r.status, 200);
		assert.equal(scopesShown(r.body), 2);
		r = await get(w.srv, jar, authorizeUrl(params({ scope: 'openid email profile offline_access' })));
		assert.equal(scopesShown(r.body), 2);
		r = await get(w.srv, jar, authorizeUrl(params({ scope: undefined })));
		assert.equal(scopesShown(r.body), 2);
		r = await get(w.srv, jar, authorizeUrl(params({ scope: 'claudeai read' })));
		assert.equal(scopesShown(r.body), 1);
		r = await get(w.srv, jar, authorizeUrl(params({ scope: 'admin' })));
		assert.equal(scopesShown(r.body), 3);
	});
});

describe('sign-in and the consent page (C32, C33, C36, C40)', () => {
	test('signed out → 303 to /login with this request as next, and back after sign-in', async () => {
		const url = authorizeUrl(params());
		const r = await get(w.srv, new Jar(), url);
		assert.equal(r.status, 303);
		const loc = new URL(r.headers.location, base);
		assert.equal(loc.pathname, '/login');
		assert.equal(loc.searchParams.get('next'), url);
		const j = new Jar();
		const back = await login(w.srv, j, DEMO_EMAIL, w.password, loc.searchParams.get('next'));
		assert.equal(back.headers.location, url);
		assert.equal((await get(w.srv, j, url)).status, 200);
	});

	test('the alias /authorize behaves the same', async () => {
		const r = await get(w.srv, jar, authorizeUrl(params(), '/authorize'));
		assert.equal(r.status, 200);
		assert.match(r.body, /action="\/authorize\?/);
	});

	test('shows the unverified name, redirect host, localhost warning, scopes, org, Approve and Deny', async () => {
		const r = await get(w.srv, jar, authorizeUrl(params()), { origin: 'https://evil.example' });
		assert.equal(r.status, 200);
		assert.match(r.body, /Claude &lt;Code&gt; wants to access your CheckUpstream account/, 'client name, escaped');
		assert.doesNotMatch(r.body, /Claude <Code>/);
		assert.match(r.body, /Unverified/);
		assert.match(r.body, /http:\/\/127\.0\.0\.1:9999/);
		assert.match(r.body, /Local app\./);
		assert.match(r.body, /Demo Org/);
		assert.match(r.body, />Approve<\/button>/);
		assert.match(r.body, />Deny<\/button>/);
		assert.equal(r.headers['x-frame-options'], 'DENY');
		assert.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
		// Browsers apply form-action to the redirect after Approve/Deny: the
		// consent page allows exactly its own origin and the client's.
		assert.match(r.headers['content-security-policy'], /form-action 'self' http:\/\/127\.0\.0\.1:9999;/);
		assert.match(r.headers['content-security-policy'], /script-src 'self'; style-src 'self'/);
		assert.equal(r.headers['referrer-policy'], 'no-referrer');
		assert.equal(r.headers['cache-control'], 'no-store');
		assert.equal(r.headers['access-control-allow-origin'], undefined, 'C40');
		assert.equal(r.headers['access-control-allow-credentials'], undefined);
		const pre = await request({ port: w.srv.port, method: 'OPTIONS', path: '/oauth/authorize',
			headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
		assert.equal(pre.headers['access-control-allow-origin'], undefined, 'no CORS preflight either');
		const other = await get(w.srv, jar, authorizeUrl(params({ client_id: multi, redirect_uri: 'https://www.cursor.example/cb' })));
		assert.equal(other.status, 200);
		assert.doesNotMatch(other.body, /Local app\./, 'no localhost warning for https');
		assert.match(other.body, /www\.cursor\.example/);
		assert.match(other.headers['content-security-policy'], /form-action 'self' https:\/\/www\.cursor\.example;/);
		const custom = await get(w.srv, jar, authorizeUrl(params({ client_id: multi,
			redirect_uri: 'cursor://anysphere.cursor-mcp/oauth/callback' })));
		assert.match(custom.headers['content-security-policy'], /form-action 'self' cursor:;/);
	});
});

describe('consent POST (C8, C34, C35, E20)', () => {
	/** Posts the consent form exactly as the page would. */
	async function decide(url, fields, j = jar) {
		const page = await get(w.srv, j, url);
		assert.equal(page.status, 200);
		const action = page.body.match(/<form method="post" action="([^"]*authorize[^"]*)"/)[1].replace(/&amp;/g, '&');
		assert.equal(action, url, 'the form posts back to the same URL');
		return post(w.srv, j, action, { csrf: hidden(page.body, 'csrf'), org: hidden(page.body, 'org'), ...fields });
	}
	const grants = () => psql(w.cluster.url, 'SELECT count(*) FROM oauth_grants').then(Number);

	test('without or with a wrong CSRF token → 403 and nothing created', async () => {
		const n = await grants();
		const url = authorizeUrl(params());
		let r = await post(w.srv, jar, url, { decision: 'approve' });
		assert.equal(r.status, 403);
		assert.equal(r.headers.location, undefined);
		r = await post(w.srv, jar, url, { decision: 'approve', csrf: csrfOf('someone else') });
		assert.equal(r.status, 403);
		r = await post(w.srv, new Jar(), url, { decision: 'approve', csrf });
		assert.equal(r.status, 303, 'no session: sign in first');
		assert.ok(r.headers.location.startsWith('/login?next='), r.headers.location);
		assert.equal(await grants(), n);
	});

	test('re-validated like the GET: a changed redirect_uri or client is refused without redirect', async () => {
		const n = await grants();
		let r = await post(w.srv, jar, authorizeUrl(params({ redirect_uri: 'https://evil.example/cb' })), { decision: 'approve', csrf });
		assertNoRedirectPage(r);
		r = await post(w.srv, jar, authorizeUrl(params({ client_id: 'cupc_forged_00000000' })), { decision: 'approve', csrf });
		assertNoRedirectPage(r);
		r = await post(w.srv, jar, authorizeUrl(params({ code_challenge_method: 'plain' })), { decision: 'approve', csrf });
		assertErrorRedirect(r, 'invalid_request');
		r = await post(w.srv, jar, authorizeUrl(params({ resource: 'https://other.example/mcp' })), { decision: 'approve', csrf });
		assertErrorRedirect(r, 'invalid_target');
		assert.equal(await grants(), n);
	});

	test('Deny → 303 access_denied with state and iss', async () => {
		const r = await decide(authorizeUrl(params()), { decision: 'deny' });
		assertErrorRedirect(r, 'access_denied');
	});

	test('Approve → 303 (never 307) with code, state, iss; grant and hashed 60 s code bound to the request', async () => {
		const { challenge } = pkce();
		const r = await decide(authorizeUrl(params({ code_challenge: challenge, scope: 'read claudeai' })),
			{ decision: 'approve' });
		assert.equal(r.status, 303);
		assert.equal(r.headers['cache-control'], 'no-store');
		const q = locationParams(r.headers.location);
		assert.ok(r.headers.location.startsWith(`${CB}?code=`));
		assert.match(q.code, /^[A-Za-z0-9_-]{43}$/);
		assert.equal(q.state, 'st-Ω 1/2');
		assert.equal(q.iss, base);
		const row = await psql(w.cluster.url,
			`SELECT c.redirect_uri, c.redirect_sent, c.code_challenge, c.scope, c.resource,
			        extract(epoch FROM c.expires_at - c.created_at)::int, g.scope, g.resource, g.revoked_at IS NULL,
			        g.user_agent IS NOT NULL, host(g.last_ip), g.expires_at > now() + interval '89 days'
			   FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id
			  WHERE c.code_hash = decode('${sha256hex(q.code)}', 'hex')`);
		assert.deepEqual(row.split('|'), [CB, 't', challenge, 'read', `${base}/mcp`, '60', 'read', `${base}/mcp`, 't', 't',
			'127.0.0.1', 't']);
		const audit = await psql(w.cluster.url,
			"SELECT metadata->>'client_id' FROM audit_events WHERE action = 'connection.approve' ORDER BY id DESC LIMIT 1");
		assert.equal(audit, loopback);
	});

	test('a code sent without redirect_uri records that (C4, RFC 6749 §4.1.3)', async () => {
		const r = await decide(authorizeUrl(params({ redirect_uri: undefined })), { decision: 'approve' });
		const q = locationParams(r.headers.location);
		const sent = await psql(w.cluster.url,
			`SELECT redirect_sent FROM oauth_codes WHERE code_hash = decode('${sha256hex(q.code)}', 'hex')`);
		assert.equal(sent, 'f');
	});

	test('the code is single-use and expires (C8, C9)', async () => {
		const token = await request({ port: w.srv.port, method: 'POST', path: '/oauth/token',
			headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
		const { verifier, challenge } = pkce();
		const r = await decide(authorizeUrl(params({ code_challenge: challenge })), { decision: 'approve' });
		const { code } = locationParams(r.headers.location);
		const h = sha256hex(code);
		if (token.status === 404) {
			// The token endpoint is not built yet: check the stored code through
			// the redemption function it will call.
			const first = await psql(w.cluster.url, `SELECT count(*) FROM cupd_redeem_code(decode('${h}', 'hex'))`);
			assert.equal(first, '1');
			const second = await psql(w.cluster.url, `SELECT count(*) FROM cupd_redeem_code(decode('${h}', 'hex'))`);
			assert.equal(second, '0', 'replay: no second redemption');
		} else {
			const exchange = () => request({ port: w.srv.port, method: 'POST', path: '/oauth/token',
				headers: { 'content-type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier,
					client_id: loopback, redirect_uri: CB, resource: `${base}/mcp` }).toString() });
			const ok = await exchange();
			assert.equal(ok.status, 200, ok.body);
			const replay = await exchange();
			assert.equal(replay.status, 400);
			assert.equal(replay.json.error, 'invalid_grant');
		}
		const r2 = await decide(authorizeUrl(params()), { decision: 'approve' });
		const h2 = sha256hex(locationParams(r2.headers.location).code);
		await psql(w.cluster.url, `UPDATE oauth_codes SET expires_at = now() - interval '1 second' WHERE code_hash = decode('${h2}', 'hex')`);
		await assert.rejects(psql(w.cluster.url, `SELECT * FROM cupd_redeem_code(decode('${h2}', 'hex'))`), /expired/);
	});

	test('approving the same client again creates a new grant and keeps the first one live', async () => {
		const before = await psql(w.cluster.url,
			`SELECT count(*) FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_pk
			  WHERE c.client_id = '${multi}' AND g.revoked_at IS NULL`);
		assert.equal(before, '0');
		const url = authorizeUrl(params({ client_id: multi, redirect_uri: 'cursor://anysphere.cursor-mcp/oauth/callback' }));
		for (let i = 0; i < 2; i++) {
			const r = await decide(url, { decision: 'approve' });
			assert.equal(r.status, 303);
			assert.ok(r.headers.location.startsWith('cursor://anysphere.cursor-mcp/oauth/callback?code='));
		}
		const live = await psql(w.cluster.url,
			`SELECT count(*) FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_pk
			  WHERE c.client_id = '${multi}' AND g.revoked_at IS NULL`);
		assert.equal(live, '2');
	});

	test("the user's role caps the scope; several orgs get a picker; the org must be the user's", async () => {
		const org = await runCli(['org', 'add', '--slug', 'second', '--name', 'Second Org'], { env: w.cliEnv });
		assert.equal(org.code, 0, org.stderr);
		await addUser(w.cliEnv, { email: 'member@example.com', org: 'demo', role: 'member', password: 'member-password-1' });
		await addUser(w.cliEnv, { email: 'member@example.com', org: 'second', role: 'admin', password: '' });
		const mj = new Jar();
		assert.equal((await login(w.srv, mj, 'member@example.com', 'member-password-1')).status, 303);
		const url = authorizeUrl(params({ scope: 'admin' }));
		const page = await get(w.srv, mj, url);
		assert.match(page.body, /<label for="org">Organization<\/label>/);
		assert.match(page.body, /Demo Org \(member\)/);
		assert.match(page.body, /Second Org \(admin\)/);
		const ids = Object.fromEntries((await psql(w.cluster.url, 'SELECT slug, id FROM orgs')).split('\n').map((l) => l.split('|')));
		const mcsrf = csrfOf(mj.get('cupd_session'));
		let r = await post(w.srv, mj, url, { csrf: mcsrf, org: ids.demo, decision: 'approve' });
		let code = locationParams(r.headers.location).code;
		assert.equal(await psql(w.cluster.url, `SELECT g.scope FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id
			WHERE c.code_hash = decode('${sha256hex(code)}', 'hex') AND g.org_id = '${ids.demo}'`), 'read write', 'member → write at most');
		r = await post(w.srv, mj, url, { csrf: mcsrf, org: ids.second, decision: 'approve' });
		code = locationParams(r.headers.location).code;
		assert.equal(await psql(w.cluster.url, `SELECT g.scope FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id
			WHERE c.code_hash = decode('${sha256hex(code)}', 'hex') AND g.org_id = '${ids.second}'`), 'read write admin');
		const outsider = await psql(w.cluster.url, "INSERT INTO orgs (slug, name) VALUES ('third', 'Third') RETURNING id");
		r = await post(w.srv, mj, url, { csrf: mcsrf, org: outsider.split('\n')[0], decision: 'approve' });
		assert.equal(r.status, 400);
		assert.equal(r.headers.location, undefined);
	});
});
