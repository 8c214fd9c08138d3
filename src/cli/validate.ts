import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isWorkflowFile, parseWorkspace } from '../modules/workflows/definition/workflow-yaml';
import { listWorkspaceFiles } from '../modules/workflows/definition/workspace-archive';
import type { CommandArgs } from './index';
import { CliError } from './runtime';

const USAGE = 'Usage: runlane validate <workspace-dir> [--json]';

type Write = (text: string) => void;

/**
 * `runlane validate`: checks a workspace folder's `.workflows/*.yaml|yml` offline, with the same
 * parser the server uses at upload, so an invalid file is caught before it is uploaded. Needs no
 * server, database or configuration.
 */
export async function validateCommand(
  args: CommandArgs,
  out: Write = (t) => void process.stdout.write(t),
  err: Write = (t) => void process.stderr.write(t),
): Promise<number> {
  const [dir, extra] = args.positionals;
  if (!dir || extra !== undefined) throw new CliError(USAGE, 2);
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new CliError(`${dir} is not a directory`);

  const listed = await listWorkspaceFiles(dir);
  const workflowFiles = listed.filter((f) => isWorkflowFile(f.path));
  const files = await Promise.all(workflowFiles.map(async (f) => ({ path: f.path, content: await readFile(f.absolutePath, 'utf8') })));
  const result = parseWorkspace(files, { workspacePaths: listed.map((f) => f.path) });

  if (args.values.json) {
    const definition = result.ok ? result.definition : { actions: {}, tasks: {} };
    const report = {
      valid: result.ok,
      errors: result.ok ? [] : result.errors,
      // Inline actions are an internal detail of their steps.
      actions: Object.keys(definition.actions).filter((name) => !name.startsWith('_inline:')),
      tasks: Object.keys(definition.tasks),
    };
    out(`${JSON.stringify(report, null, 2)}\n`);
    return result.ok ? 0 : 1;
  }
  if (!result.ok) {
    for (const e of result.errors) err(`${join(dir, e.file)}:${e.line}:${e.column}: ${e.message}\n`);
    err(`✗ ${result.errors.length} ${result.errors.length === 1 ? 'error' : 'errors'}\n`);
    return 1;
  }
  const actions = Object.keys(result.definition.actions).filter((name) => !name.startsWith('_inline:')).length;
  const tasks = Object.keys(result.definition.tasks).length;
  const note = files.length === 0 ? ` (no .workflows/*.yaml files in ${dir})` : '';
  out(`✓ ${actions} ${actions === 1 ? 'action' : 'actions'}, ${tasks} ${tasks === 1 ? 'task' : 'tasks'}${note}\n`);
  return 0;
}
