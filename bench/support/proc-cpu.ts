/**
 * CPU time of processes, read from Linux's /proc (in clock ticks, 100 per second on Linux), for
 * benches that need to say which process the time went to. Everything returns milliseconds, or
 * null/0 where /proc is missing (not Linux) or the process is gone.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on every Linux architecture Node supports.

type Stat = { pid: number; comm: string; ppid: number; utime: number; stime: number; cutime: number; cstime: number };

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): field n is rest[n - 3].
  return {
    pid,
    comm: text.slice(open + 1, close),
    ppid: Number(rest[1]),
    utime: Number(rest[11]),
    stime: Number(rest[12]),
    cutime: Number(rest[13]),
    cstime: Number(rest[14]),
  };
}

/** User + system CPU time of one process (all its threads), ms; null when it is gone. */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const stat = readStat(pid);
  return stat ? (stat.utime + stat.stime) * TICK_MS : null;
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

export type PostgresCpu = {
  /** Backends connected to one of the given databases (their process title names it). */
  ours: number;
  /** Postmaster and background processes (WAL writer, checkpointer, background writer, autovacuum, …). */
  background: number;
  /** Backends of other databases: other work on this machine. */
  others: number;
};

/**
 * CPU time of the machine's PostgreSQL processes, split by whose they are. A backend's title is
 * `postgres: <cluster>: <user> <database> <client> <state>`, so the database is read from it.
 * Backends that exited count in the postmaster's `cutime`, which is put under background: keep
 * connections open across a measurement (pools do).
 */
export function postgresCpuMs(databases: string[]): PostgresCpu {
  const out: PostgresCpu = { ours: 0, background: 0, others: 0 };
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (!stat || stat.comm !== 'postgres') continue;
    const own = (stat.utime + stat.stime) * TICK_MS;
    const parent = readStat(stat.ppid);
    if (parent?.comm !== 'postgres') {
      // The postmaster: its own time and that of its exited children.
      out.background += own + (stat.cutime + stat.cstime) * TICK_MS;
      continue;
    }
    // A backend: `postgres: 15/main: user database 127.0.0.1(port) state` (or `[local]`).
    const words = cmdline(pid).split(/\s+/);
    const isBackend = /^\S+\(\d+\)$|^\[local\]$/.test(words[4] ?? '');
    if (!isBackend) out.background += own;
    else if (databases.includes(words[3]!)) out.ours += own;
    else out.others += own;
  }
  return out;
}

/**
 * The CPU time of each PostgreSQL process now, by pid, classified as postgresCpuMs classifies
 * them (the postmaster counts its own time only). Compare two readings pid by pid with
 * postgresCpuDeltaMs: a backend that exits in between (a pool closing an idle connection) then
 * drops out instead of making the difference negative, and the postmaster's `cutime` (which
 * would count every exited backend's whole life) is left out.
 */
export function postgresProcessesCpuMs(databases: string[]): Map<number, { kind: keyof PostgresCpu; ms: number }> {
  const out = new Map<number, { kind: keyof PostgresCpu; ms: number }>();
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (!stat || stat.comm !== 'postgres') continue;
    const ms = (stat.utime + stat.stime) * TICK_MS;
    if (readStat(stat.ppid)?.comm !== 'postgres') {
      out.set(pid, { kind: 'background', ms });
      continue;
    }
    const words = cmdline(pid).split(/\s+/);
    const isBackend = /^\S+\(\d+\)$|^\[local\]$/.test(words[4] ?? '');
    out.set(pid, { kind: !isBackend ? 'background' : databases.includes(words[3]!) ? 'ours' : 'others', ms });
  }
  return out;
}

/** CPU between two postgresProcessesCpuMs readings, by kind: processes present in the second, less what they had in the first. */
export function postgresCpuDeltaMs(
  before: Map<number, { kind: keyof PostgresCpu; ms: number }>,
  after: Map<number, { kind: keyof PostgresCpu; ms: number }>,
): PostgresCpu {
  const out: PostgresCpu = { ours: 0, background: 0, others: 0 };
  for (const [pid, { kind, ms }] of after) out[kind] += ms - (before.get(pid)?.ms ?? 0);
  return out;
}

/** The CPU time of every process whose command name is `comm` (e.g. 'redis-server'), ms. */
export function commandCpuMs(comm: string): number {
  let total = 0;
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat?.comm === comm) total += (stat.utime + stat.stime) * TICK_MS;
  }
  return total;
}

/** CPU time of each of the kernel's own threads (kthreadd and its children: kworkers, kswapd, kdamond…), ms. */
export function kernelThreadsCpuMs(): Map<number, { comm: string; ms: number }> {
  const threads = new Map<number, { comm: string; ms: number }>();
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat && (pid === 2 || stat.ppid === 2)) threads.set(pid, { comm: stat.comm, ms: (stat.utime + stat.stime) * TICK_MS });
  }
  return threads;
}

/** The kernel threads' CPU between two readings, ms, and the busiest of them. */
export function kernelThreadsDeltaMs(before: ReturnType<typeof kernelThreadsCpuMs>, after: ReturnType<typeof kernelThreadsCpuMs>): { ms: number; busiest: string | null } {
  let ms = 0;
  let busiest: { comm: string; ms: number } | null = null;
  for (const [pid, { comm, ms: now }] of after) {
    const since = now - (before.get(pid)?.ms ?? 0);
    ms += since;
    if (since > 0 && (!busiest || since > busiest.ms)) busiest = { comm, ms: since };
  }
  return { ms, busiest: busiest?.comm ?? null };
}

/** Busy (not idle, not waiting for I/O) CPU time of the whole machine, all cores, ms. */
export function machineBusyMs(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    // cpu  user nice system idle iowait irq softirq steal …
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) * TICK_MS;
  } catch {
    return null;
  }
}
