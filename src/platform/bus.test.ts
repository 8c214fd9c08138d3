import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisUrl } from '../../test/support/env';
import { InProcessBus, RedisBus, type Bus } from './bus';

const open: Bus[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

function redisBus(errors: Error[] = []): RedisBus {
  const bus = new RedisBus(redisUrl(), (err) => errors.push(err));
  open.push(bus);
  return bus;
}

async function eventually(check: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('Redis bus', () => {
  it('delivers across processes, and to the publisher’s own subscribers once, before publish returns', async () => {
    const channel = `test.${randomUUID()}`;
    const a = redisBus();
    const b = redisBus();
    const seenA: unknown[] = [];
    const seenB: unknown[] = [];
    await a.subscribe(channel, (m) => seenA.push(m));
    await b.subscribe(channel, (m) => seenB.push(m));
    await a.publish(channel, { n: 1 });
    expect(seenA).toEqual([{ n: 1 }]);
    await eventually(() => seenB.length === 1);
    expect(seenB).toEqual([{ n: 1 }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seenA).toHaveLength(1);
  });

  it('gives every concurrent subscriber an attached subscription', async () => {
    const channel = `test.${randomUUID()}`;
    const a = redisBus();
    const b = redisBus();
    const seen: number[] = [];
    await Promise.all([1, 2, 3].map((n) => b.subscribe(channel, () => seen.push(n))));
    await a.publish(channel, {});
    await eventually(() => seen.length === 3);
    expect(seen.sort()).toEqual([1, 2, 3]);
  });

  it('gives each subscriber of a message from another process its own copy', async () => {
    const channel = `test.${randomUUID()}`;
    const a = redisBus();
    const b = redisBus();
    const seen: { nested: { v: number } }[] = [];
    await b.subscribe(channel, (m) => seen.push(m as (typeof seen)[number]));
    await b.subscribe(channel, (m) => seen.push(m as (typeof seen)[number]));
    await a.publish(channel, { nested: { v: 1 } });
    await eventually(() => seen.length === 2);
    seen[0]!.nested.v = 2;
    expect(seen[1]).toEqual({ nested: { v: 1 } });
    expect(seen[1]!.nested).not.toBe(seen[0]!.nested);
  });

  it('stops delivering after unsubscribe', async () => {
    const channel = `test.${randomUUID()}`;
    const a = redisBus();
    const b = redisBus();
    const seen: unknown[] = [];
    const off = await b.subscribe(channel, (m) => seen.push(m));
    await off();
    await a.publish(channel, { late: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([]);
  });

  it('drops garbage on the channel and keeps delivering', async () => {
    const channel = `test.${randomUUID()}`;
    const errors: Error[] = [];
    const b = redisBus(errors);
    const seen: unknown[] = [];
    await b.subscribe(channel, (m) => seen.push(m));
    const raw = new Redis(redisUrl());
    await raw.publish(`runlane:${channel}`, '{not json');
    await raw.publish(`runlane:${channel}`, JSON.stringify({ o: 'elsewhere', m: { ok: true } }));
    raw.disconnect();
    await eventually(() => seen.length === 1);
    expect(seen).toEqual([{ ok: true }]);
    expect(errors[0]?.message).toMatch(/malformed/);
  });

  it('isolates a throwing subscriber from the others', async () => {
    const channel = `test.${randomUUID()}`;
    const errors: Error[] = [];
    const a = redisBus(errors);
    const seen: unknown[] = [];
    await a.subscribe(channel, () => {
      throw new Error('subscriber bug');
    });
    await a.subscribe(channel, (m) => seen.push(m));
    await a.publish(channel, { x: 1 });
    expect(seen).toEqual([{ x: 1 }]);
    expect(errors.map((e) => e.message)).toContain('subscriber bug');
  });

  it('answers ping', async () => {
    expect(await redisBus().ping()).toBe(true);
  });
});

describe('in-process bus', () => {
  it('delivers copies synchronously, only to current subscribers', async () => {
    const bus = new InProcessBus();
    open.push(bus);
    const message = { nested: { v: 1 } };
    const seen: any[] = [];
    const off = await bus.subscribe('c', (m) => seen.push(m));
    await bus.publish('c', message);
    expect(seen).toEqual([message]);
    expect(seen[0]).not.toBe(message);
    await off();
    await bus.publish('c', message);
    expect(seen).toHaveLength(1);
  });
});
