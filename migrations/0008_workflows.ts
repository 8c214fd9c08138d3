import { Migration } from '@mikro-orm/migrations';
import { definerFunction, tenantIsolation } from './sql';

// Workflows (issue 8, seed 001): workspaces and their revisions, REST workers, jobs and their steps.
export class Migration0008Workflows extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table workspaces (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  name text not null,
  revision text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint workspaces_name check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
);
create unique index workspaces_name_key on workspaces (tenant_id, name);

-- Every revision a job may still point at: jobs pin the revision they were created from, so a
-- worker fetching an old job's files gets the files that job was validated against.
create table workspace_revisions (
  tenant_id uuid not null,
  workspace_id uuid not null,
  revision text not null,
  archive bytea not null,
  definition jsonb not null,
  file_count integer not null,
  size_bytes bigint not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, workspace_id, revision),
  foreign key (tenant_id, workspace_id) references workspaces (tenant_id, id) on delete cascade
);

create table workers (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  name text not null,
  tags text[] not null default '{}',
  version text,
  status text not null default 'active',
  account_id uuid,
  last_heartbeat_at timestamptz not null default now(),
  registered_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint workers_status check (status in ('active', 'inactive'))
);
create index workers_heartbeat_idx on workers (last_heartbeat_at) where status = 'active';

