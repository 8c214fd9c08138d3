import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { selfSignedCert } from '../../../test/fakes/tls';
import {
  checkOutboundUrl,
  createSafeFetch,
  OutboundError,
  type OutboundFailure,
  type SafeFetchOptions,
} from './safe-fetch';

const strict = { allowHttp: false, allowPrivate: false };
const MiB = 1024 * 1024;

// Fake DNS. The public-looking addresses are never really contacted: `dial` routes them to local servers.
const zone: Record<string, string[]> = {
  'public.test': ['8.8.8.8'],
  'other.test': ['8.8.4.4'],
  'silent.test': ['1.1.1.1'],
  'closed.test': ['9.9.9.9'],
  'internal.test': ['10.1.2.3'],
  'mixed.test': ['8.8.8.8', '127.0.0.1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'metadata.test': ['169.254.169.254'],
  'v6.test': ['2606:4700:4700::1111', 'fd00::1'],
  'empty.test': [],
};

async function resolve(hostname: string): Promise<string[]> {
  const addresses = zone[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses;
}

async function failure(promise: Promise<unknown>): Promise<OutboundError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OutboundError) return err;
    throw err;
  }
  throw new Error('expected an OutboundError');
}

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done((server.address() as AddressInfo).port)));
}

function close(server: Server | ReturnType<typeof createTcpServer>): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((done) => server.close(() => done()));
}

const { cert, key } = selfSignedCert(['public.test']);

let publicPort: number;
let privatePort: number;
let silentPort: number;
let closedPort: number;
let proxyPort: number;
const publicRequests: string[] = [];
const privateRequests: string[] = [];
let proxyConnections = 0;
let hugeBytesSent: number | null = null;
const silentSockets: Socket[] = [];

function publicHandler(req: IncomingMessage, res: ServerResponse) {
  publicRequests.push(req.url ?? '');
  switch (req.url) {
    case '/ok':
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'public' });
      res.end(JSON.stringify({ hello: 'world' }));
      return;
    case '/close':
      res.writeHead(200, { connection: 'close' });
      res.end('bye');
      return;
    case '/no-content':
      res.writeHead(204).end();
      return;
    case '/redirect':
      res.writeHead(302, { location: `http://127.0.0.1:${privatePort}/secret` });
      res.end('moved');
      return;
    case '/slow-headers':
      return; // never answers
    case '/stall':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      return; // and then nothing
    case '/huge': {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      const pump = () => {
        while (sent < 50 * MiB) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (hugeBytesSent = sent));
      pump();
      return;
    }
    case '/declared-huge':
      res.writeHead(200, { 'content-length': String(100 * MiB) });
      res.write('x');
      return;
    default:
      res.writeHead(404).end();
  }
}

const publicServer = createHttpsServer({ cert, key }, publicHandler);
const privateServer = createHttpServer((req, res) => {
  privateRequests.push(req.url ?? '');
  res.writeHead(200, { 'content-type': 'text/plain' }).end('private data');
});
// Accepts TCP and never says a word: a TLS handshake against it cannot complete.
const silentServer = createTcpServer((socket) => void silentSockets.push(socket));
const proxyServer = createHttpServer((_req, res) => res.writeHead(502).end());
proxyServer.on('connection', () => proxyConnections++);

beforeAll(async () => {
  [publicPort, privatePort, silentPort, proxyPort] = (await Promise.all(
    [publicServer, privateServer, silentServer, proxyServer].map(listen),
  )) as [number, number, number, number];
  const doomed = createTcpServer();
  closedPort = await listen(doomed);
  await close(doomed);
});

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await Promise.all([publicServer, privateServer, silentServer, proxyServer].map(close));
});

// Routes the fake public addresses to the local servers, and nothing else.
function route(address: string, port: number) {
  const routes: Record<string, number> = {
    '8.8.8.8:443': publicPort,
    '8.8.4.4:443': publicPort,
    '1.1.1.1:443': silentPort,
    '9.9.9.9:443': closedPort,
  };
  const routed = routes[`${address}:${port}`];
  if (routed === undefined) throw new Error(`test dialled an unexpected address ${address}:${port}`);
  return { host: '127.0.0.1', port: routed };
}

const instances: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(instances.map((f) => f.close()));
});

