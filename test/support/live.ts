import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { RunLogsDocument, RunUpdatesDocument } from '../documents/generated';
import WebSocket from 'ws';
import { callDefiner } from '../../src/db/tenant-transaction';
import type { Lease } from '../../src/platform/lease-queue';
import { RunJournal, type LogLineInput } from '../../src/modules/runs/run-journal';
import { SCOPES } from '../../src/modules/accounts/scopes';
import type { TestServer } from './app';
import type { App } from '../../src/app';

/** What one subscription received, and how it ended. */
export type Subscription = {
  values: any[];
  errors: { message: string; extensions?: Record<string, unknown> }[];
  /** Resolves when the subscription completes or fails (never rejects). */
  ended: Promise<'complete' | 'error' | { closed: number }>;
  /** Resolves once `count` values have arrived. */
  received(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

/** One graphql-ws client per subscription (closing it is what a dropped connection looks like). */
export function subscribeOverWs(baseUrl: string, token: string, query: string, variables: Record<string, unknown>): Subscription {
  const values: any[] = [];
  const errors: Subscription['errors'] = [];
  let settle!: (how: 'complete' | 'error' | { closed: number }) => void;
  const ended = new Promise<'complete' | 'error' | { closed: number }>((resolve) => (settle = resolve));
  const client: Client = createClient({
    url: baseUrl.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    onNonLazyError: () => {},
    on: { closed: (event) => settle({ closed: (event as { code: number }).code }) },
  });
  client.subscribe(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(...(value.errors as Subscription['errors']));
        if (value.data) values.push(Object.values(value.data)[0]);
      },
      error: (err) => {
        if (Array.isArray(err)) errors.push(...err);
        settle('error');
      },
      complete: () => settle(errors.length ? 'error' : 'complete'),
    },
  );
  return {
    values,
    errors,
    ended,
    async received(count, timeoutMs = 10_000) {
      for (const until = Date.now() + timeoutMs; values.length < count; ) {
        if (Date.now() > until) throw new Error(`received ${values.length} of ${count}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => client.dispose() as Promise<void>,
  };
}

/**
 * A tenant with a `custom` config and one run leased to the test, as a worker would hold it:
 * the journal writes that run's log. Nothing else may be queued on this database meanwhile.
 */
export async function startLoggedRun(server: TestServer) {
  const t = await server.tenant();
  const actor = { tenantId: t.tenantId, accountId: t.accountId, name: 'owner', scopes: new Set<string>(SCOPES) };
  await server.app.services.agentConfigs.put(actor, 'custom', { systemPrompt: 'x' });
  const { run } = await server.app.services.runs.enqueue(actor, 'custom', { input: {} });
  const journal = await leaseRunJournal(server.app);
  if (journal.lease.id !== run.id) throw new Error('leased another run than the one just queued');
  return { t, actor, runId: run.id, journal };
}

/** Lines `line <from>` … `line <from + count - 1>` of one step. */
export function numberedLines(from: number, count: number, step = 'test'): LogLineInput[] {
  return Array.from({ length: count }, (_, i) => ({ stream: 'stdout', step, line: `line ${from + i}` }));
}

/** Claims one queued run for the test, as a worker would, and returns its journal. */
export async function leaseRunJournal(app: App, owner = 'test-writer'): Promise<RunJournal> {
  const [row] = await callDefiner<{ tenant_id: string; id: string; lease_token: string }>(app.orm, 'select tenant_id, id, lease_token from runlane_runs_claim(?, 1, 60)', [owner]);
  if (!row) throw new Error('no queued run to lease');
  const lease: Lease = { tenantId: row.tenant_id, id: row.id, token: row.lease_token };
  return new RunJournal({ orm: app.orm, bus: app.bus, onPublishError: () => {} }, lease);
}

// The typed documents codegen generates from test/documents/logs.graphql, as clients send them.
export const RUN_LOGS = print(RunLogsDocument);
export const RUN_UPDATES = print(RunUpdatesDocument);
