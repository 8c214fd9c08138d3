import type { Plugin } from '@envelop/core';
import { createSourceEventStream, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLError } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/** How the API turns any error into the one its clients see (yoga's maskedErrors uses the same). */
export type MaskError = (error: unknown) => GraphQLError;

/**
 * A subscription runs its selection once per event (per log line for `runLogs`), so that
 * execution is compiled once per parsed document with graphql-jit instead of interpreted each
 * time: a third of the API's CPU per delivered line. Only the per-event execution is compiled:
 * the event stream is still set up by graphql-js (arguments from literals, variables and
 * defaults, the field's `subscribe` with its scope checks), because graphql-jit 0.8 hands the
 * operation's variables to `subscribe` as the field's arguments. A document the compiler
 * refuses runs as before.
 *
 * A compiled subscription is the hook's result (setResultAndStopExecution), so the plugins after
 * this one add no wrapper per event: yoga's masked errors would map every event through two more
 * async iterators to look for errors. Masking is done here instead, with the same function, on
 * the first result, on each event's errors and on an error that ends the stream.
 */
export function useCompiledSubscriptionEvents(maskError: MaskError): Plugin {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();

  function compiledFor(args: ExecutionArgs): CompiledQuery | null {
    let byOperation = compiled.get(args.document);
    if (!byOperation) compiled.set(args.document, (byOperation = new Map()));
    const key = args.operationName ?? '';
    if (!byOperation.has(key)) {
      const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
      byOperation.set(key, isCompiledQuery(result) ? result : null);
    }
    return byOperation.get(key)!;
  }

  const masked = (result: ExecutionResult): ExecutionResult => (result.errors ? { ...result, errors: result.errors.map(maskError) } : result);

  return {
    async onSubscribe({ args, setResultAndStopExecution }) {
      const query = compiledFor(args);
      if (!query) return;
      const stream = await createSourceEventStream(args);
      if (!(Symbol.asyncIterator in stream)) {
        setResultAndStopExecution(masked(stream));
        return;
      }
      const execute = (event: unknown) => {
        const result = query.query(event, args.contextValue, args.variableValues);
        return result instanceof Promise ? result.then(masked) : masked(result);
      };
      setResultAndStopExecution(mapEvents(stream, execute, maskError));
    },
  };
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Each event through `map`; an error from the source ends the stream, masked. Closing the result
 * closes the source at once (not at its next event).
 */
function mapEvents(
  source: AsyncIterable<unknown>,
  map: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
  maskError: MaskError,
): AsyncGenerator<ExecutionResult> {
  const events = source[Symbol.asyncIterator]();
  const close = async (): Promise<IteratorResult<ExecutionResult>> => {
    await events.return?.();
    return DONE;
  };
  const mapped: AsyncGenerator<ExecutionResult> = {
    async next() {
      let event: IteratorResult<unknown>;
      try {
        event = await events.next();
      } catch (err) {
        throw maskError(err);
      }
      if (event.done) return DONE;
      const result = map(event.value);
      return { done: false, value: result instanceof Promise ? await result : result };
    },
    return: close,
    async throw(err: unknown) {
      await close();
      throw err;
    },
    [Symbol.asyncIterator]: () => mapped,
  };
  return mapped;
}
