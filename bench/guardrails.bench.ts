/**
 * bench:guardrails — what guardrails cost per tool call, and how many rate-limit decisions Redis
 * gives per second.
 *
 *   npm run bench:guardrails
 *   BENCH_DURATION=5 BENCH_IN_FLIGHT=128 npm run bench:guardrails
 *
 * Issue: cost per tool call of evaluating a 10-rule set with and without Redis, in microseconds,
 * beside a call with no rules; rate-limit decisions per second against Redis.
 *
 * Env: REDIS_URL (default redis://127.0.0.1:6379), BENCH_DURATION (s per measurement, 2),
 *      BENCH_ROUNDS (3: every measurement runs this often, alternating; the best is kept),
 *      BENCH_WARMUP (s per measurement before the first round, 1; 0: none), BENCH_IN_FLIGHT (64).
 * Everything runs in this process against the given Redis; bench/README.md says what is measured.
 */
import { randomBytes } from 'node:crypto';
import { cpus as cpuList, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { compileGuardrails, evaluateGuardrails, type CompiledGuardrails, type GuardrailContext } from '../src/modules/guardrails/guardrail-engine';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from '../src/modules/guardrails/rate-limiter';
import { guardrailRules } from '../src/modules/guardrails/rules';
import { intEnv, redisUrl } from './support/harness';

const durationMs = intEnv('BENCH_DURATION', 2) * 1000;
const rounds = intEnv('BENCH_ROUNDS', 3);
const warmupMs = intEnv('BENCH_WARMUP', 1, 0) * 1000;
const inFlight = intEnv('BENCH_IN_FLIGHT', 64);
/** Calls per run (and per rate-limit key): keys stay as small as a run's own would. */
const CALLS_PER_RUN = 100;
const tenantId = `bench-${process.pid}-${randomBytes(4).toString('hex')}`;

// ---------------------------------------------------------------- the rule set

/** A window two hours from now on a zone's clock, so quiet hours are evaluated but never hold. */
function laterWindow(timeZone: string): { start: string; end: string } {
  const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' }).format(new Date()));
  const at = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  return { start: at(hour + 2), end: at(hour + 3) };
}

const TENANT_ZONE = 'Europe/Paris';

const TEN_RULES = guardrailRules.parse([
  { type: 'allowlist', tools: ['crm.*', 'email.*', 'search', 'calendar.*'] },
  { type: 'denylist', tools: ['*delete*', '*drop*'] },
  { type: 'denylist', tools: ['crm.export*'] },
  { type: 'rate_limit', tool: 'crm.*', max_calls: 1_000, window_seconds: 3_600, scope: 'run' },
  {
    type: 'io_validation',
    tool: 'crm.update_contact',
    schema: {
      type: 'object',
      properties: {
        id: { type: 'string', pattern: '^c_[a-z0-9]+$' },
        fields: {
          type: 'object',
          properties: { email: { type: 'string', maxLength: 254 }, name: { type: 'string', maxLength: 200 }, owner: { type: 'string' } },
          additionalProperties: false,
        },
      },
      required: ['id', 'fields'],
      additionalProperties: false,
    },
  },
  { type: 'io_validation', tool: 'email.*', schema: { type: 'object', required: ['to', 'subject', 'body'] } },
  {
    type: 'approval_gate',
    tools: ['crm.update_contact'],
    when: { type: 'object', properties: { fields: { type: 'object', required: ['owner'] } }, required: ['fields'] },
  },
  { type: 'approval_gate', tools: ['email.send'], expires_after_seconds: 3_600, on_reject: 'inform_model' },
  { type: 'quiet_hours', ...laterWindow(TENANT_ZONE), action: 'block' },
  { type: 'quiet_hours', ...laterWindow('America/New_York'), timezone: 'America/New_York', action: 'defer' },
]);

/** Concerned by every rule, allowed by all: the whole set is evaluated. */
const CALL = { tool: 'crm.update_contact', input: { id: 'c_123', fields: { email: 'ada@example.com', name: 'Ada Lovelace' } } };

// ---------------------------------------------------------------- measuring

type Measure = {
  calls: number;
  wallMs: number;
  /** CPU time of this process. */
  cpuMs: number;
  /** CPU time of the Redis server (INFO cpu); null when the measurement does not use Redis. */
  redisCpuMs: number | null;
};

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^used_cpu_${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (seconds('user') + seconds('sys')) * 1000;
}

/**
 * Runs `call(lane, i)` from `lanes` concurrent loops, each awaiting its previous call, until `ms`
 * have passed; `i` counts the calls of one lane.
 */
async function measure(call: (lane: number, i: number) => Promise<void>, lanes: number, ms: number, redis?: Redis): Promise<Measure> {
  const redisBefore = redis ? await redisCpuMs(redis) : null;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const until = started + ms;
  let calls = 0;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      // The clock is read every 64 calls: reading it costs about as much as a call without rules.
      for (let i = 0; i % 64 !== 0 || performance.now() < until; i++) {
        await call(lane, i);
        calls++;
      }
    }),
  );
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    calls,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    redisCpuMs: redis && redisBefore !== null ? (await redisCpuMs(redis)) - redisBefore : null,
  };
}

