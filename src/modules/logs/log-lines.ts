import type { SqlExecutor } from '../../db/tenant-transaction';
import { InputError } from '../../db/errors';

/**
 * Log lines of runs and jobs (DESIGN §4): one table, a gap-free `seq` per source, so a reader's
 * position is one number. The cursor handed to clients is that number as a decimal string:
 * readable in JSONL and on a command line, and all a subscriber needs to resume.
 */
export type LogSource = 'run' | 'job';
export type LogStream = 'stdout' | 'stderr' | 'llm' | 'tool' | 'system';
export const LOG_STREAMS: readonly LogStream[] = ['stdout', 'stderr', 'llm', 'tool', 'system'];

export type LogLine = { seq: number; ts: Date; step: string; stream: LogStream; line: string };

/** The most lines one read returns. */
export const MAX_LOG_PAGE = 1000;

export function logCursor(seq: number): string {
  return String(seq);
}

/** A cursor (or nothing: from the start) as the seq to read after; garbage is an InputError. */
export function seqAfter(cursor: string | null | undefined): number {
  if (cursor === null || cursor === undefined || cursor === '') return 0;
  if (!/^\d{1,15}$/.test(cursor)) throw new InputError('after must be a log cursor (a line number)', 'after');
  return Number(cursor);
}

/** Lines of one source (of one step, when given) after `afterSeq`, in order, at most `limit`, inside the caller's tenant transaction. */
export async function readLogLinesIn(
  sql: SqlExecutor,
  source: LogSource,
  sourceId: string,
  afterSeq: number,
  limit: number,
  step: string | null = null,
): Promise<LogLine[]> {
  const rows: Record<string, any>[] = await sql.execute(
    `select seq, ts, step, stream, line from log_lines
      where source = ? and source_id = ? and seq > ?${step === null ? '' : ' and step = ?'}
      order by seq
      limit ?`,
    [source, sourceId, afterSeq, ...(step === null ? [] : [step]), Math.max(1, Math.min(limit, MAX_LOG_PAGE))],
  );
  return rows.map((r) => ({ seq: Number(r.seq), ts: new Date(r.ts), step: r.step, stream: r.stream, line: r.line }));
}
