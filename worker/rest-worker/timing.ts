/** Waits and back-off curves of the worker loop (seed-systems §2.4). */

/** Resolves after `ms`, or at once (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Register retries: `min(base × 2^attempt, max)`, so 2 s, 4 s, 8 s … 60 s with the defaults. */
export function registerDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** attempt, maxMs);
}

/** Idle polling: `base × 2^min(idle − 1, 2)`, so 2 s, 4 s, then 8 s with a 2 s base. */
export function idleDelay(idle: number, baseMs: number): number {
  return baseMs * 2 ** Math.min(Math.max(idle - 1, 0), 2);
}

/** Resolves with `promise`, or with `fallback` once `ms` passed; never rejects through the timer. */
export async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
