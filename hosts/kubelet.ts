// kubelet on every Kubernetes node: KubeletConfiguration, unit and steps.
import { stringify } from "yaml";
import type { PlannedHost } from "../spec/addresses";
import type { ClusterSpec, Taint } from "../spec/normalize";
import { BIN_DIR } from "./artifacts";
import { CONTAINERD_SOCKET } from "./containerd";
import { type HostFile, publicFile } from "./files";
import { KUBECONFIG_PATHS, KUBELET_PKI_DIR, PKI_DIR } from "./pki-files";
import type { StepDraft } from "./steps";

export const KUBELET_CONFIG_PATH = "/var/lib/kubelet/config.yaml";
export const KUBELET_UNIT_PATH = "/etc/systemd/system/kubelet.service";
export const STATIC_POD_DIR = "/etc/kubernetes/manifests";
/**
 * The node's upstream resolvers for pods (and CoreDNS, dnsPolicy Default): a link the
 * kubelet-start step points at systemd-resolved's list where it runs (Ubuntu; its
 * /etc/resolv.conf names the 127.0.0.53 stub, which pods cannot reach), else at /etc/resolv.conf (Debian).
 */
export const KUBELET_RESOLV_CONF = "/var/lib/kubelet/resolv.conf";
export const CONTROL_PLANE_TAINT: Taint = { key: "node-role.kubernetes.io/control-plane", value: null, effect: "NoSchedule" };
export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";

/** Go names of TLS 1.2 suites with forward secrecy and AEAD (TLS 1.3 suites are not configurable). */
export const KUBERNETES_CIPHER_SUITES = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
];

export function nodeTaints(spec: ClusterSpec, host: PlannedHost): Taint[] {
  const taints: Taint[] = [];
  // A control plane that is also a worker (single-host labs) runs workloads: no taint.
  if (host.roles.includes("controlPlane") && !host.roles.includes("worker")) taints.push(CONTROL_PLANE_TAINT);
  const pool = spec.workers.pools.find((p) => p.name === host.pool);
  if (pool) taints.push(...pool.parsedTaints);
  return taints;
}

export function nodeLabels(spec: ClusterSpec, host: PlannedHost): Record<string, string> {
  const pool = spec.workers.pools.find((p) => p.name === host.pool);
  return { ...(pool ? { "drydock.dev/pool": pool.name, ...pool.labels } : {}) };
}

export function kubeletConfig(spec: ClusterSpec, host: PlannedHost, clusterDNS: string): Record<string, unknown> {
  const taints = nodeTaints(spec, host).map((t) => ({ key: t.key, ...(t.value !== null ? { value: t.value } : {}), effect: t.effect }));
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true, cacheTTL: "2m0s" },
      x509: { clientCAFile: `${PKI_DIR}/ca.crt` },
    },
    authorization: { mode: "Webhook", webhook: { cacheAuthorizedTTL: "5m0s", cacheUnauthorizedTTL: "30s" } },
    readOnlyPort: 0,
    cgroupDriver: "systemd",
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    clusterDNS: [clusterDNS],
    clusterDomain: spec.kubernetes.clusterDomain,
    staticPodPath: STATIC_POD_DIR,
    tlsCertFile: `${KUBELET_PKI_DIR}/kubelet.crt`,
    tlsPrivateKeyFile: `${KUBELET_PKI_DIR}/kubelet.key`,
    tlsMinVersion: "VersionTLS12",
    tlsCipherSuites: KUBERNETES_CIPHER_SUITES,
    // The client certificate: drydock issues the first; the kubelet renews it through the CSR API
    // before it expires (the controller manager signs; 00-rbac.yaml lets system:nodes' renewals be
    // approved), so a cluster nobody runs pulumi up on keeps its nodes. The serving certificate stays
    // drydock's: serving CSRs need an approver Kubernetes does not ship (pki.renewBeforeDays renews it).
    rotateCertificates: true,
    serverTLSBootstrap: false,
    protectKernelDefaults: true,
    makeIPTablesUtilChains: true,
    seccompDefault: true,
    failSwapOn: true,
    streamingConnectionIdleTimeout: "5m0s",
    eventRecordQPS: 5,
    podPidsLimit: 4096,
    enableProfilingHandler: false,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    resolvConf: KUBELET_RESOLV_CONF,
    evictionHard: { "memory.available": "200Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%", "imagefs.available": "15%" },
    systemReserved: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "1Gi" },
    kubeReserved: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "1Gi" },
    registerNode: true,
    ...(spec.kubernetes.kubelet.failCgroupV1 !== null ? { failCgroupV1: spec.kubernetes.kubelet.failCgroupV1 } : {}),
    ...(taints.length > 0 ? { registerWithTaints: taints } : {}),
    ...(Object.keys(spec.kubernetes.featureGates).length > 0 ? { featureGates: spec.kubernetes.featureGates } : {}),
  };
}

