import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from './runtime';
import { validateCommand } from './validate';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runlane-validate-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(positionals: string[], json = false) {
  let out = '';
  let err = '';
  const code = await validateCommand(
    { positionals, values: { json } },
    (t) => void (out += t),
    (t) => void (err += t),
  );
  return { code, out, err };
}

async function workspace(files: Record<string, string>) {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

const VALID = `actions:
  greet:
    type: script
    source: scripts/greet.sh
tasks:
  hello:
    flow:
      a: { action: greet }
      b: { type: script, script: echo b, depends_on: [a] }
`;

describe('runlane validate', () => {
  it('prints a summary and exits 0 for a valid workspace (inline actions are not counted)', async () => {
    await workspace({ '.workflows/main.yaml': VALID, 'scripts/greet.sh': 'echo hi\n' });
    expect(await run([dir])).toEqual({ code: 0, out: '✓ 1 action, 1 task\n', err: '' });
  });

  it('validates the shipped examples', async () => {
    const examples = join(import.meta.dirname, '../../examples/workspaces');
    expect((await run([join(examples, 'hello')])).out).toBe('✓ 2 actions, 1 task\n');
    expect((await run([join(examples, 'pipeline')])).out).toBe('✓ 2 actions, 1 task\n');
  });

  it('prints file:line:column: message per error and exits 1', async () => {
    await workspace({
      '.workflows/a.yaml': 'actions:\n  x:\n    type: script\n    script: echo\n    cmd: [echo]\n',
      '.workflows/b.yml': 'tasks:\n  t:\n    flow:\n      s: { action: nope }\n',
      '.workflows/ignored.txt': 'garbage: [',
    });
    const { code, out, err } = await run([dir]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err.split('\n')).toEqual([
      `${join(dir, '.workflows/a.yaml')}:5:5: "cmd" is not valid for script actions; use script or source`,
      `${join(dir, '.workflows/b.yml')}:4:20: step "s" of task "t" uses action "nope", which is not defined (actions: x)`,
      '✗ 2 errors',
      '',
    ]);
  });

  it('checks that a source file exists in the folder', async () => {
    await workspace({ '.workflows/main.yaml': VALID });
    const { code, err } = await run([dir]);
    expect(code).toBe(1);
    expect(err).toContain(':4:13: source of action "greet" "scripts/greet.sh" is not a file of the workspace');
  });

  it('reports YAML syntax errors with their position', async () => {
    await workspace({ '.workflows/main.yaml': 'tasks:\n  t: [\n' });
    const { code, err } = await run([dir]);
    expect(code).toBe(1);
    expect(err).toMatch(/main\.yaml:\d+:\d+: YAML syntax: /);
  });

  it('--json prints the verdict, errors and names', async () => {
    await workspace({ '.workflows/main.yaml': VALID, 'scripts/greet.sh': '' });
    const ok = await run([dir], true);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toEqual({ valid: true, errors: [], actions: ['greet'], tasks: ['hello'] });

    await workspace({ '.workflows/main.yaml': 'actions:\n  a:\n    type: lambda\n' });
    const bad = await run([dir], true);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toEqual({
      valid: false,
      errors: [{ file: '.workflows/main.yaml', line: 3, column: 11, message: 'unknown type "lambda" for action "a"; expected script, docker, pod, agent' }],
      actions: [],
      tasks: [],
    });
  });

  it('accepts a folder without workflow files, saying so', async () => {
    const { code, out } = await run([dir]);
    expect(code).toBe(0);
    expect(out).toBe(`✓ 0 actions, 0 tasks (no .workflows/*.yaml files in ${dir})\n`);
  });

  it('refuses a missing folder and bad usage', async () => {
    await expect(run([join(dir, 'nope')])).rejects.toThrow(/is not a directory/);
    await expect(run([])).rejects.toBeInstanceOf(CliError);
    await expect(run([dir, 'extra'])).rejects.toMatchObject({ exitCode: 2 });
  });
});
