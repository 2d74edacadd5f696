// oauth_cimd.test.mjs: Client ID Metadata Documents (REQUIREMENTS B26-B30,
// D9, D14, E5, E22): a client_id that is an https URL is fetched, checked,
// cached and then behaves like a registered client on the authorize and the
// token leg; pinned documents are used without any fetch.
//
// The document server is a node:https server on 127.0.0.1 with a throwaway
// CA and leaf certificate made here by the openssl command. cupd trusts the
// CA through CUPD_CIMD_CA_FILE and may fetch from loopback only because of
// CUPD_CIMD_ALLOW_INSECURE_LOOPBACK=on (tests only); a second instance
// without that setting proves loopback is refused by default (SSRF, B27).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { cleanup, psql, request, sleep, startCupd } from './lib/harness.mjs';
import {
	DEMO_EMAIL, Jar, KEK, authorizeUrl, csrfOf, get, hidden, locationParams, login, pkce, post, startWeb, stopClean,
} from './web_fixture.mjs';

const CB = 'http://127.0.0.1:9999/callback';
const TIMEOUT_MS = 1000;
const CLAUDE = 'https://claude.ai/oauth/mcp-oauth-client-metadata';
const CLAUDE_CODE = 'https://claude.ai/oauth/claude-code-client-metadata';

let w, dflt, dir, ca, docs, base, jar, djar;

/** A throwaway CA and two leaf certificates: one for 127.0.0.1/localhost,
 *  one for a name nobody asks for (certificate verification test). */
function makeCerts(d) {
	const ssl = (...args) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
	ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key',
		'-out', 'ca.pem', '-days', '2', '-subj', '/CN=cupd cimd test CA',
		'-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
	const leaf = (name, san) => {
		ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
			'-out', `${name}.csr`, '-subj', `/CN=${name}`);
		execFileSync('sh', ['-c', `printf '%s\\n' 'subjectAltName=${san}' 'basicConstraints=CA:FALSE' `
			+ `'keyUsage=digitalSignature' 'extendedKeyUsage=serverAuth' > ${name}.ext`], { cwd: d });
		ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial',
			String(Date.now() % 1000000 + name.length), '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
	};
	leaf('leaf', 'DNS:localhost,IP:127.0.0.1');
	leaf('wrong', 'DNS:wrong.invalid');
	ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'self.key',
		'-out', 'self.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
}

/**
 * The document server. routes maps a path to a handler (req, res, url);
 * hits counts requests per path. url(p) is the client_id for path p on
 * 127.0.0.1 (named: on localhost, through the resolver).
 */
async function startDocServer(key, cert) {
	const s = { routes: new Map(), hits: new Map(), sockets: new Set() };
	s.server = https.createServer({ key, cert }, (req, res) => {
		const p = req.url;
		s.hits.set(p, (s.hits.get(p) ?? 0) + 1);
		const h = s.routes.get(p);
		if (!h) {
			res.writeHead(404, { 'content-type': 'text/plain' }).end('no such document');
			return;
		}
		h(req, res, s);
	});
	s.server.on('connection', (c) => { s.sockets.add(c); c.on('close', () => s.sockets.delete(c)); });
	await new Promise((r) => s.server.listen(0, '127.0.0.1', r));
	s.port = s.server.address().port;
	s.url = (p, named = false) => `https://${named ? 'localhost' : '127.0.0.1'}:${s.port}${p}`;
	s.hit = (p) => s.hits.get(p) ?? 0;
	s.close = () => { for (const c of s.sockets) c.destroy(); return new Promise((r) => s.server.close(r)); };
	return s;
}

/** A valid document for client_id id. */
const docFor = (id, extra = {}) => ({
	client_id: id, client_name: 'Doc App', redirect_uris: ['http://127.0.0.1/callback'],
	grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none',
	client_uri: 'https://docapp.example', ...extra,
});

