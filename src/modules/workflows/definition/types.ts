/**
 * A workspace's workflows as Runlane keeps them once `.workflows/*.yaml` are parsed and valid
 * (DESIGN §5, seed 001): plain JSON, stored with the workspace revision and copied onto job steps,
 * so a running job never depends on a later upload.
 */

export type InputFieldType = 'string' | 'text' | 'integer' | 'number' | 'boolean' | 'date' | 'datetime' | 'object' | 'array';

export type InputField = {
  type: InputFieldType;
  required: boolean;
  default?: unknown;
  description?: string;
  /** Allowed values; a value outside them is refused unless `allowCustom`. */
  options?: unknown[];
  allowCustom?: boolean;
  /** Masked wherever the input is shown. */
  secret?: boolean;
};

export type ActionType = 'script' | 'docker' | 'pod' | 'agent';
export type Runner = 'local' | 'docker' | 'pod';

export type ActionDef = {
  /** Its key under `actions:`, or `_inline:{task}:{step}` for an action written inside a step. */
  name: string;
  type: ActionType;
  description?: string;
  /** `script` only; default `local`. */
  runner?: Runner;
  /** `script`: inline text or a file relative to the workspace root. */
  script?: string;
  source?: string;
  language?: string;
  interpreter?: string;
  dependencies?: string[];
  /** `docker` / `pod` (and script with runner docker/pod). */
  image?: string;
  cmd?: string[] | string;
  entrypoint?: string[];
  command?: string[];
  manifest?: Record<string, unknown>;
  workdir?: string;
  /** Values may hold templates. */
  env: Record<string, string>;
  /** Extra worker tags this action needs, beyond those its type and runner imply. */
  tags: string[];
  input: Record<string, InputField>;
  output?: Record<string, unknown>;
  /** `agent`: the agent config (blueprint) the step's run uses, and the prompt template. */
  blueprint?: string;
  prompt?: string;
};

export type StepDef = {
  name: string;
  /** Name of an action in `actions` (inline ones included, under their synthetic name). */
  action: string;
  description?: string;
  /** Values may hold templates (`{{ input.x }}`, `{{ other_step.output.y }}`). */
  input: Record<string, unknown>;
  dependsOn: string[];
  continueOnFailure: boolean;
  /** A template; the step runs when it renders truthy. */
  when?: string;
  timeoutSeconds?: number;
};

export type TaskMode = 'distributed' | 'local';

export type TaskDef = {
  name: string;
  description?: string;
  mode: TaskMode;
  folder?: string;
  /** Job timeout, from the job's creation. */
  timeoutSeconds?: number;
  input: Record<string, InputField>;
  /** In file order. */
  flow: StepDef[];
};

export type WorkspaceDefinition = {
  actions: Record<string, ActionDef>;
  tasks: Record<string, TaskDef>;
};

/** Why a workflow file was refused: where, and what is wrong there. */
export type DefinitionError = { file: string; line: number; column: number; message: string };
