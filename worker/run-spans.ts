import { context, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Message } from '@anthropic-ai/sdk/resources/messages/messages';
import { RunFailure } from './run-failure';

/**
 * The OpenTelemetry GenAI spans of one run attempt (DESIGN §6): `invoke_agent {blueprint}` for the
 * attempt, with a `chat {model}` child per model call and an `execute_tool {tool}` child per tool
 * call. Only names, ids, token counts and outcomes go on them: never prompts, tool inputs or
 * outputs, keys or error text from outside (which may echo any of those).
 */
export class RunSpans {
  private readonly root: Span;
  private readonly inRoot: Context;

  constructor(
    private readonly tracer: Tracer,
    run: { id: string; tenantId: string; blueprint: string; attempt: number; worker: string },
  ) {
    this.root = tracer.startSpan(`invoke_agent ${run.blueprint}`, {
      kind: SpanKind.INTERNAL,
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.agent.name': run.blueprint,
        'runlane.run.id': run.id,
        'runlane.tenant.id': run.tenantId,
        'runlane.run.attempt': run.attempt,
        'runlane.worker': run.worker,
      },
    });
    this.inRoot = trace.setSpan(context.active(), this.root);
  }

  /** Wraps one model call (not a replayed one). */
  async chat(model: string, maxTokens: number, call: () => Promise<Message>): Promise<Message> {
    const span = this.tracer.startSpan(
      `chat ${model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.request.model': model,
          'gen_ai.request.max_tokens': maxTokens,
        },
      },
      this.inRoot,
    );
    try {
      const message = await call();
      const usage = message.usage;
      span.setAttributes({
        'gen_ai.response.id': message.id,
        'gen_ai.response.model': message.model,
        'gen_ai.response.finish_reasons': message.stop_reason ? [message.stop_reason] : [],
        'gen_ai.usage.input_tokens': usage?.input_tokens ?? 0,
        'gen_ai.usage.output_tokens': usage?.output_tokens ?? 0,
        'gen_ai.usage.cache_read.input_tokens': usage?.cache_read_input_tokens ?? 0,
        'gen_ai.usage.cache_creation.input_tokens': usage?.cache_creation_input_tokens ?? 0,
      });
      return message;
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** Wraps one tool call (not a replayed one); `isError` is the tool's own error result. */
  async tool<T extends { isError: boolean }>(name: string, callId: string, call: () => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan(
      `execute_tool ${name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.tool.call.id': callId, 'gen_ai.tool.type': 'function' },
      },
      this.inRoot,
    );
    try {
      const result = await call();
      if (result.isError) span.setAttributes({ 'error.type': 'tool_error' }).setStatus({ code: SpanStatusCode.ERROR });
      return result;
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** Ends the attempt's span with how it ended. */
  end(outcome: 'succeeded' | 'failed' | 'released' | 'waiting' | 'aborted', category?: string): void {
    this.root.setAttribute('runlane.run.outcome', outcome);
    if (outcome === 'failed') {
      this.root.setAttribute('error.type', category ?? 'internal');
      this.root.setStatus({ code: SpanStatusCode.ERROR, message: category ?? 'internal' });
    }
    this.root.end();
  }
}

/** Marks a span failed with the failure's category only (the message may carry outside text). */
function failed(span: Span, err: unknown): void {
  const type = err instanceof RunFailure ? err.category : err instanceof Error ? err.name : 'error';
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}