/** Serves body (object → JSON) with headers at path p. */
function serve(p, body, headers = {}, status = 200) {
	docs.routes.set(p, (req, res) => {
		const text = typeof body === 'function' ? body() : typeof body === 'string' ? body : JSON.stringify(body);
		res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'max-age=300', ...headers });
		res.end(text);
	});
}

/** Serves a valid document for path p (client_id on 127.0.0.1). */
const serveDoc = (p, extra = {}, headers = {}) => serve(p, docFor(docs.url(p), extra), headers);

function params(clientId, over = {}) {
	return {
		response_type: 'code', client_id: clientId, redirect_uri: CB, code_challenge: pkce().challenge,
		code_challenge_method: 'S256', state: 'cimd-state', scope: 'read write', resource: `${base}/mcp`, ...over,
	};
}

const authorize = (clientId, over = {}, srv = w.srv, j = jar) => get(srv, j, authorizeUrl(params(clientId, over)));

/** Asserts the HTML error page that names the problem and never redirects (C2). */
function assertRefused(r, reason) {
	assert.equal(r.status, 400, r.body.slice(0, 500));
	assert.equal(r.headers.location, undefined);
	assert.match(r.headers['content-type'], /^text\/html/);
	assert.match(r.body, /could not be resolved/);
	assert.match(r.body, reason);
}

function assertConsent(r, name) {
	assert.equal(r.status, 200, r.body.slice(0, 800));
	assert.match(r.body, new RegExp(`${name} wants to access your CheckUpstream account`));
	assert.match(r.body, /Verified domain/, 'B29: a CIMD client is shown as verified (its own domain)');
	assert.match(r.body, />Approve<\/button>/);
}

const row = (id) => psql(w.cluster.url,
	`SELECT registered_via || ' ' || token_endpoint_auth_method || ' ' || coalesce(client_name, '') || ' '
	        || coalesce(extract(epoch FROM cache_until - fetched_at)::int::text, '-')
	   FROM oauth_clients WHERE client_id = '${id.replaceAll("'", "''")}'`);

