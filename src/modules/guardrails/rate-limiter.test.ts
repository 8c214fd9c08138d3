import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { redisUrl } from '../../../test/support/env';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from './rate-limiter';

const redis = new Redis(redisUrl());
const otherWorker = new Redis(redisUrl());
const usedKeys: string[] = [];

afterAll(async () => {
  if (usedKeys.length) await redis.del(...usedKeys.map((key) => `runlane:rl:${key}`));
  await Promise.all([redis.quit(), otherWorker.quit()]);
});

function uniqueKey(): string {
  const key = `test:${randomUUID()}`;
  usedKeys.push(key);
  return key;
}

/** A limiter and a way to let time pass: real time for Redis, a fake clock for the memory one. */
type Harness = { limiter: RateLimiter; pass(ms: number): Promise<void> };

function memoryHarness(): Harness {
  let now = 1_000;
  return {
    limiter: new MemoryRateLimiter(() => now),
    pass: async (ms) => {
      now += ms;
    },
  };
}

const redisHarness = (): Harness => ({ limiter: new RedisRateLimiter(redis), pass: (ms) => sleep(ms) });

describe.each([
  ['Redis', redisHarness],
  ['memory', memoryHarness],
])('%s rate limiter', (_name, harness) => {
  it('allows max_calls in the window, then refuses without counting the refused', async () => {
    const { limiter } = harness();
    const key = uniqueKey();
    expect(await limiter.take(key, 'a', 2, 60_000)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
    expect(await limiter.take(key, 'b', 2, 60_000)).toEqual({ allowed: true, count: 2, retryAfterMs: 0 });
    const refused = await limiter.take(key, 'c', 2, 60_000);
    expect(refused).toMatchObject({ allowed: false, count: 2 });
    expect(refused.retryAfterMs).toBeGreaterThan(59_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await limiter.take(key, 'd', 2, 60_000)).toMatchObject({ allowed: false, count: 2 });
  });

  it('counts a callId once: taking it again in the window is allowed, even at the limit', async () => {
    const { limiter } = harness();
    const key = uniqueKey();
    expect(await limiter.take(key, 'a', 2, 60_000)).toMatchObject({ allowed: true, count: 1 });
    expect(await limiter.take(key, 'a', 2, 60_000)).toMatchObject({ allowed: true, count: 1 });
    expect(await limiter.take(key, 'b', 2, 60_000)).toMatchObject({ allowed: true, count: 2 });
    expect(await limiter.take(key, 'a', 2, 60_000)).toEqual({ allowed: true, count: 2, retryAfterMs: 0 });
    expect(await limiter.take(key, 'c', 2, 60_000)).toMatchObject({ allowed: false });
  });

  it('keeps keys apart', async () => {
    const { limiter } = harness();
    const [one, two] = [uniqueKey(), uniqueKey()];
    expect(await limiter.take(one, 'a', 1, 60_000)).toMatchObject({ allowed: true });
    expect(await limiter.take(two, 'a', 1, 60_000)).toMatchObject({ allowed: true });
    expect(await limiter.take(one, 'b', 1, 60_000)).toMatchObject({ allowed: false });
  });

  it('slides: each call leaves the window its own window after it was taken', async () => {
    const { limiter, pass } = harness();
    const key = uniqueKey();
    await limiter.take(key, 'a', 2, 600);
    await pass(300);
    await limiter.take(key, 'b', 2, 600);
    const full = await limiter.take(key, 'c', 2, 600);
    expect(full.allowed).toBe(false);
    expect(full.retryAfterMs).toBeGreaterThan(100); // until `a` leaves, ~300 ms
    expect(full.retryAfterMs).toBeLessThanOrEqual(300);
    await pass(350); // `a` has left, `b` is still in
    expect(await limiter.take(key, 'c', 2, 600)).toMatchObject({ allowed: true, count: 2 });
    const again = await limiter.take(key, 'd', 2, 600);
    expect(again.allowed).toBe(false);
    expect(again.retryAfterMs).toBeLessThanOrEqual(250); // until `b` leaves
    await pass(650);
    expect(await limiter.take(key, 'd', 2, 600)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
  });

  it('counts a callId again once it has left the window', async () => {
    const { limiter, pass } = harness();
    const key = uniqueKey();
    await limiter.take(key, 'a', 1, 200);
    await pass(250);
    expect(await limiter.take(key, 'b', 1, 200)).toMatchObject({ allowed: true, count: 1 });
    expect(await limiter.take(key, 'a', 1, 200)).toMatchObject({ allowed: false });
  });

  it('waits for the entry that brings the count under a lowered limit', async () => {
    const { limiter, pass } = harness();
    const key = uniqueKey();
    await limiter.take(key, 'a', 3, 1_000);
    await pass(300);
    await limiter.take(key, 'b', 3, 1_000);
    await limiter.take(key, 'c', 3, 1_000);
    // Limit now 2 with 3 counted: room comes when `b` leaves (~1000 ms), not when `a` does (~700 ms).
    const refused = await limiter.take(key, 'd', 2, 1_000);
    expect(refused).toMatchObject({ allowed: false, count: 3 });
    expect(refused.retryAfterMs).toBeGreaterThan(800);
  });

  it('allows exactly max_calls of 50 concurrent takes', async () => {
    const { limiter } = harness();
    const key = uniqueKey();
    const taken = await Promise.all(Array.from({ length: 50 }, (_, i) => limiter.take(key, `call-${i}`, 10, 60_000)));
    expect(taken.filter((t) => t.allowed)).toHaveLength(10);
    expect(taken.filter((t) => !t.allowed).every((t) => t.count === 10)).toBe(true);
  });
});

describe('Redis rate limiter', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('shares one window between workers: 50 concurrent takes from two connections allow exactly 10', async () => {
    const key = uniqueKey();
    const workers = [new RedisRateLimiter(redis), new RedisRateLimiter(otherWorker)];
    const taken = await Promise.all(Array.from({ length: 50 }, (_, i) => workers[i % 2]!.take(key, `call-${i}`, 10, 60_000)));
    expect(taken.filter((t) => t.allowed)).toHaveLength(10);
  });

  it('keeps its sorted set under runlane:rl: and lets it expire with the window', async () => {
    const key = uniqueKey();
    await new RedisRateLimiter(redis).take(key, 'a', 5, 30_000);
    expect(await redis.zscore(`runlane:rl:${key}`, 'a')).not.toBeNull();
    const ttl = await redis.pttl(`runlane:rl:${key}`);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('takes the time from Redis, not from the worker’s clock', async () => {
    const key = uniqueKey();
    const limiter = new RedisRateLimiter(redis);
    // A worker whose clock is an hour ahead takes a call…
    const skew = 3_600_000;
    const dateNow = Date.now;
    const perfNow = performance.now.bind(performance);
    vi.spyOn(Date, 'now').mockImplementation(() => dateNow() + skew);
    vi.spyOn(performance, 'now').mockImplementation(() => perfNow() + skew);
    await limiter.take(key, 'a', 1, 200);
    vi.restoreAllMocks();
    // …which still leaves the window 200 ms later by Redis's clock.
    await sleep(250);
    expect(await limiter.take(key, 'b', 1, 200)).toMatchObject({ allowed: true });
  });
});

describe('memory rate limiter', () => {
  it('drops keys whose window has passed since their last use, once a minute', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(() => now);
    for (let i = 0; i < 100; i++) await limiter.take(`short:${i}`, 'a', 5, 1_000);
    await limiter.take('long', 'a', 5, 120_000);
    expect(limiter.size).toBe(101);
    now = 30_000;
    await limiter.take('other', 'a', 5, 1_000);
    expect(limiter.size).toBe(102); // not a minute yet
    now = 61_000;
    await limiter.take('other', 'b', 5, 1_000);
    expect(limiter.size).toBe(2); // `long` is still in its window; `other` was just used
  });
});
