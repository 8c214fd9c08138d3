import { describe, expect, it } from 'vitest';
import { ApiError } from './client';
import { LogShipper, MAX_BATCH_BYTES } from './log-shipper';
import type { LogLine } from './protocol';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LogShipper', () => {
  it('flushes on its interval, in order, and the rest on close', async () => {
    const sent: LogLine[][] = [];
    const shipper = new LogShipper(async (lines) => void sent.push(lines), { flushMs: 40 });
    shipper.push('stdout', 'a');
    shipper.push('stderr', 'b');
    expect(sent).toHaveLength(0);
    await tick(80);
    expect(sent.flat().map((l) => [l.stream, l.line])).toEqual([['stdout', 'a'], ['stderr', 'b']]);
    shipper.push('stdout', 'c');
    await shipper.close();
    expect(sent.flat().map((l) => l.line)).toEqual(['a', 'b', 'c']);
    expect(sent.flat().every((l) => !Number.isNaN(Date.parse(l.ts)))).toBe(true);
  });

  it('sends at most 1000 lines and 256 KiB per request', async () => {
    const sent: LogLine[][] = [];
    const shipper = new LogShipper(async (lines) => void sent.push(lines), { flushMs: 10_000 });
    for (let i = 0; i < 2500; i++) shipper.push('stdout', `line ${i}`);
    await shipper.close();
    expect(sent.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(sent.flat().map((l) => l.line)).toEqual(Array.from({ length: 2500 }, (_, i) => `line ${i}`));

    const big: LogLine[][] = [];
    const bigShipper = new LogShipper(async (lines) => void big.push(lines), { flushMs: 10_000 });
    for (let i = 0; i < 40; i++) bigShipper.push('stdout', 'x'.repeat(16 * 1024));
    await bigShipper.close();
    expect(big.length).toBeGreaterThan(1);
    for (const batch of big) expect(Buffer.byteLength(JSON.stringify(batch))).toBeLessThanOrEqual(MAX_BATCH_BYTES + 64 * batch.length);
    expect(big.flat()).toHaveLength(40);
  });

  it('keeps lines through a passing failure and drops a refused batch', async () => {
    const sent: string[] = [];
    let failures = 2;
    const shipper = new LogShipper(
      async (lines) => {
        if (failures-- > 0) throw new ApiError(503, 'UNAVAILABLE', 'down');
        sent.push(...lines.map((l) => l.line));
      },
      { flushMs: 10_000 },
    );
    shipper.push('stdout', 'kept');
    await shipper.close(2_000);
    expect(sent).toEqual(['kept']);

    const refused = new LogShipper(
      async () => {
        throw new ApiError(404, 'NOT_FOUND', 'gone');
      },
      { flushMs: 10_000 },
    );
    refused.push('stdout', 'lost');
    const started = Date.now();
    await refused.close(2_000);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
