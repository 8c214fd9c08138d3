import { isScalar, isSeq, type Node } from 'yaml';
import { parseInputFields } from './input-schema';
import { checkTemplate, TemplateError } from './templates';
import type { ActionDef, ActionType, Runner } from './types';
import { kindOf, type Entry, type YamlSource } from './yaml-source';

export const ACTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const BLUEPRINT = /^[a-z][a-z0-9_-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TYPES: ActionType[] = ['script', 'docker', 'pod', 'agent'];
const RUNNERS: Runner[] = ['local', 'docker', 'pod'];
const LANGUAGES = ['shell', 'python', 'javascript', 'js', 'typescript', 'ts', 'go'];

/** The keys each action type takes; a key valid for another type gets a pointed message. */
const KEYS_BY_TYPE: Record<ActionType, string[]> = {
  script: ['runner', 'script', 'source', 'language', 'interpreter', 'dependencies', 'env', 'workdir', 'manifest', 'tags'],
  docker: ['image', 'cmd', 'entrypoint', 'command', 'env', 'workdir', 'tags'],
  pod: ['image', 'cmd', 'entrypoint', 'command', 'env', 'workdir', 'manifest', 'tags'],
  agent: ['blueprint', 'prompt'],
};
/** Keys every action takes; `name` is a display label. */
const COMMON_KEYS = ['type', 'name', 'description', 'input', 'output'];
/** What a step may say to define its action inline (its own `input`, `name`, `description` are the step's). */
export const INLINE_ACTION_KEYS = ['type', 'output', ...new Set(Object.values(KEYS_BY_TYPE).flat())];
const ALL_KEYS = new Set([...COMMON_KEYS, ...INLINE_ACTION_KEYS]);

const WRONG_TYPE_HINTS: Record<string, string> = {
  'script:cmd': '"cmd" is not valid for script actions; use script or source',
  'script:image': '"image" is not valid for script actions; use type: docker to run an image',
  'script:entrypoint': '"entrypoint" is not valid for script actions; use type: docker to run an image',
  'script:command': '"command" is not valid for script actions; use type: docker to run an image',
  'agent:tags': '"tags" is not valid for agent actions: they run on the built-in agent pool, not on workers',
};

export type ActionContext = {
  src: YamlSource;
  /** Every path in the workspace, when known: then a script's `source` must be one of them. */
  workspacePaths?: ReadonlySet<string>;
};

/**
 * One action, from its own entry under `actions:` or from a step's inline keys. `at` is where to
 * report what is missing (the action's or the step's name).
 */
export function parseAction(ctx: ActionContext, name: string, entries: Entry[], at: Node, inline = false): ActionDef | undefined {
  const { src } = ctx;
  const label = inline ? `the inline action of step "${name.split(':').at(-1)}"` : `action "${name}"`;
  const byKey = new Map(entries.map((e) => [e.key, e]));
  let ok = true;
  const fail = (node: Node, message: string) => {
    src.error(node, message);
    ok = false;
  };

  const typeEntry = byKey.get('type');
  if (!typeEntry) {
    fail(at, `${label} needs a type (${TYPES.join(', ')})`);
    return undefined;
  }
  const typeText = src.string(typeEntry, `the type of ${label}`);
  if (typeText === undefined) return undefined;
  if (!TYPES.includes(typeText as ActionType)) {
    const hint = typeText === 'task' || typeText === 'approval' ? ` ("${typeText}" actions are not supported yet)` : '';
    fail(src.valueAt(typeEntry), `unknown type "${typeText}" for ${label}; expected ${TYPES.join(', ')}${hint}`);
    return undefined;
  }
  const type = typeText as ActionType;

  for (const e of entries) {
    if (COMMON_KEYS.includes(e.key) || KEYS_BY_TYPE[type].includes(e.key)) continue;
    if (ALL_KEYS.has(e.key)) fail(e.keyNode, WRONG_TYPE_HINTS[`${type}:${e.key}`] ?? `"${e.key}" is not valid for ${type} actions`);
    else fail(e.keyNode, `unknown key "${e.key}" in ${label}`);
  }

  const action: ActionDef = { name, type, env: {}, tags: [], input: {} };
  const text = (key: string): string | undefined => {
    const e = byKey.get(key);
    if (!e || !KEYS_BY_TYPE[type].concat(COMMON_KEYS).includes(key)) return undefined;
    const value = src.string(e, `"${key}" of ${label}`);
    if (value === undefined) ok = false;
    return value;
  };
  const template = (key: string, value: string | undefined) => {
    if (value !== undefined && !checkTemplateSyntax(src, value, src.valueAt(byKey.get(key)!), `"${key}" of ${label}`)) ok = false;
  };

  // `name` is a display label; kept as the description when there is none.
  const displayName = text('name');
  const description = text('description') ?? displayName;
  if (description !== undefined) action.description = description;

  if (type === 'script') {
    const runner = text('runner');
    if (runner !== undefined && !RUNNERS.includes(runner as Runner)) fail(src.valueAt(byKey.get('runner')!), `runner of ${label} must be local, docker or pod, not "${runner}"`);
    action.runner = (runner as Runner | undefined) ?? 'local';
    const script = text('script');
    const source = text('source');
    if (script !== undefined && source !== undefined) fail(byKey.get('source')!.keyNode, `${label} has both "script" and "source"; keep one`);
    else if (script === undefined && source === undefined && !byKey.has('script') && !byKey.has('source')) fail(at, `${label} needs "script" (inline) or "source" (a file in the workspace)`);
    if (script !== undefined) {
      template('script', script);
      action.script = script;
    }
    if (source !== undefined) {
      const problem = sourceProblem(source, ctx.workspacePaths);
      if (problem) fail(src.valueAt(byKey.get('source')!), `source of ${label} ${problem}`);
      action.source = source.replace(/^(\.\/)+/, '');
    }
    const language = text('language');
    if (language !== undefined && !LANGUAGES.includes(language)) fail(src.valueAt(byKey.get('language')!), `language of ${label} must be one of ${LANGUAGES.join(', ')}`);
    if (language !== undefined) action.language = language;
    const interpreter = text('interpreter');
    if (interpreter !== undefined) action.interpreter = interpreter;
    const dependencies = list('dependencies');
    if (dependencies) action.dependencies = dependencies;
    if (byKey.has('manifest') && action.runner !== 'pod') fail(byKey.get('manifest')!.keyNode, `"manifest" of ${label} needs runner: pod`);
  }

  if (type === 'docker' || type === 'pod') {
    const image = text('image');
    if (image === undefined && !byKey.has('image')) fail(at, `${label} needs an "image"`);
    else if (image !== undefined && !image.trim()) fail(src.valueAt(byKey.get('image')!), `image of ${label} must not be empty`);
    template('image', image);
    if (image !== undefined) action.image = image;
    const cmd = byKey.get('cmd');
    if (cmd) {
      const node = src.resolve(cmd.value);
      const value = isScalar(node) && typeof node.value === 'string' ? node.value : isSeq(node) ? list('cmd') : undefined;
      if (value === undefined && !isSeq(node)) fail(src.valueAt(cmd), `cmd of ${label} must be a string or a list of strings, not ${kindOf(node)}`);
      if (typeof value === 'string') template('cmd', value);
      if (value !== undefined) action.cmd = value;
    }
    const entrypoint = list('entrypoint');
    if (entrypoint) action.entrypoint = entrypoint;
    const command = list('command');
    if (command) action.command = command;
  }

  if (type !== 'agent') {
    const workdir = text('workdir');
    if (workdir !== undefined) action.workdir = workdir;
    const env = byKey.get('env');
    const parsedEnv = env && parseEnv(ctx, env, label);
    if (parsedEnv) action.env = parsedEnv;
    else if (env) ok = false;
    const tags = list('tags');
    for (const tag of tags ?? []) {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/.test(tag)) fail(src.valueAt(byKey.get('tags')!), `tag "${tag}" of ${label} must be letters, digits and _ . : / - (up to 64)`);
    }
    if (tags) action.tags = [...new Set(tags)];
  }

  const manifest = byKey.get('manifest');
  if (manifest && KEYS_BY_TYPE[type].includes('manifest')) {
    const value = src.json(manifest.value, `manifest of ${label}`);
    if (value === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) {
      if (value !== undefined) fail(src.valueAt(manifest), `manifest of ${label} must be a mapping`);
      ok = false;
    } else action.manifest = value as Record<string, unknown>;
  }

  if (type === 'agent') {
    const blueprint = text('blueprint');
    if (blueprint === undefined && !byKey.has('blueprint')) fail(at, `${label} needs a "blueprint" (the agent config its runs use)`);
    else if (blueprint !== undefined && !BLUEPRINT.test(blueprint)) {
      fail(src.valueAt(byKey.get('blueprint')!), `blueprint "${blueprint}" of ${label} must be a lowercase slug (a-z, 0-9, _ and -, starting with a letter)`);
    } else if (blueprint !== undefined) action.blueprint = blueprint;
    const prompt = text('prompt');
    template('prompt', prompt);
    if (prompt !== undefined) action.prompt = prompt;
  }

  const input = byKey.get('input');
  const fields = input && !inline ? parseInputFields(src, input, label) : undefined;
  if (fields) action.input = fields;
  else if (input && !inline) ok = false;
  const output = byKey.get('output');
  if (output) {
    const value = src.json(output.value, `output of ${label}`);
    if (value === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) {
      if (value !== undefined) fail(src.valueAt(output), `output of ${label} must be a mapping (a schema of the step's output)`);
      ok = false;
    } else action.output = value as Record<string, unknown>;
  }
  return ok ? action : undefined;

  function list(key: string): string[] | undefined {
    const e = byKey.get(key);
    if (!e || !KEYS_BY_TYPE[type].includes(key)) return undefined;
    const items = src.stringList(e, `"${key}" of ${label}`);
    if (!items) ok = false;
    return items?.map((i) => i.value);
  }
}