export function kubeletFlags(spec: ClusterSpec, host: PlannedHost): string[] {
  const labels = Object.entries(nodeLabels(spec, host)).map(([k, v]) => `${k}=${v}`);
  return [
    `--config=${KUBELET_CONFIG_PATH}`,
    `--kubeconfig=${KUBECONFIG_PATHS.kubelet}`,
    `--node-ip=${host.address}`,
    `--hostname-override=${host.name}`,
    ...(labels.length > 0 ? [`--node-labels=${labels.join(",")}`] : []),
  ];
}

export function kubeletUnit(spec: ClusterSpec, host: PlannedHost): string {
  return `[Unit]
Description=kubelet: the Kubernetes node agent (drydock)
Documentation=https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/
Wants=network-online.target containerd.service
After=network-online.target containerd.service

[Service]
ExecStart=${BIN_DIR}/kubelet ${kubeletFlags(spec, host).join(" \\\n  ")}
Restart=always
RestartSec=5
StartLimitInterval=0

[Install]
WantedBy=multi-user.target
`;
}

export function kubeletFiles(spec: ClusterSpec, host: PlannedHost, clusterDNS: string): HostFile[] {
  return [
    // 0600: CIS 4.1.1 and 4.1.9.
    publicFile(KUBELET_CONFIG_PATH, stringify(kubeletConfig(spec, host, clusterDNS)), 0o600),
    publicFile(KUBELET_UNIT_PATH, kubeletUnit(spec, host), 0o600),
  ];
}

export function linkResolvers(link: string): string {
  return `if systemctl is-active -q systemd-resolved; then resolvers=/run/systemd/resolve/resolv.conf; else resolvers=/etc/resolv.conf; fi
install -d -m 0700 "$(dirname ${link})"
ln -sfn "$resolvers" ${link}`;
}

/** Where the kubelet keeps the client certificates it renewed (its default certDirectory). */
const KUBELET_RENEWED_CLIENT_CERTS = `${KUBELET_PKI_DIR}/kubelet-client-*.pem`;

/**
 * The kubelet prefers the client certificate it renewed over the one in its kubeconfig. That holds
 * until drydock writes a new kubeconfig (a reissued certificate, a new CA, another endpoint):
 * then the kubelet starts again from drydock's, or it would present one the cluster may not trust.
 */
export function dropRenewedClientCertificates(): string {
  const stamp = `${KUBELET_PKI_DIR}/.drydock-kubeconfig.sha256`;
  return `issued=$(sha256sum ${KUBECONFIG_PATHS.kubelet} | cut -d' ' -f1)
if [ "$(cat ${stamp} 2>/dev/null)" != "$issued" ]; then
  rm -f ${KUBELET_RENEWED_CLIENT_CERTS}
  install -d -m 0700 ${KUBELET_PKI_DIR}
  echo "$issued" > ${stamp}
fi`;
}

export function kubeletStartStep(dependsOn: readonly string[]): StepDraft {
  return {
    name: "kubelet-start",
    description: "start the kubelet",
    dependsOn,
    triggers: [KUBELET_CONFIG_PATH, KUBELET_UNIT_PATH, KUBECONFIG_PATHS.kubelet, `${KUBELET_PKI_DIR}/kubelet.crt`],
    body: `
install -d -m 0755 ${STATIC_POD_DIR}
${linkResolvers(KUBELET_RESOLV_CONF)}
${dropRenewedClientCertificates()}
systemctl daemon-reload
systemctl enable kubelet
systemctl restart kubelet`,
    check: { command: "curl -sf http://127.0.0.1:10248/healthz >/dev/null", timeoutSeconds: 120 },
  };
}
