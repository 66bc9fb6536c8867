import { test } from "node:test";
import assert from "node:assert/strict";
import { sequentialStages } from "../../hosts/stages";

test("stages: longest dependency chain; independent steps share a stage", () => {
  assert.equal(sequentialStages([]), 0);
  assert.equal(sequentialStages([{ id: "a", dependsOn: [] }, { id: "b", dependsOn: [] }]), 1);
  assert.equal(
    sequentialStages([
      { id: "etcd", dependsOn: [] },
      { id: "cp", dependsOn: ["etcd"] },
      ...Array.from({ length: 50 }, (_, i) => ({ id: `w${i}`, dependsOn: ["cp"] })),
      { id: "manifests", dependsOn: ["cp"] },
    ]),
    3,
  );
});

test("stages: a cycle or a missing dependency is an error", () => {
  assert.throws(() => sequentialStages([{ id: "a", dependsOn: ["b"] }, { id: "b", dependsOn: ["a"] }]), /cycle/);
  assert.throws(() => sequentialStages([{ id: "a", dependsOn: ["zz"] }]), /not planned/);
});
