import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** A calendar date, YYYY-MM-DD. */
  Date: { input: string; output: string; }
  /** An ISO-8601 timestamp in UTC. */
  DateTime: { input: string; output: string; }
  /** A file sent as part of a multipart request (GraphQL multipart request spec). */
  File: { input: any; output: any; }
  /** Any JSON value. */
  JSON: { input: unknown; output: unknown; }
  UUID: { input: string; output: string; }
};

/** A service account: a named token with scopes, owned by the tenant. */
export type Account = Node & {
  __typename?: 'Account';
  createdAt: Scalars['DateTime']['output'];
  description?: Maybe<Scalars['String']['output']>;
  expiresAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  lastAuthMethod?: Maybe<AuthMethod>;
  lastUsedAt?: Maybe<Scalars['DateTime']['output']>;
  lastUsedIp?: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  owner?: Maybe<Scalars['String']['output']>;
  pausedAt?: Maybe<Scalars['DateTime']['output']>;
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
  rotatedAt?: Maybe<Scalars['DateTime']['output']>;
  scopes: Array<Scalars['String']['output']>;
  status: AccountStatus;
  /** First 12 and last 4 characters of the current token; the token itself is never shown again. */
  tokenHint: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
  uuid: Scalars['UUID']['output'];
};

export type AccountConnection = {
  __typename?: 'AccountConnection';
  edges: Array<AccountEdge>;
  pageInfo: PageInfo;
};

export type AccountEdge = {
  __typename?: 'AccountEdge';
  cursor: Scalars['String']['output'];
  node: Account;
};

export type AccountStatus =
  | 'ACTIVE'
  | 'EXPIRED'
  | 'PAUSED'
  | 'REVOKED';

/** The only type that ever carries a token: returned once, by createAccount and rotateAccountToken. */
export type AccountWithToken = {
  __typename?: 'AccountWithToken';
  account: Account;
  token: Scalars['String']['output'];
};

export type ActionType =
  | 'AGENT'
  | 'DOCKER'
  | 'POD'
  | 'SCRIPT';

/** A tenant's configuration of one blueprint. Key material never leaves the server; only a hint does. */
export type AgentConfig = Node & {
  __typename?: 'AgentConfig';
  blueprint: Scalars['String']['output'];
  budgetDefaultCents?: Maybe<Scalars['Int']['output']>;
  byokKeyHint?: Maybe<Scalars['String']['output']>;
  byokLastProbedAt?: Maybe<Scalars['DateTime']['output']>;
  byokStatus: ByokStatus;
  byokStatusReason?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  deadlineDefaultSeconds?: Maybe<Scalars['Int']['output']>;
  disableReason?: Maybe<Scalars['String']['output']>;
  disabledAt?: Maybe<Scalars['DateTime']['output']>;
  guardrails: Scalars['JSON']['output'];
  id: Scalars['ID']['output'];
  model?: Maybe<Scalars['String']['output']>;
  schedule?: Maybe<Scalars['String']['output']>;
  systemPrompt?: Maybe<Scalars['String']['output']>;
  tools: Array<Scalars['String']['output']>;
  updatedAt: Scalars['DateTime']['output'];
  uuid: Scalars['UUID']['output'];
};

/** Full replace: every field omitted becomes null (lists: empty). */
export type AgentConfigInput = {
  budgetDefaultCents?: InputMaybe<Scalars['Int']['input']>;
  deadlineDefaultSeconds?: InputMaybe<Scalars['Int']['input']>;
  /** A list of guardrail rules (docs/guardrails.md). */
  guardrails?: InputMaybe<Scalars['JSON']['input']>;
  model?: InputMaybe<Scalars['String']['input']>;
  /** Cron: 5 fields, or 6 with seconds first. */
  schedule?: InputMaybe<Scalars['String']['input']>;
  systemPrompt?: InputMaybe<Scalars['String']['input']>;
  tools?: InputMaybe<Array<Scalars['String']['input']>>;
};

/** A tenant-registered MCP server whose enabled tools agent runs may call. */
export type App = Node & {
  __typename?: 'App';
  authHeaderName?: Maybe<Scalars['String']['output']>;
  /** A redacted preview of the secret. */
  authHint?: Maybe<Scalars['String']['output']>;
  authType: AppAuthType;
  createdAt: Scalars['DateTime']['output'];
  description?: Maybe<Scalars['String']['output']>;
  discoveredTools: Array<DiscoveredTool>;
  displayName: Scalars['String']['output'];
  enabledTools: Array<Scalars['String']['output']>;
  failureStreak: Scalars['Int']['output'];
  id: Scalars['ID']['output'];
  lastProbe?: Maybe<AppLastProbe>;
  lastProbedAt?: Maybe<Scalars['DateTime']['output']>;
  mcpServerUrl: Scalars['String']['output'];
  metadata: Scalars['JSON']['output'];
  slug: Scalars['String']['output'];
  status: AppStatus;
  updatedAt: Scalars['DateTime']['output'];
  uuid: Scalars['UUID']['output'];
};

/** BEARER needs token; HEADER needs name and value; NONE needs nothing. */
export type AppAuthInput = {
  name?: InputMaybe<Scalars['String']['input']>;
  token?: InputMaybe<Scalars['String']['input']>;
  type: AppAuthType;
  value?: InputMaybe<Scalars['String']['input']>;
};

export type AppAuthType =
  | 'BEARER'
  | 'HEADER'
  | 'NONE';

export type AppConnection = {
  __typename?: 'AppConnection';
  edges: Array<AppEdge>;
  pageInfo: PageInfo;
};

export type AppEdge = {
  __typename?: 'AppEdge';
  cursor: Scalars['String']['output'];
  node: App;
};

export type AppLastProbe = {
  __typename?: 'AppLastProbe';
  error?: Maybe<Scalars['String']['output']>;
  latencyMs?: Maybe<Scalars['Int']['output']>;
  ok: Scalars['Boolean']['output'];
  probedAt: Scalars['DateTime']['output'];
};

/** The outcome of one probe: initialize, then tools/list. */
export type AppProbe = {
  __typename?: 'AppProbe';
  error?: Maybe<Scalars['String']['output']>;
  latencyMs: Scalars['Int']['output'];
  ok: Scalars['Boolean']['output'];
  probedAt: Scalars['DateTime']['output'];
  /** unreachable, timeout, http_error, unauthorized, protocol_error, too_large, too_many_tools, cancelled or disabled */
  reason?: Maybe<Scalars['String']['output']>;
  tools: Array<AppTool>;
};

export type AppStatus =
  | 'ACTIVE'
  | 'DISABLED'
  | 'UNHEALTHY';

/** A tool as one probe saw it. */
export type AppTool = {
  __typename?: 'AppTool';
  annotations?: Maybe<Scalars['JSON']['output']>;
  description?: Maybe<Scalars['String']['output']>;
  inputSchema: Scalars['JSON']['output'];
  name: Scalars['String']['output'];
  title?: Maybe<Scalars['String']['output']>;
};

