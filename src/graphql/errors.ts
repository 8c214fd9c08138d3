import { ConflictError, InputError, NotFoundError } from '../db/errors';
import { builder } from './builder';

/** Typed errors returned as members of mutation result unions (DESIGN §1). */
export const ErrorInterface = builder.interfaceRef<Error & { code: string }>('Error').implement({
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code'),
  }),
});

builder.objectType(InputError, {
  name: 'InputError',
  description: 'The input was refused; `field` names the offending argument when known.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ field: t.exposeString('field', { nullable: true }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  fields: () => ({}),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  interfaces: [ErrorInterface],
  fields: () => ({}),
});

/** The errors most mutations can return. */
export const commonErrors = [InputError, NotFoundError, ConflictError];
