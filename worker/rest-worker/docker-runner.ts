import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { containerInterpreter } from './interpreters';
import { runProcess } from './run-process';
import { argList, pathInside, type RunnerResult, type StepContext } from './step-context';
import { actionEnv, identityEnv } from './step-env';

export const DOCKER_UNAVAILABLE = 'docker is not available on this worker';
const CONTAINER_WORKSPACE = '/workspace';
const CONTAINER_SCRIPT_DIR = '/runlane-script';

export type DockerRunnerOptions = {
  /** The docker CLI, or null when this worker has none. */
  dockerBinary: string | null;
  /** Image for `script` actions with runner `docker` that name none. */
  runnerImage: string;
  /** PATH/HOME for the docker CLI itself (it needs to find its config); never passed into the container. */
  baseEnv: Record<string, string | undefined>;
};

/**
 * `docker` actions, and `script` actions with runner `docker`, through the docker CLI:
 * `docker run --rm -v <ws>:/workspace:ro -w /workspace -e … image cmd…`. The container is named, so a
 * stopped step removes its container as well as the CLI process.
 */
export async function runDocker(ctx: StepContext, options: DockerRunnerOptions): Promise<RunnerResult> {
  if (!options.dockerBinary) throw new Error(DOCKER_UNAVAILABLE);
  const { spec } = ctx;
  const name = `runlane-${ctx.stepName.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
  const workdir = spec.workdir ? posix.join(CONTAINER_WORKSPACE, posix.normalize(`/${spec.workdir}`)) : CONTAINER_WORKSPACE;
  const env = { ...identityEnv({ ...ctx, workspaceDir: CONTAINER_WORKSPACE }), ...actionEnv(spec.env) };
  const args = ['run', '--rm', '--name', name, '-v', `${ctx.workspaceDir}:${CONTAINER_WORKSPACE}:ro`, '-w', workdir];
  for (const [key, value] of Object.entries(env)) args.push('-e', `${key}=${value}`);

  let tempDir: string | null = null;
  try {
    if (ctx.actionType === 'script') {
      const image = ctx.actionImage || spec.image || options.runnerImage;
      const interpreter = containerInterpreter(spec.language, spec.interpreter);
      let file: string;
      if (typeof spec.script === 'string' && spec.script) {
        tempDir = await mkdtemp(join(tmpdir(), 'runlane-step-'));
        const base = `script${interpreter.extension}`;
        await writeFile(join(tempDir, base), spec.script, { mode: 0o755 });
        args.push('-v', `${tempDir}:${CONTAINER_SCRIPT_DIR}:ro`);
        file = `${CONTAINER_SCRIPT_DIR}/${base}`;
      } else if (typeof spec.source === 'string' && spec.source) {
        pathInside(ctx.workspaceDir, spec.source, 'source');
        file = posix.join(CONTAINER_WORKSPACE, posix.normalize(`/${spec.source}`));
      } else {
        throw new Error('script action has neither `script` nor `source`');
      }
      args.push(image, interpreter.command, ...interpreter.args, file);
    } else {
      const image = spec.image || ctx.actionImage;
      if (!image) throw new Error('docker action has no image');
      const entrypoint = argList(spec.entrypoint ?? spec.command ?? null, false);
      if (entrypoint.length) args.push('--entrypoint', entrypoint[0]!);
      args.push(image, ...entrypoint.slice(1), ...argList(spec.cmd));
    }
    const cliEnv: Record<string, string> = {};
    for (const key of ['PATH', 'HOME', 'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT'] as const) {
      const value = options.baseEnv[key];
      if (value !== undefined) cliEnv[key] = value;
    }
    const dockerBinary = options.dockerBinary;
    return await runProcess(
      { command: dockerBinary, args, cwd: ctx.workspaceDir, env: cliEnv },
      {
        signal: ctx.signal,
        killGraceMs: ctx.killGraceMs,
        onLine: ctx.onLine,
        onKill: () => {
          const rmProcess = spawn(dockerBinary, ['rm', '-f', name], { stdio: 'ignore', env: cliEnv });
          rmProcess.on('error', () => {});
        },
      },
    );
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => {});
  }
}