/** A tool call an approval_gate rule paused until a person decides; the run waits meanwhile. */
export type Approval = Node & {
  __typename?: 'Approval';
  /** The run’s cost when it paused, US cents. */
  costSoFarUsdCents: Scalars['Float']['output'];
  createdAt: Scalars['DateTime']['output'];
  decidedAt?: Maybe<Scalars['DateTime']['output']>;
  /** The deciding account’s name, or "system:expiry". */
  decidedBy?: Maybe<Scalars['String']['output']>;
  /** Arguments the approver substituted; null when approved as asked. */
  decidedInput?: Maybe<Scalars['JSON']['output']>;
  decisionNote?: Maybe<Scalars['String']['output']>;
  expiresAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  /** The arguments the model asked for. */
  input: Scalars['JSON']['output'];
  onReject: ApprovalOnReject;
  reason: Scalars['String']['output'];
  /** Position of the approval_gate rule in the config’s guardrails. */
  ruleIndex: Scalars['Int']['output'];
  run: Run;
  status: ApprovalStatus;
  /** The journal position of the paused call. */
  stepSeq: Scalars['Int']['output'];
  tool: Scalars['String']['output'];
  uuid: Scalars['UUID']['output'];
};

export type ApprovalConnection = {
  __typename?: 'ApprovalConnection';
  edges: Array<ApprovalEdge>;
  pageInfo: PageInfo;
};

export type ApprovalDecision =
  | 'APPROVE'
  | 'REJECT';

export type ApprovalEdge = {
  __typename?: 'ApprovalEdge';
  cursor: Scalars['String']['output'];
  node: Approval;
};

/** What a rejection does: fail the run, or tell the model the call was refused and go on. */
export type ApprovalOnReject =
  | 'FAIL'
  | 'INFORM_MODEL';

export type ApprovalStatus =
  | 'APPROVED'
  | 'EXPIRED'
  | 'PENDING'
  | 'REJECTED';

/** One secret or config operation: who, what, when, on which target. Never a secret. */
export type AuditEvent = {
  __typename?: 'AuditEvent';
  action: Scalars['String']['output'];
  /** The account name, or "operator (cli)". */
  actor: Scalars['String']['output'];
  actorAccountId?: Maybe<Scalars['UUID']['output']>;
  createdAt: Scalars['DateTime']['output'];
  detail: Scalars['JSON']['output'];
  targetId?: Maybe<Scalars['String']['output']>;
  targetType: Scalars['String']['output'];
  uuid: Scalars['UUID']['output'];
};

export type AuditEventConnection = {
  __typename?: 'AuditEventConnection';
  edges: Array<AuditEventEdge>;
  pageInfo: PageInfo;
};

export type AuditEventEdge = {
  __typename?: 'AuditEventEdge';
  cursor: Scalars['String']['output'];
  node: AuditEvent;
};

export type AuthMethod =
  | 'AUTHORIZATION'
  | 'WEBSOCKET'
  | 'X_RUNLANE_TOKEN';

export type BillingDay = {
  __typename?: 'BillingDay';
  blueprint: Scalars['String']['output'];
  cacheReadTokens: Scalars['Int']['output'];
  cacheWriteTokens: Scalars['Int']['output'];
  costUsdCents: Scalars['Float']['output'];
  day: Scalars['Date']['output'];
  failed: Scalars['Int']['output'];
  inputTokens: Scalars['Int']['output'];
  outputTokens: Scalars['Int']['output'];
  platformFeeCents: Scalars['Float']['output'];
  runs: Scalars['Int']['output'];
  succeeded: Scalars['Int']['output'];
};

/** A code-defined agent kind and its defaults. */
export type Blueprint = {
  __typename?: 'Blueprint';
  budgetDefaultCents: Scalars['Int']['output'];
  deadlineDefaultSeconds: Scalars['Int']['output'];
  description: Scalars['String']['output'];
  guardrails: Scalars['JSON']['output'];
  model: Scalars['String']['output'];
  name: Scalars['String']['output'];
  systemPrompt: Scalars['String']['output'];
  tools: Array<Scalars['String']['output']>;
};

export type ByokStatus =
  | 'ACTIVE'
  | 'INVALID'
  | 'MISSING'
  | 'REVOKED';

export type CancelJobResult = ConflictError | Job | NotFoundError;

export type CancelRunResult = ConflictError | NotFoundError | Run;

export type ConflictError = Error & {
  __typename?: 'ConflictError';
  code: Scalars['String']['output'];
  message: Scalars['String']['output'];
};

/** A contact of the tenant, as imported. */
export type Contact = Node & {
  __typename?: 'Contact';
  company?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  email?: Maybe<Scalars['String']['output']>;
  /** The id in the system the contact came from. */
  externalId?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  name?: Maybe<Scalars['String']['output']>;
  phone?: Maybe<Scalars['String']['output']>;
  uuid: Scalars['UUID']['output'];
};

export type ContactConnection = {
  __typename?: 'ContactConnection';
  edges: Array<ContactEdge>;
  pageInfo: PageInfo;
};

export type ContactEdge = {
  __typename?: 'ContactEdge';
  cursor: Scalars['String']['output'];
  node: Contact;
};

/** At least one of name, email or phone. A contact whose externalId exists already is updated. */
export type ContactInput = {
  /** At most 300 characters. */
  company?: InputMaybe<Scalars['String']['input']>;
  /** At most 320 characters. */
  email?: InputMaybe<Scalars['String']['input']>;
  /** At most 200 characters. */
  externalId?: InputMaybe<Scalars['String']['input']>;
  /** At most 300 characters. */
  name?: InputMaybe<Scalars['String']['input']>;
  /** At most 50 characters. */
  phone?: InputMaybe<Scalars['String']['input']>;
};

export type CreateAccountInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  expiresAt?: InputMaybe<Scalars['DateTime']['input']>;
  name: Scalars['String']['input'];
  owner?: InputMaybe<Scalars['String']['input']>;
  scopes: Array<Scalars['String']['input']>;
};

export type CreateAccountResult = AccountWithToken | ConflictError | InputError;

export type DecideApprovalResult = Approval | ConflictError | InputError | NotFoundError;

export type DeleteAccountResult = DeletedAccount | NotFoundError;

export type DeleteAgentConfigResult = AgentConfig | NotFoundError;

export type DeleteAppResult = App | NotFoundError;

export type DeleteWorkerResult = NotFoundError | Worker;

export type DeleteWorkspaceResult = InputError | NotFoundError | Workspace;

export type DeletedAccount = {
  __typename?: 'DeletedAccount';
  /** The UUID of the account that no longer exists. */
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
};

/** A tool the MCP server has advertised, remembered across probes. */
export type DiscoveredTool = {
  __typename?: 'DiscoveredTool';
  annotations?: Maybe<Scalars['JSON']['output']>;
  description?: Maybe<Scalars['String']['output']>;
  /** Offered to agent runs. */
  enabled: Scalars['Boolean']['output'];
  firstSeenAt: Scalars['DateTime']['output'];
  inputSchema: Scalars['JSON']['output'];
  lastSeenAt: Scalars['DateTime']['output'];
  name: Scalars['String']['output'];
  /** No longer advertised by the server. */
  stale: Scalars['Boolean']['output'];
  title?: Maybe<Scalars['String']['output']>;
};

export type EnableAgentConfigResult = AgentConfig | NotFoundError;

/** Anything omitted comes from the agent config, then the blueprint. */
export type EnqueueRunInput = {
  budgetUsdCents?: InputMaybe<Scalars['Float']['input']>;
  deadlineSeconds?: InputMaybe<Scalars['Int']['input']>;
  /** A second enqueue with the same key answers the first run. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  input?: InputMaybe<Scalars['JSON']['input']>;
  /** Run no earlier than this. */
  runAt?: InputMaybe<Scalars['DateTime']['input']>;
};

export type EnqueueRunResult = ConflictError | InputError | NotFoundError | Run;

export type Error = {
  code: Scalars['String']['output'];
  message: Scalars['String']['output'];
};

export type ExecuteTaskPayload = {
  __typename?: 'ExecuteTaskPayload';
  job: Job;
};

