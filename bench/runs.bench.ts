/**
 * bench:runs — trivial agent runs (one instant LLM turn) through the whole system, at a fixed
 * offered load, beside graphile-worker running as many no-op jobs on the same PostgreSQL.
 *
 *   npm run bench:runs
 *   BENCH_RATE=400 BENCH_DURATION=10 npm run bench:runs
 *
 * Goals (issue): at least 300 runs/s on this 2-core machine with 2 worker processes, and a p50
 * enqueue→running latency no more than twice graphile-worker's.
 *
 * Runlane: 1 `runlane api` and BENCH_WORKERS `runlane worker` processes (bin/runlane.mjs, the
 * published entry point), Redis bus, a fake Anthropic API in a child process
 * (bench/support/fake-anthropic-child.ts). Runs are enqueued with POST /api/v1/agents/custom/runs
 * over keep-alive connections (undici Pool) at BENCH_RATE per second for BENCH_DURATION seconds;
 * each run makes one streamed LLM call to the fake and succeeds.
 * Baseline: BENCH_WORKERS graphile-worker processes (bench/support/graphile-child.ts, `run()` with
 * one no-op task, concurrency = BENCH_WORKER_SLOTS each) on a database of its own on the same
 * PostgreSQL; jobs are added with WorkerUtils.addJob at the same rate for as long.
 * The two systems run one after the other, never at the same time.
 *
 * Env: RUNLANE_BENCH_ADMIN_URL (superuser URL, default postgres://postgres@127.0.0.1:5432/postgres),
 *      REDIS_URL (default redis://127.0.0.1:6379), BENCH_RATE (300 per s), BENCH_DURATION (10 s),
 *      BENCH_WARMUP (2 s at a tenth of the rate, 5–25/s; 0: none), BENCH_WORKERS (2),
 *      BENCH_WORKER_SLOTS (32 per worker process), BENCH_CONNECTIONS (32: HTTP connections to the
 *      API, and the size of the addJob pool), BENCH_POLL_MS (1000: RUNLANE_RUN_POLL_MS and
 *      graphile-worker's pollInterval), BENCH_DRAIN_TIMEOUT (20 s), BENCH_ONLY (runlane|graphile),
 *      DATABASE_POOL_SIZE (10: connections of each Runlane process, and graphile-worker's
 *      maxPoolSize), BENCH_CPU_PROF (a directory: every child writes a V8 CPU profile there).
 * Other Runlane settings in the env (RUNLANE_RUN_*, …) reach the Runlane processes.
 * bench/README.md says exactly what is compared.
 */
