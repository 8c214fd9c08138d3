import { decodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError } from '../db/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Entity arguments accept the Relay global id or the plain UUID REST uses. A global id of
 * another type, or garbage, names no entity of this type: null here, NotFound in entityId,
 * never a parse error, so probing ids learns nothing.
 */
export function optionalEntityId(id: string, typename: string): string | null {
  if (UUID.test(id)) return id.toLowerCase();
  try {
    const decoded = decodeGlobalID(id);
    if (decoded.typename === typename && UUID.test(decoded.id)) return decoded.id.toLowerCase();
  } catch {
    // not a global id
  }
  return null;
}

export function entityId(id: string, typename: string): string {
  const uuid = optionalEntityId(id, typename);
  if (!uuid) throw new NotFoundError(typename);
  return uuid;
}
