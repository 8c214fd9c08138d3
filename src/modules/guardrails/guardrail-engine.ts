import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { memoizedQuietHours } from './quiet-hours';
import type { RateLimiter } from './rate-limiter';
import type { GuardrailRule, GuardrailRuleOf } from './rules';
import { firstMatchingGlob, toolGlobMatcher } from './tool-glob';

/**
 * The guardrail engine: a config's rules, compiled once, decide each tool call before it runs.
 * Rules are evaluated in order and the first that does not allow the call decides. A rate limit
 * counts a call when it allows it, even if a later rule then refuses the call.
 */

export type GuardrailCall = { tool: string; input: unknown };

export type GuardrailContext = {
  tenantId: string;
  runId: string;
  /** Stable across replays of the same call, so a replayed call is not counted twice. */
  callId: string;
  now: Date;
  tenantTimezone: string;
  rateLimiter: RateLimiter;
};

export type AllowDecision = { action: 'allow' };
export type DenyDecision = {
  action: 'deny';
  ruleIndex: number;
  ruleType: 'allowlist' | 'denylist' | 'rate_limit' | 'io_validation' | 'quiet_hours';
  reason: string;
};
export type PauseDecision = {
  action: 'pause';
  ruleIndex: number;
  ruleType: 'approval_gate';
  reason: string;
  expiresAfterSeconds?: number;
  onReject: 'fail' | 'inform_model';
};
export type DeferDecision = { action: 'defer'; ruleIndex: number; ruleType: 'quiet_hours'; reason: string; until: Date };
export type GuardrailDecision = AllowDecision | DenyDecision | PauseDecision | DeferDecision;

/** A rule's check: its decision, or undefined when it allows the call. */
type RuleCheck = (call: GuardrailCall, ctx: GuardrailContext) => GuardrailDecision | undefined | Promise<GuardrailDecision | undefined>;

export type CompiledGuardrails = { readonly checks: readonly RuleCheck[] };

const ALLOW: AllowDecision = Object.freeze({ action: 'allow' });
const MAX_REASON = 500;

/**
 * Ajv errors as `/path message`, capped. Ajv's messages come from the schema, never from the
 * input, whose values may be secrets.
 */
