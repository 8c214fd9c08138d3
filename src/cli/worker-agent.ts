import { createLogger } from '../platform/log';
import { startRestWorker, WorkerFatalError, type RestWorkerOptions } from '../../worker/rest-worker/index';
import type { CommandArgs } from './index';
import { CliError } from './runtime';

export const WORKER_AGENT_USAGE =
  'Usage: runlane worker-agent --server URL --token T [--tags script,docker] [--concurrency N] [--name NAME] [--cache-dir DIR] [--poll-interval SECONDS]';

/** The command line as worker options; a usage mistake is a CliError with exit code 2. */
export function workerAgentOptions(args: CommandArgs): RestWorkerOptions {
  const { values } = args;
  const server = values.server;
  const token = values.token;
  if (typeof server !== 'string' || !server || typeof token !== 'string' || !token) throw new CliError(`--server and --token are required\n${WORKER_AGENT_USAGE}`, 2);
  if (!/^https?:\/\/[^/]/.test(server)) throw new CliError('--server must be an http:// or https:// URL', 2);
  const options: RestWorkerOptions = { server, token };
  if (typeof values.tags === 'string') {
    const tags = values.tags.split(',').map((t) => t.trim()).filter(Boolean);
    if (!tags.length) throw new CliError('--tags needs at least one tag, e.g. --tags script,docker', 2);
    options.tags = tags;
  }
  if (values.concurrency !== undefined) {
    const n = Number(values.concurrency);
    if (!Number.isInteger(n) || n < 1) throw new CliError('--concurrency must be a whole number of at least 1', 2);
    options.concurrency = n;
  }
  if (values['poll-interval'] !== undefined) {
    const seconds = Number(values['poll-interval']);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError('--poll-interval must be a number of seconds above 0', 2);
    options.timings = { pollMs: seconds * 1000 };
  }
  if (typeof values.name === 'string' && values.name.trim()) options.name = values.name.trim();
  if (typeof values['cache-dir'] === 'string' && values['cache-dir']) options.cacheDir = values['cache-dir'];
  return options;
}

/**
 * `runlane worker-agent`: the reference REST worker (DESIGN §5). Runs until SIGTERM or SIGINT, then
 * drains (a second signal exits at once). A refused token ends it with exit code 1.
 */
export async function workerAgentCommand(args: CommandArgs): Promise<number> {
  const options = workerAgentOptions(args);
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
    if (err instanceof WorkerFatalError) throw new CliError(err.message, 1);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
