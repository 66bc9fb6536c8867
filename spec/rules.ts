// Cross-field validation: every rule of the spec contract that one field's
// schema cannot check alone. Each problem names the field it is about.
import {
  ARCH_INDEPENDENT,
  compareVersions,
  containerdVersions,
  etcdVersions,
  KUBERNETES_MINORS,
  kubernetesVersions,
  minorOf,
  overrideReplaces,
  versionAvailable,
} from "./catalog";
import { usedArtifacts } from "./artifact-use";
import {
  MAX_POOLS,
  AWS_MAX_VPC_PREFIX,
  AWS_MAX_ZONES,
  SUBNET_SLOTS,
  LOCAL_MAX_PREFIX,
  LOCAL_MIN_PREFIX,
  awsPoolSlotsPerZone,
  kubernetesNodeCount,
  maxPerZone,
  podRangeBlocks,
  poolSlots,
} from "./addresses";
import { type Cidr, blockSize, cidrContains, cidrSize, cidrsOverlap, formatCidr, parseCidr, parseIPv4 } from "./ipv4";
import { type ClusterSpec, hostsWithRole, parseTaint } from "./normalize";
import { ETCD_MEMBER_COUNTS, type ParsedSpec } from "./schema";

export interface Problem {
  /** Dotted field path, list positions in brackets: workers.pools[0].taints[1]. */
  readonly path: string;
  readonly message: string;
}

/** Oldest Kubernetes minor where kube-proxy's nftables mode is beta or GA (beta in 1.31, GA in 1.33). */
export const NFTABLES_MIN_MINOR = "1.31";
/** kube-apiserver refuses service ranges larger than a /12 (IPv4). */
export const MAX_SERVICE_PREFIX = 12;
/** kube-controller-manager refuses a node mask more than 16 bits longer than the cluster CIDR. */
export const MAX_NODE_MASK_DIFF = 16;
/** Pool names that would collide with drydock's etcd-N and cp-N machine names. */
export const RESERVED_POOL_NAMES = ["etcd", "cp"];

type Report = (path: string, message: string) => void;

function listVersions(versions: string[]): string {
  return versions.join(", ");
}

const OVERRIDE_HINT = "or give its artifacts in artifacts.overrides";

function checkVersions(spec: ClusterSpec, report: Report): void {
  const { overrides } = spec.artifacts;
  const k8s = spec.kubernetes.version;
  const k8sKnown = kubernetesVersions().includes(k8s) || versionAvailable(["kubelet", "kubectl"], k8s, overrides);
  const minorSupported = (KUBERNETES_MINORS as readonly string[]).includes(minorOf(k8s));
  if (!k8sKnown || !minorSupported) {
    report("kubernetes.version", `${k8s} is not in the version catalog; supported: ${listVersions(kubernetesVersions())} (${OVERRIDE_HINT}: kubelet and kubectl, Kubernetes ${KUBERNETES_MINORS.join(", ")} only)`);
  }
  if (!etcdVersions().includes(spec.etcd.version) && !versionAvailable(["etcd"], spec.etcd.version, overrides)) {
    report("etcd.version", `${spec.etcd.version} is not in the version catalog; supported: ${listVersions(etcdVersions())} (${OVERRIDE_HINT})`);
  }
  if (!containerdVersions().includes(spec.containerd.version) && !versionAvailable(["containerd"], spec.containerd.version, overrides)) {
    report("containerd.version", `${spec.containerd.version} is not in the version catalog; supported: ${listVersions(containerdVersions())} (${OVERRIDE_HINT})`);
  }
  overrides.forEach((o, i) => {
    if (overrides.findIndex((p) => overrideReplaces(p, o.name, o.version, o.arch)) < i) {
      report(`artifacts.overrides[${i}]`, `${o.name} ${o.version} ${ARCH_INDEPENDENT.includes(o.name) ? "(any arch)" : o.arch} is overridden twice`);
    }
  });
  // An override nothing uses is almost always a typo in its name or version.
  if (!minorSupported) return;
  const used = usedArtifacts(spec);
  overrides.forEach((o, i) => {
    if (!used.some((u) => u.name === o.name && u.version === o.version)) {
      report(`artifacts.overrides[${i}]`, `${o.name} ${o.version} is not used by this spec; it uses ${used.filter((u) => u.name === o.name).map((u) => `${u.name} ${u.version}`).join(", ") || `no ${o.name}`}`);
    }
  });
}

