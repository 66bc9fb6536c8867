// How many sequential stages a plan's steps need when every step runs as soon
// as its dependencies are done: the length of the longest dependency chain.
import type { PlanStep } from "./plan";

export function sequentialStages(steps: readonly Pick<PlanStep, "id" | "dependsOn">[]): number {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const step = byId.get(id);
    if (!step) throw new Error(`step ${id} is depended on but not planned`);
    if (visiting.has(id)) throw new Error(`dependency cycle through step ${id}`);
    visiting.add(id);
    const d = 1 + Math.max(0, ...step.dependsOn.map(visit));
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  return steps.reduce((max, s) => Math.max(max, visit(s.id)), 0);
}
