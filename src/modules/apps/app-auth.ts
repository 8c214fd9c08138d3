import { z } from 'zod';
import type { AppAuthType } from './app.entity';

/** What a tenant sends: the secret in clear, once. */
export type AppAuthInput =
  | { type: 'bearer'; token: string }
  | { type: 'header'; name: string; value: string }
  | { type: 'none' };

// A header value travels verbatim on the wire: no line breaks (header injection) and no NUL.
const headerSafe = /^[^\r\n\0]+$/;
const secret = (field: string) =>
  z
    .string({ message: `${field} is required` })
    .min(1, `${field} must not be empty`)
    .max(8192, `${field} must be at most 8192 characters`)
    .regex(headerSafe, `${field} must not contain line breaks or NUL characters`);

// RFC 9110 token characters.
const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
// Headers the MCP transport or HTTP itself owns; a tenant setting them would break or spoof the call.
const reservedHeaders = new Set([
  'host',
  'content-length',
  'content-type',
  'accept',
  'connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'keep-alive',
  'proxy-authorization',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
]);

export const appAuthInput = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('bearer'), token: secret('auth.token') }),
    z.object({
      type: z.literal('header'),
      name: z
        .string({ message: 'auth.name is required' })
        .regex(headerName, 'auth.name must be an HTTP header name')
        .refine((n) => !reservedHeaders.has(n.toLowerCase()), 'auth.name is a header Runlane sets itself'),
      value: secret('auth.value'),
    }),
    z.object({ type: z.literal('none') }),
  ],
  { message: 'auth.type must be bearer, header or none' },
);

/** The parts of an auth setting that are stored in the clear, and the secret to encrypt. */
export function splitAuth(auth: AppAuthInput): {
  type: AppAuthType;
  headerName: string | null;
  secret: string | null;
  hint: string | null;
} {
  switch (auth.type) {
    case 'bearer':
      return { type: 'bearer', headerName: null, secret: auth.token, hint: authHint(auth.token) };
    case 'header':
      return { type: 'header', headerName: auth.name, secret: auth.value, hint: authHint(auth.value) };
    case 'none':
      return { type: 'none', headerName: null, secret: null, hint: null };
  }
}

/** Rebuilds the auth setting from its stored parts and the decrypted secret. */
export function joinAuth(type: AppAuthType, headerName: string | null, secret: string | null): AppAuthInput {
  if (type === 'none') return { type: 'none' };
  if (!secret) throw new Error(`app auth of type ${type} has no secret`);
  return type === 'bearer' ? { type, token: secret } : { type, name: headerName ?? '', value: secret };
}

/**
 * A redacted preview such as `sk-live-***XY`: a short vendor prefix (up to the last `-` or `_`
 * within the first eight characters), then the last two characters. Short secrets show nothing,
 * because two characters of a short secret are a real share of it.
 */
export function authHint(value: string): string {
  if (value.length < 12) return '***';
  const head = value.slice(0, 8);
  const cut = Math.max(head.lastIndexOf('-'), head.lastIndexOf('_'));
  return `${cut >= 0 ? head.slice(0, cut + 1) : ''}***${value.slice(-2)}`;
}
