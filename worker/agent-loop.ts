import type { Message, MessageParam, Tool, ToolResultBlockParam, ToolUseBlock } from '@anthropic-ai/sdk/resources/messages/messages';
import { contentHash } from '../src/platform/canonical-json';
import { ToolInputError, type AgentTool } from '../src/platform/agent-tools';
import type { RecordedStep, RunJournal, StepRecord } from '../src/modules/runs/run-journal';
import { affordableOutputTokens, costCents, priceOf, tokenCounts, type ModelPrice, type TokenCounts } from '../src/modules/runs/prices';
import { callModel } from './llm';
import type { LogBuffer } from './log-buffer';
import type { RunSpans } from './run-spans';
import type { ToolGuard } from './tool-guard';
import { RunAborted, RunFailure, RunWaiting } from './run-failure';

/** Below this many affordable output tokens a model call is not worth making. */
export const MIN_OUTPUT_TOKENS = 64;
/** Tool output handed back to the model is cut here; the journal keeps what the model saw. */
const MAX_TOOL_RESULT_CHARS = 100_000;
const NO_TOKENS: TokenCounts = { input: 0, output: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 };

export type LoopSettings = { model: string; systemPrompt: string; maxTokens: number };

export type LoopInput = {
  tenantId: string;
  runId: string;
  input: unknown;
  budgetUsdCents: number | null;
  deadlineAt: Date;
  settings: LoopSettings;
  tools: Map<string, AgentTool>;
  /** Steps journaled by earlier attempts, replayed instead of re-executed. */
  recorded: RecordedStep[];
  journal: RunJournal;
  log: LogBuffer;
  spans: RunSpans;
  /** The guardrails, before every tool call that is not replayed. */
  guard: ToolGuard;
  apiKey: string;
  anthropicBaseUrl?: string;
  /** Aborts on cancel, lost lease or shutdown. */
  signal: AbortSignal;
};

export type LoopOutput = { text: string; stop_reason: string | null; turns: number };
/**
 * The run's answer, and its last model turn when that turn is not journaled yet: the caller
 * journals it together with the run's success, in one transaction.
 */
export type LoopResult = { output: LoopOutput; finalStep: StepRecord | null };

/** The first user message: the run's `prompt` when it has one, else its input as JSON. */
export function firstMessage(input: unknown): string {
  if (input && typeof input === 'object' && typeof (input as { prompt?: unknown }).prompt === 'string') {
    return (input as { prompt: string }).prompt;
  }
  return `Run input:\n\`\`\`json\n${JSON.stringify(input ?? {}, null, 2)}\n\`\`\``;
}

/**
 * Drives the tool-use loop for one run. Every LLM turn and tool call is a journaled step with a
 * content hash over its inputs; steps an earlier attempt journaled are replayed, not re-executed,
 * and a journaled step whose hash no longer matches ends the run (config_error) instead of
 * silently diverging. Budget and deadline are checked before each call.
 */
