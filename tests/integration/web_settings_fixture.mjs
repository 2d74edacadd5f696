// web_settings_fixture.mjs: what the web_settings_*.test.mjs files share
// (not a test itself): a cupd with the demo org (owner demo@example.com),
// a member of it, a second org "other" with its own owner and objects, API
// Tokens from the CLI for checking through the REST API what the pages
// changed, and helpers to read pages and post their forms. Built on
// web_fixture.mjs; everything talks to 127.0.0.1 only.
import assert from 'node:assert/strict';

import { psql, request, runCli } from './lib/harness.mjs';
import {
	DEMO_EMAIL, Jar, addClient, addUser, authorizeUrl, get, hidden, locationParams, login, pkce, post, startWeb,
} from './web_fixture.mjs';

export { DEMO_EMAIL, Jar, get, hidden, post };

export const MEMBER_EMAIL = 'member@example.com';
export const MEMBER_PASSWORD = 'member password 4711';
export const EVE_EMAIL = 'eve@example.com';
export const EVE_PASSWORD = 'eve password 0815';

/** HTML entity decoding for the few entities pages_escape writes. */
export const unescape = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
	.replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The <main> of a page (the top bar's sign-out form is outside it). */
export const mainOf = (html) => {
	const m = /<main[^>]*>([\s\S]*)<\/main>/.exec(html);
	return m ? m[1] : '';
};

/** Every POST form's action in html's main, decoded. */
export const postForms = (html) => [...mainOf(html).matchAll(/<form method="post" action="([^"]*)"/g)]
	.map((m) => unescape(m[1]));

export class Settings {
	static async start() {
		const s = new Settings();
		s.w = await startWeb({ env: {
			CUPD_USAGE_FLUSH_MS: '100', CUPD_RATE_IP_PER_MIN: '100000', CUPD_RATE_API_TOKEN_PER_MIN: '100000',
			CUPD_ACCESS_LOG: 'off',
		} });
		s.srv = s.w.srv;
		await addUser(s.w.cliEnv, { email: MEMBER_EMAIL, role: 'member', password: MEMBER_PASSWORD });
		await s.cli(['org', 'add', '--slug', 'other', '--name', 'Other Org']);
		await addUser(s.w.cliEnv, { email: EVE_EMAIL, org: 'other', role: 'owner', password: EVE_PASSWORD });
		s.admin = await s.mint('demo', DEMO_EMAIL, 'admin');
		s.eve = await s.mint('other', EVE_EMAIL, 'admin');
		s.ids = {
			demoUser: await s.sql(`SELECT id FROM users WHERE email = '${DEMO_EMAIL}'`),
			member: await s.sql(`SELECT id FROM users WHERE email = '${MEMBER_EMAIL}'`),
			eve: await s.sql(`SELECT id FROM users WHERE email = '${EVE_EMAIL}'`),
		};
		return s;
	}

	async cli(args, stdin) {
		const r = await runCli(args, { env: this.w.cliEnv, stdin });
		assert.equal(r.code, 0, `cupd ${args.join(' ')}: ${r.stderr}`);
		return r;
	}

	async mint(org, email, scope, name = 'cli') {
		const r = await this.cli(['token', 'create', '--org', org, '--user', email, '--name', name, '--scopes', scope]);
		return r.stdout.trim();
	}

	sql(text) {
		return psql(this.w.cluster.url, text);
	}

	/** A signed-in cookie jar for email. */
	async signIn(email = DEMO_EMAIL, password = this.w.password) {
		const jar = new Jar();
		const r = await login(this.srv, jar, email, password);
		assert.equal(r.status, 303, `sign-in of ${email}: ${r.status}`);
		return jar;
	}

	/** One REST (or ingest, or MCP) request with a bearer credential. */
	async api(token, method, p, body, headers = {}) {
		const h = { ...headers };
		if (token)
			h.authorization = `Bearer ${token}`;
		let payload;
		if (body !== undefined) {
			h['content-type'] = 'application/json';
			payload = JSON.stringify(body);
		}
		return request({ port: this.srv.port, method, path: p, headers: h, body: payload, timeoutMs: 10000 });
	}

	/** GET p as jar: must answer 200 HTML; returns the response. */
	async page(jar, p, status = 200) {
		const r = await get(this.srv, jar, p);
		assert.equal(r.status, status, `GET ${p}: ${r.status}\n${mainOf(r.body).slice(0, 600)}`);
		assert.match(r.headers['content-type'] ?? '', /^text\/html/);
		return r;
	}

	/** Posts the form of page html whose action is action, adding fields. */
	async submit(jar, html, action, fields = {}) {
		const forms = [...html.matchAll(/<form method="post" action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
		const f = forms.find((m) => unescape(m[1]) === action);
		assert.ok(f, `no form posting to ${action}; forms: ${forms.map((m) => m[1]).join(', ')}`);
		const body = {};
		for (const m of f[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
			body[m[1]] = unescape(m[2]);
		return post(this.srv, jar, action, { ...body, ...fields });
	}

	/** An AI Connection made the real way: register a client (DCR) unless
	 *  clientId is given (a second device of one client), approve it on the
	 *  consent page as jar (with userAgent), redeem the code.
	 *  Returns { clientId, accessToken, gid }. */
	async connect(jar, { name, clientId,
		userAgent = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36' } = {}) {
		const cb = 'http://127.0.0.1:9/callback';
		clientId ??= await addClient(this.srv, { name, redirects: [cb] });
		const { verifier, challenge } = pkce();
		const url = authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: cb, code_challenge: challenge,
			code_challenge_method: 'S256', state: 's', scope: 'read write', resource: `${this.srv.base}/mcp` });
		const ua = { 'user-agent': userAgent };
		const consent = await get(this.srv, jar, url, ua);
		assert.equal(consent.status, 200, consent.body);
		const r = await post(this.srv, jar, url, { csrf: hidden(consent.body, 'csrf'), org: hidden(consent.body, 'org'),
			decision: 'approve' }, ua);
		assert.equal(r.status, 303, r.body);
		const code = locationParams(r.headers.location).code;
		const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: cb, client_id: clientId,
			code_verifier: verifier, resource: `${this.srv.base}/mcp` }).toString();
		const t = await request({ port: this.srv.port, method: 'POST', path: '/oauth/token', body, headers: {
			'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } });
		assert.equal(t.status, 200, t.body);
		const gid = JSON.parse(Buffer.from(t.json.access_token.split('.')[1], 'base64url').toString()).gid;
		return { clientId, accessToken: t.json.access_token, gid };
	}

	/** POST /mcp initialize with an access token; returns the status. */
	async mcpInit(accessToken) {
		const r = await this.api(accessToken, 'POST', '/mcp', { jsonrpc: '2.0', id: 1, method: 'initialize', params: {
			protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
		{ accept: 'application/json, text/event-stream' });
		return r.status;
	}
}

/** Structure every settings page must have: one h1, headings in order
 *  (no level skipped), a label for every visible input, escaped output. */
export function assertPageShape(html, what) {
	const main = mainOf(html);
	assert.equal((html.match(/<h1[\s>]/g) ?? []).length, 1, `${what}: exactly one h1`);
	let level = 0;
	for (const m of html.matchAll(/<h([1-6])[\s>]/g)) {
		const l = Number(m[1]);
		assert.ok(l <= level + 1, `${what}: heading h${l} after h${level}`);
		level = l;
	}
	for (const m of main.matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
		if (/type="hidden"/.test(m[2]))
			continue;
		const id = /\sid="([^"]+)"/.exec(m[2])?.[1];
		assert.ok((id && new RegExp(`<label[^>]*for="${id}"`).test(main)) || /aria-label="/.test(m[2]),
			`${what}: <${m[1]}${m[2]}> has a label`);
	}
	assert.match(html, /<a class="skip" href="#main">/, `${what}: skip link`);
	assert.doesNotMatch(main, /<script|style=/, `${what}: no inline script or style`);
}
