/**
 * Workflow durations (seed 001): `"30s"`, `"5m"`, `"1h30m"`, `"2d"`, or a whole number of seconds.
 * Units must come largest first and once each, so `"30m1h"` or `"5m5m"` (likely typos) are refused.
 */

const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };
const UNIT_ORDER = 'dhms';

/** Seconds, or null when `value` is not a duration. Zero is a duration; callers decide if it is allowed. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return parseDuration(Number(text));
  if (!/^([0-9]+[dhms])+$/.test(text)) return null;
  let seconds = 0;
  let lastUnit = -1;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)([dhms])/g)) {
    const order = UNIT_ORDER.indexOf(unit!);
    if (order <= lastUnit) return null;
    lastUnit = order;
    seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  }
  return Number.isSafeInteger(seconds) ? seconds : null;
}

/** `5400` → `"1h30m"`: how error messages show a limit. */
export function formatDuration(seconds: number): string {
  let rest = seconds;
  let text = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_SECONDS[unit]!;
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text || '0s';
}