/** A strict safe fetch wired to the fake DNS and local servers; `dialed` records where it connected. */
function safeFetch(overrides: Partial<SafeFetchOptions> = {}) {
  const dialed: string[] = [];
  const fetch = createSafeFetch({
    policy: strict,
    resolve,
    dial: (address, port) => {
      dialed.push(`${address}:${port}`);
      return route(address, port);
    },
    ca: cert,
    connectTimeoutMs: 300,
    headersTimeoutMs: 300,
    bodyTimeoutMs: 300,
    maxResponseBytes: MiB,
    ...overrides,
  });
  instances.push(fetch);
  return Object.assign(fetch, { dialed });
}

describe('hostile URLs are refused before any connection', () => {
  const hostile: { url: string; reason: OutboundFailure }[] = [
    { url: 'https://127.1/', reason: 'private_address' },
    { url: 'https://0177.0.0.1/', reason: 'private_address' },
    { url: 'https://0x7f000001/', reason: 'private_address' },
    { url: 'https://2130706433/', reason: 'private_address' },
    { url: 'https://127.0.0.1:8443/admin', reason: 'private_address' },
    { url: 'https://[::1]/', reason: 'private_address' },
    { url: 'https://[::]/', reason: 'private_address' },
    { url: 'https://[::ffff:127.0.0.1]/', reason: 'private_address' },
    { url: 'https://[::ffff:a9fe:a9fe]/', reason: 'private_address' },
    { url: 'https://[::127.0.0.1]/', reason: 'private_address' },
    { url: 'https://localhost/', reason: 'private_address' },
    { url: 'https://LOCALHOST./', reason: 'private_address' },
    { url: 'https://foo.localhost/', reason: 'private_address' },
    { url: 'https://10.0.0.1/', reason: 'private_address' },
    { url: 'https://172.16.5.4/', reason: 'private_address' },
    { url: 'https://192.168.1.1/', reason: 'private_address' },
    { url: 'https://100.64.0.1/', reason: 'private_address' },
    { url: 'https://169.254.169.254/latest/meta-data/', reason: 'private_address' },
    { url: 'https://0.0.0.0/', reason: 'private_address' },
    { url: 'https://0/', reason: 'private_address' },
    { url: 'https://[fd00::1]/', reason: 'private_address' },
    { url: 'https://[fe80::1]/', reason: 'private_address' },
    { url: 'https://[64:ff9b::a00:1]/', reason: 'private_address' },
    { url: 'https://[64:ff9b::7f00:1]/', reason: 'private_address' },
    { url: 'https://[2002:a00:1::]/', reason: 'private_address' },
    { url: 'https://[2002:7f00:1::]/', reason: 'private_address' },
    { url: 'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', reason: 'private_address' },
    { url: 'https://[2001:db8::1]/', reason: 'private_address' },
    { url: 'https://[ff02::1]/', reason: 'private_address' },
    { url: 'https://224.0.0.1/', reason: 'private_address' },
    { url: 'https://255.255.255.255/', reason: 'private_address' },
    { url: 'https://192.0.2.1/', reason: 'private_address' },
    { url: 'https://internal.test/', reason: 'private_address' },
    { url: 'https://mixed.test/', reason: 'private_address' },
    { url: 'https://mapped.test/', reason: 'private_address' },
    { url: 'https://metadata.test/', reason: 'private_address' },
    { url: 'https://v6.test/', reason: 'private_address' },
    { url: 'https://nowhere.test/', reason: 'unresolvable' },
    { url: 'https://empty.test/', reason: 'unresolvable' },
    { url: 'http://example.com/', reason: 'scheme_not_allowed' },
    { url: 'ftp://example.com/', reason: 'scheme_not_allowed' },
    { url: 'file:///etc/passwd', reason: 'scheme_not_allowed' },
    { url: 'gopher://example.com/', reason: 'scheme_not_allowed' },
    { url: 'data:text/plain,hello', reason: 'scheme_not_allowed' },
    { url: 'ws://example.com/', reason: 'scheme_not_allowed' },
    { url: 'javascript:alert(1)', reason: 'scheme_not_allowed' },
    { url: 'https://user:pass@example.com/', reason: 'credentials_in_url' },
    { url: 'https://token@example.com/', reason: 'credentials_in_url' },
    { url: 'not a url', reason: 'invalid_url' },
    { url: 'https://[fe80::1%25eth0]/', reason: 'invalid_url' },
    { url: '//example.com/', reason: 'invalid_url' },
  ];

  it.each(hostile)('$url → $reason', async ({ url, reason }) => {
    const fetch = safeFetch();
    const err = await failure(fetch(url));
    expect(err.reason).toBe(reason);
    expect(fetch.dialed).toEqual([]);
  });

  it('explains why, naming the range', async () => {
    const err = await failure(safeFetch()('https://mixed.test/'));
    expect(err.message).toBe('mixed.test resolves to 127.0.0.1, which is not a public address: loopback (127.0.0.0/8)');
  });
});