function parseEnv(ctx: ActionContext, entry: Entry, label: string): Record<string, string> | undefined {
  const { src } = ctx;
  const vars = src.entries(entry.value, `env of ${label}`, entry.keyNode);
  if (!vars) return undefined;
  const env: Record<string, string> = {};
  let ok = true;
  for (const v of vars) {
    if (!ENV_NAME.test(v.key)) {
      src.error(v.keyNode, `env name "${v.key}" of ${label} must be letters, digits and _, not starting with a digit`);
      ok = false;
    }
    const node = src.resolve(v.value);
    // Numbers and booleans are stringified, as a shell would see them anyway.
    if (isScalar(node) && ['string', 'number', 'boolean'].includes(typeof node.value)) {
      const value = String(node.value);
      if (!checkTemplateSyntax(src, value, node, `env ${v.key} of ${label}`)) ok = false;
      env[v.key] = value;
    } else {
      src.error(src.valueAt(v), `env ${v.key} of ${label} must be a string, number or boolean, not ${kindOf(node)}`);
      ok = false;
    }
  }
  return ok ? env : undefined;
}

/** Why a `source:` path cannot be used, or null. */
function sourceProblem(source: string, workspacePaths?: ReadonlySet<string>): string | null {
  const path = source.replace(/^(\.\/)+/, '');
  if (!path || path.startsWith('/') || path.includes('\0') || path.includes('\\') || path.split('/').includes('..')) {
    return `must be a relative path inside the workspace, not "${source}"`;
  }
  if (workspacePaths && !workspacePaths.has(path)) return `"${source}" is not a file of the workspace`;
  return null;
}

/**
 * Checks a template's syntax where it is written; returns its variable references, or undefined
 * after reporting the error.
 */
export function checkTemplateSyntax(src: YamlSource, text: string, node: Node, what: string): { references: string[]; expressions: number } | undefined {
  try {
    return checkTemplate(text);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    src.error(node, `invalid template in ${what}: ${err.message}`);
    return undefined;
  }
}
