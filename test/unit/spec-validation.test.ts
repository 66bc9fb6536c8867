import { test } from "node:test";
import assert from "node:assert/strict";
import { validateSpec, validateSpecYaml, formatProblem } from "../../spec";
import { nftablesSupported } from "../../spec/rules";
import { awsBase, hostsBase, setPath } from "../helpers";

interface Case {
  readonly name: string;
  readonly spec: Record<string, any>;
  readonly path: string;
  /** A fragment the message must contain. */
  readonly gist: string | RegExp;
}

const aws = (mutations: Record<string, unknown>) => {
  const spec = awsBase();
  for (const [path, value] of Object.entries(mutations)) setPath(spec, path, value);
  return spec;
};
const hosts = (mutations: Record<string, unknown>) => {
  const spec = hostsBase();
  for (const [path, value] of Object.entries(mutations)) setPath(spec, path, value);
  return spec;
};

const cases: Case[] = [
  // names
  { name: "cluster name not a DNS label", spec: aws({ name: "Prod_1" }), path: "name", gist: "DNS-1123 label" },
  { name: "cluster name too long", spec: aws({ name: "a".repeat(41) }), path: "name", gist: "at most 40" },
  { name: "cluster name missing", spec: aws({ name: undefined }), path: "name", gist: "is required" },
  { name: "pool name not a DNS label", spec: aws({ "workers.pools": [{ name: "GPU", count: 1 }] }), path: "workers.pools[0].name", gist: "DNS-1123" },
  { name: "host name not a DNS label", spec: hosts({ "infrastructure.hosts[3].name": "w_1" }), path: "infrastructure.hosts[3].name", gist: "DNS-1123" },
  { name: "duplicate host name", spec: hosts({ "infrastructure.hosts[3].name": "cp-1" }), path: "infrastructure.hosts[3].name", gist: "must be unique" },
  { name: "duplicate host address", spec: hosts({ "infrastructure.hosts[3].address": "192.168.10.11" }), path: "infrastructure.hosts[3].address", gist: "must be unique" },
  { name: "duplicate pool name", spec: aws({ "workers.pools": [{ name: "a", count: 1 }, { name: "a", count: 1 }] }), path: "workers.pools[1].name", gist: "listed twice" },
  { name: "reserved pool name", spec: aws({ "workers.pools": [{ name: "cp", count: 1 }] }), path: "workers.pools[0].name", gist: "reserved" },
  // versions
  { name: "kubernetes version not in catalog", spec: aws({ "kubernetes.version": "1.30.2" }), path: "kubernetes.version", gist: /not in the version catalog; supported: 1\.36\.4/ },
  { name: "override with an unknown artifact name", spec: aws({ "artifacts.overrides": [{ name: "kubeadm", version: "1.36.4", url: "http://b.internal/k", sha256: "a".repeat(64) }] }), path: "artifacts.overrides[0].name", gist: "must be one of: kubelet, kubectl, etcd" },
  { name: "override checksum not a SHA-256", spec: aws({ "artifacts.overrides": [{ name: "etcd", version: "3.6.14", url: "http://b.internal/e", sha256: "abc" }] }), path: "artifacts.overrides[0].sha256", gist: "64 lowercase hex" },
  { name: "override version with a leading v", spec: aws({ "artifacts.overrides": [{ name: "etcd", version: "v3.6.14", url: "http://b.internal/e", sha256: "a".repeat(64) }] }), path: "artifacts.overrides[0].version", gist: "no leading v" },
  { name: "override nothing uses", spec: aws({ "artifacts.overrides": [{ name: "etcd", version: "3.5.1", url: "http://b.internal/e", sha256: "a".repeat(64) }] }), path: "artifacts.overrides[0]", gist: "etcd 3.5.1 is not used by this spec; it uses etcd 3.6.14" },
  { name: "same override twice", spec: aws({ "artifacts.overrides": [0, 1].map(() => ({ name: "etcd", version: "3.6.14", url: "http://b.internal/e", sha256: "a".repeat(64) })) }), path: "artifacts.overrides[1]", gist: "overridden twice" },
  { name: "kubernetes override outside the supported minors", spec: aws({ "kubernetes.version": "1.30.2", "artifacts.overrides": ["kubelet", "kubectl"].map((name) => ({ name, version: "1.30.2", url: "http://b.internal/k", sha256: "a".repeat(64) })) }), path: "kubernetes.version", gist: "Kubernetes 1.34, 1.35, 1.36 only" },
  { name: "kubernetes override missing kubectl", spec: aws({ "kubernetes.version": "1.36.99", "artifacts.overrides": [{ name: "kubelet", version: "1.36.99", url: "http://b.internal/k", sha256: "a".repeat(64) }] }), path: "kubernetes.version", gist: "kubelet and kubectl" },
  { name: "host reprovision negative", spec: hosts({ "infrastructure.hosts[3].reprovision": -1 }), path: "infrastructure.hosts[3].reprovision", gist: "0 or more" },
  { name: "host reprovision fractional", spec: hosts({ "infrastructure.hosts[3].reprovision": 1.5 }), path: "infrastructure.hosts[3].reprovision", gist: "" },
  { name: "pool maxUnavailable zero", spec: aws({ "workers.pools": [{ name: "a", count: 2, maxUnavailable: 0 }] }), path: "workers.pools[0].maxUnavailable", gist: "at least 1" },
  { name: "etcd version not in catalog", spec: aws({ "etcd.version": "3.4.0" }), path: "etcd.version", gist: /supported: 3\.6\.14/ },
  { name: "containerd version not in catalog", spec: aws({ "containerd.version": "1.6.0" }), path: "containerd.version", gist: /supported: 2\.3\.4/ },
  // counts and topology
  { name: "even etcd member count", spec: aws({ "etcd.members": 4 }), path: "etcd.members", gist: "1, 3, 5 or 7" },
  { name: "zero control-plane nodes", spec: aws({ "controlPlane.count": 0 }), path: "controlPlane.count", gist: "at least 1" },
  { name: "HA control plane on hosts without endpoint", spec: hosts({ "infrastructure.apiEndpoint": undefined }), path: "infrastructure.apiEndpoint", gist: "load-balanced endpoint" },
  { name: "both vip and address", spec: hosts({ "infrastructure.apiEndpoint.address": "lb.example.com" }), path: "infrastructure.apiEndpoint", gist: "not both" },
  { name: "VIP endpoint port equal to the API server port", spec: hosts({ "infrastructure.apiEndpoint.port": 6443 }), path: "infrastructure.apiEndpoint.port", gist: "must differ from kubernetes.apiServer.port" },
  { name: "vip equals a host address", spec: hosts({ "infrastructure.apiEndpoint.vip": "192.168.10.12" }), path: "infrastructure.apiEndpoint.vip", gist: "host's own address" },
  { name: "stacked with members != control plane (aws)", spec: aws({ "etcd.topology": "stacked", "etcd.members": 1, "controlPlane.count": 3 }), path: "etcd.members", gist: "must equal controlPlane.count" },
  { name: "stacked with an etcd-only host", spec: hosts({ "etcd.topology": "stacked", "infrastructure.hosts[3].roles": ["etcd", "worker"] }), path: "infrastructure.hosts", gist: "1, 3, 5 or 7" },
  { name: "stacked with etcd host lacking controlPlane", spec: hosts({ "etcd.topology": "stacked", "infrastructure.hosts[2].roles": ["etcd"] }), path: "etcd.topology", gist: "etcd without controlPlane" },
  { name: "external with shared roles", spec: hosts({ "etcd.topology": "external" }), path: "etcd.topology", gist: "external puts etcd on its own hosts" },
  { name: "hosts: etcd.members mismatch", spec: hosts({ "etcd.members": 5 }), path: "etcd.members", gist: "must match" },
  { name: "hosts: controlPlane.count mismatch", spec: hosts({ "controlPlane.count": 2 }), path: "controlPlane.count", gist: "must match" },
  { name: "hosts: no control-plane host", spec: hosts({ "infrastructure.hosts": [{ name: "e", address: "192.168.1.1", roles: ["etcd"] }] }), path: "infrastructure.hosts", gist: "controlPlane role" },
  { name: "hosts: pool on a non-worker", spec: hosts({ "infrastructure.hosts[0].pool": "general" }), path: "infrastructure.hosts[0].pool", gist: "worker role" },
  { name: "hosts: pool count mismatch", spec: hosts({ "workers.pools": [{ name: "general", count: 3 }] }), path: "workers.pools[0].count", gist: "must match" },
  // CIDRs
  { name: "podCIDR does not parse", spec: aws({ "kubernetes.podCIDR": "10.244.0.0/33" }), path: "kubernetes.podCIDR", gist: "IPv4 CIDR" },
  { name: "podCIDR with host bits", spec: aws({ "kubernetes.podCIDR": "10.244.1.0/16" }), path: "kubernetes.podCIDR", gist: "host bits zero" },
  { name: "pod and service overlap", spec: aws({ "kubernetes.podCIDR": "10.96.0.0/16" }), path: "kubernetes.serviceCIDR", gist: "overlaps kubernetes.podCIDR" },
  { name: "VPC overlaps pods", spec: aws({ "infrastructure.aws.vpcCIDR": "10.244.0.0/16" }), path: "infrastructure.aws.vpcCIDR", gist: "overlaps kubernetes.podCIDR" },
  { name: "host address inside service range", spec: hosts({ "infrastructure.hosts[3].address": "10.96.0.50" }), path: "infrastructure.hosts[3].address", gist: "inside the pod or service range" },
  { name: "node mask not longer than podCIDR", spec: aws({ "kubernetes.nodeCIDRMaskSize": 16 }), path: "kubernetes.nodeCIDRMaskSize", gist: "longer than the podCIDR prefix" },
  { name: "node mask more than 16 bits longer", spec: aws({ "kubernetes.podCIDR": "10.0.0.0/8", "infrastructure.aws.vpcCIDR": "172.16.0.0/16", "kubernetes.nodeCIDRMaskSize": 26 }), path: "kubernetes.nodeCIDRMaskSize", gist: "at most 16 bits longer" },
  { name: "too few node ranges", spec: aws({ "kubernetes.podCIDR": "10.244.0.0/22", "workers.pools": [{ name: "general", count: 10 }] }), path: "kubernetes.nodeCIDRMaskSize", gist: "4 node pod ranges but the cluster has 13" },
  { name: "service range larger than /12", spec: aws({ "kubernetes.serviceCIDR": "10.96.0.0/11" }), path: "kubernetes.serviceCIDR", gist: "larger than the API server allows" },
  { name: "service range without room for DNS", spec: aws({ "kubernetes.serviceCIDR": "10.96.0.0/29" }), path: "kubernetes.serviceCIDR", gist: "cluster DNS address" },
  { name: "VPC too small to lay out", spec: aws({ "infrastructure.aws.vpcCIDR": "10.0.0.0/24" }), path: "infrastructure.aws.vpcCIDR", gist: "/16 to /22" },
  { name: "pool too large for its zone slots", spec: aws({ "infrastructure.aws.vpcCIDR": "10.0.0.0/22", "infrastructure.aws.availabilityZones": 1, "workers.pools": [{ name: "big", count: 40 }] }), path: "workers.pools[0].count", gist: "addresses per zone" },
  // network
  { name: "unknown CNI", spec: aws({ "network.cni": "weave" }), path: "network.cni", gist: "must be one of: cilium, calico, flannel, bridge" },
  { name: "proxyMode none without cilium", spec: aws({ "network.cni": "calico", "network.proxyMode": "none" }), path: "network.proxyMode", gist: "needs cni cilium" },
  { name: "ipvs settings without ipvs mode", spec: aws({ "network.ipvs": { scheduler: "rr" } }), path: "network.ipvs", gist: "only allowed with network.proxyMode ipvs" },
  { name: "unknown ipvs scheduler", spec: aws({ "network.proxyMode": "ipvs", "network.ipvs": { scheduler: "fastest" } }), path: "network.ipvs.scheduler", gist: "must be one of: rr" },
  { name: "mtu too small", spec: aws({ "network.mtu": 500 }), path: "network.mtu", gist: "at least 1280" },
  // taints and labels
  { name: "taint without effect", spec: aws({ "workers.pools": [{ name: "g", count: 1, taints: ["dedicated=gpu"] }] }), path: "workers.pools[0].taints[0]", gist: "key[=value]:Effect" },
  { name: "taint with unknown effect", spec: aws({ "workers.pools": [{ name: "g", count: 1, taints: ["a=b:Never"] }] }), path: "workers.pools[0].taints[0]", gist: "NoSchedule, PreferNoSchedule or NoExecute" },
  { name: "bad label value", spec: aws({ "workers.pools": [{ name: "g", count: 1, labels: { tier: "a b" } }] }), path: "workers.pools[0].labels.tier", gist: "label values" },
  { name: "node-role label the kubelet may not set", spec: aws({ "workers.pools": [{ name: "g", count: 1, labels: { "node-role.kubernetes.io/worker": "" } }] }), path: "workers.pools[0].labels.node-role.kubernetes.io/worker", gist: "kubelet refuses to register" },
  { name: "k8s.io label the kubelet may not set", spec: aws({ "workers.pools": [{ name: "g", count: 1, labels: { "example.k8s.io/tier": "a" } }] }), path: "workers.pools[0].labels.example.k8s.io/tier", gist: "node.kubernetes.io/" },
  // backends
  { name: "instanceType under hosts", spec: hosts({ "workers.pools": [{ name: "general", instanceType: "m7i.large" }] }), path: "workers.pools[0].instanceType", gist: "only for infrastructure.provider aws" },
  { name: "rootVolumeGiB under hosts", spec: hosts({ "workers.pools": [{ name: "general", rootVolumeGiB: 40 }] }), path: "workers.pools[0].rootVolumeGiB", gist: "only for infrastructure.provider aws" },
  { name: "aws block under hosts provider", spec: hosts({ "infrastructure.aws": { region: "eu-west-1" } }), path: "infrastructure.aws", gist: "unknown field" },
  { name: "hosts list under aws provider", spec: aws({ "infrastructure.hosts": [] }), path: "infrastructure.hosts", gist: "unknown field" },
  { name: "unknown provider", spec: aws({ "infrastructure.provider": "gcp" }), path: "infrastructure.provider", gist: "aws, hosts" },
  { name: "aws without ssh key", spec: aws({ "infrastructure.aws.sshPublicKey": undefined }), path: "infrastructure.aws.sshPublicKey", gist: "is required" },
  { name: "zone outside region", spec: aws({ "infrastructure.aws.availabilityZones": ["eu-west-1a", "us-east-1b"] }), path: "infrastructure.aws.availabilityZones[1]", gist: "not a zone of region eu-west-1" },
  { name: "aws pool without count", spec: aws({ "workers.pools": [{ name: "g" }] }), path: "workers.pools[0].count", gist: "required on aws" },
  // types and unknown keys
  { name: "unknown top-level key", spec: aws({ worker: {} }), path: "worker", gist: "unknown field; allowed fields here: name, kubernetes" },
  { name: "typo in a nested key", spec: aws({ "kubernetes.apiServer.extraSans": [] }), path: "kubernetes.apiServer.extraSans", gist: "extraSANs" },
  { name: "wrong type: count as string", spec: aws({ "controlPlane.count": "3" }), path: "controlPlane.count", gist: 'must be a number, got "3"' },
  { name: "wrong type: featureGates value", spec: aws({ "kubernetes.featureGates": { Foo: "yes" } }), path: "kubernetes.featureGates.Foo", gist: "true or false" },
  { name: "wrong type: hosts as object", spec: hosts({ "infrastructure.hosts": { a: 1 } }), path: "infrastructure.hosts", gist: "must be a list" },
  { name: "bad host address", spec: hosts({ "infrastructure.hosts[1].address": "192.168.10.300" }), path: "infrastructure.hosts[1].address", gist: "IPv4 address" },
  { name: "bad mirror URL", spec: aws({ "artifacts.mirror": "ftp://mirror" }), path: "artifacts.mirror", gist: "http(s) URL" },
  { name: "pki algorithm", spec: aws({ "pki.algorithm": "ed25519" }), path: "pki.algorithm", gist: "ecdsa-p256, rsa-2048" },
  { name: "renewal longer than validity", spec: aws({ "pki.renewBeforeDays": 400 }), path: "pki.renewBeforeDays", gist: "less than pki.certValidityDays" },
  { name: "leaf outlives CA", spec: aws({ "pki.caValidityDays": 100 }), path: "pki.certValidityDays", gist: "outlives the CAs" },
  { name: "pod security level", spec: aws({ "kubernetes.apiServer.podSecurity.enforce": "strict" }), path: "kubernetes.apiServer.podSecurity.enforce", gist: "privileged, baseline, restricted" },
];

