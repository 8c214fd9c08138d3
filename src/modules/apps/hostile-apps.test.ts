import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { startHostileMcpServer, type HostileMode } from '../../../test/fakes/hostile-mcp-server';
import { AppProber } from './app-prober';

// Hostile MCP servers against the whole stack (service → connector → MCP client → safe fetch):
// every probe ends within its deadline with a reason, the prober is never stalled, and a huge
// body is never buffered.
const PROBE_TIMEOUT_MS = 1_500;
let server: TestServer;
let tenantId: string;
const hostile: Awaited<ReturnType<typeof startHostileMcpServer>>[] = [];

beforeAll(async () => {
  server = await startTestServer({
    env: {
      RUNLANE_OUTBOUND_ALLOW_HTTP: '1',
      RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1',
      RUNLANE_APP_PROBE_TIMEOUT_MS: String(PROBE_TIMEOUT_MS),
    },
  });
  tenantId = (await server.tenant()).tenantId;
});
afterAll(async () => {
  await server?.close();
  await Promise.all(hostile.map((h) => h.close()));
});

const actor = () => ({ tenantId, name: 'test', scopes: new Set<string>() });

describe('registering hostile MCP servers', () => {
  it.each<[HostileMode, 'initialize' | 'tools/list', string[]]>([
    ['slow-headers', 'initialize', ['timeout']],
    ['endless-sse', 'tools/list', ['timeout', 'too_large']],
    ['huge-body', 'initialize', ['too_large']],
    ['malformed-json-rpc', 'initialize', ['protocol_error']],
    ['not-json', 'tools/list', ['protocol_error']],
    ['http-500', 'initialize', ['http_error']],
    ['redirect', 'initialize', ['unreachable']],
  ])('%s on %s: registered unhealthy with a reason, within the deadline', async (mode, on, reasons) => {
    const h = await startHostileMcpServer(mode, { on });
    hostile.push(h);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const { app, probe } = await server.app.services.apps.register(actor(), {
      slug: `hostile-${mode}-${on.replace('/', '-')}`,
      displayName: mode,
      mcpServerUrl: h.url,
      auth: { type: 'none' },
    });
    const elapsed = performance.now() - started;
    expect(probe.ok).toBe(false);
    expect(reasons).toContain(probe.reason);
    expect(probe.error).toEqual(expect.any(String));
    expect(app.status).toBe('unhealthy');
    expect(elapsed).toBeLessThan(PROBE_TIMEOUT_MS + 2_000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(60 * 1024 * 1024);
  });

  it('a prober round over all of them at once ends within the deadline', async () => {
    await adminQuery(server.db, `update apps set next_probe_at = now() - interval '1 second'`);
    const errors: unknown[] = [];
    const prober = new AppProber({ orm: server.app.orm, apps: server.app.services.apps, tickMs: 1_000, batchSize: 50, leaseSeconds: 30, onError: (e) => errors.push(e) });
    const started = performance.now();
    expect(await prober.tick()).toBe(hostile.length);
    expect(performance.now() - started).toBeLessThan(PROBE_TIMEOUT_MS + 3_000);
    expect(errors).toEqual([]);
    const rows = await adminQuery(server.db, `select status, failure_streak, last_probe_ok from apps`);
    expect(rows.every((r) => r.status === 'unhealthy' && r.failure_streak === 2 && r.last_probe_ok === false)).toBe(true);
  });
});
