import { describe, expect, it } from 'vitest';
import { cronProblem, latestFireTime, nextFireTime } from './cron';

describe('cron validation', () => {
  it.each(['*/5 * * * *', '0 9 * * mon-fri', '30 2 1,15 jan,jul *', '0 0 * * 7', '*/10 0 9-17/2 * * 1-5', '0 0 1 1 *'])('accepts %s', (expr) => {
    expect(cronProblem(expr)).toBeNull();
  });

  it.each([
    ['* * * *', /5 fields/],
    ['* * * * * * *', /5 fields/],
    ['60 * * * *', /minute/],
    ['* 24 * * *', /hour/],
    ['* * 0 * *', /day-of-month/],
    ['* * * 13 *', /month/],
    ['* * * * 8', /day-of-week/],
    ['*/0 * * * *', /step/],
    ['5-1 * * * *', /backwards/],
    ['a * * * *', /minute/],
    ['1-2-3 * * * *', /range/],
    ['', /5 fields/],
  ])('refuses %s', (expr, reason) => {
    expect(cronProblem(expr)).toMatch(reason);
  });
});

const at = (iso: string) => new Date(iso);
const next = (expr: string, after: string, zone?: string) => nextFireTime(expr, at(after), zone)?.toISOString() ?? null;
/** The next n fire times after a date. */
function series(expr: string, after: string, n: number, zone?: string): string[] {
  const out: string[] = [];
  let t: Date | null = at(after);
  while (out.length < n && (t = nextFireTime(expr, t, zone))) out.push(t.toISOString());
  return out;
}

describe('next fire time (UTC)', () => {
  it.each([
    ['*/5 * * * *', '2025-03-10T10:02:13Z', '2025-03-10T10:05:00.000Z'],
    ['*/5 * * * *', '2025-03-10T10:05:00Z', '2025-03-10T10:10:00.000Z'], // strictly after
    ['*/5 * * * *', '2025-03-10T10:04:59.999Z', '2025-03-10T10:05:00.000Z'],
    ['0 9 * * mon-fri', '2025-03-07T09:00:00Z', '2025-03-10T09:00:00.000Z'], // Friday → Monday
    ['30 2 1,15 jan,jul *', '2025-01-15T03:00:00Z', '2025-07-01T02:30:00.000Z'],
    ['0 0 * * 7', '2025-03-10T00:00:00Z', '2025-03-16T00:00:00.000Z'], // 7 is Sunday
    ['0 0 * * 0', '2025-03-10T00:00:00Z', '2025-03-16T00:00:00.000Z'],
    ['0 0 1 1 *', '2025-06-01T00:00:00Z', '2026-01-01T00:00:00.000Z'],
    ['59 23 31 12 *', '2025-12-31T23:59:00Z', '2026-12-31T23:59:00.000Z'],
    ['0 0 29 2 *', '2025-01-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0 0 31 * *', '2025-04-01T00:00:00Z', '2025-05-31T00:00:00.000Z'], // April has 30 days
    ['15 10 * * *', '2025-03-10T10:15:30Z', '2025-03-11T10:15:00.000Z'],
    ['5/20 * * * *', '2025-03-10T10:46:00Z', '2025-03-10T11:05:00.000Z'], // a/n = a-max/n
    ['0 9-17/4 * * *', '2025-03-10T13:30:00Z', '2025-03-10T17:00:00.000Z'],
    ['* * * * * *', '2025-03-10T10:00:00.400Z', '2025-03-10T10:00:01.000Z'],
    ['*/10 * * * * *', '2025-03-10T10:00:55Z', '2025-03-10T10:01:00.000Z'],
    ['30 0 0 * * *', '2025-03-10T00:00:30Z', '2025-03-11T00:00:30.000Z'],
  ])('%s after %s is %s', (expr, after, expected) => {
    expect(next(expr, after)).toBe(expected);
  });

  it('fires on a day matching either day field when both are restricted (Vixie cron), both when one is *', () => {
    // 13th or a Friday.
    expect(series('0 0 13 * fri', '2025-06-01T00:00:00Z', 4)).toEqual([
      '2025-06-06T00:00:00.000Z',
      '2025-06-13T00:00:00.000Z',
      '2025-06-20T00:00:00.000Z',
      '2025-06-27T00:00:00.000Z',
    ]);
    // The 13th on a Sunday or a Friday (*/5 = 0,5): the day-of-week starts with *, so both must match.
    expect(series('0 0 13 * */5', '2025-01-01T00:00:00Z', 2)).toEqual(['2025-04-13T00:00:00.000Z', '2025-06-13T00:00:00.000Z']);
    // A rare kind: 29 February on a Sunday, Wednesday or Saturday (*/3 = 0,3,6); 2028 is a Tuesday.
    expect(next('0 0 29 2 */3', '2025-01-01T00:00:00Z')).toBe('2032-02-29T00:00:00.000Z');
  });

  it('walks a series without repeats or gaps', () => {
    expect(series('0 */6 * * *', '2025-12-31T13:00:00Z', 4)).toEqual([
      '2025-12-31T18:00:00.000Z',
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T06:00:00.000Z',
      '2026-01-01T12:00:00.000Z',
    ]);
  });

  it('answers null for an expression that never fires, and throws on an invalid one', () => {
    expect(next('0 0 31 2 *', '2025-01-01T00:00:00Z')).toBeNull();
    expect(next('0 0 30 2 *', '2025-01-01T00:00:00Z')).toBeNull();
    expect(() => next('61 * * * *', '2025-01-01T00:00:00Z')).toThrow(/minute/);
  });
});

