// Minimal types for the parts of autocannon@8 the benches use (the package ships none).
declare module 'autocannon' {
  export type Histogram = {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p2_5: number;
    p50: number;
    p75: number;
    p90: number;
    p97_5: number;
    p99: number;
    p99_9: number;
    p99_99: number;
    p99_999: number;
    sent?: number;
  };

  export type Result = {
    title?: string;
    url: string;
    requests: Histogram & { sent: number };
    /** Completed requests; also present when the result is not aggregated (inside a worker thread). */
    totalCompletedRequests?: number;
    latency: Histogram;
    throughput: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
    connections: number;
    pipelining: number;
    start: Date;
    finish: Date;
    statusCodeStats: Record<string, { count: number }>;
  };

  export type Options = {
    url: string;
    connections?: number;
    duration?: number | string;
    amount?: number;
    pipelining?: number;
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    title?: string;
    workers?: number;
    overallRate?: number;
    connectionRate?: number;
  };

  export type Instance = Promise<Result> & { stop(): void; on(event: string, listener: (...args: any[]) => void): Instance };

  function autocannon(options: Options): Instance;
  export default autocannon;
}