test(`at least 30 invalid specs are covered (${cases.length})`, () => {
  assert.ok(cases.length >= 30);
});

for (const c of cases) {
  test(`rejects: ${c.name}`, () => {
    const result = validateSpec(c.spec);
    assert.equal(result.ok, false, "spec should be invalid");
    if (result.ok) return;
    const lines = result.problems.map(formatProblem);
    const match = result.problems.find(
      (p) => p.path === c.path && (typeof c.gist === "string" ? p.message.includes(c.gist) : c.gist.test(p.message)),
    );
    assert.ok(match, `expected a problem at ${c.path} matching ${String(c.gist)}; got:\n${lines.join("\n")}`);
    for (const line of lines) assert.ok(!line.includes("\n"), "each problem is one line");
  });
}

test("base specs are valid (so each case fails for its own reason)", () => {
  assert.deepEqual(validateSpec(awsBase()).ok, true);
  assert.deepEqual(validateSpec(hostsBase()).ok, true);
});

test("all problems are reported at once", () => {
  const spec = aws({ "etcd.members": 4, "network.cni": "calico", "network.proxyMode": "none", "pki.renewBeforeDays": 999 });
  const result = validateSpec(spec);
  assert.equal(result.ok, false);
  if (result.ok) return;
  const paths = result.problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ["etcd.members", "network.proxyMode", "pki.renewBeforeDays"]);
});

