// Which certificates a spec implies: kubeadm's set, per host where kubeadm
// issues per host, so adding or replacing a node never reissues another's.
import type { AddressPlan, PlannedHost } from "../spec/addresses";
import { isIPv4 } from "../spec/ipv4";
import type { ClusterSpec } from "../spec/normalize";
import type { KeyAlgorithm, Subject, Usage } from "./x509";

export type CaId = "ca" | "etcd-ca" | "front-proxy-ca";
export const CA_IDS: readonly CaId[] = ["ca", "etcd-ca", "front-proxy-ca"];

export const CA_SUBJECTS: Readonly<Record<CaId, Subject>> = {
  ca: { commonName: "kubernetes" },
  "etcd-ca": { commonName: "etcd-ca" },
  "front-proxy-ca": { commonName: "front-proxy-ca" },
};

export interface AltNameTemplate {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  /** Add the API endpoint's host (a DNS name or an IP, known at issue time). */
  readonly apiEndpoint: boolean;
}

export interface CertificateSpec {
  /** Unique: "<kind>" for cluster-wide, "<kind>@<host>" for per-host certificates. */
  readonly id: string;
  readonly kind: string;
  readonly host: string | null;
  readonly ca: CaId;
  readonly subject: Subject;
  readonly usage: Exclude<Usage, "ca">;
  readonly altNames: AltNameTemplate;
}

export interface PkiInventory {
  readonly algorithm: KeyAlgorithm;
  readonly caValidityDays: number;
  readonly certValidityDays: number;
  readonly certificates: readonly CertificateSpec[];
}

const NO_NAMES: AltNameTemplate = { dns: [], ips: [], apiEndpoint: false };

function splitNames(names: readonly string[]): { dns: string[]; ips: string[] } {
  return { dns: names.filter((n) => !isIPv4(n)), ips: names.filter(isIPv4) };
}

export const KUBELET_CLIENT_ORG = "system:nodes";
export const ADMIN_ORG = "kubeadm:cluster-admins";
export const SUPER_ADMIN_ORG = "system:masters";

export function certificateInventory(spec: ClusterSpec, addresses: AddressPlan): PkiInventory {
  const certs: CertificateSpec[] = [];
  const add = (c: Omit<CertificateSpec, "id">) => certs.push({ ...c, id: c.host ? `${c.kind}@${c.host}` : c.kind });
  const has = (h: PlannedHost, role: PlannedHost["roles"][number]) => h.roles.includes(role);
  const domain = spec.kubernetes.clusterDomain;
  const extra = splitNames(spec.kubernetes.apiServer.extraSANs);

  for (const host of addresses.hosts) {
    if (has(host, "controlPlane")) {
      add({
        kind: "apiserver",
        host: host.name,
        ca: "ca",
        subject: { commonName: "kube-apiserver" },
        usage: "server",
        altNames: {
          dns: [...new Set([host.name, "kubernetes", "kubernetes.default", "kubernetes.default.svc", `kubernetes.default.svc.${domain}`, "localhost", ...extra.dns])],
          ips: [...new Set([addresses.kubernetesServiceIP, host.address, "127.0.0.1", ...extra.ips])],
          apiEndpoint: true,
        },
      });
      // No group: the API server gets exactly the kubelet API rights an RBAC binding grants it.
      add({ kind: "apiserver-kubelet-client", host: host.name, ca: "ca", subject: { commonName: "kube-apiserver-kubelet-client" }, usage: "client", altNames: NO_NAMES });
      add({ kind: "apiserver-etcd-client", host: host.name, ca: "etcd-ca", subject: { commonName: "kube-apiserver-etcd-client" }, usage: "client", altNames: NO_NAMES });
      add({ kind: "front-proxy-client", host: host.name, ca: "front-proxy-ca", subject: { commonName: "front-proxy-client" }, usage: "client", altNames: NO_NAMES });
      add({ kind: "controller-manager", host: host.name, ca: "ca", subject: { commonName: "system:kube-controller-manager" }, usage: "client", altNames: NO_NAMES });
      add({ kind: "scheduler", host: host.name, ca: "ca", subject: { commonName: "system:kube-scheduler" }, usage: "client", altNames: NO_NAMES });
    }
    if (has(host, "etcd")) {
      const names: AltNameTemplate = { dns: [host.name, "localhost"], ips: [host.address, "127.0.0.1", "::1"], apiEndpoint: false };
      add({ kind: "etcd-server", host: host.name, ca: "etcd-ca", subject: { commonName: host.name }, usage: "peer", altNames: names });
      add({ kind: "etcd-peer", host: host.name, ca: "etcd-ca", subject: { commonName: host.name }, usage: "peer", altNames: names });
      add({ kind: "etcd-healthcheck-client", host: host.name, ca: "etcd-ca", subject: { commonName: "kube-etcd-healthcheck-client" }, usage: "client", altNames: NO_NAMES });
    }
    if (has(host, "controlPlane") || has(host, "worker")) {
      add({
        kind: "kubelet-client",
        host: host.name,
        ca: "ca",
        subject: { commonName: `system:node:${host.name}`, organizations: [KUBELET_CLIENT_ORG] },
        usage: "client",
        altNames: NO_NAMES,
      });
      // Signed by the cluster CA so metrics-server and the API server can verify kubelets.
      add({
        kind: "kubelet-serving",
        host: host.name,
        ca: "ca",
        subject: { commonName: `system:node:${host.name}`, organizations: [KUBELET_CLIENT_ORG] },
        usage: "server",
        altNames: { dns: [host.name], ips: [host.address], apiEndpoint: false },
      });
    }
  }
  add({ kind: "admin", host: null, ca: "ca", subject: { commonName: "kubernetes-admin", organizations: [ADMIN_ORG] }, usage: "client", altNames: NO_NAMES });
  add({ kind: "super-admin", host: null, ca: "ca", subject: { commonName: "kubernetes-super-admin", organizations: [SUPER_ADMIN_ORG] }, usage: "client", altNames: NO_NAMES });

  return {
    algorithm: spec.pki.algorithm,
    caValidityDays: spec.pki.caValidityDays,
    certValidityDays: spec.pki.certValidityDays,
    certificates: certs,
  };
}

/** The concrete SANs once the API endpoint's host is known. */
export function resolveAltNames(template: AltNameTemplate, apiEndpointHost: string | null): { dns: string[]; ips: string[] } {
  const dns = [...template.dns];
  const ips = [...template.ips];
  if (template.apiEndpoint && apiEndpointHost) {
    const target = isIPv4(apiEndpointHost) ? ips : dns;
    if (!target.includes(apiEndpointHost)) target.push(apiEndpointHost);
  }
  return { dns, ips };
}
