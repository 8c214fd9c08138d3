import { adminQuery, type TestDatabase } from './database';

/**
 * Log lines of a run as the journal leaves them (gap-free seqs `from`…`from + count - 1`, every
 * stream in turn), written as the superuser; `ageDays` back-dates them for retention.
 */
export async function writeRunLines(
  db: TestDatabase,
  tenantId: string,
  runId: string,
  options: { count: number; from?: number; ageDays?: number },
): Promise<void> {
  const from = options.from ?? 1;
  await adminQuery(
    db,
    `insert into log_lines (tenant_id, source, source_id, seq, ts, step, stream, line)
     select $1, 'run', $2, g, now() - make_interval(days => $5), 'step-' || (g / 10),
            (array['stdout', 'stderr', 'llm', 'tool', 'system'])[1 + g % 5], 'line ' || g
       from generate_series($3::bigint, $4::bigint) g`,
    [tenantId, runId, from, from + options.count - 1, options.ageDays ?? 0],
  );
}