describe('next fire time in a time zone', () => {
  it('evaluates the wall clock of the zone', () => {
    // 09:00 in Paris is 08:00Z in winter, 07:00Z in summer.
    expect(next('0 9 * * *', '2025-01-10T12:00:00Z', 'Europe/Paris')).toBe('2025-01-11T08:00:00.000Z');
    expect(next('0 9 * * *', '2025-07-10T12:00:00Z', 'Europe/Paris')).toBe('2025-07-11T07:00:00.000Z');
    // Monday 00:30 in Tokyo is Sunday 15:30Z.
    expect(next('30 0 * * mon', '2025-03-10T00:00:00Z', 'Asia/Tokyo')).toBe('2025-03-16T15:30:00.000Z');
    expect(next('0 0 * * *', '2025-03-10T10:00:00Z', 'Asia/Kolkata')).toBe('2025-03-10T18:30:00.000Z');
    expect(next('0 0 * * *', '2025-03-10T10:00:00Z', 'UTC')).toBe('2025-03-11T00:00:00.000Z');
  });

  it('fires a local time skipped by spring-forward once, as far past the jump', () => {
    // New York, 9 March 2025: 02:00 EST jumps to 03:00 EDT (07:00Z).
    expect(next('30 2 * * *', '2025-03-08T12:00:00Z', 'America/New_York')).toBe('2025-03-09T07:30:00.000Z'); // 03:30 EDT
    expect(next('30 2 * * *', '2025-03-09T07:30:00Z', 'America/New_York')).toBe('2025-03-10T06:30:00.000Z'); // 02:30 EDT
    // Every 30 minutes through the jump: 01:30 EST, then 03:00 EDT (02:00 and 02:30 are folded into the jump).
    expect(series('*/30 * * * *', '2025-03-09T06:00:00Z', 4, 'America/New_York')).toEqual([
      '2025-03-09T06:30:00.000Z',
      '2025-03-09T07:00:00.000Z',
      '2025-03-09T07:30:00.000Z',
      '2025-03-09T08:00:00.000Z',
    ]);
  });

  it('fires a local time repeated by fall-back once, at its first occurrence', () => {
    // New York, 2 November 2025: 02:00 EDT falls back to 01:00 EST (06:00Z); 01:30 happens twice.
    expect(series('30 1 * * *', '2025-11-01T12:00:00Z', 2, 'America/New_York')).toEqual([
      '2025-11-02T05:30:00.000Z', // 01:30 EDT
      '2025-11-03T06:30:00.000Z', // 01:30 EST the next day
    ]);
    // Asked from inside the repeated hour, the second occurrence is still ahead.
    expect(next('45 1 * * *', '2025-11-02T06:10:00Z', 'America/New_York')).toBe('2025-11-02T06:45:00.000Z');
  });
});

describe('latest fire time', () => {
  it('is the most recent fire time in a range, bounds included', () => {
    expect(latestFireTime('*/5 * * * *', at('2025-03-10T08:00:00Z'), at('2025-03-10T10:07:00Z'))?.toISOString()).toBe('2025-03-10T10:05:00.000Z');
    expect(latestFireTime('*/5 * * * *', at('2025-03-10T08:00:00Z'), at('2025-03-10T10:05:00Z'))?.toISOString()).toBe('2025-03-10T10:05:00.000Z');
    expect(latestFireTime('0 0 1 1 *', at('2020-01-01T00:00:00Z'), at('2025-03-10T10:07:00Z'))?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(latestFireTime('0 0 1 1 *', at('2025-01-01T00:00:00Z'), at('2025-01-01T00:00:00Z'))?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(latestFireTime('0 0 1 1 *', at('2025-01-01T00:00:01Z'), at('2025-12-31T00:00:00Z'))).toBeNull();
    expect(latestFireTime('* * * * * *', at('2025-03-10T00:00:00Z'), at('2025-03-10T10:07:03.5Z'))?.toISOString()).toBe('2025-03-10T10:07:03.000Z');
  });

  it('stays cheap after a long outage of an every-second schedule', () => {
    const started = performance.now();
    expect(latestFireTime('* * * * * *', at('2024-01-01T00:00:00Z'), at('2025-03-10T10:07:03Z'), 'Europe/Paris')?.toISOString()).toBe('2025-03-10T10:07:03.000Z');
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