before(async () => {
	dir = await mkdtemp(path.join(os.tmpdir(), 'cupd-cimd-'));
	makeCerts(dir);
	ca = path.join(dir, 'ca.pem');
	docs = await startDocServer(await readFile(path.join(dir, 'leaf.key')), await readFile(path.join(dir, 'leaf.pem')));
	const pinned = {
		[CLAUDE]: { client_name: 'Claude', client_uri: 'https://claude.ai',
			redirect_uris: ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'] },
		[CLAUDE_CODE]: { client_name: 'Claude Code', client_uri: 'https://claude.ai',
			redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'] },
		[docs.url('/pinned.json')]: { client_name: 'Pinned App', redirect_uris: ['http://127.0.0.1/callback'] },
	};
	await writeFile(path.join(dir, 'pinned.json'), JSON.stringify(pinned, null, 2));
	w = await startWeb({
		env: {
			CUPD_CIMD_ALLOW_INSECURE_LOOPBACK: 'on', CUPD_CIMD_CA_FILE: ca, CUPD_CIMD_TIMEOUT_MS: String(TIMEOUT_MS),
			CUPD_CIMD_CACHE_MIN_SECONDS: '1', CUPD_CIMD_PINNED_FILE: path.join(dir, 'pinned.json'),
			CUPD_ACCESS_LOG: 'off',
		},
	});
	base = w.srv.base;
	// The same database, default settings (no loopback, no pins), trusting the test CA.
	dflt = await startCupd({ cluster: w.cluster, env: { CUPD_KEY_ENCRYPTION_KEY: KEK, CUPD_CIMD_CA_FILE: ca,
		CUPD_ACCESS_LOG: 'off' } });
	jar = new Jar();
	assert.equal((await login(w.srv, jar, DEMO_EMAIL, w.password)).status, 303);
	djar = new Jar();
	assert.equal((await login(dflt, djar, DEMO_EMAIL, w.password)).status, 303);
});

after(async () => {
	if (dflt)
		await stopClean(dflt);
	if (w)
		await stopClean(w.srv);
	if (docs)
		await docs.close();
	await cleanup();
});

describe('discovery (B26, B29, E22)', () => {
	test('the AS metadata advertises CIMD, and "none" among the token auth methods', async () => {
		for (const p of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
			const r = await request({ port: w.srv.port, path: p });
			assert.equal(r.status, 200);
			assert.equal(r.json.client_id_metadata_document_supported, true, p);
			assert.ok(r.json.token_endpoint_auth_methods_supported.includes('none'), p);
		}
	});
});

describe('a valid document (B26, B27, B29, E5)', () => {
	test('authorize shows the client; the token leg accepts the same client_id', async () => {
		serveDoc('/valid.json');
		const id = docs.url('/valid.json');
		const { verifier, challenge } = pkce();
		const url = authorizeUrl(params(id, { code_challenge: challenge }));
		const page = await get(w.srv, jar, url);
		assertConsent(page, 'Doc App');
		assert.match(page.body, /published on <strong>127\.0\.0\.1/, 'the identifying domain is shown');
		assert.equal(docs.hit('/valid.json'), 1);
		assert.equal(await row(id), 'cimd none Doc App 300', 'stored for Cache-Control max-age=300');

		const r = await post(w.srv, jar, url, { csrf: csrfOf(jar.get('cupd_session')), org: hidden(page.body, 'org'),
			decision: 'approve' });
		assert.equal(r.status, 303, r.body);
		const q = locationParams(r.headers.location);
		assert.ok(r.headers.location.startsWith(`${CB}?code=`), 'E5: port-less loopback registration, ported request');
		const tok = await request({ port: w.srv.port, method: 'POST', path: '/oauth/token',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ grant_type: 'authorization_code', code: q.code, code_verifier: verifier,
				client_id: id, redirect_uri: CB, resource: `${base}/mcp` }).toString() });
		assert.equal(tok.status, 200, tok.body);
		assert.equal(tok.json.token_type, 'Bearer');
		assert.ok(tok.json.refresh_token, 'a public PKCE client gets a refresh token');
		const claims = JSON.parse(Buffer.from(tok.json.access_token.split('.')[1], 'base64url'));
		assert.equal(claims.client_id, id);
		const ref = await request({ port: w.srv.port, method: 'POST', path: '/oauth/token',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tok.json.refresh_token,
				client_id: id, resource: `${base}/mcp` }).toString() });
		assert.equal(ref.status, 200, ref.body);
		// A secret is refused for this public client.
		const basic = await request({ port: w.srv.port, method: 'POST', path: '/oauth/token',
			headers: { 'content-type': 'application/x-www-form-urlencoded',
				authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:secret`).toString('base64')}` },
			body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: ref.json.refresh_token }).toString() });
		assert.equal(basic.status, 401);
		assert.equal(basic.json.error, 'invalid_client');
		assert.equal(docs.hit('/valid.json'), 1, 'the cached copy served both legs: one fetch');
	});

	test('a host name is resolved (localhost) and verified against the certificate (SNI + host check)', async () => {
		const p = '/named.json';
		serve(p, docFor(docs.url(p, true), { client_name: 'Named App' }));
		assertConsent(await authorize(docs.url(p, true)), 'Named App');
		assert.equal(docs.hit(p), 1);
	});

	test('a redirect_uri the document does not list is refused without redirecting', async () => {
		serveDoc('/valid2.json');
		const r = await authorize(docs.url('/valid2.json'), { redirect_uri: 'http://127.0.0.1:9999/other' });
		assert.equal(r.status, 400);
		assert.equal(r.headers.location, undefined);
	});
});

