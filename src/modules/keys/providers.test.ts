import { createSafeFetch } from '../../platform/outbound/safe-fetch';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProviders, type FakeProviders } from '../../../test/fakes/providers';
import { InputError } from '../../db/errors';
import {
  PROVIDERS,
  providerTable,
  redactKey,
  validateProviderMetadata,
  verifyIntegrationKey,
  type Provider,
  type VerifyResult,
} from './providers';

const VALID: Record<Provider, string> = {
  cloudflare: 'cf-valid-token-0123456789abcdef',
  github: 'ghp_validToken0123456789abcdefABCDEF',
  netdata: 'nd-valid-token-0123456789abcdef',
  postmark: 'pm-valid-00000000-1111-2222-3333-444444444444',
  outstand: 'os-valid-key-0123456789abcdef',
};
const WRONG = 'definitely-not-a-valid-key-9876543210';
const ACCOUNT_ID = '023e105f4ecef8ad9ca31a8372d0c353';

let fake: FakeProviders;
/** Every (key, result) pair seen, checked at the end for leaked keys. */
const seen: Array<{ key: string; result: VerifyResult }> = [];

beforeAll(async () => {
  fake = await startFakeProviders({ validTokens: Object.values(VALID), cloudflareTokenStatus: { 'cf-status-d-token-0123456789': 'disabled', 'cf-status-e-token-0123456789': 'expired' } });
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake?.close();
});

function metadataFor(provider: Provider, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return provider === 'netdata' ? { base_url: fake.netdataBaseUrl, ...extra } : extra;
}

async function verify(
  provider: Provider,
  key: string,
  options: { metadata?: Record<string, unknown>; timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<VerifyResult> {
  const result = await verifyIntegrationKey(
    { provider, key, metadata: options.metadata ?? metadataFor(provider) },
    { urls: fake.urls, timeoutMs: options.timeoutMs ?? 5_000, fetch: options.fetch, tenantFetch: options.fetch ?? fetch },
  );
  seen.push({ key, result });
  if (result.outcome !== 'valid') {
    expect(result.detail).not.toContain(key);
    expect(result.detail.length).toBeGreaterThan(0);
    expect(result.detail.length).toBeLessThan(300);
  }
  return result;
}

describe.each(PROVIDERS.map((p) => [p] as const))('%s', (provider) => {
  it('a valid key is valid', async () => {
    expect(await verify(provider, VALID[provider])).toEqual({ outcome: 'valid' });
    expect(fake.requestsFor(provider)).toHaveLength(1);
  });

  it('a wrong key is rejected (auth_failed)', async () => {
    const result = await verify(provider, WRONG);
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'auth_failed' });
  });

  it('a 503 is an outage, not a rejection', async () => {
    const result = await verify(provider, 'outage');
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
    expect(result.outcome === 'unavailable' && result.detail).toMatch(/HTTP 503/);
  });

  it('a rate limit is an outage', async () => {
    expect(await verify(provider, 'ratelimited')).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
  });

  it('a provider that never answers times out as an outage', async () => {
    const started = Date.now();
    const result = await verify(provider, 'hang', { timeoutMs: 300 });
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
    expect(result.outcome === 'unavailable' && result.detail).toMatch(/within 300 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a redirect is not followed and counts as an outage', async () => {
    const result = await verify(provider, 'redirect');
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
    expect(result.outcome === 'unavailable' && result.detail).toMatch(/HTTP 302/);
    expect(fake.requests.map((r) => r.path)).not.toContain('/elsewhere');
  });

  it('a 2xx without JSON is an outage', async () => {
    fake.override(provider, () => ({ status: 200, body: '<html>maintenance page</html>' }));
    expect(await verify(provider, VALID[provider])).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
  });

  it('an answer larger than 64 KiB is cut and treated as unreadable', async () => {
    fake.override(provider, () => ({ status: 200, body: { success: true, result: { status: 'active' }, padding: 'x'.repeat(100_000) } }));
    const result = await verify(provider, VALID[provider]);
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
  });

  it('a provider echoing the key in its error message does not leak it', async () => {
    fake.override(provider, (token) => ({
      status: 401,
      body: { message: `Bad credentials for ${token}`, errorMessage: `token ${token} unknown`, Message: `Token ${token} invalid`, error: `key ${token}`, success: false, errors: [{ code: 1000, message: `Invalid API Token ${token}` }] },
    }));
    const result = await verify(provider, WRONG);
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'auth_failed' });
    expect(result.outcome === 'rejected' && result.detail).toContain('[redacted]');
  });
});

