/**
 * bench:claims — workflow step claims through the REST worker protocol (seed 001), beside the bare
 * SKIP LOCKED claim query on the same PostgreSQL.
 *
 *   npm run bench:claims
 *   BENCH_JOBS=2000 BENCH_WORKERS=100 npm run bench:claims
 *
 * Runlane: one `runlane api` process (bin/runlane.mjs, the published entry point), one tenant, a
 * workspace whose task `fan` has BENCH_STEPS independent root steps, executed BENCH_JOBS times
 * over REST (BENCH_JOBS × BENCH_STEPS ready steps; creating them is not measured). Then
 * BENCH_WORKERS REST workers, async loops spread over BENCH_PROCS child processes (this file,
 * forked with BENCH_CLAIMS_ROLE=rest), each registered with POST /worker/register and looping
 * POST /worker/jobs/claim → POST /worker/jobs/{id}/steps/{step}/complete {output: null,
 * exit_code: 0} until a claim answers no work, drain them all.
 * Baseline, same run, same database, after the API has stopped: a scratch copy of those ready
 * rows (`create table … (like job_steps including all)`, made as the superuser before the REST
 * phase, so with the same rows and indexes), claimed by as many pg clients in as many processes
 * (BENCH_CLAIMS_ROLE=sql) with the bare statement `update … where (tenant_id, job_id, step_name) =
 * (select … for update skip locked limit 1) returning …`; a second copy is drained with that claim
 * plus an `update … set status = 'completed'` per step, the REST loop's shape without HTTP.
 *
 * Measured: claims per second (wall, from the first claim sent to the last loop's end), the round
 * trip of each claim that returned work (p50/p99), double claims (a (job, step) claimed more than
 * once across all workers), and the database afterwards (every step completed once, by the worker
 * that claimed it; every job completed).
 *
 * Env: RUNLANE_BENCH_ADMIN_URL (superuser URL, default postgres://postgres@127.0.0.1:5432/postgres),
 *      REDIS_URL (default redis://127.0.0.1:6379), BENCH_JOBS (1000), BENCH_STEPS (10),
 *      BENCH_WORKERS (50), BENCH_PROCS (2), BENCH_WARMUP_JOBS (20; drained by the REST workers
 *      before the measurement, 0: none), BENCH_CREATE_CONCURRENCY (16 execute calls in flight),
 *      DATABASE_POOL_SIZE (the API's connections, Runlane's default 10), BENCH_CPU_PROF (a
 *      directory: every child writes a V8 CPU profile there).
 * bench/README.md says what is compared.
 */
import { randomUUID } from 'node:crypto';
import { cpus as cpuList, loadavg } from 'node:os';
import pg from 'pg';
import { Pool } from 'undici';
import { ensureRoles } from '../src/db/provision';
import { uploadWorkspace } from '../test/support/workflows';
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
  stopChild,
  waitHttp,
  type Forked,
} from './support/harness';
import { machineBusyMs, postgresCpuDeltaMs, postgresProcessesCpuMs, processCpuMs } from './support/proc-cpu';

const TAGS = ['script'];

// ---------------------------------------------------------------- children

type Result = {
  /** Claim round trips that returned work, ms. */
  latencies: number[];
  /** Complete round trips (REST) or statements (SQL claim+complete), ms. */
  completes: number[];
  /** `${job_id}/${step_name}` of every claim that returned work, and the worker that made it (same index). */
  keys: string[];
  workers: string[];
  empty: number;
  errors: string[];
  startMs: number;
  endMs: number;
};

type ChildMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | ({ type: 'result'; id: number } & Result)
  | { type: 'cpu'; id: number; micros: number };
type RunMessage = { type: 'run'; id: number; table?: string; complete?: boolean };

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** The loops of one child: each runs until a claim answers no work (or fails), then the results are merged. */
async function drainWith(loops: number, loop: (index: number, out: Result) => Promise<void>): Promise<Result> {
  const out: Result = { latencies: [], completes: [], keys: [], workers: [], empty: 0, errors: [], startMs: now(), endMs: 0 };
  await Promise.all(Array.from({ length: loops }, (_, i) => loop(i, out).catch((err: unknown) => void out.errors.push(err instanceof Error ? err.message : String(err)))));
  out.endMs = now();
  return out;
}

