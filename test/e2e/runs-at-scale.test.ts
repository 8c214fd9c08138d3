import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyring } from '../../src/platform/crypto';
import { SCOPES } from '../../src/modules/accounts/scopes';
import { startTestServer, type TestServer } from '../support/app';
import { adminQuery } from '../support/database';
import { startApiProcess, startWorkerProcess, stopProcess, type ApiProcess } from '../support/runlane-process';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';

// Four worker processes and 1,000 runs: half queued up front, half enqueued over REST through a
// real `runlane api` process while the workers drain the queue. The API is stopped and replaced
// mid-stream, workers are stopped and restarted (gracefully and with SIGKILL): every run ends
// exactly once, succeeded, with one journal, and no accepted enqueue is lost.
const RUNS = 1_000;
const OVER_REST = RUNS / 2;
const masterKey = randomBytes(32);
let api: TestServer;
let fake: FakeAnthropic;
const workers = new Set<ChildProcess>();
let restApi: ApiProcess | null = null;

async function startWorker(): Promise<ChildProcess> {
  const { child } = await startWorkerProcess({
    databaseUrl: api.db.appUrl,
    masterKey,
    env: {
      ANTHROPIC_BASE_URL: fake.url,
      RUNLANE_RUN_LEASE_SECONDS: '3',
      RUNLANE_RUN_RENEW_MS: '1000',
      RUNLANE_RUN_POLL_MS: '250',
      WORKER_SLOTS: '16',
      DATABASE_POOL_SIZE: '8',
    },
  });
  workers.add(child);
  child.once('exit', () => workers.delete(child));
  return child;
}

const counts = async () =>
  (await adminQuery(api.db, `select status, count(*)::int as n from agent_runs group by status`)).reduce(
    (acc, r) => ({ ...acc, [r.status]: r.n }),
    {} as Record<string, number>,
  );

beforeAll(async () => {
  fake = await startFakeAnthropic();
  api = await startTestServer({ redis: true, keyring: keyring(masterKey), env: { ANTHROPIC_BASE_URL: fake.url } });
}, 60_000);

afterAll(async () => {
  await Promise.all([...workers].map((w) => stopProcess(w, 'SIGKILL')));
  if (restApi) await stopProcess(restApi.child, 'SIGKILL');
  await api?.close();
  await fake?.close();
});

const startRestApi = async () =>
  startApiProcess({ databaseUrl: api.db.appUrl, masterKey, env: { ANTHROPIC_BASE_URL: fake.url, DATABASE_POOL_SIZE: '4' } });

/**
 * What a careful client does: POST with an idempotency key and retry on connection errors and
 * 5xx (the API being replaced) until the run is accepted. Returns the accepted run's id.
 */
async function enqueueOverRest(token: string, n: number): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = restApi?.url;
    if (base) {
      const res = await fetch(`${base}/api/v1/agents/custom/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { n }, idempotency_key: `scale-${n}` }),
      }).catch(() => null);
      if (res && (res.status === 200 || res.status === 201)) return ((await res.json()) as { id: string }).id;
      if (res && res.status < 500) throw new Error(`enqueue ${n} refused: ${res.status} ${await res.text()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`enqueue ${n} never accepted`);
}

describe('1,000 runs across four worker processes', () => {
  it('every run executes exactly once and succeeds, through API and worker restarts', async () => {
    const t = await api.tenant();
    const actor = { tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
    const key = `sk-ant-api03-scale-${'0'.repeat(24)}`;
    fake.setKeyBehaviour(key, 'valid');
    await api.app.services.agentConfigs.put(actor, 'custom', { systemPrompt: 'Answer.' });
    await api.app.services.agentConfigs.setByokKey(actor, 'custom', key);
    for (let i = 0; i < RUNS - OVER_REST; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => api.app.services.runs.enqueue(actor, 'custom', { input: { n: i + j } })));
    }
    restApi = await startRestApi();
    const started = await Promise.all([startWorker(), startWorker(), startWorker(), startWorker()]);
    // The REST half, 10 calls in flight; the API process is replaced after the first fifth.
    const accepted: string[] = [];
    const restEnqueues = (async () => {
      for (let i = RUNS - OVER_REST; i < RUNS; i += 10) {
        accepted.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => enqueueOverRest(t.token, i + j)))));
        if (accepted.length === OVER_REST / 5) {
          const old = restApi!;
          restApi = null;
          await stopProcess(old.child, 'SIGTERM');
          restApi = await startRestApi();
        }
      }
    })();
    const until = (done: (c: Record<string, number>) => boolean, ms: number) =>
      (async () => {
        const end = Date.now() + ms;
        for (;;) {
          const c = await counts();
          if (done(c)) return c;
          if (Date.now() > end) throw new Error(`stuck: ${JSON.stringify(c)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
    await until((c) => (c.succeeded ?? 0) >= RUNS / 4, 60_000);
    // One worker stops gracefully, one is killed outright; both are replaced.
    await Promise.all([stopProcess(started[0]!, 'SIGTERM'), stopProcess(started[1]!, 'SIGKILL')]);
    await Promise.all([startWorker(), startWorker()]);
    await restEnqueues;
    expect(new Set(accepted).size).toBe(OVER_REST);
    const final = await until((c) => (c.succeeded ?? 0) + (c.failed ?? 0) + (c.cancelled ?? 0) === RUNS, 120_000);
    expect(final).toEqual({ succeeded: RUNS });
    const [journal] = await adminQuery(
      api.db,
      `select count(*)::int as runs, min(n)::int as min_steps, max(n)::int as max_steps, sum(succeeded_events)::int as succeeded_events
         from (select r.id, (select count(*) from agent_steps s where s.run_id = r.id) as n,
                      (select count(*) from agent_events e where e.run_id = r.id and e.type = 'succeeded') as succeeded_events
                 from agent_runs r) x`,
    );
    expect(journal).toEqual({ runs: RUNS, min_steps: 1, max_steps: 1, succeeded_events: RUNS });
    const [rest] = await adminQuery(api.db, `select count(*)::int as n, count(distinct idempotency_key)::int as keys from agent_runs where source = 'api' and idempotency_key like 'scale-%'`);
    expect(rest).toEqual({ n: OVER_REST, keys: OVER_REST });
  }, 240_000);
});