import { randomBytes } from 'node:crypto';
import { cpus as cpuList, loadavg } from 'node:os';
import pg from 'pg';
import { Pool } from 'undici';
import { Logger, makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import { ensureRoles, withDatabase } from '../src/db/provision';
import type { FakeChildMessage } from './support/fake-anthropic-child';
import type { GwChildMessage, GwJobRecord } from './support/graphile-child';
import {
  adminQuery,
  adminUrl,
  ask,
  benchDatabase,
  closeLater,
  createRunlaneDatabase,
  createTenant,
  dropLeftoverBenchDatabases,
  forkChild,
  freePort,
  intEnv,
  now,
  redisUrl,
  runBench,
  runlane,
  runlaneEnv,
  sleep,
  stopChild,
  waitHttp,
  type Proc,
} from './support/harness';
import { commandCpuMs, machineBusyMs, postgresCpuMs, processCpuMs } from './support/proc-cpu';

const rate = intEnv('BENCH_RATE', 300);
const duration = intEnv('BENCH_DURATION', 10);
const warmup = intEnv('BENCH_WARMUP', 2, 0);
/** Warm-up load: enough to compile the hot paths and open the pools, little enough to drain at once. */
const warmRate = Math.max(5, Math.min(25, Math.round(rate / 10)));
const WARM_DRAIN_MS = 20_000;
const workerCount = intEnv('BENCH_WORKERS', 2);
const slots = intEnv('BENCH_WORKER_SLOTS', 32);
const connections = intEnv('BENCH_CONNECTIONS', 32);
const pollMs = intEnv('BENCH_POLL_MS', 1_000);
const drainTimeoutS = intEnv('BENCH_DRAIN_TIMEOUT', 20);
/** Database connections of each worker process (Runlane's DATABASE_POOL_SIZE; graphile-worker's maxPoolSize). */
const poolSize = intEnv('DATABASE_POOL_SIZE', 10);
const only = process.env.BENCH_ONLY as 'runlane' | 'graphile' | undefined;
if (only && only !== 'runlane' && only !== 'graphile') throw new Error('BENCH_ONLY must be runlane or graphile.');

const GOAL_RATE = 300;
const GOAL_P50_RATIO = 2;
/** The throughput goal at a fixed offered load: the completion rate has to keep up with it. */
const KEEP_UP = 0.98;
/** In-flight enqueue calls at most; beyond it sends fall behind schedule (and that shows in their latency). */
const MAX_IN_FLIGHT = 256;
/** A call not sent this long after the schedule's end is not sent at all: the system did not take the load. */
const SEND_GRACE_MS = 5_000;
const apiKey = `sk-ant-api03-bench-${randomBytes(12).toString('hex')}`;

// ---------------------------------------------------------------- load

type Sent = { scheduledMs: number; sentMs: number; doneMs: number; key?: string; createdMs?: number; error?: string };
type Enqueue = () => Promise<{ key: string; createdMs?: number }>;

/**
 * Open-model load: call number i is due at start + i/rate and is sent then, whether or not the
 * earlier ones have returned (up to MAX_IN_FLIGHT at once). Its latency counts from when it was
 * due, so a slow enqueue also delays the ones behind it in the figures (no coordinated omission).
 * Calls still unsent SEND_GRACE_MS after the last one was due are dropped (the result is shorter
 * than planned): a system that does not accept the load is not waited for indefinitely.
 */
async function offer(perSecond: number, seconds: number, enqueue: Enqueue): Promise<Sent[]> {
  const total = Math.max(1, Math.round(perSecond * seconds));
  const interval = 1_000 / perSecond;
  const results: Sent[] = new Array(total);
  const pending: Promise<void>[] = [];
  let next = 0;
  let inFlight = 0;
  const start = now() + 5;
  await new Promise<void>((done) => {
    const tick = () => {
      while (next < total && start + next * interval <= now() && inFlight < MAX_IN_FLIGHT) {
        const scheduledMs = start + next * interval;
        const index = next++;
        inFlight++;
        const sentMs = now();
        pending.push(
          enqueue()
            .then(
              (r) => {
                results[index] = { scheduledMs, sentMs, doneMs: now(), key: r.key, createdMs: r.createdMs };
              },
              (err: unknown) => {
                results[index] = { scheduledMs, sentMs, doneMs: now(), error: err instanceof Error ? err.message : String(err) };
              },
            )
            .finally(() => {
              inFlight--;
            }),
        );
      }
      if (next >= total) return done();
      if (now() > start + total * interval + SEND_GRACE_MS) {
        results.length = next;
        return done();
      }
      setTimeout(tick, Math.max(0, Math.min(start + next * interval - now(), 5)));
    };
    tick();
  });
  await Promise.all(pending);
  return results;
}

/** Waits until `progress` reaches `total`, printing it every 5 s; false after the timeout. */
async function drain(what: string, total: number, progress: () => Promise<number>, timeoutMs: number): Promise<boolean> {
  const started = Date.now();
  let shown = started;
  for (;;) {
    const done = await progress();
    if (done >= total) return true;
    if (Date.now() - started > timeoutMs) {
      console.log(`  ${what}: ${done}/${total} done after ${timeoutMs / 1000} s of draining; the figures count what finished`);
      return false;
    }
    if (Date.now() - shown >= 5_000) {
      shown = Date.now();
      console.log(`  ${what}: ${done}/${total} done, draining for ${((shown - started) / 1000).toFixed(0)} s…`);
    }
    await sleep(200);
  }
}

// ---------------------------------------------------------------- measurement

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

type Dist = { p50: number; p99: number; max: number; n: number };
/** Percentiles; an item that never got there counts as Infinity (it is slower than any that did). */
function dist(values: number[]): Dist {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN, n: sorted.length };
}

type CpuSnapshot = { at: number; procs: Record<string, number | null>; pgOurs: number; pgBackground: number; pgOthers: number; redis: number; machine: number | null };

type PhaseResult = {
  system: 'runlane' | 'graphile';
  offered: number;
  sent: number;
  accepted: number;
  enqueueErrors: string[];
  /** Actual rate of the sends (n / time from first to last). */
  sendRate: number;
  enqueueCall: Dist;
  completed: number;
  /** Ran exactly once and succeeded. */
  exactlyOnce: number;
  problems: string[];
  /** Completed / (last completion - first send). */
  throughput: number;
  /** Completions per second between 1 s after the first send and the last send. */
  sustained: number;
  /** DB created_at → start. */
  latency: Dist;
  /** Client send → start. */
  clientLatency: Dist;
  /** Accepted but not started when the drain timed out (Infinity in the latencies). */
  notStarted: number;
  /** Start → completion. */
  runTime: Dist;
  wallS: number;
  cpu: { rows: { name: string; ms: number }[]; windowS: number; others: number | null };
  /** Database work per run or job (warm-up included, and the bench's own progress polls). */
  db?: DbWork;
};