test("a version outside the catalog is accepted when the user overrides its artifacts", () => {
  const spec = aws({
    "etcd.version": "3.4.23",
    "kubernetes.version": "1.36.99",
    "artifacts.overrides": [
      { name: "etcd", version: "3.4.23", url: "http://b.internal/etcd-v3.4.23-linux-amd64.tar.gz", sha256: "a".repeat(64) },
      { name: "kubelet", version: "1.36.99", url: "http://b.internal/kubelet", sha256: "b".repeat(64) },
      { name: "kubectl", version: "1.36.99", url: "http://b.internal/kubectl", sha256: "c".repeat(64) },
    ],
  });
  const result = validateSpec(spec);
  assert.ok(result.ok, result.ok ? "" : result.problems.map(formatProblem).join("\n"));
  if (result.ok) assert.equal(result.spec.artifacts.overrides[0]!.arch, "amd64");
});

test("nftables rule: beta from 1.31, alpha before", () => {
  assert.equal(nftablesSupported("1.30.5"), false);
  assert.equal(nftablesSupported("1.31.0"), true);
  assert.equal(nftablesSupported("1.36.4"), true);
});

test("YAML syntax errors carry file, line and column", () => {
  const result = validateSpecYaml("name: x\nkubernetes: [\n", "c.yaml");
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.match(formatProblem(result.problems[0]!), /^c\.yaml:\d+:\d+: YAML syntax error: /);
});

