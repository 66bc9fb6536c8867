import { test } from "node:test";
import assert from "node:assert/strict";
import { basename } from "node:path";
import { loadSpecFile, validateSpec, requireSpec, SpecError } from "../../spec";
import { specToInput } from "../../spec/normalize";
import { awsBase, exampleFiles, hostsBase } from "../helpers";

/** Recursively asserts no undefined values anywhere in the object. */
function assertNoUndefined(value: unknown, path = "spec"): void {
  assert.notEqual(value, undefined, `${path} is undefined`);
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertNoUndefined(v, `${path}.${k}`);
  }
}

for (const file of exampleFiles()) {
  test(`example ${basename(file)} validates and round-trips through defaults`, () => {
    const first = requireSpec(loadSpecFile(file));
    assertNoUndefined(first);
    const second = requireSpec(validateSpec(specToInput(first)));
    assert.deepEqual(second, first);
  });
}

test("aws defaults follow the spec contract", () => {
  const spec = requireSpec(validateSpec(awsBase()));
  assert.equal(spec.kubernetes.version, "1.36.4");
  assert.equal(spec.kubernetes.clusterDomain, "cluster.local");
  assert.equal(spec.kubernetes.podCIDR, "10.244.0.0/16");
  assert.equal(spec.kubernetes.serviceCIDR, "10.96.0.0/12");
  assert.equal(spec.kubernetes.nodeCIDRMaskSize, 24);
  assert.deepEqual(spec.kubernetes.apiServer, {
    port: 6443,
    extraSANs: [],
    allowedCIDRs: ["0.0.0.0/0"],
    encryptionAtRest: "secretbox",
    auditLog: { enabled: true, maxAgeDays: 30, maxBackups: 10, maxSizeMB: 100 },
    podSecurity: { enforce: "baseline", audit: "restricted", warn: "restricted" },
  });
  assert.deepEqual(spec.network, { cni: "cilium", proxyMode: "iptables", ipvs: null, mtu: null, conntrackMaxPerCore: null });
  assert.deepEqual(spec.kubernetes.kubelet, { failCgroupV1: null }, "the kubelet's own default");
  assert.equal(spec.containerd.restrictOOMScoreAdj, false);
  assert.deepEqual(spec.etcd, { topology: "external", members: 3, version: "3.6.14", snapshots: { intervalHours: 6, retain: 12 } });
  assert.equal(spec.controlPlane.count, 3);
  assert.equal(spec.workers.pools.length, 1);
  assert.deepEqual({ ...spec.workers.pools[0] }, {
    name: "general", count: 3, labels: {}, taints: [], parsedTaints: [], maxUnavailable: 1, instanceType: "m7i.large", rootVolumeGiB: 50,
  });
  assert.equal(spec.containerd.version, "2.3.4");
  assert.deepEqual(spec.pki, { algorithm: "ecdsa-p256", caValidityDays: 3650, certValidityDays: 365, renewBeforeDays: 30, rotation: 0 });
  assert.deepEqual(spec.artifacts, { mirror: null, overrides: [] });
  assert.deepEqual(spec.addons, { coredns: true, metricsServer: true });
  const infra = spec.infrastructure;
  assert.equal(infra.provider, "aws");
  if (infra.provider !== "aws") return;
  assert.equal(infra.zoneCount, 3);
  assert.equal(infra.zoneNames, null);
  assert.equal(infra.vpcCIDR, "10.0.0.0/16");
  assert.equal(infra.ami, null);
  assert.deepEqual(infra.instanceTypes, { etcd: "m7i.large", controlPlane: "m7i.large" });
  assert.equal(infra.publicApi, true);
  assert.equal(infra.bastion, false);
});

test("the etcd default follows the Kubernetes minor's companion line", () => {
  const spec = awsBase();
  spec.kubernetes = { version: "1.34.11" };
  const parsed = requireSpec(validateSpec(spec));
  assert.equal(parsed.etcd.version, "3.5.33");
});

test("ipvs mode gets the default scheduler", () => {
  const spec = awsBase();
  spec.network = { proxyMode: "ipvs" };
  assert.deepEqual(requireSpec(validateSpec(spec)).network.ipvs, { scheduler: "rr" });
});

test("hosts backend: counts, topology and pools come from the host list", () => {
  const spec = requireSpec(validateSpec(hostsBase()));
  assert.equal(spec.etcd.members, 3);
  assert.equal(spec.etcd.topology, "stacked");
  assert.equal(spec.controlPlane.count, 3);
  assert.deepEqual(spec.workers.pools.map((p) => [p.name, p.count, p.instanceType]), [["general", 1, null]]);
});

test("hosts backend: a worker without a pool joins the default pool, a listed pool keeps its labels", () => {
  const input = hostsBase();
  input.infrastructure.hosts.push({ name: "w-2", address: "192.168.10.22", roles: ["worker"] });
  input.workers = { pools: [{ name: "general", labels: { tier: "a" }, taints: ["dedicated=x:NoExecute"] }] };
  const spec = requireSpec(validateSpec(input));
  assert.deepEqual(spec.workers.pools.map((p) => p.name), ["general", "default"]);
  assert.deepEqual(spec.workers.pools[0]!.labels, { tier: "a" });
  assert.deepEqual(spec.workers.pools[0]!.parsedTaints, [{ key: "dedicated", value: "x", effect: "NoExecute" }]);
});

test("single control-plane host needs no endpoint; one etcd-less external layout is inferred", () => {
  const input = hostsBase();
  input.infrastructure.hosts = [
    { name: "e1", address: "192.168.1.1", roles: ["etcd"] },
    { name: "c1", address: "192.168.1.2", roles: ["controlPlane"] },
  ];
  delete input.infrastructure.apiEndpoint;
  const spec = requireSpec(validateSpec(input));
  assert.equal(spec.etcd.topology, "external");
});

test("requireSpec throws a SpecError with every problem", () => {
  const spec = awsBase();
  spec.etcd = { members: 2 };
  assert.throws(() => requireSpec(validateSpec(spec)), (err: unknown) => err instanceof SpecError && /etcd\.members/.test(err.message));
});

test("a missing spec file is one clear problem", () => {
  const result = loadSpecFile("/nonexistent/cluster.yaml");
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(result.problems, [{ path: "/nonexistent/cluster.yaml", message: "cannot read the spec file: no such file" }]);
  assert.equal(result.unreadable, true, "the CLI exits 2 for it: an unusable path");
});
