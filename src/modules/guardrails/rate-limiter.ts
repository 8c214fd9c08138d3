import type { Redis } from 'ioredis';

/**
 * Sliding-window rate limits: a call taken at t counts against its key during [t, t + window).
 * A refused call is not counted. Taking again with a callId already counted in the window (a
 * call replayed after a crash) is allowed without counting it twice.
 */
export type RateLimitTake = {
  allowed: boolean;
  /** Calls counted in the window, this one included when allowed. */
  count: number;
  /** When refused, how long until the window has room again; 0 when allowed. */
  retryAfterMs: number;
};

export interface RateLimiter {
  take(key: string, callId: string, maxCalls: number, windowMs: number): Promise<RateLimitTake>;
}

const KEY_PREFIX = 'runlane:rl:';

/**
 * One atomic step over a sorted set of callId → time taken (ms). The time is Redis's own, so
 * workers whose clocks disagree still share one window. Refusals compute the wait from the entry
 * whose expiry brings the count below the limit (the oldest, unless the limit was lowered).
 */
const TAKE_SCRIPT = `
local key, callId = KEYS[1], ARGV[1]
local maxCalls, windowMs = tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
local count = redis.call('ZCARD', key)
if redis.call('ZSCORE', key, callId) then
  return {1, count, 0}
end
if count < maxCalls then
  redis.call('ZADD', key, now, callId)
  redis.call('PEXPIRE', key, windowMs)
  return {1, count + 1, 0}
end
local freeing = redis.call('ZRANGE', key, count - maxCalls, count - maxCalls, 'WITHSCORES')
return {0, count, tonumber(freeing[2]) + windowMs - now}
`;

const COMMAND = 'runlaneRateLimitTake';

type TakeCommand = (key: string, callId: string, maxCalls: number, windowMs: number) => Promise<[number, number, number]>;

/** The limiter shared by every worker process. */
export class RedisRateLimiter implements RateLimiter {
  private readonly takeCommand: TakeCommand;

  constructor(redis: Redis) {
    // defineCommand sends EVALSHA and loads the script on NOSCRIPT (after a Redis restart).
    redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: TAKE_SCRIPT });
    const command = (redis as unknown as Record<typeof COMMAND, TakeCommand>)[COMMAND];
    this.takeCommand = command.bind(redis);
  }

  async take(key: string, callId: string, maxCalls: number, windowMs: number): Promise<RateLimitTake> {
    const [allowed, count, retryAfterMs] = await this.takeCommand(KEY_PREFIX + key, callId, maxCalls, windowMs);
    return { allowed: allowed === 1, count, retryAfterMs };
  }
}

type Window = {
  /** callId → time taken, in the order taken (the clock is monotonic). */
  taken: Map<string, number>;
  /** The window and time of the last take: every entry has expired once that window has passed. */
  windowMs: number;
  lastUsed: number;
};

/** How often the in-process limiter looks for keys nobody has used for a whole window. */
const SWEEP_EVERY_MS = 60_000;

/**
 * The same semantics in one process (single-process mode, no Redis). Memory stays bounded:
 * a key keeps at most `maxCalls` entries, expired entries go when the key is next used, and keys
 * whose window has passed since they were last used are swept once a minute.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private lastSweep: number;

  /** `now` is a monotonic clock in ms; tests pass their own. */
  constructor(private readonly now: () => number = () => performance.now()) {
    this.lastSweep = now();
  }

  /** Keys currently held, for tests of the memory bound. */
  get size(): number {
    return this.windows.size;
  }

  take(key: string, callId: string, maxCalls: number, windowMs: number): Promise<RateLimitTake> {
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    let window = this.windows.get(key);
    if (!window) {
      window = { taken: new Map(), windowMs, lastUsed: now };
      this.windows.set(key, window);
    }
    window.windowMs = windowMs;
    window.lastUsed = now;
    for (const [id, at] of window.taken) {
      if (at > now - windowMs) break;
      window.taken.delete(id);
    }
    const count = window.taken.size;
    if (window.taken.has(callId)) return Promise.resolve({ allowed: true, count, retryAfterMs: 0 });
    if (count < maxCalls) {
      window.taken.set(callId, now);
      return Promise.resolve({ allowed: true, count: count + 1, retryAfterMs: 0 });
    }
    // The entry whose expiry brings the count below the limit: the oldest, unless the limit was lowered.
    let skip = count - maxCalls;
    let freeing = now;
    for (const at of window.taken.values()) {
      freeing = at;
      if (skip-- === 0) break;
    }
    return Promise.resolve({ allowed: false, count, retryAfterMs: Math.ceil(freeing + windowMs - now) });
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, window] of this.windows) {
      if (window.lastUsed <= now - window.windowMs) this.windows.delete(key);
    }
  }
}
