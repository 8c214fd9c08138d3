/**
 * Runs `work` again and again in the background, one round at a time, with a jittered pause
 * (±50 % of `everyMs`) before each round so processes started together do not act in step.
 * A failed round is reported and the loop goes on. `stop()` waits for a round in progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly options: { everyMs: number; onError: (err: unknown) => void },
  ) {}

  /** False before start() and once stop() was called: long rounds may end early. */
  get active(): boolean {
    return !this.stopped;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait = Math.round(this.options.everyMs * (0.5 + Math.random()));
    this.timer = setTimeout(() => {
      this.running = this.work()
        .catch(this.options.onError)
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, wait);
    this.timer.unref();
  }
}

/**
 * A background job of worker processes (app probes, schedules, approval expiry, log retention):
 * `tick()` rounds on a PeriodicTask between start() and stop(). `active` lets a long round end
 * early once the process is stopping.
 */
export abstract class BackgroundTask {
  private readonly loop: PeriodicTask;

  constructor(options: { tickMs: number; onError: (err: unknown) => void }) {
    this.loop = new PeriodicTask(() => this.tick(), { everyMs: options.tickMs, onError: options.onError });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  protected get active(): boolean {
    return this.loop.active;
  }

  /** One round; what it returns is for tests and callers that tick by hand. */
  abstract tick(): Promise<unknown>;
}
