import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyring, type MasterKeyring } from './crypto';

/**
 * The key-encryption key. From RUNLANE_MASTER_KEY when set; otherwise, outside production,
 * a key file under the data directory, created once and reused. While a local rotation is in
 * progress, `master.key.previous` holds the key being replaced.
 */
export type MasterKeySource = {
  configured?: Buffer;
  previous?: Buffer[];
  dataDir: string;
  production: boolean;
  warn: (message: string) => void;
};

const CURRENT_FILE = 'master.key';
const PREVIOUS_FILE = 'master.key.previous';
const NEXT_FILE = 'master.key.next';

async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key.`);
  return key;
}

async function writeKeyFile(path: string, key: Buffer): Promise<void> {
  await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'w' });
}

export async function resolveMasterKeyring(source: MasterKeySource): Promise<MasterKeyring> {
  const previous = source.previous ?? [];
  if (source.configured) return keyring(source.configured, previous);
  if (source.production) {
    throw new Error('RUNLANE_MASTER_KEY is required when RUNLANE_ENV=production (openssl rand -base64 32).');
  }
  const path = join(source.dataDir, CURRENT_FILE);
  let current = await readKeyFile(path);
  if (!current) {
    await mkdir(source.dataDir, { recursive: true });
    current = randomBytes(32);
    await writeFile(path, `${current.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    source.warn(
      `RUNLANE_MASTER_KEY is not set: created a local master key in ${path}. Back it up; set RUNLANE_MASTER_KEY in production.`,
    );
  }
  const rotating = await readKeyFile(join(source.dataDir, PREVIOUS_FILE));
  return keyring(current, rotating ? [rotating, ...previous] : previous);
}

/**
 * Local mode only: puts a fresh key in place as master.key and keeps the old one as
 * master.key.previous until every data key is rewrapped. Resuming an interrupted rotation
 * keeps the key already chosen.
 */
export async function beginLocalRotation(dataDir: string): Promise<void> {
  const next = join(dataDir, NEXT_FILE);
  // Each step is a rename, so a crash between any two leaves a state this function resumes.
  if (!(await readKeyFile(join(dataDir, PREVIOUS_FILE)))) {
    await writeKeyFile(next, (await readKeyFile(next)) ?? randomBytes(32));
    await rename(join(dataDir, CURRENT_FILE), join(dataDir, PREVIOUS_FILE));
  }
  if (await readKeyFile(next)) await rename(next, join(dataDir, CURRENT_FILE));
}

export async function finishLocalRotation(dataDir: string): Promise<void> {
  await rm(join(dataDir, PREVIOUS_FILE), { force: true });
}
