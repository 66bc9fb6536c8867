// Address planning: pure and deterministic, so certificates and configs can be
// rendered before any machine exists.
//
// AWS layout. The VPC splits into 16 equal blocks: block z is zone z's private
// subnet, block 8+z its public subnet. Inside a private subnet every role has a
// fixed slot range, so growing one pool (or the control plane) never renumbers
// another: etcd [8,16), control plane [16,32), then 8 equal blocks, one per pool
// in the order written. The local backend lays out its one bridge subnet the same
// way, as a single zone; its first address is the host, the second the default VIP.
import {
  type Cidr,
  cidrSize,
  formatCidr,
  formatIPv4,
  nthAddress,
  parseCidr,
  subnet,
} from "./ipv4";
import { type ClusterSpec, type WorkerPool } from "./normalize";
import type { HostRole } from "./schema";

export const AWS_MAX_ZONES = 8;
/** haproxy's port on the VIP: the API servers keep their own port on the same hosts. */
export const DEFAULT_VIP_PORT = 8443;
export const MAX_POOLS = 8;
export const AWS_SUBNET_SPLIT_BITS = 4;
export const SUBNET_SLOTS = { etcd: { start: 8, size: 8 }, controlPlane: { start: 16, size: 16 }, workersStart: 32 } as const;
/** The local backend's subnet prefixes: /26 still leaves every role its slots. */
export const LOCAL_MIN_PREFIX = 16;
export const LOCAL_MAX_PREFIX = 26;
/** The largest VPC prefix drydock can lay out (subnets of /26 leave room for every role). */
export const AWS_MAX_VPC_PREFIX = 22;

export interface PlannedHost {
  readonly name: string;
  readonly roles: readonly HostRole[];
  readonly address: string;
  /** aws: index into the zone list; null on hosts. */
  readonly zone: number | null;
  readonly pool: string | null;
  /** Pod range of a Kubernetes node; null for etcd-only hosts. */
  readonly podCIDR: string | null;
}

export interface ApiEndpoint {
  /** nlb: AWS network load balancer (name known after creation); vip: keepalived VIP; address: user's LB; host: the only control-plane host. */
  readonly kind: "nlb" | "vip" | "address" | "host";
  /** null when only known after creation (nlb). */
  readonly host: string | null;
  readonly port: number;
}

export interface ZoneSubnets {
  readonly zone: number;
  readonly name: string | null;
  readonly privateSubnet: string;
  readonly publicSubnet: string;
}

export interface AddressPlan {
  readonly hosts: readonly PlannedHost[];
  readonly apiEndpoint: ApiEndpoint;
  readonly kubernetesServiceIP: string;
  readonly clusterDNS: string;
  readonly subnets: readonly ZoneSubnets[];
}

export function kubernetesServiceIP(serviceCIDR: string): string {
  return formatIPv4(nthAddress(mustCidr(serviceCIDR), 1));
}

export function clusterDNSIP(serviceCIDR: string): string {
  return formatIPv4(nthAddress(mustCidr(serviceCIDR), 10));
}

function mustCidr(text: string): Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw new Error(`not a CIDR: ${text}`);
  return cidr;
}

export function awsSubnetPrefix(vpc: Cidr): number {
  return vpc.prefix + AWS_SUBNET_SPLIT_BITS;
}

/** Addresses each pool may use in a subnet of this prefix (its last address is reserved: broadcast, or AWS's). */
export function poolSlots(subnetPrefix: number): number {
  const size = cidrSize({ base: 0, prefix: subnetPrefix });
  return Math.floor((size - SUBNET_SLOTS.workersStart - 1) / MAX_POOLS);
}

/** Addresses each pool may use in one zone's private subnet. */
export function awsPoolSlotsPerZone(vpcCIDR: string): number {
  return poolSlots(awsSubnetPrefix(mustCidr(vpcCIDR)));
}

/** The local backend's bridge: the host's own address on it and the default VIP. */
export function localGateway(subnetCIDR: string): string {
  return formatIPv4(nthAddress(mustCidr(subnetCIDR), 1));
}

export function localDefaultVip(subnetCIDR: string): string {
  return formatIPv4(nthAddress(mustCidr(subnetCIDR), 2));
}