function schemaErrors(errors: ErrorObject[] | null | undefined): string {
  const text = (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
  return text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 1)}…`;
}

function allowlist(rule: GuardrailRuleOf<'allowlist'>, ruleIndex: number): RuleCheck {
  const allowed = firstMatchingGlob(rule.tools);
  return ({ tool }) =>
    allowed(tool) === undefined ? { action: 'deny', ruleIndex, ruleType: 'allowlist', reason: `"${tool}" is not on the allowlist` } : undefined;
}

function denylist(rule: GuardrailRuleOf<'denylist'>, ruleIndex: number): RuleCheck {
  const denied = firstMatchingGlob(rule.tools);
  return ({ tool }) => {
    const glob = denied(tool);
    return glob === undefined ? undefined : { action: 'deny', ruleIndex, ruleType: 'denylist', reason: `"${tool}" matches denylist pattern "${glob}"` };
  };
}

function rateLimit(rule: GuardrailRuleOf<'rate_limit'>, ruleIndex: number): RuleCheck {
  const concerns = toolGlobMatcher(rule.tool);
  const windowMs = rule.window_seconds * 1000;
  return async ({ tool }, ctx) => {
    if (!concerns(tool)) return undefined;
    const key =
      rule.scope === 'run' ? `${ctx.tenantId}:run:${ctx.runId}:${ruleIndex}:${rule.tool}` : `${ctx.tenantId}:tenant:${ruleIndex}:${rule.tool}`;
    const taken = await ctx.rateLimiter.take(key, ctx.callId, rule.max_calls, windowMs);
    if (taken.allowed) return undefined;
    return {
      action: 'deny',
      ruleIndex,
      ruleType: 'rate_limit',
      reason:
        `rate limit of max_calls ${rule.max_calls} per ${rule.window_seconds} s (per ${rule.scope}) on "${rule.tool}" reached; ` +
        `retry after ${Math.ceil(taken.retryAfterMs / 1000)} s`,
    };
  };
}

function approvalGate(rule: GuardrailRuleOf<'approval_gate'>, ruleIndex: number, ajv: () => Ajv): RuleCheck {
  const gated = firstMatchingGlob(rule.tools);
  const when: ValidateFunction | undefined = rule.when && ajv().compile(rule.when);
  return ({ tool, input }) => {
    if (gated(tool) === undefined || (when && !when(input))) return undefined;
    return {
      action: 'pause',
      ruleIndex,
      ruleType: 'approval_gate',
      reason: `"${tool}" needs approval`,
      ...(rule.expires_after_seconds === undefined ? {} : { expiresAfterSeconds: rule.expires_after_seconds }),
      onReject: rule.on_reject,
    };
  };
}

function ioValidation(rule: GuardrailRuleOf<'io_validation'>, ruleIndex: number, ajv: () => Ajv): RuleCheck {
  const concerns = toolGlobMatcher(rule.tool);
  const validate = ajv().compile(rule.schema);
  return ({ tool, input }) => {
    if (!concerns(tool) || validate(input)) return undefined;
    return { action: 'deny', ruleIndex, ruleType: 'io_validation', reason: `input of "${tool}" fails its schema: ${schemaErrors(validate.errors)}` };
  };
}

function quietHours(rule: GuardrailRuleOf<'quiet_hours'>, ruleIndex: number): RuleCheck {
  const stateAt = memoizedQuietHours(rule);
  return (_call, ctx) => {
    const state = stateAt(ctx.now, ctx.tenantTimezone);
    if (!state.quiet) return undefined;
    const hours = `quiet hours ${rule.start}–${rule.end} (${rule.timezone ?? ctx.tenantTimezone})`;
    // Quiet hours that never end leave nothing to defer to: the call is refused.
    if (state.until === null) return { action: 'deny', ruleIndex, ruleType: 'quiet_hours', reason: `${hours} never end` };
    const reason = `${hours} until ${state.until.toISOString()}`;
    if (rule.action === 'defer') return { action: 'defer', ruleIndex, ruleType: 'quiet_hours', reason, until: state.until };
    return { action: 'deny', ruleIndex, ruleType: 'quiet_hours', reason };
  };
}

function compile(rules: readonly GuardrailRule[]): CompiledGuardrails {
  // One Ajv per compiled set, made only when a rule has a schema: its compiled validators are
  // then freed with the set (a shared Ajv keeps every schema it ever compiled). The rules were
  // validated when their config was written, so the meta-schema check (tens of ms) is skipped,
  // and so are the warnings (unknown formats) already logged then.
  let ajv: Ajv | undefined;
  const lazyAjv = () => (ajv ??= new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false }));
  const checks = rules.map((rule, index): RuleCheck => {
    switch (rule.type) {
      case 'allowlist':
        return allowlist(rule, index);
      case 'denylist':
        return denylist(rule, index);
      case 'rate_limit':
        return rateLimit(rule, index);
      case 'approval_gate':
        return approvalGate(rule, index, lazyAjv);
      case 'io_validation':
        return ioValidation(rule, index, lazyAjv);
      case 'quiet_hours':
        return quietHours(rule, index);
    }
  });
  return { checks };
}

const MAX_CACHED_SETS = 256;
const compiledSets = new Map<string, CompiledGuardrails>();

/**
 * Compiles a rule set. With a cacheKey that changes whenever the rules do (`${configId}:${version}`)
 * the compiled set is reused; the least recently used of more than 256 is dropped.
 */
export function compileGuardrails(rules: readonly GuardrailRule[], cacheKey?: string): CompiledGuardrails {
  if (cacheKey === undefined) return compile(rules);
  let compiled = compiledSets.get(cacheKey);
  if (compiled) {
    compiledSets.delete(cacheKey);
  } else {
    compiled = compile(rules);
    if (compiledSets.size >= MAX_CACHED_SETS) compiledSets.delete(compiledSets.keys().next().value!);
  }
  compiledSets.set(cacheKey, compiled);
  return compiled;
}

/**
 * The decision on one tool call: the first rule that does not allow it decides. `fromRule` skips
 * the rules before it: a call a person approved goes on from the rule after its approval gate.
 */
export async function evaluateGuardrails(
  compiled: CompiledGuardrails,
  call: GuardrailCall,
  ctx: GuardrailContext,
  fromRule = 0,
): Promise<GuardrailDecision> {
  for (let i = fromRule; i < compiled.checks.length; i++) {
    let decision = compiled.checks[i]!(call, ctx);
    // Only rate limits are asynchronous; awaiting the others would cost a microtask each.
    if (decision instanceof Promise) decision = await decision;
    if (decision) return decision;
  }
  return ALLOW;
}
