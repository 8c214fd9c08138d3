import type { Node } from 'yaml';
import { checkTemplate, templateName } from './templates';
import type { StepDef } from './types';
import type { YamlSource } from './yaml-source';

/** A parsed step with where its parts are written, for the checks that span the flow. */
export type StepSource = {
  def: StepDef;
  keyNode: Node;
  dependsOn: { value: string; node: Node }[];
  /** Strings of the step's `input` and `when` that hold templates (already syntax-checked). */
  templates: { text: string; node: Node; what: string }[];
};

/** Names a template can read besides steps' outputs. */
const RESERVED = ['input', 'secret'];

/**
 * The checks over a task's whole flow: `depends_on` names steps of the flow, dependencies form no
 * cycle, and each template reads only `input` and the output of steps it (transitively) depends
 * on — a step that reads another's output without depending on it would race with it. `names`
 * holds every step of the flow, including those refused for other reasons.
 */
export function checkFlow(src: YamlSource, taskLabel: string, steps: StepSource[], names: ReadonlySet<string>): boolean {
  let ok = true;
  const fail = (node: Node, message: string) => {
    src.error(node, message);
    ok = false;
  };

  for (const step of steps) {
    for (const dep of step.dependsOn) {
      if (!names.has(dep.value)) fail(dep.node, `step "${step.def.name}" depends on "${dep.value}", which is not a step of ${taskLabel} (steps: ${[...names].join(', ')})`);
    }
  }

  for (const cycle of findCycles(steps)) fail(cycle.node, `depends_on forms a cycle: ${cycle.path.join(' → ')}`);

  // Templates know steps by their snake names; two steps sharing one could not be told apart.
  const byTemplateName = new Map<string, string>();
  for (const step of steps) {
    const snake = templateName(step.def.name);
    const other = byTemplateName.get(snake);
    if (RESERVED.includes(snake)) fail(step.keyNode, `step name "${step.def.name}" is reserved in templates (${RESERVED.join(', ')}); rename the step`);
    else if (other) fail(step.keyNode, `steps "${other}" and "${step.def.name}" are both "${snake}" in templates; rename one`);
    else byTemplateName.set(snake, step.def.name);
  }

  const ancestorsOf = ancestors(steps);
  for (const step of steps) {
    for (const template of step.templates) {
      for (const ref of checkTemplate(template.text).references) {
        const problem = referenceProblem(ref, step.def.name, byTemplateName, ancestorsOf.get(step.def.name)!);
        if (problem) fail(template.node, `${template.what}: ${problem}`);
      }
    }
  }
  return ok;
}

function referenceProblem(ref: string, stepName: string, byTemplateName: Map<string, string>, ancestors: Set<string>): string | null {
  const [root, second] = ref.split('.');
  if (root === 'input') return null;
  if (root === 'secret') return `"${ref}": workspace secrets are not supported yet`;
  const target = byTemplateName.get(root!);
  if (!target) return `"${ref}" is not defined; templates can read input.* and <step>.output of the steps this one depends on`;
  if (target === stepName) return `"${ref}": a step cannot read its own output`;
  if (second !== 'output') return `"${ref}": a step offers only its output (write ${root}.output…)`;
  if (!ancestors.has(target)) return `"${ref}" reads the output of step "${target}", which step "${stepName}" does not depend on (add it to depends_on)`;
  return null;
}

/** Every step's transitive dependencies (a cycle does not loop, it just ends the walk). */
function ancestors(steps: StepSource[]): Map<string, Set<string>> {
  const deps = new Map(steps.map((s) => [s.def.name, s.def.dependsOn]));
  const out = new Map<string, Set<string>>();
  for (const step of steps) {
    const seen = new Set<string>();
    const stack = [...step.def.dependsOn];
    while (stack.length) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      stack.push(...(deps.get(name) ?? []));
    }
    out.set(step.def.name, seen);
  }
  return out;
}

/** Each cycle once, as the path that closes it, reported at the `depends_on` entry closing it. */
function findCycles(steps: StepSource[]): { path: string[]; node: Node }[] {
  const bySteps = new Map(steps.map((s) => [s.def.name, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const trail: string[] = [];
  const cycles: { path: string[]; node: Node }[] = [];
  const visit = (name: string) => {
    state.set(name, 'visiting');
    trail.push(name);
    for (const dep of bySteps.get(name)?.dependsOn ?? []) {
      if (!bySteps.has(dep.value)) continue;
      const s = state.get(dep.value);
      // Read as "a depends on b, which depends on … a".
      if (s === 'visiting') cycles.push({ path: [...trail.slice(trail.indexOf(dep.value)), dep.value], node: dep.node });
      else if (!s) visit(dep.value);
    }
    trail.pop();
    state.set(name, 'done');
  };
  for (const step of steps) if (!state.has(step.def.name)) visit(step.def.name);
  return cycles;
}