// ---------------------------------------------------------------- the measurements

type Scenario = {
  name: string;
  key: string;
  lanes: number;
  usesRedis: boolean;
  /** One call; `round` keeps the rate-limit keys of each scenario and round apart. */
  call(round: string, lane: number, i: number): Promise<void>;
};

class InvalidMeasurement extends Error {}

function engineCall(compiled: CompiledGuardrails, rateLimiter: () => RateLimiter) {
  return async (round: string, lane: number, i: number) => {
    const ctx: GuardrailContext = {
      tenantId,
      runId: `${round}-${lane}-${Math.floor(i / CALLS_PER_RUN)}`,
      callId: `${lane}-${i}`,
      now: new Date(),
      tenantTimezone: TENANT_ZONE,
      rateLimiter: rateLimiter(),
    };
    const decision = await evaluateGuardrails(compiled, CALL, ctx);
    if (decision.action !== 'allow') throw new InvalidMeasurement(`expected allow, got ${JSON.stringify(decision)}`);
  };
}

function scenarios(redis: Redis, memoryLimiter: () => MemoryRateLimiter): Scenario[] {
  const redisLimiter = new RedisRateLimiter(redis);
  const noRules = compileGuardrails([], 'bench:none');
  const tenRules = compileGuardrails(TEN_RULES, 'bench:ten');
  const take = async (round: string, lane: number, i: number) => {
    const key = `${tenantId}:take:${round}:${lane}:${Math.floor(i / CALLS_PER_RUN)}`;
    const taken = await redisLimiter.take(key, String(i), CALLS_PER_RUN, 3_600_000);
    if (!taken.allowed) throw new InvalidMeasurement(`take refused: ${JSON.stringify(taken)}`);
  };
  return [
    { name: 'no rules (baseline)', key: 'none', lanes: 1, usesRedis: false, call: engineCall(noRules, memoryLimiter) },
    { name: '10 rules, memory limiter', key: 'memory', lanes: 1, usesRedis: false, call: engineCall(tenRules, memoryLimiter) },
    { name: '10 rules, Redis limiter', key: 'redis', lanes: 1, usesRedis: true, call: engineCall(tenRules, () => redisLimiter) },
    { name: `10 rules, Redis limiter, ${inFlight} in flight`, key: 'redisInFlight', lanes: inFlight, usesRedis: true, call: engineCall(tenRules, () => redisLimiter) },
    { name: 'rate-limit take, Redis, sequential', key: 'take', lanes: 1, usesRedis: true, call: take },
    { name: `rate-limit take, Redis, ${inFlight} in flight`, key: 'takeInFlight', lanes: inFlight, usesRedis: true, call: take },
  ];
}

// ---------------------------------------------------------------- report

const pad = (text: string, width: number, right = true) => (right ? text.padStart(width) : text.padEnd(width));
const fmt = (n: number | null, digits = 1) => (n === null || !Number.isFinite(n) ? '—' : n.toFixed(digits));
const round3 = (n: number | null) => (n === null ? null : Number(n.toPrecision(4)));

type Figures = { calls: number; perSecond: number; usPerCall: number; cpuUsPerCall: number; redisCpuUsPerCall: number | null };

function figures(m: Measure, lanes: number): Figures {
  return {
    calls: m.calls,
    perSecond: (m.calls * 1000) / m.wallMs,
    // With several in flight, a call's own latency: each lane makes calls one after the other.
    usPerCall: (m.wallMs * 1000 * lanes) / m.calls,
    cpuUsPerCall: (m.cpuMs * 1000) / m.calls,
    redisCpuUsPerCall: m.redisCpuMs === null ? null : (m.redisCpuMs * 1000) / m.calls,
  };
}

