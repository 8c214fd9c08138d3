import { decodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError } from '../db/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Entity arguments accept the Relay global id or the plain UUID REST uses. A global id of
 * another type, or garbage, names no entity of this type: NotFound rather than a parse error,
 * so probing ids learns nothing.
 */
export function entityId(id: string, typename: string): string {
  if (UUID.test(id)) return id.toLowerCase();
  try {
    const decoded = decodeGlobalID(id);
    if (decoded.typename === typename && UUID.test(decoded.id)) return decoded.id.toLowerCase();
  } catch {
    // fall through
  }
  throw new NotFoundError(typename);
}
