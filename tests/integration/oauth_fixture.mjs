// oauth_fixture.mjs: what the oauth_*.test.mjs files share (not a test
// itself). One throwaway cluster per test file, org "acme" with an owner
// (alice) and a member (bob), API Tokens made by the real CLI, and one or
// more cupd instances that can issue tokens (CUPD_KEY_ENCRYPTION_KEY set).
//
// Grants and authorization codes are inserted straight into the database,
// the way the consent step stores them (code and PKCE challenge hashed
// here), so the token endpoint is tested on its own; the authorize
// endpoint's tests cover the browser leg.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { psql, request, runCli, startCluster, startCupd } from './lib/harness.mjs';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const CURSOR_URIS = [
	'cursor://anysphere.cursor-mcp/oauth/callback',
	'https://www.cursor.com/agents/mcp/oauth/callback',
	'http://localhost:8787/callback',
];

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
export const challengeOf = (verifier) => b64url(crypto.createHash('sha256').update(verifier).digest());
export const newVerifier = () => b64url(crypto.randomBytes(32)); // 43 characters

/** application/x-www-form-urlencoded body from an object (arrays repeat the key). */
export function form(obj) {
	const p = new URLSearchParams();
	for (const [k, v] of Object.entries(obj)) {
		if (v === undefined)
			continue;
		for (const x of Array.isArray(v) ? v : [v])
			p.append(k, x);
	}
	return p.toString();
}

export class OAuthFixture {
	/**
	 * instances: how many cupd processes share the database.
	 * env: extra settings for every instance.
	 */
	static async start({ instances = 1, workers = 2, env = {}, publicUrl } = {}) {
		const f = new OAuthFixture();
		f.kek = crypto.randomBytes(32).toString('hex');
		f.cluster = await startCluster();
		await f.cli(['migrate']);
		await f.cli(['org', 'add', '--slug', 'acme', '--name', 'Acme']);
		await f.cli(['user', 'add', '--email', 'alice@example.com', '--org', 'acme', '--role', 'owner'],
			'alice password 12345\n');
		await f.cli(['user', 'add', '--email', 'bob@example.com', '--org', 'acme', '--role', 'member'],
			'bob password 123456\n');
		f.ids = {
			org: await f.sql("SELECT id FROM orgs WHERE slug = 'acme'"),
			alice: await f.sql("SELECT id FROM users WHERE email = 'alice@example.com'"),
			bob: await f.sql("SELECT id FROM users WHERE email = 'bob@example.com'"),
		};
		f.tokens = {
			aliceAdmin: await f.mint('alice@example.com', 'admin'),
			bobWrite: await f.mint('bob@example.com', 'write'),
			bobRead: await f.mint('bob@example.com', 'read'),
		};
		f.env = {
			CUPD_KEY_ENCRYPTION_KEY: f.kek,
			CUPD_ACCESS_LOG: 'off',
			CUPD_RATE_API_TOKEN_PER_MIN: '1000000',
			...(publicUrl ? { CUPD_PUBLIC_URL: publicUrl } : {}),
			...env,
		};
		f.servers = [];
		for (let i = 0; i < instances; i++)
			f.servers.push(await startCupd({ cluster: f.cluster, workers, env: f.env }));
		f.srv = f.servers[0];
		f.issuer = publicUrl ?? f.srv.base;
		f.resource = `${f.issuer}/mcp`;
		return f;
	}

	async cli(args, stdin, env = {}) {
		const r = await runCli(args, { env: { DATABASE_URL: this.cluster.url, ...env }, stdin });
		assert.equal(r.code, 0, `cupd ${args.join(' ')} failed: ${r.stderr}`);
		return r;
	}

	async mint(email, scopes) {
		const r = await this.cli(['token', 'create', '--org', 'acme', '--user', email, '--name', `t-${scopes}`,
			'--scopes', scopes]);
		return r.stdout.trim();
	}

	sql(text) {
		return psql(this.cluster.url, text);
	}

	/** Stops every instance with SIGTERM: exit 0 and no sanitizer report
	 *  (leaks and UBSan findings only show on a clean exit). */
	async stopClean() {
		for (const s of this.servers) {
			const r = await s.stop('SIGTERM');
			assert.doesNotMatch(s.stderr(), /Sanitizer|runtime error:/, `sanitizer report:\n${s.stderr().slice(-4000)}`);
			assert.equal(r.code, 0, `cupd exit status; stderr:\n${s.stderr().slice(-2000)}`);
		}
	}

	/** POST a form to path on srv (default the first instance). */
	post(path, body, { headers = {}, srv } = {}) {
		return request({
			port: (srv ?? this.srv).port, method: 'POST', path,
			headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
			body: typeof body === 'string' ? body : form(body), timeoutMs: 15000,
		});
	}

	json(path, method, body, { headers = {}, srv } = {}) {
		return request({
			port: (srv ?? this.srv).port, method, path,
			headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
			body: body === undefined ? undefined : JSON.stringify(body), timeoutMs: 15000,
		});
	}

	api(token, method, path, { srv } = {}) {
		return request({ port: (srv ?? this.srv).port, method, path, headers: { authorization: `Bearer ${token}` },
			timeoutMs: 15000 });
	}

