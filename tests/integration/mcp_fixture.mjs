// mcp_fixture.mjs: what the mcp_*.test.mjs files share (not a test itself).
// The world is rest_fixture.mjs's (demo org from `cupd seed-demo`, API
// Tokens of each scope from the real CLI, a second org "other" with its own
// owner and token); on top of it: a small MCP client over plain HTTP, OAuth
// access tokens minted the way the consent step stores grants (grant + code
// rows, then the real /oauth/token), and a small JSON Schema checker for
// the subset cupd's tool schemas use (so structuredContent is validated
// against each tool's outputSchema, A51, without npm packages).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { request } from './lib/harness.mjs';
import { Fixture } from './rest_fixture.mjs';

export { Fixture };

export const LATEST = '2025-11-25';
export const VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
export const READ_TOOLS = ['whoami', 'list_projects', 'list_services', 'get_service', 'get_dependency_graph',
	'list_incidents', 'get_incident', 'list_runbooks', 'get_runbook', 'search'];
export const WRITE_TOOLS = ['acknowledge_incident', 'add_incident_note', 'update_incident_status'];

/** A fixture whose cupd can also issue OAuth tokens (CUPD_KEY_ENCRYPTION_KEY). */
export async function startMcpFixture({ env = {}, workers = 2 } = {}) {
	const kek = crypto.randomBytes(32).toString('hex');
	const f = await Fixture.start({ env: { CUPD_KEY_ENCRYPTION_KEY: kek, ...env }, workers });
	f.kek = kek;
	return f;
}

/** Headers of an MCP POST; extra ones override. */
export function mcpHeaders(token, extra = {}) {
	const h = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra };
	if (token)
		h.authorization = `Bearer ${token}`;
	for (const k of Object.keys(h))
		if (h[k] === undefined)
			delete h[k]; // { accept: undefined } sends no Accept at all
	return h;
}

/** One raw POST to /mcp (or path): body is JSON-encoded unless a string. */
export function mcpPost(port, token, body, { headers = {}, path = '/mcp', timeoutMs = 10000 } = {}) {
	return request({ port, method: 'POST', path, headers: mcpHeaders(token, headers),
		body: typeof body === 'string' ? body : JSON.stringify(body), timeoutMs });
}

/** The messages of a text/event-stream body: [{event, id, data}]. */
export function parseSse(text) {
	const events = [];
	for (const block of text.split('\n\n')) {
		if (!block.trim())
			continue;
		const ev = { event: undefined, id: undefined, data: [] };
		for (const line of block.split('\n')) {
			if (line.startsWith(':'))
				continue;
			const i = line.indexOf(':');
			const k = i < 0 ? line : line.slice(0, i);
			const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
			if (k === 'data')
				ev.data.push(v);
			else
				ev[k] = v;
		}
		events.push({ ...ev, data: ev.data.join('\n') });
	}
	return events;
}

/**
 * A session-keeping MCP client over plain HTTP: initialize once, then every
 * request carries Mcp-Session-Id and MCP-Protocol-Version like the SDK.
 */
export class McpClient {
	constructor(port, token, { version = LATEST, headers = {} } = {}) {
		this.port = port;
		this.token = token;
		this.version = version;
		this.headers = headers;
		this.session = null;
		this.nextId = 1;
	}

