// Where the tests find the machine's services. Overridable for other machines.
export function adminUrl(): string {
  return process.env.RUNLANE_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function redisUrl(): string {
  return process.env.RUNLANE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}
