// The AWS security-group plan, as pure data: every ingress rule the cluster
// needs and nothing more. Sources are other groups or CIDRs from the spec.
import type { Cni } from "./schema";
import type { ClusterSpec } from "./normalize";

export type GroupName = "nlb" | "etcd" | "controlPlane" | "workers" | "bastion";

export interface IngressRule {
  readonly group: GroupName;
  readonly protocol: "tcp" | "udp" | "icmp" | "-1";
  /** Inclusive port range; for icmp [type, code] as AWS takes them; null for all ports (protocol -1). */
  readonly ports: readonly [number, number] | null;
  readonly from: { readonly group: GroupName } | { readonly cidr: string };
  readonly description: string;
}

/** Node-to-node traffic each CNI needs, exactly. */
export function cniPorts(cni: Cni): { protocol: IngressRule["protocol"]; ports: [number, number] | null; description: string }[] {
  switch (cni) {
    case "flannel":
      return [{ protocol: "udp", ports: [8472, 8472], description: "flannel VXLAN" }];
    case "calico":
      return [
        { protocol: "udp", ports: [4789, 4789], description: "Calico VXLAN" },
        { protocol: "tcp", ports: [5473, 5473], description: "Calico Typha" },
      ];
    case "cilium":
      return [
        { protocol: "udp", ports: [8472, 8472], description: "Cilium VXLAN" },
        { protocol: "tcp", ports: [4240, 4240], description: "Cilium health" },
        // Cilium's node health probes ping every node as well (echo request: type 8, code 0).
        { protocol: "icmp", ports: [8, 0], description: "Cilium health (ICMP echo)" },
        { protocol: "tcp", ports: [4244, 4244], description: "Hubble" },
      ];
    case "bridge":
      // Pod traffic is routed, not encapsulated: nodes exchange every protocol.
      return [{ protocol: "-1", ports: null, description: "routed pod traffic (bridge)" }];
  }
}

export function groupsOf(spec: ClusterSpec): GroupName[] {
  const aws = spec.infrastructure.provider === "aws" ? spec.infrastructure : null;
  return [
    "nlb",
    ...(spec.etcd.topology === "external" ? (["etcd"] as const) : []),
    "controlPlane",
    ...(spec.workers.pools.some((p) => p.count > 0) ? (["workers"] as const) : []),
    ...(aws?.bastion ? (["bastion"] as const) : []),
  ];
}

export function firewallPlan(spec: ClusterSpec): IngressRule[] {
  const infra = spec.infrastructure;
  if (infra.provider !== "aws") return [];
  const groups = groupsOf(spec);
  const nodes = groups.filter((g): g is "controlPlane" | "workers" => g === "controlPlane" || g === "workers");
  const port = spec.kubernetes.apiServer.port;
  const rules: IngressRule[] = [];
  const tcp = (group: GroupName, from: IngressRule["from"], p: number | [number, number], description: string) =>
    rules.push({ group, protocol: "tcp", ports: typeof p === "number" ? [p, p] : p, from, description });

  for (const cidr of spec.kubernetes.apiServer.allowedCIDRs) tcp("nlb", { cidr }, port, "Kubernetes API from allowed networks");
  for (const g of nodes) tcp("nlb", { group: g }, port, "Kubernetes API from nodes");
  tcp("controlPlane", { group: "nlb" }, port, "Kubernetes API through the load balancer");
  for (const g of nodes) tcp("controlPlane", { group: g }, port, "Kubernetes API from nodes");
  // The kubelet API: the API servers (logs, exec) and metrics-server, which runs on any node
  // and scrapes every kubelet.
  for (const target of nodes) for (const source of nodes) tcp(target, { group: source }, 10250, "kubelet API (API servers, metrics-server)");

  if (spec.etcd.topology === "external") {
    tcp("etcd", { group: "controlPlane" }, 2379, "etcd clients (API servers)");
    tcp("etcd", { group: "etcd" }, [2379, 2380], "etcd members");
  } else {
    tcp("controlPlane", { group: "controlPlane" }, [2379, 2380], "etcd members and clients (stacked)");
  }

  for (const target of nodes) {
    for (const source of nodes) {
      for (const p of cniPorts(spec.network.cni)) rules.push({ group: target, protocol: p.protocol, ports: p.ports, from: { group: source }, description: p.description });
    }
  }

  const sshTargets = groups.filter((g) => g !== "nlb" && g !== "bastion");
  if (infra.bastion) {
    for (const cidr of infra.sshAllowedCIDRs) tcp("bastion", { cidr }, 22, "SSH to the bastion");
    for (const g of sshTargets) tcp(g, { group: "bastion" }, 22, "SSH through the bastion");
  } else {
    for (const g of sshTargets) for (const cidr of infra.sshAllowedCIDRs) tcp(g, { cidr }, 22, "SSH from allowed networks");
  }
  return rules;
}
