import { promises as dns } from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import {
  Agent,
  fetch as undiciFetch,
  type buildConnector,
  type Dispatcher,
  type RequestInit as UndiciRequestInit,
} from 'undici';
import { refusalForAddress } from './address-policy';

/**
 * fetch for tenant-supplied URLs. Tenants are untrusted, so every request is checked (scheme, no
 * userinfo, every resolved address public), the host is resolved once per instance and the
 * connection is opened to that pinned address only (no DNS rebinding), redirects are refused
 * rather than followed (they could point anywhere), and the response is bounded in time and size.
 * Proxy environment variables are ignored on purpose: the request must go where it was checked to go.
 */

export interface OutboundPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
}

export type OutboundFailure =
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'credentials_in_url'
  | 'private_address'
  | 'unresolvable'
  | 'redirect_refused'
  | 'connect_timeout'
  | 'headers_timeout'
  | 'body_timeout'
  | 'response_too_large'
  | 'connection_failed'
  | 'aborted';

export class OutboundError extends Error {
  override name = 'OutboundError';
  constructor(
    readonly reason: OutboundFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface SafeFetchOptions {
  policy: OutboundPolicy;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** Max idle gap between body chunks. */
  bodyTimeoutMs?: number;
  maxResponseBytes?: number;
  /** DNS seam; default: dns.promises.lookup(host, {all: true, verbatim: true}) → addresses. */
  resolve?: (hostname: string) => Promise<string[]>;
  /** Extra trust roots (tests' self-signed CA). */
  ca?: string | Buffer;
  /** Test seam: where to really open the TCP connection for an already-validated address:port. Default identity. */
  dial?: (address: string, port: number) => { host: string; port: number };
}

export type SafeFetch = ((input: string | URL, init?: RequestInit) => Promise<Response>) & { close(): Promise<void> };

const MiB = 1024 * 1024;

async function lookupAll(hostname: string): Promise<string[]> {
  const results = await dns.lookup(hostname, { all: true, verbatim: true });
  return results.map((r) => r.address);
}

/** Validates a URL (scheme, no userinfo, host resolves only to allowed addresses) without connecting; used at registration time to refuse bad URLs with a clear message. Returns the parsed URL and the resolved addresses. */
export async function checkOutboundUrl(
  url: string,
  policy: OutboundPolicy,
  resolve: (hostname: string) => Promise<string[]> = lookupAll,
): Promise<{ url: URL; addresses: string[] }> {
  const parsed = parseOutboundUrl(url, policy);
  return { url: parsed, addresses: await allowedAddresses(bareHostname(parsed), policy, resolve) };
}

export function createSafeFetch(options: SafeFetchOptions): SafeFetch {
  const { policy, resolve = lookupAll, dial = (host: string, port: number) => ({ host, port }) } = options;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;
  const maxResponseBytes = options.maxResponseBytes ?? 4 * MiB;
  // Node's `ca` replaces the default roots; extra roots must not make real CAs untrusted.
  const ca = options.ca === undefined ? undefined : [...tls.rootCertificates, options.ca];

  const pins = new Map<string, Promise<string>>();
  const pin = (hostname: string): Promise<string> => {
    let pinned = pins.get(hostname);
    if (!pinned) {
      pinned = allowedAddresses(hostname, policy, resolve).then((addresses) => addresses[0]!);
      // A transient DNS failure must not stick for the instance's lifetime.
      const entry = pinned;
      entry.catch(() => pins.get(hostname) === entry && pins.delete(hostname));
      pins.set(hostname, pinned);
    }
    return pinned;
  };

  const connect: buildConnector.connector = ({ hostname, protocol, port }, callback) => {
    const https = protocol === 'https:';
    let socket: net.Socket | undefined;
    let settled = false;
    const onError = (err: Error) =>
      settle(new OutboundError('connection_failed', `could not connect to ${hostname}: ${err.message}`));
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.off('error', onError);
      if (err) {
        socket?.destroy();
        callback(err, null);
      } else {
        callback(null, socket!);
      }
    };
    // Covers the TLS handshake too: a peer that accepts TCP and then says nothing must not hang us.
    const timer = setTimeout(
      () => settle(new OutboundError('connect_timeout', `connecting to ${hostname} timed out after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    const open = (address: string) => {
      if (settled) return;
      const target = dial(address, Number(port) || (https ? 443 : 80));
      socket = https
        ? tls.connect({
            host: target.host,
            port: target.port,
            // SNI must be a name, never an IP literal (RFC 6066).
            servername: net.isIP(hostname) ? undefined : hostname,
            // Verify against the URL's host, not the (possibly dialled) address we connected to.
            checkServerIdentity: (_host, cert) => tls.checkServerIdentity(hostname, cert),
            ca,
            ALPNProtocols: ['http/1.1'],
          })
        : net.connect({ host: target.host, port: target.port });
      socket.setNoDelay(true);
      socket.once(https ? 'secureConnect' : 'connect', () => settle(null));
      socket.once('error', onError);
    };
    // Goes through the pin again so that nothing can connect to an address that was not checked.
    pin(hostname)
      .then(open)
      .catch((err: unknown) => settle(err instanceof Error ? err : new Error(String(err))));
  };

  // undici runs these two on a coarse clock: they fire up to ~1 s late, whatever the value. They stay
  // as a backstop (e.g. for a body nobody reads); the exact ones are exactHeadersTimeout and guardBody.
  const agent = new Agent({ connect, headersTimeout: headersTimeoutMs, bodyTimeout: bodyTimeoutMs });
  const dispatcher = agent.compose(exactHeadersTimeout(headersTimeoutMs));

  const safeFetch = async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    const url = parseOutboundUrl(String(input), policy);
    const signal = init.signal ?? undefined;
    const fail = (err: unknown) => toOutboundError(err, url.origin, signal);
    if (signal?.aborted) throw fail(signal.reason);
    await pin(bareHostname(url));

    let upstream: Awaited<ReturnType<typeof undiciFetch>>;
    try {
      upstream = await undiciFetch(url.href, {
        ...(init as UndiciRequestInit),
        dispatcher,
        redirect: 'manual',
      });
    } catch (err) {
      throw fail(err);
    }

    const discard = () => void upstream.body?.cancel().catch(() => {});
    if (upstream.status >= 300 && upstream.status < 400) {
      discard();
      const location = upstream.headers.get('location');
      throw new OutboundError(
        'redirect_refused',
        `${url.origin} answered ${upstream.status}${location ? ` (Location: ${location.slice(0, 200)})` : ''}; redirects are not followed`,
      );
    }
    if (upstream.body && Number(upstream.headers.get('content-length')) > maxResponseBytes) {
      discard();
      throw tooLarge(url.origin, maxResponseBytes);
    }

    let body: ReadableStream<Uint8Array> | null = null;
    if (upstream.body && !NULL_BODY_STATUSES.has(upstream.status)) {
      body = guardBody(upstream.body as ReadableStream<Uint8Array>, { maxResponseBytes, bodyTimeoutMs }, url.origin, fail);
    } else {
      discard();
    }
    // A Response of this realm, not undici's own class, so `instanceof Response` holds for callers.
    const response = new Response(body, {
      status: upstream.status,
      // undici passes through bytes the Response constructor rejects (it would throw a TypeError).
      statusText: upstream.statusText.replace(/[^\t\x20-\x7e]/g, ''),
      headers: upstream.headers as unknown as Headers,
    });
    Object.defineProperty(response, 'url', { value: url.href });
    return response;
  };

  return Object.assign(safeFetch, { close: () => agent.destroy() });
}

/** Like undici's headersTimeout (the clock starts once the request is on a connection), but on time. */
function exactHeadersTimeout(ms: number): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => clearTimeout(timer);
    return dispatch(opts, {
      onConnect(abort) {
        stop();
        timer = setTimeout(
          () => abort(new OutboundError('headers_timeout', `${opts.origin} sent no response headers within ${ms} ms`)),
          ms,
        );
        handler.onConnect?.(abort);
      },
      onHeaders(statusCode, headers, resume, statusText) {
        stop();
        return handler.onHeaders?.(statusCode, headers, resume, statusText) ?? true;
      },
      onUpgrade(statusCode, headers, socket) {
        stop();
        handler.onUpgrade?.(statusCode, headers, socket);
      },
      onError(err) {
        stop();
        handler.onError?.(err);
      },
      onResponseStarted: () => handler.onResponseStarted?.(),
      onData: (chunk) => handler.onData?.(chunk) ?? true,
      onComplete: (trailers) => handler.onComplete?.(trailers),
      onBodySent: (chunkSize, totalBytesSent) => handler.onBodySent?.(chunkSize, totalBytesSent),
    });
  };
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Counts bytes as they stream, so a huge body fails early instead of being buffered first. The
 * idle clock only runs while the consumer is waiting for data: a slow reader is not a slow server.
 */
function guardBody(
  upstream: ReadableStream<Uint8Array>,
  limits: { maxResponseBytes: number; bodyTimeoutMs: number },
  origin: string,
  fail: (err: unknown) => OutboundError,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let received = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new OutboundError('body_timeout', `${origin} sent nothing for ${limits.bodyTimeoutMs} ms`)),
            limits.bodyTimeoutMs,
          );
        });
        try {
          const { done, value } = await Promise.race([reader.read(), idle]);
          if (done) return controller.close();
          received += value.byteLength;
          if (received > limits.maxResponseBytes) throw tooLarge(origin, limits.maxResponseBytes);
          controller.enqueue(value);
        } catch (err) {
          const error = fail(err);
          // Cancelling upstream closes the socket, so the server stops sending.
          reader.cancel(error).catch(() => {});
          controller.error(error);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    // Pull only when the consumer asks, so backpressure reaches the socket.
    { highWaterMark: 0 },
  );
}

function tooLarge(origin: string, maxBytes: number): OutboundError {
  return new OutboundError('response_too_large', `response from ${origin} exceeds ${maxBytes} bytes`);
}

const REASON_BY_CODE: Record<string, OutboundFailure> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  UND_ERR_HEADERS_TIMEOUT: 'headers_timeout',
  UND_ERR_BODY_TIMEOUT: 'body_timeout',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'response_too_large',
  UND_ERR_ABORTED: 'aborted',
  ABORT_ERR: 'aborted',
};

/**
 * undici wraps the real failure in `TypeError: fetch failed` (or `terminated` mid-body) with the
 * cause chained. Only coded errors contribute their message: an uncoded one may be a header
 * validation error that quotes the header value, i.e. a credential.
 */
function toOutboundError(err: unknown, origin: string, signal: AbortSignal | undefined): OutboundError {
  if (signal?.aborted) return new OutboundError('aborted', `request to ${origin} was aborted`);
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof OutboundError) return e;
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    const reason = REASON_BY_CODE[code] ?? 'connection_failed';
    return new OutboundError(reason, `request to ${origin} failed: ${e.message} (${code})`);
  }
  return new OutboundError('connection_failed', `request to ${origin} failed`);
}

function parseOutboundUrl(input: string, policy: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    // The input is not echoed: it may carry credentials.
    throw new OutboundError('invalid_url', 'not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    throw new OutboundError(
      'scheme_not_allowed',
      `${url.protocol} URLs are not allowed (${policy.allowHttp ? 'https: or http:' : 'https: only'})`,
    );
  }
  if (url.username || url.password) {
    throw new OutboundError('credentials_in_url', 'URLs may not carry a username or password');
  }
  return url;
}

function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

async function allowedAddresses(
  hostname: string,
  policy: OutboundPolicy,
  resolve: (hostname: string) => Promise<string[]>,
): Promise<string[]> {
  const refuse = (address: string) => {
    const refusal = policy.allowPrivate ? null : refusalForAddress(address);
    if (refusal !== null) {
      const via = address === hostname ? '' : ` resolves to ${address}, which`;
      throw new OutboundError('private_address', `${hostname}${via} is not a public address: ${refusal}`);
    }
  };
  if (net.isIP(hostname)) {
    refuse(hostname);
    return [hostname];
  }
  // Refused by name, whatever a resolver says: RFC 6761 reserves these for loopback.
  const name = hostname.replace(/\.$/, '');
  if (!policy.allowPrivate && (name === 'localhost' || name.endsWith('.localhost'))) {
    throw new OutboundError('private_address', `${hostname} is not a public address: loopback name`);
  }
  let addresses: string[];
  try {
    addresses = await resolve(hostname);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new OutboundError('unresolvable', `${hostname} does not resolve${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  if (addresses.length === 0) throw new OutboundError('unresolvable', `${hostname} resolves to no address`);
  for (const address of addresses) {
    if (!net.isIP(address)) throw new OutboundError('unresolvable', `${hostname} resolves to something that is not an IP address`);
    refuse(address);
  }
  return addresses;
}
