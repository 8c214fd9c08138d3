import type { LogLineInput } from '../src/modules/runs/run-journal';

const MAX_LINE_CHARS = 8_000;

/**
 * Gathers a run's log output: LLM text deltas become lines at each newline. While a step runs,
 * pending lines are written every `flushMs` (a subscriber sees text as it streams without one
 * transaction per token); at step boundaries the journal drains them into the step's own
 * transaction.
 */
export class LogBuffer {
  private pending: LogLineInput[] = [];
  private partial = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly write: (lines: LogLineInput[]) => Promise<void>,
    private readonly flushMs = 250,
  ) {}

  /** A streamed LLM text delta for a step. */
  text(step: string, delta: string): void {
    const joined = (this.partial.get(step) ?? '') + delta;
    const parts = joined.split('\n');
    this.partial.set(step, parts.pop()!);
    for (const line of parts) this.push({ stream: 'llm', step, line });
  }

  line(stream: LogLineInput['stream'], step: string, line: string): void {
    this.push({ stream, step, line });
  }

  /**
   * Hands over everything pending (partial LLM lines included) for the caller to write in its own
   * transaction, after any background write in flight, so sequence order is kept. Rethrows a
   * failed background write.
   */
  async drain(): Promise<LogLineInput[]> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
    if (this.failure) throw this.failure;
    for (const [step, rest] of this.partial) if (rest) this.pending.push({ stream: 'llm', step, line: rest });
    this.partial.clear();
    const lines = this.pending;
    this.pending = [];
    return lines;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private push(line: LogLineInput): void {
    this.pending.push({ ...line, line: line.line.length > MAX_LINE_CHARS ? `${line.line.slice(0, MAX_LINE_CHARS)}…` : line.line });
    if (!this.timer) this.schedule(this.flushMs);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    const run = () => {
      this.timer = null;
      const batch = this.pending;
      this.pending = [];
      if (batch.length === 0) return;
      this.writing = this.writing.then(() => this.write(batch)).catch((err) => {
        this.failure ??= err;
      });
    };
    this.timer = setTimeout(run, ms);
  }
}
