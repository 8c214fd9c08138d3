/**
 * The DAG rules of seed 001 (Strøm's orchestrator), as a pure function over a job's steps: which
 * pending steps become ready, skipped or failed after a change, and whether the job is over.
 * The job service applies the answer under the job row's lock, so two steps finishing at once
 * are decided one after the other.
 */

export type StepStatus = 'pending' | 'ready' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export const TERMINAL_STEP = new Set<StepStatus>(['completed', 'failed', 'skipped', 'cancelled']);
export const TERMINAL_JOB = new Set<JobStatus>(['completed', 'failed', 'cancelled']);

export type StepState = {
  name: string;
  status: StepStatus;
  dependsOn: string[];
  continueOnFailure: boolean;
  when: string | null;
  output: unknown;
};

export type StepTransition = { name: string; status: 'ready' | 'skipped' | 'failed'; error?: string };

/** Evaluates a `when` template against the outputs so far: true, false, or why it could not. */
export type WhenEvaluator = (condition: string, outputs: Record<string, unknown>) => boolean | { error: string };

const BROKEN = new Set<StepStatus>(['failed', 'cancelled']);

/**
 * Repeats promotion until nothing changes (a skip can unblock or skip further steps):
 * - a step with a failed or cancelled dependency and no continue_on_failure is skipped at once;
 * - once every dependency is terminal: all skipped (and no continue_on_failure) → skipped;
 *   otherwise it may run, subject to `when` (false → skipped, an error → failed).
 */
export function promote(steps: StepState[], evaluateWhen: WhenEvaluator): StepTransition[] {
  const byName = new Map(steps.map((s) => [s.name, { ...s }]));
  const outputs = () => Object.fromEntries([...byName.values()].filter((s) => s.status === 'completed').map((s) => [s.name, s.output]));
  const transitions: StepTransition[] = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (const step of byName.values()) {
      if (step.status !== 'pending') continue;
      const deps = step.dependsOn.map((d) => byName.get(d)?.status ?? 'skipped');
      let next: StepTransition | null = null;
      if (!step.continueOnFailure && deps.some((d) => BROKEN.has(d))) {
        next = { name: step.name, status: 'skipped' };
      } else if (deps.every((d) => TERMINAL_STEP.has(d))) {
        if (!step.continueOnFailure && deps.length > 0 && deps.every((d) => d === 'skipped')) {
          next = { name: step.name, status: 'skipped' };
        } else if (step.when !== null) {
          const verdict = evaluateWhen(step.when, outputs());
          if (typeof verdict === 'object') next = { name: step.name, status: 'failed', error: `when condition failed: ${verdict.error}` };
          else next = { name: step.name, status: verdict ? 'ready' : 'skipped' };
        } else {
          next = { name: step.name, status: 'ready' };
        }
      }
      if (next) {
        step.status = next.status;
        transitions.push(next);
        changed = true;
      }
    }
  }
  return transitions;
}

/**
 * The job's end once every step is terminal (null while one is not): failed when a step failed
 * without continue_on_failure; otherwise completed, with the outputs of the steps nobody
 * depends on, by name.
 */
export function jobOutcome(steps: StepState[]): { status: 'completed' | 'failed'; output: Record<string, unknown> | null; error: string | null } | null {
  if (!steps.every((s) => TERMINAL_STEP.has(s.status))) return null;
  const fatal = steps.filter((s) => s.status === 'failed' && !s.continueOnFailure);
  if (fatal.length > 0) {
    return { status: 'failed', output: null, error: `Step${fatal.length > 1 ? 's' : ''} failed: ${fatal.map((s) => s.name).join(', ')}` };
  }
  const dependedOn = new Set(steps.flatMap((s) => s.dependsOn));
  const leaves = steps.filter((s) => !dependedOn.has(s.name) && s.status === 'completed');
  return { status: 'completed', output: Object.fromEntries(leaves.map((s) => [s.name, s.output ?? null])), error: null };
}
