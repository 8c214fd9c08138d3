/** A counting semaphore: at most `size` pieces of work at once. */
export class Slots {
  private used = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly size: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Resolves true with a slot taken, or false (nothing taken) when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener('abort', cancel);
        this.used++;
        resolve(true);
      };
      const cancel = () => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(false);
      };
      this.waiters.push(wake);
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  release(): void {
    this.used = Math.max(0, this.used - 1);
    const next = this.waiters.shift();
    if (next && this.used < this.size) next();
  }
}
