import { spawn } from 'node:child_process';
import { LineSplitter } from './line-splitter';

export type ProcessSpec = {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
};

export type ProcessResult = {
  /** Null when the process died of a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
};

export type RunProcessOptions = {
  /** Aborting stops the process: SIGTERM to its process group, SIGKILL after `killGraceMs`. */
  signal: AbortSignal;
  killGraceMs: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Called once when the process is being stopped (e.g. to remove a container as well). */
  onKill?: () => void;
};

/** After the process exited, how long its pipes may stay open (held by a child it left behind). */
const PIPE_LINGER_MS = 1_000;

/**
 * Runs one process in a process group of its own, streaming stdout and stderr line by line.
 * Rejects only when the process cannot be started at all.
 */
export function runProcess(spec: ProcessSpec, options: RunProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out = new LineSplitter((line) => options.onLine('stdout', line));
    const err = new LineSplitter((line) => options.onLine('stderr', line));
    child.stdout.on('data', (chunk: Buffer) => out.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.write(chunk));

    let killTimer: NodeJS.Timeout | null = null;
    let lingerTimer: NodeJS.Timeout | null = null;
    let exit: ProcessResult | null = null;
    let settled = false;

    const signalGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        try {
          child.kill(sig);
        } catch {
          // Already gone.
        }
      }
    };
    const stop = () => {
      options.onKill?.();
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), options.killGraceMs);
    };
    const finish = () => {
      if (settled || !exit) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      if (lingerTimer) clearTimeout(lingerTimer);
      options.signal.removeEventListener('abort', stop);
      out.end();
      err.end();
      resolve(exit);
    };

    child.once('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      options.signal.removeEventListener('abort', stop);
      reject(new Error(`cannot start ${spec.command}: ${error.code ?? error.message}`));
    });
    child.once('exit', (code, sig) => {
      exit = { exitCode: code, signal: sig };
      // A process that was stopped may have left children in its group: make sure they go too.
      if (options.signal.aborted) signalGroup('SIGKILL');
      lingerTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, PIPE_LINGER_MS);
    });
    child.once('close', () => finish());

    if (options.signal.aborted) stop();
    else options.signal.addEventListener('abort', stop, { once: true });
  });
}
