/**
 * A latency histogram that processes can fill apart and merge, for bench:logs: millions of
 * deliveries are too many to ship around one by one. Buckets are 0.5% wide on a log scale from
 * 1 µs to ~17 min, so a percentile read from it is within 0.5% of the exact one; the maximum is
 * kept exactly.
 */
const STEP = Math.log(1.005);
const BUCKETS = Math.ceil(Math.log(1e9) / STEP) + 1;

/** What crosses the IPC channel: [bucket, count] pairs of the non-empty buckets. */
export type HistogramData = { buckets: [number, number][]; n: number; max: number; sum: number; negative: number };

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  n = 0;
  max = 0;
  sum = 0;
  /** Values below zero (clock skew between processes); recorded as 0. */
  negative = 0;

  record(ms: number): void {
    if (ms < 0) {
      this.negative++;
      ms = 0;
    }
    const us = Math.max(1, ms * 1_000);
    this.counts[Math.min(BUCKETS - 1, Math.floor(Math.log(us) / STEP))]! += 1;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  add(data: HistogramData): void {
    for (const [bucket, count] of data.buckets) this.counts[bucket]! += count;
    this.n += data.n;
    this.sum += data.sum;
    this.negative += data.negative;
    if (data.max > this.max) this.max = data.max;
  }

  /** The p-th percentile in ms (the bucket's geometric middle, never above the maximum); NaN when empty. */
  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const rank = Math.min(this.n, Math.max(1, Math.ceil((p / 100) * this.n)));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(this.max, Math.exp((b + 0.5) * STEP) / 1_000);
    }
    return this.max;
  }

  mean(): number {
    return this.n ? this.sum / this.n : Number.NaN;
  }

  toJSON(): HistogramData {
    const buckets: [number, number][] = [];
    for (let b = 0; b < BUCKETS; b++) if (this.counts[b]) buckets.push([b, this.counts[b]!]);
    return { buckets, n: this.n, max: this.max, sum: this.sum, negative: this.negative };
  }
}