create table jobs (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  workspace text not null,
  revision text not null,
  task_name text not null,
  mode text not null default 'distributed',
  status text not null default 'pending',
  input jsonb not null default '{}',
  output jsonb,
  error_message text,
  source_type text not null default 'api',
  source_id text,
  -- source 'run': set once the calling run has been put back in the queue with the result.
  caller_resumed boolean not null default false,
  timeout_seconds integer,
  deadline_at timestamptz,
  -- Local mode: the whole job is claimed by one worker; these say which and what it needs.
  worker_id uuid,
  required_tags text[] not null default '{}',
  -- Last allocated log line seq: allocated under this row's lock, so gap-free and ordered.
  log_seq bigint not null default 0,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint jobs_mode check (mode in ('distributed', 'local')),
  constraint jobs_status check (status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
  constraint jobs_source_type check (source_type in ('api', 'user', 'run'))
);
create index jobs_tenant_created_idx on jobs (tenant_id, created_at desc, id desc);
create index jobs_workspace_created_idx on jobs (tenant_id, workspace, created_at desc, id desc);
create unique index jobs_source_key on jobs (tenant_id, source_type, source_id) where source_type = 'run';
create index jobs_local_ready_idx on jobs (tenant_id, created_at) where mode = 'local' and status = 'pending' and worker_id is null;
create index jobs_deadline_idx on jobs (deadline_at) where status in ('pending', 'running') and deadline_at is not null;

create table job_steps (
  tenant_id uuid not null,
  job_id uuid not null,
  step_name text not null,
  position integer not null,
  action_name text not null,
  action_type text not null,
  action_image text,
  runner text not null,
  -- The action as defined (templates unrendered) and the step's input templates; the rendered
  -- input and spec replace them on the row when the step is claimed.
  action_spec jsonb not null,
  input_template jsonb not null default '{}',
  input jsonb,
  output jsonb,
  status text not null,
  required_tags text[] not null default '{}',
  depends_on text[] not null default '{}',
  continue_on_failure boolean not null default false,
  when_condition text,
  timeout_seconds integer,
  worker_id uuid,
  -- agent steps: the run that carries out the step.
  run_id uuid,
  error_message text,
  ready_at timestamptz,
  started_at timestamptz,
  completed_at timestamptz,
  primary key (tenant_id, job_id, step_name),
  foreign key (tenant_id, job_id) references jobs (tenant_id, id) on delete cascade,
  constraint job_steps_status check (status in ('pending', 'ready', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
  constraint job_steps_action_type check (action_type in ('script', 'docker', 'pod', 'agent')),
  constraint job_steps_runner check (runner in ('local', 'docker', 'pod', 'none'))
);
-- What REST workers claim: ready, not agent steps (the built-in pool runs those), oldest first.
create index job_steps_ready_idx on job_steps (tenant_id, ready_at) where status = 'ready' and action_type <> 'agent';
create index job_steps_running_idx on job_steps (tenant_id, worker_id) where status = 'running';
create index job_steps_agent_idx on job_steps (status) where action_type = 'agent';

${tenantIsolation('workspaces')}
${tenantIsolation('workspace_revisions')}
${tenantIsolation('workers')}
${tenantIsolation('jobs')}
${tenantIsolation('job_steps')}
grant select, insert, update, delete on workspaces, workspace_revisions, workers to runlane_app;
grant select, insert, update on jobs, job_steps to runlane_app;
grant select, update on workers to runlane_definer;
grant select on jobs, job_steps to runlane_definer;
grant select on agent_runs to runlane_definer;

-- The workflow sweeper (seed 001's recovery) sees every tenant through these, ids only; it acts on
-- each in its tenant's transaction, where it checks the condition again.

-- Workers silent for longer than the heartbeat timeout become inactive (a heartbeat revives them).
create function runlane_silent_workers(p_silent_seconds integer, p_limit integer)
returns table (tenant_id uuid, id uuid)
language sql volatile security definer set search_path = pg_catalog, public
as $$
  update public.workers w
     set status = 'inactive'
   where (w.tenant_id, w.id) in (
     select q.tenant_id, q.id from public.workers q
      where q.status = 'active' and q.last_heartbeat_at < now() - make_interval(secs => p_silent_seconds)
      limit p_limit
      for update skip locked)
  returning w.tenant_id, w.id
$$;
${definerFunction('runlane_silent_workers(integer, integer)')}

-- Steps that must be failed or cancelled now, for one of four reasons (seed 001 §recovery):
--   orphaned:  running on a worker that is inactive;
--   unmatched: ready for p_unmatched_seconds and no active worker of the tenant has its tags;
--   timed_out: running past its timeout plus p_grace_seconds (the worker enforces it first);
--   job_timed_out: (step_name null) the job is past its deadline.
create function runlane_workflow_due(p_unmatched_seconds integer, p_grace_seconds integer, p_limit integer)
returns table (reason text, tenant_id uuid, job_id uuid, step_name text)
language sql stable security definer set search_path = pg_catalog, public
as $$
  (select 'orphaned', s.tenant_id, s.job_id, s.step_name
     from public.job_steps s
     join public.workers w on w.tenant_id = s.tenant_id and w.id = s.worker_id
    where s.status = 'running' and s.action_type <> 'agent' and w.status = 'inactive'
    limit p_limit)
  union all
  (select 'unmatched', s.tenant_id, s.job_id, s.step_name
     from public.job_steps s
    where s.status = 'ready' and s.action_type <> 'agent'
      and s.ready_at < now() - make_interval(secs => p_unmatched_seconds)
      and not exists (select 1 from public.workers w
                       where w.tenant_id = s.tenant_id and w.status = 'active' and s.required_tags <@ w.tags)
    limit p_limit)
  union all
  (select 'timed_out', s.tenant_id, s.job_id, s.step_name
     from public.job_steps s
    where s.status = 'running' and s.timeout_seconds is not null
      and s.started_at < now() - make_interval(secs => s.timeout_seconds + p_grace_seconds)
    limit p_limit)
  union all
  (select 'job_timed_out', j.tenant_id, j.id, null
     from public.jobs j
    where j.status in ('pending', 'running') and j.deadline_at < now()
    limit p_limit)
  union all
  (select 'unmatched', j.tenant_id, j.id, null
     from public.jobs j
    where j.mode = 'local' and j.status = 'pending' and j.worker_id is null
      and j.created_at < now() - make_interval(secs => p_unmatched_seconds)
      and not exists (select 1 from public.workers w
                       where w.tenant_id = j.tenant_id and w.status = 'active' and j.required_tags <@ w.tags)
    limit p_limit)
  union all
  (select 'orphaned', j.tenant_id, j.id, null
     from public.jobs j
     join public.workers w on w.tenant_id = j.tenant_id and w.id = j.worker_id
    where j.mode = 'local' and j.status in ('pending', 'running') and w.status = 'inactive'
    limit p_limit)
$$;
${definerFunction('runlane_workflow_due(integer, integer, integer)')}

-- Agent steps the built-in pool must act on: ready ones need their run enqueued, running ones
-- whose run has ended complete with it, and cancelled (or timed out) ones stop their run.
create function runlane_agent_steps_due(p_limit integer)
returns table (reason text, tenant_id uuid, job_id uuid, step_name text)
language sql stable security definer set search_path = pg_catalog, public
as $$
  (select 'start', s.tenant_id, s.job_id, s.step_name
     from public.job_steps s
    where s.action_type = 'agent' and s.status = 'ready'
    limit p_limit)
  union all
  (select 'finish', s.tenant_id, s.job_id, s.step_name
     from public.job_steps s
     join public.agent_runs r on r.tenant_id = s.tenant_id and r.id = s.run_id
    where s.action_type = 'agent' and s.status = 'running'
      and r.status in ('succeeded', 'failed', 'cancelled')
    limit p_limit)
  union all
  (select 'cancel', s.tenant_id, s.job_id, s.step_name
     from public.job_steps s
     join public.agent_runs r on r.tenant_id = s.tenant_id and r.id = s.run_id
    where s.action_type = 'agent' and s.status in ('cancelled', 'failed')
      and r.status in ('queued', 'running', 'waiting')
    limit p_limit)
$$;
${definerFunction('runlane_agent_steps_due(integer)')}

-- Agent runs waiting on a workflow action they called as a tool, whose job has ended (or whose
-- deadline has passed: resumed, the run fails with timeout before calling the tool again).
create function runlane_runs_awaiting_jobs(p_limit integer)
returns table (tenant_id uuid, run_id uuid, job_id uuid)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select r.tenant_id, r.id, j.id
    from public.jobs j
    join public.agent_runs r on r.tenant_id = j.tenant_id and r.id = split_part(j.source_id, ':', 1)::uuid
   where j.source_type = 'run' and not j.caller_resumed and r.status = 'waiting'
     and (j.status in ('completed', 'failed', 'cancelled') or r.deadline_at < now())
   limit p_limit
$$;
${definerFunction('runlane_runs_awaiting_jobs(integer)')}

-- Jobs started by a run's tool call whose run has ended (cancelled, failed, timed out): nobody
-- waits for their result any more, so they are cancelled.
create function runlane_orphaned_action_jobs(p_limit integer)
returns table (tenant_id uuid, job_id uuid)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select j.tenant_id, j.id
    from public.jobs j
    join public.agent_runs r on r.tenant_id = j.tenant_id and r.id = split_part(j.source_id, ':', 1)::uuid
   where j.source_type = 'run' and j.status in ('pending', 'running')
     and r.status in ('succeeded', 'failed', 'cancelled')
   limit p_limit
$$;
${definerFunction('runlane_orphaned_action_jobs(integer)')}
`);
  }
}