/** How many of a pool's nodes land in its most-loaded zone (round-robin spread). */
export function maxPerZone(count: number, zones: number): number {
  return Math.ceil(count / zones);
}

export function nodeName(role: "etcd" | "cp", index: number): string {
  return `${role}-${index + 1}`;
}

export function workerName(pool: Pick<WorkerPool, "name">, index: number): string {
  return `${pool.name}-${index + 1}`;
}

interface MachineCounts {
  readonly etcd: { readonly topology: "external" | "stacked"; readonly members: number };
  readonly controlPlane: { readonly count: number };
  readonly workers: { readonly pools: readonly Pick<WorkerPool, "name" | "count">[] };
}

function awsHosts(spec: ClusterSpec, zones: number, vpc: Cidr): Omit<PlannedHost, "podCIDR">[] {
  const subnetPrefix = awsSubnetPrefix(vpc);
  return slottedHosts(spec, zones, poolSlots(subnetPrefix), (zone, offset) => formatIPv4(nthAddress(subnet(vpc, subnetPrefix, zone), offset)));
}

/** Whether every machine has its slot in the subnet (the rules name what does not fit). */
export function localPlanFits(counts: MachineCounts, subnetCIDR: string): boolean {
  const net = parseCidr(subnetCIDR);
  if (!net || net.prefix < LOCAL_MIN_PREFIX || net.prefix > LOCAL_MAX_PREFIX) return false;
  const slots = poolSlots(net.prefix);
  return (
    counts.etcd.members <= SUBNET_SLOTS.etcd.size &&
    counts.controlPlane.count <= SUBNET_SLOTS.controlPlane.size &&
    counts.workers.pools.length <= MAX_POOLS &&
    counts.workers.pools.every((p) => p.count <= slots)
  );
}

/** The local backend's machines, planned in its one subnet: names and roles as on aws. */
export function localMachines(counts: MachineCounts, subnetCIDR: string): { name: string; address: string; roles: HostRole[]; pool: string | null }[] {
  const net = mustCidr(subnetCIDR);
  return slottedHosts(counts, 1, poolSlots(net.prefix), (_zone, offset) => formatIPv4(nthAddress(net, offset))).map((h) => ({
    name: h.name,
    address: h.address,
    roles: [...h.roles],
    pool: h.pool,
  }));
}

/** Every role in its own slot range of each zone's subnet, spread round-robin over the zones. */
function slottedHosts(spec: MachineCounts, zones: number, slotsPerPool: number, at: (zone: number, offset: number) => string): Omit<PlannedHost, "podCIDR">[] {
  const hosts: Omit<PlannedHost, "podCIDR">[] = [];
  const stacked = spec.etcd.topology === "stacked";
  if (!stacked) {
    for (let i = 0; i < spec.etcd.members; i++) {
      const zone = i % zones;
      hosts.push({ name: nodeName("etcd", i), roles: ["etcd"], zone, pool: null, address: at(zone, SUBNET_SLOTS.etcd.start + Math.floor(i / zones)) });
    }
  }
  for (let i = 0; i < spec.controlPlane.count; i++) {
    const zone = i % zones;
    hosts.push({
      name: nodeName("cp", i),
      roles: stacked ? ["controlPlane", "etcd"] : ["controlPlane"],
      zone,
      pool: null,
      address: at(zone, SUBNET_SLOTS.controlPlane.start + Math.floor(i / zones)),
    });
  }
  spec.workers.pools.forEach((pool, p) => {
    for (let i = 0; i < pool.count; i++) {
      const zone = i % zones;
      const offset = SUBNET_SLOTS.workersStart + p * slotsPerPool + Math.floor(i / zones);
      hosts.push({ name: workerName(pool, i), roles: ["worker"], zone, pool: pool.name, address: at(zone, offset) });
    }
  });
  return hosts;
}

export function isKubernetesNode(roles: readonly HostRole[]): boolean {
  return roles.includes("controlPlane") || roles.includes("worker");
}