	async initialize({ version = this.version, headers = {} } = {}) {
		const r = await mcpPost(this.port, this.token, {
			jsonrpc: '2.0', id: this.nextId++, method: 'initialize',
			params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'cupd-it', version: '1.0.0' } },
		}, { headers: { ...this.headers, ...headers } });
		assert.equal(r.status, 200, `initialize: ${r.status} ${r.body}`);
		this.session = r.headers['mcp-session-id'];
		assert.ok(this.session, 'initialize answered a session id');
		this.version = r.json.result.protocolVersion;
		const n = await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
		assert.equal(n.status, 202, `notifications/initialized: ${n.status} ${n.body}`);
		return r;
	}

	/** A POST inside the session; returns the raw response. */
	post(body, { headers = {}, port = this.port, token = this.token } = {}) {
		const h = { ...this.headers };
		if (this.session)
			h['mcp-session-id'] = this.session;
		if (this.version)
			h['mcp-protocol-version'] = this.version;
		return mcpPost(port, token, body, { headers: { ...h, ...headers } });
	}

	/** A request that must answer 200 with a JSON-RPC response; returns it. */
	async rpc(method, params, opts = {}) {
		const id = this.nextId++;
		const body = { jsonrpc: '2.0', id, method };
		if (params !== undefined)
			body.params = params;
		const r = await this.post(body, opts);
		assert.equal(r.status, 200, `${method}: ${r.status} ${r.body}`);
		assert.equal(r.headers['content-type'], 'application/json', r.body);
		assertResponseShape(r.json, id);
		return r.json;
	}

	/** A request whose answer must be a result; returns result. */
	async result(method, params, opts) {
		const m = await this.rpc(method, params, opts);
		assert.ok(m.result, `${method}: expected a result, got ${JSON.stringify(m)}`);
		return m.result;
	}

	/** tools/call; returns the CallToolResult. */
	call(name, args, opts) {
		return this.result('tools/call', args === undefined ? { name } : { name, arguments: args }, opts);
	}

	/** tools/call that must succeed; returns structuredContent (checked against the text block). */
	async ok(name, args, opts) {
		const res = await this.call(name, args, opts);
		assert.ok(!res.isError, `${name} failed: ${JSON.stringify(res.content)}`);
		assert.ok(res.structuredContent && typeof res.structuredContent === 'object', 'structuredContent');
		assert.deepEqual(JSON.parse(res.content[0].text), res.structuredContent, 'the text block is the same JSON');
		return res.structuredContent;
	}
}

/** A13/A14: exactly {jsonrpc, id, result} or {jsonrpc, id, error}; id echoed with its JSON type. */
export function assertResponseShape(m, id) {
	assert.equal(m.jsonrpc, '2.0');
	const keys = Object.keys(m).sort();
	if ('result' in m) {
		assert.deepEqual(keys, ['id', 'jsonrpc', 'result'], JSON.stringify(m));
		assert.ok(m.result && typeof m.result === 'object' && !Array.isArray(m.result), 'result is an object');
	} else {
		assert.deepEqual(keys, ['error', 'id', 'jsonrpc'], JSON.stringify(m));
		assert.ok(Number.isInteger(m.error.code), 'integer error code');
		assert.equal(typeof m.error.message, 'string');
	}
	assert.notEqual(m.id, null, 'never "id": null in a 200 body');
	if (id !== undefined) {
		assert.equal(typeof m.id, typeof id, 'id keeps its JSON type');
		assert.equal(m.id, id);
	}
}

/* ------------------------------------------------------------- OAuth */

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');

/**
 * An OAuth access token for the MCP resource: registers a public client
 * through DCR, stores a grant and a code as the consent step would (code
 * and PKCE challenge hashed), and redeems the code at /oauth/token.
 * Returns the token response plus grantId and client.
 */
export async function oauthToken(f, { user = f.ids.demoUser, org = f.ids.demoOrg, scope = 'read write',
	resource, srv = f.srv } = {}) {
	resource ??= `${srv.base}/mcp`;
	const reg = await request({ port: srv.port, method: 'POST', path: '/oauth/register',
		headers: { 'content-type': 'application/json' }, timeoutMs: 10000,
		body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/callback'], token_endpoint_auth_method: 'none',
			client_name: 'MCP integration client', grant_types: ['authorization_code', 'refresh_token'] }) });
	assert.equal(reg.status, 201, `register: ${reg.status} ${reg.body}`);
	const client = reg.json;
	const code = b64url(crypto.randomBytes(32));
	const verifier = b64url(crypto.randomBytes(32));
	const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
	const q = (s) => `'${String(s).replaceAll("'", "''")}'`;
	const grantId = await f.sql(
		`WITH g AS (INSERT INTO oauth_grants (org_id, user_id, client_pk, scope, resource, expires_at)
		   SELECT ${q(org)}, ${q(user)}, c.id, ${q(scope)}, ${q(resource)}, now() + interval '30 days'
		     FROM oauth_clients c WHERE c.client_id = ${q(client.client_id)} RETURNING id),
		 c AS (INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, redirect_sent, code_challenge, scope,
		         resource, expires_at)
		   SELECT decode(${q(sha256hex(code))}, 'hex'), g.id, ${q(client.redirect_uris[0])}, true, ${q(challenge)},
		          ${q(scope)}, ${q(resource)}, now() + interval '60 seconds' FROM g)
		 SELECT id FROM g`);
	const body = new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier,
		redirect_uri: client.redirect_uris[0], client_id: client.client_id, resource }).toString();
	const t = await request({ port: srv.port, method: 'POST', path: '/oauth/token',
		headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, timeoutMs: 10000 });
	assert.equal(t.status, 200, `token: ${t.status} ${t.body}`);
	return { ...t.json, grantId, client };
}