export async function runAgentLoop(run: LoopInput): Promise<LoopResult> {
  const recorded = new Map(run.recorded.map((s) => [s.seq, s]));
  const toolDefs: Tool[] = [...run.tools.values()].map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema as Tool['input_schema'] }));
  const messages: MessageParam[] = [{ role: 'user', content: firstMessage(run.input) }];
  const price = priceOf(run.settings.model);
  if (!price && !run.recorded.some((s) => s.kind === 'llm')) {
    await run.journal.event('unknown_model_price', { model: run.settings.model, note: 'cost is not tracked and the budget cannot be enforced for this model' });
  }
  let spent = 0;
  let seq = 0;
  let turns = 0;
  let previous: { promptTokens: number; outputTokens: number; messageCount: number } | null = null;

  for (;;) {
    seq++;
    turns++;
    const maxTokens = price ? affordableMaxTokens(run, price, spent, messages, toolDefs, previous) : run.settings.maxTokens;
    const params = { model: run.settings.model, max_tokens: maxTokens, system: run.settings.systemPrompt, tools: toolDefs, messages };
    const hash = contentHash({ seq, kind: 'llm', params });
    const stepName = `llm:${seq}`;
    let message: Message;
    let cost: number;
    let unjournaled: StepRecord | null = null;
    const journaled = recorded.get(seq);
    if (journaled) {
      await divergenceCheck(run, journaled, seq, hash);
      message = journaled.output as Message;
      cost = journaled.costUsdCents;
    } else {
      const startedAt = new Date();
      run.log.line('system', stepName, `model ${run.settings.model}, max_tokens ${maxTokens}`);
      message = await run.spans.chat(run.settings.model, maxTokens, () =>
        callModel({
          apiKey: run.apiKey,
          baseUrl: run.anthropicBaseUrl,
          params: { ...params, tools: toolDefs.length ? toolDefs : undefined } as never,
          deadlineAt: run.deadlineAt,
          signal: run.signal,
          onText: (delta) => run.log.text(stepName, delta),
          onRetry: async (attempt, detail) => {
            run.log.line('system', stepName, `retry ${attempt} in ${detail.delayMs} ms: ${detail.message}`);
            await run.journal.event('llm_retry', { seq, attempt, ...detail });
          },
        }),
      );
      const tokens = tokenCounts(message.usage ?? {});
      cost = price ? costCents(price, tokens) : 0;
      const step: StepRecord = {
        seq,
        kind: 'llm',
        name: run.settings.model,
        contentHash: hash,
        input: { model: params.model, max_tokens: maxTokens, new_messages: messages.slice(previous?.messageCount ?? 0) },
        output: message,
        isError: false,
        model: message.model ?? run.settings.model,
        tokens,
        costUsdCents: cost,
        startedAt,
      };
      const final = message.stop_reason !== 'tool_use' || !message.content.some((b) => b.type === 'tool_use');
      if (final) unjournaled = step;
      else await run.journal.recordStep(step, await run.log.drain());
    }
    spent += cost;
    const usage = tokenCounts(message.usage ?? {});
    previous = {
      promptTokens: usage.input + usage.cacheRead + usage.cacheWrite5m + usage.cacheWrite1h,
      outputTokens: usage.output,
      messageCount: messages.length + 1,
    };
    messages.push({ role: 'assistant', content: message.content as MessageParam['content'] });

    const toolUses = message.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
    if (message.stop_reason !== 'tool_use' || toolUses.length === 0) {
      const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      return { output: { text, stop_reason: message.stop_reason, turns }, finalStep: unjournaled };
    }

    const results: ToolResultBlockParam[] = [];
    for (const use of toolUses) {
      seq++;
      results.push(await toolStep(run, recorded, seq, use, spent));
    }
    messages.push({ role: 'user', content: results });
  }
}

async function toolStep(
  run: LoopInput,
  recorded: Map<number, RecordedStep>,
  seq: number,
  use: ToolUseBlock,
  spent: number,
): Promise<ToolResultBlockParam> {
  const input = (use.input ?? {}) as Record<string, unknown>;
  // The hash covers what the model asked for; a reviewer's edit is journaled beside it.
  const hash = contentHash({ seq, kind: 'tool', id: use.id, name: use.name, input });
  const stepName = `tool:${seq}:${use.name}`;
  const journaled = recorded.get(seq);
  if (journaled) {
    await divergenceCheck(run, journaled, seq, hash);
    return journaled.output as ToolResultBlockParam;
  }
  const verdict = await run.guard.check({ seq, tool: use.name, toolUseId: use.id, input, costSoFarUsdCents: spent });
  const startedAt = new Date();
  let result: ToolResultBlockParam;
  if (verdict.run) {
    run.log.line('tool', stepName, `→ ${use.name}${verdict.edited ? ' (input edited by the approver)' : ''} ${clip(JSON.stringify(verdict.input), 500)}`);
    const { content, isError } = await run.spans.tool(use.name, use.id, () => executeTool(run, seq, use.name, verdict.input));
    result = { type: 'tool_result', tool_use_id: use.id, content, ...(isError ? { is_error: true } : {}) };
    run.log.line('tool', stepName, `← ${use.name} ${isError ? 'error' : 'ok'}: ${clip(content, 500)}`);
  } else {
    result = { type: 'tool_result', tool_use_id: use.id, content: verdict.rejection, is_error: true };
    run.log.line('tool', stepName, `✗ ${use.name}: ${verdict.rejection}`);
  }
  const step = {
    seq,
    kind: 'tool' as const,
    name: use.name,
    contentHash: hash,
    input: { id: use.id, name: use.name, input, ...(verdict.run && verdict.edited ? { executedInput: verdict.input, edited: true } : {}) },
    output: result,
    isError: result.is_error === true,
    model: null,
    tokens: NO_TOKENS,
    costUsdCents: 0,
    startedAt,
  };
  await run.journal.recordStep(step, await run.log.drain(), verdict.event);
  return result;
}

