import type { Orm } from '../../db/orm';
import { inTenantSql } from '../../db/tenant-transaction';
import { InputError } from '../../db/errors';
import { isUuid } from '../../db/ids';
import { logCursor, MAX_LOG_PAGE, readLogLinesIn, seqAfter, type LogLine, type LogSource } from './log-lines';

/** Run.logs without `first`. */
export const DEFAULT_LOG_PAGE = 100;

export type LogPage = { lines: LogLine[]; hasNextPage: boolean };

/** A log as it stood when read: `lastCursor` is known before the first page is. */
export type LogSnapshot = { lastCursor: string; pages: AsyncIterable<LogLine[]> };

/**
 * Reading logs without a socket (Run.logs, Job.logs, the REST JSONL door). The caller has already
 * shown the source is the tenant's; RLS keeps every other tenant's lines out regardless.
 */
export class LogService {
  constructor(private readonly deps: { orm: Orm }) {}

  /** One page after a cursor, oldest first: `first` lines (default 100, at most MAX_LOG_PAGE), of one step when `step` is given. */
  async lines(tenantId: string, source: LogSource, sourceId: string, args: { after?: string | null; first?: number | null; step?: string | null }): Promise<LogPage> {
    const step = args.step ?? null;
    const afterSeq = seqAfter(args.after);
    const size = args.first ?? DEFAULT_LOG_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_LOG_PAGE) throw new InputError(`first must be between 1 and ${MAX_LOG_PAGE}.`, 'first');
    if (!isUuid(sourceId)) return { lines: [], hasNextPage: false };
    return inTenantSql(this.deps.orm, tenantId, async (sql) => {
      const lines = await readLogLinesIn(sql, source, sourceId, afterSeq, size, step);
      const last = lines.at(-1);
      // readLogLinesIn caps what it returns at MAX_LOG_PAGE, so "one more than asked" cannot tell
      // a full last page from a longer log; a look past the last line can.
      const hasNextPage = lines.length === size && (await readLogLinesIn(sql, source, sourceId, last!.seq, 1, step)).length > 0;
      return { lines, hasNextPage };
    });
  }

  /**
   * Every line after a cursor, up to `limit` (default: all), as the log stands now: the last line
   * is chosen first, so a door can name it before sending anything, and lines written meanwhile
   * are left for the next read from that cursor. Pages of MAX_LOG_PAGE are read as they are
   * consumed, each in its own short transaction, so neither memory nor a connection is held for
   * as long as a slow client takes.
   */
  async snapshot(tenantId: string, source: LogSource, sourceId: string, args: { after?: string | null; limit?: number }): Promise<LogSnapshot> {
    const afterSeq = seqAfter(args.after);
    const { limit } = args;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1)) throw new InputError('limit must be a positive whole number.', 'limit');
    const [row]: { last: string | null }[] = isUuid(sourceId)
      ? await inTenantSql(this.deps.orm, tenantId, (sql) =>
          sql.execute(
            `select max(seq) as last from (
               select seq from log_lines where source = ? and source_id = ? and seq > ? order by seq limit ?) upto`,
            [source, sourceId, afterSeq, limit ?? null],
          ),
        )
      : [];
    const lastSeq = row?.last ? Number(row.last) : afterSeq;
    const { orm } = this.deps;
    async function* pages(): AsyncGenerator<LogLine[]> {
      let seq = afterSeq;
      while (seq < lastSeq) {
        const from = seq;
        // Seqs are gap-free, so (seq, lastSeq] holds at most lastSeq - seq lines; retention can only
        // leave holes, past which a page reaches beyond lastSeq.
        const page = await inTenantSql(orm, tenantId, (sql) => readLogLinesIn(sql, source, sourceId, from, Math.min(MAX_LOG_PAGE, lastSeq - from)));
        const kept = page.filter((l) => l.seq <= lastSeq);
        if (kept.length === 0) return;
        yield kept;
        seq = kept.at(-1)!.seq;
      }
    }
    return { lastCursor: logCursor(lastSeq), pages: pages() };
  }
}
