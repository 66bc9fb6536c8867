// Everything `drydock render` writes, as pure data: relative path -> file.
// The layout is the offline render contract of the design:
//   hosts/<host>/<absolute path on that host>, cluster/..., plan.json
import { planDocument, type PlanDocument } from "./plan";
import type { ClusterSpec } from "../spec/normalize";

export interface RenderedFile {
  /** Path relative to the render root. */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface RenderedTree {
  readonly plan: PlanDocument;
  readonly files: readonly RenderedFile[];
}

export function renderCluster(spec: ClusterSpec): RenderedTree {
  const plan = planDocument(spec);
  const files: RenderedFile[] = [{ path: "plan.json", content: `${JSON.stringify(plan, null, 2)}\n`, mode: 0o644 }];
  return { plan, files };
}
