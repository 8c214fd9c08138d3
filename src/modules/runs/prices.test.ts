import { describe, expect, it } from 'vitest';
import { affordableOutputTokens, costCents, priceOf, tokenCounts, worstCaseCents } from './prices';
import { canonicalJson, contentHash } from '../../platform/canonical-json';

describe('prices', () => {
  it('resolves dated model ids by longest prefix and knows no unknown model', () => {
    expect(priceOf('claude-sonnet-4-5-20250929')).toMatchObject({ input: 3, output: 15 });
    expect(priceOf('claude-opus-4-1-20250805')).toMatchObject({ input: 15, output: 75 });
    expect(priceOf('claude-opus-4-6')).toMatchObject({ input: 5, output: 25 });
    expect(priceOf('gpt-5')).toBeUndefined();
  });

  it('prices input, output, both cache-write TTLs and cache reads, in cents to six decimals', () => {
    const sonnet = priceOf('claude-sonnet-4-6')!;
    const tokens = tokenCounts({
      input_tokens: 1_000,
      output_tokens: 500,
      cache_read_input_tokens: 2_000,
      cache_creation_input_tokens: 3_000,
      cache_creation: { ephemeral_5m_input_tokens: 1_000, ephemeral_1h_input_tokens: 2_000 },
    });
    // $3/M in, $15/M out, $0.30/M read, $3.75/M 5m write, $6/M 1h write.
    const dollars = (1_000 * 3 + 500 * 15 + 2_000 * 0.3 + 1_000 * 3.75 + 2_000 * 6) / 1e6;
    expect(costCents(sonnet, tokens)).toBeCloseTo(dollars * 100, 6);
  });

  it('prices cache writes at the 5-minute rate when the API gives no TTL split', () => {
    const haiku = priceOf('claude-haiku-4-5')!;
    expect(tokenCounts({ cache_creation_input_tokens: 100 })).toMatchObject({ cacheWrite5m: 100, cacheWrite1h: 0 });
    expect(costCents(haiku, tokenCounts({ cache_creation_input_tokens: 1_000_000 }))).toBe(125);
  });

  it('bounds a call by its worst case and finds the output tokens a budget still affords', () => {
    const sonnet = priceOf('claude-sonnet-4-6')!;
    expect(worstCaseCents(sonnet, { inputTokens: 10_000, maxTokens: 4_096 })).toBeCloseTo((10_000 * 3 + 4_096 * 15) / 1e4, 6);
    const affordable = affordableOutputTokens(sonnet, 10_000, 5);
    expect(worstCaseCents(sonnet, { inputTokens: 10_000, maxTokens: affordable })).toBeLessThanOrEqual(5);
    expect(worstCaseCents(sonnet, { inputTokens: 10_000, maxTokens: affordable + 1 })).toBeGreaterThan(5);
    expect(affordableOutputTokens(sonnet, 10_000, 1)).toBe(0);
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every level and hashes equal values equally', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, e: null }] })).toBe('{"a":[{"d":2,"e":null}],"b":1}');
    expect(contentHash({ x: 1, y: { b: 2, a: 1 } })).toBe(contentHash({ y: { a: 1, b: 2 }, x: 1 }));
    expect(contentHash({ x: 1 })).not.toBe(contentHash({ x: 2 }));
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/non-finite/);
  });
});
