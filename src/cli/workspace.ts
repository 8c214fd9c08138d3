import { basename, resolve } from 'node:path';
import { packDirectory } from '../modules/workflows/definition/workspace-archive';
import type { CommandArgs } from './index';
import { CliError } from './runtime';

const USAGE = 'Usage: runlane workspace push <dir> --server URL --token TOKEN [--name NAME] [--json]';

const UPLOAD = `mutation PushWorkspace($name: String!, $archive: File!) {
  uploadWorkspace(name: $name, archive: $archive) {
    __typename
    ... on UploadWorkspacePayload { changed workspace { name revision tasks { name } actions { name } } }
    ... on WorkspaceInvalidError { message problems { file line column message } }
    ... on Error { message code }
  }
}`;

export type PushResult =
  | { __typename: 'UploadWorkspacePayload'; changed: boolean; workspace: { name: string; revision: string; tasks: { name: string }[]; actions: { name: string }[] } }
  | { __typename: 'WorkspaceInvalidError'; message: string; problems: { file: string; line: number; column: number; message: string }[] }
  | { __typename: 'InputError'; message: string; code: string };

/** uploadWorkspace over the GraphQL multipart request spec: the archive as a file part. */
export async function pushWorkspace(server: string, token: string, name: string, archive: Buffer): Promise<PushResult> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: UPLOAD, variables: { name, archive: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.archive'] }));
  form.set('0', new Blob([new Uint8Array(archive)], { type: 'application/gzip' }), `${name}.tar.gz`);
  const res = await fetch(`${server.replace(/\/+$/, '')}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form }).catch(
    (err: Error) => {
      throw new CliError(`cannot reach ${server}: ${err.message}`);
    },
  );
  const body = (await res.json().catch(() => ({}))) as { data?: { uploadWorkspace: PushResult }; errors?: { message: string }[] };
  if (body.errors?.length) throw new CliError(body.errors[0]!.message);
  if (!body.data) throw new CliError(`unexpected answer from ${server} (HTTP ${res.status})`);
  return body.data.uploadWorkspace;
}

/** `runlane workspace push <dir>`: packs the folder (as workers will see it) and uploads it. */
export async function workspaceCommand(args: CommandArgs, out: (text: string) => void = (t) => void process.stdout.write(t)): Promise<number> {
  const [sub, dir] = args.positionals;
  const { server, token } = args.values;
  if (sub !== 'push' || !dir || typeof server !== 'string' || typeof token !== 'string') throw new CliError(USAGE, 2);
  const name = typeof args.values.name === 'string' ? args.values.name : basename(resolve(dir));
  const archive = await packDirectory(dir).catch((err: Error) => {
    throw new CliError(`cannot pack ${dir}: ${err.message}`);
  });
  const result = await pushWorkspace(server, token, name, archive);
  if (args.values.json) out(`${JSON.stringify(result)}\n`);
  if (result.__typename === 'UploadWorkspacePayload') {
    const w = result.workspace;
    if (!args.values.json) {
      out(`${result.changed ? '✓ uploaded' : '✓ unchanged'} ${w.name} at revision ${w.revision.slice(0, 12)}: ${w.tasks.length} tasks, ${w.actions.length} actions\n`);
    }
    return 0;
  }
  if (!args.values.json) {
    if (result.__typename === 'WorkspaceInvalidError') for (const p of result.problems) out(`${p.file}:${p.line}:${p.column}: ${p.message}\n`);
    else out(`${result.message}\n`);
  }
  return 1;
}
