// Dependency graphs of steps and phases: an order that puts every node after
// its dependencies, and how many sequential stages they need when every node
// runs as soon as its dependencies are done (the longest dependency chain).

export interface GraphNode {
  readonly id: string;
  readonly dependsOn: readonly string[];
}

/** Nodes ordered so each comes after everything it depends on; refuses cycles and unknown dependencies. */
export function topologicalOrder<T extends GraphNode>(nodes: readonly T[]): T[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const order: T[] = [];
  const visit = (node: T) => {
    if (done.has(node.id)) return;
    if (visiting.has(node.id)) throw new Error(`dependency cycle through ${node.id}`);
    visiting.add(node.id);
    for (const d of node.dependsOn) {
      const dep = byId.get(d);
      if (!dep) throw new Error(`${node.id} depends on ${d}, which is not planned`);
      visit(dep);
    }
    visiting.delete(node.id);
    done.add(node.id);
    order.push(node);
  };
  nodes.forEach(visit);
  return order;
}

export function sequentialStages(nodes: readonly GraphNode[]): number {
  const depth = new Map<string, number>();
  for (const node of topologicalOrder(nodes)) depth.set(node.id, 1 + Math.max(0, ...node.dependsOn.map((d) => depth.get(d)!)));
  return Math.max(0, ...depth.values());
}