describe('credentials are sent in the provider-specific header', () => {
  it('cloudflare: Authorization Bearer on /client/v4/user/tokens/verify', async () => {
    await verify('cloudflare', VALID.cloudflare);
    const [req] = fake.requestsFor('cloudflare');
    expect(req?.method).toBe('GET');
    expect(req?.path).toBe('/cloudflare/client/v4/user/tokens/verify');
    expect(req?.headers.authorization).toBe(`Bearer ${VALID.cloudflare}`);
  });

  it('cloudflare with account_id: the account token verify endpoint', async () => {
    expect(await verify('cloudflare', VALID.cloudflare, { metadata: { account_id: ACCOUNT_ID } })).toEqual({ outcome: 'valid' });
    expect(fake.requestsFor('cloudflare')[0]?.path).toBe(`/cloudflare/client/v4/accounts/${ACCOUNT_ID}/tokens/verify`);
  });

  it('github: Bearer, GitHub media type, API version and a User-Agent on /user', async () => {
    await verify('github', VALID.github);
    const [req] = fake.requestsFor('github');
    expect(req?.path).toBe('/github/user');
    expect(req?.headers.authorization).toBe(`Bearer ${VALID.github}`);
    expect(req?.headers.accept).toBe('application/vnd.github+json');
    expect(req?.headers['x-github-api-version']).toBe('2022-11-28');
    expect(req?.headers['user-agent']).toMatch(/Runlane/);
  });

  it('netdata: Bearer on {base_url}/api/v2/spaces', async () => {
    await verify('netdata', VALID.netdata);
    const [req] = fake.requestsFor('netdata');
    expect(req?.path).toBe('/netdata/api/v2/spaces');
    expect(req?.headers.authorization).toBe(`Bearer ${VALID.netdata}`);
  });

  it('postmark: X-Postmark-Server-Token (no Authorization) on /server', async () => {
    await verify('postmark', VALID.postmark);
    const [req] = fake.requestsFor('postmark');
    expect(req?.path).toBe('/postmark/server');
    expect(req?.headers['x-postmark-server-token']).toBe(VALID.postmark);
    expect(req?.headers.accept).toBe('application/json');
    expect(req?.headers.authorization).toBeUndefined();
  });

  it('outstand: Bearer on /v1/social-accounts', async () => {
    await verify('outstand', VALID.outstand);
    const [req] = fake.requestsFor('outstand');
    expect(req?.path).toBe('/outstand/v1/social-accounts?limit=1');
    expect(req?.headers.authorization).toBe(`Bearer ${VALID.outstand}`);
  });
});

describe('provider-specific readings', () => {
  it('cloudflare: a token with status "disabled" or "expired" is rejected', async () => {
    const disabled = await verify('cloudflare', 'cf-status-d-token-0123456789');
    expect(disabled).toMatchObject({ outcome: 'rejected', reason: 'auth_failed' });
    expect(disabled.outcome === 'rejected' && disabled.detail).toMatch(/disabled/);
    expect(await verify('cloudflare', 'cf-status-e-token-0123456789')).toMatchObject({ outcome: 'rejected' });
  });

  it('cloudflare: the documented 401 body is quoted in the detail', async () => {
    const result = await verify('cloudflare', WRONG);
    expect(result.outcome === 'rejected' && result.detail).toBe('Cloudflare rejected the token (HTTP 401): Invalid API Token.');
  });

  it('cloudflare: 200 with success:false is rejected', async () => {
    fake.override('cloudflare', () => ({ status: 200, body: { success: false, errors: [{ code: 1000, message: 'Invalid API Token' }], result: null } }));
    expect(await verify('cloudflare', VALID.cloudflare)).toMatchObject({ outcome: 'rejected' });
  });

  it('github: 403 with x-ratelimit-remaining: 0 is an outage, not a rejection', async () => {
    const result = await verify('github', 'ratelimited');
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
    expect(result.outcome === 'unavailable' && result.detail).toMatch(/rate limit/);
  });

  it('github: a secondary rate limit (403 + retry-after) is an outage', async () => {
    fake.override('github', () => ({ status: 403, headers: { 'retry-after': '60', 'x-ratelimit-remaining': '4000' }, body: { message: 'You have exceeded a secondary rate limit.' } }));
    expect(await verify('github', VALID.github)).toMatchObject({ outcome: 'unavailable' });
  });

  it('github: any other 403 is a rejection', async () => {
    const result = await verify('github', 'forbidden');
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'auth_failed' });
    expect(result.outcome === 'rejected' && result.detail).toMatch(/Resource not accessible/);
  });

  it('github: 401 quotes "Bad credentials"', async () => {
    const result = await verify('github', WRONG);
    expect(result.outcome === 'rejected' && result.detail).toBe('GitHub rejected the token (HTTP 401): Bad credentials.');
  });

  it('postmark: 422 with ErrorCode 10 is a rejection; other 422s are not', async () => {
    fake.override('postmark', () => ({ status: 422, body: { ErrorCode: 10, Message: 'Bad or missing API token' } }));
    expect(await verify('postmark', WRONG)).toMatchObject({ outcome: 'rejected', reason: 'auth_failed' });
    fake.override('postmark', () => ({ status: 422, body: { ErrorCode: 300, Message: 'Invalid email request' } }));
    expect(await verify('postmark', WRONG)).toMatchObject({ outcome: 'unavailable' });
  });

  it('postmark: 401 quotes the documented message', async () => {
    const result = await verify('postmark', WRONG);
    expect(result.outcome === 'rejected' && result.detail).toMatch(/^Postmark rejected the server token \(HTTP 401\): The Server Token you provided/);
  });

  it('netdata and outstand: 403 is a rejection too', async () => {
    expect(await verify('netdata', 'forbidden')).toMatchObject({ outcome: 'rejected' });
    expect(await verify('outstand', 'forbidden')).toMatchObject({ outcome: 'rejected' });
  });

  it('an unexpected 404 (e.g. wrong base URL) does not mark the key invalid', async () => {
    const result = await verify('netdata', VALID.netdata, { metadata: { base_url: `${fake.url}/nowhere` } });
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
  });
});

