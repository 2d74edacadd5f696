// web_login.test.mjs: sign-in, sign-out and browser sessions (issue 6
// "Sign in / sign out", issue 4 "login page"; REQUIREMENTS C33, C34, C36;
// DESIGN §2 session row).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cleanup, psql, startCupd } from './lib/harness.mjs';
import {
	DEMO_EMAIL, KEK, Jar, addUser, csrfOf, get, hidden, login, post, sha256hex, startWeb, stopClean,
} from './web_fixture.mjs';

let w;
// Many failed sign-ins below come from 127.0.0.1: a per-IP budget that
// does not get in the way (the rate-limit test runs its own cupd).
before(async () => { w = await startWeb({ env: { CUPD_RATE_IP_PER_MIN: '1000' } }); });
after(async () => {
	if (w)
		await stopClean(w.srv);
	await cleanup();
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('GET /login', () => {
	test('shows Email, Password and Sign in, framing refused, login CSRF cookie set (C33, C36)', async () => {
		const jar = new Jar();
		const r = await get(w.srv, jar, '/login?next=%2Fsettings%2Fcredentials');
		assert.equal(r.status, 200);
		assert.match(r.headers['content-type'], /^text\/html/);
		assert.match(r.body, /<label for="email">Email<\/label>/);
		assert.match(r.body, /<label for="password">Password<\/label>/);
		assert.match(r.body, /<button type="submit"[^>]*>Sign in<\/button>/);
		assert.equal(r.headers['x-frame-options'], 'DENY');
		assert.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
		assert.match(r.headers['content-security-policy'], /script-src 'self'/);
		assert.equal(r.headers['cache-control'], 'no-store');
		assert.equal(r.headers['referrer-policy'], 'no-referrer');
		assert.equal(r.headers['access-control-allow-origin'], undefined);
		const set = [].concat(r.headers['set-cookie']).find((c) => c.startsWith('cupd_login_csrf='));
		assert.ok(set, 'login CSRF cookie');
		assert.match(set, /HttpOnly/);
		assert.match(set, /SameSite=Lax/);
		assert.doesNotMatch(set, /Secure/, 'plain http on 127.0.0.1: no Secure');
		assert.equal(hidden(r.body, 'csrf'), jar.get('cupd_login_csrf'));
		assert.doesNotMatch(r.body, /<script>|style=/, 'no inline script or style');
	});

	test('assets are served from /assets/ with their types', async () => {
		const css = await get(w.srv, null, '/assets/app.css');
		assert.equal(css.status, 200);
		assert.match(css.headers['content-type'], /^text\/css/);
		assert.match(css.body, /font-family: system-ui/);
		const js = await get(w.srv, null, '/assets/app.js');
		assert.equal(js.status, 200);
		assert.match(js.headers['content-type'], /^text\/javascript/);
		const again = await get(w.srv, null, '/assets/app.js', { 'if-none-match': js.headers.etag });
		assert.equal(again.status, 304);
		assert.equal((await get(w.srv, null, '/assets/nope.js')).status, 404);
	});
});

describe('POST /login', () => {
	test('login CSRF: missing, wrong or cookie-less token → 403 and no session', async () => {
		const jar = new Jar();
		const page = await get(w.srv, jar, '/login');
		const csrf = hidden(page.body, 'csrf');
		const base = { email: DEMO_EMAIL, password: w.password };
		let r = await post(w.srv, jar, '/login', base);
		assert.equal(r.status, 403, 'missing token');
		r = await post(w.srv, jar, '/login', { ...base, csrf: csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) });
		assert.equal(r.status, 403, 'wrong token');
		r = await post(w.srv, new Jar(), '/login', { ...base, csrf });
		assert.equal(r.status, 403, 'token without its cookie');
		assert.equal(jar.get('cupd_session'), undefined);
		assert.match(r.body, /Sign-in form expired/);
	});

	test('success: 303 to next, session cookie, hashed session + CSRF rows, login.success audited', async () => {
		const jar = new Jar();
		const t0 = performance.now();
		const r = await login(w.srv, jar, DEMO_EMAIL, w.password, '/settings/credentials?tab=tokens');
		const ms = performance.now() - t0;
		assert.equal(r.status, 303);
		assert.equal(r.headers.location, '/settings/credentials?tab=tokens');
		const set = [].concat(r.headers['set-cookie']).find((c) => c.startsWith('cupd_session='));
		assert.match(set, /HttpOnly/);
		assert.match(set, /SameSite=Lax/);
		assert.match(set, /Path=\//);
		const cookie = jar.get('cupd_session');
		assert.match(cookie, /^[A-Za-z0-9_-]{43}$/);
		const row = await psql(w.cluster.url,
			`SELECT encode(csrf_token_hash, 'hex'), expires_at - created_at, idle_expires_at - created_at < interval '13 hours'
			   FROM sessions WHERE token_hash = decode('${sha256hex(cookie)}', 'hex') AND revoked_at IS NULL`);
		const [csrfHash, absolute, idleOk] = row.split('|');
		assert.equal(csrfHash, sha256hex(csrfOf(cookie)), 'CSRF token = base64url(HMAC(cookie, "csrf")), stored hashed');
		assert.equal(absolute, '7 days', 'absolute timeout default');
		assert.equal(idleOk, 't', 'idle timeout default 12 h');
		const audit = await psql(w.cluster.url,
			"SELECT count(*) FROM audit_events WHERE action = 'login.success' AND actor_kind = 'user'");
		assert.ok(Number(audit) >= 1);
		// Signed in: /login goes straight on to next.
		const again = await get(w.srv, jar, '/login?next=%2Fsomewhere');
		assert.equal(again.status, 303);
		assert.equal(again.headers.location, '/somewhere');
		console.log(`sign-in round trip (argon2id on the work pool): ${ms.toFixed(1)} ms`);
	});

	test('failure: same form with a neutral error, login.failure audited with the email and never the password', async () => {
		const jar = new Jar();
		const wrong = 'not-the-password-Zq81';
		const r = await login(w.srv, jar, DEMO_EMAIL, wrong);
		assert.equal(r.status, 200);
		assert.match(r.body, /Incorrect email or password\./);
		assert.match(r.body, /value="demo@example.com"/);
		assert.equal(jar.get('cupd_session'), undefined);
		const u = await login(w.srv, jar, 'nobody@example.com', wrong);
		assert.match(u.body, /Incorrect email or password\./, 'unknown email: the same message');
		const rows = await psql(w.cluster.url,
			"SELECT metadata->>'email' || ':' || (metadata->>'reason') FROM audit_events WHERE action = 'login.failure' ORDER BY id");
		assert.ok(rows.split('\n').includes('demo@example.com:bad_password'), rows);
		assert.ok(rows.split('\n').includes('nobody@example.com:unknown_email'), rows);
		const leaked = await psql(w.cluster.url,
			`SELECT count(*) FROM audit_events WHERE metadata::text LIKE '%${wrong}%' OR coalesce(user_agent, '') LIKE '%${wrong}%'`);
		assert.equal(leaked, '0');
	});

	test('a failed sign-in takes as long for an unknown email as for a known one (dummy hash)', async () => {
		// Its own known user: the demo user's per-email budget stays for the tests below.
		await addUser(w.cliEnv, { email: 'timing@example.com', password: 'timing-password-1' });
		// Interleaved samples; the minimum is the intrinsic cost (other work on
		// this machine only ever adds time).
		const known = [], unknown = [];
		for (let i = 0; i < 5; i++) { // 5: the per-email budget
			for (const [email, into] of [['timing@example.com', known], [`ghost${i}@example.com`, unknown]]) {
				const jar = new Jar();
				const page = await get(w.srv, jar, '/login');
				const t0 = performance.now();
				const r = await post(w.srv, jar, '/login', { csrf: hidden(page.body, 'csrf'), email, password: `wrong-${i}` });
				into.push(performance.now() - t0);
				assert.equal(r.status, 200);
			}
		}
		const k = Math.min(...known), u = Math.min(...unknown);
		console.log(`failed sign-in, fastest of 5: known email ${k.toFixed(1)} ms, unknown email ${u.toFixed(1)} ms ` +
			`(medians ${median(known).toFixed(1)} / ${median(unknown).toFixed(1)} ms)`);
		assert.ok(u > 10, 'an unknown email still pays for an argon2id verification');
		// Without the dummy hash an unknown email would cost ~1 ms against 20+.
		assert.ok(u / k > 0.4 && u / k < 2.5, `known ${k} ms vs unknown ${u} ms`);
	});
});

describe('next (open-redirect defence)', () => {
	test('only same-site relative paths are followed', async () => {
		const jar = new Jar();
		assert.equal((await login(w.srv, jar, DEMO_EMAIL, w.password, 'https://evil.example/x')).headers.location,
			'/settings/credentials');
		for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)',
			'/%0d%0aSet-Cookie:x', '/\r\nSet-Cookie: x=1', ' /x', 'evil.example']) {
			const r = await get(w.srv, jar, `/login?next=${encodeURIComponent(bad)}`);
			assert.equal(r.status, 303, bad);
			assert.equal(r.headers.location, bad === '/%0d%0aSet-Cookie:x' ? bad : '/settings/credentials', bad);
		}
	});
});

