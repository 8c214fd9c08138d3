import { isTransient } from './client';
import type { LogLine, LogStream } from './protocol';
import { within } from './timing';

export const MAX_LINE_BYTES = 16 * 1024;
export const MAX_BATCH_LINES = 1000;
export const MAX_BATCH_BYTES = 256 * 1024;
/** Lines kept while the server cannot take them; beyond it the oldest are dropped (and counted). */
const MAX_PENDING_LINES = 50_000;
/** JSON framing of one line in a request body (`{"ts":…,"stream":…,"line":…}`), roughly. */
const LINE_OVERHEAD_BYTES = 64;

export type LogShipperOptions = {
  flushMs: number;
  onError?: (err: unknown) => void;
};

/**
 * One step's log on its way to `POST /worker/jobs/{id}/logs`: lines are buffered and flushed every
 * `flushMs` (at once when a full batch is waiting), in order, one request at a time, each at most
 * 1000 lines and 256 KiB. A line longer than 16 KiB is cut with a marker. Lines the server could not
 * take for a passing reason are kept for the next round; `close()` flushes what is left.
 */
export class LogShipper {
  private pending: LogLine[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly send: (lines: LogLine[]) => Promise<void>,
    private readonly options: LogShipperOptions,
  ) {}

  push(stream: LogStream, line: string): void {
    if (this.closed) return;
    this.pending.push({ ts: new Date().toISOString(), stream, line: cutLine(line) });
    if (this.pending.length > MAX_PENDING_LINES) {
      const excess = this.pending.length - MAX_PENDING_LINES;
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
    if (this.pending.length >= MAX_BATCH_LINES) void this.flush();
    else this.schedule();
  }

  /** Sends everything pending now (after a flush already under way). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.length ? this.flush() : undefined));
    this.flushing = this.sendPending().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Stops the timer and flushes the rest, retrying passing failures until `deadlineMs` is spent. */
  async close(deadlineMs = 5_000): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const until = Date.now() + deadlineMs;
    const drain = async () => {
      while (this.pending.length || this.dropped) {
        await this.flush();
        if (!this.pending.length && !this.dropped) return;
        if (Date.now() >= until) return;
        await new Promise((r) => setTimeout(r, Math.min(200, Math.max(until - Date.now(), 0))));
      }
    };
    await within(drain(), deadlineMs, undefined);
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush().then(() => {
        if (this.pending.length) this.schedule();
      });
    }, this.options.flushMs);
  }

  private async sendPending(): Promise<void> {
    if (this.dropped) {
      this.pending.unshift({ ts: new Date().toISOString(), stream: 'stderr', line: `[runlane-worker: ${this.dropped} log lines dropped while the server was unreachable]` });
      this.dropped = 0;
    }
    while (this.pending.length) {
      const batch = takeBatch(this.pending);
      try {
        await this.send(batch);
        this.pending.splice(0, batch.length);
      } catch (err) {
        this.options.onError?.(err);
        // A refused batch (the job is gone, the step is not ours) will never be taken: drop it.
        if (!isTransient(err)) this.pending.splice(0, batch.length);
        return;
      }
    }
  }
}

function takeBatch(pending: LogLine[]): LogLine[] {
  let bytes = 0;
  let count = 0;
  for (const line of pending) {
    const size = Buffer.byteLength(line.line) + LINE_OVERHEAD_BYTES;
    if (count >= MAX_BATCH_LINES || (count > 0 && bytes + size > MAX_BATCH_BYTES)) break;
    bytes += size;
    count++;
  }
  return pending.slice(0, count);
}

/** A line longer than 16 KiB keeps its first 16 KiB (whole characters) and says how much was cut. */
export function cutLine(line: string): string {
  const bytes = Buffer.byteLength(line);
  if (bytes <= MAX_LINE_BYTES) return line;
  const kept = Buffer.from(line).subarray(0, MAX_LINE_BYTES).toString('utf8').replace(/\uFFFD+$/, '');
  return `${kept}… [line cut: ${bytes - Buffer.byteLength(kept)} more bytes]`;
}
