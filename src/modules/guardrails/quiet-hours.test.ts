import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoizedQuietHours, quietHoursAt, type QuietHoursRule } from './quiet-hours';

function rule(start: string, end: string, extra: Partial<QuietHoursRule> = {}): QuietHoursRule {
  return { type: 'quiet_hours', start, end, action: 'block', ...extra };
}

/** quietHoursAt as [quiet, until ISO or null]. */
function at(r: QuietHoursRule, now: string, tenantTimeZone = 'UTC'): [boolean, string | null] {
  const state = quietHoursAt(r, new Date(now), tenantTimeZone);
  return [state.quiet, state.until?.toISOString() ?? null];
}

describe('quiet hours within a day (UTC)', () => {
  const day = rule('09:00', '17:00');

  it.each([
    ['2025-06-11T08:59:59Z', false, '2025-06-11T09:00:00.000Z'],
    ['2025-06-11T09:00:00Z', true, '2025-06-11T17:00:00.000Z'], // start inclusive
    ['2025-06-11T16:59:59.999Z', true, '2025-06-11T17:00:00.000Z'],
    ['2025-06-11T17:00:00Z', false, '2025-06-12T09:00:00.000Z'], // end exclusive
  ])('at %s quiet=%s until %s', (now, quiet, until) => {
    expect(at(day, now)).toEqual([quiet, until]);
  });
});

describe('quiet hours wrapping midnight', () => {
  const night = rule('22:00', '06:00');

  it.each([
    ['2025-06-11T23:00:00Z', true, '2025-06-12T06:00:00.000Z'],
    ['2025-06-12T03:00:00Z', true, '2025-06-12T06:00:00.000Z'], // the window opened yesterday
    ['2025-06-12T06:00:00Z', false, '2025-06-12T22:00:00.000Z'],
    ['2025-06-12T12:00:00Z', false, '2025-06-12T22:00:00.000Z'],
  ])('at %s quiet=%s until %s', (now, quiet, until) => {
    expect(at(night, now)).toEqual([quiet, until]);
  });
});

describe('days name the day a window opens', () => {
  // 2025-06-13 is a Friday.
  const fridayNight = rule('22:00', '06:00', { days: ['fri'] });

  it.each([
    ['2025-06-13T03:00:00Z', false, '2025-06-13T22:00:00.000Z'], // Thursday's window does not open
    ['2025-06-13T23:00:00Z', true, '2025-06-14T06:00:00.000Z'],
    ['2025-06-14T03:00:00Z', true, '2025-06-14T06:00:00.000Z'], // Saturday morning, opened Friday
    ['2025-06-14T23:00:00Z', false, '2025-06-20T22:00:00.000Z'], // next opens a week later
  ])('at %s quiet=%s until %s', (now, quiet, until) => {
    expect(at(fridayNight, now)).toEqual([quiet, until]);
  });
});

describe('time zones', () => {
  it('uses the tenant time zone when the rule has none', () => {
    // 08:00 in New York (EDT, UTC-4) is 12:00Z.
    expect(at(rule('07:00', '09:00'), '2025-06-11T12:00:00Z', 'America/New_York')).toEqual([true, '2025-06-11T13:00:00.000Z']);
    expect(at(rule('07:00', '09:00'), '2025-06-11T12:00:00Z', 'UTC')).toEqual([false, '2025-06-12T07:00:00.000Z']);
  });

  it('prefers the rule’s time zone to the tenant’s', () => {
    // 21:00 in Tokyo (UTC+9) is 12:00Z.
    const r = rule('20:00', '23:00', { timezone: 'Asia/Tokyo' });
    expect(at(r, '2025-06-11T12:00:00Z', 'America/New_York')).toEqual([true, '2025-06-11T14:00:00.000Z']);
  });

  it('reads the weekday on the zone’s clock', () => {
    // Friday 23:30Z is already Saturday in Paris.
    const saturday = rule('00:00', '12:00', { days: ['sat'], timezone: 'Europe/Paris' });
    expect(at(saturday, '2025-06-13T23:30:00Z')).toEqual([true, '2025-06-14T10:00:00.000Z']);
  });
});