describe('sessions', () => {
	test('POST /logout needs the session CSRF token, then revokes the session and clears the cookie', async () => {
		const jar = new Jar();
		await login(w.srv, jar, DEMO_EMAIL, w.password);
		const cookie = jar.get('cupd_session');
		let r = await post(w.srv, jar, '/logout', {});
		assert.equal(r.status, 403, 'no token');
		r = await post(w.srv, jar, '/logout', { csrf: 'x'.repeat(43) });
		assert.equal(r.status, 403, 'wrong token');
		assert.equal((await get(w.srv, jar, '/login')).status, 303, 'still signed in');
		r = await post(w.srv, jar, '/logout', { csrf: csrfOf(cookie) });
		assert.equal(r.status, 303);
		assert.equal(r.headers.location, '/login');
		assert.match([].concat(r.headers['set-cookie']).join('\n'), /cupd_session=; Path=\/; Max-Age=0/);
		const revoked = await psql(w.cluster.url,
			`SELECT revoked_at IS NOT NULL FROM sessions WHERE token_hash = decode('${sha256hex(cookie)}', 'hex')`);
		assert.equal(revoked, 't');
		const stale = new Jar();
		stale.c.set('cupd_session', cookie);
		assert.equal((await get(w.srv, stale, '/login')).status, 200, 'the old cookie signs nobody in');
		assert.ok(Number(await psql(w.cluster.url, "SELECT count(*) FROM audit_events WHERE action = 'logout'")) >= 1);
	});

	test('idle and absolute timeouts end a session; use pushes the idle expiry forward', async () => {
		const jar = new Jar();
		await login(w.srv, jar, DEMO_EMAIL, w.password);
		const h = sha256hex(jar.get('cupd_session'));
		const where = `token_hash = decode('${h}', 'hex')`;
		await psql(w.cluster.url, `UPDATE sessions SET last_seen_at = now() - interval '2 minutes',
			idle_expires_at = now() + interval '1 minute' WHERE ${where}`);
		assert.equal((await get(w.srv, jar, '/login')).status, 303);
		const pushed = await psql(w.cluster.url,
			`SELECT idle_expires_at > now() + interval '11 hours' FROM sessions WHERE ${where}`);
		assert.equal(pushed, 't', 'idle expiry pushed forward on use');
		await psql(w.cluster.url, `UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE ${where}`);
		assert.equal((await get(w.srv, jar, '/login')).status, 200, 'idle timeout');
		await psql(w.cluster.url, `UPDATE sessions SET idle_expires_at = now() + interval '1 hour',
			expires_at = now() + interval '1 hour' WHERE ${where}`);
		assert.equal((await get(w.srv, jar, '/login')).status, 303, 'alive again');
		await psql(w.cluster.url, `UPDATE sessions SET idle_expires_at = now() - interval '2 seconds',
			expires_at = now() - interval '1 second' WHERE ${where}`);
		assert.equal((await get(w.srv, jar, '/login')).status, 200, 'absolute timeout');
		await psql(w.cluster.url, `UPDATE sessions SET created_at = now() - interval '9 days',
			idle_expires_at = now() - interval '2 days', expires_at = now() - interval '2 days' WHERE ${where}`);
		await login(w.srv, new Jar(), DEMO_EMAIL, w.password);
		assert.equal(await psql(w.cluster.url, `SELECT count(*) FROM sessions WHERE ${where}`), '0',
			'long-dead sessions are deleted at the next sign-in');
	});
});

