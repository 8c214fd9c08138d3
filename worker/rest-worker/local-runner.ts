import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInterpreter } from './interpreters';
import { runProcess } from './run-process';
import { pathInside, type RunnerResult, type StepContext } from './step-context';
import { localStepEnv } from './step-env';

export type LocalRunnerOptions = {
  /** The worker's variables a step inherits (PATH, HOME, LANG, TMPDIR). */
  baseEnv: Record<string, string | undefined>;
};

/**
 * `script` actions with runner `local`: an inline `script` (written to a temporary file) or a
 * `source` file of the workspace, run by the language's interpreter in the workspace directory (or
 * its `workdir`). Throws when the step cannot be started; the caller reports that as exit code -1.
 */
export async function runLocalScript(ctx: StepContext, options: LocalRunnerOptions): Promise<RunnerResult> {
  const { spec } = ctx;
  const hasScript = typeof spec.script === 'string' && spec.script.length > 0;
  const hasSource = typeof spec.source === 'string' && spec.source.length > 0;
  if (!hasScript && !hasSource) {
    if (spec.cmd) throw new Error('`cmd` is no longer valid for script actions; use `script` or `source`');
    throw new Error('script action has neither `script` nor `source`');
  }
  const interpreter = resolveInterpreter(spec.language, spec.interpreter, options.baseEnv.PATH);
  if (spec.dependencies?.length) {
    ctx.onLine('stderr', `[runlane-worker] dependencies are not installed by the reference worker, expected to be present: ${spec.dependencies.join(', ')}`);
  }
  const cwd = spec.workdir ? pathInside(ctx.workspaceDir, spec.workdir, 'workdir') : ctx.workspaceDir;
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) throw new Error(`workdir not found in the workspace: ${spec.workdir}`);

  let tempDir: string | null = null;
  try {
    let file: string;
    if (hasScript) {
      tempDir = await mkdtemp(join(tmpdir(), 'runlane-step-'));
      file = join(tempDir, `script${interpreter.extension}`);
      await writeFile(file, spec.script!, { mode: 0o700 });
    } else {
      file = pathInside(ctx.workspaceDir, spec.source!, 'source');
      if (!existsSync(file)) throw new Error(`source not found in the workspace: ${spec.source}`);
    }
    return await runProcess(
      { command: interpreter.command, args: [...interpreter.args, file], cwd, env: localStepEnv(options.baseEnv, ctx, spec.env) },
      { signal: ctx.signal, killGraceMs: ctx.killGraceMs, onLine: ctx.onLine },
    );
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => {});
  }
}
