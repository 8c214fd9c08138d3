import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DefinitionError, WorkspaceDefinition } from './types';
import { parseWorkspace, parseWorkspaceFiles, type ParseOptions } from './workflow-yaml';

const FILE = '.workflows/main.yaml';

function parse(content: string, options?: ParseOptions) {
  return parseWorkspace([{ path: FILE, content }], options);
}

function definitionOf(content: string, options?: ParseOptions): WorkspaceDefinition {
  const result = parse(content, options);
  if (!result.ok) throw new Error(`expected a valid file, got:\n${result.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n')}`);
  return result.definition;
}

function errorsOf(content: string, options?: ParseOptions): DefinitionError[] {
  const result = parse(content, options);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

/** The one error of `content`, checked to be at `line`:`column` with a message matching `message`. */
function expectError(content: string, line: number, column: number, message: RegExp | string) {
  const errors = errorsOf(content);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ file: FILE, line, column });
  expect(errors[0]!.message).toMatch(message);
}

const GREET = `actions:
  greet:
    type: script
    script: echo hi
`;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function loadExample(name: string) {
  const root = join(import.meta.dirname, '../../../../examples/workspaces', name);
  return walk(root).map((path) => ({ path: relative(root, path), content: readFileSync(path) }));
}

describe('the examples', () => {
  it('hello parses into two actions and a two-step task', () => {
    const result = parseWorkspaceFiles(loadExample('hello'));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { actions, tasks } = result.definition;
    expect(Object.keys(actions)).toEqual(['greet', 'shout']);
    expect(actions.greet).toMatchObject({ type: 'script', runner: 'local', input: { name: { type: 'string', required: true } } });
    expect(actions.shout!.env).toEqual({ MESSAGE: '{{ input.message }}' });
    const task = tasks['hello-world']!;
    expect(task).toMatchObject({ mode: 'distributed', input: { name: { type: 'string', required: false, default: 'World' } } });
    expect(task.flow).toEqual([
      { name: 'say-hello', action: 'greet', input: { name: '{{ input.name }}' }, dependsOn: [], continueOnFailure: false },
      { name: 'shout-it', action: 'shout', input: { message: '{{ say_hello.output.greeting }}' }, dependsOn: ['say-hello'], continueOnFailure: false },
    ]);
  });

  it('pipeline parses with its inline actions, failure handling, when and source file', () => {
    const result = parseWorkspaceFiles(loadExample('pipeline'));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { actions, tasks } = result.definition;
    expect(actions['count-rows']).toMatchObject({ type: 'script', source: 'scripts/count.sh', env: { ROWS: '{{ input.rows }}' } });
    expect(actions['_inline:pipeline:transform']).toMatchObject({ type: 'script', runner: 'local' });
    expect(actions['_inline:pipeline:transform']!.script).toContain('exit 3');
    const task = tasks.pipeline!;
    expect(task.timeoutSeconds).toBe(1800);
    expect(task.flow.map((s) => s.name)).toEqual(['extract', 'count', 'transform', 'report', 'publish']);
    const step = (name: string) => task.flow.find((s) => s.name === name)!;
    expect(step('transform')).toMatchObject({ action: '_inline:pipeline:transform', timeoutSeconds: 300 });
    expect(step('report')).toMatchObject({ dependsOn: ['transform'], continueOnFailure: true });
    expect(step('publish')).toMatchObject({ dependsOn: ['report'], when: '{{ input.publish }}' });
  });
});