export type ExecuteTaskResult = ExecuteTaskPayload | InputError | NotFoundError;

export type FailureCategory =
  | 'AUTH_FAILED'
  | 'BUDGET_EXHAUSTED'
  | 'CANCELLED'
  | 'CONFIG_ERROR'
  | 'GUARDRAIL_BLOCKED'
  | 'TIMEOUT'
  | 'TOOL_FAILED';

export type ImportContactsPayload = {
  __typename?: 'ImportContactsPayload';
  inserted: Scalars['Int']['output'];
  /** Contacts matched by externalId and replaced. */
  updated: Scalars['Int']['output'];
};

export type ImportContactsResult = ImportContactsPayload | InputError;

/** The input was refused; `field` names the offending argument when known. */
export type InputError = Error & {
  __typename?: 'InputError';
  code: Scalars['String']['output'];
  field?: Maybe<Scalars['String']['output']>;
  message: Scalars['String']['output'];
};

/** A provider credential. Only its last four characters are ever shown. */
export type IntegrationKey = Node & {
  __typename?: 'IntegrationKey';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  keyHint: Scalars['String']['output'];
  label?: Maybe<Scalars['String']['output']>;
  lastVerifiedAt?: Maybe<Scalars['DateTime']['output']>;
  metadata: Scalars['JSON']['output'];
  provider: IntegrationProvider;
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
  status: IntegrationKeyStatus;
  uuid: Scalars['UUID']['output'];
};

export type IntegrationKeyStatus =
  | 'ACTIVE'
  | 'INVALID'
  | 'REVOKED';

export type IntegrationKeyVerification = {
  __typename?: 'IntegrationKeyVerification';
  lastVerifiedAt?: Maybe<Scalars['DateTime']['output']>;
  /** auth_failed or provider_unavailable */
  reason?: Maybe<Scalars['String']['output']>;
  valid: Scalars['Boolean']['output'];
};

export type IntegrationProvider =
  | 'CLOUDFLARE'
  | 'GITHUB'
  | 'NETDATA'
  | 'OUTSTAND'
  | 'POSTMARK';

/** One execution of a workspace task. */
export type Job = Node & {
  __typename?: 'Job';
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  createdAt: Scalars['DateTime']['output'];
  errorMessage?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  input: Scalars['JSON']['output'];
  /** Oldest first, every step (server events under step _server); `after` is a line cursor, and jobLogs resumes from it too. */
  logs: LogLineConnection;
  mode: TaskMode;
  output?: Maybe<Scalars['JSON']['output']>;
  revision: Scalars['String']['output'];
  sourceId?: Maybe<Scalars['String']['output']>;
  sourceType: Scalars['String']['output'];
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  status: JobStatus;
  /** In flow order. */
  steps: Array<JobStep>;
  taskName: Scalars['String']['output'];
  uuid: Scalars['UUID']['output'];
  workspace: Scalars['String']['output'];
};


/** One execution of a workspace task. */
export type JobLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  step?: InputMaybe<Scalars['String']['input']>;
};

export type JobConnection = {
  __typename?: 'JobConnection';
  edges: Array<JobEdge>;
  pageInfo: PageInfo;
};

export type JobEdge = {
  __typename?: 'JobEdge';
  cursor: Scalars['String']['output'];
  node: Job;
};

export type JobStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'PENDING'
  | 'RUNNING';

export type JobStep = {
  __typename?: 'JobStep';
  actionName: Scalars['String']['output'];
  actionType: ActionType;
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  continueOnFailure: Scalars['Boolean']['output'];
  dependsOn: Array<Scalars['String']['output']>;
  errorMessage?: Maybe<Scalars['String']['output']>;
  /** Rendered when the step was claimed. */
  input?: Maybe<Scalars['JSON']['output']>;
  name: Scalars['String']['output'];
  output?: Maybe<Scalars['JSON']['output']>;
  requiredTags: Array<Scalars['String']['output']>;
  /** Agent steps: the run that carries the step out. */
  runId?: Maybe<Scalars['UUID']['output']>;
  runner: Scalars['String']['output'];
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  status: JobStepStatus;
  workerId?: Maybe<Scalars['UUID']['output']>;
};

export type JobStepStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'PENDING'
  | 'READY'
  | 'RUNNING'
  | 'SKIPPED';

/** The outcome of a live, token-free call to Anthropic with the key. */
export type KeyProbe = {
  __typename?: 'KeyProbe';
  category?: Maybe<KeyProbeCategory>;
  message?: Maybe<Scalars['String']['output']>;
  valid: Scalars['Boolean']['output'];
};

/** Why a key failed its probe. The first four need an operator; RATE_LIMITED and PROVIDER_UNAVAILABLE are not the key's fault (KeyProbeError.transient says whether retrying can help). */
export type KeyProbeCategory =
  | 'INSUFFICIENT_PERMISSIONS'
  | 'INVALID_KEY'
  | 'PROVIDER_UNAVAILABLE'
  | 'QUOTA_EXHAUSTED'
  | 'RATE_LIMITED'
  | 'REVOKED_OR_EXPIRED';

/** setByokKey refused the key; nothing was stored. */
export type KeyProbeError = Error & {
  __typename?: 'KeyProbeError';
  category: KeyProbeCategory;
  code: Scalars['String']['output'];
  message: Scalars['String']['output'];
  transient: Scalars['Boolean']['output'];
};

export type LogLine = {
  __typename?: 'LogLine';
  cursor: Scalars['String']['output'];
  line: Scalars['String']['output'];
  step: Scalars['String']['output'];
  stream: LogStream;
  ts: Scalars['DateTime']['output'];
};

export type LogLineConnection = {
  __typename?: 'LogLineConnection';
  edges: Array<LogLineEdge>;
  pageInfo: PageInfo;
};

export type LogLineEdge = {
  __typename?: 'LogLineEdge';
  cursor: Scalars['String']['output'];
  node: LogLine;
};

export type LogStream =
  | 'LLM'
  | 'STDERR'
  | 'STDOUT'
  | 'SYSTEM'
  | 'TOOL';

/** A suggestion that two contacts describe the same person, made by an agent run or a person. */
export type MergeProposal = Node & {
  __typename?: 'MergeProposal';
  /** 0 to 1, three decimals. */
  confidence: Scalars['Float']['output'];
  /** The contact with the smaller UUID of the pair. */
  contactA: Contact;
  contactB: Contact;
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  reason: Scalars['String']['output'];
  /** The agent run that proposed the merge. */
  runId?: Maybe<Scalars['UUID']['output']>;
  status: MergeProposalStatus;
  uuid: Scalars['UUID']['output'];
};

export type MergeProposalConnection = {
  __typename?: 'MergeProposalConnection';
  edges: Array<MergeProposalEdge>;
  pageInfo: PageInfo;
};

export type MergeProposalEdge = {
  __typename?: 'MergeProposalEdge';
  cursor: Scalars['String']['output'];
  node: MergeProposal;
};

export type MergeProposalStatus =
  | 'ACCEPTED'
  | 'PROPOSED'
  | 'REJECTED';

