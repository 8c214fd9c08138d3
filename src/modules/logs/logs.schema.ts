import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { connectionOf } from '../../graphql/connection';
import type { PageArgs } from '../../db/pagination';
import { RunRef } from '../runs/runs.schema';
import { LOG_STREAMS, logCursor, MAX_LOG_PAGE, type LogLine } from './log-lines';
import { DEFAULT_LOG_PAGE, type LogPage, type LogService } from './log.service';

declare module '../../platform/services' {
  interface Services {
    logs: LogService;
  }
}

export const LogStreamEnum = builder.enumType('LogStream', {
  values: LOG_STREAMS.map((s) => s.toUpperCase()) as ['STDOUT'],
});

/** One line of a run's or job's log; `cursor` resumes right after it (Run.logs, runLogs). */
export const LogLineRef = builder.objectRef<LogLine>('LogLine').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (l) => logCursor(l.seq) }),
    ts: t.expose('ts', { type: 'DateTime' }),
    step: t.exposeString('step'),
    stream: t.field({ type: LogStreamEnum, resolve: (l) => l.stream.toUpperCase() as never }),
    line: t.exposeString('line'),
  }),
});

/** One connection type for every log (DESIGN §1 names it after its node); edge cursors are line cursors. */
export const LogLineConnectionRef = builder.connectionObject({ type: LogLineRef, name: 'LogLineConnection' }, { name: 'LogLineEdge' });

export function logConnection(page: LogPage, args: PageArgs) {
  const last = page.lines.at(-1);
  const cursorOf = (l: LogLine) => logCursor(l.seq);
  return connectionOf({ nodes: page.lines, hasNextPage: page.hasNextPage, endCursor: last ? cursorOf(last) : null, cursorOf }, args);
}

// Run's own scope (runs:read) covers it; RLS keeps the lines the tenant's.
builder.objectField(RunRef, 'logs', (t) =>
  t.connection(
    {
      type: LogLineRef,
      description: `Oldest first; \`after\` is the cursor of the last line seen (a runLogs subscription resumes from it too). ${DEFAULT_LOG_PAGE} lines a page unless \`first\` says otherwise, at most ${MAX_LOG_PAGE}.`,
      resolve: async (run, args, ctx) => logConnection(await ctx.services.logs.lines(principalOf(ctx).tenantId, 'run', run.id, args), args),
    },
    LogLineConnectionRef,
  ),
);
