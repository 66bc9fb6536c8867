import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parse } from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { exampleFiles, hostsBase } from "../helpers";
import { resolveOutput, runIndex } from "./harness";
import { loadSpecFile, requireSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";

for (const file of exampleFiles()) {
  test(`index.ts with drydock:specFile ${basename(file)} builds one Cluster with the planned nodes`, async () => {
    const run = await runIndex({ "drydock:specFile": file });
    const spec = requireSpec(loadSpecFile(file));
    const clusters = run.resources.filter((r) => r.type === "drydock:index:Cluster");
    assert.equal(clusters.length, 1);
    assert.equal(clusters[0]!.name, spec.name);
    const { value: nodes } = await resolveOutput(run.exports.nodes as pulumi.Output<{ name: string; address: string }[]>);
    const planned = planAddresses(spec).hosts;
    assert.deepEqual(nodes.map((n) => [n.name, n.address]), planned.map((h) => [h.name, h.address]));
  });
}

test("index.ts accepts the spec as a structured drydock:cluster object", async () => {
  const inline = parse(readFileSync(exampleFiles().find((f) => f.endsWith("hosts-ha.yaml"))!, "utf8"));
  const run = await runIndex({ "drydock:cluster": JSON.stringify(inline) });
  assert.equal(run.resources.filter((r) => r.type === "drydock:index:Cluster")[0]!.name, "lab");
});

async function expectRunError(config: Record<string, string>, pattern: RegExp): Promise<void> {
  await assert.rejects(runIndex(config), (err: unknown) => {
    assert.ok(pulumi.RunError.isInstance(err as Error), `expected a RunError (no stack trace for users), got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    return true;
  });
}

test("an invalid spec stops the program (RunError, no stack trace) before any resource", async () => {
  const bad = hostsBase();
  bad.etcd = { members: 4 };
  bad.network = { cni: "weave" };
  await expectRunError({ "drydock:cluster": JSON.stringify(bad) }, /network\.cni: must be one of/);
});

test("cross-field problems are reported the same way", async () => {
  const bad = hostsBase();
  bad.etcd = { members: 5 };
  await expectRunError({ "drydock:cluster": JSON.stringify(bad) }, /etcd\.members: is 5 but 3 hosts have the etcd role/);
});

test("no spec configured is a clear error", async () => {
  await expectRunError({}, /set drydock:specFile/);
});

test("both spec sources at once is a clear error", async () => {
  await expectRunError({ "drydock:specFile": "x.yaml", "drydock:cluster": "{}" }, /not both/);
});
