import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Envelope encryption primitives (DESIGN §2). A master key (key-encryption key) wraps one data
 * key per tenant; data keys encrypt values. Everything is AES-256-GCM with a random 96-bit
 * nonce and a 16-byte tag, and every ciphertext is bound by its AAD to where it lives, so a
 * ciphertext copied to another tenant, table, row or column fails to decrypt.
 */

const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** First byte of every value ciphertext; bump when the layout changes. */
const FORMAT_V1 = 1;
const HEADER_BYTES = 1 + 4; // format, data key version (uint32 BE)

export class DecryptionError extends Error {
  constructor(reason: string) {
    super(`Could not decrypt: ${reason}`);
    this.name = 'DecryptionError';
  }
}

export type MasterKey = { id: string; key: Buffer };

/** The current master key, plus earlier ones still able to unwrap during a rotation. */
export type MasterKeyring = { current: MasterKey; previous: MasterKey[] };

/** A stable name for a master key that reveals nothing about it. */
export function masterKeyId(key: Buffer): string {
  return `mk_${createHash('sha256').update('runlane-master-key-id').update(key).digest('hex').slice(0, 16)}`;
}

export function masterKey(key: Buffer): MasterKey {
  if (key.length !== KEY_BYTES) throw new Error('A master key is 32 bytes.');
  return { id: masterKeyId(key), key };
}

export function keyring(current: Buffer, previous: Buffer[] = []): MasterKeyring {
  return { current: masterKey(current), previous: previous.map(masterKey) };
}

export function findMasterKey(ring: MasterKeyring, id: string): MasterKey | undefined {
  return [ring.current, ...ring.previous].find((k) => k.id === id);
}

/** Where a value lives; bound into its ciphertext. */
export type SecretLocation = { tenantId: string; table: string; rowId: string; column: string };

function locationAad(at: SecretLocation): Buffer {
  for (const part of [at.tenantId, at.table, at.rowId, at.column]) {
    if (!part || part.includes('|')) throw new Error('Secret location parts must be non-empty and contain no "|".');
  }
  return Buffer.from(`runlane:value:v1|${at.tenantId}|${at.table}|${at.rowId}|${at.column}`);
}

function dataKeyAad(tenantId: string, version: number): Buffer {
  return Buffer.from(`runlane:data-key:v1|${tenantId}|${version}`);
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new DecryptionError('ciphertext too short');
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new DecryptionError('authentication failed (wrong key, or the ciphertext was moved or altered)');
  }
}

export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function wrapDataKey(master: MasterKey, tenantId: string, version: number, dataKey: Buffer): Buffer {
  return seal(master.key, dataKey, dataKeyAad(tenantId, version));
}

export function unwrapDataKey(master: MasterKey, tenantId: string, version: number, wrapped: Buffer): Buffer {
  const key = open(master.key, wrapped, dataKeyAad(tenantId, version));
  if (key.length !== KEY_BYTES) throw new DecryptionError('unwrapped data key has the wrong length');
  return key;
}

/** [format][data key version][nonce][ciphertext][tag] */
export function encryptValue(dataKey: Buffer, dataKeyVersion: number, at: SecretLocation, plaintext: string): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(FORMAT_V1, 0);
  header.writeUInt32BE(dataKeyVersion, 1);
  // The header is authenticated too, so the version cannot be swapped.
  const aad = Buffer.concat([header, locationAad(at)]);
  return Buffer.concat([header, seal(dataKey, Buffer.from(plaintext, 'utf8'), aad)]);
}

/** The data key version a ciphertext needs, read from its header. */
export function dataKeyVersionOf(ciphertext: Buffer): number {
  if (ciphertext.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES) throw new DecryptionError('ciphertext too short');
  if (ciphertext.readUInt8(0) !== FORMAT_V1) throw new DecryptionError('unknown ciphertext format');
  return ciphertext.readUInt32BE(1);
}

export function decryptValue(dataKey: Buffer, at: SecretLocation, ciphertext: Buffer): string {
  dataKeyVersionOf(ciphertext);
  const header = ciphertext.subarray(0, HEADER_BYTES);
  const aad = Buffer.concat([header, locationAad(at)]);
  return open(dataKey, ciphertext.subarray(HEADER_BYTES), aad).toString('utf8');
}

/** `sk-ant-***wxyz`: enough to tell keys apart, never enough to use one. */
export function secretHint(secret: string): string {
  const last4 = secret.slice(-4);
  const dash = secret.indexOf('-', 3);
  const prefix = dash > 0 && dash <= 8 ? secret.slice(0, dash + 1) : '';
  return `${prefix}***${last4}`;
}
