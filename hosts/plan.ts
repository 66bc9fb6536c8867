// The cluster plan: which hosts exist, what they are, and (as renderers land)
// the files they receive and the ordered steps that bring them up. Pure data.
import { planAddresses, type AddressPlan, type ApiEndpoint, type PlannedHost } from "../spec/addresses";
import { companionVersions } from "../spec/catalog";
import type { ClusterSpec } from "../spec/normalize";
import type { HostPlan } from "./host-plan";
import type { HealthCheck } from "./steps";

export interface PlanStep {
  readonly id: string;
  readonly host: string;
  readonly dependsOn: readonly string[];
  readonly description: string;
  readonly script: string;
  readonly check: HealthCheck | null;
  readonly triggers: readonly string[];
}

/** What plan.json says of a file: never its content. */
export interface PlannedFile {
  readonly path: string;
  readonly mode: string;
  readonly owner: string;
  readonly secret: boolean;
}

export interface PlannedHostWithFiles extends PlannedHost {
  readonly files: readonly PlannedFile[];
}

export interface PlanDocument {
  readonly cluster: string;
  readonly provider: ClusterSpec["infrastructure"]["provider"];
  readonly versions: {
    readonly kubernetes: string;
    readonly etcd: string;
    readonly containerd: string;
    readonly pause: string;
    readonly coredns: string;
  };
  readonly network: {
    readonly cni: string;
    readonly proxyMode: string;
    readonly podCIDR: string;
    readonly serviceCIDR: string;
    readonly nodeCIDRMaskSize: number;
    readonly kubernetesServiceIP: string;
    readonly clusterDNS: string;
  };
  readonly etcdTopology: ClusterSpec["etcd"]["topology"];
  readonly apiEndpoint: ApiEndpoint;
  readonly subnets: AddressPlan["subnets"];
  readonly hosts: readonly PlannedHostWithFiles[];
  readonly steps: readonly PlanStep[];
}

export function planDocument(
  spec: ClusterSpec,
  addresses: AddressPlan = planAddresses(spec),
  plans: readonly HostPlan[] = [],
): PlanDocument {
  const byHost = new Map(plans.map((p) => [p.host.name, p]));
  const filesOf = (host: string): PlannedFile[] =>
    (byHost.get(host)?.files ?? []).map((f) => ({
      path: f.path,
      mode: f.mode.toString(8).padStart(4, "0"),
      owner: f.owner,
      secret: f.secret,
    }));
  const companions = companionVersions(spec.kubernetes.version);
  return {
    cluster: spec.name,
    provider: spec.infrastructure.provider,
    versions: {
      kubernetes: spec.kubernetes.version,
      etcd: spec.etcd.version,
      containerd: spec.containerd.version,
      pause: companions.pause,
      coredns: companions.coredns,
    },
    network: {
      cni: spec.network.cni,
      proxyMode: spec.network.proxyMode,
      podCIDR: spec.kubernetes.podCIDR,
      serviceCIDR: spec.kubernetes.serviceCIDR,
      nodeCIDRMaskSize: spec.kubernetes.nodeCIDRMaskSize,
      kubernetesServiceIP: addresses.kubernetesServiceIP,
      clusterDNS: addresses.clusterDNS,
    },
    etcdTopology: spec.etcd.topology,
    apiEndpoint: addresses.apiEndpoint,
    subnets: addresses.subnets,
    hosts: addresses.hosts.map((h) => ({ ...h, files: filesOf(h.name) })),
    steps: plans.flatMap((p) =>
      p.steps.map((s) => ({ id: s.id, host: s.host, dependsOn: s.dependsOn, description: s.description, script: s.script, check: s.check, triggers: s.triggers })),
    ),
  };
}
