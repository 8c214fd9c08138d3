import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';

// Seed 000 end to end: an operator makes a read-only account with the CLI, and the example
// bootstrap worker proves it against a live server.
const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const cli = join(root, 'bin/runlane.mjs');
const worker = join(root, 'examples/workers/node-bootstrap/worker.mjs');

let server: TestServer;
let readOnlyToken: string;
let healthOnlyToken: string;

// Its own data directory, so the CLI's local master key is not written into the checkout.
const dataDir = mkdtempSync(join(tmpdir(), 'runlane-cli-'));

function cliEnv(extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH!,
    HOME: process.env.HOME ?? '/tmp',
    DATABASE_URL: server.db.appUrl,
    RUNLANE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

async function runWorker(env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [worker], {
      env: { PATH: process.env.PATH!, SITE_URL: '', BASE_URL: '', AGENTS_TOKEN: '', REQUEST_TIMEOUT_MS: '3000', PRINT_JSON: '1', ...env },
      timeout: 15_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  server = await startTestServer();
  const created = await run(process.execPath, [cli, 'tenant', 'create', 'acme', '--name', 'Acme', '--timezone', 'Europe/Paris', '--json'], { env: cliEnv() });
  const tenant = JSON.parse(created.stdout);
  expect(tenant).toMatchObject({ tenant: { slug: 'acme', name: 'Acme', timezone: 'Europe/Paris' }, account: { name: 'Owner', status: 'active' } });
  expect(tenant.token).toMatch(/^rlt_/);
  const account = await run(
    process.execPath,
    [cli, 'account', 'create', '--tenant', 'acme', '--name', 'Bootstrap Worker', '--description', 'First worker connectivity check', '--owner', 'ops@acme.test', '--scopes', 'health:read,readiness:read,auth:read', '--json'],
    { env: cliEnv() },
  );
  const parsed = JSON.parse(account.stdout);
  expect(parsed.account.scopes).toEqual(['auth:read', 'health:read', 'readiness:read']);
  readOnlyToken = parsed.token;
  const healthOnly = await run(process.execPath, [cli, 'account', 'create', '--tenant', 'acme', '--name', 'Health Only', '--scopes', 'health:read', '--json'], { env: cliEnv() });
  healthOnlyToken = JSON.parse(healthOnly.stdout).token;
}, 60_000);
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the bootstrap worker against Runlane', () => {
  it('succeeds with the read-only token and prints what whoami really returns', async () => {
    const result = await runWorker({ SITE_URL: server.url, AGENTS_TOKEN: readOnlyToken });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('=== Health ===');
    expect(result.stdout).toContain('Account: Bootstrap Worker');
    expect(result.stdout).toContain('Tenant: acme');
    expect(result.stdout).toContain('Scopes: auth:read, health:read, readiness:read');
    expect(result.stdout).toMatch(/Readiness score: 100/);
    expect(result.stdout).not.toContain(readOnlyToken);
  });

  it('works with BASE_URL pointing at /agents/v1', async () => {
    const result = await runWorker({ BASE_URL: `${server.url}/agents/v1/`, AGENTS_TOKEN: readOnlyToken, PRINT_JSON: '0' });
    expect(result.code).toBe(0);
  });

  it('fails with a wrong token: 401, one clear line', async () => {
    const result = await runWorker({ SITE_URL: server.url, AGENTS_TOKEN: `${readOnlyToken.slice(0, -3)}zzz` });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toMatch(/\/health failed \(401 Unauthorized\)/);
  });

  it('fails with a token lacking a scope: 403 naming it', async () => {
    const result = await runWorker({ SITE_URL: server.url, AGENTS_TOKEN: healthOnlyToken });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('=== Health ===');
    expect(result.stderr.split('\n')[0]).toMatch(/\/auth\/whoami failed \(403 Forbidden\).*auth:read/);
  });

  it('fails against a stopped server', async () => {
    const stopped = await startTestServer({ db: server.db });
    const url = stopped.url;
    await stopped.close();
    const result = await runWorker({ SITE_URL: url, AGENTS_TOKEN: readOnlyToken });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toMatch(/\/health failed: .*ECONNREFUSED/);
  });
});

describe('the CLI', () => {
  it('exits non-zero listing every configuration problem', async () => {
    const result = await run(process.execPath, [cli, 'migrate'], { env: cliEnv({ PORT: 'x', REDIS_URL: 'nope' }) }).catch((e) => e);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('REDIS_URL');
  });

  it('refuses a duplicate tenant slug with one line', async () => {
    const result = await run(process.execPath, [cli, 'tenant', 'create', 'acme', '--json'], { env: cliEnv() }).catch((e) => e);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/already exists/);
  });

  it('refuses to run split without Redis and says why', async () => {
    const result = await run(process.execPath, [cli, 'api'], { env: cliEnv() }).catch((e) => e);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/REDIS_URL/);
  });

  it('rotates an account from the command line', async () => {
    const listed = JSON.parse((await run(process.execPath, [cli, 'account', 'list', '--tenant', 'acme', '--json'], { env: cliEnv() })).stdout);
    const target = listed.find((a: { name: string }) => a.name === 'Health Only');
    const rotated = JSON.parse((await run(process.execPath, [cli, 'account', 'rotate', target.id, '--tenant', 'acme', '--json'], { env: cliEnv() })).stdout);
    expect(rotated.token).not.toBe(healthOnlyToken);
    expect(JSON.stringify(listed)).not.toMatch(/rlt_[0-9A-Za-z]{49}/);
  });
});
