// oauth_sdk_flow.test.mjs: a person connects an MCP client to cupd, end to
// end. The official MCP TypeScript SDK client's auth() does discovery →
// dynamic registration → authorization; Playwright drives Debian's Chromium
// through sign-in and the consent page ("Approve"); a small HTTP server on
// 127.0.0.1 stands in for the client's loopback redirect URI; auth() then
// trades the code for tokens and refreshes them.
// Issue 4 "End-to-end"; REQUIREMENTS B2, B19, B25, B31, B38, B40, B42, C8,
// C13, C24, C32-C35, D2.
//
// Every request goes to 127.0.0.1: the browser refuses any other host.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { chromium } from 'playwright-core';

import { SOURCE_DIR, cleanup, runCli, startCluster, startCupd } from '../integration/lib/harness.mjs';

const CHROMIUM = process.env.CUPD_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(SOURCE_DIR, 'tests', 'artifacts');
const STEP_MS = 15000;

/** Rejects after ms with what: every await on the network is bounded. */
function bounded(promise, ms, what) {
	let timer;
	return Promise.race([
		promise.finally(() => clearTimeout(timer)),
		new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms); }),
	]);
}

/** The loopback redirect target: records each callback's query. */
async function startCallbackServer() {
	const hits = [];
	let notify = null;
	const server = http.createServer((req, res) => {
		const url = new URL(req.url, 'http://127.0.0.1');
		if (url.pathname === '/callback') {
			hits.push(Object.fromEntries(url.searchParams));
			notify?.();
		}
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end('<!doctype html><title>Connected</title><p>You can close this window.</p>');
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${server.address().port}/callback`,
		hits,
		next: (ms) => (hits.length ? Promise.resolve(hits[0])
			: bounded(new Promise((resolve) => { notify = () => resolve(hits[0]); }), ms, 'the redirect to the client')),
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

/** An OAuthClientProvider that keeps everything in memory and hands the
 *  authorization URL to the test instead of opening a browser itself. */
class MemoryProvider {
	constructor(redirectUrl) {
		this._redirect = redirectUrl;
		this._state = randomBytes(16).toString('base64url');
		this.client = undefined;
		this.saved = undefined;
		this.verifier = undefined;
		this.discovery = undefined;
		this.authorizationUrl = undefined;
		this.tokenHistory = [];
	}
	get redirectUrl() { return this._redirect; }
	get clientMetadata() {
		return {
			client_name: 'cupd e2e (MCP SDK client)',
			redirect_uris: [this._redirect],
			grant_types: ['authorization_code', 'refresh_token'],
			response_types: ['code'],
			token_endpoint_auth_method: 'none',
		};
	}
	state() { return this._state; }
	clientInformation() { return this.client; }
	saveClientInformation(info) { this.client = info; }
	tokens() { return this.saved; }
	saveTokens(t) { this.saved = t; this.tokenHistory.push(t); }
	redirectToAuthorization(url) { this.authorizationUrl = url; }
	saveCodeVerifier(v) { this.verifier = v; }
	codeVerifier() { return this.verifier; }
	saveDiscoveryState(s) { this.discovery = s; }
	discoveryState() { return this.discovery; }
}

const jwtPayload = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString('utf8'));

let srv, password, userDataDir;

before(async () => {
	const kek = randomBytes(32).toString('hex');
	const cluster = await startCluster();
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-e2e-'));
	const pwFile = path.join(dir, 'demo.pw');
	const env = { DATABASE_URL: cluster.url, CUPD_KEY_ENCRYPTION_KEY: kek };
	let r = await runCli(['migrate'], { env });
	assert.equal(r.code, 0, r.stderr);
	r = await runCli(['seed-demo', '--password-file', pwFile], { env });
	assert.equal(r.code, 0, r.stderr);
	password = (await readFile(pwFile, 'utf8')).trim();
	srv = await startCupd({ cluster, env: { CUPD_KEY_ENCRYPTION_KEY: kek } });
	userDataDir = await mkdtemp(path.join(os.tmpdir(), 'cupd-e2e-chromium-'));
	await mkdir(ARTIFACTS, { recursive: true });
});

after(async () => {
	if (userDataDir)
		await rm(userDataDir, { recursive: true, force: true });
	if (srv) {
		// A clean SIGTERM exit, so a sanitizer build would report leaks.
		const r = await srv.stop('SIGTERM');
		assert.doesNotMatch(srv.stderr(), /Sanitizer|runtime error:/);
		assert.equal(r.code, 0);
	}
	await cleanup();
});

test('MCP SDK auth(): discovery → registration → sign-in + Approve in Chromium → code → tokens → refresh',
	{ timeout: 180000 }, async () => {
		const callback = await startCallbackServer();
		const serverUrl = `${srv.base}/mcp`;
		const provider = new MemoryProvider(callback.url);
		let context;
		try {
			// 1. Discovery and dynamic registration, then the authorization URL.
			const first = await bounded(auth(provider, { serverUrl }), STEP_MS, 'auth() discovery + registration');
			assert.equal(first, 'REDIRECT');
			assert.match(provider.client?.client_id ?? '', /\S/, 'registered a client');
			assert.equal(provider.discovery?.authorizationServerUrl.replace(/\/$/, ''), srv.base);
			const az = provider.authorizationUrl;
			assert.ok(az, 'the SDK asked to open the authorization URL');
			assert.equal(`${az.origin}${az.pathname}`, `${srv.base}/oauth/authorize`);
			assert.equal(az.searchParams.get('response_type'), 'code');
			assert.equal(az.searchParams.get('code_challenge_method'), 'S256');
			assert.equal(az.searchParams.get('client_id'), provider.client.client_id);
			assert.equal(az.searchParams.get('redirect_uri'), callback.url);
			assert.equal(az.searchParams.get('resource'), serverUrl);
			assert.equal(az.searchParams.get('state'), provider.state());

			// 2. The person: Chromium signs in and approves.
			context = await chromium.launchPersistentContext(userDataDir, {
				executablePath: CHROMIUM,
				headless: true,
				args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
					'--disable-background-networking', '--disable-component-update', '--disable-sync'],
				timeout: STEP_MS,
				viewport: { width: 1100, height: 900 },
			});
			context.setDefaultTimeout(STEP_MS);
			context.setDefaultNavigationTimeout(STEP_MS);
			await context.route('**/*', (route) => {
				const host = new URL(route.request().url()).hostname;
				return host === '127.0.0.1' ? route.continue() : route.abort();
			});
			const page = context.pages()[0] ?? await context.newPage();
			const cspViolations = [];
			page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

			await page.goto(az.href);
			assert.equal(new URL(page.url()).pathname, '/login', 'signed out: the sign-in page first');
			await page.getByRole('heading', { name: 'Sign in' }).waitFor();
			await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-login.png'), fullPage: true });
			await page.getByLabel('Email').fill('demo@example.com');
			await page.getByLabel('Password').fill(password);
			await page.getByRole('button', { name: 'Sign in' }).click();

			const approve = page.getByRole('button', { name: 'Approve', exact: true });
			await approve.waitFor();
			assert.equal(new URL(page.url()).pathname, '/oauth/authorize', 'back at the consent page');
			await page.getByRole('button', { name: 'Deny', exact: true }).waitFor();
			const text = await page.locator('main').innerText();
			assert.match(text, /cupd e2e \(MCP SDK client\) wants to access your CheckUpstream account/);
			assert.match(text, /Unverified/);
			assert.match(text, /127\.0\.0\.1/);
			await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-consent.png'), fullPage: true });
			await approve.click();

			// 3. The redirect reaches the client's loopback server.
			const cb = await callback.next(STEP_MS);
			assert.match(cb.code ?? '', /^[A-Za-z0-9_-]{43}$/, JSON.stringify(cb));
			assert.equal(cb.state, provider.state());
			assert.equal(cb.iss, srv.base);
			assert.deepEqual(cspViolations, [], 'no Content Security Policy violations');

			// 4. auth() with the code: tokens.
			const second = await bounded(auth(provider, { serverUrl, authorizationCode: cb.code }), STEP_MS,
				'auth() code exchange');
			assert.equal(second, 'AUTHORIZED');
			const t1 = provider.tokens();
			assert.equal(t1.token_type.toLowerCase(), 'bearer');
			assert.ok(t1.access_token && t1.refresh_token, 'access and refresh token');
			assert.ok(t1.expires_in > 0);
			const claims = jwtPayload(t1.access_token);
			assert.equal(claims.iss, srv.base);
			assert.deepEqual([].concat(claims.aud), [serverUrl]);
			assert.equal(claims.client_id, provider.client.client_id);

			// 5. auth() again with a refresh token in store: the SDK's refresh path.
			const third = await bounded(auth(provider, { serverUrl }), STEP_MS, 'auth() refresh');
			assert.equal(third, 'AUTHORIZED');
			const t2 = provider.tokens();
			assert.notEqual(t2.access_token, t1.access_token, 'a new access token');
			assert.ok(t2.refresh_token && t2.refresh_token !== t1.refresh_token, 'the refresh token rotated');
			assert.equal(jwtPayload(t2.access_token).gid, claims.gid, 'same grant (AI Connection)');
			assert.equal(provider.tokenHistory.length, 2);
		} finally {
			await context?.close().catch(() => {});
			await callback.close();
		}
	});
