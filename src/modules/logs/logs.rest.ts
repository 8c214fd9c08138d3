import type { Route } from '../../platform/rest';
import { logCursor, type LogLine } from './log-lines';

function logLineJson(l: LogLine) {
  return { cursor: logCursor(l.seq), ts: l.ts.toISOString(), step: l.step, stream: l.stream, line: l.line };
}

/** JSON Lines, one chunk per page, so the door writes (and the socket sends) page-sized pieces. */
async function* jsonLines(pages: AsyncIterable<LogLine[]>): AsyncGenerator<string> {
  for await (const page of pages) yield page.map((l) => `${JSON.stringify(logLineJson(l))}\n`).join('');
}

/** `?after=&limit=`; a limit that is not a whole number reaches the service as NaN, which refuses it. */
function logQuery(query: URLSearchParams): { after: string | null; limit?: number } {
  const limit = query.get('limit');
  return { after: query.get('after'), ...(limit === null ? {} : { limit: /^\d+$/.test(limit) ? Number(limit) : Number.NaN }) };
}

export const logRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/v1/agents/{blueprint}/runs/{id}/logs',
    scope: 'runs:read',
    handler: async ({ principal, params, query, services }) => {
      // Found exactly as GET …/runs/{id} finds it: another tenant's run or another blueprint is a 404.
      const run = await services.runs.get(principal!.tenantId, params.id!, params.blueprint!);
      const log = await services.logs.snapshot(principal!.tenantId, 'run', run.id, logQuery(query));
      // The header goes out before the lines: the service fixes the last line before reading any.
      return { status: 200, headers: { 'content-type': 'application/x-ndjson', 'x-next-cursor': log.lastCursor }, stream: jsonLines(log.pages) };
    },
  },
];
