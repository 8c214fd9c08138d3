import { createLogger } from '../platform/log';
import { startRestWorker, WorkerFatalError, type RestWorkerOptions } from '../../worker/rest-worker/index';
import type { CommandArgs } from './index';

/**
 * A mistake on the command line (exit code 2). Not the CLI's CliError: that lives beside the
 * database and configuration helpers, which a worker, a pure HTTP client, has no use for loading.
 */
export class WorkerAgentUsageError extends Error {
  readonly exitCode = 2;
}

export const WORKER_AGENT_USAGE =
  'Usage: runlane worker-agent --server URL --token T [--tags script,docker] [--concurrency N] [--name NAME] [--cache-dir DIR] [--poll-interval SECONDS]';

/** The command line as worker options; throws WorkerAgentUsageError for a usage mistake. */
export function workerAgentOptions(args: CommandArgs): RestWorkerOptions {
  const { values } = args;
  const server = values.server;
  const token = values.token;
  if (typeof server !== 'string' || !server || typeof token !== 'string' || !token) throw new WorkerAgentUsageError(`--server and --token are required\n${WORKER_AGENT_USAGE}`);
  if (!/^https?:\/\/[^/]/.test(server)) throw new WorkerAgentUsageError('--server must be an http:// or https:// URL');
  const options: RestWorkerOptions = { server, token };
  if (typeof values.tags === 'string') {
    const tags = values.tags.split(',').map((t) => t.trim()).filter(Boolean);
    if (!tags.length) throw new WorkerAgentUsageError('--tags needs at least one tag, e.g. --tags script,docker');
    options.tags = tags;
  }
  if (values.concurrency !== undefined) {
    const n = Number(values.concurrency);
    if (!Number.isInteger(n) || n < 1) throw new WorkerAgentUsageError('--concurrency must be a whole number of at least 1');
    options.concurrency = n;
  }
  if (values['poll-interval'] !== undefined) {
    const seconds = Number(values['poll-interval']);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new WorkerAgentUsageError('--poll-interval must be a number of seconds above 0');
    options.timings = { pollMs: seconds * 1000 };
  }
  if (typeof values.name === 'string' && values.name.trim()) options.name = values.name.trim();
  if (typeof values['cache-dir'] === 'string' && values['cache-dir']) options.cacheDir = values['cache-dir'];
  return options;
}

/**
 * `runlane worker-agent`: the reference REST worker (DESIGN §5). Runs until SIGTERM or SIGINT, then
 * drains (a second signal exits at once). A refused token ends it with exit code 1, a usage
 * mistake with 2.
 */
export async function workerAgentCommand(args: CommandArgs, stderr: (text: string) => void = (t) => void process.stderr.write(t)): Promise<number> {
  let options: RestWorkerOptions;
  try {
    options = workerAgentOptions(args);
  } catch (err) {
    if (!(err instanceof WorkerAgentUsageError)) throw err;
    stderr(`runlane: ${err.message}\n`);
    return err.exitCode;
  }
  const log = createLogger('info', 'runlane-worker', 2);
  const worker = startRestWorker({ ...options, logger: log });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting without draining');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'shutting down: no new claims, draining running steps');
    void worker.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await worker.done;
    return 0;
  } catch (err) {
    if (!(err instanceof WorkerFatalError)) throw err;
    stderr(`runlane: ${err.message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
