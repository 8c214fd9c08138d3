import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, InputError, NotFoundError, UnauthenticatedError } from '../db/errors';
import type { Principal } from '../platform/auth';
import type { Services } from '../platform/services';
import { createRestRouter } from './rest';

// The router on its own, with routes made for the test and a stand-in authenticator: what it
// does with bodies, errors and scopes does not depend on any module.
const principal: Principal = {
  tenantId: 't',
  tenantSlug: 't',
  accountId: 'a',
  accountName: 'a',
  scopes: new Set(['runs:write']),
  authMethod: 'authorization',
  tokenFingerprint: 'sha256:0',
};
const logged: unknown[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  const router = createRestRouter({
    services: {} as Services,
    authenticate: async (token) => {
      if (token !== 'good') throw new UnauthenticatedError();
      return principal;
    },
    onError: (err) => logged.push(err),
    routes: [
      { method: 'POST', path: '/echo/{id}', scope: 'runs:write', handler: ({ params, body }) => ({ status: 201, body: { id: params.id, body } }) },
      { method: 'GET', path: '/needs-other', scope: 'billing:read', handler: () => ({ status: 200 }) },
      { method: 'GET', path: '/boom', handler: () => { throw new Error('secret connection string postgres://u:p@h'); } },
      { method: 'GET', path: '/input', handler: () => { throw new InputError('limit must be at most 200', 'limit'); } },
      { method: 'GET', path: '/conflict', handler: () => { throw new ConflictError('already decided'); } },
      { method: 'GET', path: '/missing', handler: () => { throw new NotFoundError('Run'); } },
    ],
  });
  server = createServer(async (req, res) => {
    if (!(await router.handle(req, res, 'req-1'))) {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const auth = { authorization: 'Bearer good' };

describe('REST router', () => {
  it('parses JSON bodies and path parameters', async () => {
    const res = await fetch(`${base}/echo/a%20b`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"x":1}' });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ id: 'a b', body: { x: 1 } });
  });

  it('refuses a badly percent-encoded path parameter with 400', async () => {
    const res = await fetch(`${base}/echo/%E0%A4%A`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(400);
  });

  it('refuses malformed JSON, non-JSON bodies and oversize bodies with 400/413', async () => {
    const bad = await fetch(`${base}/echo/1`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"x":' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'INVALID_REQUEST', message: expect.stringMatching(/not valid JSON/), requestId: 'req-1' });
    const text = await fetch(`${base}/echo/1`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(400);
    const big = await fetch(`${base}/echo/1`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(1_100_000) }) });
    expect(big.status).toBe(413);
    expect((await big.json()).error).toBe('PAYLOAD_TOO_LARGE');
  });

  it('checks authentication before scope, and scope before the body', async () => {
    const anonymous = await fetch(`${base}/echo/1`, { method: 'POST', body: '{' });
    expect(anonymous.status).toBe(401);
    const forbidden = await fetch(`${base}/needs-other`, { headers: auth });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: 'FORBIDDEN', requiredScope: 'billing:read' });
  });

  it('maps domain errors to their statuses', async () => {
    expect((await fetch(`${base}/input`)).status).toBe(400);
    expect(await (await fetch(`${base}/input`)).json()).toMatchObject({ field: 'limit' });
    expect((await fetch(`${base}/conflict`)).status).toBe(409);
    expect((await fetch(`${base}/missing`)).status).toBe(404);
  });

  it('masks internal errors and logs them', async () => {
    const res = await fetch(`${base}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('postgres://');
    expect(JSON.parse(text)).toMatchObject({ error: 'INTERNAL_ERROR', status: 500 });
    expect(logged.length).toBeGreaterThan(0);
  });
});
