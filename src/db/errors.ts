import {
  CheckConstraintViolationException,
  DriverException,
  ForeignKeyConstraintViolationException,
  NotNullConstraintViolationException,
  OptimisticLockError,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';

/**
 * Errors every service may raise. The doors translate them: GraphQL into typed union members
 * or coded errors, REST into the status + JSON body of DESIGN §1. Messages are written for the
 * caller and never carry SQL, stack traces or secrets.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export class InputError extends DomainError {
  readonly code = 'INVALID_REQUEST';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(readonly entity: string) {
    super(`${entity} not found`);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHORIZED';
  constructor(message = 'Missing or invalid token.') {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
  constructor(readonly requiredScope: string) {
    super(`Missing required scope: ${requiredScope}`);
    this.name = 'ForbiddenError';
  }
}

/** The database is unreachable or refused the work for reasons the caller cannot fix. */
export class UnavailableError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(message = 'The database is unavailable; try again shortly.') {
    super(message);
    this.name = 'UnavailableError';
  }
}

// Constraint names that carry a meaning for the caller.
const constraintMessages: Record<string, string> = {
  accounts_tenant_name_key: 'An account with this name already exists.',
  accounts_name_length: 'Account name must be 1 to 120 characters.',
  tenants_slug_key: 'A tenant with this slug already exists.',
  tenants_slug_format: 'Tenant slug must be lowercase letters, digits and dashes (at most 63).',
  apps_tenant_slug_key: 'An app with this slug already exists.',
};

function constraintOf(err: DriverException): string | undefined {
  const raw = err as DriverException & { constraint?: string };
  if (raw.constraint) return raw.constraint;
  const match = /constraint "([^"]+)"/.exec(err.message);
  return match?.[1];
}

/** Turns driver errors into domain errors; anything unknown is returned unchanged (and masked later). */
export function mapDriverError(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  if (err instanceof OptimisticLockError) {
    return new ConflictError('The record was changed concurrently; read it again and retry.');
  }
  if (!(err instanceof DriverException)) return pgCodeError(err) ?? err;
  const constraint = constraintOf(err);
  const known = constraint ? constraintMessages[constraint] : undefined;
  if (err instanceof UniqueConstraintViolationException) {
    return new ConflictError(known ?? 'A record with the same unique values already exists.');
  }
  if (err instanceof CheckConstraintViolationException || err instanceof NotNullConstraintViolationException) {
    return new InputError(known ?? 'A value is missing or out of range.');
  }
  if (err instanceof ForeignKeyConstraintViolationException) {
    return new NotFoundError('Referenced record');
  }
  return pgCodeError(err) ?? err;
}

function pgCodeError(err: unknown): DomainError | undefined {
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case '22021': // character_not_in_repertoire, e.g. a NUL byte in text
    case '08P01': // protocol_violation: what pg reports for a NUL byte in a parameter
    case '22P05': // untranslatable_character: \u0000 in a JSON value stored as jsonb
      return new InputError('Text must not contain NUL characters or invalid UTF-8.');
    case '22P02': // invalid_text_representation, e.g. a malformed uuid
    case '22007': // invalid_datetime_format
    case '22008': // datetime_field_overflow
      return new InputError('A value has the wrong format.');
    case '42501': // insufficient_privilege: RLS WITH CHECK refused the row
      return new NotFoundError('Record');
    case 'ECONNREFUSED':
    case '57P01': // admin_shutdown
    case '57P03': // cannot_connect_now
    case '53300': // too_many_connections
      return new UnavailableError();
    default:
      return undefined;
  }
}