describe('SSRF (B27)', () => {
	test('refused by default: a loopback document server is never contacted', async () => {
		serveDoc('/default.json');
		const r = await authorize(docs.url('/default.json'), {}, dflt, djar);
		assertRefused(r, /non-public address \(loopback\)/);
		assert.match(r.body, /SSRF/);
		const named = await authorize(docs.url('/default.json', true), {}, dflt, djar);
		assertRefused(named, /non-public address \(loopback\)/);
		assert.equal(docs.hit('/default.json'), 0);
		const md = await request({ port: dflt.port, path: '/.well-known/oauth-authorization-server' });
		assert.equal(md.json.client_id_metadata_document_supported, true, 'fetching works there, just not to loopback');
	});

	test('the development setting admits plain loopback only: private, link-local and mapped forms stay refused',
		async () => {
			for (const [id, reason] of [
				['https://10.0.0.1/doc.json', /non-public address \(private\)/],
				['https://192.168.1.1/doc.json', /\(private\)/],
				['https://169.254.169.254/latest/meta-data.json', /\(link-local\)/],
				['https://100.64.0.1/doc.json', /CGNAT/],
				['https://0.0.0.0/doc.json', /\(unspecified\)/],
				['https://224.0.0.1/doc.json', /\(multicast\)/],
				['https://[fd00::1]/doc.json', /\(private\)/],
				['https://[fe80::1]/doc.json', /\(link-local\)/],
				['https://[::ffff:127.0.0.1]:443/doc.json', /\(IPv4-embedded loopback\)/],
				['https://[::ffff:10.0.0.1]/doc.json', /\(IPv4-embedded private\)/],
			]) {
				const t0 = Date.now();
				assertRefused(await authorize(id), reason);
				assert.ok(Date.now() - t0 < TIMEOUT_MS, `${id}: refused before any connection`);
			}
		});

	test('only https URLs with a path are client_id documents', async () => {
		const plain = await authorize(`http://127.0.0.1:${docs.port}/valid.json`);
		assert.equal(plain.status, 400);
		assert.match(plain.body, /not registered with CheckUpstream/, 'an http URL is just an unknown client_id');
		assertRefused(await authorize(`https://127.0.0.1:${docs.port}`), /must have a path/);
		assertRefused(await authorize(`https://127.0.0.1:${docs.port}/a/../valid.json`), /path segments/);
		assertRefused(await authorize(`https://u@127.0.0.1:${docs.port}/valid.json`), /user information/);
	});

	test('a certificate that does not name the host, or that no trusted CA issued, is refused', async () => {
		for (const [name, reason] of [['wrong', /not accepted for 127\.0\.0\.1: IP address mismatch/],
			['self', /not accepted for 127\.0\.0\.1: self-signed certificate/]]) {
			const bad = await startDocServer(await readFile(path.join(dir, `${name}.key`)),
				await readFile(path.join(dir, `${name}.pem`)));
			try {
				bad.routes.set('/doc.json', (req, res) => res.writeHead(200, { 'content-type': 'application/json' })
					.end(JSON.stringify(docFor(bad.url('/doc.json')))));
				assertRefused(await authorize(bad.url('/doc.json')), reason);
				assert.equal(bad.hit('/doc.json'), 0, 'no request is sent over an unverified connection');
			} finally {
				await bad.close();
			}
		}
	});
});

