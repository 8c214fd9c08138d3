/**
 * One autocannon run in a worker thread, so the bench's main thread stays free: it answers
 * signals at once (tsx SIGKILLs a child that does not acknowledge Ctrl-C within ~60 ms, which
 * would leave the bench database behind) and talks to the server children without delay.
 *
 * Latencies are collected here from autocannon's 'response' events: its own histogram truncates
 * them to whole milliseconds, too coarse for sub-millisecond medians.
 */
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

export type LoadRequest = {
  url: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  /** Open-model run at this many requests/s in all; unset: every connection sends as fast as it can. */
  overallRate?: number;
};

export type LoadReport = {
  requests: number;
  durationS: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
};

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

async function run(request: LoadRequest): Promise<LoadReport> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const instance = autocannon({
    url: request.url,
    connections: request.connections,
    pipelining: 1,
    duration: request.durationS,
    headers: request.headers,
    ...(request.overallRate ? { overallRate: request.overallRate } : {}),
  });
  // At a fixed rate, a response that took longer than the interval between two sends of its
  // connection also delayed the sends behind it; count those as HdrHistogram's
  // recordValueWithExpectedInterval does (as autocannon's own histogram does), or a stall would
  // hide in the percentiles (coordinated omission).
  const intervalMs = request.overallRate ? (request.connections * 1000) / request.overallRate : 0;
  const record = (value: number) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = value;
  };
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode < 200 || statusCode >= 300) return;
    record(responseTime);
    if (intervalMs > 0) for (let missed = responseTime - intervalMs; missed >= intervalMs; missed -= intervalMs) record(missed);
  });
  // In a worker thread autocannon skips its aggregation (it expects its own worker mode to do
  // it): the histograms stay encoded, but the counters below are plain numbers.
  const result = await instance;
  const sorted = latencies.subarray(0, count).sort();
  return {
    requests: result.totalCompletedRequests ?? 0,
    durationS: result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
  };
}

run(workerData as LoadRequest).then(
  (report) => parentPort!.postMessage({ ok: true, report }),
  (err: unknown) => parentPort!.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) }),
);
