import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { redisUrl } from './env';

const root = join(import.meta.dirname, '../..');

export type RunlaneProcess = { child: ChildProcess; output(): string };
/** A `runlane api` process and the address it listens on. */
export type ApiProcess = RunlaneProcess & { url: string };

type ProcessOptions = { databaseUrl: string; masterKey: Buffer; env?: Record<string, string> };

/** A real `runlane worker` process on the test's database and Redis, resolved once it is ready. */
export async function startWorkerProcess(options: ProcessOptions): Promise<RunlaneProcess> {
  return startRunlaneProcess('worker', options, /worker ready/);
}

/** A real `runlane api` process on a free port, resolved once it listens. */
export async function startApiProcess(options: ProcessOptions): Promise<ApiProcess> {
  const started = await startRunlaneProcess('api', { ...options, env: { PORT: '0', ...options.env } }, /listening on (http:\/\/127\.0\.0\.1:\d+)\//);
  return { ...started, url: /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(started.output())![1]! };
}

/**
 * A real `runlane <role>` process on the test's database and Redis, resolved once its output
 * matches `ready`. Started as `node --import tsx`, not through the tsx launcher, so a signal
 * reaches Runlane itself (a SIGKILLed launcher leaves its child running). `env` adds to or
 * overrides the defaults; RUNLANE_TEST_WORKER_OUTPUT=1 echoes the process's logs.
 */
function startRunlaneProcess(role: 'worker' | 'api', options: ProcessOptions, ready: RegExp): Promise<RunlaneProcess> {
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    HOME: process.env.HOME ?? '/tmp',
    RUNLANE_ENV: 'test',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: redisUrl(),
    RUNLANE_MASTER_KEY: options.masterKey.toString('base64'),
    WORKER_HEALTH_PORT: '0',
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', role], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} not ready after 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (process.env.RUNLANE_TEST_WORKER_OUTPUT) process.stderr.write(chunk);
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

/** Sends `signal` and resolves once the process has exited (at once when it already has). */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
