import { describe, expect, it } from 'vitest';
import { checkEnabledTools, mergeCatalog, type AdvertisedTool } from './catalog';
import { nextHealth, UNHEALTHY_AFTER_FAILURES } from './health';
import { authHint } from './app-auth';

const tool = (name: string, extra: Partial<AdvertisedTool> = {}): AdvertisedTool => ({
  name,
  description: `${name} tool`,
  inputSchema: { type: 'object' },
  ...extra,
});
const t1 = new Date('2026-11-01T00:00:00Z');
const t2 = new Date('2026-11-02T00:00:00Z');

describe('mergeCatalog', () => {
  it('records a first probe: every tool new, none enabled', () => {
    const merged = mergeCatalog([], [], [tool('a'), tool('b')], t1);
    expect(merged.enabledTools).toEqual([]);
    expect(merged.discoveredTools.map((t) => [t.name, t.stale, t.firstSeenAt])).toEqual([
      ['a', false, t1.toISOString()],
      ['b', false, t1.toISOString()],
    ]);
  });

  it('keeps enabled tools, starts new ones disabled, marks vanished ones stale and disables them', () => {
    const first = mergeCatalog([], [], [tool('a'), tool('b'), tool('c')], t1);
    const second = mergeCatalog(first.discoveredTools, ['a', 'b'], [tool('a', { description: 'changed' }), tool('d')], t2);
    expect(second.enabledTools).toEqual(['a']);
    const byName = Object.fromEntries(second.discoveredTools.map((t) => [t.name, t]));
    expect(byName.a).toMatchObject({ stale: false, description: 'changed', firstSeenAt: t1.toISOString(), lastSeenAt: t2.toISOString() });
    expect(byName.d).toMatchObject({ stale: false, firstSeenAt: t2.toISOString() });
    expect(byName.b).toMatchObject({ stale: true, lastSeenAt: t1.toISOString() });
    expect(byName.c).toMatchObject({ stale: true });
  });

  it('a stale tool that comes back is fresh again but stays disabled', () => {
    const first = mergeCatalog([], ['a'], [tool('a')], t1);
    const gone = mergeCatalog(first.discoveredTools, ['a'], [], t1);
    const back = mergeCatalog(gone.discoveredTools, gone.enabledTools, [tool('a')], t2);
    expect(back.enabledTools).toEqual([]);
    expect(back.discoveredTools).toEqual([expect.objectContaining({ name: 'a', stale: false, firstSeenAt: t1.toISOString() })]);
  });

  it('ignores a duplicate tool name in one listing', () => {
    const merged = mergeCatalog([], [], [tool('a'), tool('a', { description: 'second' })], t1);
    expect(merged.discoveredTools).toHaveLength(1);
  });

  it('keeps at most 200 stale tools, the most recently seen', () => {
    const many = Array.from({ length: 250 }, (_, i) => ({
      ...mergeCatalog([], [], [tool(`t${i}`)], new Date(t1.getTime() + i * 1000)).discoveredTools[0]!,
    }));
    const merged = mergeCatalog(many, [], [], t2);
    expect(merged.discoveredTools).toHaveLength(200);
    expect(merged.discoveredTools.some((t) => t.name === 't249')).toBe(true);
    expect(merged.discoveredTools.some((t) => t.name === 't0')).toBe(false);
  });
});

describe('checkEnabledTools', () => {
  const catalog = mergeCatalog(mergeCatalog([], [], [tool('a'), tool('b')], t1).discoveredTools, [], [tool('a')], t2).discoveredTools;
  it('accepts advertised tools and removes duplicates', () => {
    expect(checkEnabledTools(catalog, ['a', 'a'])).toEqual({ ok: true, enabledTools: ['a'] });
  });
  it('refuses a stale tool', () => {
    expect(checkEnabledTools(catalog, ['a', 'b'])).toEqual({ ok: false, tool: 'b', why: 'stale' });
  });
  it('refuses an unknown tool', () => {
    expect(checkEnabledTools(catalog, ['zzz'])).toEqual({ ok: false, tool: 'zzz', why: 'unknown' });
  });
});

describe('nextHealth', () => {
  it('stays active below the threshold and turns unhealthy at 5 consecutive failures', () => {
    let state = { status: 'active' as const as 'active' | 'unhealthy' | 'disabled', failureStreak: 0 };
    for (let i = 1; i < UNHEALTHY_AFTER_FAILURES; i++) {
      state = nextHealth(state, false);
      expect(state).toEqual({ status: 'active', failureStreak: i });
    }
    state = nextHealth(state, false);
    expect(state).toEqual({ status: 'unhealthy', failureStreak: 5 });
    state = nextHealth(state, false);
    expect(state).toEqual({ status: 'unhealthy', failureStreak: 6 });
    expect(nextHealth(state, true)).toEqual({ status: 'active', failureStreak: 0 });
  });
  it('a failed first probe (registration) starts unhealthy, and stays so until a success', () => {
    const first = nextHealth({ status: 'active', failureStreak: 0 }, false, { firstProbe: true });
    expect(first).toEqual({ status: 'unhealthy', failureStreak: 1 });
    expect(nextHealth(first, false)).toEqual({ status: 'unhealthy', failureStreak: 2 });
  });
  it('never changes a disabled app', () => {
    expect(nextHealth({ status: 'disabled', failureStreak: 2 }, true)).toEqual({ status: 'disabled', failureStreak: 2 });
  });
});

describe('authHint', () => {
  it.each([
    ['sk-live-0123456789XY', 'sk-live-***XY'],
    ['ghp_abcdefghijklmnopQR', 'ghp_***QR'],
    ['abcdefghijklmnop', '***op'],
    ['short-secret', 'short-***et'],
    ['tiny', '***'],
  ])('%s → %s', (secret, hint) => {
    expect(authHint(secret)).toBe(hint);
  });
});
