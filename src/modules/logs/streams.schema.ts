import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { entityId } from '../../graphql/ids';
import type { AgentRun } from '../runs/agent-run.entity';
import { RunRef } from '../runs/runs.schema';
import { seqAfter, type LogLine } from './log-lines';
import { LogLineRef } from './logs.schema';
import type { RunStreamService } from './run-stream';

declare module '../../platform/services' {
  interface Services {
    runStreams: RunStreamService;
  }
}

// Scope and tenant are checked when a subscription starts: the scope by scope-auth, the tenant by
// reading the run under row-level security (another tenant's run is "not found", and no data).
builder.subscriptionField('runLogs', (t) =>
  t.field({
    type: LogLineRef,
    description: 'The run’s log after the cursor (from the start without one), then live; completes once the run has ended.',
    authScopes: { scope: 'runs:read' },
    args: { runId: t.arg.id({ required: true }), after: t.arg.string() },
    subscribe: (_root, args, ctx) => ctx.services.runStreams.logs(principalOf(ctx).tenantId, entityId(String(args.runId), 'Run'), seqAfter(args.after)),
    resolve: (line: LogLine) => line,
  }),
);

builder.subscriptionField('runUpdates', (t) =>
  t.field({
    type: RunRef,
    description: 'The run now and after every status, step, event or log change; completes with its final state.',
    authScopes: { scope: 'runs:read' },
    args: { runId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.services.runStreams.updates(principalOf(ctx).tenantId, entityId(String(args.runId), 'Run')),
    resolve: (run: AgentRun) => run,
  }),
);
