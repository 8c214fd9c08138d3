import { resolve, sep } from 'node:path';
import type { ActionSpec } from './protocol';
import type { StepIdentity } from './step-env';

/** Everything a runner needs to run one step, templates already rendered. */
export type StepContext = StepIdentity & {
  actionType: string;
  runner: string | null;
  actionImage: string | null;
  spec: ActionSpec;
  input: Record<string, unknown>;
  /** Aborted to stop the step (cancelled, timed out, worker shutting down). */
  signal: AbortSignal;
  killGraceMs: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
};

/** How the process ended; output and errors are derived from its lines by the caller. */
export type RunnerResult = { exitCode: number | null; signal: NodeJS.Signals | null };

/** `rel` inside `root`, or an error naming `what` when it would leave it. */
export function pathInside(root: string, rel: string, what: string): string {
  const full = resolve(root, rel);
  if (full !== root && !full.startsWith(root.endsWith(sep) ? root : root + sep)) throw new Error(`${what} leaves the workspace: ${rel}`);
  return full;
}

/** `cmd`/`entrypoint`/`command` as an argument list: a string runs through `sh -c`. */
export function argList(value: string[] | string | null | undefined, shellForString = true): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.map(String);
  if (!value.trim()) return [];
  return shellForString ? ['sh', '-c', value] : value.trim().split(/\s+/);
}
