import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './runtime';
import { serveCommand } from './serve';
import { migrateCommand } from './migrate';
import { tenantCommand } from './tenant';
import { accountCommand } from './account';
import { keysCommand } from './keys';
import { logsCommand } from './logs';
import { validateCommand } from './validate';
import { workspaceCommand } from './workspace';

const USAGE = `runlane — control plane for agent runs and workflows

Usage:
  runlane serve                 API and worker pool in one process (embedded PostgreSQL without DATABASE_URL)
  runlane api                   API only (needs DATABASE_URL and REDIS_URL)
  runlane worker                worker pool only (needs DATABASE_URL and REDIS_URL)
  runlane migrate               apply database migrations
  runlane tenant create <slug> [--name N] [--timezone TZ] [--json]
  runlane account create --name N --scopes a,b [--tenant SLUG] [--description D] [--owner O] [--expires-at ISO] [--json]
  runlane account list [--tenant SLUG] [--json]
  runlane account rotate <account-id> [--tenant SLUG] [--json]
  runlane keys rotate-master    rewrap every tenant data key under the current master key
  runlane logs <run-id> --server URL --token T [--follow] [--after CURSOR] [--json]
                                print a run's log from a running server; --follow tails it until the run
                                ends and resumes after a dropped connection
  runlane validate <workspace-dir> [--json]  check workflow files offline
  runlane workspace push <dir> --server URL --token T [--name NAME] [--json]
                                upload a workspace folder (tar.gz) to a running server
  runlane worker-agent --server URL --token T [--tags script,docker] [--concurrency N] [--name NAME]
                       [--cache-dir DIR] [--poll-interval SECONDS]
                                the reference REST worker: runs workflow steps claimed from a server

Configuration comes from the environment; see README.md.`;

export type CommandArgs = { positionals: string[]; values: Record<string, string | boolean | undefined> };

const options: ParseArgsConfig['options'] = {
  json: { type: 'boolean' },
  name: { type: 'string' },
  timezone: { type: 'string' },
  tenant: { type: 'string' },
  description: { type: 'string' },
  owner: { type: 'string' },
  scopes: { type: 'string' },
  'expires-at': { type: 'string' },
  server: { type: 'string' },
  token: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  after: { type: 'string' },
  tags: { type: 'string' },
  concurrency: { type: 'string' },
  'cache-dir': { type: 'string' },
  'poll-interval': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export async function runCli(argv: string[]): Promise<number> {
  let parsed: CommandArgs;
  try {
    const { positionals, values } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    parsed = { positionals, values: values as CommandArgs['values'] };
  } catch (err) {
    process.stderr.write(`runlane: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (!command || parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return command || parsed.values.help ? 0 : 2;
  }
  const args = { positionals: rest, values: parsed.values };
  try {
    switch (command) {
      case 'serve':
      case 'api':
      case 'worker':
        return await serveCommand(command, args);
      case 'migrate':
        return await migrateCommand();
      case 'tenant':
        return await tenantCommand(args);
      case 'account':
        return await accountCommand(args);
      case 'keys':
        return await keysCommand(args);
      case 'logs':
        return await logsCommand(args);
      case 'workspace':
        return await workspaceCommand(args);
      case 'validate':
        return await validateCommand(args);
      case 'worker-agent':
        // Loaded on demand: the worker's modules are of no use to any other command.
        return await (await import('./worker-agent')).workerAgentCommand(args);
      default:
        throw new CliError(`Unknown command: ${command}\n\n${USAGE}`, 2);
    }
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`runlane: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`runlane: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}