test("duplicate YAML keys are errors, not silently merged", () => {
  const result = validateSpecYaml("name: a\nname: b\n", "dup.yaml");
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.match(result.problems[0]!.message, /unique/);
});

test("field problems in YAML point at the line of the field", () => {
  const text = ["name: test", "network:", "  cni: weave", "infrastructure:", "  provider: hosts", "  hosts:", "    - { name: a, address: 192.168.1.1, roles: [controlPlane, etcd] }", ""].join("\n");
  const result = validateSpecYaml(text, "lines.yaml");
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(formatProblem(result.problems[0]!), 'network.cni: must be one of: cilium, calico, flannel, bridge (got "weave") (lines.yaml:3)');
});

test("a YAML document that is not a mapping is rejected", () => {
  const result = validateSpecYaml("- a\n- b\n", "list.yaml");
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.match(formatProblem(result.problems[0]!), /^\(spec\): must be an object, got a list/);
});

test("pool labels: what the kubelet's --node-labels accepts passes, the rest of kubernetes.io and k8s.io is refused", async () => {
  const { kubeletMaySetLabel } = await import("../../spec/rules");
  const allowed = ["tier", "example.com/team", "node.kubernetes.io/gpu", "team.node.kubernetes.io/x", "kubelet.kubernetes.io/a", "topology.kubernetes.io/zone", "kubernetes.io/arch", "kubernetes.example.com/x"];
  const refused = ["node-role.kubernetes.io/worker", "kubernetes.io/role", "k8s.io/x", "a.k8s.io/b", "node-restriction.kubernetes.io/pool", "beta.kubernetes.io/fluentd"];
  for (const key of allowed) assert.equal(kubeletMaySetLabel(key), true, key);
  for (const key of refused) assert.equal(kubeletMaySetLabel(key), false, key);
});
