// Issue 18 item 2: with the bridge CNI drydock assigns each node's pod range (aws routes it
// in the VPC, the node's bridge uses it). A running node keeps its first range, so a range
// must never move when another pool or the control plane grows or shrinks.
// (Pools stay at 27 or fewer: the local backend's default /24 subnet has 27 addresses per pool.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { validateSpec } from "../../spec";
import { isKubernetesNode, planAddresses, podRangeBlocks } from "../../spec/addresses";
import { cidrContains, cidrsOverlap, parseCidr } from "../../spec/ipv4";
import { awsBase, EXAMPLES_DIR } from "../helpers";

interface Shape {
  controlPlanes: number;
  pools: number[];
}

function specOf(provider: "aws" | "local", shape: Shape): Record<string, any> {
  const input = provider === "aws" ? awsBase() : (parse(readFileSync(join(EXAMPLES_DIR, "local-ha.yaml"), "utf8")) as Record<string, any>);
  input.network = { ...input.network, cni: "bridge" };
  input.etcd = { topology: "stacked", members: shape.controlPlanes };
  input.controlPlane = { count: shape.controlPlanes };
  input.workers = { pools: shape.pools.map((count, i) => ({ name: `p${i}`, count })) };
  return input;
}

function rangesOf(provider: "aws" | "local", shape: Shape): Map<string, string> {
  const result = validateSpec(specOf(provider, shape));
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.problems));
  const plan = planAddresses(result.spec);
  const ranges = new Map<string, string>();
  for (const h of plan.hosts) {
    assert.equal(h.podCIDR !== null, isKubernetesNode(h.roles), `${h.name}: a range exactly when it is a Kubernetes node`);
    if (h.podCIDR !== null) ranges.set(h.name, h.podCIDR);
  }
  return ranges;
}

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

function change(shape: Shape, pick: (n: number) => number): Shape {
  const next: Shape = { controlPlanes: shape.controlPlanes, pools: [...shape.pools] };
  switch (pick(4)) {
    case 0: next.controlPlanes = [1, 3, 5][pick(3)]!; break;
    case 1: { const p = pick(next.pools.length); next.pools[p] = Math.min(27, next.pools[p]! + 1 + pick(8)); break; }
    case 2: { const p = pick(next.pools.length); next.pools[p] = Math.max(0, next.pools[p]! - 1 - pick(8)); break; }
    default: if (next.pools.length < 8) next.pools.push(pick(10));
  }
  return next;
}

for (const provider of ["aws", "local"] as const) {
  test(`${provider}, bridge: random pool and control-plane changes never move a remaining node's pod range`, () => {
    let compared = 0;
    let changes = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const pick = random(seed);
      let shape: Shape = { controlPlanes: [1, 3][pick(2)]!, pools: Array.from({ length: 1 + pick(3) }, () => pick(12)) };
      let before = rangesOf(provider, shape);
      for (let step = 0; step < 6; step++) {
        shape = change(shape, pick);
        const after = rangesOf(provider, shape);
        changes++;
        for (const [name, range] of before) {
          if (!after.has(name)) continue;
          assert.equal(after.get(name), range, `seed ${seed} step ${step}: ${name} kept ${range} (shape ${JSON.stringify(shape)})`);
          compared++;
        }
        const all = [...after.values()].map((r) => parseCidr(r)!);
        for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) assert.ok(!cidrsOverlap(all[i]!, all[j]!), `seed ${seed}: ranges overlap`);
        before = after;
      }
    }
    assert.equal(changes, 240);
    assert.ok(compared > 1000, `compared ${compared} kept ranges`);
  });
}

test("the issue's case: growing pool a keeps b-1's range (aws, bridge)", () => {
  const before = rangesOf("aws", { controlPlanes: 3, pools: [2, 2] });
  const after = rangesOf("aws", { controlPlanes: 3, pools: [3, 2] });
  assert.equal(after.get("p1-1"), before.get("p1-1"));
  assert.equal(before.get("p1-1"), "10.244.46.0/24", "pool 1's block starts after the control plane's 16 and pool 0's 30");
  assert.equal(after.size, before.size + 1);
});

test("blocks: the control plane a sixteenth of the ranges, each of the 8 pool positions an equal share, all inside podCIDR", () => {
  assert.deepEqual(podRangeBlocks("10.244.0.0/16", 24), { total: 256, controlPlane: 16, perPool: 30 });
  assert.deepEqual(podRangeBlocks("10.128.0.0/14", 24), { total: 1024, controlPlane: 64, perPool: 120 });
  const full = rangesOf("aws", { controlPlanes: 5, pools: Array(8).fill(30) });
  const pods = parseCidr("10.244.0.0/16")!;
  for (const range of full.values()) assert.ok(cidrContains(pods, parseCidr(range)!.base), `${range} inside the podCIDR`);
  assert.equal(full.size, 5 + 240);
});

test("bridge on aws/local: a pool past its block is refused by field, with a podCIDR that fits; other CNIs are not limited", () => {
  for (const provider of ["aws", "local"] as const) {
    const tooBig = specOf(provider, { controlPlanes: 3, pools: [31] });
    if (provider === "local") tooBig.infrastructure.local = { ...tooBig.infrastructure.local, subnet: "10.213.0.0/20" };
    const result = validateSpec(tooBig);
    assert.ok(!result.ok, `${provider}: 31 workers in one pool must be refused with /16 and /24`);
    const problem = result.problems.find((p) => p.path === "workers.pools[0].count");
    assert.ok(problem, JSON.stringify(result.problems));
    assert.match(problem.message, /each of 8 pool positions 30/);
    assert.match(problem.message, /use kubernetes\.podCIDR 10\.244\.0\.0\/15/);
    const suggested = structuredClone(tooBig);
    suggested.kubernetes = { podCIDR: "10.244.0.0/15" };
    assert.ok(validateSpec(suggested).ok, `${provider}: the suggested podCIDR fits`);
    const cilium = structuredClone(tooBig);
    cilium.network.cni = "cilium";
    assert.ok(validateSpec(cilium).ok, `${provider}: the controller manager allocates cilium's ranges`);
  }
});
