import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyring } from '../../src/platform/crypto';
import { startTestServer, type TestServer } from '../support/app';
import { adminQuery } from '../support/database';
import { startWorkerProcess, stopProcess } from '../support/runlane-process';
import { startFakeMcpServer } from '../fakes/mcp-server';

// Two real `runlane worker` processes over one database: every due app is probed by exactly one
// of them, including apps whose credentials the workers must decrypt.
const masterKey = randomBytes(32);
const APPS = 8;
type Fake = Awaited<ReturnType<typeof startFakeMcpServer>>;

let api: TestServer;
const fakes: Fake[] = [];
const workers: ChildProcess[] = [];
const outputs: (() => string)[] = [];

async function startWorker(): Promise<void> {
  const worker = await startWorkerProcess({
    databaseUrl: api.db.appUrl,
    masterKey,
    env: {
      RUNLANE_OUTBOUND_ALLOW_HTTP: '1',
      RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1',
      RUNLANE_APP_PROBER_TICK_MS: '100',
      RUNLANE_APP_PROBE_INTERVAL_SECONDS: '3600',
    },
  });
  workers.push(worker.child);
  outputs.push(worker.output);
}

const toolsListCalls = (f: Fake) => f.requests.filter((r) => (r.body as { method?: string } | undefined)?.method === 'tools/list').length;

beforeAll(async () => {
  api = await startTestServer({ keyring: keyring(masterKey), env: { RUNLANE_OUTBOUND_ALLOW_HTTP: '1', RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1' } });
  const { tenantId } = await api.tenant();
  const actor = { tenantId, name: 'test', scopes: new Set<string>() };
  for (let i = 0; i < APPS; i++) {
    const token = `sk-worker-test-token-${i}0000`;
    const fake = await startFakeMcpServer({ stateful: i % 2 === 0, json: true, auth: { type: 'bearer', token }, tools: [{ name: 'ping', inputSchema: { type: 'object' } }] });
    fakes.push(fake);
    await api.app.services.apps.register(actor, { slug: `w-${i}`, displayName: `w ${i}`, mcpServerUrl: fake.url, auth: { type: 'bearer', token } });
  }
  await Promise.all([startWorker(), startWorker()]);
}, 90_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => stopProcess(w, 'SIGTERM')));
  await api?.close();
  await Promise.all(fakes.map((f) => f.close()));
});

describe('periodic probes across two worker processes', () => {
  it('each worker warns at start that the outbound guard is relaxed', () => {
    expect(outputs).toHaveLength(2);
    for (const output of outputs) expect(output()).toMatch(/"level":40[^\n]*Outbound guard relaxed/);
  });

  it('probes every due app exactly once, with its decrypted credential', async () => {
    const before = fakes.map(toolsListCalls);
    await adminQuery(api.db, `update apps set next_probe_at = now()`);
    const deadline = Date.now() + 20_000;
    while (fakes.some((f, i) => toolsListCalls(f) === before[i]) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Both workers keep ticking (every ~100 ms); give them time to probe anything twice.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(fakes.map((f, i) => toolsListCalls(f) - before[i]!)).toEqual(Array(APPS).fill(1));
    expect(fakes.map((f) => f.authFailures)).toEqual(Array(APPS).fill(0));
    const rows = await adminQuery(api.db, `select status, last_probe_ok, probe_lease_until from apps order by slug`);
    expect(rows.every((r) => r.status === 'active' && r.last_probe_ok === true && r.probe_lease_until === null)).toBe(true);
  }, 40_000);
});
