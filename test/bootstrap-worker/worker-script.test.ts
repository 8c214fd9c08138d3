// Tests examples/workers/node-bootstrap/worker.mjs in isolation: the script is spawned as
// a child process against a tiny fake Runlane agents API built with node:http. No database,
// no real server, no dependencies of the example itself.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE_DIR = join(ROOT, 'examples/workers/node-bootstrap');
const WORKER = join(EXAMPLE_DIR, 'worker.mjs');
const TOKEN = 'rlt_TESTtoken0123456789abcdefSECRETxyz';

// ---------------------------------------------------------------------------
// Response shapes, as served by Runlane

const HEALTH = {
  status: 'ok',
  service: 'runlane',
  version: '0.1.0',
  environment: 'development',
  generatedAt: '2026-01-01T00:00:00.000Z',
  timezone: 'UTC',
  systemComponents: { database: { ok: true, latencyMs: 1.2 }, bus: { ok: true, kind: 'in-process' } },
};

const WHOAMI = {
  service: 'runlane',
  generatedAt: '2026-01-01T00:00:00.000Z',
  requestId: 'req-1',
  principal: {
    accountId: '7d1c3f52-8a3b-4c35-9d4e-2f0b6a1c9e10',
    name: 'Bootstrap Worker',
    tenant: { id: '0b9f7d6e-5c4b-4a39-8281-7f6e5d4c3b2a', slug: 'default' },
    credentialSource: 'account',
    authMethod: 'authorization',
    tokenFingerprint: 'sha256:0123456789abcdef',
  },
  authorization: {
    grantedScopes: ['auth:read', 'health:read', 'readiness:read'],
    availableScopes: ['auth:read', 'health:read', 'readiness:read', 'runs:read', 'runs:write'],
  },
};

const READINESS = {
  ...HEALTH,
  readinessScore: 80,
  readinessThreshold: 50,
  ready: true,
  deductions: [{ component: 'bus', points: 10, reason: 'In-process bus: events are not shared across processes.' }],
  warnings: ['In-process bus: events are not shared across processes.'],
};

// ---------------------------------------------------------------------------
// Fake server

type Handler = (req: IncomingMessage, res: ServerResponse, path: string) => void;
type SeenRequest = { method: string; path: string; authorization: string | undefined; accept: string | undefined };
type FakeServer = { url: string; requests: SeenRequest[]; close: () => Promise<void> };

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Runlane-like routing under `prefix`, with an optional override per path. */
function runlaneHandler(prefix: string, overrides: Record<string, Handler> = {}): Handler {
  const routes: Record<string, unknown> = { '/health': HEALTH, '/auth/whoami': WHOAMI, '/readiness': READINESS };
  return (req, res, path) => {
    const sub = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
    const override = sub === undefined ? undefined : overrides[sub];
    if (override) return override(req, res, path);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      return sendJson(res, 401, { error: 'UNAUTHORIZED', message: 'Missing or invalid token.', status: 401, requestId: 'req-401' });
    }
    const body = sub === undefined ? undefined : routes[sub];
    if (body === undefined) {
      return sendJson(res, 404, { error: 'NOT_FOUND', message: 'No such route.', status: 404, requestId: 'req-404' });
    }
    sendJson(res, 200, body);
  };
}

async function startServer(handler: Handler): Promise<FakeServer> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, accept: req.headers.accept });
    handler(req, res, path);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

async function withServer<T>(handler: Handler, fn: (server: FakeServer) => Promise<T>): Promise<T> {
  const server = await startServer(handler);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------------------
// Running the worker

type RunResult = { code: number | null; stdout: string; stderr: string };
const allOutput: string[] = [];

/**
 * Every variable the worker reads is passed explicitly (empty when not under test).
 * Variables that exist in the environment, even empty, are never overridden by a .env
 * file, so a developer's own examples/workers/node-bootstrap/.env cannot leak in.
 */
function runWorker(env: Record<string, string>, script = WORKER): Promise<RunResult> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [script], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        BASE_URL: '',
        SITE_URL: '',
        AGENTS_TOKEN: '',
        REQUEST_TIMEOUT_MS: '',
        PRINT_JSON: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 4000);
    child.on('error', (error) => {
      clearTimeout(killer);
      rejectRun(error);
    });
    child.on('close', (code) => {
      clearTimeout(killer);
      allOutput.push(stdout, stderr);
      resolveRun({ code, stdout, stderr });
    });
  });
}