function snapshotCpu(procs: Record<string, number | undefined>, dbs: string[]): CpuSnapshot {
  const pgCpu = postgresCpuMs(dbs);
  return {
    at: now(),
    procs: Object.fromEntries(Object.entries(procs).map(([name, pid]) => [name, pid === process.pid ? selfCpuMs() : processCpuMs(pid)])),
    pgOurs: pgCpu.ours,
    pgBackground: pgCpu.background,
    pgOthers: pgCpu.others,
    redis: commandCpuMs('redis-server'),
    machine: machineBusyMs(),
  };
}

function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}

function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): PhaseResult['cpu'] {
  const rows: { name: string; ms: number }[] = [];
  for (const name of Object.keys(before.procs)) {
    const a = after.procs[name];
    const b = before.procs[name];
    if (a != null && b != null) rows.push({ name, ms: a - b });
  }
  rows.push({ name: 'postgres backends (bench dbs)', ms: after.pgOurs - before.pgOurs });
  rows.push({ name: 'postgres background (WAL, …)', ms: after.pgBackground - before.pgBackground });
  rows.push({ name: 'redis-server', ms: after.redis - before.redis });
  const ours = rows.reduce((sum, r) => sum + r.ms, 0);
  const machine = after.machine !== null && before.machine !== null ? after.machine - before.machine : null;
  return { rows, windowS: (after.at - before.at) / 1_000, others: machine === null ? null : Math.max(0, machine - ours) };
}

function summarise(
  system: PhaseResult['system'],
  sent: Sent[],
  items: { key: string; createdMs: number; startMs: number | null; endMs: number | null; ok: boolean }[],
  problems: string[],
  cpu: PhaseResult['cpu'],
): Omit<PhaseResult, 'db'> {
  const accepted = sent.filter((s) => s.key);
  const sentByKey = new Map(accepted.map((s) => [s.key!, s]));
  const firstSent = Math.min(...sent.map((s) => s.sentMs));
  const lastSent = Math.max(...sent.map((s) => s.sentMs));
  const done = items.filter((i) => i.endMs !== null);
  const lastDone = Math.max(...done.map((i) => i.endMs!));
  const rampMs = Math.min(1_000, (lastSent - firstSent) / 5);
  const windowStart = firstSent + rampMs;
  const inWindow = done.filter((i) => i.endMs! >= windowStart && i.endMs! <= lastSent).length;
  return {
    system,
    offered: rate,
    sent: sent.length,
    accepted: accepted.length,
    enqueueErrors: [...new Set(sent.filter((s) => s.error).map((s) => s.error!))].slice(0, 5),
    sendRate: sent.length / ((lastSent - firstSent) / 1_000 || Number.NaN),
    enqueueCall: dist(sent.map((s) => s.doneMs - s.scheduledMs)),
    completed: done.length,
    exactlyOnce: items.filter((i) => i.ok).length,
    problems,
    throughput: done.length ? done.length / ((lastDone - firstSent) / 1_000) : 0,
    sustained: inWindow / ((lastSent - windowStart) / 1_000),
    latency: dist(items.map((i) => (i.startMs === null ? Infinity : i.startMs - i.createdMs))),
    clientLatency: dist(items.filter((i) => sentByKey.has(i.key)).map((i) => (i.startMs === null ? Infinity : i.startMs - sentByKey.get(i.key)!.sentMs))),
    notStarted: items.filter((i) => i.startMs === null).length,
    runTime: dist(done.filter((i) => i.startMs !== null).map((i) => i.endMs! - i.startMs!)),
    wallS: done.length ? (lastDone - firstSent) / 1_000 : Number.NaN,
    cpu,
  };
}

type DbWork = { commits: number; scans: number; inserted: number; updated: number };

/**
 * What the database did so far (its statistics): commits, table scans (index and sequential) and
 * rows inserted and updated in the tables. Backends report these within a second or so while
 * busy and when they exit, so the final reading is taken after the workers stopped.
 */
async function dbWork(dbUrl: string): Promise<DbWork> {
  const [row] = await adminQuery<Record<keyof DbWork, string>>(
    dbUrl,
    `select (select xact_commit from pg_stat_database where datname = current_database()) as commits,
            coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) as scans,
            coalesce(sum(n_tup_ins), 0) as inserted,
            coalesce(sum(n_tup_upd), 0) as updated
       from pg_stat_user_tables`,
  );
  return { commits: Number(row!.commits), scans: Number(row!.scans), inserted: Number(row!.inserted), updated: Number(row!.updated) };
}

