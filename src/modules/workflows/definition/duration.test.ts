import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration';

describe('parseDuration', () => {
  it.each([
    ['30s', 30],
    ['5m', 300],
    ['1h30m', 5400],
    ['2d', 172_800],
    ['1d2h3m4s', 93_784],
    ['90', 90],
    [' 10m ', 600],
    [45, 45],
    [0, 0],
  ])('%j is %d seconds', (value, seconds) => {
    expect(parseDuration(value)).toBe(seconds);
  });

  it.each([['30x'], ['1.5h'], ['-5m'], ['m'], [''], ['30m1h'], ['5m5m'], ['1h 30m'], [1.5], [-3], [true], [null], [{}]])('refuses %j', (value) => {
    expect(parseDuration(value)).toBeNull();
  });
});

describe('formatDuration', () => {
  it('writes seconds back as the largest units', () => {
    expect(formatDuration(86_400)).toBe('1d');
    expect(formatDuration(604_800)).toBe('7d');
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
  });
});
