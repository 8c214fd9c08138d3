import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { startFakeMcpServer } from '../../../test/fakes/mcp-server';
import { SCOPES } from '../accounts/scopes';
import { AppProber } from './app-prober';

// The periodic prober with two "worker processes": two apps (each its own ORM and connection
// pool) over one database, the way two `runlane worker` processes share it.
type Fake = Awaited<ReturnType<typeof startFakeMcpServer>>;
const env = { RUNLANE_OUTBOUND_ALLOW_HTTP: '1', RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1', RUNLANE_APP_PROBE_TIMEOUT_MS: '2000' };

let first: TestServer;
let second: TestServer;
let tenantId: string;
const fakes: Fake[] = [];
const errors: unknown[] = [];

const proberOf = (server: TestServer) =>
  new AppProber({ orm: server.app.orm, apps: server.app.services.apps, tickMs: 20, batchSize: 50, leaseSeconds: 30, onError: (e) => errors.push(e) });
const toolsListCalls = (f: Fake) => f.requests.filter((r: { body?: unknown }) => (r.body as { method?: string } | undefined)?.method === 'tools/list').length;
const actor = () => ({ tenantId, name: 'test', scopes: new Set<string>(SCOPES) });

async function registerApps(prefix: string, count: number): Promise<Fake[]> {
  const created: Fake[] = [];
  for (let i = 0; i < count; i++) {
    const f = await startFakeMcpServer({ stateful: i % 2 === 0, json: i % 3 !== 0, tools: [{ name: 'ping', inputSchema: { type: 'object' } }] });
    fakes.push(f);
    created.push(f);
    await first.app.services.apps.register(actor(), { slug: `${prefix}-${i}`, displayName: `${prefix} ${i}`, mcpServerUrl: f.url, auth: { type: 'none' } });
  }
  return created;
}

const makeDue = (slugPattern: string) =>
  adminQuery(first.db, `update apps set next_probe_at = now() - interval '1 second' where slug like $1`, [slugPattern]);

beforeAll(async () => {
  first = await startTestServer({ env });
  second = await startTestServer({ env, db: first.db });
  tenantId = (await first.tenant()).tenantId;
});
afterAll(async () => {
  await second?.close();
  await first?.close();
  await Promise.all(fakes.map((f) => f.close()));
});

describe('the periodic prober', () => {
  it('probes each due app exactly once when two worker processes tick at the same time', async () => {
    const servers = await registerApps('pair', 6);
    const before = servers.map(toolsListCalls);
    await makeDue('pair-%');
    const a = proberOf(first);
    const b = proberOf(second);
    const counts = await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(6);
    expect(servers.map((s, i) => toolsListCalls(s) - before[i]!)).toEqual([1, 1, 1, 1, 1, 1]);
    // Probed apps are scheduled into the future and their leases are released.
    const rows = await adminQuery(first.db, `select next_probe_at > now() as later, probe_lease_until from apps where slug like 'pair-%'`);
    expect(rows.every((r) => r.later && r.probe_lease_until === null)).toBe(true);
    expect(await a.tick()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('never claims a disabled app, and skips one disabled between claim and probe', async () => {
    const [server] = await registerApps('off', 1);
    await first.app.services.apps.update(actor(), 'off-0', { status: 'disabled' });
    await makeDue('off-%');
    const before = toolsListCalls(server!);
    expect(await proberOf(first).tick()).toBe(0);
    expect(toolsListCalls(server!)).toBe(before);
    // Leased by a worker, then disabled by an operator before the probe started.
    await adminQuery(first.db, `update apps set status = 'active' where slug = 'off-0'`);
    const [claimed] = await adminQuery(first.db, `select tenant_id, id from apps where slug = 'off-0'`);
    await adminQuery(first.db, `update apps set status = 'disabled', probe_lease_until = now() + interval '30 seconds' where slug = 'off-0'`);
    expect(await first.app.services.apps.probeLeased(claimed.tenant_id, claimed.id)).toBeNull();
    expect(toolsListCalls(server!)).toBe(before);
    const [row] = await adminQuery(first.db, `select probe_lease_until from apps where slug = 'off-0'`);
    expect(row.probe_lease_until).toBeNull();
  });

  it('counts failures toward unhealthy and takes back the lease of a worker that died mid-probe', async () => {
    const [server] = await registerApps('dies', 1);
    await server!.close();
    await adminQuery(first.db, `update apps set probe_lease_until = now() - interval '1 second', next_probe_at = now() - interval '1 second' where slug = 'dies-0'`);
    expect(await proberOf(second).tick()).toBe(1);
    const [row] = await adminQuery(first.db, `select status, failure_streak, last_probe_ok, last_probe_error from apps where slug = 'dies-0'`);
    expect(row).toMatchObject({ status: 'active', failure_streak: 1, last_probe_ok: false });
    expect(row.last_probe_error).toEqual(expect.any(String));
  });

  it('runs on its own once started, with jitter, and stops cleanly', async () => {
    const [server] = await registerApps('loop', 1);
    await makeDue('loop-%');
    const before = toolsListCalls(server!);
    const prober = proberOf(first);
    prober.start();
    const deadline = Date.now() + 5_000;
    while (toolsListCalls(server!) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await prober.stop();
    expect(toolsListCalls(server!)).toBe(before + 1);
  });
});