describe('fetch limits and document checks (B27, B29)', () => {
	test('client_id in the document must equal the URL exactly', async () => {
		serve('/mismatch.json', docFor(`${docs.url('/mismatch.json')}?x`));
		assertRefused(await authorize(docs.url('/mismatch.json')), /client_id is not exactly the URL/);
	});

	test('a body over 5 KB is refused (Content-Length and chunked)', async () => {
		const big = JSON.stringify(docFor(docs.url('/big.json'), { padding: 'x'.repeat(6000) }));
		serve('/big.json', big);
		assertRefused(await authorize(docs.url('/big.json')), /capped at 5120 bytes/);
		docs.routes.set('/big-chunked.json', (req, res) => {
			res.writeHead(200, { 'content-type': 'application/json' });
			const body = JSON.stringify(docFor(docs.url('/big-chunked.json'), { padding: 'y'.repeat(6000) }));
			for (let i = 0; i < body.length; i += 1000)
				res.write(body.slice(i, i + 1000));
			res.end();
		});
		assertRefused(await authorize(docs.url('/big-chunked.json')), /capped at 5120 bytes/);
		// Exactly at the cap is fine.
		const id = docs.url('/cap.json');
		const empty = JSON.stringify(docFor(id, { padding: '' }));
		serve('/cap.json', JSON.stringify(docFor(id, { padding: 'z'.repeat(5120 - empty.length) })));
		assertConsent(await authorize(id), 'Doc App');
	});

	test('a slow server fails after CUPD_CIMD_TIMEOUT_MS, not later', async () => {
		docs.routes.set('/slow.json', () => { /* never answers */ });
		const t0 = Date.now();
		assertRefused(await authorize(docs.url('/slow.json')), new RegExp(`within ${TIMEOUT_MS} ms`));
		const ms = Date.now() - t0;
		assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 1500, `took ${ms} ms`);
		// Headers sent, body trickling forever: the same total limit.
		docs.routes.set('/trickle.json', (req, res) => {
			res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4000' });
			res.write('{"client_id":');
			const t = setInterval(() => res.write(' '), 100);
			res.on('close', () => clearInterval(t));
		});
		const t1 = Date.now();
		assertRefused(await authorize(docs.url('/trickle.json')), new RegExp(`within ${TIMEOUT_MS} ms`));
		assert.ok(Date.now() - t1 < TIMEOUT_MS + 1500);
	});

	test('a server that accepts TCP but never speaks TLS times out; one that speaks plain HTTP is refused',
		async () => {
			const silent = net.createServer(() => { /* accept, say nothing */ });
			const plain = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' })
				.end('{}'));
			const conns = new Set();
			for (const s of [silent, plain]) {
				s.on('connection', (c) => { conns.add(c); c.on('close', () => conns.delete(c)); });
				await new Promise((r) => s.listen(0, '127.0.0.1', r));
			}
			try {
				const t0 = Date.now();
				assertRefused(await authorize(`https://127.0.0.1:${silent.address().port}/doc.json`),
					new RegExp(`within ${TIMEOUT_MS} ms`));
				assert.ok(Date.now() - t0 < TIMEOUT_MS + 1500);
				assertRefused(await authorize(`https://127.0.0.1:${plain.address().port}/doc.json`),
					/TLS connection to 127\.0\.0\.1 failed/);
			} finally {
				for (const c of conns)
					c.destroy();
				await Promise.all([silent, plain].map((s) => new Promise((r) => s.close(r))));
			}
		});

	test('a redirect is not followed', async () => {
		serveDoc('/target.json');
		docs.routes.set('/redirect.json', (req, res) => res.writeHead(302, { location: docs.url('/target.json') }).end());
		assertRefused(await authorize(docs.url('/redirect.json')), /HTTP 302, a redirect; redirects are not followed/);
		docs.routes.set('/moved.json', (req, res) => res.writeHead(301, { location: '/target.json' }).end());
		assertRefused(await authorize(docs.url('/moved.json')), /HTTP 301/);
		assert.equal(docs.hit('/target.json'), 0);
	});

	test('non-JSON: wrong Content-Type, unparsable body, not an object; other statuses', async () => {
		serve('/html.json', docFor(docs.url('/html.json')), { 'content-type': 'text/html' });
		assertRefused(await authorize(docs.url('/html.json')), /not served as JSON/);
		serve('/broken.json', '{"client_id": ');
		assertRefused(await authorize(docs.url('/broken.json')), /not a JSON object/);
		serve('/array.json', [docFor(docs.url('/array.json'))]);
		assertRefused(await authorize(docs.url('/array.json')), /not a JSON object/);
		assertRefused(await authorize(docs.url('/missing.json')), /HTTP 404/);
		serve('/error.json', 'oops', {}, 500);
		assertRefused(await authorize(docs.url('/error.json')), /HTTP 500/);
	});

	test('bad redirect_uris', async () => {
		for (const [p, uris, reason] of [
			['/no-uris.json', [], /non-empty array/],
			['/js-uri.json', ['javascript:alert(1)'], /redirect_uris\[0\]/],
			['/http-uri.json', ['https://ok.example/cb', 'http://evil.example/cb'], /redirect_uris\[1\]: http redirect/],
			['/frag-uri.json', ['https://ok.example/cb#f'], /fragment/],
			['/str-uris.json', 'https://ok.example/cb', /non-empty array/],
		]) {
			serveDoc(p, { redirect_uris: uris });
			assertRefused(await authorize(docs.url(p)), reason);
		}
		const p = '/none.json';
		const doc = docFor(docs.url(p));
		delete doc.redirect_uris;
		serve(p, doc);
		assertRefused(await authorize(docs.url(p)), /non-empty array/);
	});

	test('a confidential auth method is refused (public clients only)', async () => {
		serveDoc('/confidential.json', { token_endpoint_auth_method: 'client_secret_basic' });
		assertRefused(await authorize(docs.url('/confidential.json')), /must be &quot;none&quot;|must be "none"/);
		serveDoc('/secret.json', { client_secret: 'hunter2' });
		assertRefused(await authorize(docs.url('/secret.json')), /must not contain a client_secret/);
	});

	test('an unknown client_id URL leaves no row behind', async () => {
		assert.equal(await row(docs.url('/mismatch.json')), '');
		assert.equal(await row(docs.url('/slow.json')), '');
	});
});

