import { instantsOf, offsetAt, wallMs, wallOf, type Wall } from '../configs/cron';
import type { GuardrailRuleOf } from './rules';

/**
 * Quiet hours on the wall clock of a time zone (the rule's, else the tenant's). A window opens
 * at `start` on each of `days` (every day when absent) and closes at `end`, the next day when
 * `end` is not after `start`: 22:00–06:00 wraps midnight and start == end is a whole day (24
 * hours of wall clock). Whole-day windows on consecutive days join into one.
 *
 * Edges are instants: the first instant the clock shows the edge's time. A time repeated when
 * clocks fall back counts at its first occurrence (as cron does); a time skipped when they jump
 * forward is passed at the jump itself.
 */
export type QuietHoursRule = GuardrailRuleOf<'quiet_hours'>;

/** Whether it is quiet, and until when that holds; `until` is null when it is quiet forever. */
export type QuietHoursState = { quiet: boolean; until: Date | null };

type LocalDate = Pick<Wall, 'y' | 'mo' | 'd'>;

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function minutesOf(hhmm: string): { h: number; mi: number } {
  const [h, mi] = hhmm.split(':').map(Number) as [number, number];
  return { h, mi };
}

function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.y, date.mo - 1, date.d + days));
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate() };
}

function opensOn(rule: QuietHoursRule, date: LocalDate): boolean {
  if (!rule.days) return true;
  return rule.days.includes(WEEKDAYS[new Date(Date.UTC(date.y, date.mo - 1, date.d)).getUTCDay()]!);
}

/** The first instant at which the clock of `timeZone` shows the wall time `w` or a later one. */
function firstInstantAtOrAfter(w: Wall, timeZone: string): number {
  const local = wallMs(w);
  const first = instantsOf(w, timeZone)[0]!;
  const offset = offsetAt(first, timeZone);
  if (offset === local - first) return first;
  // `w` was skipped: `first` lies past the jump by as much as `w` lies past the gap's start, so
  // the jump is in (local - offset, first]. Offsets change on whole seconds: search seconds.
  let before = local - offset;
  let after = first;
  while (after - before > 1000) {
    const mid = before + Math.floor((after - before) / 2000) * 1000;
    if (offsetAt(mid, timeZone) === offset) after = mid;
    else before = mid;
  }
  return after;
}

/** The window opening on `date`, as instants [start, end). */
function windowOn(rule: QuietHoursRule, date: LocalDate, timeZone: string): { start: number; end: number } {
  const start = minutesOf(rule.start);
  const end = minutesOf(rule.end);
  const endsNextDay = end.h * 60 + end.mi <= start.h * 60 + start.mi;
  return {
    start: firstInstantAtOrAfter({ ...date, ...start, s: 0 }, timeZone),
    end: firstInstantAtOrAfter({ ...addDays(date, endsNextDay ? 1 : 0), ...end, s: 0 }, timeZone),
  };
}

/** Whether quiet hours hold at `now`, and until when. */
export function quietHoursAt(rule: QuietHoursRule, now: Date, tenantTimeZone: string): QuietHoursState {
  const wholeDay = rule.start === rule.end;
  if (wholeDay && WEEKDAYS.every((day) => !rule.days || rule.days.includes(day))) return { quiet: true, until: null };
  const timeZone = rule.timezone ?? tenantTimeZone;
  const nowMs = now.getTime();
  const today = wallOf(nowMs, timeZone);
  // A window lasts at most a day, so only yesterday's or today's can hold `now`; the next one to
  // open does so within a week.
  for (let day = -1; day <= 7; day++) {
    const date = addDays(today, day);
    if (!opensOn(rule, date)) continue;
    const window = windowOn(rule, date, timeZone);
    if (nowMs < window.start) return { quiet: false, until: new Date(window.start) };
    if (nowMs >= window.end) continue;
    let end = window.end;
    for (let next = 1; wholeDay && opensOn(rule, addDays(date, next)); next++) {
      end = windowOn(rule, addDays(date, next), timeZone).end;
    }
    return { quiet: true, until: new Date(end) };
  }
  throw new Error('quiet hours: no window within a week');
}

/**
 * quietHoursAt for one rule, answering from the last result while it still holds (same time
 * zone, `now` inside the interval it covers): reading a non-UTC wall clock costs microseconds
 * per call, and the answer changes only at a window's edges.
 */
export function memoizedQuietHours(rule: QuietHoursRule): (now: Date, tenantTimeZone: string) => QuietHoursState {
  let last: { timeZone: string; from: number; state: QuietHoursState } | undefined;
  return (now, tenantTimeZone) => {
    const nowMs = now.getTime();
    if (last && last.timeZone === tenantTimeZone && last.from <= nowMs && (last.state.until === null || nowMs < last.state.until.getTime())) {
      return last.state;
    }
    const state = quietHoursAt(rule, now, tenantTimeZone);
    last = { timeZone: tenantTimeZone, from: nowMs, state };
    return state;
  };
}
