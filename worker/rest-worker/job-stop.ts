import { errorText } from './client';
import type { WorkerContext } from './context';
import { CANCELLED, StepStop } from './execute-step';

/**
 * The stop signal of one job's execution on this worker: aborted when the server says the job was
 * cancelled (polled every `cancelPollMs` while the job runs here), when the worker shuts down
 * (`outer`), or by `abort()` (a local job's own timeout). The reason is a StepStop whose message
 * becomes the error of the steps it stops.
 */
export class JobStop {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly jobId: string,
    private readonly outer: AbortSignal,
  ) {
    if (outer.aborted) this.forward();
    else outer.addEventListener('abort', this.forward, { once: true });
    this.schedule();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the server said the job was cancelled. */
  get cancelled(): boolean {
    return this.signal.aborted && (this.signal.reason as Error | undefined)?.message === CANCELLED;
  }

  abort(message: string): void {
    if (!this.signal.aborted) this.controller.abort(new StepStop(message));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.outer.removeEventListener('abort', this.forward);
  }

  private readonly forward = () => {
    if (!this.signal.aborted) this.controller.abort(this.outer.reason);
  };

  private schedule(): void {
    if (this.closed || this.signal.aborted) return;
    this.timer = setTimeout(() => void this.poll(), this.ctx.timings.cancelPollMs);
  }

  private async poll(): Promise<void> {
    this.timer = null;
    try {
      if (await this.ctx.client.isCancelled(this.jobId)) {
        this.ctx.log.info({ jobId: this.jobId }, 'job cancelled by the server');
        this.abort(CANCELLED);
      }
    } catch (err) {
      this.ctx.log.debug({ jobId: this.jobId, error: errorText(err) }, 'cancellation poll failed');
    }
    this.schedule();
  }
}
