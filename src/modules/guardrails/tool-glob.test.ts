import { describe, expect, it } from 'vitest';
import { firstMatchingGlob, toolGlobMatcher } from './tool-glob';

describe('tool globs', () => {
  it.each([
    ['search', 'search', true],
    ['search', 'search2', false],
    ['search', 'web.search', false],
    ['*', '', true],
    ['*', 'anything.at:all', true],
    ['crm.*', 'crm.update', true],
    ['crm.*', 'crm.', true],
    ['crm.*', 'crmXupdate', false], // `.` is literal
    ['*delete*', 'delete', true],
    ['*delete*', 'crm.delete_contact', true],
    ['*delete*', 'crm.remove', false],
    ['*_contact', 'crm.update_contact', true],
    ['*_contact', 'crm.update_contacts', false], // anchored at the end
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['a*b*c', 'abcbc', true],
    ['ab*ba', 'aba', false], // head and tail may not overlap
    ['ab*ba', 'abba', true],
    ['a**b', 'ab', true],
    ['x*x*x', 'xx', false],
    ['x*x*x', 'xxx', true],
  ])('%s on "%s" is %s', (glob, tool, expected) => {
    expect(toolGlobMatcher(glob)(tool)).toBe(expected);
  });

  it('treats regex characters in tool names literally', () => {
    expect(toolGlobMatcher('a.b')('axb')).toBe(false);
    expect(toolGlobMatcher('a-b:c')('a-b:c')).toBe(true);
  });

  it('takes linear time on a long name that nearly matches a glob with many stars', () => {
    // A backtracking regex (^(.*a){20}.*c.*b$) would not finish on this.
    const glob = `${'*a'.repeat(20)}*c*b`;
    const started = performance.now();
    expect(toolGlobMatcher(glob)(`${'a'.repeat(50_000)}b`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('compiles each glob once, and drops the oldest beyond 1,000', () => {
    const first = toolGlobMatcher('cached.first');
    expect(toolGlobMatcher('cached.first')).toBe(first);
    for (let i = 0; i < 1_000; i++) toolGlobMatcher(`filler.${i}`);
    expect(toolGlobMatcher('cached.first')).not.toBe(first);
  });

  it('finds the first glob of a list that matches', () => {
    const find = firstMatchingGlob(['crm.read*', 'crm.*', '*']);
    expect(find('crm.read_contact')).toBe('crm.read*');
    expect(find('crm.update')).toBe('crm.*');
    expect(find('email.send')).toBe('*');
    expect(firstMatchingGlob(['crm.*'])('email.send')).toBeUndefined();
  });
});
