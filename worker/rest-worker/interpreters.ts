import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** The full path of `name` on `pathEnv` (or `name` itself when it is a path), or null. */
export function findExecutable(name: string, pathEnv: string | undefined): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export type Interpreter = { command: string; args: string[]; extension: string };

/** `language` as written in an action, reduced to its family. */
export function languageOf(language: string | null | undefined): string {
  const lang = (language ?? 'shell').trim().toLowerCase() || 'shell';
  switch (lang) {
    case 'shell':
    case 'sh':
    case 'bash':
      return 'shell';
    case 'python':
    case 'py':
      return 'python';
    case 'javascript':
    case 'js':
    case 'node':
      return 'javascript';
    case 'typescript':
    case 'ts':
      return 'typescript';
    default:
      return lang;
  }
}

const EXTENSIONS: Record<string, string> = { shell: '.sh', python: '.py', javascript: '.mjs', typescript: '.ts', go: '.go' };

/**
 * How this machine runs a script in `language` (seed-systems §2.4, without the package managers):
 * shell → bash > sh, python → python3 > python, javascript → this very Node, typescript → bun > deno,
 * go → go run. An `interpreter` ("python3.11", "bash -eu") overrides the choice. Throws with a clear
 * message when nothing fits.
 */
export function resolveInterpreter(language: string | null | undefined, interpreter: string | null | undefined, pathEnv: string | undefined): Interpreter {
  const family = languageOf(language);
  const extension = EXTENSIONS[family] ?? '';
  if (interpreter && interpreter.trim()) {
    const [program, ...args] = interpreter.trim().split(/\s+/);
    const command = findExecutable(program!, pathEnv);
    if (!command) throw new Error(`interpreter not found: ${program}`);
    return { command, args, extension };
  }
  const first = (names: string[]) => {
    for (const name of names) {
      const found = findExecutable(name, pathEnv);
      if (found) return found;
    }
    return null;
  };
  switch (family) {
    case 'shell': {
      const command = first(['bash', 'sh']);
      if (!command) throw new Error('no interpreter for shell (neither bash nor sh is on PATH)');
      return { command, args: [], extension };
    }
    case 'python': {
      const command = first(['python3', 'python']);
      if (!command) throw new Error('no interpreter for python (neither python3 nor python is on PATH)');
      return { command, args: [], extension };
    }
    case 'javascript':
      return { command: process.execPath, args: [], extension };
    case 'typescript': {
      const bun = findExecutable('bun', pathEnv);
      if (bun) return { command: bun, args: ['run'], extension };
      const deno = findExecutable('deno', pathEnv);
      if (deno) return { command: deno, args: ['run', '--allow-all'], extension };
      throw new Error('no interpreter for typescript (install bun or deno, or set interpreter)');
    }
    case 'go': {
      const go = findExecutable('go', pathEnv);
      if (!go) throw new Error('no interpreter for go (go is not on PATH)');
      return { command: go, args: ['run'], extension };
    }
    default:
      throw new Error(`unsupported language: ${language}`);
  }
}

/** The interpreter inside a container image, where nothing can be probed: the usual names. */
export function containerInterpreter(language: string | null | undefined, interpreter: string | null | undefined): Interpreter {
  const family = languageOf(language);
  const extension = EXTENSIONS[family] ?? '';
  if (interpreter && interpreter.trim()) {
    const [command, ...args] = interpreter.trim().split(/\s+/);
    return { command: command!, args, extension };
  }
  switch (family) {
    case 'shell':
      return { command: 'sh', args: [], extension };
    case 'python':
      return { command: 'python3', args: [], extension };
    case 'javascript':
      return { command: 'node', args: [], extension };
    case 'typescript':
      return { command: 'deno', args: ['run', '--allow-all'], extension };
    case 'go':
      return { command: 'go', args: ['run'], extension };
    default:
      throw new Error(`unsupported language: ${language}`);
  }
}
