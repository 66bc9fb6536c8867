// Context-dependent defaults: the result has no undefined optionals, so code
// downstream of spec/ never guesses a default.
import { type ArtifactSource, defaultEtcdVersion, kubernetesVersions, newest } from "./catalog";
import { localDefaultVip, localGateway, localMachines, localPlanFits } from "./addresses";
import type { Cni, HostRole, ParsedSpec, ProxyMode, AwsInfra } from "./schema";

export interface Taint {
  readonly key: string;
  readonly value: string | null;
  readonly effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface WorkerPool {
  readonly name: string;
  readonly count: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Taints as written ("key=value:Effect"); parsed form in `parsedTaints`. */
  readonly taints: readonly string[];
  readonly parsedTaints: readonly Taint[];
  /** Workers upgraded (cordoned, drained, restarted) at a time. */
  readonly maxUnavailable: number;
  /** aws only; null on the hosts backend. */
  readonly instanceType: string | null;
  readonly rootVolumeGiB: number | null;
}

export interface ExistingHost {
  readonly name: string;
  readonly address: string;
  readonly roles: readonly HostRole[];
  /** The worker pool; null for hosts without the worker role. */
  readonly pool: string | null;
  /** Raised after the machine was reinstalled: every provisioning command of the host runs again. */
  readonly reprovision: number;
}

export interface AwsInfrastructure extends Omit<AwsInfra, "availabilityZones"> {
  readonly provider: "aws";
  /** Zone names when the user listed them, else null (resolved by the provider at run time). */
  readonly zoneNames: readonly string[] | null;
  readonly zoneCount: number;
}

export interface HostsInfrastructure {
  readonly provider: "hosts";
  readonly hosts: readonly ExistingHost[];
  readonly ssh: {
    readonly user: string;
    readonly port: number;
    readonly bastion: { readonly host: string; readonly user: string; readonly port: number } | null;
  };
  /** port: the endpoint's port (haproxy on the VIP, or the user's load balancer); null for the default. */
  readonly apiEndpoint: { readonly vip: string | null; readonly address: string | null; readonly port: number | null };
}

/** Machines drydock creates on the host that runs it: planned like aws, reached like hosts. */
export interface LocalInfrastructure {
  readonly provider: "local";
  readonly subnet: string;
  /** The host's own address on the bridge. */
  readonly gateway: string;
  readonly nat: boolean;
  readonly debianMirror: string;
  /** The planned machines (names and addresses from the subnet, roles from the counts). */
  readonly hosts: readonly ExistingHost[];
  readonly ssh: HostsInfrastructure["ssh"];
  /** vip: set when the control plane has more than one node or the spec names one. */
  readonly apiEndpoint: { readonly vip: string | null; readonly address: null; readonly port: number | null };
}

/** The backends whose machines are known by name and address before anything runs. */
export type ListedMachines = HostsInfrastructure | LocalInfrastructure;

type Parsed = ParsedSpec;

export interface ClusterSpec {
  readonly name: string;
  readonly kubernetes: Omit<Parsed["kubernetes"], "version" | "kubelet"> & { readonly version: string; readonly kubelet: { readonly failCgroupV1: boolean | null } };
  readonly network: {
    readonly cni: Cni;
    readonly proxyMode: ProxyMode;
    /** Set exactly when proxyMode is ipvs. */
    readonly ipvs: { readonly scheduler: string } | null;
    /** null: the CNI's own default. */
    readonly mtu: number | null;
    /** kube-proxy conntrack.maxPerCore; null: kube-proxy's default; 0: leave nf_conntrack_max alone. */
    readonly conntrackMaxPerCore: number | null;
  };
  readonly etcd: {
    readonly topology: "external" | "stacked";
    readonly members: number;
    readonly version: string;
    readonly snapshots: Parsed["etcd"]["snapshots"];
  };
  readonly controlPlane: { readonly count: number };
  readonly workers: { readonly pools: readonly WorkerPool[] };
  readonly containerd: { readonly version: string; readonly restrictOOMScoreAdj: boolean; readonly registryMirrors: Readonly<Record<string, readonly string[]>> };
  readonly pki: Parsed["pki"];
  readonly artifacts: ArtifactSource;
  readonly addons: Parsed["addons"];
  readonly infrastructure: AwsInfrastructure | ListedMachines;
}

export const DEFAULT_POOL = "default";
const DEFAULT_AWS_POOL = { name: "general", count: 3 };
/** A local cluster is sized for one machine: one control plane, one worker, unless the spec says more. */
const LOCAL_DEFAULTS = { controlPlaneCount: 1, pool: { name: DEFAULT_POOL, count: 1 } };

const TAINT = /^([^=:\s]+)(?:=([^:\s]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/;

export function parseTaint(text: string): Taint | null {
  const match = TAINT.exec(text);
  if (!match) return null;
  return { key: match[1]!, value: match[2] ?? null, effect: match[3] as Taint["effect"] };
}

export function hostsWithRole<H extends { readonly roles: readonly HostRole[] }>(hosts: readonly H[], role: HostRole): H[] {
  return hosts.filter((h) => h.roles.includes(role));
}

function normalizePool(pool: NonNullable<Parsed["workers"]["pools"]>[number], count: number, aws: boolean): WorkerPool {
  return {
    name: pool.name,
    count,
    labels: pool.labels,
    taints: pool.taints,
    parsedTaints: pool.taints.map(parseTaint).filter((t): t is Taint => t !== null),
    maxUnavailable: pool.maxUnavailable,
    instanceType: aws ? (pool.instanceType ?? "m7i.large") : null,
    rootVolumeGiB: aws ? (pool.rootVolumeGiB ?? 50) : null,
  };
}

/**
 * Fills every default. Tolerates specs that break cross-field rules (so the rules
 * can be checked on the result); those rules are enforced by validateSpec.
 */
export function normalize(parsed: Parsed): ClusterSpec {
  const version = parsed.kubernetes.version ?? kubernetesVersions()[0]!;
  const infra = parsed.infrastructure;
  const local = infra.provider === "local";
  const kubernetes = { ...parsed.kubernetes, version, kubelet: { failCgroupV1: parsed.kubernetes.kubelet.failCgroupV1 ?? (local ? false : null) } };
  const network = {
    cni: parsed.network.cni,
    proxyMode: parsed.network.proxyMode,
    ipvs: parsed.network.ipvs ?? (parsed.network.proxyMode === "ipvs" ? { scheduler: "rr" } : null),
    mtu: parsed.network.mtu ?? null,
    conntrackMaxPerCore: parsed.network.conntrackMaxPerCore ?? (local ? 0 : null),
  };
  const etcdVersion = parsed.etcd.version ?? safeDefaultEtcd(version);
  const common = {
    name: parsed.name,
    kubernetes,
    network,
    containerd: {
      version: parsed.containerd.version ?? newest("containerd"),
      restrictOOMScoreAdj: parsed.containerd.restrictOOMScoreAdj ?? local,
      registryMirrors: parsed.containerd.registryMirrors,
    },
    pki: parsed.pki,
    artifacts: parsed.artifacts,
    addons: parsed.addons,
  };

  if (infra.provider === "aws") {
    const { availabilityZones, ...aws } = infra.aws;
    const controlPlaneCount = parsed.controlPlane.count ?? 3;
    const topology = parsed.etcd.topology ?? "external";
    const members = parsed.etcd.members ?? (topology === "stacked" ? controlPlaneCount : 3);
    const pools = (parsed.workers.pools ?? [{ ...DEFAULT_AWS_POOL, labels: {}, taints: [], maxUnavailable: 1 }]).map((p) =>
      normalizePool(p, p.count ?? 1, true),
    );
    return {
      ...common,
      etcd: { topology, members, version: etcdVersion, snapshots: parsed.etcd.snapshots },
      controlPlane: { count: controlPlaneCount },
      workers: { pools },
      infrastructure: {
        provider: "aws",
        ...aws,
        zoneNames: Array.isArray(availabilityZones) ? availabilityZones : null,
        zoneCount: Array.isArray(availabilityZones) ? availabilityZones.length : availabilityZones,
      },
    };
  }

  if (infra.provider === "local") {
    const controlPlaneCount = parsed.controlPlane.count ?? LOCAL_DEFAULTS.controlPlaneCount;
    const topology = parsed.etcd.topology ?? "stacked";
    const members = parsed.etcd.members ?? (topology === "stacked" ? controlPlaneCount : 3);
    const pools = (parsed.workers.pools ?? [{ ...LOCAL_DEFAULTS.pool, labels: {}, taints: [], maxUnavailable: 1 }]).map((p) =>
      normalizePool(p, p.count ?? 1, false),
    );
    const etcd = { topology, members, version: etcdVersion, snapshots: parsed.etcd.snapshots };
    const { subnet, nat, debianMirror } = infra.local;
    const counts = { etcd, controlPlane: { count: controlPlaneCount }, workers: { pools } };
    // A plan that does not fit has no machines; validation says why.
    const hosts = localPlanFits(counts, subnet) ? localMachines(counts, subnet).map((h) => ({ ...h, reprovision: 0 })) : [];
    const vip = infra.apiEndpoint?.vip ?? (controlPlaneCount > 1 ? localDefaultVip(subnet) : null);
    return {
      ...common,
      etcd,
      controlPlane: { count: controlPlaneCount },
      workers: { pools },
      infrastructure: {
        provider: "local",
        subnet,
        gateway: localGateway(subnet),
        nat,
        debianMirror,
        hosts,
        ssh: { user: "root", port: 22, bastion: null },
        apiEndpoint: { vip, address: null, port: infra.apiEndpoint?.port ?? null },
      },
    };
  }

  const hosts: ExistingHost[] = infra.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    roles: [...new Set(h.roles)],
    pool: h.roles.includes("worker") ? (h.pool ?? DEFAULT_POOL) : null,
    reprovision: h.reprovision,
  }));
  const etcdHosts = hostsWithRole(hosts, "etcd");
  const cpHosts = hostsWithRole(hosts, "controlPlane");
  const stackedByRoles = etcdHosts.length > 0 && etcdHosts.every((h) => h.roles.includes("controlPlane"));
  const topology = parsed.etcd.topology ?? (stackedByRoles ? "stacked" : "external");

