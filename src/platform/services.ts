/**
 * The registry of services every door hands to its handlers. Each module adds its own
 * services by declaration merging (`declare module '../../platform/services'`), so nothing
 * here imports a module.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}
