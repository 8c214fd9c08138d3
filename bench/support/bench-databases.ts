import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { dropDatabase } from '../../src/db/provision';

// Every bench database is runlane_bench_<pid>_<hex>, so a leftover can be traced to its process.
const DB_PREFIX = 'runlane_bench_';

/** A fresh name for a database of this bench process. */
export function benchDatabaseName(): string {
  return `${DB_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Drops bench databases left behind by a run that was killed outright (SIGKILL, OOM), but only
 * when their process is gone from this machine and nothing is connected to them.
 */
export async function dropLeftoverBenchDatabases(adminUrl: string, bench: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  let stale: string[];
  try {
    const { rows } = await client.query<{ datname: string; connections: number }>(
      `select d.datname, (select count(*) from pg_stat_activity a where a.datname = d.datname)::int as connections
         from pg_database d where d.datname like $1`,
      [`${DB_PREFIX}%`],
    );
    stale = rows
      .filter((row) => {
        const pid = Number(/^runlane_bench_(\d+)_[0-9a-f]+$/.exec(row.datname)?.[1]);
        return Number.isInteger(pid) && row.connections === 0 && !pidAlive(pid);
      })
      .map((row) => row.datname);
  } finally {
    await client.end();
  }
  for (const name of stale) {
    console.log(`${bench}: dropping ${name}, left behind by an interrupted run`);
    await dropDatabase(adminUrl, name);
  }
}