function stderrLines(result: RunResult): string[] {
  return result.stderr.split('\n').filter((line) => line !== '');
}

/** A port on 127.0.0.1 with nothing listening on it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  return port;
}

// ---------------------------------------------------------------------------

describe('bootstrap worker example (worker.mjs)', () => {
  beforeAll(() => {
    expect(existsSync(WORKER)).toBe(true);
  });

  afterAll(() => {
    // Across every run in this file, the token never reached stdout or stderr.
    expect(allOutput.length).toBeGreaterThan(0);
    for (const text of allOutput) expect(text).not.toContain(TOKEN);
  });

  it('runs /health, /auth/whoami and /readiness in order and prints the report', async () => {
    await withServer(runlaneHandler('/agents/v1'), async (server) => {
      const result = await runWorker({ BASE_URL: `${server.url}/agents/v1/`, AGENTS_TOKEN: TOKEN });

      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(server.requests.map((r) => r.path)).toEqual([
        '/agents/v1/health',
        '/agents/v1/auth/whoami',
        '/agents/v1/readiness',
      ]);
      for (const request of server.requests) {
        expect(request.method).toBe('GET');
        expect(request.authorization).toBe(`Bearer ${TOKEN}`);
        expect(request.accept).toBe('application/json');
      }

      const out = result.stdout;
      expect(out).toContain('Runlane worker bootstrap');
      expect(out).toContain(`Base URL: ${server.url}/agents/v1\n`);
      expect(out).toContain('Steps: /health, /auth/whoami, /readiness');
      expect(out).toContain('=== Health ===');
      expect(out).toContain('=== Auth / Whoami ===');
      expect(out).toContain('=== Readiness ===');
      expect(out.indexOf('=== Health ===')).toBeLessThan(out.indexOf('=== Auth / Whoami ==='));
      expect(out.indexOf('=== Auth / Whoami ===')).toBeLessThan(out.indexOf('=== Readiness ==='));
      expect(out).toContain('Status: ok');
      expect(out).toContain('Service: runlane 0.1.0');
      expect(out).toContain('Environment: development');
      expect(out).toContain('Account: Bootstrap Worker (7d1c3f52-8a3b-4c35-9d4e-2f0b6a1c9e10)');
      expect(out).toContain('Tenant: default');
      expect(out).toContain('Auth method: authorization');
      expect(out).toContain('Scopes: auth:read, health:read, readiness:read');
      expect(out).toContain('Readiness score: 80 (ready at 50)');
      expect(out).toContain('Warnings: 1\n  - In-process bus: events are not shared across processes.');
      expect(out).toContain('"systemComponents"');
      expect(out.trimEnd().endsWith('All checks passed.')).toBe(true);
    });
  });

  it('derives the base from SITE_URL as <SITE_URL>/agents/v1', async () => {
    await withServer(runlaneHandler('/agents/v1'), async (server) => {
      const result = await runWorker({ SITE_URL: `${server.url}/`, AGENTS_TOKEN: TOKEN });

      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Base URL: ${server.url}/agents/v1\n`);
      expect(server.requests.map((r) => r.path)).toEqual([
        '/agents/v1/health',
        '/agents/v1/auth/whoami',
        '/agents/v1/readiness',
      ]);
    });
  });

  it('prefers BASE_URL over SITE_URL', async () => {
    await withServer(runlaneHandler('/custom/base'), async (server) => {
      const result = await runWorker({
        BASE_URL: `${server.url}/custom/base`,
        SITE_URL: 'http://127.0.0.1:1',
        AGENTS_TOKEN: TOKEN,
      });
      expect(result.code).toBe(0);
      expect(server.requests.map((r) => r.path)).toEqual([
        '/custom/base/health',
        '/custom/base/auth/whoami',
        '/custom/base/readiness',
      ]);
    });
  });

  it('fails with one line when neither BASE_URL nor SITE_URL is set', async () => {
    const result = await runWorker({ AGENTS_TOKEN: TOKEN });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(stderrLines(result)).toEqual(['Missing BASE_URL or SITE_URL. Set one of them in .env or the environment.']);
  });

  it('fails with one line when AGENTS_TOKEN is missing or still the placeholder', async () => {
    for (const token of ['', '   ', 'replace-with-token']) {
      const result = await runWorker({ SITE_URL: 'http://127.0.0.1:4000', AGENTS_TOKEN: token });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(stderrLines(result)).toEqual([
        'Missing AGENTS_TOKEN. Create an account in Runlane and paste its one-time token.',
      ]);
    }
  });

  it('rejects an invalid REQUEST_TIMEOUT_MS or PRINT_JSON', async () => {
    const badTimeout = await runWorker({ SITE_URL: 'http://127.0.0.1:4000', AGENTS_TOKEN: TOKEN, REQUEST_TIMEOUT_MS: 'soon' });
    expect(badTimeout.code).toBe(1);
    expect(stderrLines(badTimeout)).toHaveLength(1);
    expect(badTimeout.stderr).toContain('Invalid REQUEST_TIMEOUT_MS "soon"');

    const badPrint = await runWorker({ SITE_URL: 'http://127.0.0.1:4000', AGENTS_TOKEN: TOKEN, PRINT_JSON: 'maybe' });
    expect(badPrint.code).toBe(1);
    expect(stderrLines(badPrint)).toHaveLength(1);
    expect(badPrint.stderr).toContain('Invalid PRINT_JSON "maybe"');
  });

  it('explains a 401 and suggests rotating the account', async () => {
    await withServer(runlaneHandler('/agents/v1'), async (server) => {
      const result = await runWorker({ BASE_URL: `${server.url}/agents/v1`, AGENTS_TOKEN: 'rlt_wrongToken' });

      expect(result.code).toBe(1);
      expect(server.requests.map((r) => r.path)).toEqual(['/agents/v1/health']);
      const lines = stderrLines(result);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(lines[0]).toBe(
        '/health failed (401 Unauthorized): Missing or invalid token. Check AGENTS_TOKEN; rotate the account for a new token.',
      );
      expect(result.stderr).not.toContain('    at ');
    });
  });

  it('names the missing scope on a 403', async () => {
    const handler = runlaneHandler('/agents/v1', {
      '/auth/whoami': (_req, res) =>
        sendJson(res, 403, {
          error: 'FORBIDDEN',
          message: 'Missing required scope: auth:read',
          status: 403,
          requestId: 'req-403',
          requiredScope: 'auth:read',
        }),
    });
    await withServer(handler, async (server) => {
      const result = await runWorker({ BASE_URL: `${server.url}/agents/v1`, AGENTS_TOKEN: TOKEN });

      expect(result.code).toBe(1);
      expect(server.requests.map((r) => r.path)).toEqual(['/agents/v1/health', '/agents/v1/auth/whoami']);
      const lines = stderrLines(result);
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(lines[0]).toBe(
        '/auth/whoami failed (403 Forbidden): Missing required scope: auth:read. The account lacks scope auth:read.',
      );
      // What succeeded before the failure is still reported on stdout.
      expect(result.stdout).toContain('=== Health ===');
      expect(result.stdout).not.toContain('All checks passed.');
    });
  });

  it('reports a 500 with the server message', async () => {
    const handler = runlaneHandler('/agents/v1', {
      '/readiness': (_req, res) =>
        sendJson(res, 500, { error: 'INTERNAL', message: 'Database unavailable', status: 500, requestId: 'req-500' }),
    });
    await withServer(handler, async (server) => {
      const result = await runWorker({ BASE_URL: `${server.url}/agents/v1`, AGENTS_TOKEN: TOKEN });

      expect(result.code).toBe(1);
      const lines = stderrLines(result);
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(lines[0]).toBe('/readiness failed (500 Internal Server Error): Database unavailable.');
      if (lines[1] !== undefined) expect(JSON.parse(lines[1])).toMatchObject({ requestId: 'req-500' });
      expect(result.stdout).not.toContain('All checks passed.');
    });
  });

  it('reports a non-JSON body', async () => {
    const handler = runlaneHandler('/agents/v1', {
      '/health': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Welcome to nginx!</body></html>');
      },
    });
    await withServer(handler, async (server) => {
      const result = await runWorker({ BASE_URL: `${server.url}/agents/v1`, AGENTS_TOKEN: TOKEN });
      expect(result.code).toBe(1);
      expect(stderrLines(result)).toEqual(['/health returned non-JSON content.']);
    });
  });

  it('reports a body that claims to be JSON but does not parse', async () => {
    const handler = runlaneHandler('/agents/v1', {
      '/auth/whoami': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"principal": ');
      },
    });
    await withServer(handler, async (server) => {
      const result = await runWorker({ BASE_URL: `${server.url}/agents/v1`, AGENTS_TOKEN: TOKEN });
      expect(result.code).toBe(1);
      expect(stderrLines(result)).toEqual(['/auth/whoami returned non-JSON content.']);
    });
  });

  it('times out after REQUEST_TIMEOUT_MS when the server never answers', async () => {
    const handler = runlaneHandler('/agents/v1', {
      '/health': () => {
        /* never respond */
      },
    });
    await withServer(handler, async (server) => {
      const started = Date.now();
      const result = await runWorker({
        BASE_URL: `${server.url}/agents/v1`,
        AGENTS_TOKEN: TOKEN,
        REQUEST_TIMEOUT_MS: '300',
      });
      expect(result.code).toBe(1);
      expect(stderrLines(result)).toEqual(['/health timed out after 300ms.']);
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });

  it('reports an unreachable server', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/agents/v1`;
    const result = await runWorker({ BASE_URL: base, AGENTS_TOKEN: TOKEN, REQUEST_TIMEOUT_MS: '2000' });

    expect(result.code).toBe(1);
    const lines = stderrLines(result);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\/health failed: /);
    expect(lines[0]).toContain('ECONNREFUSED');
    expect(lines[0]).toContain(`(is Runlane running at ${base}?)`);
  });

  it('never prints the token, even if the server echoes it back', async () => {
    const handler = runlaneHandler('/agents/v1', {
      '/health': (req, res) =>
        sendJson(res, 401, {
          error: 'UNAUTHORIZED',
          message: `Token ${String(req.headers.authorization).replace('Bearer ', '')} is revoked`,
          status: 401,
          requestId: 'req-echo',
        }),
    });
    await withServer(handler, async (server) => {
      const result = await runWorker({ BASE_URL: `${server.url}/agents/v1`, AGENTS_TOKEN: TOKEN });
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
      expect(stderrLines(result)[0]).toContain('401');
    });
  });

  it('prints no JSON blocks with PRINT_JSON=0', async () => {
    await withServer(runlaneHandler('/agents/v1'), async (server) => {
      for (const value of ['0', 'false', 'no', 'off']) {
        const result = await runWorker({ BASE_URL: `${server.url}/agents/v1`, AGENTS_TOKEN: TOKEN, PRINT_JSON: value });
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('All checks passed.');
        expect(result.stdout).toContain('Readiness score: 80 (ready at 50)');
        expect(result.stdout).not.toContain('{');
        expect(result.stdout).not.toContain('}');
      }
    });
  });

  it('loads .env from its own directory without overriding the environment', async () => {
    // A copy of the script in a temporary directory, so the real example folder is untouched.
    const dir = mkdtempSync(join(tmpdir(), 'runlane-bootstrap-'));
    try {
      const script = join(dir, 'worker.mjs');
      copyFileSync(WORKER, script);
      await withServer(runlaneHandler('/agents/v1'), async (server) => {
        writeFileSync(
          join(dir, '.env'),
          [
            '# written by the test',
            `SITE_URL="${server.url}"`,
            `AGENTS_TOKEN='${TOKEN}'`,
            'REQUEST_TIMEOUT_MS=2000',
            'PRINT_JSON=off # no JSON, please',
            '',
          ].join('\n'),
        );

        // Only PATH in the environment: everything comes from .env.
        const fromFile = await new Promise<RunResult>((resolveRun) => {
          const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '' } });
          let stdout = '';
          let stderr = '';
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
          child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
          child.on('close', (code) => {
            allOutput.push(stdout, stderr);
            resolveRun({ code, stdout, stderr });
          });
        });
        expect(fromFile.stderr).toBe('');
        expect(fromFile.code).toBe(0);
        expect(fromFile.stdout).not.toContain('{');

        // The environment wins over .env: an explicit empty token is not replaced.
        const envWins = await runWorker({ SITE_URL: server.url, AGENTS_TOKEN: '' }, script);
        expect(envWins.code).toBe(1);
        expect(stderrLines(envWins)).toEqual([
          'Missing AGENTS_TOKEN. Create an account in Runlane and paste its one-time token.',
        ]);

        const envPrint = await runWorker({ PRINT_JSON: '1', AGENTS_TOKEN: TOKEN, SITE_URL: server.url }, script);
        expect(envPrint.code).toBe(0);
        expect(envPrint.stdout).toContain('"grantedScopes"');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