describe('cache (B27)', () => {
	test('within max-age two authorizations fetch once', async () => {
		serveDoc('/cached.json', {}, { 'cache-control': 'public, max-age=600' });
		const id = docs.url('/cached.json');
		assertConsent(await authorize(id), 'Doc App');
		assertConsent(await authorize(id), 'Doc App');
		// Another instance on the same database uses the stored copy (its own resource).
		assertConsent(await authorize(id, { resource: `${dflt.base}/mcp` }, dflt, djar), 'Doc App');
		assert.equal(docs.hit('/cached.json'), 1);
		assert.equal(await row(id), 'cimd none Doc App 600');
	});

	test('lifetimes: absent → 1 hour, above the ceiling → 24 hours, no-store → the floor', async () => {
		serveDoc('/nocc.json', {}, { 'cache-control': '' });
		serveDoc('/long.json', {}, { 'cache-control': 'max-age=31536000' });
		serveDoc('/nostore.json', {}, { 'cache-control': 'no-store' });
		for (const p of ['/nocc.json', '/long.json', '/nostore.json'])
			assertConsent(await authorize(docs.url(p)), 'Doc App');
		assert.equal(await row(docs.url('/nocc.json')), 'cimd none Doc App 3600');
		assert.equal(await row(docs.url('/long.json')), 'cimd none Doc App 86400');
		assert.equal(await row(docs.url('/nostore.json')), 'cimd none Doc App 1', 'the floor (1 s in this test)');
	});

	test('after max-age it is fetched again; a failed re-fetch keeps a copy younger than 7 days', async () => {
		let name = 'Short One';
		serve('/short.json', () => JSON.stringify(docFor(docs.url('/short.json'), { client_name: name })),
			{ 'cache-control': 'max-age=1' });
		const id = docs.url('/short.json');
		assertConsent(await authorize(id), 'Short One');
		assert.equal(docs.hit('/short.json'), 1);
		await sleep(1300);
		name = 'Short Two';
		assertConsent(await authorize(id), 'Short Two');
		assert.equal(docs.hit('/short.json'), 2, 're-fetched after expiry, and the new name shows');

		await sleep(1300);
		serve('/short.json', 'down', {}, 503);
		assertConsent(await authorize(id), 'Short Two');
		assert.equal(docs.hit('/short.json'), 3, 'the re-fetch was tried');
		assertConsent(await authorize(id), 'Short Two');
		assert.equal(docs.hit('/short.json'), 3, 'and not retried on every request while it fails');

		await psql(w.cluster.url, `UPDATE oauth_clients SET fetched_at = now() - interval '8 days',
			cache_until = now() - interval '1 second' WHERE client_id = '${id}'`);
		assertRefused(await authorize(id), /HTTP 503/);
	});

	test('fetched clients stale for over 7 days without a grant are removed; those with grants stay', async () => {
		const stale = docs.url('/short.json'), granted = docs.url('/valid.json');
		await psql(w.cluster.url, `UPDATE oauth_clients SET fetched_at = now() - interval '8 days'
			WHERE client_id IN ('${stale}', '${granted}')`);
		assert.notEqual(await row(stale), '');
		serveDoc('/gc-trigger.json');
		assertConsent(await authorize(docs.url('/gc-trigger.json')), 'Doc App');
		assert.equal(await row(stale), '', 'collected by the next store');
		assert.match(await row(granted), /^cimd none Doc App/, 'an AI Connection keeps its client');
	});

	test('concurrent first uses of one URL fetch it once (across worker threads)', async () => {
		docs.routes.set('/concurrent.json', (req, res) => setTimeout(() => {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify(docFor(docs.url('/concurrent.json'), { client_name: 'Busy App' })));
		}, 300));
		const id = docs.url('/concurrent.json');
		const pages = await Promise.all(Array.from({ length: 8 }, () => authorize(id)));
		for (const p of pages)
			assertConsent(p, 'Busy App');
		assert.equal(docs.hit('/concurrent.json'), 1);
	});
});

