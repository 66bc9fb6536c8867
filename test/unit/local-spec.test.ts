// The local backend's spec: machines planned from the subnet like aws plans its
// zones, validated before anything is created, and the two documented fields it
// defaults differently (failCgroupV1, restrictOOMScoreAdj) rendered where they belong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify as toYaml } from "yaml";
import { CONFIG_ANNOTATION, kubeProxyManifest } from "../../hosts/addons";
import { parse as parseToml, stringify as toToml } from "smol-toml";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { validateSpec, type SpecResult } from "../../spec";
import { isKubernetesNode, planAddresses } from "../../spec/addresses";
import { specToInput, type ClusterSpec } from "../../spec/normalize";
import { containerdConfig } from "../../hosts/containerd";
import { kubeletConfig, kubeletStartStep, KUBELET_RESOLV_CONF, linkResolvers } from "../../hosts/kubelet";
import { EXAMPLES_DIR, hostsBase, setPath } from "../helpers";

const example = () => parse(readFileSync(join(EXAMPLES_DIR, "local-ha.yaml"), "utf8")) as Record<string, any>;

function valid(input: unknown): ClusterSpec {
  const r: SpecResult = validateSpec(input);
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.problems));
  return r.spec;
}

function problems(input: unknown): string[] {
  const r = validateSpec(input);
  assert.ok(!r.ok, "the spec must be refused");
  return r.problems.map((p) => `${p.path}: ${p.message}`);
}

const local = (mutations: Record<string, unknown>) => {
  const spec = example();
  for (const [path, value] of Object.entries(mutations)) setPath(spec, path, value);
  return spec;
};

test("local-ha: machines planned in the subnet, stacked etcd, a VIP, root over SSH", () => {
  const spec = valid(example());
  const infra = spec.infrastructure;
  assert.equal(infra.provider, "local");
  if (infra.provider !== "local") return;
  assert.deepEqual(
    infra.hosts.map((h) => [h.name, h.address, h.roles.join(","), h.pool]),
    [
      ["cp-1", "10.213.0.16", "controlPlane,etcd", null],
      ["cp-2", "10.213.0.17", "controlPlane,etcd", null],
      ["cp-3", "10.213.0.18", "controlPlane,etcd", null],
      ["worker-1", "10.213.0.32", "worker", "worker"],
      ["worker-2", "10.213.0.33", "worker", "worker"],
    ],
  );
  assert.equal(infra.gateway, "10.213.0.1");
  assert.deepEqual(infra.apiEndpoint, { vip: "10.213.0.2", address: null, port: null });
  assert.deepEqual(infra.ssh, { user: "root", port: 22, bastion: null });
  const plan = planAddresses(spec);
  assert.deepEqual(plan.apiEndpoint, { kind: "vip", host: "10.213.0.2", port: 8443 });
  assert.equal(plan.hosts.filter((h) => h.podCIDR !== null).length, 5, "every machine is a Kubernetes node");
});

test("local defaults: one control plane, one worker, no VIP; the endpoint is the control plane", () => {
  const spec = valid({ name: "lab", network: { cni: "bridge" }, infrastructure: { provider: "local" } });
  const plan = planAddresses(spec);
  assert.deepEqual(plan.hosts.map((h) => `${h.name}@${h.address}`), ["cp-1@10.213.0.16", "default-1@10.213.0.32"]);
  assert.deepEqual(plan.apiEndpoint, { kind: "host", host: "10.213.0.16", port: 6443 });
  assert.equal(spec.etcd.topology, "stacked");
});

test("local: growing or shrinking one pool or the control plane never moves another machine", () => {
  const sizes = [
    [1, 1, 1],
    [3, 1, 1],
    [3, 5, 1],
    [3, 5, 7],
    [1, 2, 7],
    [5, 9, 2],
  ];
  let checked = 0;
  const seen = new Map<string, string>();
  for (const [cps, a, b] of sizes) {
    const spec = valid(local({ "controlPlane.count": cps, "workers.pools": [{ name: "a", count: a }, { name: "b", count: b }] }));
    for (const h of planAddresses(spec).hosts) {
      const before = seen.get(h.name);
      if (before !== undefined) {
        assert.equal(h.address, before, `${h.name} keeps its address`);
        checked++;
      }
      seen.set(h.name, h.address);
    }
  }
  assert.ok(checked >= 20, `compared ${checked} machines across plans`);
});