/** BENCH_CLAIMS_ROLE=rest: BENCH_CHILD_LOOPS REST workers against BENCH_API_URL with BENCH_TOKEN. */
async function restChild(): Promise<void> {
  const loops = Number(process.env.BENCH_CHILD_LOOPS);
  const api = new Pool(process.env.BENCH_API_URL!, { connections: loops, pipelining: 1 });
  const headers = { authorization: `Bearer ${process.env.BENCH_TOKEN}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown): Promise<{ status: number; json: any }> => {
    const res = await api.request({ method: 'POST', path, headers, body: JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? JSON.parse(text) : null };
  };
  const workerIds: string[] = [];
  for (let i = 0; i < loops; i++) {
    const registered = await post('/worker/register', { name: `bench-${process.pid}-${i}`, tags: TAGS });
    if (registered.status !== 200) throw new Error(`POST /worker/register: ${registered.status} ${JSON.stringify(registered.json)}`);
    workerIds.push(registered.json.worker_id);
  }
  const completeBody = JSON.stringify({ output: null, exit_code: 0 });
  const run = () =>
    drainWith(loops, async (i, out) => {
      const workerId = workerIds[i]!;
      const claimBody = JSON.stringify({ worker_id: workerId, tags: TAGS });
      for (;;) {
        const t0 = now();
        const res = await api.request({ method: 'POST', path: '/worker/jobs/claim', headers, body: claimBody });
        const text = await res.body.text();
        const t1 = now();
        if (res.statusCode !== 200) throw new Error(`POST /worker/jobs/claim: ${res.statusCode} ${text.slice(0, 300)}`);
        const claim = JSON.parse(text) as { job_id: string | null; step_name: string | null };
        if (!claim.job_id || !claim.step_name) {
          out.empty++;
          return;
        }
        out.latencies.push(t1 - t0);
        out.keys.push(`${claim.job_id}/${claim.step_name}`);
        out.workers.push(workerId);
        const c0 = now();
        const done = await api.request({
          method: 'POST',
          path: `/worker/jobs/${claim.job_id}/steps/${encodeURIComponent(claim.step_name)}/complete`,
          headers,
          body: completeBody,
        });
        const answer = await done.body.text();
        out.completes.push(now() - c0);
        if (done.statusCode !== 200) throw new Error(`POST …/steps/${claim.step_name}/complete: ${done.statusCode} ${answer.slice(0, 300)}`);
      }
    });
  serveChild(run, () => api.close());
}

/**
 * BENCH_CLAIMS_ROLE=sql: BENCH_CHILD_LOOPS pg clients on BENCH_DB_URL claiming rows of the scratch
 * table named in each run message, for tenant BENCH_TENANT_ID, with the bare SKIP LOCKED statement.
 */
async function sqlChild(): Promise<void> {
  const loops = Number(process.env.BENCH_CHILD_LOOPS);
  const tenantId = process.env.BENCH_TENANT_ID!;
  const clients = await Promise.all(
    Array.from({ length: loops }, async () => {
      const client = new pg.Client({ connectionString: process.env.BENCH_DB_URL });
      await client.connect();
      return client;
    }),
  );
  const workerIds = clients.map(() => randomUUID());
  const run = (message: RunMessage) => {
    const table = message.table!;
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`bad table name ${table}`);
    // The claim the service makes, reduced to its bare statement: same predicate, order and lock.
    const claimSql = `update ${table} set status = 'running', worker_id = $1, started_at = now()
       where (tenant_id, job_id, step_name) = (
         select tenant_id, job_id, step_name from ${table}
          where tenant_id = $2 and status = 'ready' and action_type <> 'agent' and required_tags <@ $3::text[]
          order by ready_at limit 1
          for update skip locked)
       returning job_id, step_name`;
    const completeSql = `update ${table} set status = 'completed', output = null, completed_at = now()
       where tenant_id = $1 and job_id = $2 and step_name = $3 and status = 'running'`;
    return drainWith(loops, async (i, out) => {
      const client = clients[i]!;
      const workerId = workerIds[i]!;
      for (;;) {
        const t0 = now();
        const { rows } = await client.query<{ job_id: string; step_name: string }>(claimSql, [workerId, tenantId, TAGS]);
        const t1 = now();
        const row = rows[0];
        if (!row) {
          out.empty++;
          return;
        }
        out.latencies.push(t1 - t0);
        out.keys.push(`${row.job_id}/${row.step_name}`);
        out.workers.push(workerId);
        if (message.complete) {
          const c0 = now();
          await client.query(completeSql, [tenantId, row.job_id, row.step_name]);
          out.completes.push(now() - c0);
        }
      }
    });
  };
  serveChild(run, async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  });
}

/** The IPC side of a child: ready, then run / cpu / stop messages. */
function serveChild(run: (message: RunMessage) => Promise<Result>, close: () => Promise<void>): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await close().catch(() => undefined);
    process.exit(0);
  };
  process.on('message', (message: RunMessage | { type: 'stop' } | { type: 'cpu'; id: number }) => {
    if (message.type === 'stop') void stop();
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', id: message.id, micros: user + system });
    }
    if (message.type === 'run') {
      run(message).then(
        (result) => send({ type: 'result', id: message.id, ...result }),
        (err: unknown) =>
          send({ type: 'result', id: message.id, latencies: [], completes: [], keys: [], workers: [], empty: 0, errors: [String(err)], startMs: now(), endMs: now() }),
      );
    }
  });
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  send({ type: 'ready' });
}

// ---------------------------------------------------------------- parent: settings

const jobs = intEnv('BENCH_JOBS', 1_000);
const stepsPerJob = intEnv('BENCH_STEPS', 10);
const workerCount = intEnv('BENCH_WORKERS', 50);
const procs = Math.min(intEnv('BENCH_PROCS', 2), workerCount);
const warmJobs = intEnv('BENCH_WARMUP_JOBS', 20, 0);
const createConcurrency = intEnv('BENCH_CREATE_CONCURRENCY', 16);
const apiPoolSize = intEnv('DATABASE_POOL_SIZE', 10);
const totalSteps = jobs * stepsPerJob;

const stepNames = Array.from({ length: stepsPerJob }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
const FLOW = `
actions:
  noop:
    type: script
    script: "true"
tasks:
  fan:
    flow:
${stepNames.map((s) => `      ${s}: { action: noop }`).join('\n')}
`;

/** Loops of child i: the workers spread evenly. */
const loopsOf = (i: number) => Math.floor(workerCount / procs) + (i < workerCount % procs ? 1 : 0);

// ---------------------------------------------------------------- parent: measurement

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

type Phase = {
  name: string;
  claims: number;
  wallS: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  completeP50: number | null;
  completeP99: number | null;
  doubleClaims: number;
  empty: number;
  errors: string[];
  /** What the database says afterwards; empty when all is well. */
  problems: string[];
  cpu: { name: string; ms: number }[];
  cpuWindowS: number;
  othersMs: number | null;
};

type CpuReading = { at: number; procs: Map<string, number | null>; pg: ReturnType<typeof postgresProcessesCpuMs>; machine: number | null };

function readCpu(pids: Record<string, number | undefined>, database: string): CpuReading {
  return {
    at: now(),
    procs: new Map(Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid)])),
    pg: postgresProcessesCpuMs([database]),
    machine: machineBusyMs(),
  };
}

function cpuBetween(before: CpuReading, after: CpuReading): { rows: { name: string; ms: number }[]; windowS: number; othersMs: number | null } {
  const rows: { name: string; ms: number }[] = [];
  for (const [name, ms] of after.procs) {
    const was = before.procs.get(name);
    if (ms != null && was != null) rows.push({ name, ms: ms - was });
  }
  const pgDelta = postgresCpuDeltaMs(before.pg, after.pg);
  rows.push({ name: 'postgres backends (bench db)', ms: pgDelta.ours });
  rows.push({ name: 'postgres background', ms: pgDelta.background });
  const ours = rows.reduce((sum, r) => sum + r.ms, 0);
  const machine = after.machine !== null && before.machine !== null ? after.machine - before.machine : null;
  return { rows, windowS: (after.at - before.at) / 1_000, othersMs: machine === null ? null : Math.max(0, machine - ours) };
}

/** Sends `run` to every child at once and merges what they drained. */
async function runChildren(children: Forked<{ type: 'ready' }>[], message: Omit<RunMessage, 'id' | 'type'> = {}): Promise<Result> {
  const results = await Promise.all(children.map((c) => ask<Extract<ChildMessage, { type: 'result' }>>(c.child, { type: 'run', ...message }, 'result', c.name)));
  return {
    latencies: results.flatMap((r) => r.latencies),
    completes: results.flatMap((r) => r.completes),
    keys: results.flatMap((r) => r.keys),
    workers: results.flatMap((r) => r.workers),
    empty: results.reduce((sum, r) => sum + r.empty, 0),
    errors: [...new Set(results.flatMap((r) => r.errors))],
    startMs: Math.min(...results.map((r) => r.startMs)),
    endMs: Math.max(...results.map((r) => r.endMs)),
  };
}

function phaseOf(name: string, result: Result, cpu: ReturnType<typeof cpuBetween>, problems: string[]): Phase {
  const latencies = [...result.latencies].sort((a, b) => a - b);
  const completes = [...result.completes].sort((a, b) => a - b);
  const seen = new Map<string, number>();
  for (const key of result.keys) seen.set(key, (seen.get(key) ?? 0) + 1);
  const doubleClaims = [...seen.values()].filter((n) => n > 1).length;
  const wallS = (result.endMs - result.startMs) / 1_000;
  if (seen.size !== totalSteps) problems.push(`${seen.size} distinct steps claimed of ${totalSteps}`);
  return {
    name,
    claims: result.keys.length,
    wallS,
    perSecond: result.keys.length / wallS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? Number.NaN,
    completeP50: completes.length ? percentile(completes, 50) : null,
    completeP99: completes.length ? percentile(completes, 99) : null,
    doubleClaims,
    empty: result.empty,
    errors: result.errors,
    problems,
    cpu: cpu.rows,
    cpuWindowS: cpu.windowS,
    othersMs: cpu.othersMs,
  };
}

/** Runs `count` calls of `fn`, `concurrency` at a time. */
async function inParallel(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

// ---------------------------------------------------------------- parent: phases

type Setup = {
  database: string;
  dbAdminUrl: string;
  tenantId: string;
  rest: Phase;
  /** Scratch tables with copies of the measured ready rows, for the baselines. */
  tables: { bare: string; complete: string };
};

async function benchRunlane(): Promise<Setup> {
  const database = benchDatabase();
  const { dbAdminUrl, appUrl } = await createRunlaneDatabase(database);
  const apiPort = await freePort();
  const env = runlaneEnv(appUrl);
  const api = runlane('api', ['api'], { ...env, PORT: String(apiPort) });
  const tenantToken = createTenant(env);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitHttp(api, `${apiUrl}/healthz`);
  const token = await tenantToken();
  await uploadWorkspace(apiUrl, token, 'default', { '.workflows/fan.yaml': FLOW });

  const http = new Pool(apiUrl, { connections: createConcurrency, pipelining: 1 });
  const closeHttp = closeLater(() => http.close());
  const jobIds: string[] = [];
  const execute = async (count: number, into: string[]) =>
    inParallel(count, createConcurrency, async () => {
      const res = await http.request({
        method: 'POST',
        path: '/api/workspaces/default/tasks/fan/execute',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{"input":{}}',
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`POST …/tasks/fan/execute: ${res.statusCode} ${text.slice(0, 300)}`);
      into.push((JSON.parse(text) as { job_id: string }).job_id);
    });

  const children = Array.from({ length: procs }, (_, i) =>
    forkChild<{ type: 'ready' }>(`rest-workers-${i + 1}`, 'claims.bench.ts', {
      ...process.env,
      BENCH_CLAIMS_ROLE: 'rest',
      BENCH_CHILD_LOOPS: String(loopsOf(i)),
      BENCH_API_URL: apiUrl,
      BENCH_TOKEN: token,
    }),
  );
  await Promise.all(children.map((c) => c.ready));

  if (warmJobs > 0) {
    const warm: string[] = [];
    await execute(warmJobs, warm);
    const result = await runChildren(children);
    if (result.errors.length) throw new Error(`warm-up: ${result.errors.slice(0, 3).join(' | ')}`);
    console.log(`  warm-up: ${result.keys.length} steps of ${warmJobs} jobs drained by ${workerCount} REST workers`);
  }

  const createStart = now();
  await execute(jobs, jobIds);
  const createS = (now() - createStart) / 1_000;
  const [ready] = await adminQuery<{ n: number }>(dbAdminUrl, `select count(*)::int as n from job_steps where status = 'ready'`);
  if (ready!.n !== totalSteps) throw new Error(`${ready!.n} ready steps after creating the jobs, expected ${totalSteps}`);
  console.log(`  ${jobs} jobs created in ${createS.toFixed(1)} s (${(jobs / createS).toFixed(0)}/s, not measured): ${totalSteps} ready steps`);

  // The baselines' tables: the same ready rows, the same columns, constraints and indexes.
  const tables = { bare: 'bench_claims_bare', complete: 'bench_claims_complete' };
  const [{ tenant_id: tenantId }] = (await adminQuery<{ tenant_id: string }>(dbAdminUrl, `select tenant_id from jobs limit 1`)) as [{ tenant_id: string }];
  for (const table of Object.values(tables)) {
    await adminQuery(dbAdminUrl, `create table ${table} (like job_steps including all)`);
    await adminQuery(dbAdminUrl, `insert into ${table} select * from job_steps where status = 'ready'`);
  }
  await adminQuery(dbAdminUrl, `vacuum analyze job_steps`);
  await adminQuery(dbAdminUrl, `vacuum analyze jobs`);
  for (const table of Object.values(tables)) await adminQuery(dbAdminUrl, `vacuum analyze ${table}`);

  const pids = { 'runlane api': api.child.pid, ...Object.fromEntries(children.map((c) => [c.name, c.child.pid])) };
  console.log(`  REST: ${workerCount} workers in ${procs} processes draining ${totalSteps} steps…`);
  const before = readCpu(pids, database);
  const result = await runChildren(children);
  const after = readCpu(pids, database);

  // What the database says: every measured step completed, by the worker that claimed it; every job completed.
  const problems: string[] = [];
  const claimedBy = new Map<string, string>();
  result.keys.forEach((key, i) => claimedBy.set(key, result.workers[i]!));
  const rows = await adminQuery<{ job_id: string; step_name: string; status: string; worker_id: string | null }>(
    dbAdminUrl,
    `select job_id, step_name, status, worker_id from job_steps where job_id = any($1::uuid[])`,
    [jobIds],
  );
  const notCompleted = rows.filter((r) => r.status !== 'completed').length;
  const wrongWorker = rows.filter((r) => claimedBy.get(`${r.job_id}/${r.step_name}`) !== r.worker_id).length;
  if (rows.length !== totalSteps) problems.push(`${rows.length} step rows, expected ${totalSteps}`);
  if (notCompleted) problems.push(`${notCompleted} steps not completed`);
  if (wrongWorker) problems.push(`${wrongWorker} steps completed under another worker than the one that claimed them`);
  const jobStatuses = await adminQuery<{ status: string; n: number }>(
    dbAdminUrl,
    `select status, count(*)::int as n from jobs where id = any($1::uuid[]) group by status`,
    [jobIds],
  );
  for (const s of jobStatuses) if (s.status !== 'completed') problems.push(`${s.n} jobs ${s.status}`);
  const failedLines = await adminQuery<{ n: number }>(
    dbAdminUrl,
    `select count(*)::int as n from log_lines where source = 'job' and source_id = any($1::uuid[]) and step = '_server' and stream = 'stderr'`,
    [jobIds],
  );
  if (failedLines[0]!.n > 0) problems.push(`${failedLines[0]!.n} server log lines (step failures) on the measured jobs`);

  await Promise.all(children.map((c) => stopChild(c.child)));
  await closeHttp();
  await stopChild(api.child);
  return { database, dbAdminUrl, tenantId, rest: phaseOf('Runlane REST', result, cpuBetween(before, after), problems), tables };
}

async function benchBaseline(setup: Setup, table: string, complete: boolean): Promise<Phase> {
  const children = Array.from({ length: procs }, (_, i) =>
    forkChild<{ type: 'ready' }>(`sql-claimers-${i + 1}`, 'claims.bench.ts', {
      ...process.env,
      BENCH_CLAIMS_ROLE: 'sql',
      BENCH_CHILD_LOOPS: String(loopsOf(i)),
      BENCH_DB_URL: setup.dbAdminUrl,
      BENCH_TENANT_ID: setup.tenantId,
    }),
  );
  await Promise.all(children.map((c) => c.ready));
  const pids = Object.fromEntries(children.map((c) => [c.name, c.child.pid]));
  const before = readCpu(pids, setup.database);
  const result = await runChildren(children, { table, complete });
  const after = readCpu(pids, setup.database);
  await Promise.all(children.map((c) => stopChild(c.child)));
  const problems: string[] = [];
  const [counts] = await adminQuery<{ ready: number; running: number; completed: number }>(
    setup.dbAdminUrl,
    `select count(*) filter (where status = 'ready')::int as ready, count(*) filter (where status = 'running')::int as running,
            count(*) filter (where status = 'completed')::int as completed from ${table}`,
  );
  const expected = complete ? { ready: 0, running: 0, completed: totalSteps } : { ready: 0, running: totalSteps, completed: 0 };
  if (JSON.stringify(counts) !== JSON.stringify(expected)) problems.push(`rows afterwards ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`);
  return phaseOf(complete ? 'SQL claim+complete' : 'bare SQL claim', result, cpuBetween(before, after), problems);
}

// ---------------------------------------------------------------- parent: report

const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const pad = (text: string, width: number, right = true) => (right ? text.padStart(width) : text.padEnd(width));

function report(phases: Phase[]): boolean {
  const [rest, bare, full] = phases as [Phase, Phase, Phase];
  console.log('');
  console.log(
    `bench:claims — ${jobs} jobs × ${stepsPerJob} independent ready steps = ${totalSteps} steps, ${workerCount} concurrent claimers in ${procs} processes, ` +
      `API DATABASE_POOL_SIZE ${apiPoolSize}, ${cpuList().length} CPUs, node ${process.version}`,
  );
  const col = 16;
  console.log(`${pad('', 40, false)}${phases.map((p) => pad(p.name, col + 3)).join('')}${pad('REST/bare', 11)}${pad('REST/c+c', 11)}`);
  const line = (label: string, pick: (p: Phase) => number | null, digits = 1, ratios = true) => {
    const values = phases.map(pick);
    const r = (a: number | null, b: number | null) => (ratios && a !== null && b !== null && b ? fmt(a / b, 2) : '—');
    console.log(`${pad(label, 40, false)}${values.map((v) => pad(fmt(v, digits), col + 3)).join('')}${pad(r(values[0]!, values[1]!), 11)}${pad(r(values[0]!, values[2]!), 11)}`);
  };
  const text = (label: string, pick: (p: Phase) => string) => console.log(`${pad(label, 40, false)}${phases.map((p) => pad(pick(p), col + 3)).join('')}`);
  text('steps claimed / ready', (p) => `${p.claims}/${totalSteps}`);
  line('claims per second (wall)', (p) => p.perSecond);
  line('claim round trip p50 ms', (p) => p.p50, 2);
  line('claim round trip p99 ms', (p) => p.p99, 2);
  line('claim round trip max ms', (p) => p.max, 1);
  line('complete round trip p50 ms', (p) => p.completeP50, 2);
  line('complete round trip p99 ms', (p) => p.completeP99, 2);
  line('wall s', (p) => p.wallS, 2, false);
  line('double claims', (p) => p.doubleClaims, 0, false);
  line('empty claims (one per loop at the end)', (p) => p.empty, 0, false);
  line('CPU ms per step, processes listed below', (p) => p.cpu.reduce((s, r) => s + r.ms, 0) / Math.max(1, p.claims), 3);
  const valid = phases.every((p) => p.errors.length === 0 && p.problems.length === 0 && p.doubleClaims === 0);
  for (const p of phases) {
    if (p.errors.length) console.log(`  ${p.name}: ERRORS: ${p.errors.slice(0, 5).join(' | ')}`);
    if (p.problems.length) console.log(`  ${p.name}: PROBLEMS: ${p.problems.join('; ')}`);
  }
  console.log(
    `  exactly once: ${rest.doubleClaims === 0 && rest.problems.length === 0 ? 'yes' : 'NO'} — ${rest.doubleClaims} double claims across the REST workers; ` +
      `${rest.problems.length ? rest.problems.join('; ') : `the database has all ${totalSteps} steps completed by the worker that claimed them and all ${jobs} jobs completed`}`,
  );
  console.log(
    `  Runlane REST claims/s = ${fmt((rest.perSecond / bare.perSecond) * 100, 1)}% of the bare SKIP LOCKED claim's, ${fmt((rest.perSecond / full.perSecond) * 100, 1)}% of claim+complete in SQL; ` +
      `p99 claim ${fmt(rest.p99, 2)} ms vs ${fmt(bare.p99, 2)} ms (${fmt(rest.p99 / bare.p99, 2)}×).`,
  );
  console.log('');
  for (const p of phases) {
    const total = p.cpu.reduce((s, r) => s + r.ms, 0);
    console.log(`  CPU during ${p.name} (${p.cpuWindowS.toFixed(1)} s; ${cpuList().length} cores = ${cpuList().length * 100}%):`);
    for (const r of [...p.cpu, { name: 'total of the above', ms: total }, ...(p.othersMs === null ? [] : [{ name: 'everything else on the machine', ms: p.othersMs }])]) {
      console.log(
        `    ${pad(r.name, 32, false)}${pad(`${(r.ms / 1_000).toFixed(2)} s`, 9)}${pad(`${((r.ms / 1_000 / p.cpuWindowS) * 100).toFixed(0)}%`, 7)}` +
          `${pad(`${((r.ms * 1_000) / Math.max(1, p.claims)).toFixed(0)} µs/step`, 16)}`,
      );
    }
  }
  console.log(`  load average now: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (figures are only comparable on an otherwise idle machine)`);
  console.log('');
  const json = (p: Phase) => ({
    claims: p.claims,
    perSecond: Number(p.perSecond.toFixed(1)),
    wallS: Number(p.wallS.toFixed(2)),
    claimMs: { p50: Number(p.p50.toFixed(3)), p99: Number(p.p99.toFixed(3)), max: Number(p.max.toFixed(2)) },
    completeMs: p.completeP50 === null ? null : { p50: Number(p.completeP50.toFixed(3)), p99: Number(p.completeP99!.toFixed(3)) },
    doubleClaims: p.doubleClaims,
    empty: p.empty,
    errors: p.errors,
    problems: p.problems,
    cpuS: Object.fromEntries(p.cpu.map((r) => [r.name, Number((r.ms / 1_000).toFixed(2))])),
    otherCpuS: p.othersMs === null ? null : Number((p.othersMs / 1_000).toFixed(2)),
  });
  console.log(
    JSON.stringify({
      bench: 'claims',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpuList().length,
      jobs,
      stepsPerJob,
      workers: workerCount,
      procs,
      apiPoolSize,
      rest: json(rest),
      bareSql: json(bare),
      sqlClaimComplete: json(full),
      claimsPerSecondRatio: Number((rest.perSecond / bare.perSecond).toFixed(3)),
      claimsPerSecondRatioVsClaimComplete: Number((rest.perSecond / full.perSecond).toFixed(3)),
      p50Ratio: Number((rest.p50 / bare.p50).toFixed(2)),
      p99Ratio: Number((rest.p99 / bare.p99).toFixed(2)),
      valid,
    }),
  );
  return valid;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  await dropLeftoverBenchDatabases();
  console.log(
    `bench:claims: PostgreSQL ${new URL(adminUrl).host}, Redis ${new URL(redisUrl).host}, ${cpuList().length} CPUs, ` +
      `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`,
  );
  await ensureRoles(adminUrl);
  const setup = await benchRunlane();
  console.log(`  Runlane REST: ${setup.rest.claims} claims in ${setup.rest.wallS.toFixed(2)} s = ${setup.rest.perSecond.toFixed(0)}/s, p50 ${setup.rest.p50.toFixed(2)} ms, p99 ${setup.rest.p99.toFixed(2)} ms`);
  console.log(`  baseline: ${workerCount} pg clients in ${procs} processes, bare SKIP LOCKED claim…`);
  const bare = await benchBaseline(setup, setup.tables.bare, false);
  console.log(`  bare SQL claim: ${bare.claims} claims in ${bare.wallS.toFixed(2)} s = ${bare.perSecond.toFixed(0)}/s, p50 ${bare.p50.toFixed(2)} ms, p99 ${bare.p99.toFixed(2)} ms`);
  console.log(`  baseline: the same with a completing update per step…`);
  const full = await benchBaseline(setup, setup.tables.complete, true);
  console.log(`  SQL claim+complete: ${full.claims} claims in ${full.wallS.toFixed(2)} s = ${full.perSecond.toFixed(0)}/s, p50 ${full.p50.toFixed(2)} ms, p99 ${full.p99.toFixed(2)} ms`);
  // Invalid measurement (an error, a double claim, a step not completed once): exit 1.
  return report([setup.rest, bare, full]) ? 0 : 1;
}

const role = process.env.BENCH_CLAIMS_ROLE;
if (role === 'rest' || role === 'sql') {
  (role === 'rest' ? restChild() : sqlChild()).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  });
} else {
  await runBench('bench:claims', main);
}
