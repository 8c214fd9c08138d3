import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One local HTTP server standing in for every integration provider's verify endpoint, each under
 * its own path prefix:
 *
 *   cloudflare  {url}/cloudflare/client/v4/user/tokens/verify
 *               {url}/cloudflare/client/v4/accounts/{account_id}/tokens/verify
 *   github      {url}/github/user
 *   netdata     {url}/netdata/api/v2/spaces          (netdata's base_url is `${url}/netdata`)
 *   postmark    {url}/postmark/server
 *   outstand    {url}/outstand/v1/social-accounts
 *
 * Behaviour by token: tokens in `validTokens` pass; 'outage' → 503; 'ratelimited' → 429 (GitHub:
 * 403 with x-ratelimit-remaining: 0); 'hang' → never answers; 'redirect' → 302 to {url}/elsewhere
 * (which would answer 200 if followed); 'forbidden' → 403 (GitHub: a non-rate-limit 403);
 * anything else → the provider's documented rejection. Cloudflare tokens listed in
 * `cloudflareTokenStatus` answer 200 with that token status (e.g. 'disabled').
 */

export type FakeProvider = 'cloudflare' | 'github' | 'netdata' | 'postmark' | 'outstand';

export type RecordedRequest = {
  provider: FakeProvider | null;
  method: string;
  /** Full path including the provider prefix and query string. */
  path: string;
  headers: IncomingHttpHeaders;
};

export type FakeReply = { status: number; headers?: Record<string, string>; body?: string | object };

export type FakeProvidersOptions = {
  validTokens?: Iterable<string>;
  cloudflareTokenStatus?: Record<string, string>;
};

export type FakeProviders = {
  url: string;
  /** Config-style base URLs for the providers that have one. */
  urls: { cloudflare: string; github: string; postmark: string; outstand: string };
  /** What a tenant would store as netdata `metadata.base_url`. */
  netdataBaseUrl: string;
  requests: RecordedRequest[];
  requestsFor(provider: FakeProvider): RecordedRequest[];
  validTokens: Set<string>;
  cloudflareTokenStatus: Map<string, string>;
  /** Answers the next requests of a provider with this reply instead of the token behaviour (until cleared). */
  override(provider: FakeProvider, reply: ((token: string | undefined) => FakeReply | undefined) | undefined): void;
  reset(): void;
  close(): Promise<void>;
};

// Provider bodies, as the providers document them.

const cloudflareActive = (status = 'active') => ({
  result: { id: 'f267e341f3dd4697bd3b9f71dd96247f', status, not_before: '2018-07-01T05:20:00Z', expires_on: '2030-01-01T00:00:00Z' },
  success: true,
  errors: [],
  messages: [{ code: 10000, message: 'This API Token is valid and active', type: null }],
});
const cloudflareInvalid = { success: false, errors: [{ code: 1000, message: 'Invalid API Token' }], messages: [], result: null };
const cloudflareRateLimited = {
  success: false,
  errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
  messages: [],
  result: null,
};

const githubUser = { login: 'octocat', id: 1, node_id: 'MDQ6VXNlcjE=', type: 'User', site_admin: false, name: 'monalisa octocat' };
const githubBadCredentials = { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' };
const githubRateLimited = {
  message: 'API rate limit exceeded for user ID 1.',
  documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
};
const githubForbidden = {
  message: 'Resource not accessible by personal access token',
  documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
  status: '403',
};

const netdataSpaces = [{ id: '0b9a9f2e-3f0c-4c39-9d8d-6a2b2f1f6d11', slug: 'my-space', name: 'My Space' }];
// Illustrative: Netdata Cloud's error envelope for an unauthenticated call.
const netdataUnauthorized = { errorCode: 'unauthorized', errorMsgKey: 'ErrUnauthenticated', errorMessage: 'Unauthenticated', status: 401 };

const postmarkServer = (token: string) => ({
  ID: 1,
  Name: 'Staging Testing',
  ApiTokens: [token],
  Color: 'red',
  SmtpApiActivated: true,
  RawEmailEnabled: false,
  DeliveryType: 'Live',
  ServerLink: 'https://postmarkapp.com/servers/1/streams',
  InboundAddress: 'yourhash@inbound.postmarkapp.com',
  TrackOpens: false,
  TrackLinks: 'None',
});
const postmarkMissing = {
  ErrorCode: 10,
  Message:
    'No Account or Server API tokens were supplied in the HTTP headers. Please add a header for either X-Postmark-Server-Token or X-Postmark-Account-Token.',
};
const postmarkInvalid = {
  ErrorCode: 10,
  Message:
    'The Server Token you provided in the X-Postmark-Server-Token request header was invalid. Please verify that you are using a valid token.',
};
const postmarkRateLimited = { ErrorCode: 429, Message: 'Rate limit exceeded.' };

const outstandAccounts = { success: true, data: [], count: 0, limit: 1, offset: 0 };
// Assumed shape (Outstand's documented error envelope); the exact 401 body is not documented.
const outstandUnauthorized = { success: false, error: 'Unauthorized', message: 'Invalid or missing API key' };

const routes: Array<{ provider: FakeProvider; pattern: RegExp }> = [
  { provider: 'cloudflare', pattern: /^\/cloudflare\/client\/v4\/(user|accounts\/[^/]+)\/tokens\/verify$/ },
  { provider: 'github', pattern: /^\/github\/user$/ },
  { provider: 'netdata', pattern: /^\/netdata\/api\/v2\/spaces$/ },
  { provider: 'postmark', pattern: /^\/postmark\/server$/ },
  { provider: 'outstand', pattern: /^\/outstand\/v1\/social-accounts$/ },
];

function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer (.+)$/.exec(headers.authorization ?? '');
  return match?.[1];
}

function tokenOf(provider: FakeProvider, req: IncomingMessage): string | undefined {
  if (provider === 'postmark') {
    const value = req.headers['x-postmark-server-token'];
    return Array.isArray(value) ? value[0] : value;
  }
  return bearerToken(req.headers);
}

function send(res: ServerResponse, reply: FakeReply): void {
  const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  const contentType = typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
  res.writeHead(reply.status, { 'content-type': contentType, ...reply.headers });
  res.end(body);
}

function rejection(provider: FakeProvider, token: string | undefined, behaviour: string | undefined): FakeReply {
  switch (provider) {
    case 'cloudflare':
      return { status: 401, body: cloudflareInvalid };
    case 'github':
      if (behaviour === 'forbidden') return { status: 403, headers: { 'x-ratelimit-remaining': '4999' }, body: githubForbidden };
      return { status: 401, body: githubBadCredentials };
    case 'netdata':
      return { status: behaviour === 'forbidden' ? 403 : 401, body: netdataUnauthorized };
    case 'postmark':
      return { status: 401, body: token === undefined ? postmarkMissing : postmarkInvalid };
    case 'outstand':
      return { status: behaviour === 'forbidden' ? 403 : 401, body: outstandUnauthorized };
  }
}

function success(provider: FakeProvider, token: string, cloudflareStatus: string | undefined): FakeReply {
  switch (provider) {
    case 'cloudflare':
      return { status: 200, body: cloudflareActive(cloudflareStatus) };
    case 'github':
      return { status: 200, headers: { 'x-ratelimit-remaining': '4999', 'x-ratelimit-limit': '5000' }, body: githubUser };
    case 'netdata':
      return { status: 200, body: netdataSpaces };
    case 'postmark':
      return { status: 200, body: postmarkServer(token) };
    case 'outstand':
      return { status: 200, body: outstandAccounts };
  }
}

function rateLimited(provider: FakeProvider): FakeReply {
  const reset = String(Math.floor(Date.now() / 1000) + 3600);
  switch (provider) {
    case 'github':
      return {
        status: 403,
        headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': reset },
        body: githubRateLimited,
      };
    case 'cloudflare':
      return { status: 429, headers: { 'retry-after': '60' }, body: cloudflareRateLimited };
    case 'postmark':
      return { status: 429, body: postmarkRateLimited };
    default:
      return { status: 429, headers: { 'retry-after': '60' }, body: { message: 'Too Many Requests' } };
  }
}

export async function startFakeProviders(options: FakeProvidersOptions = {}): Promise<FakeProviders> {
  const validTokens = new Set(options.validTokens ?? []);
  const cloudflareTokenStatus = new Map(Object.entries(options.cloudflareTokenStatus ?? {}));
  const requests: RecordedRequest[] = [];
  const overrides = new Map<FakeProvider, (token: string | undefined) => FakeReply | undefined>();
  const hanging = new Set<ServerResponse>();
  let url = '';

  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const pathname = path.split('?')[0] ?? '/';
    const provider = routes.find((r) => r.pattern.test(pathname))?.provider ?? null;
    requests.push({ provider, method: req.method ?? 'GET', path, headers: { ...req.headers } });
    req.resume();

    if (pathname === '/elsewhere') {
      // Where redirects point: answering "valid" so that following one would be visible.
      return send(res, { status: 200, body: { success: true, result: { status: 'active' }, login: 'elsewhere' } });
    }
    if (!provider || req.method !== 'GET') return send(res, { status: 404, body: { message: 'Not Found' } });

    const token = tokenOf(provider, req);
    const custom = overrides.get(provider)?.(token);
    if (custom) return send(res, custom);

    switch (token) {
      case 'outage':
        return send(res, { status: 503, body: 'Service Unavailable' });
      case 'ratelimited':
        return send(res, rateLimited(provider));
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'redirect':
        return send(res, { status: 302, headers: { location: `${url}/elsewhere` }, body: '' });
      default:
        if (token !== undefined && validTokens.has(token)) return send(res, success(provider, token, undefined));
        if (provider === 'cloudflare' && token !== undefined && cloudflareTokenStatus.has(token)) {
          return send(res, success(provider, token, cloudflareTokenStatus.get(token)));
        }
        return send(res, rejection(provider, token, token));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;

  return {
    url,
    urls: {
      cloudflare: `${url}/cloudflare`,
      github: `${url}/github`,
      postmark: `${url}/postmark`,
      outstand: `${url}/outstand`,
    },
    netdataBaseUrl: `${url}/netdata`,
    requests,
    requestsFor: (provider) => requests.filter((r) => r.provider === provider),
    validTokens,
    cloudflareTokenStatus,
    override(provider, reply) {
      if (reply) overrides.set(provider, reply);
      else overrides.delete(provider);
    },
    reset() {
      requests.length = 0;
      overrides.clear();
    },
    async close() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