	/** Registers a client through DCR; returns the 201 JSON. */
	async register(meta = {}) {
		const r = await this.json('/oauth/register', 'POST', {
			redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], token_endpoint_auth_method: 'none',
			client_name: 'Test Client', ...meta,
		});
		assert.equal(r.status, 201, `register: ${r.status} ${r.body}`);
		return r.json;
	}

	/**
	 * Stores a grant and an authorization code for client as the consent
	 * step would. Returns {code, verifier, grantId, redirectUri}.
	 */
	async issueCode(client, {
		user = this.ids.alice, org = this.ids.org, scope = 'read write', resource = this.resource, redirectUri,
		redirectSent = true, verifier = newVerifier(), challenge, codeTtl = 60, grantDays = 90,
	} = {}) {
		const code = b64url(crypto.randomBytes(32));
		const redirect = redirectUri ?? client.redirect_uris[0];
		const ch = challenge ?? challengeOf(verifier);
		const q = (s) => `'${String(s).replaceAll("'", "''")}'`;
		const grantId = await this.sql(
			`WITH g AS (INSERT INTO oauth_grants (org_id, user_id, client_pk, scope, resource, expires_at)
			   SELECT ${q(org)}, ${q(user)}, c.id, ${q(scope)}, ${q(resource)},
			          now() + make_interval(days => ${Number(grantDays)})
			     FROM oauth_clients c WHERE c.client_id = ${q(client.client_id)} RETURNING id),
			 c AS (INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, redirect_sent, code_challenge, scope,
			         resource, expires_at)
			   SELECT decode(${q(sha256hex(code))}, 'hex'), g.id, ${q(redirect)}, ${redirectSent}, ${q(ch)},
			          ${q(scope)}, ${q(resource)}, now() + make_interval(secs => ${Number(codeTtl)}) FROM g)
			 SELECT id FROM g`);
		assert.match(grantId, UUID_RE, 'grant inserted');
		return { code, verifier, grantId, redirectUri: redirect };
	}

	/** Client authentication parameters/headers for a registered client. */
	static auth(client, how = client.client_secret ? 'basic' : 'none') {
		if (how === 'basic') {
			const cred = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`)
				.toString('base64');
			return { params: {}, headers: { authorization: `Basic ${cred}` } };
		}
		if (how === 'post')
			return { params: { client_id: client.client_id, client_secret: client.client_secret }, headers: {} };
		return { params: { client_id: client.client_id }, headers: {} };
	}

	/** POST /oauth/token with the client's authentication. */
	token(client, params, { how, srv, path = '/oauth/token' } = {}) {
		const a = OAuthFixture.auth(client, how);
		return this.post(path, { ...a.params, ...params }, { headers: a.headers, srv });
	}

	/** A code exchange that must succeed; returns the token response JSON and the grant id. */
	async exchange(client, opts = {}) {
		const c = await this.issueCode(client, opts);
		const r = await this.token(client, {
			grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: c.redirectUri,
			resource: this.resource,
		}, { how: opts.how });
		assert.equal(r.status, 200, `exchange: ${r.status} ${r.body}`);
		return { ...r.json, grantId: c.grantId, code: c.code, verifier: c.verifier, redirectUri: c.redirectUri };
	}

	refresh(client, refreshToken, { srv, how, extra = {} } = {}) {
		return this.token(client, { grant_type: 'refresh_token', refresh_token: refreshToken, resource: this.resource,
			...extra }, { srv, how });
	}

	/** POST /oauth/introspect as a (confidential) client. */
	introspect(client, token, { srv, how } = {}) {
		const a = OAuthFixture.auth(client, how);
		return this.post('/oauth/introspect', { ...a.params, token }, { headers: a.headers, srv });
	}

	/**
	 * The current signing key's private half, decrypted the way cupd does
	 * (AES-256-GCM under CUPD_KEY_ENCRYPTION_KEY: nonce || ciphertext || tag),
	 * so tests can forge tokens that are validly signed but wrong otherwise.
	 */
	async signingKey() {
		const row = await this.sql("SELECT kid || ' ' || encode(private_enc, 'hex') FROM signing_keys "
			+ 'WHERE retired_at IS NULL AND removed_at IS NULL ORDER BY created_at DESC LIMIT 1');
		const [kid, hex] = row.split(' ');
		const enc = Buffer.from(hex, 'hex');
		const d = crypto.createDecipheriv('aes-256-gcm', Buffer.from(this.kek, 'hex'), enc.subarray(0, 12));
		d.setAuthTag(enc.subarray(enc.length - 16));
		const pem = Buffer.concat([d.update(enc.subarray(12, enc.length - 16)), d.final()]).toString('utf8');
		const key = crypto.createPrivateKey(pem);
		return { kid, key, publicPem: crypto.createPublicKey(key).export({ type: 'spki', format: 'pem' }) };
	}
}

/** A compact JWS from header and payload objects, signed by signer(bytes) → signature bytes. */
export function jws(header, payload, signer) {
	const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
	const sig = signer ? b64url(signer(Buffer.from(input))) : '';
	return `${input}.${sig}`;
}

/** ES256 signer (JOSE R||S) for a private key. */
export const es256 = (key) => (data) => crypto.sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
/** HS256 signer with secret bytes. */
export const hs256 = (secret) => (data) => crypto.createHmac('sha256', secret).update(data).digest();

/** Decodes a JWT's payload (no verification). */
export const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
export const headerOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
