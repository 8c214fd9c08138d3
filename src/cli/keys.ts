import { createOrm } from '../db/orm';
import { beginLocalRotation, finishLocalRotation } from '../platform/master-key';
import { SecretBox } from '../platform/secret-box';
import type { CommandArgs } from './index';
import { CliError, configOrExit, keyringFor, openDatabase, quietLoggerFor } from './runtime';

/**
 * `runlane keys rotate-master`: rewraps every tenant data key under the current master key.
 * With RUNLANE_MASTER_KEY: set it to the new key and RUNLANE_PREVIOUS_MASTER_KEYS to the old
 * one(s) on every process first. Without it (local key file): a new key file replaces the old
 * one, which is kept as master.key.previous until the rewrap completes. Safe to run again
 * after an interruption: it carries on where it stopped.
 */
export async function keysCommand(args: CommandArgs): Promise<number> {
  if (args.positionals[0] !== 'rotate-master') throw new CliError('Usage: runlane keys rotate-master', 2);
  const config = configOrExit();
  const log = quietLoggerFor(config);
  const local = !config.masterKey;
  if (local) {
    if (config.env === 'production') throw new CliError('RUNLANE_MASTER_KEY is required in production.');
    await beginLocalRotation(config.dataDir);
  } else if (config.previousMasterKeys.length === 0) {
    throw new CliError(
      'Set RUNLANE_MASTER_KEY to the new key and RUNLANE_PREVIOUS_MASTER_KEYS to the key(s) it replaces, on every process, then run this again.',
    );
  }
  const keyring = await keyringFor(config, log);
  const db = await openDatabase(config, log);
  const orm = await createOrm({ url: db.appUrl, poolSize: 2, entities: [] });
  try {
    const count = await new SecretBox(keyring).rewrapAll(orm, (done) => {
      if (done % 100 === 0) process.stderr.write(`  rewrapped ${done}…\n`);
    });
    if (local) await finishLocalRotation(config.dataDir);
    process.stdout.write(
      `Rewrapped ${count} tenant data key(s) under master key ${keyring.current.id}.` +
        (local ? '\n' : ' Remove RUNLANE_PREVIOUS_MASTER_KEYS once every process runs with the new key.\n'),
    );
    return 0;
  } finally {
    await orm.close(true);
    await db.close();
  }
}
