import { defineEntity, type InferEntity } from '@mikro-orm/core';

/**
 * A tenant's contact. The table also has generated `email_normalized`, `phone_normalized` and
 * `name_normalized` columns; they are used only by the duplicate search (raw SQL in the service),
 * so the entity leaves them out and never tries to write them.
 */
export const ContactSchema = defineEntity({
  name: 'Contact',
  tableName: 'contacts',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    /** The id in the system the contact was imported from; imports upsert on it. */
    externalId: p.text().nullable(),
    name: p.text().nullable(),
    email: p.text().nullable(),
    phone: p.text().nullable(),
    company: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
});

export type Contact = InferEntity<typeof ContactSchema>;