function perItem(before: DbWork, after: DbWork, items: number): DbWork {
  const per = (k: keyof DbWork) => (after[k] - before[k]) / items;
  return { commits: per('commits'), scans: per('scans'), inserted: per('inserted'), updated: per('updated') };
}

// ---------------------------------------------------------------- Runlane

async function benchRunlane(): Promise<PhaseResult> {
  const database = benchDatabase();
  const { dbAdminUrl, appUrl } = await createRunlaneDatabase(database);

  const fake = forkChild<Extract<FakeChildMessage, { type: 'ready' }>>('fake-anthropic', 'support/fake-anthropic-child.ts', { ...process.env, BENCH_FAKE_KEYS: apiKey });
  const fakeUrl = (await fake.ready).url;

  const apiPort = await freePort();
  const env = runlaneEnv(appUrl, { ANTHROPIC_BASE_URL: fakeUrl, WORKER_SLOTS: String(slots), RUNLANE_RUN_POLL_MS: String(pollMs) });
  const api = runlane('api', ['api'], { ...env, PORT: String(apiPort) });
  const workers: Proc[] = [];
  const healthPorts: number[] = [];
  for (let i = 1; i <= workerCount; i++) {
    const port = await freePort();
    healthPorts.push(port);
    workers.push(runlane(`worker-${i}`, ['worker'], { ...env, WORKER_HEALTH_PORT: String(port) }));
  }
  const tenantToken = createTenant(env);
  await Promise.all([
    waitHttp(api, `http://127.0.0.1:${apiPort}/healthz`),
    ...workers.map((w, i) => waitHttp(w, `http://127.0.0.1:${healthPorts[i]}/readyz`)),
  ]);
  const token = await tenantToken();

  const http = new Pool(`http://127.0.0.1:${apiPort}`, { connections, pipelining: 1 });
  const closeHttp = closeLater(() => http.close());
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body: unknown, expect: number): Promise<any> => {
    const res = await http.request({ method: method as 'PUT', path, headers, body: JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode !== expect) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  await call('PUT', '/api/v1/agent-configs/custom', { system_prompt: 'Be brief.' }, 200);
  await call('PUT', '/api/v1/agent-configs/custom/byok-key', { api_key: apiKey }, 200);

  const body = JSON.stringify({ input: { prompt: 'Hello' } });
  const enqueue: Enqueue = async () => {
    const res = await http.request({ method: 'POST', path: '/api/v1/agents/custom/runs', headers, body });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`POST runs: ${res.statusCode} ${text.slice(0, 200)}`);
    return { key: (JSON.parse(text) as { id: string }).id };
  };
  // One connection for the progress polls (a new connection per poll would cost PostgreSQL a fork each).
  const watcher = new pg.Client({ connectionString: dbAdminUrl });
  await watcher.connect();
  const closeWatcher = closeLater(() => watcher.end());
  const settled = async (ids: string[]) => {
    const { rows } = await watcher.query<{ n: number }>(
      `select count(*)::int as n from agent_runs where id = any($1::uuid[]) and status in ('succeeded', 'failed', 'cancelled')`,
      [ids],
    );
    return rows[0]!.n;
  };

  const workBefore = await dbWork(dbAdminUrl);
  let warmRuns = 0;
  if (warmup > 0) {
    const warm = await offer(warmRate, warmup, enqueue);
    const ids = warm.filter((s) => s.key).map((s) => s.key!);
    warmRuns = ids.length;
    console.log(`  runlane warm-up: ${ids.length} runs at ${warmRate}/s`);
    await drain('runlane warm-up', ids.length, () => settled(ids), WARM_DRAIN_MS);
  }

  const pids = {
    'bench (load generator)': process.pid,
    'fake Anthropic': fake.child.pid,
    'runlane api': api.child.pid,
    ...Object.fromEntries(workers.map((w) => [`runlane ${w.name}`, w.child.pid])),
  };
  const before = snapshotCpu(pids, [database]);
  const sent = await offer(rate, duration, enqueue);
  const ids = sent.filter((s) => s.key).map((s) => s.key!);
  console.log(`  runlane: ${ids.length} runs enqueued in ${((Math.max(...sent.map((x) => x.sentMs)) - Math.min(...sent.map((x) => x.sentMs))) / 1000).toFixed(1)} s`);
  await drain('runlane runs', ids.length, () => settled(ids), drainTimeoutS * 1_000);
  const after = snapshotCpu(pids, [database]);

  const rows = await adminQuery<{ id: string; status: string; attempts: number; created_ms: number; started_ms: number | null; completed_ms: number | null; failure: string | null }>(
    dbAdminUrl,
    `select id, status, attempts,
            extract(epoch from created_at) * 1000 as created_ms,
            extract(epoch from started_at) * 1000 as started_ms,
            extract(epoch from completed_at) * 1000 as completed_ms,
            failure_category || ': ' || coalesce(failure_detail, '') as failure
       from agent_runs where id = any($1::uuid[])`,
    [ids],
  );
  // Problems: a run that ended other than succeeded-on-the-first-attempt, or went missing. A run
  // still queued or running when the drain timed out is unfinished, not a problem.
  const problems: string[] = [];
  const unfinished = new Map<string, number>();
  const wrong = new Map<string, number>();
  for (const r of rows) {
    if (r.status === 'succeeded' && r.attempts === 1) continue;
    const target = ['queued', 'running', 'waiting'].includes(r.status) && r.attempts <= 1 ? unfinished : wrong;
    const key = `${r.status}${r.attempts <= 1 ? '' : ` after ${r.attempts} attempts`}`;
    target.set(key, (target.get(key) ?? 0) + 1);
  }
  if (rows.length !== ids.length) problems.push(`${ids.length - rows.length} accepted runs not found`);
  for (const [status, n] of wrong) problems.push(`${n} ${status}`);
  if (unfinished.size) console.log(`  runlane: unfinished when the drain timed out: ${[...unfinished].map(([k, n]) => `${n} ${k}`).join(', ')}`);
  const failures = [...new Set(rows.filter((r) => r.failure).map((r) => r.failure!))].slice(0, 3);
  for (const f of failures) problems.push(`e.g. ${f.slice(0, 200)}`);

  await closeHttp();
  await closeWatcher();
  await Promise.all([api, ...workers].map((p) => stopChild(p.child)));
  await stopChild(fake.child);
  // Backends flush their statistics when they exit: read the commit count after the stop.
  const workAfter = await dbWork(dbAdminUrl);

  const result = summarise(
    'runlane',
    sent,
    rows.map((r) => ({
      key: r.id,
      createdMs: Number(r.created_ms),
      startMs: r.started_ms === null ? null : Number(r.started_ms),
      endMs: r.status === 'succeeded' || r.status === 'failed' ? Number(r.completed_ms) : null,
      ok: r.status === 'succeeded' && r.attempts === 1,
    })),
    problems,
    cpuDelta(before, after),
  );
  return { ...result, db: perItem(workBefore, workAfter, warmRuns + result.completed) };
}