/* ------------------------------------------------------- JSON Schema */

const FORMATS = {
	uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
	'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i,
};

function typeOf(v) {
	if (v === null)
		return 'null';
	if (Array.isArray(v))
		return 'array';
	if (Number.isInteger(v))
		return 'integer';
	return typeof v;
}

/**
 * Errors of value against schema (empty = valid). Supports what cupd's
 * schemas use: type (string or list), enum, properties, required,
 * additionalProperties (false or a schema), items, minimum/maximum,
 * minLength/maxLength, format (uuid, date-time). An unknown keyword throws,
 * so a schema can never use more than this checks.
 */
export function schemaErrors(schema, value, at = '$') {
	const KNOWN = new Set(['type', 'enum', 'properties', 'required', 'additionalProperties', 'items', 'minimum',
		'maximum', 'minLength', 'maxLength', 'format', 'description', 'title', 'default']);
	for (const k of Object.keys(schema))
		if (!KNOWN.has(k))
			throw new Error(`schema keyword ${k} at ${at} is not supported by this checker`);
	const errs = [];
	const t = typeOf(value);
	if (schema.type !== undefined) {
		const types = [].concat(schema.type);
		const ok = types.some((ty) => ty === t || (ty === 'number' && t === 'integer'));
		if (!ok)
			return [`${at}: ${JSON.stringify(value)?.slice(0, 80)} is not of type ${types.join('|')}`];
	}
	if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
		errs.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
	if (typeof value === 'string') {
		if (schema.minLength !== undefined && [...value].length < schema.minLength)
			errs.push(`${at}: shorter than ${schema.minLength}`);
		if (schema.maxLength !== undefined && [...value].length > schema.maxLength)
			errs.push(`${at}: longer than ${schema.maxLength}`);
		if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format].test(value))
			errs.push(`${at}: ${value} is not a ${schema.format}`);
	}
	if (typeof value === 'number') {
		if (schema.minimum !== undefined && value < schema.minimum)
			errs.push(`${at}: ${value} < ${schema.minimum}`);
		if (schema.maximum !== undefined && value > schema.maximum)
			errs.push(`${at}: ${value} > ${schema.maximum}`);
	}
	if (t === 'array' && schema.items)
		value.forEach((v, i) => errs.push(...schemaErrors(schema.items, v, `${at}[${i}]`)));
	if (t === 'object') {
		for (const r of schema.required ?? [])
			if (!(r in value))
				errs.push(`${at}: missing required ${r}`);
		for (const [k, v] of Object.entries(value)) {
			const sub = schema.properties?.[k];
			if (sub)
				errs.push(...schemaErrors(sub, v, `${at}.${k}`));
			else if (schema.additionalProperties === false)
				errs.push(`${at}: unexpected member ${k}`);
			else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
				errs.push(...schemaErrors(schema.additionalProperties, v, `${at}.${k}`));
		}
	}
	return errs;
}

export function assertValid(schema, value, what) {
	const errs = schemaErrors(schema, value);
	assert.deepEqual(errs, [], `${what} does not match its schema:\n${errs.join('\n')}`);
}