/** Plans every host's address and pod range. Assumes a spec that passed validation. */
export function planAddresses(spec: ClusterSpec): AddressPlan {
  const infra = spec.infrastructure;
  let base: Omit<PlannedHost, "podCIDR">[];
  let apiEndpoint: ApiEndpoint;
  let subnets: ZoneSubnets[] = [];
  const port = spec.kubernetes.apiServer.port;

  if (infra.provider === "aws") {
    const vpc = mustCidr(infra.vpcCIDR);
    const prefix = awsSubnetPrefix(vpc);
    base = awsHosts(spec, infra.zoneCount, vpc);
    apiEndpoint = { kind: "nlb", host: null, port };
    subnets = Array.from({ length: infra.zoneCount }, (_, z) => ({
      zone: z,
      name: infra.zoneNames?.[z] ?? null,
      privateSubnet: formatCidr(subnet(vpc, prefix, z)),
      publicSubnet: formatCidr(subnet(vpc, prefix, AWS_MAX_ZONES + z)),
    }));
  } else {
    // hosts: the machines listed; local: the machines normalize planned in the subnet.
    base = infra.hosts.map((h) => ({ name: h.name, roles: h.roles, address: h.address, zone: null, pool: h.pool }));
    const controlPlanes = base.filter((h) => h.roles.includes("controlPlane"));
    if (infra.apiEndpoint.vip) apiEndpoint = { kind: "vip", host: infra.apiEndpoint.vip, port: infra.apiEndpoint.port ?? DEFAULT_VIP_PORT };
    else if (infra.apiEndpoint.address) apiEndpoint = { kind: "address", host: infra.apiEndpoint.address, port: infra.apiEndpoint.port ?? port };
    else apiEndpoint = { kind: "host", host: controlPlanes[0]?.address ?? null, port };
  }

  const ranges = podRanges(spec);
  const hosts = base.map((h) => ({ ...h, podCIDR: ranges.get(h.name) ?? null }));

  return {
    hosts,
    apiEndpoint,
    kubernetesServiceIP: kubernetesServiceIP(spec.kubernetes.serviceCIDR),
    clusterDNS: clusterDNSIP(spec.kubernetes.serviceCIDR),
    subnets,
  };
}

/**
 * How the pod range space is laid out for counted machines (aws, local): the control plane
 * its own block, then one equal block per pool position, so a range depends only on the
 * machine's role, pool and ordinal and never on how many machines other roles or pools have.
 */
export function podRangeBlocks(podCIDR: string, nodeCIDRMaskSize: number): { total: number; controlPlane: number; perPool: number } {
  const total = 2 ** (nodeCIDRMaskSize - mustCidr(podCIDR).prefix);
  const controlPlane = Math.max(1, Math.floor(total / 16));
  return { total, controlPlane, perPool: Math.floor((total - controlPlane) / MAX_POOLS) };
}

/**
 * The pod range drydock assigns each Kubernetes node: with the bridge CNI only (other CNIs'
 * ranges come from the controller manager). aws and local: the node's slot in
 * podRangeBlocks. hosts: the order of infrastructure.hosts (append to keep ranges).
 */
function podRanges(spec: ClusterSpec): Map<string, string> {
  const ranges = new Map<string, string>();
  if (spec.network.cni !== "bridge") return ranges;
  const pods = mustCidr(spec.kubernetes.podCIDR);
  const mask = spec.kubernetes.nodeCIDRMaskSize;
  const at = (slot: number) => formatCidr(subnet(pods, mask, slot));
  if (spec.infrastructure.provider === "hosts") {
    spec.infrastructure.hosts.filter((h) => isKubernetesNode(h.roles)).forEach((h, i) => ranges.set(h.name, at(i)));
    return ranges;
  }
  const blocks = podRangeBlocks(spec.kubernetes.podCIDR, mask);
  for (let i = 0; i < spec.controlPlane.count; i++) ranges.set(nodeName("cp", i), at(i));
  spec.workers.pools.forEach((pool, p) => {
    for (let i = 0; i < pool.count; i++) ranges.set(workerName(pool, i), at(blocks.controlPlane + p * blocks.perPool + i));
  });
  return ranges;
}

export function kubernetesNodeCount(spec: ClusterSpec): number {
  if (spec.infrastructure.provider !== "aws") {
    return spec.infrastructure.hosts.filter((h) => isKubernetesNode(h.roles)).length;
  }
  return spec.controlPlane.count + spec.workers.pools.reduce((n, p) => n + p.count, 0);
}