export function nftablesSupported(kubernetesVersion: string): boolean {
  return compareVersions(minorOf(kubernetesVersion), NFTABLES_MIN_MINOR) >= 0;
}

function checkNetwork(spec: ClusterSpec, parsed: ParsedSpec, report: Report): void {
  const { cni, proxyMode } = spec.network;
  if (proxyMode === "none" && cni !== "cilium") {
    report("network.proxyMode", `none needs cni cilium (Cilium replaces kube-proxy); with ${cni} use iptables, ipvs or nftables`);
  }
  if (parsed.network.ipvs !== undefined && proxyMode !== "ipvs") {
    report("network.ipvs", `only allowed with network.proxyMode ipvs (it is ${proxyMode})`);
  }
  if (proxyMode === "nftables" && !nftablesSupported(spec.kubernetes.version)) {
    report("network.proxyMode", `nftables needs Kubernetes ${NFTABLES_MIN_MINOR} or newer (beta or GA); ${spec.kubernetes.version} has it only as alpha`);
  }
}

/** The podCIDR (same start, aligned) that gives every node a range of the current mask. */
function podRangeAdvice(pods: Cidr, mask: number, nodes: number): string {
  const bits = Math.ceil(Math.log2(nodes));
  const prefix = mask - bits;
  if (prefix < 1) return `use a larger podCIDR or fewer nodes`;
  const base = pods.base - (pods.base % blockSize(prefix));
  return `use kubernetes.podCIDR ${formatCidr({ base, prefix })} (${2 ** bits} ranges of /${mask}) or another /${prefix} disjoint from the other ranges`;
}

/** bridge on aws/local: every counted machine's range must fall in its role's or pool's block. */
function checkPodRangeBlocks(spec: ClusterSpec, pods: Cidr, mask: number, report: Report): void {
  if (spec.network.cni !== "bridge" || spec.infrastructure.provider === "hosts") return;
  const blocks = podRangeBlocks(spec.kubernetes.podCIDR, mask);
  const layout = `${spec.kubernetes.podCIDR} in /${mask} ranges gives the control plane ${blocks.controlPlane} and each of ${MAX_POOLS} pool positions ${blocks.perPool}, so no machine's range moves when another pool grows`;
  // A range count T gives the control plane T/16 and each pool floor(15T/128).
  const advice = (needed: number) => podRangeAdvice(pods, mask, needed);
  if (spec.controlPlane.count > blocks.controlPlane) {
    report("controlPlane.count", `${spec.controlPlane.count} nodes, but ${layout}; ${advice(spec.controlPlane.count * 16)}`);
  }
  spec.workers.pools.forEach((pool, i) => {
    if (pool.count > blocks.perPool) {
      report(`workers.pools[${i}].count`, `${pool.count} workers, but ${layout}; ${advice(Math.ceil((128 * pool.count) / 15))}`);
    }
  });
}

