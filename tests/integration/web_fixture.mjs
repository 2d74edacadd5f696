// web_fixture.mjs: what the web_* tests share: a cupd with the demo data,
// a cookie jar, sign-in, form posts, OAuth clients and PKCE pairs.
// Everything talks to 127.0.0.1 only.

import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { request, runCli, startCluster, startCupd } from './lib/harness.mjs';

export const DEMO_EMAIL = 'demo@example.com';

/** A fresh key-encryption key: cupd issues OAuth tokens only with one. */
export const KEK = randomBytes(32).toString('hex');

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const sha256hex = (s) => createHash('sha256').update(s).digest('hex');

/** The CSRF token cupd derives from a session cookie (server/session.h). */
export const csrfOf = (cookie) => b64url(createHmac('sha256', cookie).update('csrf').digest());

/** A PKCE pair (RFC 7636, S256). */
export function pkce() {
	const verifier = b64url(randomBytes(32));
	return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

/** Starts a cluster, migrates, seeds the demo org and starts cupd. */
export async function startWeb({ env = {}, workers = 2 } = {}) {
	const cluster = await startCluster();
	const dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-web-'));
	const pwFile = path.join(dir, 'demo.pw');
	const cliEnv = { DATABASE_URL: cluster.url, CUPD_KEY_ENCRYPTION_KEY: KEK };
	let r = await runCli(['migrate'], { env: cliEnv });
	if (r.code !== 0)
		throw new Error(`cupd migrate failed: ${r.stderr}`);
	r = await runCli(['seed-demo', '--password-file', pwFile], { env: cliEnv });
	if (r.code !== 0)
		throw new Error(`cupd seed-demo failed: ${r.stderr}`);
	const password = (await readFile(pwFile, 'utf8')).trim();
	const srv = await startCupd({ cluster, workers, env: { CUPD_KEY_ENCRYPTION_KEY: KEK, ...env } });
	return { cluster, srv, password, cliEnv };
}

/** Stops srv with SIGTERM and asserts a clean exit without any sanitizer
 *  report (an ASan build reports leaks only at a clean exit). */
export async function stopClean(srv) {
	const r = await srv.stop('SIGTERM');
	const err = srv.stderr();
	assert.doesNotMatch(err, /Sanitizer|runtime error:/, `sanitizer report:\n${err.slice(-4000)}`);
	assert.equal(r.code, 0, `cupd exit ${r.code} (${r.signal}); stderr:\n${err.slice(-2000)}`);
}

/** Adds a user (password on stdin) to org with role. */
export async function addUser(cliEnv, { email, org = 'demo', role = 'member', password }) {
	const r = await runCli(['user', 'add', '--email', email, '--org', org, '--role', role],
		{ env: cliEnv, stdin: `${password}\n` });
	if (r.code !== 0)
		throw new Error(`cupd user add failed: ${r.stderr}`);
}

/** Registers a public OAuth client through dynamic client registration
 *  (POST /oauth/register, RFC 7591); returns its client_id. */
export async function addClient(srv, { name = 'Test App', redirects } = {}) {
	const body = JSON.stringify({
		client_name: name, redirect_uris: redirects, token_endpoint_auth_method: 'none',
		grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
	});
	const r = await request({ port: srv.port, method: 'POST', path: '/oauth/register', body,
		headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
	if (r.status !== 201)
		throw new Error(`POST /oauth/register answered ${r.status}: ${r.body}`);
	return r.json.client_id;
}

/** Cookies by name, fed from Set-Cookie headers. */
export class Jar {
	constructor() { this.c = new Map(); }
	take(res) {
		for (const line of [].concat(res.headers['set-cookie'] ?? [])) {
			const [pair, ...attrs] = line.split(';').map((s) => s.trim());
			const i = pair.indexOf('=');
			const name = pair.slice(0, i), value = pair.slice(i + 1);
			const maxAge = attrs.find((a) => /^max-age=/i.test(a));
			if (!value || (maxAge && Number(maxAge.split('=')[1]) <= 0))
				this.c.delete(name);
			else
				this.c.set(name, value);
		}
		return res;
	}
	get(name) { return this.c.get(name); }
	header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; '); }
}

export const form = (o) => new URLSearchParams(o).toString();

/** GET with the jar's cookies. */
export async function get(srv, jar, p, headers = {}) {
	const h = { ...headers };
	if (jar && jar.header())
		h.cookie = jar.header();
	const r = await request({ port: srv.port, path: p, headers: h });
	return jar ? jar.take(r) : r;
}

/** POST a form with the jar's cookies. */
export async function post(srv, jar, p, fields, headers = {}) {
	const body = typeof fields === 'string' ? fields : form(fields);
	const h = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers };
	if (jar && jar.header())
		h.cookie = jar.header();
	const r = await request({ port: srv.port, method: 'POST', path: p, headers: h, body });
	return jar ? jar.take(r) : r;
}

/** The value of hidden input name in html. */
export function hidden(html, name) {
	const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
	return m ? m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>') : undefined;
}

/** Signs in through the real form; returns the POST /login response. */
export async function login(srv, jar, email, password, next) {
	const page = await get(srv, jar, '/login');
	const csrf = hidden(page.body, 'csrf');
	const fields = { csrf, email, password };
	if (next !== undefined)
		fields.next = next;
	return post(srv, jar, '/login', fields);
}

/** An authorization request URL (path + query) from params (arrays repeat). */
export function authorizeUrl(params, p = '/oauth/authorize') {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		for (const one of [].concat(v))
			if (one !== undefined)
				q.append(k, one);
	return `${p}?${q}`;
}

/** Query parameters of a Location header. */
export function locationParams(loc) {
	return Object.fromEntries(new URL(loc, 'http://x').searchParams);
}
