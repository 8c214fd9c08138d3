import { envelop, useEngine, useMaskedErrors, useSchema } from '@envelop/core';
import * as graphql from 'graphql';
import { GraphQLError, GraphQLInt, GraphQLObjectType, GraphQLSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { useCompiledSubscriptionEvents } from './compiled-subscription-events';

const SECRET = 'password=hunter2';

/** One tick, then the source fails with a detail no client may see. */
async function* ticksThenFailure() {
  yield { ticks: 1 };
  throw new Error(`connection lost (${SECRET})`);
}

async function* oneEvent() {
  yield {};
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      ticks: { type: GraphQLInt, subscribe: () => ticksThenFailure() },
      // Fails in the per-event execution, not in the source.
      broken: {
        type: GraphQLInt,
        subscribe: () => oneEvent(),
        resolve: () => {
          throw new Error(`resolver failed (${SECRET})`);
        },
      },
      refused: {
        type: GraphQLInt,
        subscribe: () => {
          throw new Error(`not allowed (${SECRET})`);
        },
      },
    },
  }),
});

/** The API's order: the compiled events plugin, then yoga's masked errors with the same mask. */
function subscribeWithMask() {
  const reported: unknown[] = [];
  const mask = (error: unknown) => {
    reported.push(error);
    return new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
  const getEnveloped = envelop({
    plugins: [useEngine(graphql), useSchema(schema), useCompiledSubscriptionEvents(mask), useMaskedErrors({ maskError: mask })],
  });
  const { subscribe, contextFactory } = getEnveloped();
  return {
    reported,
    run: async (query: string) => subscribe({ schema, document: parse(query), contextValue: await contextFactory() }) as Promise<unknown>,
  };
}

describe('compiled subscription events', () => {
  it('delivers events, and masks an error that ends the stream', async () => {
    const { run, reported } = subscribeWithMask();
    const stream = (await run('subscription { ticks }')) as AsyncIterableIterator<graphql.ExecutionResult>;
    expect(await stream.next()).toEqual({ done: false, value: { data: { ticks: 1 } } });
    const failure = await stream.next().then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(GraphQLError);
    expect((failure as GraphQLError).message).toBe('Unexpected error.');
    expect((failure as GraphQLError).extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(failure)).not.toContain(SECRET);
    expect(String(reported[0])).toContain(SECRET);
  });

  it('masks an error of one event’s execution', async () => {
    const { run } = subscribeWithMask();
    const stream = (await run('subscription { broken }')) as AsyncIterableIterator<graphql.ExecutionResult>;
    const event = await stream.next();
    expect(event.done).toBe(false);
    expect(event.value.errors?.map((e: GraphQLError) => [e.message, e.extensions.code])).toEqual([['Unexpected error.', 'INTERNAL_SERVER_ERROR']]);
    expect(JSON.stringify(event.value)).not.toContain(SECRET);
    await stream.return?.();
  });

  it('masks an error raised when the subscription starts, and gives no stream', async () => {
    const { run } = subscribeWithMask();
    const result = (await run('subscription { refused }')) as graphql.ExecutionResult;
    expect(Symbol.asyncIterator in result).toBe(false);
    expect(result.errors?.map((e) => e.message)).toEqual(['Unexpected error.']);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });
});