describe('netdata uses metadata.base_url', () => {
  it('calls the tenant-chosen URL only through the tenant fetch; the outbound guard refuses loopback', async () => {
    const guarded = createSafeFetch({ policy: { allowHttp: true, allowPrivate: false } });
    try {
      const before = fake.requestsFor('netdata').length;
      const result = await verifyIntegrationKey(
        { provider: 'netdata', key: VALID.netdata, metadata: { base_url: fake.netdataBaseUrl } },
        { urls: fake.urls, timeoutMs: 2_000, fetch, tenantFetch: guarded },
      );
      expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
      expect((result as { detail: string }).detail).toMatch(/Netdata was not called: .*loopback/);
      expect(fake.requestsFor('netdata')).toHaveLength(before);
    } finally {
      await guarded.close();
    }
  });

  it('requests go to the tenant-supplied base URL, not any configured one', async () => {
    const other = await startFakeProviders({ validTokens: [VALID.netdata] });
    try {
      expect(await verify('netdata', VALID.netdata, { metadata: { base_url: other.netdataBaseUrl } })).toEqual({ outcome: 'valid' });
      expect(other.requestsFor('netdata')).toHaveLength(1);
      expect(fake.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('a missing base_url at verify time is an outage, with no request made', async () => {
    const result = await verify('netdata', VALID.netdata, { metadata: {} });
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
    expect(result.outcome === 'unavailable' && result.detail).toMatch(/base_url/);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('transport', () => {
  it('every request goes through the injected fetch, with redirect manual and a signal', async () => {
    const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
    const spy: typeof fetch = async (url, init) => {
      calls.push({ url: String(url), init });
      return fetch(url, init);
    };
    for (const provider of PROVIDERS) expect(await verify(provider, VALID[provider], { fetch: spy })).toEqual({ outcome: 'valid' });
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual([
      '/cloudflare/client/v4/user/tokens/verify',
      '/github/user',
      '/netdata/api/v2/spaces',
      '/postmark/server',
      '/outstand/v1/social-accounts',
    ]);
    for (const call of calls) {
      expect(call.init?.redirect).toBe('manual');
      expect(call.init?.signal).toBeInstanceOf(AbortSignal);
    }
  });

  it('an injected fetch that ignores the signal still times out', async () => {
    const stuck: typeof fetch = () => new Promise<Response>(() => undefined);
    const result = await verify('github', VALID.github, { fetch: stuck, timeoutMs: 300 });
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
  });

  it('a refused connection is an outage', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await verifyIntegrationKey(
      { provider: 'github', key: VALID.github, metadata: {} },
      { urls: { ...fake.urls, github: `http://127.0.0.1:${port}` }, timeoutMs: 2_000, tenantFetch: fetch },
    );
    seen.push({ key: VALID.github, result });
    expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
  });

  it('a fetch that throws an error mentioning the key does not leak it', async () => {
    const throwing: typeof fetch = async () => {
      throw new TypeError(`fetch failed for ${VALID.github}`);
    };
    const result = await verify('github', VALID.github, { fetch: throwing });
    expect(result).toMatchObject({ outcome: 'unavailable' });
  });

  it('a body that stalls after the headers times out', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"login":');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      const result = await verifyIntegrationKey(
        { provider: 'github', key: VALID.github, metadata: {} },
        { urls: { ...fake.urls, github: `http://127.0.0.1:${port}` }, timeoutMs: 300, tenantFetch: fetch },
      );
      seen.push({ key: VALID.github, result });
      expect(result).toMatchObject({ outcome: 'unavailable', reason: 'provider_unavailable' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('validateProviderMetadata', () => {
  function inputError(fn: () => unknown): InputError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      return err as InputError;
    }
    throw new Error('expected an InputError');
  }

  it('netdata requires base_url', () => {
    expect(inputError(() => validateProviderMetadata('netdata', {})).field).toBe('metadata.base_url');
    expect(inputError(() => validateProviderMetadata('netdata', { base_url: '' })).field).toBe('metadata.base_url');
    expect(inputError(() => validateProviderMetadata('netdata', { base_url: 42 })).field).toBe('metadata.base_url');
  });

  it('netdata base_url must be https (http only when allowHttp)', () => {
    const err = inputError(() => validateProviderMetadata('netdata', { base_url: 'http://app.netdata.cloud' }));
    expect(err.field).toBe('metadata.base_url');
    expect(err.message).toMatch(/https/);
    expect(inputError(() => validateProviderMetadata('netdata', { base_url: 'ftp://app.netdata.cloud' })).field).toBe('metadata.base_url');
    expect(inputError(() => validateProviderMetadata('netdata', { base_url: 'not a url' })).field).toBe('metadata.base_url');
    expect(inputError(() => validateProviderMetadata('netdata', { base_url: 'https://user:pw@app.netdata.cloud' })).field).toBe('metadata.base_url');
    expect(inputError(() => validateProviderMetadata('netdata', { base_url: 'https://app.netdata.cloud/?x=1' })).field).toBe('metadata.base_url');
    expect(validateProviderMetadata('netdata', { base_url: 'http://127.0.0.1:19999/' }, { allowHttp: true })).toEqual({
      base_url: 'http://127.0.0.1:19999',
    });
  });

  it('netdata base_url is normalised', () => {
    expect(validateProviderMetadata('netdata', { base_url: ' https://APP.netdata.cloud/ ', note: 'prod' })).toEqual({
      base_url: 'https://app.netdata.cloud',
      note: 'prod',
    });
    expect(validateProviderMetadata('netdata', { base_url: 'https://netdata.example.com/parent/' })).toEqual({
      base_url: 'https://netdata.example.com/parent',
    });
  });

  it('metadata must be a JSON object', () => {
    for (const bad of [null, 'x', 1, [], [{ base_url: 'https://app.netdata.cloud' }], true]) {
      const err = inputError(() => validateProviderMetadata('github', bad));
      expect(err.field).toBe('metadata');
    }
  });

  it('metadata must be at most 16 KiB', () => {
    const err = inputError(() => validateProviderMetadata('github', { note: 'x'.repeat(17 * 1024) }));
    expect(err.field).toBe('metadata');
    expect(err.message).toMatch(/16384/);
    expect(validateProviderMetadata('github', { note: 'x'.repeat(15 * 1024) })).toHaveProperty('note');
  });

  it('cloudflare account_id is optional and must look like an account ID', () => {
    expect(validateProviderMetadata('cloudflare', {})).toEqual({});
    expect(validateProviderMetadata('cloudflare', { account_id: ACCOUNT_ID.toUpperCase() })).toEqual({ account_id: ACCOUNT_ID });
    expect(validateProviderMetadata('cloudflare', { account_id: null })).toEqual({});
    expect(inputError(() => validateProviderMetadata('cloudflare', { account_id: '../../user' })).field).toBe('metadata.account_id');
    expect(inputError(() => validateProviderMetadata('cloudflare', { account_id: 12 })).field).toBe('metadata.account_id');
  });

  it('providers without metadata rules accept an empty object', () => {
    for (const provider of ['github', 'postmark', 'outstand'] as const) expect(validateProviderMetadata(provider, {})).toEqual({});
  });

  it('an unknown provider is an input error', () => {
    expect(inputError(() => validateProviderMetadata('toString' as Provider, {})).field).toBe('provider');
  });
});

describe('the table', () => {
  it('has one spec per provider', () => {
    expect(Object.keys(providerTable).sort()).toEqual([...PROVIDERS].sort());
  });
});

describe('redactKey', () => {
  it('removes the key and long fragments of it', () => {
    const key = 'ghp_abcdefghijklmnopqrstuvwxyz012345';
    expect(redactKey(`bad ${key} here`, key)).toBe('bad [redacted] here');
    expect(redactKey('prefix ghp_abcdefgh… truncated', key)).toBe('prefix [redacted]… truncated');
    expect(redactKey('Bad credentials.', key)).toBe('Bad credentials.');
  });
});

describe('no detail ever contains the key', () => {
  it('holds for every result produced above', () => {
    expect(seen.length).toBeGreaterThan(40);
    for (const { key, result } of seen) {
      if (result.outcome !== 'valid') expect(result.detail).not.toContain(key);
    }
  });
});