function checkCidrs(spec: ClusterSpec, report: Report): void {
  const pods = parseCidr(spec.kubernetes.podCIDR)!;
  const services = parseCidr(spec.kubernetes.serviceCIDR)!;
  const mask = spec.kubernetes.nodeCIDRMaskSize;

  if (services.prefix < MAX_SERVICE_PREFIX) {
    report("kubernetes.serviceCIDR", `/${services.prefix} is larger than the API server allows; use a prefix of /${MAX_SERVICE_PREFIX} or longer`);
  }
  if (cidrSize(services) < 16) {
    report("kubernetes.serviceCIDR", `/${services.prefix} leaves no room for the cluster DNS address (the 10th); use /28 or shorter`);
  }
  if (cidrsOverlap(pods, services)) {
    report("kubernetes.serviceCIDR", `${spec.kubernetes.serviceCIDR} overlaps kubernetes.podCIDR ${spec.kubernetes.podCIDR}; they must be disjoint`);
  }
  if (mask <= pods.prefix) {
    report("kubernetes.nodeCIDRMaskSize", `must be longer than the podCIDR prefix /${pods.prefix} (got ${mask})`);
  } else if (mask - pods.prefix > MAX_NODE_MASK_DIFF) {
    report("kubernetes.nodeCIDRMaskSize", `at most ${MAX_NODE_MASK_DIFF} bits longer than the podCIDR prefix /${pods.prefix} (got ${mask}); use ${pods.prefix + MAX_NODE_MASK_DIFF} or less`);
  } else {
    const ranges = 2 ** (mask - pods.prefix);
    const nodes = kubernetesNodeCount(spec);
    if (ranges < nodes) {
      report("kubernetes.nodeCIDRMaskSize", `/${mask} ranges in ${spec.kubernetes.podCIDR} give ${ranges} node pod ranges but the cluster has ${nodes} Kubernetes nodes; ${podRangeAdvice(pods, mask, nodes)}`);
    } else {
      checkPodRangeBlocks(spec, pods, mask, report);
    }
  }

  const infra = spec.infrastructure;
  if (infra.provider === "aws") {
    const vpc = parseCidr(infra.vpcCIDR)!;
    for (const [field, cidr] of [["podCIDR", pods], ["serviceCIDR", services]] as [string, Cidr][]) {
      if (cidrsOverlap(vpc, cidr)) {
        report("infrastructure.aws.vpcCIDR", `${infra.vpcCIDR} overlaps kubernetes.${field}; the VPC, pod and service ranges must be disjoint`);
      }
    }
  } else if (infra.provider === "hosts") {
    infra.hosts.forEach((h, i) => {
      const addr = parseIPv4(h.address)!;
      if (cidrContains(pods, addr) || cidrContains(services, addr)) {
        report(`infrastructure.hosts[${i}].address`, `${h.address} is inside the pod or service range; host addresses must be outside ${spec.kubernetes.podCIDR} and ${spec.kubernetes.serviceCIDR}`);
      }
    });
    const vip = infra.apiEndpoint.vip;
    if (vip && (cidrContains(pods, parseIPv4(vip)!) || cidrContains(services, parseIPv4(vip)!))) {
      report("infrastructure.apiEndpoint.vip", `${vip} is inside the pod or service range; it must be an address on the hosts' network`);
    }
  }
}

/** Labels in the kubernetes.io and k8s.io namespaces a kubelet may set on its own Node (k8s.io/kubelet's IsKubeletLabel). */
export const KUBELET_LABELS = [
  "kubernetes.io/hostname",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
];
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

const labelNamespace = (key: string) => (key.includes("/") ? key.slice(0, key.indexOf("/")) : "");
const inNamespace = (ns: string, parent: string) => ns === parent || ns.endsWith(`.${parent}`);

/** The kubelet's --node-labels rule: keys in kubernetes.io or k8s.io namespaces only when it may set them. */
export function kubeletMaySetLabel(key: string): boolean {
  const ns = labelNamespace(key);
  if (!inNamespace(ns, "kubernetes.io") && !inNamespace(ns, "k8s.io")) return true;
  return KUBELET_LABELS.includes(key) || KUBELET_LABEL_NAMESPACES.some((allowed) => inNamespace(ns, allowed));
}

function checkPools(spec: ClusterSpec, parsed: ParsedSpec, report: Report): void {
  const written = parsed.workers.pools ?? [];
  const seen = new Set<string>();
  written.forEach((pool, i) => {
    if (seen.has(pool.name)) report(`workers.pools[${i}].name`, `pool ${pool.name} is listed twice; pool names must be unique`);
    seen.add(pool.name);
    if (RESERVED_POOL_NAMES.includes(pool.name)) {
      report(`workers.pools[${i}].name`, `${pool.name} is reserved for drydock's own machine names; pick another name`);
    }
    for (const key of Object.keys(pool.labels ?? {})) {
      if (!kubeletMaySetLabel(key)) {
        report(
          `workers.pools[${i}].labels.${key}`,
          `the kubelet refuses to register with a ${labelNamespace(key)} label it may not set; use your own prefix (example.com/...), or one of ${KUBELET_LABELS.join(", ")}, or a key under node.kubernetes.io/ or kubelet.kubernetes.io/`,
        );
      }
    }
    pool.taints.forEach((taint, t) => {
      if (!parseTaint(taint)) {
        report(`workers.pools[${i}].taints[${t}]`, `"${taint}" is not a taint; write key[=value]:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute`);
      }
    });
  });
}