function report(list: Scenario[], best: Map<string, Figures>): void {
  const f = (key: string) => best.get(key)!;
  console.log('');
  console.log(
    `bench:guardrails — best of ${rounds} × ${durationMs / 1000} s per row, ${cpuList().length} CPUs, node ${process.version}, ` +
      `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const col = 14;
  console.log(`${pad('', 44, false)}${pad('µs/call', col)}${pad('calls/s', col)}${pad('µs CPU/call', col)}${pad('Redis µs CPU', col)}`);
  for (const s of list) {
    const r = f(s.key);
    console.log(
      `${pad(s.name, 44, false)}${pad(fmt(r.usPerCall, 2), col)}${pad(fmt(r.perSecond, 0), col)}${pad(fmt(r.cpuUsPerCall, 2), col)}${pad(fmt(r.redisCpuUsPerCall, 2), col)}`,
    );
  }
  const ratio = (a: string, b: string) => f(a).usPerCall / f(b).usPerCall;
  console.log('');
  console.log(
    `per tool call, sequential: 10 rules with Redis ${fmt(f('redis').usPerCall, 1)} µs, with the memory limiter ` +
      `${fmt(f('memory').usPerCall, 2)} µs, no rules ${fmt(f('none').usPerCall, 3)} µs — ` +
      `ratios Redis/none ${fmt(ratio('redis', 'none'), 0)}×, memory/none ${fmt(ratio('memory', 'none'), 0)}×, Redis/memory ${fmt(ratio('redis', 'memory'), 1)}×`,
  );
  console.log(
    `rate-limit decisions against Redis: ${fmt(f('take').perSecond, 0)}/s sequential, ${fmt(f('takeInFlight').perSecond, 0)}/s with ${inFlight} in flight`,
  );
  console.log('');
  console.log(
    JSON.stringify({
      bench: 'guardrails',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpuList().length,
      durationS: durationMs / 1000,
      rounds,
      inFlight,
      rows: Object.fromEntries(
        list.map((s) => {
          const r = f(s.key);
          return [
            s.key,
            { calls: r.calls, perSecond: round3(r.perSecond), usPerCall: round3(r.usPerCall), cpuUsPerCall: round3(r.cpuUsPerCall), redisCpuUsPerCall: round3(r.redisCpuUsPerCall) },
          ];
        }),
      ),
      ratios: { redisToNone: round3(ratio('redis', 'none')), memoryToNone: round3(ratio('memory', 'none')), redisToMemory: round3(ratio('redis', 'memory')) },
    }),
  );
}

// ---------------------------------------------------------------- main

async function deleteKeys(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `runlane:rl:${tenantId}:*`, 'COUNT', 1_000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function main(): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    console.log(`bench:guardrails: Redis ${new URL(redisUrl).host}, ${cpuList().length} CPUs, node ${process.version}`);
    // A fresh memory limiter per round, as a process would have for its own runs.
    let memory = new MemoryRateLimiter();
    const list = scenarios(redis, () => memory);
    const best = new Map<string, Figures>();
    if (warmupMs > 0) {
      for (const s of list) await measure((lane, i) => s.call(`${s.key}:warmup`, lane, i), s.lanes, warmupMs);
    }
    for (let round = 0; round < rounds; round++) {
      for (const s of list) {
        memory = new MemoryRateLimiter();
        const m = await measure((lane, i) => s.call(`${s.key}:r${round}`, lane, i), s.lanes, durationMs, s.usesRedis ? redis : undefined);
        const r = figures(m, s.lanes);
        if (!best.has(s.key) || r.perSecond > best.get(s.key)!.perSecond) best.set(s.key, r);
        console.log(`  round ${round + 1}: ${pad(s.name, 44, false)} ${fmt(r.usPerCall, 2)} µs/call, ${fmt(r.perSecond, 0)}/s`);
      }
    }
    report(list, best);
    return 0;
  } catch (err) {
    console.error(`bench:guardrails: ${err instanceof InvalidMeasurement ? 'invalid measurement: ' : ''}${(err as Error).message}`);
    return 1;
  } finally {
    await deleteKeys(redis).catch(() => undefined);
    redis.disconnect();
  }
}

process.exitCode = await main();
