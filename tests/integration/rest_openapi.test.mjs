// Issue 3, REST: GET /api/v1/openapi.json describes every route of the REST
// resources (services, incidents and notes, runbooks, alerts, members,
// audit events, search) with a summary, its scope, its path and query
// parameters and, for writes, a JSON Schema of the body.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { request } from './lib/harness.mjs';
import { Fixture } from './rest_fixture.mjs';

let f, doc;

// [method, path, scope, query parameters that must be documented, has a body]
const ROUTES = [
	['get', '/api/v1/services', 'read', ['limit', 'cursor', 'status', 'project', 'q']],
	['get', '/api/v1/services/{id}', 'read', ['timeline_limit']],
	['get', '/api/v1/dependency-graph', 'read', []],
	['get', '/api/v1/incidents', 'read', ['limit', 'cursor', 'status', 'service', 'since', 'severity']],
	['post', '/api/v1/incidents', 'write', [], true],
	['get', '/api/v1/incidents/{id}', 'read', []],
	['patch', '/api/v1/incidents/{id}', 'write', [], true],
	['post', '/api/v1/incidents/{id}/acknowledge', 'write', []],
	['get', '/api/v1/incidents/{id}/notes', 'read', ['limit', 'cursor']],
	['post', '/api/v1/incidents/{id}/notes', 'write', [], true],
	['get', '/api/v1/runbooks', 'read', ['limit', 'cursor', 'q', 'service']],
	['post', '/api/v1/runbooks', 'write', [], true],
	['get', '/api/v1/runbooks/{id}', 'read', []],
	['patch', '/api/v1/runbooks/{id}', 'write', [], true],
	['delete', '/api/v1/runbooks/{id}', 'write', []],
	['get', '/api/v1/alerts', 'read', ['limit', 'cursor', 'service', 'enabled']],
	['post', '/api/v1/alerts', 'write', [], true],
	['get', '/api/v1/alerts/{id}', 'read', []],
	['patch', '/api/v1/alerts/{id}', 'write', [], true],
	['delete', '/api/v1/alerts/{id}', 'write', []],
	['get', '/api/v1/members', 'read', ['limit', 'cursor']],
	['patch', '/api/v1/members/{user_id}', 'admin', [], true],
	['get', '/api/v1/audit-events', 'admin', ['limit', 'cursor', 'action', 'actor', 'target', 'since']],
	['get', '/api/v1/search', 'read', ['q', 'limit']],
];

before(async () => {
	f = await Fixture.start();
	const r = await request({ port: f.srv.port, path: '/api/v1/openapi.json' });
	assert.equal(r.status, 200, r.body);
	doc = r.json;
});
after(() => f?.finish());

describe('GET /api/v1/openapi.json', () => {
	test('is OpenAPI 3.1 and lists every REST resource route with a summary', () => {
		assert.equal(doc.openapi, '3.1.0');
		for (const [method, p, scope, query, body] of ROUTES) {
			const op = doc.paths[p]?.[method];
			assert.ok(op, `${method.toUpperCase()} ${p} is described`);
			assert.ok(op.summary && op.summary.length > 5, `${method} ${p} has a summary`);
			assert.equal(op['x-required-scope'], scope, `${method} ${p} scope`);
			assert.deepEqual(op.security, [{ apiToken: [] }]);
			const names = op.parameters.map((x) => `${x.in}:${x.name}`);
			for (const m of p.matchAll(/\{(\w+)\}/g))
				assert.ok(names.includes(`path:${m[1]}`), `${method} ${p} path parameter ${m[1]}`);
			for (const q of query)
				assert.ok(names.includes(`query:${q}`), `${method} ${p} query parameter ${q}`);
			if (body) {
				const schema = op.requestBody?.content?.['application/json']?.schema;
				assert.equal(schema?.type, 'object', `${method} ${p} body schema`);
				assert.ok(Object.keys(schema.properties).length > 0);
				assert.equal(schema.additionalProperties, false);
			}
			for (const code of ['400', '401', '403'])
				assert.ok(op.responses[code], `${method} ${p} documents ${code}`);
			if (p.includes('{'))
				assert.ok(op.responses['404'], `${method} ${p} documents 404`);
		}
		const created = ROUTES.filter(([m, p]) => m === 'post' && !p.endsWith('/acknowledge'));
		for (const [m, p] of created)
			assert.ok(doc.paths[p][m].responses['201'], `${m} ${p} answers 201`);
	});

	test('every documented route of these resources answers (no route described but missing)', async () => {
		for (const [method, p] of ROUTES) {
			const path = p.replace('{id}', '00000000-0000-0000-0000-000000000000')
				.replace('{user_id}', '00000000-0000-0000-0000-000000000000');
			const r = await f.api(f.admin, method.toUpperCase(), path, method === 'get' || method === 'delete' ? undefined : {});
			assert.ok(r.status !== 405 && !/No such route/.test(r.json?.error_description ?? ''),
				`${method} ${path}: ${r.status} ${r.body}`);
			assert.ok(r.status < 500, `${method} ${path}: ${r.status} ${r.body}`);
		}
	});
});