const refusals: [string, Record<string, unknown>, string, RegExp][] = [
  ["subnet too small", { "infrastructure.local.subnet": "10.213.0.0/27" }, "infrastructure.local.subnet", /use a prefix from \/16 to \/26/],
  ["subnet overlaps the pods", { "infrastructure.local.subnet": "10.244.0.0/24" }, "infrastructure.local.subnet", /overlaps kubernetes.podCIDR/],
  ["VIP outside the subnet", { "infrastructure.apiEndpoint": { vip: "10.9.0.2" } }, "infrastructure.apiEndpoint.vip", /outside infrastructure.local.subnet/],
  ["VIP is the host", { "infrastructure.apiEndpoint": { vip: "10.213.0.1" } }, "infrastructure.apiEndpoint.vip", /host's own address/],
  ["VIP is a machine", { "infrastructure.apiEndpoint": { vip: "10.213.0.16" } }, "infrastructure.apiEndpoint.vip", /a machine's address/],
  ["VIP port is the API server's", { "infrastructure.apiEndpoint": { port: 6443 } }, "infrastructure.apiEndpoint.port", /must differ/],
  ["even etcd", { "etcd.topology": "external", "etcd.members": 2 }, "etcd.members", /odd quorum/],
  ["instance type", { "workers.pools": [{ name: "w", count: 1, instanceType: "m7i.large" }] }, "workers.pools[0].instanceType", /only for infrastructure.provider aws/],
  ["pool larger than its slots", { "infrastructure.local.subnet": "10.213.0.0/26", "workers.pools": [{ name: "w", count: 9 }] }, "workers.pools[0].count", /each pool has 3 addresses/],
  ["hosts field under local", { "infrastructure.hosts": [] }, "infrastructure.hosts", /unknown field; allowed fields here: provider, local, apiEndpoint/],
];

for (const [name, mutations, path, gist] of refusals) {
  test(`local refuses: ${name}`, () => {
    const lines = problems(local(mutations));
    assert.ok(lines.some((l) => l.startsWith(`${path}:`) && gist.test(l)), `expected ${path} ~ ${gist}, got:\n${lines.join("\n")}`);
  });
}

test("local: the spec round-trips through its user-facing shape", () => {
  const spec = valid(local({ "infrastructure.apiEndpoint": { vip: "10.213.0.3", port: 9443 }, "infrastructure.local.nat": false }));
  assert.deepEqual(valid(specToInput(spec)), spec);
});

test("failCgroupV1 and restrict_oom_score_adj: set on local, the upstream default elsewhere, the spec wins", () => {
  const onLocal = valid(example());
  const onHosts = valid(hostsBase());
  const host = planAddresses(onLocal).hosts[0]!;
  const hostsHost = planAddresses(onHosts).hosts.find((h) => isKubernetesNode(h.roles))!;
  assert.equal(kubeletConfig(onLocal, host, "10.96.0.10").failCgroupV1, false);
  assert.equal("failCgroupV1" in kubeletConfig(onHosts, hostsHost, "10.96.0.10"), false, "hosts: the kubelet's own default");
  const runtime = (spec: ClusterSpec) => (parseToml(toToml(containerdConfig(spec))) as any).plugins["io.containerd.cri.v1.runtime"];
  assert.equal(runtime(onLocal).restrict_oom_score_adj, true);
  assert.equal(runtime(onHosts).restrict_oom_score_adj, undefined);
  const explicit = valid(local({ "kubernetes.kubelet": { failCgroupV1: true }, "containerd.restrictOOMScoreAdj": false }));
  assert.equal(kubeletConfig(explicit, host, "10.96.0.10").failCgroupV1, true);
  assert.equal(runtime(explicit).restrict_oom_score_adj, undefined);
  const v2 = valid(setPath(hostsBase(), "containerd.version", "1.7.34"));
  assert.equal((parseToml(toToml(containerdConfig(valid(setPath(specToInput(v2), "containerd.restrictOOMScoreAdj", true))))) as any).plugins["io.containerd.grpc.v1.cri"].restrict_oom_score_adj, true, "containerd 1.7 config");
});

test("kubelet reads the node's upstream resolvers through a link kubelet-start points at the right file", () => {
  const spec = valid(example());
  assert.equal(kubeletConfig(spec, planAddresses(spec).hosts[0]!, "10.96.0.10").resolvConf, KUBELET_RESOLV_CONF);
  assert.ok(kubeletStartStep([]).body.includes(linkResolvers(KUBELET_RESOLV_CONF)));
  // Run it with a systemctl that says systemd-resolved runs (Ubuntu) or not (Debian).
  for (const [resolved, target] of [[0, "/run/systemd/resolve/resolv.conf"], [3, "/etc/resolv.conf"]] as const) {
    const dir = mkdtempSync(join(tmpdir(), "drydock-resolv-"));
    writeFileSync(join(dir, "systemctl"), `#!/bin/sh\nexit ${resolved}\n`, { mode: 0o755 });
    const link = join(dir, "kubelet", "resolv.conf");
    const r = spawnSync("bash", ["-euc", linkResolvers(link)], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readlinkSync(link), target);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("kube-proxy: conntrack.maxPerCore 0 on local (nf_conntrack_max is the host's), the upstream default elsewhere; a config change rolls its pods", () => {
  const proxy = (spec: ClusterSpec) => kubeProxyManifest(spec, "https://10.213.0.2:8443", (o) => toYaml(o))!;
  const configOf = (spec: ClusterSpec) => parse((proxy(spec).objects.find((o: any) => o.kind === "ConfigMap") as any).data["config.conf"]);
  const podAnnotation = (spec: ClusterSpec) => (proxy(spec).objects.find((o: any) => o.kind === "DaemonSet") as any).spec.template.metadata.annotations[CONFIG_ANNOTATION];
  const onLocal = valid(example());
  assert.deepEqual(configOf(onLocal).conntrack, { maxPerCore: 0 });
  assert.equal(configOf(valid(hostsBase())).conntrack, undefined, "hosts: kube-proxy's own default");
  const raised = valid(local({ "network.conntrackMaxPerCore": 65536 }));
  assert.deepEqual(configOf(raised).conntrack, { maxPerCore: 65536 });
  assert.match(podAnnotation(onLocal), /^[0-9a-f]{64}$/);
  assert.notEqual(podAnnotation(raised), podAnnotation(onLocal), "a new configuration is a new pod template");
  assert.equal(podAnnotation(valid(example())), podAnnotation(onLocal), "the same configuration, the same template");
});
