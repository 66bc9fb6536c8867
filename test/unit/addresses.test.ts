import { test } from "node:test";
import assert from "node:assert/strict";
import { requireSpec, validateSpec } from "../../spec";
import { planAddresses, awsPoolSlotsPerZone, clusterDNSIP, kubernetesServiceIP } from "../../spec/addresses";
import { cidrContains, cidrsOverlap, parseCidr, parseIPv4 } from "../../spec/ipv4";
import { awsBase, hostsBase } from "../helpers";

function bigAws(workers: number) {
  const input = awsBase();
  input.network = { cni: "bridge" };
  input.kubernetes = { podCIDR: "10.128.0.0/12", nodeCIDRMaskSize: 26 };
  input.workers = { pools: [{ name: "general", count: workers }] };
  return requireSpec(validateSpec(input));
}

function assertUnique(values: readonly (string | null)[], what: string): void {
  const present = values.filter((v): v is string => v !== null);
  assert.equal(new Set(present).size, present.length, `duplicate ${what}`);
}

test("1000 workers: no two nodes share an address or a pod range, and ranges do not overlap", () => {
  const spec = bigAws(1000);
  const plan = planAddresses(spec);
  assert.equal(plan.hosts.length, 3 + 3 + 1000);
  assertUnique(plan.hosts.map((h) => h.name), "name");
  assertUnique(plan.hosts.map((h) => h.address), "address");
  assertUnique(plan.hosts.map((h) => h.podCIDR), "pod range");
  const pods = parseCidr(spec.kubernetes.podCIDR)!;
  for (const h of plan.hosts) {
    if (h.podCIDR === null) {
      assert.deepEqual(h.roles, ["etcd"], "only etcd-only hosts lack a pod range");
      continue;
    }
    const range = parseCidr(h.podCIDR)!;
    assert.equal(range.prefix, 26);
    assert.ok(cidrContains(pods, range.base), `${h.podCIDR} inside podCIDR`);
  }
});

test("aws: every address lies in its zone's private subnet, past the AWS-reserved addresses", () => {
  const spec = bigAws(100);
  const plan = planAddresses(spec);
  for (const h of plan.hosts) {
    const subnet = parseCidr(plan.subnets[h.zone!]!.privateSubnet)!;
    const addr = parseIPv4(h.address)!;
    assert.ok(cidrContains(subnet, addr), `${h.name} ${h.address} in ${plan.subnets[h.zone!]!.privateSubnet}`);
    assert.ok(addr - subnet.base >= 4, "first four addresses are AWS's");
  }
  const all = plan.subnets.flatMap((s) => [s.privateSubnet, s.publicSubnet]).map((c) => parseCidr(c)!);
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) assert.ok(!cidrsOverlap(all[i]!, all[j]!));
});

test("aws: etcd and control-plane nodes spread one per zone", () => {
  const plan = planAddresses(requireSpec(validateSpec(awsBase())));
  const zonesOf = (prefix: string) => plan.hosts.filter((h) => h.name.startsWith(prefix)).map((h) => h.zone);
  assert.deepEqual(zonesOf("etcd-"), [0, 1, 2]);
  assert.deepEqual(zonesOf("cp-"), [0, 1, 2]);
  assert.deepEqual(plan.apiEndpoint, { kind: "nlb", host: null, port: 6443 });
});

test("aws: growing one pool or the control plane never moves another pool's machines", () => {
  const base = awsBase();
  base.workers = { pools: [{ name: "a", count: 4 }, { name: "b", count: 5 }] };
  const before = planAddresses(requireSpec(validateSpec(base)));
  const grown = structuredClone(base);
  grown.workers.pools[0].count = 9;
  grown.controlPlane = { count: 5 };
  const after = planAddresses(requireSpec(validateSpec(grown)));
  const addressOf = (plan: typeof before, name: string) => plan.hosts.find((h) => h.name === name)?.address;
  for (const h of before.hosts) assert.equal(addressOf(after, h.name), h.address, `${h.name} kept its address`);
});

test("aws: pool slots per zone scale with the VPC", () => {
  assert.equal(awsPoolSlotsPerZone("10.0.0.0/16"), Math.floor((4096 - 33) / 8));
  assert.equal(awsPoolSlotsPerZone("10.0.0.0/22"), Math.floor((64 - 33) / 8));
});

test("hosts: addresses as given, pod ranges (bridge) in host order, etcd-only hosts get none", () => {
  const input = hostsBase();
  input.network = { cni: "bridge" };
  input.infrastructure.hosts = [
    { name: "e1", address: "192.168.1.1", roles: ["etcd"] },
    { name: "c1", address: "192.168.1.2", roles: ["controlPlane"] },
    { name: "w1", address: "192.168.1.3", roles: ["worker"] },
  ];
  delete input.infrastructure.apiEndpoint;
  const plan = planAddresses(requireSpec(validateSpec(input)));
  assert.deepEqual(
    plan.hosts.map((h) => [h.name, h.address, h.podCIDR]),
    [["e1", "192.168.1.1", null], ["c1", "192.168.1.2", "10.244.0.0/24"], ["w1", "192.168.1.3", "10.244.1.0/24"]],
  );
  assert.deepEqual(plan.apiEndpoint, { kind: "host", host: "192.168.1.2", port: 6443 });
});

test("hosts: the VIP is the API endpoint, on haproxy's own port (default 8443, or as given)", () => {
  const plan = planAddresses(requireSpec(validateSpec(hostsBase())));
  assert.deepEqual(plan.apiEndpoint, { kind: "vip", host: "192.168.10.100", port: 8443 });
  const input = hostsBase();
  input.infrastructure.apiEndpoint.port = 7443;
  assert.equal(planAddresses(requireSpec(validateSpec(input))).apiEndpoint.port, 7443);
  input.infrastructure.apiEndpoint = { address: "lb.example.com" };
  assert.deepEqual(planAddresses(requireSpec(validateSpec(input))).apiEndpoint, { kind: "address", host: "lb.example.com", port: 6443 });
});

test("service addresses: kubernetes is the 1st, cluster DNS the 10th", () => {
  assert.equal(kubernetesServiceIP("10.96.0.0/12"), "10.96.0.1");
  assert.equal(clusterDNSIP("10.96.0.0/12"), "10.96.0.10");
  assert.equal(clusterDNSIP("172.20.0.0/16"), "172.20.0.10");
});

test("planning is deterministic", () => {
  const spec = bigAws(50);
  assert.deepEqual(planAddresses(spec), planAddresses(spec));
});