describe('safe fetch against a "public" server', () => {
  it('returns a normal Response whose JSON body can be read', async () => {
    const res = await safeFetch()('https://public.test/ok');
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-served-by')).toBe('public');
    expect(res.url).toBe('https://public.test/ok');
    expect(await res.json()).toEqual({ hello: 'world' });
  });

  it('passes a body-less status through', async () => {
    const res = await safeFetch()('https://public.test/no-content');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
  });

  it('refuses a redirect to a private address without following it', async () => {
    const before = privateRequests.length;
    const err = await failure(
      safeFetch()('https://public.test/redirect', { headers: { authorization: 'Bearer sekrit-token' } }),
    );
    expect(err.reason).toBe('redirect_refused');
    expect(err.message).toContain('302');
    expect(err.message).toContain(`http://127.0.0.1:${privatePort}/secret`);
    expect(err.message).not.toContain('sekrit');
    expect(privateRequests.length).toBe(before);
  });

  it('refuses a certificate that does not name the host', async () => {
    const err = await failure(safeFetch()('https://other.test/ok'));
    expect(err.reason).toBe('connection_failed');
    expect(err.message).toMatch(/altnames/);
  });

  it('refuses a certificate from an untrusted CA', async () => {
    const err = await failure(safeFetch({ ca: undefined })('https://public.test/ok'));
    expect(err.reason).toBe('connection_failed');
    expect(err.message).toMatch(/self-signed/);
  });

  it('times out a connection whose TLS handshake never completes', async () => {
    const err = await failure(safeFetch()('https://silent.test/'));
    expect(err.reason).toBe('connect_timeout');
  });

  it('reports a refused connection', async () => {
    const err = await failure(safeFetch()('https://closed.test/'));
    expect(err.reason).toBe('connection_failed');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('times out slow headers', async () => {
    const err = await failure(
      safeFetch()('https://public.test/slow-headers', { headers: { authorization: 'Bearer sekrit-token' } }),
    );
    expect(err.reason).toBe('headers_timeout');
    expect(err.message).not.toContain('sekrit');
  });

  it('times out a stalled body, seen by a streaming consumer', async () => {
    const res = await safeFetch()('https://public.test/stall');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: first\n\n');
    const err = await failure(reader.read());
    expect(err.reason).toBe('body_timeout');
  });

  it('stops a 50 MB body at the cap without buffering it', async () => {
    hugeBytesSent = null;
    const res = await safeFetch()('https://public.test/huge');
    const err = await failure(res.text());
    expect(err.reason).toBe('response_too_large');
    await vi.waitFor(() => expect(hugeBytesSent).not.toBeNull());
    // Kernel and TLS buffers hold a few MiB at most; the other ~45 MB were never sent.
    expect(hugeBytesSent!).toBeLessThan(8 * MiB);
  });

  it('refuses a declared Content-Length over the cap up front', async () => {
    const err = await failure(safeFetch()('https://public.test/declared-huge'));
    expect(err.reason).toBe('response_too_large');
  });

  it('maps the caller aborting while waiting for headers', async () => {
    const err = await failure(
      safeFetch({ headersTimeoutMs: 5_000 })('https://public.test/slow-headers', { signal: AbortSignal.timeout(50) }),
    );
    expect(err.reason).toBe('aborted');
  });

  it('maps the caller aborting mid-body', async () => {
    const controller = new AbortController();
    const res = await safeFetch({ bodyTimeoutMs: 5_000 })('https://public.test/stall', { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    setTimeout(() => controller.abort(), 20);
    const err = await failure(reader.read());
    expect(err.reason).toBe('aborted');
  });

  it('refuses at once when the signal is already aborted', async () => {
    const err = await failure(safeFetch()('https://public.test/ok', { signal: AbortSignal.abort() }));
    expect(err.reason).toBe('aborted');
  });

  it('resolves a host once per instance and keeps connecting to the pinned address', async () => {
    const answers = [['8.8.8.8'], ['127.0.0.1']]; // a rebinding resolver
    const calls: string[] = [];
    const fetch = safeFetch({
      resolve: async (hostname) => {
        calls.push(hostname);
        return answers[calls.length - 1] ?? ['127.0.0.1'];
      },
    });
    // `/close` makes the server drop the connection, so the second request dials again.
    expect(await (await fetch('https://public.test/close')).text()).toBe('bye');
    expect(await (await fetch('https://public.test/close')).text()).toBe('bye');
    expect(calls).toEqual(['public.test']);
    expect(fetch.dialed).toEqual(['8.8.8.8:443', '8.8.8.8:443']);
  });

  it('ignores proxy environment variables', async () => {
    const names = ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'https_proxy', 'http_proxy', 'all_proxy'];
    const saved = names.map((n) => process.env[n]);
    const savedNoProxy = [process.env.NO_PROXY, process.env.no_proxy];
    for (const n of names) process.env[n] = `http://127.0.0.1:${proxyPort}`;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    try {
      expect((await safeFetch()('https://public.test/ok')).status).toBe(200);
      const dev = safeFetch({ policy: { allowHttp: true, allowPrivate: true }, dial: undefined });
      expect(await (await dev(`http://127.0.0.1:${privatePort}/via-env`)).text()).toBe('private data');
      expect(proxyConnections).toBe(0);
    } finally {
      names.forEach((n, i) => (saved[i] === undefined ? delete process.env[n] : (process.env[n] = saved[i])));
      [process.env.NO_PROXY, process.env.no_proxy] = savedNoProxy;
      if (savedNoProxy[0] === undefined) delete process.env.NO_PROXY;
      if (savedNoProxy[1] === undefined) delete process.env.no_proxy;
    }
  });

  it('fails requests after close()', async () => {
    const fetch = createSafeFetch({ policy: strict, resolve, dial: route, ca: cert });
    expect((await fetch('https://public.test/ok')).status).toBe(200);
    await fetch.close();
    expect((await failure(fetch('https://public.test/ok'))).reason).toBe('connection_failed');
  });
});

describe('relaxed policy (development and tests)', () => {
  it('reaches plain http on 127.0.0.1', async () => {
    const fetch = createSafeFetch({ policy: { allowHttp: true, allowPrivate: true } });
    instances.push(fetch);
    const res = await fetch(`http://127.0.0.1:${privatePort}/dev`);
    expect(await res.text()).toBe('private data');
    expect(privateRequests).toContain('/dev');
  });

  it('survives a status line the Response constructor would reject', async () => {
    const raw = createTcpServer((socket) =>
      socket.once('data', () => socket.end(Buffer.from('HTTP/1.1 200 caf\xe9\x7f\r\ncontent-length: 2\r\n\r\nhi', 'latin1'))),
    );
    const port = await listen(raw);
    try {
      const fetch = safeFetch({ policy: { allowHttp: true, allowPrivate: true }, dial: undefined });
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.statusText).toBe('caf');
      expect(await res.text()).toBe('hi');
    } finally {
      await close(raw);
    }
  });

  it('still refuses other schemes and credentials', async () => {
    const fetch = safeFetch({ policy: { allowHttp: true, allowPrivate: true } });
    expect((await failure(fetch('ftp://127.0.0.1/'))).reason).toBe('scheme_not_allowed');
    expect((await failure(fetch(`http://a:b@127.0.0.1:${privatePort}/`))).reason).toBe('credentials_in_url');
  });
});

describe('checkOutboundUrl', () => {
  it('accepts a public URL and returns its addresses', async () => {
    const { url, addresses } = await checkOutboundUrl('https://public.test/mcp', strict, resolve);
    expect(url.href).toBe('https://public.test/mcp');
    expect(addresses).toEqual(['8.8.8.8']);
  });

  it('refuses a private one without connecting', async () => {
    expect((await failure(checkOutboundUrl('https://internal.test/', strict, resolve))).reason).toBe('private_address');
    expect((await failure(checkOutboundUrl('https://127.1/', strict, resolve))).reason).toBe('private_address');
  });

  it('refuses plain http unless allowed', async () => {
    expect((await failure(checkOutboundUrl('http://public.test/', strict, resolve))).reason).toBe('scheme_not_allowed');
    const ok = await checkOutboundUrl('http://public.test/', { allowHttp: true, allowPrivate: false }, resolve);
    expect(ok.addresses).toEqual(['8.8.8.8']);
  });

  it('refuses credentials and unresolvable names', async () => {
    expect((await failure(checkOutboundUrl('https://u:p@public.test/', strict, resolve))).reason).toBe('credentials_in_url');
    expect((await failure(checkOutboundUrl('https://nowhere.test/', strict, resolve))).reason).toBe('unresolvable');
  });

  it('accepts private addresses under allowPrivate', async () => {
    const { addresses } = await checkOutboundUrl('https://mixed.test/', { allowHttp: false, allowPrivate: true }, resolve);
    expect(addresses).toEqual(['8.8.8.8', '127.0.0.1']);
  });
});