export type Mutation = {
  __typename?: 'Mutation';
  cancelJob: CancelJobResult;
  cancelRun: CancelRunResult;
  /** Creates an account and reveals its token once. Scopes must be ones the caller holds. */
  createAccount: CreateAccountResult;
  /** Approves (optionally with edited arguments) or rejects a pending approval; the run resumes on any worker. */
  decideApproval: DecideApprovalResult;
  deleteAccount: DeleteAccountResult;
  deleteAgentConfig: DeleteAgentConfigResult;
  /** Hard delete; answers the app as it was. */
  deleteApp: DeleteAppResult;
  /** Forgets a worker (a still-running one must register again); answers it as it was. */
  deleteWorker: DeleteWorkerResult;
  deleteWorkspace: DeleteWorkspaceResult;
  /** Closes the circuit breaker: clears disabledAt and disableReason. */
  enableAgentConfig: EnableAgentConfigResult;
  enqueueRun: EnqueueRunResult;
  executeTask: ExecuteTaskResult;
  /** Imports up to 5,000 contacts, all or nothing; contacts with a known externalId are updated. */
  importContacts: ImportContactsResult;
  /** Pauses the account: its token is refused until resumed. */
  pauseAccount: PauseAccountResult;
  /** Probes now and answers the outcome, whatever it is. An unknown slug is a NOT_FOUND error. */
  probeApp: AppProbe;
  putAgentConfig: PutAgentConfigResult;
  /** Inserts the app and probes it; a failed probe still registers it, unhealthy. */
  registerApp: RegisterAppResult;
  /** Resumes a paused account. */
  resumeAccount: ResumeAccountResult;
  /** Revokes the token for good; rotate to issue a new one. */
  revokeAccount: RevokeAccountResult;
  /** Wipes the stored key; the status stays REVOKED until a new key is set. */
  revokeByokKey: RevokeByokKeyResult;
  revokeIntegrationKey: RevokeIntegrationKeyResult;
  /** Issues a new token (revealed once); the old token stops working at once. */
  rotateAccountToken: RotateAccountTokenResult;
  /** Replaces the secret without probing; call probeApp afterwards. */
  rotateAppAuth: RotateAppAuthResult;
  /** Probes the key, then encrypts and stores it. An invalid key changes nothing. */
  setByokKey: SetByokKeyResult;
  storeIntegrationKey: StoreIntegrationKeyResult;
  updateAccount: UpdateAccountResult;
  updateApp: UpdateAppResult;
  /** A tar.gz of the workspace folder; its .workflows/*.yaml are checked before anything is stored. */
  uploadWorkspace: UploadWorkspaceResult;
  /** Probes a key and stores nothing. */
  validateAnthropicKey: KeyProbe;
  verifyIntegrationKey: VerifyIntegrationKeyResult;
};


export type MutationCancelJobArgs = {
  id: Scalars['ID']['input'];
};


export type MutationCancelRunArgs = {
  id: Scalars['ID']['input'];
};


export type MutationCreateAccountArgs = {
  input: CreateAccountInput;
};


export type MutationDecideApprovalArgs = {
  decision: ApprovalDecision;
  id: Scalars['ID']['input'];
  input?: InputMaybe<Scalars['JSON']['input']>;
  note?: InputMaybe<Scalars['String']['input']>;
};


export type MutationDeleteAccountArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeleteAgentConfigArgs = {
  blueprint: Scalars['String']['input'];
};


export type MutationDeleteAppArgs = {
  slug: Scalars['String']['input'];
};


export type MutationDeleteWorkerArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeleteWorkspaceArgs = {
  name: Scalars['String']['input'];
};


export type MutationEnableAgentConfigArgs = {
  blueprint: Scalars['String']['input'];
};


export type MutationEnqueueRunArgs = {
  blueprint: Scalars['String']['input'];
  input?: InputMaybe<EnqueueRunInput>;
};


export type MutationExecuteTaskArgs = {
  input?: InputMaybe<Scalars['JSON']['input']>;
  task: Scalars['String']['input'];
  workspace: Scalars['String']['input'];
};


export type MutationImportContactsArgs = {
  contacts: Array<ContactInput>;
};


export type MutationPauseAccountArgs = {
  id: Scalars['ID']['input'];
};


export type MutationProbeAppArgs = {
  slug: Scalars['String']['input'];
};


export type MutationPutAgentConfigArgs = {
  blueprint: Scalars['String']['input'];
  input: AgentConfigInput;
};


export type MutationRegisterAppArgs = {
  input: RegisterAppInput;
};


export type MutationResumeAccountArgs = {
  id: Scalars['ID']['input'];
};


export type MutationRevokeAccountArgs = {
  id: Scalars['ID']['input'];
};


export type MutationRevokeByokKeyArgs = {
  blueprint: Scalars['String']['input'];
};


export type MutationRevokeIntegrationKeyArgs = {
  provider: IntegrationProvider;
};


export type MutationRotateAccountTokenArgs = {
  id: Scalars['ID']['input'];
};


export type MutationRotateAppAuthArgs = {
  auth: AppAuthInput;
  slug: Scalars['String']['input'];
};


export type MutationSetByokKeyArgs = {
  apiKey: Scalars['String']['input'];
  blueprint: Scalars['String']['input'];
};


export type MutationStoreIntegrationKeyArgs = {
  input: StoreIntegrationKeyInput;
};


export type MutationUpdateAccountArgs = {
  id: Scalars['ID']['input'];
  input: UpdateAccountInput;
};


export type MutationUpdateAppArgs = {
  input: UpdateAppInput;
  slug: Scalars['String']['input'];
};


export type MutationUploadWorkspaceArgs = {
  archive: Scalars['File']['input'];
  name: Scalars['String']['input'];
};


export type MutationValidateAnthropicKeyArgs = {
  apiKey: Scalars['String']['input'];
};


export type MutationVerifyIntegrationKeyArgs = {
  provider: IntegrationProvider;
};

export type Node = {
  id: Scalars['ID']['output'];
};

export type NotFoundError = Error & {
  __typename?: 'NotFoundError';
  code: Scalars['String']['output'];
  message: Scalars['String']['output'];
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor?: Maybe<Scalars['String']['output']>;
};

export type PauseAccountResult = Account | ConflictError | NotFoundError;

export type PutAgentConfigResult = AgentConfig | InputError | NotFoundError;

export type Query = {
  __typename?: 'Query';
  /** One account by global id or UUID; null when this tenant has no such account. */
  account?: Maybe<Account>;
  accounts: AccountConnection;
  agentConfig?: Maybe<AgentConfig>;
  agentConfigs: Array<AgentConfig>;
  app?: Maybe<App>;
  approval?: Maybe<Approval>;
  /** Newest first. */
  approvals: ApprovalConnection;
  /** The tenant’s apps, newest first. */
  apps: AppConnection;
  /** The tenant audit log, newest first. */
  auditEvents: AuditEventConnection;
  /** Runs, tokens and cost per blueprint per UTC day (by completion). */
  billingDaily: Array<BillingDay>;
  blueprints: Array<Blueprint>;
  /** The tenant’s contacts, newest first. */
  contacts: ContactConnection;
  /** Every key, revoked ones included, newest first. */
  integrationKeys: Array<IntegrationKey>;
  job?: Maybe<Job>;
  /** Newest first. */
  jobs: JobConnection;
  /** Proposed merges of duplicate contacts, newest first. */
  mergeProposals: MergeProposalConnection;
  /** Any entity by its global id or its UUID; null when it does not exist for this tenant. */
  node?: Maybe<Node>;
  run?: Maybe<Run>;
  /** Newest first. */
  runs: RunConnection;
  viewer: Viewer;
  /** Active workers first, then by last heartbeat. */
  workers: Array<Worker>;
  workspace?: Maybe<Workspace>;
  workspaces: Array<Workspace>;
};


export type QueryAccountArgs = {
  id: Scalars['ID']['input'];
};


export type QueryAccountsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryAgentConfigArgs = {
  blueprint: Scalars['String']['input'];
};