describe('pinned documents (B28, D7, D9, D14, E5)', () => {
	test('a pinned URL is used without any fetch', async () => {
		const id = docs.url('/pinned.json');
		docs.routes.set('/pinned.json', (req, res) => res.writeHead(500).end());
		assertConsent(await authorize(id), 'Pinned App');
		assertConsent(await authorize(id), 'Pinned App');
		assert.equal(docs.hit('/pinned.json'), 0);
		assert.match(await row(id), /^pinned none Pinned App -$/);
	});

	test("Claude and Claude Code's pinned documents work end to end, with a ported loopback redirect", async () => {
		assertConsent(await authorize(CLAUDE, { redirect_uri: 'https://claude.ai/api/mcp/auth_callback' }), 'Claude');
		assertConsent(await authorize(CLAUDE, { redirect_uri: 'https://claude.com/api/mcp/auth_callback' }), 'Claude');
		const { verifier, challenge } = pkce();
		const cb = 'http://localhost:53682/callback';
		const url = authorizeUrl(params(CLAUDE_CODE, { redirect_uri: cb, code_challenge: challenge }));
		const page = await get(w.srv, jar, url);
		assertConsent(page, 'Claude Code');
		const r = await post(w.srv, jar, url, { csrf: csrfOf(jar.get('cupd_session')), org: hidden(page.body, 'org'),
			decision: 'approve' });
		assert.equal(r.status, 303, r.body);
		assert.ok(r.headers.location.startsWith(`${cb}?code=`));
		const tok = await request({ port: w.srv.port, method: 'POST', path: '/oauth/token',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ grant_type: 'authorization_code', code: locationParams(r.headers.location).code,
				code_verifier: verifier, client_id: CLAUDE_CODE, redirect_uri: cb, resource: `${base}/mcp` }).toString() });
		assert.equal(tok.status, 200, tok.body);
		assert.match(await row(CLAUDE_CODE), /^pinned none Claude Code -$/);
	});
});
