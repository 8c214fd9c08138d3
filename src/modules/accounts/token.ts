import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// rlt_<43 base62 chars from 32 random bytes><6 base62 chars of checksum>. The prefix makes
// leaked tokens easy to spot by secret scanners; the checksum lets us reject typos and
// garbage without a database round trip.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const TOKEN_PREFIX = 'rlt_';
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const TOKEN_PATTERN = new RegExp(`^${TOKEN_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);

function base62(bytes: Buffer, length: number): string {
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let out = '';
  while (out.length < length) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

function checksum(body: string): string {
  return base62(createHash('sha256').update(body).digest().subarray(0, 6), CHECKSUM_LENGTH);
}

export type IssuedToken = { token: string; hash: string; prefix: string; last4: string };

export function issueToken(): IssuedToken {
  const body = base62(randomBytes(32), BODY_LENGTH);
  const token = `${TOKEN_PREFIX}${body}${checksum(body)}`;
  return { token, hash: hashToken(token), prefix: token.slice(0, 12), last4: token.slice(-4) };
}

/** True when the string has the shape and checksum of a Runlane token. */
export function isWellFormedToken(token: string): boolean {
  if (!TOKEN_PATTERN.test(token)) return false;
  const body = token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + BODY_LENGTH);
  const given = Buffer.from(token.slice(-CHECKSUM_LENGTH));
  return timingSafeEqual(given, Buffer.from(checksum(body)));
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A stable, non-reversible identifier for logs and whoami. */
export function tokenFingerprint(hash: string): string {
  return `sha256:${hash.slice(0, 16)}`;
}

/** `rlt_AbCdEfGh…wxyz`: enough to recognise a token, never enough to use it. */
export function tokenHint(prefix: string, last4: string): string {
  return `${prefix}…${last4}`;
}