export type QueryAppArgs = {
  slug: Scalars['String']['input'];
};


export type QueryApprovalArgs = {
  id: Scalars['ID']['input'];
};


export type QueryApprovalsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<ApprovalStatus>;
};


export type QueryAppsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryAuditEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryBillingDailyArgs = {
  from: Scalars['Date']['input'];
  to: Scalars['Date']['input'];
};


export type QueryContactsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryJobArgs = {
  id: Scalars['ID']['input'];
};


export type QueryJobsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<JobStatus>;
  task?: InputMaybe<Scalars['String']['input']>;
  workspace?: InputMaybe<Scalars['String']['input']>;
};


export type QueryMergeProposalsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryNodeArgs = {
  id: Scalars['ID']['input'];
};


export type QueryRunArgs = {
  id: Scalars['ID']['input'];
};


export type QueryRunsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  blueprint?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<RunStatus>;
};


export type QueryWorkspaceArgs = {
  name: Scalars['String']['input'];
};

export type RegisterAppInput = {
  auth: AppAuthInput;
  description?: InputMaybe<Scalars['String']['input']>;
  displayName: Scalars['String']['input'];
  mcpServerUrl: Scalars['String']['input'];
  metadata?: InputMaybe<Scalars['JSON']['input']>;
  slug: Scalars['String']['input'];
};

export type RegisterAppPayload = {
  __typename?: 'RegisterAppPayload';
  app: App;
  probe: AppProbe;
};

export type RegisterAppResult = ConflictError | InputError | RegisterAppPayload;

export type ResumeAccountResult = Account | ConflictError | NotFoundError;

export type RevokeAccountResult = Account | ConflictError | NotFoundError;

export type RevokeByokKeyResult = AgentConfig | NotFoundError;

export type RevokeIntegrationKeyResult = IntegrationKey | NotFoundError;

export type RotateAccountTokenResult = AccountWithToken | NotFoundError;

export type RotateAppAuthResult = App | InputError | NotFoundError;

/** An agent run: queued, driven by a worker through LLM turns and tool calls, journaled. */
export type Run = Node & {
  __typename?: 'Run';
  /** How many times a worker has claimed the run. */
  attempts: Scalars['Int']['output'];
  blueprint: Scalars['String']['output'];
  budgetUsdCents?: Maybe<Scalars['Float']['output']>;
  cacheReadTokens: Scalars['Int']['output'];
  cacheWriteTokens: Scalars['Int']['output'];
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  consecutiveFailures: Scalars['Int']['output'];
  /** US cents, to six decimals. */
  costUsdCents: Scalars['Float']['output'];
  createdAt: Scalars['DateTime']['output'];
  deadlineAt?: Maybe<Scalars['DateTime']['output']>;
  deadlineSeconds: Scalars['Int']['output'];
  /** State changes, retries, guardrail decisions and warnings, in order. */
  events: Array<RunEvent>;
  failureCategory?: Maybe<FailureCategory>;
  failureDetail?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  idempotencyKey?: Maybe<Scalars['String']['output']>;
  input: Scalars['JSON']['output'];
  inputTokens: Scalars['Int']['output'];
  /** Oldest first; `after` is the cursor of the last line seen (a runLogs subscription resumes from it too). 100 lines a page unless `first` says otherwise, at most 1000. */
  logs: LogLineConnection;
  output?: Maybe<Scalars['JSON']['output']>;
  outputTokens: Scalars['Int']['output'];
  platformFeeCents: Scalars['Float']['output'];
  runAt: Scalars['DateTime']['output'];
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  status: RunStatus;
  /** In seq order. */
  steps: Array<RunStep>;
  updatedAt: Scalars['DateTime']['output'];
  uuid: Scalars['UUID']['output'];
};


/** An agent run: queued, driven by a worker through LLM turns and tool calls, journaled. */
export type RunLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};

export type RunConnection = {
  __typename?: 'RunConnection';
  edges: Array<RunEdge>;
  pageInfo: PageInfo;
};

export type RunEdge = {
  __typename?: 'RunEdge';
  cursor: Scalars['String']['output'];
  node: Run;
};

export type RunEvent = {
  __typename?: 'RunEvent';
  createdAt: Scalars['DateTime']['output'];
  detail: Scalars['JSON']['output'];
  seq: Scalars['Int']['output'];
  type: Scalars['String']['output'];
};

export type RunStatus =
  | 'CANCELLED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'WAITING';

/** One journaled step: an LLM turn or a tool call, with its tokens and cost. */
export type RunStep = {
  __typename?: 'RunStep';
  cacheReadTokens: Scalars['Int']['output'];
  cacheWriteTokens: Scalars['Int']['output'];
  completedAt: Scalars['DateTime']['output'];
  costUsdCents: Scalars['Float']['output'];
  input?: Maybe<Scalars['JSON']['output']>;
  inputTokens: Scalars['Int']['output'];
  isError: Scalars['Boolean']['output'];
  kind: RunStepKind;
  model?: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  output?: Maybe<Scalars['JSON']['output']>;
  outputTokens: Scalars['Int']['output'];
  seq: Scalars['Int']['output'];
  startedAt: Scalars['DateTime']['output'];
};

export type RunStepKind =
  | 'LLM'
  | 'TOOL';

export type SetByokKeyResult = AgentConfig | InputError | KeyProbeError | NotFoundError;

export type StoreIntegrationKeyInput = {
  key: Scalars['String']['input'];
  label?: InputMaybe<Scalars['String']['input']>;
  metadata?: InputMaybe<Scalars['JSON']['input']>;
  provider: IntegrationProvider;
};

export type StoreIntegrationKeyPayload = {
  __typename?: 'StoreIntegrationKeyPayload';
  integrationKey: IntegrationKey;
  /** True when an earlier key for the provider was revoked. */
  replaced: Scalars['Boolean']['output'];
};

export type StoreIntegrationKeyResult = InputError | StoreIntegrationKeyPayload;

export type Subscription = {
  __typename?: 'Subscription';
  /** The job’s log (one step’s, with `step`) after the cursor, then live; completes once the job has ended. */
  jobLogs: LogLine;
  /** The job now and after every status, step or log change; completes with its final state. */
  jobUpdates: Job;
  /** The run’s log after the cursor (from the start without one), then live; completes once the run has ended. */
  runLogs: LogLine;
  /** The run now and after every status, step, event or log change; completes with its final state. */
  runUpdates: Run;
};


export type SubscriptionJobLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  jobId: Scalars['ID']['input'];
  step?: InputMaybe<Scalars['String']['input']>;
};


export type SubscriptionJobUpdatesArgs = {
  jobId: Scalars['ID']['input'];
};


export type SubscriptionRunLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  runId: Scalars['ID']['input'];
};


export type SubscriptionRunUpdatesArgs = {
  runId: Scalars['ID']['input'];
};

export type TaskInputField = {
  __typename?: 'TaskInputField';
  default?: Maybe<Scalars['JSON']['output']>;
  description?: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  options?: Maybe<Scalars['JSON']['output']>;
  required: Scalars['Boolean']['output'];
  secret: Scalars['Boolean']['output'];
  type: Scalars['String']['output'];
};

export type TaskMode =
  | 'DISTRIBUTED'
  | 'LOCAL';

export type TaskStep = {
  __typename?: 'TaskStep';
  action: Scalars['String']['output'];
  continueOnFailure: Scalars['Boolean']['output'];
  dependsOn: Array<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  timeoutSeconds?: Maybe<Scalars['Int']['output']>;
  when?: Maybe<Scalars['String']['output']>;
};

