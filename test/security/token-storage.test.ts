import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../support/app';
import { hashToken, isWellFormedToken, issueToken } from '../../src/modules/accounts/token';

const run = promisify(execFile);
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

describe('token storage', () => {
  it('leaves no token plaintext anywhere in a full dump of the database', async () => {
    const owner = await server.tenant();
    const tokens = [owner.token];
    const current = [owner.token];
    for (const name of ['Dump One', 'Dump Two']) {
      const { body } = await gql(
        server.url,
        owner.token,
        `mutation($name: String!) { createAccount(input: { name: $name, scopes: ["auth:read"] }) { ... on AccountWithToken { token account { id } } } }`,
        { name },
      );
      tokens.push(body.data.createAccount.token);
      const rotated = await gql(
        server.url,
        owner.token,
        `mutation($id: ID!) { rotateAccountToken(id: $id) { ... on AccountWithToken { token } } }`,
        { id: body.data.createAccount.account.id },
      );
      tokens.push(rotated.body.data.rotateAccountToken.token);
      current.push(rotated.body.data.rotateAccountToken.token);
      // Use the token so usage columns are written too.
      await fetch(`${server.url}/agents/v1/auth/whoami`, { headers: { authorization: `Bearer ${rotated.body.data.rotateAccountToken.token}` } });
    }
    const { stdout } = await run('pg_dump', ['--no-owner', '--dbname', server.db.adminUrl], { maxBuffer: 64 * 1024 * 1024 });
    expect(stdout).toContain('Dump One');
    for (const token of tokens) {
      expect(stdout).not.toContain(token);
      // Not even the secret part without its prefix, nor its unique middle.
      expect(stdout).not.toContain(token.slice(4));
      expect(stdout).not.toContain(token.slice(12, -4));
    }
    // What is stored is the hash of each live token; rotated-away hashes are gone.
    for (const token of current) expect(stdout).toContain(hashToken(token));
    expect(stdout).not.toContain(hashToken(tokens[1]!));
  });
});

describe('token format', () => {
  it('issues distinct, well-formed tokens with a checksum', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const issued = issueToken();
      expect(isWellFormedToken(issued.token)).toBe(true);
      expect(issued.prefix).toBe(issued.token.slice(0, 12));
      expect(issued.last4).toBe(issued.token.slice(-4));
      expect(issued.hash).toBe(hashToken(issued.token));
      seen.add(issued.token);
    }
    expect(seen.size).toBe(200);
  });

  it('rejects typos, truncation and garbage before any lookup', () => {
    const { token } = issueToken();
    const flipped = token.slice(0, 20) + (token[20] === 'a' ? 'b' : 'a') + token.slice(21);
    for (const bad of [flipped, token.slice(0, -1), `${token}x`, 'rlt_', '', 'Bearer x', token.replace('rlt_', 'xyz_')]) {
      expect(isWellFormedToken(bad), bad).toBe(false);
    }
  });
});
