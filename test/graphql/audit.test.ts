import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverAudits, type AuditResult } from 'graphql-http';
import { startTestServer, type TestServer } from '../support/app';

/**
 * GraphQL over HTTP conformance: graphql-http's server audit suite against the live /graphql.
 * Every MUST audit has to pass; SHOULD/MAY findings are reported, not enforced.
 */

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = (await server.tenant()).token;
});
afterAll(() => server?.close());

// The audits are created at collection time, before the server exists: the URL and the
// token are resolved lazily, when each audit runs.
const authedFetch = (input: RequestInfo | URL, init?: RequestInit) => {
  const headers = new Headers(init?.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const audits = serverAudits({ url: () => `${server.url}/graphql`, fetchFn: authedFetch });

const warnings: string[] = [];
const tally = { ok: 0, notice: 0, warn: 0, error: 0 };

async function describeResponse(result: AuditResult): Promise<string> {
  if (result.status === 'ok') return '';
  const res = result.response;
  let body = '';
  try {
    body = await res.clone().text();
  } catch {
    body = '(body unavailable)';
  }
  return `${result.reason}\n  -> HTTP ${res.status} content-type=${res.headers.get('content-type')}\n  -> ${body.slice(0, 500)}`;
}

describe('graphql-http server audits', () => {
  it('has audits to run', () => {
    expect(audits.length).toBeGreaterThan(20);
    expect(audits.some((a) => a.name.startsWith('MUST'))).toBe(true);
  });

  it('audits run authenticated: the fetch they use carries the owner token', async () => {
    const res = await authedFetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ viewer { accountName } }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { viewer: { accountName: 'Owner' } } });
  });

  it.each(audits.map((audit) => [`${audit.id} ${audit.name}`, audit] as const))('%s', async (_label, audit) => {
    const result = await audit.fn();
    expect(result.id).toBe(audit.id);
    tally[result.status] += 1;
    if (result.status === 'ok') return;
    const detail = await describeResponse(result);
    if (audit.name.startsWith('MUST')) {
      // A MUST failure means the server is not GraphQL-over-HTTP compliant.
      expect.fail(`${audit.id} ${audit.name} -> ${result.status}: ${detail}`);
    }
    warnings.push(`[${result.status}] ${audit.id} ${audit.name}: ${detail}`);
  });

  afterAll(() => {
    console.info(
      `graphql-http audits: ${tally.ok} ok, ${tally.notice} notice, ${tally.warn} warn, ${tally.error} error` +
        (warnings.length > 0 ? `\nSHOULD/MAY findings:\n${warnings.join('\n')}` : ''),
    );
  });
});