export type Tenant = {
  __typename?: 'Tenant';
  createdAt: Scalars['DateTime']['output'];
  name: Scalars['String']['output'];
  slug: Scalars['String']['output'];
  timezone: Scalars['String']['output'];
  uuid: Scalars['UUID']['output'];
};

/** Only the fields given change; null clears description, owner or expiresAt. */
export type UpdateAccountInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  expiresAt?: InputMaybe<Scalars['DateTime']['input']>;
  name?: InputMaybe<Scalars['String']['input']>;
  owner?: InputMaybe<Scalars['String']['input']>;
  scopes?: InputMaybe<Array<Scalars['String']['input']>>;
};

export type UpdateAccountResult = Account | ConflictError | InputError | NotFoundError;

/** Only the fields given change. slug and mcpServerUrl are immutable. */
export type UpdateAppInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  displayName?: InputMaybe<Scalars['String']['input']>;
  enabledTools?: InputMaybe<Array<Scalars['String']['input']>>;
  metadata?: InputMaybe<Scalars['JSON']['input']>;
  /** ACTIVE or DISABLED; UNHEALTHY is set by probes only. */
  status?: InputMaybe<AppStatus>;
};

export type UpdateAppResult = App | InputError | NotFoundError;

export type UploadWorkspacePayload = {
  __typename?: 'UploadWorkspacePayload';
  /** False when the files were already the current revision. */
  changed: Scalars['Boolean']['output'];
  workspace: Workspace;
};

export type UploadWorkspaceResult = InputError | UploadWorkspacePayload | WorkspaceInvalidError;

export type VerifyIntegrationKeyResult = IntegrationKeyVerification | NotFoundError;

/** The caller: its account, tenant and scopes. */
export type Viewer = {
  __typename?: 'Viewer';
  /** UUID of the calling account. */
  accountId: Scalars['ID']['output'];
  accountName: Scalars['String']['output'];
  authMethod: AuthMethod;
  availableScopes: Array<Scalars['String']['output']>;
  scopes: Array<Scalars['String']['output']>;
  tenant: Tenant;
  tokenFingerprint: Scalars['String']['output'];
};

/** An external worker speaking the REST worker protocol (/worker/*). */
export type Worker = Node & {
  __typename?: 'Worker';
  id: Scalars['ID']['output'];
  lastHeartbeatAt: Scalars['DateTime']['output'];
  name: Scalars['String']['output'];
  registeredAt: Scalars['DateTime']['output'];
  status: WorkerStatus;
  tags: Array<Scalars['String']['output']>;
  uuid: Scalars['UUID']['output'];
  version?: Maybe<Scalars['String']['output']>;
};

export type WorkerStatus =
  | 'ACTIVE'
  | 'INACTIVE';

export type WorkflowProblem = {
  __typename?: 'WorkflowProblem';
  column: Scalars['Int']['output'];
  file: Scalars['String']['output'];
  line: Scalars['Int']['output'];
  message: Scalars['String']['output'];
};

/** A versioned bundle of files whose .workflows/*.yaml define actions and tasks. */
export type Workspace = {
  __typename?: 'Workspace';
  actions: Array<WorkspaceAction>;
  createdAt: Scalars['DateTime']['output'];
  fileCount: Scalars['Int']['output'];
  name: Scalars['String']['output'];
  /** Content hash of the files (what workers send in If-None-Match). */
  revision: Scalars['String']['output'];
  sizeBytes: Scalars['Int']['output'];
  tasks: Array<WorkspaceTask>;
  updatedAt: Scalars['DateTime']['output'];
};

/** An action of a workspace: what a step runs. */
export type WorkspaceAction = {
  __typename?: 'WorkspaceAction';
  blueprint?: Maybe<Scalars['String']['output']>;
  description?: Maybe<Scalars['String']['output']>;
  image?: Maybe<Scalars['String']['output']>;
  input: Array<TaskInputField>;
  name: Scalars['String']['output'];
  /** Tags a worker needs to run it. */
  requiredTags: Array<Scalars['String']['output']>;
  runner?: Maybe<Scalars['String']['output']>;
  type: ActionType;
};

/** The workflow files were refused; nothing was stored. */
export type WorkspaceInvalidError = Error & {
  __typename?: 'WorkspaceInvalidError';
  code: Scalars['String']['output'];
  message: Scalars['String']['output'];
  problems: Array<WorkflowProblem>;
};

/** A task: a DAG of steps, executed as a job. */
export type WorkspaceTask = {
  __typename?: 'WorkspaceTask';
  description?: Maybe<Scalars['String']['output']>;
  folder?: Maybe<Scalars['String']['output']>;
  input: Array<TaskInputField>;
  mode: TaskMode;
  name: Scalars['String']['output'];
  steps: Array<TaskStep>;
  timeoutSeconds?: Maybe<Scalars['Int']['output']>;
};

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { __typename?: 'Query', viewer: { __typename?: 'Viewer', accountId: string, accountName: string, scopes: Array<string>, availableScopes: Array<string>, authMethod: AuthMethod, tokenFingerprint: string, tenant: { __typename?: 'Tenant', uuid: string, slug: string } } };

export type AccountFieldsFragment = { __typename?: 'Account', id: string, uuid: string, name: string, description?: string | null, owner?: string | null, scopes: Array<string>, status: AccountStatus, expiresAt?: string | null, tokenHint: string, lastUsedAt?: string | null, lastUsedIp?: string | null, lastAuthMethod?: AuthMethod | null, createdAt: string };