// ---------------------------------------------------------------- graphile-worker

const quietLogger = new Logger(() => (level: string, message: string) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-worker] ${level}: ${message}\n`);
});

/** `2026-01-02 03:04:05.123456+00` → epoch ms (sub-millisecond); pg's Date parser drops the µs. */
function parsePgTimestamp(text: string): number {
  const m = /^(\d+)-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(text);
  if (!m) throw new Error(`unexpected timestamptz text: ${text}`);
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offsetMs = (Number(m[9]) * 3_600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1_000;
  return utc + Number(m[7] ?? 0) * 1_000 - (m[8] === '-' ? -offsetMs : offsetMs);
}

async function benchGraphile(): Promise<PhaseResult> {
  const database = benchDatabase();
  await adminQuery(adminUrl, `create database "${database}"`);
  const gwUrl = withDatabase(adminUrl, database);

  // timestamptz as text, so created_at keeps its microseconds (see parsePgTimestamp).
  // The enqueue path: BENCH_CONNECTIONS connections, as many as the HTTP connections to the API.
  const pgPool = new pg.Pool({
    connectionString: gwUrl,
    max: connections,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 1184 ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const onPoolError = (err: Error) => console.error(`bench:runs: addJob pool: ${err.message}`);
  pgPool.on('error', onPoolError);
  pgPool.on('connect', (client) => client.on('error', onPoolError));
  const closePool = closeLater(() => pgPool.end());
  const utils: WorkerUtils = await makeWorkerUtils({ pgPool, logger: quietLogger });
  const closeUtils = closeLater(async () => utils.release());
  await utils.migrate();

  const gwEnv: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_GW_URL: gwUrl,
    BENCH_GW_CONCURRENCY: String(slots),
    // As many connections per process as a Runlane process has (graphile-worker's default is 10 too).
    BENCH_GW_POOL: String(poolSize),
    BENCH_GW_POLL_MS: String(pollMs),
  };
  const gws = Array.from({ length: workerCount }, (_, i) =>
    forkChild<Extract<GwChildMessage, { type: 'ready' }>>(`graphile-worker-${i + 1}`, 'support/graphile-child.ts', gwEnv),
  );
  await Promise.all(gws.map((g) => g.ready));

  let added = 0;
  const enqueue: Enqueue = async () => {
    const job = await utils.addJob('noop', { prompt: 'Hello' });
    added++;
    return { key: String(job.id), createdMs: parsePgTimestamp(job.created_at as unknown as string) };
  };
  const ran = async () => {
    const counts = await Promise.all(gws.map((g) => ask<Extract<GwChildMessage, { type: 'count' }>>(g.child, { type: 'count' }, 'count', 'graphile-worker')));
    return counts.reduce((sum, c) => sum + c.done, 0);
  };

  const workBefore = await dbWork(gwUrl);
  if (warmup > 0) {
    const warm = await offer(warmRate, warmup, enqueue);
    console.log(`  graphile-worker warm-up: ${warm.filter((s) => s.key).length} jobs at ${warmRate}/s`);
    await drain('graphile-worker warm-up', added, ran, WARM_DRAIN_MS);
  }

  const pids = {
    'bench (load generator)': process.pid,
    ...Object.fromEntries(gws.map((g, i) => [`graphile-worker ${i + 1}`, g.child.pid])),
  };
  const before = snapshotCpu(pids, [database]);
  const sent = await offer(rate, duration, enqueue);
  await drain('graphile-worker jobs', added, ran, drainTimeoutS * 1_000);
  const after = snapshotCpu(pids, [database]);

  const reports = await Promise.all(gws.map((g) => ask<Extract<GwChildMessage, { type: 'report' }>>(g.child, { type: 'report' }, 'report', 'graphile-worker')));
  const runsById = new Map<string, GwJobRecord[]>();
  for (const report of reports) for (const job of report.jobs) runsById.set(job.id, [...(runsById.get(job.id) ?? []), job]);
  const [left] = await adminQuery<{ n: number }>(gwUrl, 'select count(*)::int as n from graphile_worker.jobs');
  await Promise.all(gws.map((g) => stopChild(g.child)));
  await closeUtils();
  await closePool();
  const workAfter = await dbWork(gwUrl);

  const problems: string[] = [];
  const accepted = sent.filter((s) => s.key);
  const items = accepted.map((s) => {
    const runs = runsById.get(s.key!) ?? [];
    const first = runs[0];
    return {
      key: s.key!,
      createdMs: s.createdMs!,
      startMs: first?.startMs ?? null,
      endMs: first?.endMs ?? null,
      ok: runs.length === 1 && first!.attempts === 1,
    };
  });
  const notRun = items.filter((i) => i.startMs === null).length;
  const twice = accepted.filter((s) => (runsById.get(s.key!)?.length ?? 0) > 1).length;
  const retried = items.filter((i) => i.startMs !== null && !i.ok).length - twice;
  if (notRun) console.log(`  graphile-worker: ${notRun} jobs had not run when the drain timed out`);
  if (twice) problems.push(`${twice} jobs ran more than once`);
  if (retried > 0) problems.push(`${retried} jobs ran on a later attempt`);
  if (left!.n > notRun) problems.push(`${left!.n - notRun} finished jobs left in graphile_worker.jobs`);
  const result = summarise('graphile', sent, items, problems, cpuDelta(before, after));
  return { ...result, db: perItem(workBefore, workAfter, added) };
}

// ---------------------------------------------------------------- report

function pad(text: string, width: number, right = true): string {
  return right ? text.padStart(width) : text.padEnd(width);
}
const fmt = (v: number | undefined, digits = 1) =>
  v === Infinity ? 'not started' : v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
const fmtMs = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : fmt(v));
/** CPU of the bench's own processes, PostgreSQL and Redis per completed run or job, ms. */
const dbRows = (r: PhaseResult | undefined) => (r?.db ? r.db.inserted + r.db.updated : undefined);
const cpuPerItem = (r: PhaseResult | undefined) => (r && r.completed ? r.cpu.rows.reduce((sum, row) => sum + row.ms, 0) / r.completed : undefined);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? undefined : a / b);

function printCpu(result: PhaseResult): void {
  const { rows, windowS, others } = result.cpu;
  const total = rows.reduce((s, r) => s + r.ms, 0);
  console.log(
    `  CPU during the ${result.system === 'runlane' ? 'Runlane' : 'graphile-worker'} phase (${windowS.toFixed(1)} s from the first enqueue to the last completion; ` +
      `${cpuList().length} cores = ${(cpuList().length * 100).toFixed(0)}%):`,
  );
  for (const r of [...rows, { name: 'total of the above', ms: total }, ...(others === null ? [] : [{ name: 'everything else on the machine', ms: others }])]) {
    console.log(
      `    ${pad(r.name, 34, false)}${pad(`${(r.ms / 1_000).toFixed(2)} s`, 9)}${pad(`${((r.ms / 1_000 / windowS) * 100).toFixed(0)}%`, 7)}` +
        `${pad(result.completed ? `${((r.ms * 1_000) / result.completed).toFixed(0)} µs/${result.system === 'runlane' ? 'run' : 'job'}` : '', 16)}`,
    );
  }
}

function phaseLine(r: PhaseResult): void {
  console.log(
    `  ${r.system}: ${r.completed}/${r.accepted} done (${r.exactlyOnce} exactly once; ${Math.round(rate * duration)} planned), ${fmt(r.throughput)}/s overall, ` +
      `${fmt(r.sustained)}/s sustained, enqueue→running p50 ${fmtMs(r.latency.p50)} p99 ${fmtMs(r.latency.p99)}`,
  );
}

function rounded(r: PhaseResult | undefined) {
  if (!r) return null;
  const ms = (v: number) => (Number.isFinite(v) ? Number(v.toFixed(2)) : null);
  const d = (x: Dist) => ({ p50: ms(x.p50), p99: ms(x.p99), max: ms(x.max), n: x.n });
  return {
    offered: r.offered,
    sent: r.sent,
    accepted: r.accepted,
    completed: r.completed,
    notStarted: r.notStarted,
    exactlyOnce: r.exactlyOnce,
    problems: r.problems,
    sendRate: Number(r.sendRate.toFixed(1)),
    throughput: Number(r.throughput.toFixed(1)),
    sustained: Number(r.sustained.toFixed(1)),
    wallS: Number(r.wallS.toFixed(2)),
    latencyMs: d(r.latency),
    clientLatencyMs: d(r.clientLatency),
    enqueueCallMs: d(r.enqueueCall),
    runTimeMs: d(r.runTime),
    dbPerItem: r.db ? Object.fromEntries(Object.entries(r.db).map(([k, v]) => [k, Number(v.toFixed(1))])) : null,
    cpuMsPerItem: Number((cpuPerItem(r) ?? Number.NaN).toFixed(2)),
    cpuS: Object.fromEntries(r.cpu.rows.map((row) => [row.name, Number((row.ms / 1_000).toFixed(2))])),
    otherCpuS: r.cpu.others === null ? null : Number((r.cpu.others / 1_000).toFixed(2)),
  };
}

function report(ours: PhaseResult | undefined, base: PhaseResult | undefined): void {
  console.log('');
  console.log(
    `bench:runs — offered ${rate}/s for ${duration} s (${Math.round(rate * duration)} each), ${workerCount} worker processes × ${slots} slots, ` +
      `${cpuList().length} CPUs, node ${process.version}`,
  );
  const col = 18;
  console.log(`${pad('', 44, false)}${pad('Runlane', col)}${pad('graphile-worker', col)}${pad('ratio', 13)}`);
  const line = (label: string, a: number | undefined, b: number | undefined, digits = 1, withRatio = true) => {
    const r = withRatio ? ratio(a, b) : undefined;
    console.log(`${pad(label, 44, false)}${pad(fmt(a, digits), col)}${pad(fmt(b, digits), col)}${pad(r === undefined ? '—' : fmt(r, 2), 13)}`);
  };
  const text = (label: string, a: string, b: string) => console.log(`${pad(label, 44, false)}${pad(a, col)}${pad(b, col)}`);
  const planned = Math.round(rate * duration);
  text('enqueued / planned', ours ? `${ours.accepted}/${planned}` : '—', base ? `${base.accepted}/${planned}` : '—');
  text('succeeded exactly once / enqueued', ours ? `${ours.exactlyOnce}/${ours.accepted}` : '—', base ? `${base.exactlyOnce}/${base.accepted}` : '—');
  line('throughput /s (first enqueue→last done)', ours?.throughput, base?.throughput);
  line(`sustained /s (done while offering, after ramp)`, ours?.sustained, base?.sustained);
  line('enqueue→running p50 ms (created→started)', ours?.latency.p50, base?.latency.p50, 2);
  line('enqueue→running p99 ms', ours?.latency.p99, base?.latency.p99, 2);
  line('client send→running p50 ms', ours?.clientLatency.p50, base?.clientLatency.p50, 2);
  line('client send→running p99 ms', ours?.clientLatency.p99, base?.clientLatency.p99, 2);
  line('enqueue call p50 ms (POST / addJob, from due)', ours?.enqueueCall.p50, base?.enqueueCall.p50, 2);
  line('enqueue call p99 ms', ours?.enqueueCall.p99, base?.enqueueCall.p99, 2);
  line('actual send rate /s', ours?.sendRate, base?.sendRate);
  line('running→done p50 ms (the run itself / no-op)', ours?.runTime.p50, base?.runTime.p50, 2, false);
  line('database commits per run / job (≈)', ours?.db?.commits, base?.db?.commits);
  line('table scans (index + seq) per run / job', ours?.db?.scans, base?.db?.scans);
  line('rows inserted + updated per run / job', dbRows(ours), dbRows(base));
  line('CPU ms per run / job, all processes above', cpuPerItem(ours), cpuPerItem(base), 2);
  for (const r of [ours, base]) {
    if (!r) continue;
    if (r.enqueueErrors.length) console.log(`  ${r.system}: enqueue errors: ${r.enqueueErrors.join(' | ')}`);
    if (r.problems.length) console.log(`  ${r.system}: NOT EXACTLY ONCE: ${r.problems.join('; ')}`);
    if (r.sent < planned) console.log(`  ${r.system}: only ${r.sent} of ${planned} enqueue calls could be sent: the enqueue path did not keep up with ${rate}/s`);
    if (r.notStarted) console.log(`  ${r.system}: ${r.notStarted} had not even started when the drain timed out; they count as slower than every other in the percentiles`);
  }
  if (ours) {
    const judged = rate >= GOAL_RATE;
    const keptUp =
      ours.sustained >= KEEP_UP * GOAL_RATE && ours.sent === planned && ours.exactlyOnce === ours.sent && ours.problems.length === 0;
    console.log(
      `goal ≥ ${GOAL_RATE} runs/s: ${
        judged
          ? `${keptUp ? 'GOAL MET' : 'GOAL MISSED'} — at ${rate}/s offered Runlane completed ${fmt(ours.sustained)}/s while offered ` +
            `(${fmt(ours.throughput)}/s over the whole phase incl. the drain; met means ≥ ${KEEP_UP * 100}% of ${GOAL_RATE}/s and every run done once)`
          : `not judged: the offered load (${rate}/s) is below ${GOAL_RATE}/s`
      }`,
    );
    if (base) {
      const r = ratio(ours.latency.p50, base.latency.p50)!;
      console.log(
        `goal p50 enqueue→running ≤ ${GOAL_P50_RATIO}× graphile-worker's: ${r <= GOAL_P50_RATIO ? 'GOAL MET' : 'GOAL MISSED'} — ` +
          `${fmtMs(ours.latency.p50)} vs ${fmtMs(base.latency.p50)} = ${fmt(r, 2)}×`,
      );
    }
  }
  console.log('');
  for (const r of [ours, base]) if (r) printCpu(r);
  const loads = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`  load average now: ${loads} (figures are only comparable on an otherwise idle machine)`);
  console.log('');
  console.log(
    JSON.stringify({
      bench: 'runs',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpuList().length,
      rate,
      durationS: duration,
      workers: workerCount,
      slotsPerWorker: slots,
      pollMs,
      connections,
      runlane: rounded(ours),
      graphile: rounded(base),
      throughputRatio: ours && base ? Number((ours.throughput / base.throughput).toFixed(3)) : null,
      p50Ratio: ours && base ? Number((ours.latency.p50 / base.latency.p50).toFixed(3)) : null,
      p99Ratio: ours && base ? Number((ours.latency.p99 / base.latency.p99).toFixed(3)) : null,
    }),
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  await dropLeftoverBenchDatabases();
  console.log(
    `bench:runs: PostgreSQL ${new URL(adminUrl).host}, Redis ${new URL(redisUrl).host}, ${cpuList().length} CPUs, ` +
      `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`,
  );
  await ensureRoles(adminUrl);
  let ours: PhaseResult | undefined;
  let base: PhaseResult | undefined;
  if (only !== 'graphile') {
    console.log(`  runlane: 1 api + ${workerCount} workers × ${slots} slots, ${rate}/s for ${duration} s…`);
    ours = await benchRunlane();
    phaseLine(ours);
  }
  if (only !== 'runlane') {
    console.log(`  graphile-worker: ${workerCount} processes × concurrency ${slots}, ${rate}/s for ${duration} s…`);
    base = await benchGraphile();
    phaseLine(base);
  }
  report(ours, base);
  return 0;
}

await runBench('bench:runs', main);