describe('DST (Europe/Paris)', () => {
  const paris = 'Europe/Paris';
  const night = rule('22:00', '06:00');

  it('a night when clocks jump forward is an hour shorter (30 March 2025)', () => {
    // Opens 22:00 CET (21:00Z), closes 06:00 CEST (04:00Z): 7 hours.
    expect(at(night, '2025-03-29T21:00:00Z', paris)).toEqual([true, '2025-03-30T04:00:00.000Z']);
    expect(at(night, '2025-03-30T03:59:59Z', paris)).toEqual([true, '2025-03-30T04:00:00.000Z']);
    expect(at(night, '2025-03-30T04:00:00Z', paris)).toEqual([false, '2025-03-30T20:00:00.000Z']);
  });

  it('a night when clocks fall back is an hour longer (26 October 2025)', () => {
    // Opens 22:00 CEST (20:00Z), closes 06:00 CET (05:00Z): 9 hours.
    expect(at(night, '2025-10-25T20:00:00Z', paris)).toEqual([true, '2025-10-26T05:00:00.000Z']);
    expect(at(night, '2025-10-26T04:30:00Z', paris)).toEqual([true, '2025-10-26T05:00:00.000Z']);
    expect(at(night, '2025-10-26T05:00:00Z', paris)).toEqual([false, '2025-10-26T21:00:00.000Z']);
  });

  it('an edge the jump skips is passed at the jump (02:00 CET → 03:00 CEST at 01:00Z)', () => {
    // 02:30 never shows: a window ending then ends at the jump…
    expect(at(rule('01:00', '02:30'), '2025-03-30T00:30:00Z', paris)).toEqual([true, '2025-03-30T01:00:00.000Z']);
    // …and one starting then starts at the jump.
    expect(at(rule('02:30', '04:00'), '2025-03-30T00:59:59Z', paris)).toEqual([false, '2025-03-30T01:00:00.000Z']);
    expect(at(rule('02:30', '04:00'), '2025-03-30T01:00:00Z', paris)).toEqual([true, '2025-03-30T02:00:00.000Z']);
  });

  it('an edge the clocks repeat counts at its first occurrence (03:00 CEST → 02:00 CET at 01:00Z)', () => {
    // 02:30 shows at 00:30Z (CEST) and again at 01:30Z (CET).
    const r = rule('00:00', '02:30');
    expect(at(r, '2025-10-26T00:10:00Z', paris)).toEqual([true, '2025-10-26T00:30:00.000Z']);
    expect(at(r, '2025-10-26T01:10:00Z', paris)).toEqual([false, '2025-10-26T23:00:00.000Z']);
  });

  it('a whole day is 23 hours when clocks jump forward', () => {
    const sunday = rule('00:00', '00:00', { days: ['sun'] });
    expect(at(sunday, '2025-03-30T12:00:00Z', paris)).toEqual([true, '2025-03-30T22:00:00.000Z']);
    expect(at(sunday, '2025-03-29T22:59:59Z', paris)).toEqual([false, '2025-03-29T23:00:00.000Z']);
  });
});

describe('start == end', () => {
  it('is a whole day from that time', () => {
    // 2025-06-16 is a Monday.
    const monday = rule('09:00', '09:00', { days: ['mon'] });
    expect(at(monday, '2025-06-16T10:00:00Z')).toEqual([true, '2025-06-17T09:00:00.000Z']);
    expect(at(monday, '2025-06-17T08:00:00Z')).toEqual([true, '2025-06-17T09:00:00.000Z']);
    expect(at(monday, '2025-06-17T09:00:00Z')).toEqual([false, '2025-06-23T09:00:00.000Z']);
  });

  it('joins whole days in a row into one window', () => {
    // 2025-06-13 is a Friday.
    const weekend = rule('00:00', '00:00', { days: ['sat', 'sun'] });
    expect(at(weekend, '2025-06-13T10:00:00Z')).toEqual([false, '2025-06-14T00:00:00.000Z']);
    expect(at(weekend, '2025-06-14T10:00:00Z')).toEqual([true, '2025-06-16T00:00:00.000Z']);
    expect(at(weekend, '2025-06-15T10:00:00Z')).toEqual([true, '2025-06-16T00:00:00.000Z']);
  });

  it('on every day never ends', () => {
    expect(at(rule('09:00', '09:00'), '2025-06-13T10:00:00Z')).toEqual([true, null]);
    const everyDay = rule('00:00', '00:00', { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] });
    expect(at(everyDay, '2025-06-13T10:00:00Z')).toEqual([true, null]);
  });
});

describe('memoized quiet hours', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('answers from the last result while it holds, and recomputes past it, before it, or in another zone', () => {
    const readsOfTheClock = vi.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
    const stateAt = memoizedQuietHours(rule('22:00', '06:00'));
    const paris = 'Europe/Paris';
    const first = stateAt(new Date('2025-06-11T12:00:00Z'), paris);
    expect(first).toEqual({ quiet: false, until: new Date('2025-06-11T20:00:00Z') });
    const reads = readsOfTheClock.mock.calls.length;
    expect(reads).toBeGreaterThan(0);

    expect(stateAt(new Date('2025-06-11T19:59:59Z'), paris)).toBe(first);
    expect(readsOfTheClock.mock.calls.length).toBe(reads);

    expect(stateAt(new Date('2025-06-11T20:00:00Z'), paris)).toEqual({ quiet: true, until: new Date('2025-06-12T04:00:00Z') });
    expect(stateAt(new Date('2025-06-11T11:00:00Z'), paris)).toEqual({ quiet: false, until: new Date('2025-06-11T20:00:00Z') });
    expect(stateAt(new Date('2025-06-11T11:00:00Z'), 'UTC')).toEqual({ quiet: false, until: new Date('2025-06-11T22:00:00Z') });
  });
});
