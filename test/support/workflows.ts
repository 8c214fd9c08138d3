import { packFiles, type ArchiveFile } from '../../src/modules/workflows/definition/workspace-archive';
import { pushWorkspace } from '../../src/cli/workspace';

/** Files of a workspace as text: path → content (`mode` 0o755 for paths ending in .sh). */
export function workspaceFiles(files: Record<string, string>): ArchiveFile[] {
  return Object.entries(files).map(([path, content]) => ({ path, content: Buffer.from(content), mode: path.endsWith('.sh') ? 0o755 : 0o644 }));
}

/** uploadWorkspace as `runlane workspace push` sends it. */
export const uploadArchive = pushWorkspace;

export async function uploadWorkspace(url: string, token: string, name: string, files: Record<string, string>): Promise<{ revision: string }> {
  const result = await pushWorkspace(url, token, name, await packFiles(workspaceFiles(files)));
  if (result.__typename !== 'UploadWorkspacePayload') throw new Error(`upload refused: ${JSON.stringify(result)}`);
  return result.workspace;
}

/** A REST client of the worker protocol and the job API, with one token. */
export function restClient(url: string, token: string | null) {
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  }
  return {
    call,
    post: (path: string, body: unknown = {}) => call('POST', path, body),
    get: (path: string, headers?: Record<string, string>) => call('GET', path, undefined, headers),
  };
}

/** Waits until `check` answers something truthy (polling; the thing awaited is asynchronous by design). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
