import { LineCounter, parseDocument, type Node } from 'yaml';
import { ACTION_NAME, parseAction } from './actions-yaml';
import { parseTask, TASK_NAME, type ParsedTask } from './tasks-yaml';
import type { ActionDef, DefinitionError, TaskDef, WorkspaceDefinition } from './types';
import { YamlSource, type Loc } from './yaml-source';

export type WorkflowFile = { path: string; content: string };
export type ParseResult = { ok: true; definition: WorkspaceDefinition } | { ok: false; errors: DefinitionError[] };
export type ParseOptions = {
  /**
   * Every file path of the workspace, when the caller has them (an upload, `runlane validate`):
   * then a script's `source:` must name one of them. Without it `source` is only checked for shape.
   */
  workspacePaths?: Iterable<string>;
};

/** Workflow files are the YAML files directly inside `.workflows/`. */
const WORKFLOW_FILE = /^\.workflows\/[^/]+\.ya?ml$/;
const TOP_LEVEL_KEYS = ['actions', 'tasks'];
/** Seed 001 keys accepted so its files load, but not acted on yet. */
const IGNORED_TOP_LEVEL_KEYS = ['secrets', 'connections', 'connection_types', 'triggers', 'on_success', 'on_error', 'libraries'];

export function isWorkflowFile(path: string): boolean {
  return WORKFLOW_FILE.test(normalizePath(path));
}

/**
 * A workspace's definition from its files: the `.workflows/*.yaml|yml` among them are parsed and
 * merged, other files are ignored. Either the whole definition or every error found, each with
 * file, line and column, sorted by place.
 */
export function parseWorkspace(files: WorkflowFile[], options: ParseOptions = {}): ParseResult {
  const errors: DefinitionError[] = [];
  const workspacePaths = options.workspacePaths ? new Set([...options.workspacePaths].map(normalizePath)) : undefined;
  const workflowFiles = files
    .map((f) => ({ path: normalizePath(f.path), content: f.content }))
    .filter((f) => WORKFLOW_FILE.test(f.path))
    // Sorted, so which of two duplicates is "the second" does not depend on the caller's order.
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const actions = new Map<string, { def: ActionDef; loc: Loc }>();
  const tasks = new Map<string, { def: TaskDef; loc: Loc }>();
  const refs: { task: string; ref: ParsedTask['actionRefs'][number]; src: YamlSource }[] = [];
  // Every action name written, valid or not: a step using a refused action is not reported again.
  const declared = new Set<string>();

  for (const file of workflowFiles) {
    const lines = new LineCounter();
    const doc = parseDocument(file.content, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      // The tree of a file with syntax errors is a guess; checking it would add noise.
      for (const err of doc.errors) {
        const { line, col } = lines.linePos(err.pos[0]);
        errors.push({ file: file.path, line, column: col, message: `YAML syntax: ${err.message}` });
      }
      continue;
    }
    const src = new YamlSource(file.path, doc, lines, errors);
    if (doc.contents === null) continue;
    const top = src.entries(doc.contents as Node, 'a workflow file');
    if (!top) continue;

    for (const entry of top) {
      if (IGNORED_TOP_LEVEL_KEYS.includes(entry.key)) continue;
      if (!TOP_LEVEL_KEYS.includes(entry.key)) {
        src.error(entry.keyNode, `unknown top-level key "${entry.key}" (expected ${[...TOP_LEVEL_KEYS, ...IGNORED_TOP_LEVEL_KEYS].join(', ')})`);
        continue;
      }
      const items = entry.value === null || isEmptyScalar(entry.value) ? [] : src.entries(entry.value, `"${entry.key}"`, entry.keyNode);
      for (const item of items ?? []) {
        const loc = src.loc(item.keyNode);
        if (entry.key === 'actions') {
          if (!ACTION_NAME.test(item.key)) {
            src.error(item.keyNode, `action name "${item.key}" must start with a letter or digit and hold only letters, digits, _ . and - (up to 128)`);
            continue;
          }
          declared.add(item.key);
          const body = src.entries(item.value, `action "${item.key}"`, item.keyNode);
          const def = body && parseAction({ src, workspacePaths }, item.key, body, item.keyNode);
          if (def) claim(actions, 'action', item.key, { def, loc }, src, item.keyNode);
        } else {
          if (!TASK_NAME.test(item.key)) {
            src.error(item.keyNode, `task name "${item.key}" must start with a letter or digit and hold only letters, digits, _ . and - (up to 128)`);
            continue;
          }
          const parsed = parseTask({ src, workspacePaths }, item.key, item);
          for (const ref of parsed.actionRefs) refs.push({ task: item.key, ref, src });
          if (!parsed.task || !claim(tasks, 'task', item.key, { def: parsed.task, loc }, src, item.keyNode)) continue;
          for (const inline of parsed.inlineActions) actions.set(inline.name, { def: inline, loc });
        }
      }
    }
  }

  // Steps may use actions of any file, so references are checked once all files are read.
  for (const { task, ref, src } of refs) {
    if (declared.has(ref.action)) continue;
    const known = [...declared];
    const list = known.length === 0 ? 'no actions are defined' : `actions: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}`;
    src.error(ref.node, `step "${ref.step}" of task "${task}" uses action "${ref.action}", which is not defined (${list})`);
  }

  if (errors.length > 0) return { ok: false, errors: errors.sort(byPlace) };
  return {
    ok: true,
    definition: {
      actions: Object.fromEntries([...actions].map(([name, a]) => [name, a.def])),
      tasks: Object.fromEntries([...tasks].map(([name, t]) => [name, t.def])),
    },
  };
}

/** Workflow files among binary workspace files (an archive's), decoded and parsed with every path known. */
export function parseWorkspaceFiles(files: { path: string; content: Uint8Array }[]): ParseResult {
  const decoder = new TextDecoder();
  const workflowFiles = files.filter((f) => isWorkflowFile(f.path)).map((f) => ({ path: f.path, content: decoder.decode(f.content) }));
  return parseWorkspace(workflowFiles, { workspacePaths: files.map((f) => f.path) });
}

/** Records a name, or reports it as a duplicate naming where it was first defined. */
function claim<T>(seen: Map<string, { def: T; loc: Loc }>, kind: string, name: string, value: { def: T; loc: Loc }, src: YamlSource, at: Node): boolean {
  const first = seen.get(name);
  if (first) {
    src.error(at, `${kind} "${name}" is defined twice: here and at ${first.loc.file}:${first.loc.line}:${first.loc.column}`);
    return false;
  }
  seen.set(name, value);
  return true;
}

function isEmptyScalar(node: Node): boolean {
  return 'value' in node && node.value === null;
}

function normalizePath(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}

function byPlace(a: DefinitionError, b: DefinitionError): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column;
}