describe('files', () => {
  it('without workflow files is an empty, valid definition', () => {
    expect(parseWorkspace([])).toEqual({ ok: true, definition: { actions: {}, tasks: {} } });
    expect(parseWorkspace([{ path: 'README.md', content: 'garbage: [' }])).toEqual({ ok: true, definition: { actions: {}, tasks: {} } });
  });

  it('reads only .yaml/.yml files directly inside .workflows/', () => {
    const broken = 'actions: [';
    const result = parseWorkspace([
      { path: '.workflows/nested/x.yaml', content: broken },
      { path: '.workflows/x.json', content: broken },
      { path: 'other/.workflows/x.yaml', content: broken },
      { path: './.workflows/a.yml', content: GREET },
      { path: '.workflows/empty.yaml', content: '' },
      { path: '.workflows/comment.yaml', content: '# nothing yet\n' },
    ]);
    expect(result.ok && Object.keys(result.definition.actions)).toEqual(['greet']);
  });

  it('merges several files; a step may use an action of another file', () => {
    const result = parseWorkspace([
      { path: '.workflows/tasks.yaml', content: 'tasks:\n  t:\n    flow:\n      s:\n        action: greet\n' },
      { path: '.workflows/actions.yml', content: GREET },
    ]);
    expect(result.ok && result.definition.tasks.t!.flow[0]!.action).toBe('greet');
  });

  it('refuses an action or task defined in two files, naming both places', () => {
    const result = parseWorkspace([
      { path: '.workflows/b.yaml', content: `\n${GREET}tasks:\n  t:\n    flow:\n      s: { action: greet }\n` },
      { path: '.workflows/a.yaml', content: `${GREET}tasks:\n  t:\n    flow:\n      s: { action: greet }\n` },
    ]);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([
      { file: '.workflows/b.yaml', line: 3, column: 3, message: 'action "greet" is defined twice: here and at .workflows/a.yaml:2:3' },
      { file: '.workflows/b.yaml', line: 7, column: 3, message: 'task "t" is defined twice: here and at .workflows/a.yaml:6:3' },
    ]);
  });
});