function checkPki(spec: ClusterSpec, report: Report): void {
  const { caValidityDays, certValidityDays, renewBeforeDays } = spec.pki;
  if (certValidityDays > caValidityDays) {
    report("pki.certValidityDays", `${certValidityDays} days outlives the CAs (pki.caValidityDays ${caValidityDays}); use at most ${caValidityDays}`);
  }
  if (renewBeforeDays >= certValidityDays) {
    report("pki.renewBeforeDays", `must be less than pki.certValidityDays (${certValidityDays}), or every run would reissue every certificate`);
  }
}

function checkEtcdMembers(path: string, members: number, what: string, report: Report): void {
  if (!(ETCD_MEMBER_COUNTS as readonly number[]).includes(members)) {
    report(path, `${what} ${members}; etcd needs an odd quorum of 1, 3, 5 or 7 members`);
  }
}

/** Backends that create the machines take their counts from the spec (aws, local). */
function checkCounts(spec: ClusterSpec, report: Report): void {
  const members = spec.etcd.members;
  const cps = spec.controlPlane.count;
  checkEtcdMembers("etcd.members", members, "is", report);
  if (cps < 1) report("controlPlane.count", `must be at least 1 (got ${cps})`);
  if (spec.etcd.topology === "stacked" && members !== cps) {
    report("etcd.members", `stacked etcd runs one member on every control-plane node, so it must equal controlPlane.count (${cps}); got ${members}`);
  }
}

function checkLocal(spec: ClusterSpec, parsed: ParsedSpec, report: Report): void {
  const infra = spec.infrastructure;
  if (infra.provider !== "local") return;
  checkCounts(spec, report);
  const net = parseCidr(infra.subnet)!;
  if (net.prefix < LOCAL_MIN_PREFIX || net.prefix > LOCAL_MAX_PREFIX) {
    report("infrastructure.local.subnet", `/${net.prefix} is outside what drydock lays out; use a prefix from /${LOCAL_MIN_PREFIX} to /${LOCAL_MAX_PREFIX}`);
    return;
  }
  if (spec.etcd.topology === "external" && spec.etcd.members > SUBNET_SLOTS.etcd.size) report("etcd.members", `at most ${SUBNET_SLOTS.etcd.size} on local`);
  if (spec.controlPlane.count > SUBNET_SLOTS.controlPlane.size) {
    report("controlPlane.count", `${spec.controlPlane.count} nodes; the local address plan holds at most ${SUBNET_SLOTS.controlPlane.size}`);
  }
  if (spec.workers.pools.length > MAX_POOLS) report("workers.pools", `${spec.workers.pools.length} pools; the local address plan holds at most ${MAX_POOLS}`);
  const slots = poolSlots(net.prefix);
  spec.workers.pools.forEach((pool, i) => {
    if (pool.count > slots) {
      report(`workers.pools[${i}].count`, `${pool.count} workers, but each pool has ${slots} addresses in ${infra.subnet}; use at most ${slots}, a larger infrastructure.local.subnet, or more pools`);
    }
    const written = parsed.workers.pools?.[i];
    if (written?.instanceType !== undefined) report(`workers.pools[${i}].instanceType`, "only for infrastructure.provider aws; local machines are systemd-nspawn containers");
    if (written?.rootVolumeGiB !== undefined) report(`workers.pools[${i}].rootVolumeGiB`, "only for infrastructure.provider aws; local machines are systemd-nspawn containers");
  });
  const vip = infra.apiEndpoint.vip;
  if (vip !== null) {
    const address = parseIPv4(vip)!;
    if (!cidrContains(net, address)) report("infrastructure.apiEndpoint.vip", `${vip} is outside infrastructure.local.subnet ${infra.subnet}; the VIP must be on the machines' bridge`);
    else if (vip === infra.gateway) report("infrastructure.apiEndpoint.vip", `${vip} is the host's own address on the bridge; pick another address of ${infra.subnet}`);
    else if (infra.hosts.some((h) => h.address === vip)) report("infrastructure.apiEndpoint.vip", `${vip} is a machine's address; pick a free address of ${infra.subnet} below .8 (the machines start there)`);
  }
  if (spec.controlPlane.count > 1 && infra.apiEndpoint.port === spec.kubernetes.apiServer.port) {
    report("infrastructure.apiEndpoint.port", `must differ from kubernetes.apiServer.port (${spec.kubernetes.apiServer.port}): haproxy on the VIP shares the control-plane machines with the API servers`);
  }
  for (const [field, cidr] of [["podCIDR", spec.kubernetes.podCIDR], ["serviceCIDR", spec.kubernetes.serviceCIDR]] as const) {
    if (cidrsOverlap(net, parseCidr(cidr)!)) report("infrastructure.local.subnet", `${infra.subnet} overlaps kubernetes.${field} ${cidr}; the machines', pod and service ranges must be disjoint`);
  }
}

