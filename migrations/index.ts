import { Migration0001Foundation } from './0001_foundation';
import { Migration0002SecretsAndConfigs } from './0002_secrets_and_configs';
import { Migration0003Apps } from './0003_apps';
import { Migration0004AgentRuns } from './0004_agent_runs';
import { Migration0005RunPathTuning } from './0005_run_path_tuning';
import { Migration0006Approvals } from './0006_approvals';
import { Migration0007LogRetention } from './0007_log_retention';
import { Migration0008Workflows } from './0008_workflows';

// Explicit, ordered list: the migrator never globs the file system.
export const migrations = [
  { name: '0001_foundation', class: Migration0001Foundation },
  { name: '0002_secrets_and_configs', class: Migration0002SecretsAndConfigs },
  { name: '0003_apps', class: Migration0003Apps },
  { name: '0004_agent_runs', class: Migration0004AgentRuns },
  { name: '0005_run_path_tuning', class: Migration0005RunPathTuning },
  { name: '0006_approvals', class: Migration0006Approvals },
  { name: '0007_log_retention', class: Migration0007LogRetention },
  { name: '0008_workflows', class: Migration0008Workflows },
];
