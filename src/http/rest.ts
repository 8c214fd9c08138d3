import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../platform/auth';
import { tokenFromHeaders } from '../platform/auth';
import { DomainError, ForbiddenError, InputError, UnauthenticatedError } from '../db/errors';
import type { Services } from '../platform/services';
import type { Route } from '../platform/rest';

/**
 * The REST compatibility door: a small router on node:http. Handlers live beside their
 * module (`<domain>.rest.ts`); this file owns authentication, scopes, body parsing and the
 * error JSON of DESIGN §1 so no handler repeats them.
 */
type CompiledRoute = Route & { pattern: RegExp; names: string[] };

export type Authenticate = (
  token: string,
  context: { ip: string | null; method: Principal['authMethod'] },
) => Promise<Principal>;

const MAX_BODY_BYTES = 1024 * 1024;

const statusCodes: Record<string, number> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE_ENTITY: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

export class HttpError extends Error {
  constructor(
    readonly code: keyof typeof statusCodes,
    message: string,
  ) {
    super(message);
  }
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError('INVALID_REQUEST', 'The path is not validly percent-encoded.');
  }
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]!);
      return '([^/]+)';
    })
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}/?$`), names };
}

export function clientIp(req: IncomingMessage): string | null {
  return req.socket.remoteAddress ?? null;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestIdOf(req: IncomingMessage, generate: () => string): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : generate();
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError('PAYLOAD_TOO_LARGE', 'The request body is larger than 1 MiB.');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new HttpError('INVALID_REQUEST', 'The request body must be JSON (Content-Type: application/json).');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError('INVALID_REQUEST', 'The request body is not valid JSON.');
  }
}

const noStore = { 'cache-control': 'no-store, private', pragma: 'no-cache', expires: '0' };

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...noStore,
    'x-request-id': requestId,
    ...headers,
  });
  res.end(payload);
}

/** Resolves once the socket takes more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** A chunked body written no faster than the client reads it; nothing more is read once it leaves. */
async function sendStream(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  chunks: AsyncIterable<string>,
  requestId: string,
  headers: Record<string, string> = {},
): Promise<void> {
  res.writeHead(status, { ...noStore, 'x-request-id': requestId, ...headers });
  if (req.method !== 'HEAD') {
    for await (const chunk of chunks) {
      if (res.destroyed) break;
      if (!res.write(chunk)) await drained(res);
    }
  }
  res.end();
}

function sendRaw(req: IncomingMessage, res: ServerResponse, status: number, body: Buffer, requestId: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-length': body.length, 'x-request-id': requestId, ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function errorBody(code: string, message: string, requestId: string, extra: Record<string, unknown> = {}) {
  return { error: code, message, status: statusCodes[code] ?? 500, requestId, ...extra };
}

export type RestRouter = {
  /** Handles the request when a route's path matches; false when no route's path does. */
  handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean>;
};

export function createRestRouter(deps: {
  routes: Route[];
  services: Services;
  authenticate: Authenticate;
  onError: (err: unknown, requestId: string) => void;
}): RestRouter {
  const routes = deps.routes.map(compile);
  // Most paths have no parameters: those are found with one map lookup.
  const exact = new Map<string, CompiledRoute[]>();
  const patterned: CompiledRoute[] = [];
  for (const route of routes) {
    if (route.names.length > 0) {
      patterned.push(route);
    } else {
      for (const path of [route.path, `${route.path}/`]) exact.set(path, [...(exact.get(path) ?? []), route]);
    }
  }

  function match(pathname: string): { route: CompiledRoute; match: RegExpExecArray | null }[] {
    const found = exact.get(pathname);
    if (found) return found.map((route) => ({ route, match: null }));
    const matching = [];
    for (const route of patterned) {
      const m = route.pattern.exec(pathname);
      if (m) matching.push({ route, match: m });
    }
    return matching;
  }

  async function principalFor(req: IncomingMessage): Promise<Principal | null> {
    const source = tokenFromHeaders({
      authorization: req.headers.authorization,
      xRunlaneToken: req.headers['x-runlane-token'] as string | undefined,
    });
    if (!source) return null;
    return deps.authenticate(source.token, { ip: clientIp(req), method: source.method });
  }

  return {
    async handle(req, res, requestId) {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const pathname = q < 0 ? raw : raw.slice(0, q);
      const matching = match(pathname);
      if (matching.length === 0) return false;
      const found = matching.find((m) => m.route.method === req.method || (req.method === 'HEAD' && m.route.method === 'GET'));
      try {
        if (!found) {
          const allow = [...new Set(matching.map((m) => m.route.method))].join(', ');
          sendJson(res, 405, errorBody('METHOD_NOT_ALLOWED', `Use ${allow} on this path.`, requestId), requestId, {
            allow,
          });
          return true;
        }
        const { route, match } = found;
        let principal: Principal | null = null;
        if (route.scope) {
          principal = await principalFor(req);
          if (!principal) throw new UnauthenticatedError();
          if (!principal.scopes.has(route.scope)) throw new ForbiddenError(route.scope);
        }
        const params = Object.fromEntries(route.names.map((name, i) => [name, decodePathSegment(match![i + 1]!)]));
        const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
        const body = await readJson(req);
        const result = await route.handler({
          requestId,
          principal,
          params,
          query,
          headers: req.headers,
          body,
          services: deps.services,
        });
        if (result.raw) sendRaw(req, res, result.status, result.raw, requestId, result.headers);
        else if (result.stream) await sendStream(req, res, result.status, result.stream, requestId, result.headers);
        else sendJson(res, result.status, result.body, requestId, result.headers);
      } catch (err) {
        sendError(res, err, requestId, deps.onError);
      }
      return true;
    },
  };
}

export function sendError(res: ServerResponse, err: unknown, requestId: string, onError: (err: unknown, id: string) => void) {
  if (res.headersSent) {
    // A streamed body failed midway: cutting the connection is the only way left to tell the
    // client its copy is incomplete.
    onError(err, requestId);
    res.destroy();
    return;
  }
  if (err instanceof ForbiddenError) {
    sendJson(res, 403, errorBody('FORBIDDEN', err.message, requestId, { requiredScope: err.requiredScope }), requestId);
  } else if (err instanceof HttpError) {
    sendJson(res, statusCodes[err.code] ?? 400, errorBody(err.code, err.message, requestId), requestId);
  } else if (err instanceof DomainError && err.code in statusCodes) {
    const extra = err instanceof InputError && err.field ? { field: err.field } : {};
    sendJson(res, statusCodes[err.code]!, errorBody(err.code, err.message, requestId, extra), requestId);
  } else {
    onError(err, requestId);
    sendJson(res, 500, errorBody('INTERNAL_ERROR', 'Something went wrong on our side.', requestId), requestId);
  }
}