export type AccountsQueryVariables = Exact<{
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type AccountsQuery = { __typename?: 'Query', accounts: { __typename?: 'AccountConnection', edges: Array<{ __typename?: 'AccountEdge', cursor: string, node: { __typename?: 'Account', id: string, uuid: string, name: string, description?: string | null, owner?: string | null, scopes: Array<string>, status: AccountStatus, expiresAt?: string | null, tokenHint: string, lastUsedAt?: string | null, lastUsedIp?: string | null, lastAuthMethod?: AuthMethod | null, createdAt: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } };

export type AccountWithTokenResultFragment = { __typename?: 'AccountWithToken', token: string, account: { __typename?: 'Account', id: string, uuid: string, name: string, description?: string | null, owner?: string | null, scopes: Array<string>, status: AccountStatus, expiresAt?: string | null, tokenHint: string, lastUsedAt?: string | null, lastUsedIp?: string | null, lastAuthMethod?: AuthMethod | null, createdAt: string } };

export type CreateAccountMutationVariables = Exact<{
  input: CreateAccountInput;
}>;


export type CreateAccountMutation = { __typename?: 'Mutation', createAccount:
    | { __typename: 'AccountWithToken', token: string, account: { __typename?: 'Account', id: string, uuid: string, name: string, description?: string | null, owner?: string | null, scopes: Array<string>, status: AccountStatus, expiresAt?: string | null, tokenHint: string, lastUsedAt?: string | null, lastUsedIp?: string | null, lastAuthMethod?: AuthMethod | null, createdAt: string } }
    | { __typename: 'ConflictError', code: string, message: string }
    | { __typename: 'InputError', code: string, message: string, field?: string | null }
   };

export type RotateAccountTokenMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type RotateAccountTokenMutation = { __typename?: 'Mutation', rotateAccountToken:
    | { __typename: 'AccountWithToken', token: string, account: { __typename?: 'Account', id: string, uuid: string, name: string, description?: string | null, owner?: string | null, scopes: Array<string>, status: AccountStatus, expiresAt?: string | null, tokenHint: string, lastUsedAt?: string | null, lastUsedIp?: string | null, lastAuthMethod?: AuthMethod | null, createdAt: string } }
    | { __typename: 'NotFoundError', code: string, message: string }
   };

export type RunLogsSubscriptionVariables = Exact<{
  runId: Scalars['ID']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type RunLogsSubscription = { __typename?: 'Subscription', runLogs: { __typename?: 'LogLine', cursor: string, ts: string, step: string, stream: LogStream, line: string } };

export type RunUpdatesSubscriptionVariables = Exact<{
  runId: Scalars['ID']['input'];
}>;


export type RunUpdatesSubscription = { __typename?: 'Subscription', runUpdates: { __typename?: 'Run', uuid: string, status: RunStatus, failureCategory?: FailureCategory | null, costUsdCents: number } };

export type JobSummaryFragment = { __typename?: 'Job', id: string, uuid: string, workspace: string, taskName: string, status: JobStatus, steps: Array<{ __typename?: 'JobStep', name: string, status: JobStepStatus }> };

export type JobLogsSubscriptionVariables = Exact<{
  jobId: Scalars['ID']['input'];
  step?: InputMaybe<Scalars['String']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type JobLogsSubscription = { __typename?: 'Subscription', jobLogs: { __typename?: 'LogLine', cursor: string, ts: string, step: string, stream: LogStream, line: string } };

export type JobUpdatesSubscriptionVariables = Exact<{
  jobId: Scalars['ID']['input'];
}>;


export type JobUpdatesSubscription = { __typename?: 'Subscription', jobUpdates: { __typename?: 'Job', output?: unknown | null, completedAt?: string | null, id: string, uuid: string, workspace: string, taskName: string, status: JobStatus, steps: Array<{ __typename?: 'JobStep', name: string, status: JobStepStatus }> } };

export type ExecuteTaskMutationVariables = Exact<{
  workspace: Scalars['String']['input'];
  task: Scalars['String']['input'];
  input?: InputMaybe<Scalars['JSON']['input']>;
}>;


export type ExecuteTaskMutation = { __typename?: 'Mutation', executeTask:
    | { __typename: 'ExecuteTaskPayload', job: { __typename?: 'Job', input: unknown, id: string, uuid: string, workspace: string, taskName: string, status: JobStatus, steps: Array<{ __typename?: 'JobStep', name: string, status: JobStepStatus }> } }
    | { __typename: 'InputError', field?: string | null, code: string, message: string }
    | { __typename: 'NotFoundError', code: string, message: string }
   };

export type CancelJobMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type CancelJobMutation = { __typename?: 'Mutation', cancelJob:
    | { __typename: 'ConflictError', code: string, message: string }
    | { __typename: 'Job', errorMessage?: string | null, id: string, uuid: string, workspace: string, taskName: string, status: JobStatus, steps: Array<{ __typename?: 'JobStep', name: string, status: JobStepStatus }> }
    | { __typename: 'NotFoundError', code: string, message: string }
   };

export type JobQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  logsAfter?: InputMaybe<Scalars['String']['input']>;
  logsFirst?: InputMaybe<Scalars['Int']['input']>;
  step?: InputMaybe<Scalars['String']['input']>;
}>;


export type JobQuery = { __typename?: 'Query', job?: { __typename?: 'Job', id: string, uuid: string, workspace: string, taskName: string, status: JobStatus, logs: { __typename?: 'LogLineConnection', edges: Array<{ __typename?: 'LogLineEdge', cursor: string, node: { __typename?: 'LogLine', cursor: string, step: string, stream: LogStream, line: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } }, steps: Array<{ __typename?: 'JobStep', name: string, status: JobStepStatus }> } | null };

export type JobsQueryVariables = Exact<{
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
  workspace?: InputMaybe<Scalars['String']['input']>;
  status?: InputMaybe<JobStatus>;
}>;


export type JobsQuery = { __typename?: 'Query', jobs: { __typename?: 'JobConnection', edges: Array<{ __typename?: 'JobEdge', cursor: string, node: { __typename?: 'Job', id: string, uuid: string, workspace: string, taskName: string, status: JobStatus, steps: Array<{ __typename?: 'JobStep', name: string, status: JobStepStatus }> } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } };

export type WorkspacesQueryVariables = Exact<{ [key: string]: never; }>;


export type WorkspacesQuery = { __typename?: 'Query', workspaces: Array<{ __typename?: 'Workspace', name: string, revision: string, fileCount: number, tasks: Array<{ __typename?: 'WorkspaceTask', name: string, description?: string | null, input: Array<{ __typename?: 'TaskInputField', name: string, type: string, required: boolean, default?: unknown | null }>, steps: Array<{ __typename?: 'TaskStep', name: string, action: string, dependsOn: Array<string>, continueOnFailure: boolean }> }>, actions: Array<{ __typename?: 'WorkspaceAction', name: string, type: ActionType, runner?: string | null, requiredTags: Array<string>, input: Array<{ __typename?: 'TaskInputField', name: string, type: string, required: boolean }> }> }> };

export type WorkspaceQueryVariables = Exact<{
  name: Scalars['String']['input'];
}>;


export type WorkspaceQuery = { __typename?: 'Query', workspace?: { __typename?: 'Workspace', name: string, revision: string, fileCount: number, tasks: Array<{ __typename?: 'WorkspaceTask', name: string, description?: string | null, input: Array<{ __typename?: 'TaskInputField', name: string, type: string, required: boolean, default?: unknown | null }>, steps: Array<{ __typename?: 'TaskStep', name: string, action: string, dependsOn: Array<string>, continueOnFailure: boolean }> }>, actions: Array<{ __typename?: 'WorkspaceAction', name: string, type: ActionType, runner?: string | null, requiredTags: Array<string>, input: Array<{ __typename?: 'TaskInputField', name: string, type: string, required: boolean }> }> } | null };

export type WorkspaceDetailFragment = { __typename?: 'Workspace', name: string, revision: string, fileCount: number, tasks: Array<{ __typename?: 'WorkspaceTask', name: string, description?: string | null, input: Array<{ __typename?: 'TaskInputField', name: string, type: string, required: boolean, default?: unknown | null }>, steps: Array<{ __typename?: 'TaskStep', name: string, action: string, dependsOn: Array<string>, continueOnFailure: boolean }> }>, actions: Array<{ __typename?: 'WorkspaceAction', name: string, type: ActionType, runner?: string | null, requiredTags: Array<string>, input: Array<{ __typename?: 'TaskInputField', name: string, type: string, required: boolean }> }> };

export type DeleteWorkspaceMutationVariables = Exact<{
  name: Scalars['String']['input'];
}>;


export type DeleteWorkspaceMutation = { __typename?: 'Mutation', deleteWorkspace:
    | { __typename: 'InputError', code: string, message: string }
    | { __typename: 'NotFoundError', code: string, message: string }
    | { __typename: 'Workspace', name: string, revision: string }
   };

export const AccountFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Account"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"owner"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"tokenHint"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedIp"}},{"kind":"Field","name":{"kind":"Name","value":"lastAuthMethod"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]} as unknown as DocumentNode<AccountFieldsFragment, unknown>;
export const AccountWithTokenResultFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountWithTokenResult"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AccountWithToken"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"token"}},{"kind":"Field","name":{"kind":"Name","value":"account"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AccountFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Account"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"owner"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"tokenHint"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedIp"}},{"kind":"Field","name":{"kind":"Name","value":"lastAuthMethod"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]} as unknown as DocumentNode<AccountWithTokenResultFragment, unknown>;
export const JobSummaryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"workspace"}},{"kind":"Field","name":{"kind":"Name","value":"taskName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<JobSummaryFragment, unknown>;
export const WorkspaceDetailFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WorkspaceDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Workspace"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"revision"}},{"kind":"Field","name":{"kind":"Name","value":"fileCount"}},{"kind":"Field","name":{"kind":"Name","value":"tasks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"input"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"default"}}]}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"dependsOn"}},{"kind":"Field","name":{"kind":"Name","value":"continueOnFailure"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"actions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"runner"}},{"kind":"Field","name":{"kind":"Name","value":"requiredTags"}},{"kind":"Field","name":{"kind":"Name","value":"input"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}}]}}]}}]}}]} as unknown as DocumentNode<WorkspaceDetailFragment, unknown>;
export const ViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accountId"}},{"kind":"Field","name":{"kind":"Name","value":"accountName"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"availableScopes"}},{"kind":"Field","name":{"kind":"Name","value":"authMethod"}},{"kind":"Field","name":{"kind":"Name","value":"tokenFingerprint"}},{"kind":"Field","name":{"kind":"Name","value":"tenant"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"slug"}}]}}]}}]}}]} as unknown as DocumentNode<ViewerQuery, ViewerQueryVariables>;
export const AccountsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Accounts"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accounts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AccountFields"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Account"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"owner"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"tokenHint"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedIp"}},{"kind":"Field","name":{"kind":"Name","value":"lastAuthMethod"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]} as unknown as DocumentNode<AccountsQuery, AccountsQueryVariables>;
export const CreateAccountDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateAccount"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateAccountInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createAccount"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"AccountWithTokenResult"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"InputError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"field"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Account"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"owner"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"tokenHint"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedIp"}},{"kind":"Field","name":{"kind":"Name","value":"lastAuthMethod"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountWithTokenResult"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AccountWithToken"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"token"}},{"kind":"Field","name":{"kind":"Name","value":"account"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AccountFields"}}]}}]}}]} as unknown as DocumentNode<CreateAccountMutation, CreateAccountMutationVariables>;
export const RotateAccountTokenDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RotateAccountToken"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"rotateAccountToken"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"AccountWithTokenResult"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Account"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"owner"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"tokenHint"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastUsedIp"}},{"kind":"Field","name":{"kind":"Name","value":"lastAuthMethod"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AccountWithTokenResult"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AccountWithToken"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"token"}},{"kind":"Field","name":{"kind":"Name","value":"account"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AccountFields"}}]}}]}}]} as unknown as DocumentNode<RotateAccountTokenMutation, RotateAccountTokenMutationVariables>;
export const RunLogsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"RunLogs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"runId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runLogs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"runId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"runId"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"ts"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"stream"}},{"kind":"Field","name":{"kind":"Name","value":"line"}}]}}]}}]} as unknown as DocumentNode<RunLogsSubscription, RunLogsSubscriptionVariables>;
export const RunUpdatesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"RunUpdates"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"runId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runUpdates"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"runId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"runId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failureCategory"}},{"kind":"Field","name":{"kind":"Name","value":"costUsdCents"}}]}}]}}]} as unknown as DocumentNode<RunUpdatesSubscription, RunUpdatesSubscriptionVariables>;
export const JobLogsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"JobLogs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"step"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobLogs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}},{"kind":"Argument","name":{"kind":"Name","value":"step"},"value":{"kind":"Variable","name":{"kind":"Name","value":"step"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"ts"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"stream"}},{"kind":"Field","name":{"kind":"Name","value":"line"}}]}}]}}]} as unknown as DocumentNode<JobLogsSubscription, JobLogsSubscriptionVariables>;
export const JobUpdatesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"JobUpdates"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobUpdates"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobSummary"}},{"kind":"Field","name":{"kind":"Name","value":"output"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"workspace"}},{"kind":"Field","name":{"kind":"Name","value":"taskName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<JobUpdatesSubscription, JobUpdatesSubscriptionVariables>;
export const ExecuteTaskDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ExecuteTask"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"workspace"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"task"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JSON"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"executeTask"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"workspace"},"value":{"kind":"Variable","name":{"kind":"Name","value":"workspace"}}},{"kind":"Argument","name":{"kind":"Name","value":"task"},"value":{"kind":"Variable","name":{"kind":"Name","value":"task"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ExecuteTaskPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"job"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobSummary"}},{"kind":"Field","name":{"kind":"Name","value":"input"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"InputError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"field"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"workspace"}},{"kind":"Field","name":{"kind":"Name","value":"taskName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<ExecuteTaskMutation, ExecuteTaskMutationVariables>;
export const CancelJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobSummary"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"workspace"}},{"kind":"Field","name":{"kind":"Name","value":"taskName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<CancelJobMutation, CancelJobMutationVariables>;
export const JobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Job"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"logsAfter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"logsFirst"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"step"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"job"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobSummary"}},{"kind":"Field","name":{"kind":"Name","value":"logs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"logsAfter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"logsFirst"}}},{"kind":"Argument","name":{"kind":"Name","value":"step"},"value":{"kind":"Variable","name":{"kind":"Name","value":"step"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"stream"}},{"kind":"Field","name":{"kind":"Name","value":"line"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"workspace"}},{"kind":"Field","name":{"kind":"Name","value":"taskName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<JobQuery, JobQueryVariables>;
export const JobsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Jobs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"workspace"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"status"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobStatus"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"workspace"},"value":{"kind":"Variable","name":{"kind":"Name","value":"workspace"}}},{"kind":"Argument","name":{"kind":"Name","value":"status"},"value":{"kind":"Variable","name":{"kind":"Name","value":"status"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobSummary"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"uuid"}},{"kind":"Field","name":{"kind":"Name","value":"workspace"}},{"kind":"Field","name":{"kind":"Name","value":"taskName"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<JobsQuery, JobsQueryVariables>;
export const WorkspacesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Workspaces"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"workspaces"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WorkspaceDetail"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WorkspaceDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Workspace"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"revision"}},{"kind":"Field","name":{"kind":"Name","value":"fileCount"}},{"kind":"Field","name":{"kind":"Name","value":"tasks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"input"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"default"}}]}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"dependsOn"}},{"kind":"Field","name":{"kind":"Name","value":"continueOnFailure"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"actions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"runner"}},{"kind":"Field","name":{"kind":"Name","value":"requiredTags"}},{"kind":"Field","name":{"kind":"Name","value":"input"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}}]}}]}}]}}]} as unknown as DocumentNode<WorkspacesQuery, WorkspacesQueryVariables>;
export const WorkspaceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Workspace"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"workspace"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WorkspaceDetail"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WorkspaceDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Workspace"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"revision"}},{"kind":"Field","name":{"kind":"Name","value":"fileCount"}},{"kind":"Field","name":{"kind":"Name","value":"tasks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"input"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"default"}}]}},{"kind":"Field","name":{"kind":"Name","value":"steps"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"dependsOn"}},{"kind":"Field","name":{"kind":"Name","value":"continueOnFailure"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"actions"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"runner"}},{"kind":"Field","name":{"kind":"Name","value":"requiredTags"}},{"kind":"Field","name":{"kind":"Name","value":"input"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}}]}}]}}]}}]} as unknown as DocumentNode<WorkspaceQuery, WorkspaceQueryVariables>;
export const DeleteWorkspaceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteWorkspace"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteWorkspace"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Workspace"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"revision"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<DeleteWorkspaceMutation, DeleteWorkspaceMutationVariables>;