/**
 * What Anthropic charges, per million tokens in US dollars, by model family. The one place prices
 * live; update PRICES_AS_OF with the table. Source: Anthropic's public pricing page.
 * Cache writes cost 1.25× input (5-minute TTL) or 2× input (1-hour TTL); cache reads 0.1× input.
 */
export const PRICES_AS_OF = '2026-11-01';

export type ModelPrice = {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
};

const family = (input: number, output: number): ModelPrice => ({
  input,
  output,
  cacheWrite5m: input * 1.25,
  cacheWrite1h: input * 2,
  cacheRead: input * 0.1,
});

// Longest prefix wins, so dated ids (claude-sonnet-4-5-20250929) and aliases resolve alike.
const PRICES: [prefix: string, price: ModelPrice][] = [
  ['claude-opus-4-6', family(5, 25)],
  ['claude-opus-4-5', family(5, 25)],
  ['claude-opus-4-1', family(15, 75)],
  ['claude-opus-4', family(15, 75)],
  ['claude-sonnet-4-6', family(3, 15)],
  ['claude-sonnet-4-5', family(3, 15)],
  ['claude-sonnet-4', family(3, 15)],
  ['claude-3-7-sonnet', family(3, 15)],
  ['claude-haiku-4-5', family(1, 5)],
  ['claude-3-5-haiku', family(0.8, 4)],
];

export function priceOf(model: string): ModelPrice | undefined {
  let best: [string, ModelPrice] | undefined;
  for (const entry of PRICES) {
    if (model.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  return best?.[1];
}

/** Token counts as the Messages API reports them in `usage`. */
export type Usage = {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
};

export type TokenCounts = { input: number; output: number; cacheRead: number; cacheWrite5m: number; cacheWrite1h: number };

export function tokenCounts(usage: Usage): TokenCounts {
  const n = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  const write1h = n(usage.cache_creation?.ephemeral_1h_input_tokens);
  const write5mSplit = n(usage.cache_creation?.ephemeral_5m_input_tokens);
  // Without the split, every cache write is priced at the 5-minute rate (the API's default TTL).
  const write5m = usage.cache_creation ? write5mSplit : n(usage.cache_creation_input_tokens);
  return { input: n(usage.input_tokens), output: n(usage.output_tokens), cacheRead: n(usage.cache_read_input_tokens), cacheWrite5m: write5m, cacheWrite1h: write1h };
}

const CENTS_PER_DOLLAR = 100;
const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/** Cost of one call in US cents, to six decimals. */
export function costCents(price: ModelPrice, tokens: TokenCounts): number {
  const dollars =
    (tokens.input * price.input +
      tokens.output * price.output +
      tokens.cacheRead * price.cacheRead +
      tokens.cacheWrite5m * price.cacheWrite5m +
      tokens.cacheWrite1h * price.cacheWrite1h) /
    1_000_000;
  return round6(dollars * CENTS_PER_DOLLAR);
}

/**
 * The most one call can cost: its input-token bound at the input rate (the loop sends no
 * cache_control, so nothing is billed as a cache write) and every allowed output token produced.
 */
export function worstCaseCents(price: ModelPrice, call: { inputTokens: number; maxTokens: number }): number {
  return round6(((call.inputTokens * price.input + call.maxTokens * price.output) / 1_000_000) * CENTS_PER_DOLLAR);
}

/** The most output tokens that keep a call within `remainingCents`, given its input-token bound. */
export function affordableOutputTokens(price: ModelPrice, inputTokens: number, remainingCents: number): number {
  const left = (remainingCents / CENTS_PER_DOLLAR) * 1_000_000 - inputTokens * price.input;
  return left <= 0 ? 0 : Math.floor(left / price.output);
}