describe('rate limits', () => {
	test('failed sign-ins are limited per email and per IP (429 page)', async () => {
		// A second cupd with a small per-IP budget; the limits are per instance.
		const srv = await startCupd({ cluster: w.cluster, env: { CUPD_KEY_ENCRYPTION_KEY: KEK, CUPD_RATE_IP_PER_MIN: '9' } });
		// Budgets are per wall-clock minute: start early in one.
		if (new Date().getSeconds() > 45)
			await new Promise((r) => setTimeout(r, (61 - new Date().getSeconds()) * 1000));
		const attempt = async (email, password) => {
			const jar = new Jar();
			return login(srv, jar, email, password);
		};
		for (let i = 0; i < 5; i++)
			assert.equal((await attempt(DEMO_EMAIL, `wrong-${i}`)).status, 200);
		let r = await attempt(DEMO_EMAIL, w.password);
		assert.equal(r.status, 429, 'the email is locked, even with the right password');
		assert.match(r.headers['content-type'], /^text\/html/);
		assert.match(r.body, /Too many attempts/);
		assert.ok(Number(r.headers['retry-after']) > 0);
		for (let i = 0; i < 4; i++)
			assert.equal((await attempt(`other${i}@example.com`, 'wrong-password')).status, 200);
		r = await attempt('fresh@example.com', 'wrong-password');
		assert.equal(r.status, 429, 'the IP used up its 9 failures');
		await stopClean(srv);
	});
});