function checkAws(spec: ClusterSpec, parsed: ParsedSpec, report: Report): void {
  const infra = spec.infrastructure;
  if (infra.provider !== "aws") return;
  const members = spec.etcd.members;
  const cps = spec.controlPlane.count;
  checkCounts(spec, report);

  const vpc = parseCidr(infra.vpcCIDR)!;
  if (vpc.prefix < 16 || vpc.prefix > AWS_MAX_VPC_PREFIX) {
    report("infrastructure.aws.vpcCIDR", `/${vpc.prefix} is outside what drydock lays out; use a prefix from /16 to /${AWS_MAX_VPC_PREFIX}`);
    return;
  }
  const zones = infra.zoneCount;
  if (infra.zoneNames) {
    const names = infra.zoneNames;
    names.forEach((zone, i) => {
      if (!zone.startsWith(infra.region)) report(`infrastructure.aws.availabilityZones[${i}]`, `${zone} is not a zone of region ${infra.region}`);
      if (names.indexOf(zone) !== i) report(`infrastructure.aws.availabilityZones[${i}]`, `${zone} is listed twice`);
    });
  }
  if (spec.etcd.topology === "external" && maxPerZone(members, zones) > SUBNET_SLOTS.etcd.size) {
    report("etcd.members", `too many members per zone for the address plan`);
  }
  if (maxPerZone(cps, zones) > SUBNET_SLOTS.controlPlane.size) {
    report("controlPlane.count", `${cps} nodes over ${zones} zones exceed ${SUBNET_SLOTS.controlPlane.size} per zone; use at most ${SUBNET_SLOTS.controlPlane.size * zones}`);
  }
  if (spec.workers.pools.length > MAX_POOLS) {
    report("workers.pools", `${spec.workers.pools.length} pools; the AWS address plan holds at most ${MAX_POOLS}`);
  }
  const slots = awsPoolSlotsPerZone(infra.vpcCIDR);
  spec.workers.pools.forEach((pool, i) => {
    if (parsed.workers.pools?.[i]?.count === undefined && parsed.workers.pools !== undefined) {
      report(`workers.pools[${i}].count`, `is required on aws (how many workers this pool runs)`);
    }
    const perZone = maxPerZone(pool.count, zones);
    if (perZone > slots) {
      const larger = vpc.prefix > 16 ? " or a larger infrastructure.aws.vpcCIDR (down to /16)" : "";
      const moreZones = zones < AWS_MAX_ZONES ? ", more zones (infrastructure.aws.availabilityZones, up to 8)" : "";
      report(`workers.pools[${i}].count`, `${pool.count} workers put ${perZone} in one zone, but each pool has ${slots} addresses per zone in ${infra.vpcCIDR}; use at most ${slots * zones}${moreZones}${larger}, or split the workers over more pools`);
    }
  });
}