describe('YAML syntax', () => {
  it('reports syntax errors with file, line and column, in every file', () => {
    const result = parseWorkspace([
      { path: '.workflows/a.yaml', content: 'actions:\n  greet:\n    type: script\n    script: "unterminated\n' },
      { path: '.workflows/b.yaml', content: 'tasks:\n\t- x\n' },
      { path: '.workflows/c.yaml', content: 'bogus: 1\n' },
    ]);
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.find((e) => e.file === '.workflows/a.yaml')).toMatchObject({ line: 5, message: expect.stringMatching(/^YAML syntax: .*quote/) });
    expect(errors.find((e) => e.file === '.workflows/b.yaml')).toMatchObject({ line: 2, column: 1, message: expect.stringMatching(/Tabs/) });
    expect(errors.find((e) => e.file === '.workflows/c.yaml')).toMatchObject({ line: 1, column: 1, message: expect.stringMatching(/unknown top-level key "bogus"/) });
  });

  it('reports a duplicate key where it is repeated', () => {
    expect(errorsOf(`${GREET}  greet:\n    type: script\n    script: echo again\n`)[0]).toMatchObject({ line: 5, column: 3, message: expect.stringMatching(/unique/) });
  });

  it('refuses binary garbage and several documents in one file', () => {
    expect(parse('\u0000\u0001\u0002: [}').ok).toBe(false);
    expect(errorsOf('actions: {}\n---\ntasks: {}\n')[0]!.message).toMatch(/multiple documents/);
  });

  it('refuses a file that is not a mapping', () => {
    expectError('- actions\n- tasks\n', 1, 1, 'a workflow file must be a mapping, not a list');
  });

  it('accepts seed keys it does not act on yet', () => {
    const content = `${GREET}secrets: { A: b }\nconnections: {}\nconnection_types: {}\ntriggers:\n  nightly: { type: scheduler, cron: "0 0 2 * * *", task: x }\non_success: []\non_error: []\nlibraries: {}\n`;
    expect(Object.keys(definitionOf(content).actions)).toEqual(['greet']);
  });

  it('follows aliases and merge keys', () => {
    const content = `actions:
  base: &base
    type: script
    runner: local
    script: echo base
  other:
    <<: *base
    script: echo other
tasks:
  t:
    input:
      n: { type: integer, default: 3 }
    flow:
      a: { action: base, input: &shared { x: 1, y: [1, 2] } }
      b: { action: other, depends_on: [a], input: *shared }
`;
    const definition = definitionOf(content);
    expect(definition.actions.other).toMatchObject({ type: 'script', runner: 'local', script: 'echo other' });
    expect(definition.tasks.t!.flow[1]!.input).toEqual({ x: 1, y: [1, 2] });
  });

  it('refuses an unknown alias where it is used', () => {
    expectError(`${GREET}tasks:\n  t:\n    flow:\n      s: { action: greet, input: { x: *nowhere } }\n`, 8, 39, 'unknown alias *nowhere');
  });

  it('does not expand a "billion laughs" of nested aliases', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]`);
    const content = `${GREET}tasks:\n  t:\n    flow:\n      s:\n        action: greet\n        input:\n${levels.map((l) => `          ${l}`).join('\n')}\n`;
    const started = Date.now();
    const errors = errorsOf(content);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(errors.some((e) => /expands to more than/.test(e.message))).toBe(true);
  });
});

describe('actions', () => {
  it('keeps what each type takes, with defaults', () => {
    const { actions } = definitionOf(`actions:
  s:
    type: script
    name: Display name
    script: echo {{ input.x }}
    language: python
    interpreter: python3.12
    dependencies: [requests]
    env: { A: "{{ input.a }}", PORT: 8080, DEBUG: true }
    tags: [gpu, gpu]
    workdir: sub
    input:
      x: { type: integer, required: true, description: the x }
    output: { properties: { y: { type: string } } }
  d:
    type: docker
    image: alpine:3
    cmd: echo hi
    entrypoint: [/bin/sh, -c]
  p:
    type: pod
    image: alpine:3
    command: [sh, -c, "echo {{ input.x }}"]
    manifest: { spec: { serviceAccountName: runner } }
  k:
    type: script
    runner: pod
    source: ./run.sh
    manifest: { metadata: { labels: { a: b } } }
  ai:
    type: agent
    description: Summarise
    blueprint: summariser
    prompt: "Summarise {{ input.text }}"
`);
    expect(actions.s).toEqual({
      name: 's',
      type: 'script',
      description: 'Display name',
      runner: 'local',
      script: 'echo {{ input.x }}',
      language: 'python',
      interpreter: 'python3.12',
      dependencies: ['requests'],
      env: { A: '{{ input.a }}', PORT: '8080', DEBUG: 'true' },
      tags: ['gpu'],
      workdir: 'sub',
      input: { x: { type: 'integer', required: true, description: 'the x' } },
      output: { properties: { y: { type: 'string' } } },
    });
    expect(actions.d).toEqual({ name: 'd', type: 'docker', image: 'alpine:3', cmd: 'echo hi', entrypoint: ['/bin/sh', '-c'], env: {}, tags: [], input: {} });
    expect(actions.p).toMatchObject({ type: 'pod', command: ['sh', '-c', 'echo {{ input.x }}'], manifest: { spec: { serviceAccountName: 'runner' } } });
    expect(actions.k).toMatchObject({ runner: 'pod', source: 'run.sh' });
    expect(actions.ai).toEqual({ name: 'ai', type: 'agent', description: 'Summarise', blueprint: 'summariser', prompt: 'Summarise {{ input.text }}', env: {}, tags: [], input: {} });
  });

  it.each([
    ['a missing type', 'actions:\n  a:\n    script: echo\n', 2, 3, 'action "a" needs a type (script, docker, pod, agent)'],
    ['an unknown type', 'actions:\n  a:\n    type: lambda\n', 3, 11, 'unknown type "lambda" for action "a"; expected script, docker, pod, agent'],
    ['type task', 'actions:\n  a:\n    type: task\n', 3, 11, /"task" actions are not supported yet/],
    ['a script with neither script nor source', 'actions:\n  a:\n    type: script\n', 2, 3, 'action "a" needs "script" (inline) or "source" (a file in the workspace)'],
    ['a script with both script and source', 'actions:\n  a:\n    type: script\n    script: echo\n    source: a.sh\n', 5, 5, /both "script" and "source"/],
    ['cmd on a script', 'actions:\n  a:\n    type: script\n    script: echo\n    cmd: [echo]\n', 5, 5, '"cmd" is not valid for script actions; use script or source'],
    ['image on a script', 'actions:\n  a:\n    type: script\n    script: echo\n    image: alpine\n', 5, 5, /"image" is not valid for script actions/],
    ['an unknown runner', 'actions:\n  a:\n    type: script\n    runner: lambda\n    script: echo\n', 4, 13, 'runner of action "a" must be local, docker or pod, not "lambda"'],
    ['runner on docker', 'actions:\n  a:\n    type: docker\n    image: x\n    runner: local\n', 5, 5, '"runner" is not valid for docker actions'],
    ['docker without image', 'actions:\n  a:\n    type: docker\n    cmd: [x]\n', 2, 3, 'action "a" needs an "image"'],
    ['pod without image', 'actions:\n  a:\n    type: pod\n', 2, 3, 'action "a" needs an "image"'],
    ['agent without blueprint', 'actions:\n  a:\n    type: agent\n    prompt: hi\n', 2, 3, /needs a "blueprint"/],
    ['a blueprint that is not a slug', 'actions:\n  a:\n    type: agent\n    blueprint: My Agent\n', 4, 16, /must be a lowercase slug/],
    ['tags on an agent', 'actions:\n  a:\n    type: agent\n    blueprint: x\n    tags: [gpu]\n', 5, 5, /built-in agent pool/],
    ['script on an agent', 'actions:\n  a:\n    type: agent\n    blueprint: x\n    script: echo\n', 5, 5, '"script" is not valid for agent actions'],
    ['an unknown key', 'actions:\n  a:\n    type: script\n    script: echo\n    retries: 3\n', 5, 5, 'unknown key "retries" in action "a"'],
    ['a manifest without runner pod', 'actions:\n  a:\n    type: script\n    script: echo\n    manifest: {}\n', 5, 5, /needs runner: pod/],
    ['an env value that is a mapping', 'actions:\n  a:\n    type: script\n    script: echo\n    env:\n      A: { b: 1 }\n', 6, 10, 'env A of action "a" must be a string, number or boolean, not a mapping'],
    ['a bad env name', 'actions:\n  a:\n    type: script\n    script: echo\n    env:\n      1A: x\n', 6, 7, /env name "1A"/],
    ['tags that are not a list', 'actions:\n  a:\n    type: script\n    script: echo\n    tags: gpu\n', 5, 11, /must be a list of strings, not the string "gpu"/],
    ['an unknown language', 'actions:\n  a:\n    type: script\n    script: echo\n    language: cobol\n', 5, 15, /language of action "a" must be one of/],
    ['a source outside the workspace', 'actions:\n  a:\n    type: script\n    source: ../secret.sh\n', 4, 13, /must be a relative path inside the workspace/],
    ['an absolute source', 'actions:\n  a:\n    type: script\n    source: /etc/passwd\n', 4, 13, /must be a relative path inside the workspace/],
    ['a bad action name', 'actions:\n  "-a":\n    type: script\n    script: echo\n', 2, 3, /action name "-a" must start with a letter or digit/],
    ['an action that is not a mapping', 'actions:\n  a: echo hi\n', 2, 6, 'action "a" must be a mapping, not the string "echo hi"'],
    ['a bad template in a script', 'actions:\n  a:\n    type: script\n    script: echo {{ input.x | shout }}\n', 4, 13, /invalid template in "script" of action "a": unknown filter "shout"/],
    ['an unclosed template in env', 'actions:\n  a:\n    type: script\n    script: echo\n    env:\n      A: "{{ input.x"\n', 6, 10, /invalid template in env A of action "a": unclosed \{\{/],
  ])('refuses %s', (_what, content, line, column, message) => {
    expectError(content as string, line as number, column as number, message as string | RegExp);
  });

  it('checks that a source file exists when the workspace files are known', () => {
    const content = 'actions:\n  a:\n    type: script\n    source: scripts/run.sh\n';
    expect(parse(content).ok).toBe(true);
    expect(parse(content, { workspacePaths: ['scripts/run.sh', FILE] }).ok).toBe(true);
    expect(errorsOf(content, { workspacePaths: [FILE] })[0]).toMatchObject({ line: 4, column: 13, message: expect.stringMatching(/"scripts\/run.sh" is not a file of the workspace/) });
  });
});

describe('input schemas', () => {
  it('defaults the type to string and keeps options, secret, allow_custom', () => {
    const { tasks } = definitionOf(`${GREET}tasks:
  t:
    input:
      who: {}
      env: { options: [dev, prod], default: dev, allow_custom: true, secret: false, name: Environment, order: 2 }
      when: { type: date, default: 2024-02-29 }
      n: { type: number, default: 1.5 }
    flow:
      s: { action: greet }
`);
    expect(tasks.t!.input).toEqual({
      who: { type: 'string', required: false },
      env: { type: 'string', required: false, options: ['dev', 'prod'], default: 'dev', allowCustom: true, secret: false },
      when: { type: 'date', required: false, default: '2024-02-29' },
      n: { type: 'number', required: false, default: 1.5 },
    });
  });

  it.each([
    ['an unknown type', 'x: { type: email }', 4, 18, /unknown type "email" for input "x" of task "t"/],
    ['a default of the wrong type', 'x: { type: integer, default: "3" }', 4, 36, 'the default of input "x" of task "t" must be an integer, not "3"'],
    ['a default outside the options', 'x: { options: [a, b], default: c }', 4, 38, /must be one of "a", "b", not "c"/],
    ['an option of the wrong type', 'x: { type: integer, options: [1, two] }', 4, 40, /option "two" of input "x" of task "t" must be an integer/],
    ['an unknown key', 'x: { type: string, min: 3 }', 4, 26, /unknown key "min" in input "x"/],
    ['required that is not a boolean', 'x: { required: "yes" }', 4, 22, /"required" of input "x" of task "t" must be true or false/],
    ['a bad date default', 'x: { type: date, default: "2023-02-30" }', 4, 33, /must be a date/],
  ])('refuses %s', (_what, field, line, column, message) => {
    const content = `${GREET}tasks:\n  t:\n    input:\n      ${field}\n    flow:\n      s: { action: greet }\n`;
    const errors = errorsOf(content);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: (line as number) + 4, column });
    expect(errors[0]!.message).toMatch(message as string | RegExp);
  });
});

describe('tasks and flows', () => {
  const task = (flow: string, extra = '') => `${GREET}tasks:\n  t:\n${extra}    flow:\n${flow}`;

  it('keeps steps in file order with their settings', () => {
    const { tasks } = definitionOf(
      task(
        `      z-last:
        action: greet
        description: first in the file
        timeout: 90
      a:
        action: greet
        depends_on: [z-last, z-last]
        continue_on_failure: true
        when: "{{ z_last.output.go }}"
        timeout: 1h30m
        input: { n: 1, list: ["{{ input.x }}"], nested: { v: null } }
`,
        '    mode: local\n    timeout: 2d\n    folder: /demo/hello/\n    name: Hello\n    on_success: [{ action: greet }]\n',
      ),
    );
    expect(tasks.t).toEqual({
      name: 't',
      description: 'Hello',
      mode: 'local',
      folder: 'demo/hello',
      timeoutSeconds: 172_800,
      input: {},
      flow: [
        { name: 'z-last', action: 'greet', description: 'first in the file', input: {}, dependsOn: [], continueOnFailure: false, timeoutSeconds: 90 },
        {
          name: 'a',
          action: 'greet',
          input: { n: 1, list: ['{{ input.x }}'], nested: { v: null } },
          dependsOn: ['z-last'],
          continueOnFailure: true,
          when: '{{ z_last.output.go }}',
          timeoutSeconds: 5400,
        },
      ],
    });
  });

  it('hoists inline actions as _inline:{task}:{step}', () => {
    const { actions, tasks } = definitionOf('tasks:\n  build:\n    flow:\n      compile:\n        type: docker\n        image: gcc\n        cmd: [make]\n        input: { target: all }\n');
    expect(actions['_inline:build:compile']).toEqual({ name: '_inline:build:compile', type: 'docker', image: 'gcc', cmd: ['make'], env: {}, tags: [], input: {} });
    expect(tasks.build!.flow[0]).toMatchObject({ action: '_inline:build:compile', input: { target: 'all' } });
  });

  it.each([
    ['no flow', `${GREET}tasks:\n  t:\n    mode: local\n`, 6, 3, 'task "t" needs a "flow" (its steps)'],
    ['an empty flow', `${GREET}tasks:\n  t:\n    flow: {}\n`, 7, 11, 'the flow of task "t" has no steps'],
    ['an unknown mode', task('      s: { action: greet }\n', '    mode: parallel\n'), 7, 11, 'mode of task "t" must be distributed or local, not "parallel"'],
    ['a task timeout over 7 days', task('      s: { action: greet }\n', '    timeout: 8d\n'), 7, 14, 'timeout of task "t" must be between 1s and 7d'],
    ['a step timeout over 24 hours', task('      s: { action: greet, timeout: 25h }\n'), 8, 36, 'timeout of step "s" must be between 1s and 1d'],
    ['a bad duration', task('      s: { action: greet, timeout: soon }\n'), 8, 36, /must be a duration such as "30s"/],
    ['a zero timeout', task('      s: { action: greet, timeout: 0 }\n'), 8, 36, /between 1s/],
    ['an unknown task key', task('      s: { action: greet }\n', '    retries: 2\n'), 7, 5, /unknown key "retries" in task "t"/],
    ['an unknown step key', task('      s: { action: greet, retry: 2 }\n'), 8, 27, 'unknown key "retry" in step "s"'],
    ['a step with action and type', task('      s:\n        action: greet\n        type: script\n        script: echo\n'), 10, 9, /has both "action" and an inline action \("type"\)/],
    ['a step with neither action nor type', task('      s: { input: {} }\n'), 8, 7, 'step "s" needs an "action", or an inline action with a "type"'],
    ['an inline action with errors', task('      s: { type: script }\n'), 8, 7, /the inline action of step "s" needs "script"/],
    ['an unknown action', task('      s:\n        action: gret\n'), 9, 17, 'step "s" of task "t" uses action "gret", which is not defined (actions: greet)'],
    ['depends_on naming no step', task('      a: { action: greet }\n      b:\n        action: greet\n        depends_on:\n          - a\n          - c\n'), 13, 13, 'step "b" depends on "c", which is not a step of task "t" (steps: a, b)'],
    ['a step depending on itself', task('      a: { action: greet, depends_on: [a] }\n'), 8, 40, 'depends_on forms a cycle: a → a'],
    ['a bad step name', task('      "a b": { action: greet }\n'), 8, 7, /step name "a b" in task "t" must start/],
    ['a continue_on_failure that is not a boolean', task('      a: { action: greet, continue_on_failure: "yes" }\n'), 8, 48, /must be true or false/],
    ['a when that is not a string', task('      a: { action: greet, when: true }\n'), 8, 33, /"when" of step "a" .* must be a string/],
    ['a when without an expression', task('      a: { action: greet, when: input.flag }\n'), 8, 33, /has no \{\{ … \}\} expression, so it is always "input.flag"; write "\{\{ input.flag \}\}"/],
    ['a when with a syntax error', task('      a: { action: greet, when: "{{ input.flag" }\n'), 8, 33, /invalid template in "when" of step "a": unclosed/],
    ['a step input with an unknown filter', task('      a:\n        action: greet\n        input:\n          x: "{{ input.x | rot13 }}"\n'), 11, 14, /invalid template in input of step "a": unknown filter "rot13"/],
    ['a step input that is a list', task('      a: { action: greet, input: [1] }\n'), 8, 34, 'input of step "a" must be a mapping'],
    ['two steps with the same template name', task('      a-b: { action: greet }\n      a_b: { action: greet }\n'), 9, 7, 'steps "a-b" and "a_b" are both "a_b" in templates; rename one'],
    ['a step named input', task('      input: { action: greet }\n'), 8, 7, /reserved in templates/],
    ['a bad task name', `tasks:\n  "t/x":\n    flow: {}\n`, 2, 3, /task name "t\/x" must start/],
  ])('refuses %s', (_what, content, line, column, message) => {
    expectError(content as string, line as number, column as number, message as string | RegExp);
  });

  it('names the steps of a longer cycle in depends_on order', () => {
    const errors = errorsOf(task('      a: { action: greet, depends_on: [c] }\n      b: { action: greet, depends_on: [a] }\n      c: { action: greet, depends_on: [b] }\n      d: { action: greet, depends_on: [c] }\n'));
    expect(errors.map((e) => e.message)).toEqual(['depends_on forms a cycle: a → c → b → a']);
    // Reported where the walk closes the cycle: b's dependency on a.
    expect(errors[0]).toMatchObject({ line: 9, column: 40 });
  });

  describe('step output references', () => {
    it('accepts outputs of direct and transitive dependencies, and input.* of any name', () => {
      const content = task(`      a: { action: greet }
      b: { action: greet, depends_on: [a] }
      c:
        action: greet
        depends_on: [b]
        when: "{{ a.output.ok and b.output.ok }}"
        input: { v: "{{ a.output.x }}-{{ b.output | json }}-{{ input.whatever | default(value=1) }}" }
`);
      expect(parse(content).ok).toBe(true);
    });

    it.each([
      ['a step it does not depend on', '      a: { action: greet }\n      b: { action: greet, input: { x: "{{ a.output.x }}" } }\n', /"a.output.x" reads the output of step "a", which step "b" does not depend on \(add it to depends_on\)/],
      ['a later step', '      a: { action: greet, input: { x: "{{ b.output }}" } }\n      b: { action: greet, depends_on: [a] }\n', /reads the output of step "b", which step "a" does not depend on/],
      ['its own output', '      a: { action: greet, when: "{{ a.output.done }}" }\n', /a step cannot read its own output/],
      ['a step without .output', '      a: { action: greet }\n      b: { action: greet, depends_on: [a], input: { x: "{{ a.status }}" } }\n', /a step offers only its output/],
      ['an unknown name', '      a: { action: greet, input: { x: "{{ inputs.x }}" } }\n', /"inputs.x" is not defined; templates can read input/],
      ['secrets', '      a: { action: greet, input: { x: "{{ secret.TOKEN }}" } }\n', /workspace secrets are not supported yet/],
      ['a hyphenated step name', '      say-hi: { action: greet }\n      b: { action: greet, depends_on: [say-hi], input: { x: "{{ say-hi.output }}" } }\n', /names cannot contain hyphens/],
    ])('refuses a reference to %s', (_what, flow, message) => {
      const errors = errorsOf(task(flow));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toMatch(message);
    });

    it('points at the string holding the reference', () => {
      const errors = errorsOf(task('      a: { action: greet }\n      b:\n        action: greet\n        input:\n          deep:\n            - ok\n            - "{{ a.output }}"\n'));
      expect(errors[0]).toMatchObject({ line: 14, column: 15 });
    });
  });
});

describe('error collection', () => {
  it('reports every error of every file, sorted by place', () => {
    const result = parseWorkspace([
      {
        path: '.workflows/b.yaml',
        content: `actions:
  x:
    type: script
  y:
    type: docker
tasks:
  t:
    flow:
      s1: { action: missing }
      s2: { action: x, depends_on: [nope] }
`,
      },
      { path: '.workflows/a.yaml', content: 'colours: [red]\n' },
    ]);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => `${e.file}:${e.line}:${e.column}`)).toEqual([
      '.workflows/a.yaml:1:1',
      '.workflows/b.yaml:2:3',
      '.workflows/b.yaml:4:3',
      '.workflows/b.yaml:9:21',
      '.workflows/b.yaml:10:37',
    ]);
    // x is refused for itself; s2 using it is not a second error.
    expect(!result.ok && result.errors[3]!.message).toBe('step "s1" of task "t" uses action "missing", which is not defined (actions: x, y)');
  });
});
