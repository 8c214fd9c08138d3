import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileGuardrails, evaluateGuardrails, type GuardrailContext, type GuardrailDecision } from './guardrail-engine';
import { MemoryRateLimiter } from './rate-limiter';
import { guardrailRules } from './rules';

/** Rules as a config holds them, defaults applied. */
const rules = (raw: unknown[]) => guardrailRules.parse(raw);

function context(overrides: Partial<GuardrailContext> = {}): GuardrailContext {
  return {
    tenantId: 'tenant-1',
    runId: 'run-1',
    callId: randomUUID(),
    now: new Date('2025-06-11T12:00:00Z'),
    tenantTimezone: 'UTC',
    rateLimiter: new MemoryRateLimiter(),
    ...overrides,
  };
}

async function decide(raw: unknown[], tool: string, input: unknown = {}, ctx = context()): Promise<GuardrailDecision> {
  return evaluateGuardrails(compileGuardrails(rules(raw)), { tool, input }, ctx);
}

describe('guardrail engine', () => {
  it('allows every call when there are no rules', async () => {
    expect(await decide([], 'anything')).toEqual({ action: 'allow' });
  });

  describe('allowlist', () => {
    const allow = [{ type: 'allowlist', tools: ['crm.*', 'search'] }];

    it('allows tools matching one of its globs', async () => {
      expect(await decide(allow, 'crm.update')).toEqual({ action: 'allow' });
      expect(await decide(allow, 'search')).toEqual({ action: 'allow' });
    });

    it('denies tools matching none', async () => {
      expect(await decide(allow, 'email.send')).toEqual({
        action: 'deny',
        ruleIndex: 0,
        ruleType: 'allowlist',
        reason: '"email.send" is not on the allowlist',
      });
    });
  });

  describe('denylist', () => {
    it('denies a tool matching one of its globs and names the glob', async () => {
      const deny = [{ type: 'denylist', tools: ['*drop*', '*delete*'] }];
      expect(await decide(deny, 'crm.delete_contact')).toEqual({
        action: 'deny',
        ruleIndex: 0,
        ruleType: 'denylist',
        reason: '"crm.delete_contact" matches denylist pattern "*delete*"',
      });
      expect(await decide(deny, 'crm.update')).toEqual({ action: 'allow' });
    });
  });

  describe('rate_limit', () => {
    const limit = rules([{ type: 'rate_limit', tool: 'crm.*', max_calls: 2, window_seconds: 60 }]);

    it('denies calls over the limit, naming the limit and when to retry', async () => {
      const compiled = compileGuardrails(limit);
      const rateLimiter = new MemoryRateLimiter();
      const call = () => evaluateGuardrails(compiled, { tool: 'crm.update', input: {} }, context({ rateLimiter }));
      expect(await call()).toEqual({ action: 'allow' });
      expect(await call()).toEqual({ action: 'allow' });
      expect(await call()).toEqual({
        action: 'deny',
        ruleIndex: 0,
        ruleType: 'rate_limit',
        reason: 'rate limit of max_calls 2 per 60 s (per run) on "crm.*" reached; retry after 60 s',
      });
    });

    it('counts only the tools its glob matches', async () => {
      const compiled = compileGuardrails(limit);
      const rateLimiter = new MemoryRateLimiter();
      for (let i = 0; i < 5; i++) {
        expect(await evaluateGuardrails(compiled, { tool: 'email.send', input: {} }, context({ rateLimiter }))).toEqual({ action: 'allow' });
      }
      expect(await evaluateGuardrails(compiled, { tool: 'crm.update', input: {} }, context({ rateLimiter }))).toEqual({ action: 'allow' });
    });

    it('does not count a replayed call twice', async () => {
      const compiled = compileGuardrails(rules([{ type: 'rate_limit', tool: '*', max_calls: 1, window_seconds: 60 }]));
      const ctx = context();
      for (let i = 0; i < 3; i++) expect(await evaluateGuardrails(compiled, { tool: 'crm.update', input: {} }, ctx)).toEqual({ action: 'allow' });
      expect((await evaluateGuardrails(compiled, { tool: 'crm.update', input: {} }, { ...ctx, callId: 'another' })).action).toBe('deny');
    });

    it('scope run counts per run; scope tenant per tenant, across runs', async () => {
      const rateLimiter = new MemoryRateLimiter();
      const perRun = compileGuardrails(rules([{ type: 'rate_limit', tool: '*', max_calls: 1, window_seconds: 60, scope: 'run' }]));
      const perTenant = compileGuardrails(rules([{ type: 'rate_limit', tool: '*', max_calls: 1, window_seconds: 60, scope: 'tenant' }]));
      const call = (compiled: typeof perRun, tenantId: string, runId: string) =>
        evaluateGuardrails(compiled, { tool: 'x', input: {} }, context({ rateLimiter, tenantId, runId })).then((d) => d.action);

      expect(await call(perRun, 't1', 'r1')).toBe('allow');
      expect(await call(perRun, 't1', 'r2')).toBe('allow');
      expect(await call(perRun, 't1', 'r1')).toBe('deny');

      expect(await call(perTenant, 't1', 'r1')).toBe('allow');
      expect(await call(perTenant, 't1', 'r2')).toBe('deny');
      expect(await call(perTenant, 't2', 'r1')).toBe('allow');
    });

    it.each(['run', 'tenant'])('counts each rule of a set apart (scope %s)', async (scope) => {
      // Same tool pattern and scope: only the rule index tells the two counters apart.
      const compiled = compileGuardrails(
        rules([
          { type: 'rate_limit', tool: '*', max_calls: 5, window_seconds: 60, scope },
          { type: 'denylist', tools: ['crm.delete'] },
          { type: 'rate_limit', tool: '*', max_calls: 1, window_seconds: 60, scope },
        ]),
      );
      const rateLimiter = new MemoryRateLimiter();
      // Counted by the first limit only: the denylist stops it before the second.
      expect((await evaluateGuardrails(compiled, { tool: 'crm.delete', input: {} }, context({ rateLimiter }))).action).toBe('deny');
      expect((await evaluateGuardrails(compiled, { tool: 'crm.update', input: {} }, context({ rateLimiter }))).action).toBe('allow');
      expect(await evaluateGuardrails(compiled, { tool: 'crm.update', input: {} }, context({ rateLimiter }))).toMatchObject({ action: 'deny', ruleIndex: 2 });
    });
  });

  describe('io_validation', () => {
    const validation = [
      {
        type: 'io_validation',
        tool: 'email.*',
        schema: { type: 'object', properties: { to: { type: 'string' }, body: { type: 'string', maxLength: 5 } }, required: ['to'] },
      },
    ];

    it('allows input that fits the schema, and tools it does not concern', async () => {
      expect(await decide(validation, 'email.send', { to: 'a@example.com', body: 'hi' })).toEqual({ action: 'allow' });
      expect(await decide(validation, 'crm.update', { anything: true })).toEqual({ action: 'allow' });
    });

    it('denies input that does not, listing the errors without the input’s values', async () => {
      const decision = await decide(validation, 'email.send', { body: 'a secret longer than five' });
      expect(decision).toEqual({
        action: 'deny',
        ruleIndex: 0,
        ruleType: 'io_validation',
        reason: `input of "email.send" fails its schema: / must have required property 'to'; /body must NOT have more than 5 characters`,
      });
    });

    it('caps the reason at about 500 characters', async () => {
      const required = Array.from({ length: 100 }, (_, i) => `field_${i}`);
      const decision = await decide([{ type: 'io_validation', tool: '*', schema: { type: 'object', required } }], 'x', {});
      expect(decision.action).toBe('deny');
      const reason = (decision as { reason: string }).reason;
      expect(reason.length).toBeLessThan(600);
      expect(reason).toMatch(/…$/);
    });
  });

  describe('approval_gate', () => {
    it('pauses a matching call with the rule’s expiry and on_reject', async () => {
      const gate = [{ type: 'approval_gate', tools: ['email.*'], expires_after_seconds: 3600, on_reject: 'inform_model' }];
      expect(await decide(gate, 'email.send')).toEqual({
        action: 'pause',
        ruleIndex: 0,
        ruleType: 'approval_gate',
        reason: '"email.send" needs approval',
        expiresAfterSeconds: 3600,
        onReject: 'inform_model',
      });
      expect(await decide(gate, 'crm.update')).toEqual({ action: 'allow' });
    });

    it('leaves the expiry out when the rule has none, and rejects with fail by default', async () => {
      const decision = await decide([{ type: 'approval_gate', tools: ['*'] }], 'x');
      expect(decision).toMatchObject({ action: 'pause', onReject: 'fail' });
      expect(decision).not.toHaveProperty('expiresAfterSeconds');
    });

    it('pauses only when the input matches its `when` schema', async () => {
      const gate = [
        {
          type: 'approval_gate',
          tools: ['payments.refund'],
          when: { type: 'object', properties: { amount_cents: { type: 'number', minimum: 10_000 } }, required: ['amount_cents'] },
        },
      ];
      expect((await decide(gate, 'payments.refund', { amount_cents: 50_000 })).action).toBe('pause');
      expect(await decide(gate, 'payments.refund', { amount_cents: 500 })).toEqual({ action: 'allow' });
    });
  });

  describe('quiet_hours', () => {
    const night = { type: 'quiet_hours', start: '22:00', end: '06:00' };
    const at = (iso: string, tenantTimezone = 'UTC') => context({ now: new Date(iso), tenantTimezone });

    it('allows outside the window', async () => {
      expect(await decide([night], 'x', {}, at('2025-06-11T12:00:00Z'))).toEqual({ action: 'allow' });
    });

    it('denies inside the window with action block', async () => {
      expect(await decide([night], 'x', {}, at('2025-06-11T23:00:00Z'))).toEqual({
        action: 'deny',
        ruleIndex: 0,
        ruleType: 'quiet_hours',
        reason: 'quiet hours 22:00–06:00 (UTC) until 2025-06-12T06:00:00.000Z',
      });
    });

    it('defers to the window’s end with action defer, on the tenant’s clock', async () => {
      // 23:00 in Paris (CEST) is 21:00Z; the window ends at 06:00 CEST, 04:00Z.
      expect(await decide([{ ...night, action: 'defer' }], 'x', {}, at('2025-06-11T21:00:00Z', 'Europe/Paris'))).toEqual({
        action: 'defer',
        ruleIndex: 0,
        ruleType: 'quiet_hours',
        reason: 'quiet hours 22:00–06:00 (Europe/Paris) until 2025-06-12T04:00:00.000Z',
        until: new Date('2025-06-12T04:00:00Z'),
      });
    });

    it('denies a deferral when the quiet hours never end', async () => {
      const always = [{ type: 'quiet_hours', start: '00:00', end: '00:00', action: 'defer' }];
      expect(await decide(always, 'x')).toEqual({ action: 'deny', ruleIndex: 0, ruleType: 'quiet_hours', reason: 'quiet hours 00:00–00:00 (UTC) never end' });
    });
  });

  describe('order', () => {
    it('lets the first rule that does not allow decide', async () => {
      const deny = { type: 'denylist', tools: ['email.*'] };
      const gate = { type: 'approval_gate', tools: ['email.*'] };
      const allow = { type: 'allowlist', tools: ['*'] };
      expect(await decide([allow, deny, gate], 'email.send')).toMatchObject({ action: 'deny', ruleIndex: 1 });
      expect(await decide([allow, gate, deny], 'email.send')).toMatchObject({ action: 'pause', ruleIndex: 1 });
    });

    it('does not evaluate the rules after a decision, so a later rate limit does not count the call', async () => {
      const compiled = compileGuardrails(
        rules([
          { type: 'denylist', tools: ['crm.delete'] },
          { type: 'rate_limit', tool: '*', max_calls: 1, window_seconds: 60 },
        ]),
      );
      const rateLimiter = new MemoryRateLimiter();
      expect((await evaluateGuardrails(compiled, { tool: 'crm.delete', input: {} }, context({ rateLimiter }))).action).toBe('deny');
      expect((await evaluateGuardrails(compiled, { tool: 'crm.update', input: {} }, context({ rateLimiter }))).action).toBe('allow');
    });
  });

  describe('compiled sets', () => {
    const set = rules([{ type: 'io_validation', tool: '*', schema: { type: 'object' } }]);

    it('reuses the compiled set of a cache key', () => {
      const key = `cfg-${randomUUID()}:1`;
      const compiled = compileGuardrails(set, key);
      expect(compileGuardrails(set, key)).toBe(compiled);
      expect(compileGuardrails(set, `${key}:other`)).not.toBe(compiled);
      expect(compileGuardrails(set)).not.toBe(compileGuardrails(set));
    });

    it('keeps the 256 most recently used sets', () => {
      const prefix = randomUUID();
      const kept = compileGuardrails(set, `${prefix}:kept`);
      const dropped = compileGuardrails(set, `${prefix}:dropped`);
      for (let i = 0; i < 200; i++) compileGuardrails(set, `${prefix}:filler-${i}`);
      expect(compileGuardrails(set, `${prefix}:kept`)).toBe(kept); // used again: now the most recent
      for (let i = 200; i < 255; i++) compileGuardrails(set, `${prefix}:filler-${i}`);
      expect(compileGuardrails(set, `${prefix}:kept`)).toBe(kept);
      expect(compileGuardrails(set, `${prefix}:dropped`)).not.toBe(dropped);
    });
  });
});
