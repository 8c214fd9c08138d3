import type { AppStatus } from './app.entity';

/** Consecutive failed probes that turn an app unhealthy (seed 002). */
export const UNHEALTHY_AFTER_FAILURES = 5;

/**
 * The health state machine. A success resets everything; failures count up and turn the app
 * unhealthy at the threshold, where it stays until a success. A registration whose first probe
 * fails starts unhealthy (seed 002: the row is kept and marked unhealthy). Disabled is the
 * operator's to set and clear; probes never change it.
 */
export function nextHealth(
  current: { status: AppStatus; failureStreak: number },
  probeOk: boolean,
  options: { firstProbe?: boolean } = {},
): { status: AppStatus; failureStreak: number } {
  if (current.status === 'disabled') return current;
  if (probeOk) return { status: 'active', failureStreak: 0 };
  const failureStreak = current.failureStreak + 1;
  const unhealthy =
    options.firstProbe || current.status === 'unhealthy' || failureStreak >= UNHEALTHY_AFTER_FAILURES;
  return { status: unhealthy ? 'unhealthy' : 'active', failureStreak };
}
