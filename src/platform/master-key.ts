import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The key-encryption key. From RUNLANE_MASTER_KEY when set; otherwise, outside production,
 * a key file under the data directory is created once and reused.
 */
export async function resolveMasterKey(options: {
  configured?: Buffer;
  dataDir: string;
  production: boolean;
  warn: (message: string) => void;
}): Promise<Buffer> {
  if (options.configured) return options.configured;
  if (options.production) {
    throw new Error('RUNLANE_MASTER_KEY is required when RUNLANE_ENV=production (openssl rand -base64 32).');
  }
  const path = join(options.dataDir, 'master.key');
  try {
    const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key.`);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(options.dataDir, { recursive: true });
  const key = randomBytes(32);
  await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  options.warn(
    `RUNLANE_MASTER_KEY is not set: created a local master key in ${path}. Back it up; set RUNLANE_MASTER_KEY in production.`,
  );
  return key;
}
