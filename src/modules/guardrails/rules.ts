import { Ajv } from 'ajv';
import { z } from 'zod';

/**
 * The guardrail rule language (DESIGN §3). Configs are validated against it when they are
 * written; the run loop enforces the rules (a later issue). Tool names may use `*` globs.
 */

const toolName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:*-]+$/, 'tool names use letters, digits, _ . : - and * globs');
const toolList = z.array(toolName).min(1).max(200);
const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time as HH:MM, 24-hour');
const day = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

const ajv = new Ajv({ strict: false });

/** A JSON Schema that ajv can compile; the error names what is wrong with it. */
const jsonSchema = z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
  try {
    ajv.compile(schema);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid JSON Schema: ${(err as Error).message}` });
  }
});

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as Europe/Paris');

export const guardrailRule = z.discriminatedUnion('type', [
  z.object({ type: z.literal('allowlist'), tools: toolList }).strict(),
  z.object({ type: z.literal('denylist'), tools: toolList }).strict(),
  z
    .object({
      type: z.literal('rate_limit'),
      tool: toolName,
      max_calls: z.number().int().min(1).max(1_000_000),
      window_seconds: z.number().int().min(1).max(86_400 * 31),
      scope: z.enum(['run', 'tenant']).default('run'),
    })
    .strict(),
  z
    .object({
      type: z.literal('approval_gate'),
      tools: toolList,
      when: jsonSchema.optional(),
      expires_after_seconds: z.number().int().min(1).max(86_400 * 30).optional(),
      on_reject: z.enum(['fail', 'inform_model']).default('fail'),
    })
    .strict(),
  z.object({ type: z.literal('io_validation'), tool: toolName, schema: jsonSchema }).strict(),
  z
    .object({
      type: z.literal('quiet_hours'),
      start: time,
      end: time,
      timezone: timeZone.optional(),
      days: z.array(day).min(1).max(7).optional(),
      action: z.enum(['block', 'defer']).default('block'),
    })
    .strict(),
]);

export const guardrailRules = z.array(guardrailRule).max(100);

export type GuardrailRule = z.infer<typeof guardrailRule>;

/** The rule of one type, e.g. `GuardrailRuleOf<'quiet_hours'>`. */
export type GuardrailRuleOf<T extends GuardrailRule['type']> = Extract<GuardrailRule, { type: T }>;

/** The rule language as JSON Schema, for docs and clients. */
export function guardrailJsonSchema(): unknown {
  return z.toJSONSchema(guardrailRules, { io: 'input', unrepresentable: 'any' });
}

/** guardrailJsonSchema() as docs/guardrail-rules.schema.json holds it. */
export function guardrailJsonSchemaText(): string {
  return `${JSON.stringify(guardrailJsonSchema(), null, 2)}\n`;
}
