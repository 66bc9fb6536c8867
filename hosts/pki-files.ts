// Where certificates, keys and kubeconfigs land on each host: kubeadm's layout,
// so operators find things where they expect them. Only what a host uses is sent:
// CA keys stay in drydock's state, except the cluster CA key the controller
// manager needs to sign certificate requests.
import type { AddressPlan, PlannedHost } from "../spec/addresses";
import type { ClusterSpec } from "../spec/normalize";
import { encryptionConfigurationYaml } from "../pki/encryption";
import type { PkiMaterial } from "../pki/issue";
import type { SnapshotStore } from "./etcd-backup";
import { apiServerUrl, kubeconfig } from "../pki/kubeconfig";
import { publicKeyPem, type IssuedCertificate } from "../pki/x509";
import { type HostFile, addFiles, publicFile, secretFile } from "./files";

export const PKI_DIR = "/etc/kubernetes/pki";
export const KUBELET_PKI_DIR = "/var/lib/kubelet/pki";
export const ENCRYPTION_CONFIG_PATH = "/etc/kubernetes/encryption-config.yaml";

export const KUBECONFIG_PATHS = {
  admin: "/etc/kubernetes/admin.conf",
  /** system:masters, on the first control plane only (as kubeadm): it grants the admin group its binding. */
  superAdmin: "/etc/kubernetes/super-admin.conf",
  controllerManager: "/etc/kubernetes/controller-manager.conf",
  scheduler: "/etc/kubernetes/scheduler.conf",
  kubelet: "/etc/kubernetes/kubelet.conf",
} as const;

function certificate(material: PkiMaterial, id: string): IssuedCertificate {
  const cert = material.certificates[id];
  if (!cert) throw new Error(`no certificate ${id} in the PKI material`);
  return cert;
}

function pair(material: PkiMaterial, id: string, base: string): HostFile[] {
  const cert = certificate(material, id);
  return [publicFile(`${base}.crt`, cert.certificatePem), secretFile(`${base}.key`, cert.privateKeyPem)];
}

export interface PkiContext {
  readonly spec: ClusterSpec;
  readonly addresses: AddressPlan;
  readonly material: PkiMaterial;
  /** The API endpoint's host as clients reach it (load balancer, VIP or the only control plane). */
  readonly apiEndpointHost: string;
  /** Where etcd snapshots are copied off the members (aws), if anywhere. */
  readonly snapshotStore?: SnapshotStore | null;
}

export function clientKubeconfig(ctx: PkiContext, certId: string, userName: string, server: string): string {
  const cert = certificate(ctx.material, certId);
  return kubeconfig({
    clusterName: ctx.spec.name,
    server,
    caCertificatePem: ctx.material.cas.ca.certificatePem,
    userName,
    clientCertificatePem: cert.certificatePem,
    clientKeyPem: cert.privateKeyPem,
  });
}

export function endpointUrl(ctx: PkiContext): string {
  return apiServerUrl(ctx.apiEndpointHost, ctx.addresses.apiEndpoint.port);
}

/** The certificates pkiFilesForHost reads for a host, so a host waits only on its own. */
export function hostCertificateIds(host: PlannedHost, certificateIds: readonly string[]): string[] {
  const own = certificateIds.filter((id) => id.endsWith(`@${host.name}`));
  return host.roles.includes("controlPlane") ? ["admin", "super-admin", ...own] : own;
}

export function pkiFilesForHost(ctx: PkiContext, host: PlannedHost): HostFile[] {
  const { material, spec } = ctx;
  const files: HostFile[] = [];
  const at = (id: string) => `${id}@${host.name}`;
  const local = apiServerUrl("127.0.0.1", spec.kubernetes.apiServer.port);

  if (host.roles.includes("controlPlane")) {
    addFiles(files, [
      publicFile(`${PKI_DIR}/ca.crt`, material.cas.ca.certificatePem),
      secretFile(`${PKI_DIR}/ca.key`, material.cas.ca.privateKeyPem),
      ...pair(material, at("apiserver"), `${PKI_DIR}/apiserver`),
      ...pair(material, at("apiserver-kubelet-client"), `${PKI_DIR}/apiserver-kubelet-client`),
      ...pair(material, at("apiserver-etcd-client"), `${PKI_DIR}/apiserver-etcd-client`),
      publicFile(`${PKI_DIR}/front-proxy-ca.crt`, material.cas["front-proxy-ca"].certificatePem),
      ...pair(material, at("front-proxy-client"), `${PKI_DIR}/front-proxy-client`),
      publicFile(`${PKI_DIR}/etcd/ca.crt`, material.cas["etcd-ca"].certificatePem),
      secretFile(`${PKI_DIR}/sa.key`, material.serviceAccountKeyPem),
      publicFile(`${PKI_DIR}/sa.pub`, publicKeyPem(material.serviceAccountKeyPem)),
      secretFile(KUBECONFIG_PATHS.admin, clientKubeconfig(ctx, "admin", "kubernetes-admin", endpointUrl(ctx))),
      secretFile(KUBECONFIG_PATHS.controllerManager, clientKubeconfig(ctx, at("controller-manager"), "system:kube-controller-manager", local)),
      secretFile(KUBECONFIG_PATHS.scheduler, clientKubeconfig(ctx, at("scheduler"), "system:kube-scheduler", local)),
    ]);
    const encryption = encryptionConfigurationYaml(spec.kubernetes.apiServer.encryptionAtRest, material.encryptionKey);
    if (encryption) addFiles(files, [secretFile(ENCRYPTION_CONFIG_PATH, encryption)]);
  }
  if (host.roles.includes("etcd")) {
    addFiles(files, [
      publicFile(`${PKI_DIR}/etcd/ca.crt`, material.cas["etcd-ca"].certificatePem),
      ...pair(material, at("etcd-server"), `${PKI_DIR}/etcd/server`),
      ...pair(material, at("etcd-peer"), `${PKI_DIR}/etcd/peer`),
      ...pair(material, at("etcd-healthcheck-client"), `${PKI_DIR}/etcd/healthcheck-client`),
    ]);
  }
  if (host.roles.includes("controlPlane") || host.roles.includes("worker")) {
    addFiles(files, [
      publicFile(`${PKI_DIR}/ca.crt`, material.cas.ca.certificatePem),
      ...pair(material, at("kubelet-serving"), `${KUBELET_PKI_DIR}/kubelet`),
      secretFile(KUBECONFIG_PATHS.kubelet, clientKubeconfig(ctx, at("kubelet-client"), `system:node:${host.name}`, endpointUrl(ctx))),
    ]);
  }
  return files;
}
