import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';
import { adminQuery } from '../support/database';

// With the development switches off (the default), tenant-chosen URLs that point inside the
// network are refused when they are stored, through every door that takes one.
let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
});
afterAll(async () => {
  await server?.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('netdata metadata.base_url', () => {
  it.each([
    ['https://127.0.0.1:19999', /loopback/],
    ['https://169.254.169.254', /link-local/],
    ['https://[fd00::1]', /unique local|ULA|private/i],
    ['http://example.com', /https/],
  ])('%s is refused with 400 and nothing is stored', async (baseUrl, reason) => {
    const res = await post('/api/v1/integration-keys', { provider: 'netdata', key: 'nd-token-000000000000', metadata: { base_url: baseUrl } });
    const body = await res.json();
    expect(res.status).toBe(400);
    expect(body.field).toBe('metadata.base_url');
    expect(body.message).toMatch(reason);
    const [count] = await adminQuery(server.db, `select count(*)::int as n from integration_keys where tenant_id = $1`, [owner.tenantId]);
    expect(count.n).toBe(0);
  });
});