function checkHosts(spec: ClusterSpec, parsed: ParsedSpec, report: Report): void {
  const infra = spec.infrastructure;
  if (infra.provider !== "hosts") return;
  const hosts = infra.hosts;
  const parsedHosts = parsed.infrastructure.provider === "hosts" ? parsed.infrastructure.hosts : [];

  const names = new Map<string, number>();
  const addresses = new Map<string, number>();
  hosts.forEach((h, i) => {
    if (names.has(h.name)) report(`infrastructure.hosts[${i}].name`, `${h.name} is already the name of infrastructure.hosts[${names.get(h.name)}]; host names must be unique`);
    else names.set(h.name, i);
    if (addresses.has(h.address)) report(`infrastructure.hosts[${i}].address`, `${h.address} is already the address of infrastructure.hosts[${addresses.get(h.address)}]; addresses must be unique`);
    else addresses.set(h.address, i);
    if (parsedHosts[i]?.pool !== undefined && !h.roles.includes("worker")) {
      report(`infrastructure.hosts[${i}].pool`, `only hosts with the worker role belong to a pool`);
    }
  });

  const etcdHosts = hostsWithRole(hosts, "etcd");
  const cpHosts = hostsWithRole(hosts, "controlPlane");
  if (cpHosts.length === 0) report("infrastructure.hosts", "no host has the controlPlane role; at least one must");
  if (etcdHosts.length === 0) report("infrastructure.hosts", "no host has the etcd role; 1, 3, 5 or 7 must");
  else checkEtcdMembers("infrastructure.hosts", etcdHosts.length, "hosts with the etcd role:", report);

  if (parsed.etcd.members !== undefined && parsed.etcd.members !== etcdHosts.length) {
    report("etcd.members", `is ${parsed.etcd.members} but ${etcdHosts.length} hosts have the etcd role; they must match (or leave etcd.members out)`);
  }
  if (parsed.controlPlane.count !== undefined && parsed.controlPlane.count !== cpHosts.length) {
    report("controlPlane.count", `is ${parsed.controlPlane.count} but ${cpHosts.length} hosts have the controlPlane role; they must match (or leave controlPlane.count out)`);
  }
  if (spec.etcd.topology === "stacked") {
    const notCp = etcdHosts.filter((h) => !h.roles.includes("controlPlane"));
    if (notCp.length > 0) {
      report("etcd.topology", `stacked puts etcd on control-plane hosts, but ${notCp.map((h) => h.name).join(", ")} has etcd without controlPlane; give it both roles or use external`);
    } else if (etcdHosts.length !== cpHosts.length) {
      report("etcd.topology", `stacked needs an etcd member on every control-plane host (${cpHosts.length} control-plane, ${etcdHosts.length} etcd)`);
    }
  } else {
    const both = etcdHosts.filter((h) => h.roles.includes("controlPlane"));
    if (both.length > 0) {
      report("etcd.topology", `external puts etcd on its own hosts, but ${both.map((h) => h.name).join(", ")} also has controlPlane; drop one role or use stacked`);
    }
  }

  const { vip, address } = infra.apiEndpoint;
  if (vip && address) report("infrastructure.apiEndpoint", "give either vip or address, not both");
  if (cpHosts.length > 1 && !vip && !address) {
    report("infrastructure.apiEndpoint", `${cpHosts.length} control-plane hosts need a load-balanced endpoint: set vip (keepalived + haproxy on the control-plane hosts) or address (your own load balancer)`);
  }
  if (vip && infra.apiEndpoint.port === spec.kubernetes.apiServer.port) {
    report("infrastructure.apiEndpoint.port", `must differ from kubernetes.apiServer.port (${spec.kubernetes.apiServer.port}): haproxy on the VIP shares the control-plane hosts with the API servers`);
  }
  if (!vip && !address && infra.apiEndpoint.port !== null) report("infrastructure.apiEndpoint.port", "only with vip or address");
  if (vip && addresses.has(vip)) report("infrastructure.apiEndpoint.vip", `${vip} is a host's own address; the VIP must be a free address on the hosts' network`);

  const written = parsed.workers.pools ?? [];
  written.forEach((pool, i) => {
    const count = hosts.filter((h) => h.pool === pool.name).length;
    if (pool.count !== undefined && pool.count !== count) {
      report(`workers.pools[${i}].count`, `is ${pool.count} but ${count} hosts are in pool ${pool.name}; they must match (or leave count out)`);
    }
    if (pool.instanceType !== undefined) report(`workers.pools[${i}].instanceType`, "only for infrastructure.provider aws; the hosts backend uses the machines you list");
    if (pool.rootVolumeGiB !== undefined) report(`workers.pools[${i}].rootVolumeGiB`, "only for infrastructure.provider aws; the hosts backend uses the machines you list");
  });
}

/** Every cross-field problem of a spec that passed the schema. */
export function crossFieldProblems(spec: ClusterSpec, parsed: ParsedSpec): Problem[] {
  const problems: Problem[] = [];
  const report: Report = (path, message) => problems.push({ path, message });
  checkVersions(spec, report);
  checkNetwork(spec, parsed, report);
  checkPools(spec, parsed, report);
  checkPki(spec, report);
  checkAws(spec, parsed, report);
  checkHosts(spec, parsed, report);
  checkLocal(spec, parsed, report);
  checkCidrs(spec, report);
  return problems;
}