async function executeTool(run: LoopInput, seq: number, name: string, input: Record<string, unknown>): Promise<{ content: string; isError: boolean }> {
  const tool = run.tools.get(name);
  if (!tool) return { content: `Unknown tool: ${name}. Use one of: ${[...run.tools.keys()].join(', ')}`, isError: true };
  const remaining = run.deadlineAt.getTime() - Date.now();
  if (remaining <= 0) throw new RunFailure('timeout', `The run reached its deadline before calling ${name}.`);
  const deadline = AbortSignal.timeout(remaining);
  const signal = AbortSignal.any([run.signal, deadline]);
  try {
    const output = await raceAbort(tool.execute(input, { tenantId: run.tenantId, runId: run.runId, callId: `${run.runId}:${seq}`, signal }), signal);
    const text = typeof output === 'string' ? output : JSON.stringify(output ?? null);
    return { content: clip(text, MAX_TOOL_RESULT_CHARS), isError: false };
  } catch (err) {
    if (run.signal.aborted) throw new RunAborted(run.signal.reason);
    if (deadline.aborted) throw new RunFailure('timeout', `Tool ${name} did not finish before the run's deadline.`);
    if (err instanceof ToolInputError) return { content: err.message, isError: true };
    if (err instanceof RunFailure || err instanceof RunWaiting) throw err;
    throw new RunFailure('tool_failed', `Tool ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A tool that ignores its signal still cannot outlive the deadline or a cancel. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The hash covers the step's kind and position too, so any change of what would run is caught. */
async function divergenceCheck(run: LoopInput, step: RecordedStep, seq: number, hash: string): Promise<void> {
  if (step.contentHash === hash) return;
  await run.journal.event('divergence', { seq, kind: step.kind, name: step.name, recordedHash: step.contentHash, replayHash: hash });
  throw new RunFailure(
    'config_error',
    `Replay diverged at step ${seq} (${step.kind} ${step.name}): its inputs changed since it was journaled (config, tools or prompt edited mid-run).`,
  );
}

/**
 * The output tokens the budget still affords for the next call, bounded by the config's
 * max_tokens; fails the run when too few remain. The input-token bound is exact history plus
 * what was added since: the previous call's prompt and output tokens (from its usage) plus one
 * token per byte of the new messages; the first call counts one token per byte of the request.
 */
function affordableMaxTokens(
  run: LoopInput,
  price: ModelPrice,
  spent: number,
  messages: MessageParam[],
  tools: Tool[],
  previous: { promptTokens: number; outputTokens: number; messageCount: number } | null,
): number {
  if (run.budgetUsdCents === null) return run.settings.maxTokens;
  const inputBound = previous
    ? previous.promptTokens + previous.outputTokens + Buffer.byteLength(JSON.stringify(messages.slice(previous.messageCount))) + 64
    : Buffer.byteLength(JSON.stringify({ system: run.settings.systemPrompt, tools, messages }));
  const remaining = run.budgetUsdCents - spent;
  const affordable = Math.min(run.settings.maxTokens, affordableOutputTokens(price, inputBound, remaining));
  if (affordable < MIN_OUTPUT_TOKENS) {
    throw new RunFailure(
      'budget_exhausted',
      `The next model call could exceed the budget: ${remaining.toFixed(4)} of ${run.budgetUsdCents} cents remain and its input alone may be ${inputBound} tokens.`,
    );
  }
  return affordable;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}