  // Pools: listed ones first, in the order written, then pools hosts name that are not listed.
  const listed = parsed.workers.pools ?? [];
  const poolNames = [...listed.map((p) => p.name)];
  for (const h of hosts) if (h.pool && !poolNames.includes(h.pool)) poolNames.push(h.pool);
  const pools = poolNames.map((name) => {
    const written = listed.find((p) => p.name === name) ?? { name, labels: {}, taints: [], maxUnavailable: 1 };
    return normalizePool(written, hosts.filter((h) => h.pool === name).length, false);
  });

  return {
    ...common,
    etcd: { topology, members: etcdHosts.length, version: etcdVersion, snapshots: parsed.etcd.snapshots },
    controlPlane: { count: cpHosts.length },
    workers: { pools },
    infrastructure: {
      provider: "hosts",
      hosts,
      ssh: infra.ssh,
      apiEndpoint: { vip: infra.apiEndpoint?.vip ?? null, address: infra.apiEndpoint?.address ?? null, port: infra.apiEndpoint?.port ?? null },
    },
  };
}

function safeDefaultEtcd(kubernetesVersion: string): string {
  try {
    return defaultEtcdVersion(kubernetesVersion);
  } catch {
    return newest("etcd");
  }
}

/** The fully defaulted spec in the user-facing shape: validating it yields the same ClusterSpec. */
export function specToInput(spec: ClusterSpec): Record<string, unknown> {
  const pools = spec.workers.pools.map((p) => ({
    name: p.name,
    count: p.count,
    labels: p.labels,
    taints: p.taints,
    maxUnavailable: p.maxUnavailable,
    ...(p.instanceType !== null ? { instanceType: p.instanceType } : {}),
    ...(p.rootVolumeGiB !== null ? { rootVolumeGiB: p.rootVolumeGiB } : {}),
  }));
  const infra = spec.infrastructure;
  let infrastructure: Record<string, unknown>;
  if (infra.provider === "aws") {
    const { provider, zoneNames, zoneCount, ...aws } = infra;
    infrastructure = { provider, aws: { ...aws, availabilityZones: zoneNames ?? zoneCount } };
  } else if (infra.provider === "local") {
    const endpoint = Object.fromEntries(Object.entries({ vip: infra.apiEndpoint.vip, port: infra.apiEndpoint.port }).filter(([, v]) => v !== null));
    infrastructure = {
      provider: infra.provider,
      local: { subnet: infra.subnet, nat: infra.nat, debianMirror: infra.debianMirror },
      ...(Object.keys(endpoint).length > 0 ? { apiEndpoint: endpoint } : {}),
    };
  } else {
    const endpoint = Object.fromEntries(Object.entries(infra.apiEndpoint).filter(([, v]) => v !== null));
    infrastructure = {
      provider: infra.provider,
      hosts: infra.hosts.map((h) => ({ name: h.name, address: h.address, roles: h.roles, ...(h.pool ? { pool: h.pool } : {}), ...(h.reprovision > 0 ? { reprovision: h.reprovision } : {}) })),
      ssh: infra.ssh,
      ...(Object.keys(endpoint).length > 0 ? { apiEndpoint: endpoint } : {}),
    };
  }
  const { version, kubelet, ...kubernetes } = spec.kubernetes;
  return {
    name: spec.name,
    kubernetes: { version, ...kubernetes, kubelet: kubelet.failCgroupV1 === null ? {} : kubelet },
    network: {
      cni: spec.network.cni,
      proxyMode: spec.network.proxyMode,
      ...(spec.network.ipvs ? { ipvs: spec.network.ipvs } : {}),
      ...(spec.network.mtu !== null ? { mtu: spec.network.mtu } : {}),
      ...(spec.network.conntrackMaxPerCore !== null ? { conntrackMaxPerCore: spec.network.conntrackMaxPerCore } : {}),
    },
    etcd: spec.etcd,
    controlPlane: spec.controlPlane,
    workers: { pools },
    containerd: spec.containerd,
    pki: spec.pki,
    artifacts: spec.artifacts,
    addons: spec.addons,
    infrastructure,
  };
}
