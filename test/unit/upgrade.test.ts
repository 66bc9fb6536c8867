import { test } from "node:test";
import assert from "node:assert/strict";
import { upgradeProblems } from "../../spec/upgrade";
import { versionGuardProvider } from "../../components/providers";

const at = (kubernetes: string, etcd = "3.6.14") => ({ kubernetes, etcd });
const lines = (problems: ReturnType<typeof upgradeProblems>) => problems.map((p) => `${p.path}: ${p.message}`);

test("allowed: same version, any patch up, one minor up, etcd up", () => {
  assert.deepEqual(upgradeProblems(at("1.35.8"), at("1.35.8")), []);
  assert.deepEqual(upgradeProblems(at("1.35.1"), at("1.35.8")), []);
  assert.deepEqual(upgradeProblems(at("1.35.8"), at("1.36.0")), []);
  assert.deepEqual(upgradeProblems(at("1.34.11", "3.5.33"), at("1.35.0", "3.6.14")), []);
});

test("refused: skipping a minor, with the next step named", () => {
  assert.deepEqual(lines(upgradeProblems(at("1.34.11"), at("1.36.4"))), ["kubernetes.version: 1.34.11 → 1.36.4 skips a minor; upgrade one minor at a time (next: a 1.35 version)"]);
});

test("refused: Kubernetes downgrade, patch or minor", () => {
  assert.match(lines(upgradeProblems(at("1.36.4"), at("1.36.3")))[0]!, /^kubernetes\.version: 1\.36\.4 → 1\.36\.3 is a downgrade/);
  assert.match(lines(upgradeProblems(at("1.36.0"), at("1.35.8")))[0]!, /downgrade/);
});

test("refused: etcd downgrade", () => {
  assert.deepEqual(lines(upgradeProblems(at("1.36.4", "3.6.14"), at("1.36.4", "3.6.13"))), ["etcd.version: 3.6.14 → 3.6.13 is a downgrade; etcd only upgrades (the cluster runs 3.6.14)"]);
});

test("the guard's check fails the preview with the message, and lets a first deployment through", async () => {
  const first = await versionGuardProvider.check!({}, at("1.34.2"));
  assert.equal(first.failures, undefined);
  const refused = await versionGuardProvider.check!(at("1.34.2"), at("1.36.4"));
  assert.deepEqual(refused.failures, [{ property: "kubernetes.version", reason: "kubernetes.version: 1.34.2 → 1.36.4 skips a minor; upgrade one minor at a time (next: a 1.35 version)" }]);
  const fine = await versionGuardProvider.check!(at("1.35.8"), at("1.36.4"));
  assert.deepEqual(fine.failures, []);
});
