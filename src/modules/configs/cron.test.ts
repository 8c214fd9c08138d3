import { describe, expect, it } from 'vitest';
import { cronProblem } from './cron';

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
