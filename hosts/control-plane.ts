// Control plane: static pods for kube-apiserver, kube-controller-manager and
// kube-scheduler, run by the kubelet from /etc/kubernetes/manifests, with the
// versioned config files they read.
import { stringify } from "yaml";
import type { AddressPlan, PlannedHost } from "../spec/addresses";
import type { ClusterSpec } from "../spec/normalize";
import { ENCRYPTION_CONFIG_PATH, KUBECONFIG_PATHS, PKI_DIR } from "./pki-files";
import { etcdClientUrl, etcdMembers } from "./etcd";
import { type HostFile, publicFile } from "./files";
import type { Container, Pod, Volume, VolumeMount } from "./k8s-types";
import { KUBERNETES_CIPHER_SUITES, STATIC_POD_DIR } from "./kubelet";
import type { StepDraft } from "./steps";
import { BIN_DIR } from "./artifacts";

export const ADMISSION_CONFIG_PATH = "/etc/kubernetes/admission-config.yaml";
export const AUDIT_POLICY_PATH = "/etc/kubernetes/audit-policy.yaml";
export const AUTHENTICATION_CONFIG_PATH = "/etc/kubernetes/authentication-config.yaml";
export const SCHEDULER_CONFIG_PATH = "/etc/kubernetes/scheduler-config.yaml";
export const AUDIT_LOG_DIR = "/var/log/kubernetes/audit";
export const CONTROLLER_MANAGER_PORT = 10257;
export const SCHEDULER_PORT = 10259;

/** Health endpoints anonymous requests may reach (probes and load balancers); nothing else. */
export const ANONYMOUS_HEALTH_PATHS = ["/livez", "/readyz", "/healthz"];

const image = (component: string, version: string) => `registry.k8s.io/${component}:v${version}`;

/** CNIs that read each node's spec.podCIDR, so the controller manager allocates them. */
export function allocatesNodeCidrs(spec: ClusterSpec): boolean {
  // bridge: drydock assigns the planned ranges itself (host-local IPAM, routes).
  return spec.network.cni !== "bridge";
}

function featureGatesFlag(spec: ClusterSpec): string[] {
  const gates = Object.entries(spec.kubernetes.featureGates).map(([k, v]) => `${k}=${v}`);
  return gates.length > 0 ? [`--feature-gates=${gates.join(",")}`] : [];
}

const tlsFlags = () => ["--tls-min-version=VersionTLS12", `--tls-cipher-suites=${KUBERNETES_CIPHER_SUITES.join(",")}`];

interface Mount {
  readonly name: string;
  readonly hostPath: string;
  readonly type: "Directory" | "DirectoryOrCreate" | "File";
  readonly readOnly: boolean;
}

function staticPod(component: string, version: string, command: string[], mounts: readonly Mount[], probe: { port: number; path: string }): Pod {
  const volumes: Volume[] = mounts.map((m) => ({ name: m.name, hostPath: { path: m.hostPath, type: m.type } }));
  const volumeMounts: VolumeMount[] = mounts.map((m) => ({ name: m.name, mountPath: m.hostPath, readOnly: m.readOnly }));
  const httpProbe = (path: string) => ({ httpGet: { host: "127.0.0.1", path, port: probe.port, scheme: "HTTPS" as const } });
  const container: Container = {
    name: component,
    image: image(component, version),
    imagePullPolicy: "IfNotPresent",
    command: [component, ...command],
    resources: { requests: { cpu: component === "kube-apiserver" ? "250m" : component === "kube-controller-manager" ? "200m" : "100m" } },
    livenessProbe: { ...httpProbe(probe.path === "/readyz" ? "/livez" : probe.path), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15, failureThreshold: 8 },
    readinessProbe: { ...httpProbe(probe.path), periodSeconds: 1, timeoutSeconds: 15, failureThreshold: 3 },
    startupProbe: { ...httpProbe(probe.path === "/readyz" ? "/livez" : probe.path), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15, failureThreshold: 24 },
    volumeMounts,
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: component, namespace: "kube-system", labels: { component, tier: "control-plane" } },
    spec: {
      hostNetwork: true,
      priorityClassName: "system-node-critical",
      priority: 2000001000,
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
      containers: [container],
      volumes,
    },
  };
}

const pkiMount: Mount = { name: "k8s-certs", hostPath: PKI_DIR, type: "Directory", readOnly: true };
const caCertsMount: Mount = { name: "ca-certs", hostPath: "/etc/ssl/certs", type: "Directory", readOnly: true };
const fileMount = (name: string, path: string): Mount => ({ name, hostPath: path, type: "File", readOnly: true });

export function apiServerFlags(spec: ClusterSpec, host: PlannedHost, addresses: AddressPlan): string[] {
  const api = spec.kubernetes.apiServer;
  const audit = api.auditLog;
  const etcd = etcdMembers(addresses.hosts).map((m) => etcdClientUrl(m.address));
  return [
    `--advertise-address=${host.address}`,
    `--secure-port=${api.port}`,
    "--allow-privileged=true",
    "--authorization-mode=Node,RBAC",
    `--authentication-config=${AUTHENTICATION_CONFIG_PATH}`,
    `--client-ca-file=${PKI_DIR}/ca.crt`,
    "--enable-admission-plugins=NodeRestriction,PodSecurity,EventRateLimit,DenyServiceExternalIPs",
    `--admission-control-config-file=${ADMISSION_CONFIG_PATH}`,
    `--etcd-servers=${etcd.join(",")}`,
    `--etcd-cafile=${PKI_DIR}/etcd/ca.crt`,
    `--etcd-certfile=${PKI_DIR}/apiserver-etcd-client.crt`,
    `--etcd-keyfile=${PKI_DIR}/apiserver-etcd-client.key`,
    `--kubelet-client-certificate=${PKI_DIR}/apiserver-kubelet-client.crt`,
    `--kubelet-client-key=${PKI_DIR}/apiserver-kubelet-client.key`,
    `--kubelet-certificate-authority=${PKI_DIR}/ca.crt`,
    "--kubelet-preferred-address-types=InternalIP,Hostname",
    `--proxy-client-cert-file=${PKI_DIR}/front-proxy-client.crt`,
    `--proxy-client-key-file=${PKI_DIR}/front-proxy-client.key`,
    `--requestheader-client-ca-file=${PKI_DIR}/front-proxy-ca.crt`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-username-headers=X-Remote-User",
    `--service-account-issuer=https://kubernetes.default.svc.${spec.kubernetes.clusterDomain}`,
    `--service-account-key-file=${PKI_DIR}/sa.pub`,
    `--service-account-signing-key-file=${PKI_DIR}/sa.key`,
    "--service-account-lookup=true",
    // Bound tokens keep their own expiry (CIS 1.2.30).
    "--service-account-extend-token-expiration=false",
    `--service-cluster-ip-range=${spec.kubernetes.serviceCIDR}`,
    `--tls-cert-file=${PKI_DIR}/apiserver.crt`,
    `--tls-private-key-file=${PKI_DIR}/apiserver.key`,
    ...tlsFlags(),
    "--profiling=false",
    ...(api.encryptionAtRest !== "none" ? [`--encryption-provider-config=${ENCRYPTION_CONFIG_PATH}`] : []),
    ...(audit.enabled
      ? [
          `--audit-policy-file=${AUDIT_POLICY_PATH}`,
          `--audit-log-path=${AUDIT_LOG_DIR}/audit.log`,
          `--audit-log-maxage=${audit.maxAgeDays}`,
          `--audit-log-maxbackup=${audit.maxBackups}`,
          `--audit-log-maxsize=${audit.maxSizeMB}`,
        ]
      : []),
    ...featureGatesFlag(spec),
  ];
}

export function controllerManagerFlags(spec: ClusterSpec): string[] {
  const kubeconfig = KUBECONFIG_PATHS.controllerManager;
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--client-ca-file=${PKI_DIR}/ca.crt`,
    `--requestheader-client-ca-file=${PKI_DIR}/front-proxy-ca.crt`,
    `--cluster-name=${spec.name}`,
    `--cluster-signing-cert-file=${PKI_DIR}/ca.crt`,
    `--cluster-signing-key-file=${PKI_DIR}/ca.key`,
    `--root-ca-file=${PKI_DIR}/ca.crt`,
    `--service-account-private-key-file=${PKI_DIR}/sa.key`,
    "--use-service-account-credentials=true",
    "--controllers=*,bootstrapsigner,tokencleaner",
    "--leader-elect=true",
    `--service-cluster-ip-range=${spec.kubernetes.serviceCIDR}`,
    ...(allocatesNodeCidrs(spec)
      ? ["--allocate-node-cidrs=true", `--cluster-cidr=${spec.kubernetes.podCIDR}`, `--node-cidr-mask-size=${spec.kubernetes.nodeCIDRMaskSize}`]
      : ["--allocate-node-cidrs=false"]),
    "--terminated-pod-gc-threshold=12500",
    "--profiling=false",
    ...tlsFlags(),
    ...featureGatesFlag(spec),
  ];
}

export function schedulerFlags(spec: ClusterSpec): string[] {
  return [
    `--config=${SCHEDULER_CONFIG_PATH}`,
    `--authentication-kubeconfig=${KUBECONFIG_PATHS.scheduler}`,
    `--authorization-kubeconfig=${KUBECONFIG_PATHS.scheduler}`,
    "--bind-address=127.0.0.1",
    ...tlsFlags(),
    ...featureGatesFlag(spec),
  ];
}

export function schedulerConfig(): Record<string, unknown> {
  return {
    apiVersion: "kubescheduler.config.k8s.io/v1",
    kind: "KubeSchedulerConfiguration",
    clientConnection: { kubeconfig: KUBECONFIG_PATHS.scheduler },
    leaderElection: { leaderElect: true },
    enableProfiling: false,
    enableContentionProfiling: false,
  };
}

export function admissionConfig(spec: ClusterSpec): Record<string, unknown> {
  const ps = spec.kubernetes.apiServer.podSecurity;
  return {
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "AdmissionConfiguration",
    plugins: [
      {
        name: "PodSecurity",
        configuration: {
          apiVersion: "pod-security.admission.config.k8s.io/v1",
          kind: "PodSecurityConfiguration",
          defaults: { enforce: ps.enforce, "enforce-version": "latest", audit: ps.audit, "audit-version": "latest", warn: ps.warn, "warn-version": "latest" },
          // kube-system runs the CNI and kube-proxy, which need host access.
          exemptions: { usernames: [], runtimeClasses: [], namespaces: ["kube-system"] },
        },
      },
      {
        name: "EventRateLimit",
        configuration: {
          apiVersion: "eventratelimit.admission.k8s.io/v1alpha1",
          kind: "Configuration",
          limits: [
            { type: "Server", qps: 50, burst: 100 },
            { type: "Namespace", qps: 10, burst: 50, cacheSize: 2000 },
          ],
        },
      },
    ],
  };
}

/** Secrets, tokens and their reviews only at Metadata (never bodies); reads of everything else at Metadata. */
export function auditPolicy(): Record<string, unknown> {
  return {
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [
      { level: "None", nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"] },
      { level: "None", users: ["system:kube-proxy"], verbs: ["watch"], resources: [{ group: "", resources: ["endpoints", "services", "services/status"] }] },
      { level: "None", resources: [{ group: "", resources: ["events"] }, { group: "events.k8s.io", resources: ["events"] }] },
      {
        level: "Metadata",
        resources: [
          { group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"] },
          { group: "authentication.k8s.io", resources: ["tokenreviews"] },
        ],
      },
      { level: "Metadata", verbs: ["get", "list", "watch"] },
      { level: "RequestResponse", resources: [{ group: "rbac.authorization.k8s.io" }] },
      { level: "Request" },
    ],
  };
}

/** Anonymous requests only for health endpoints; everything else needs credentials. */
export function authenticationConfig(): Record<string, unknown> {
  return {
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "AuthenticationConfiguration",
    anonymous: { enabled: true, conditions: ANONYMOUS_HEALTH_PATHS.map((path) => ({ path })) },
  };
}

export function controlPlaneFiles(spec: ClusterSpec, host: PlannedHost, addresses: AddressPlan): HostFile[] {
  const version = spec.kubernetes.version;
  const audit = spec.kubernetes.apiServer.auditLog.enabled;
  const encryption = spec.kubernetes.apiServer.encryptionAtRest !== "none";
  const apiserverMounts: Mount[] = [
    pkiMount,
    caCertsMount,
    fileMount("authentication-config", AUTHENTICATION_CONFIG_PATH),
    fileMount("admission-config", ADMISSION_CONFIG_PATH),
    ...(encryption ? [fileMount("encryption-config", ENCRYPTION_CONFIG_PATH)] : []),
    ...(audit ? [fileMount("audit-policy", AUDIT_POLICY_PATH), { name: "audit-log", hostPath: AUDIT_LOG_DIR, type: "DirectoryOrCreate" as const, readOnly: false }] : []),
  ];
  const apiserver = staticPod("kube-apiserver", version, apiServerFlags(spec, host, addresses), apiserverMounts, { port: spec.kubernetes.apiServer.port, path: "/readyz" });
  const controllerManager = staticPod("kube-controller-manager", version, controllerManagerFlags(spec), [pkiMount, caCertsMount, fileMount("kubeconfig", KUBECONFIG_PATHS.controllerManager)], { port: CONTROLLER_MANAGER_PORT, path: "/healthz" });
  const scheduler = staticPod("kube-scheduler", version, schedulerFlags(spec), [fileMount("kubeconfig", KUBECONFIG_PATHS.scheduler), fileMount("scheduler-config", SCHEDULER_CONFIG_PATH)], { port: SCHEDULER_PORT, path: "/healthz" });
  return [
    publicFile(AUTHENTICATION_CONFIG_PATH, stringify(authenticationConfig()), 0o600),
    publicFile(ADMISSION_CONFIG_PATH, stringify(admissionConfig(spec)), 0o600),
    ...(audit ? [publicFile(AUDIT_POLICY_PATH, stringify(auditPolicy()), 0o600)] : []),
    publicFile(SCHEDULER_CONFIG_PATH, stringify(schedulerConfig()), 0o600),
    publicFile(`${STATIC_POD_DIR}/kube-apiserver.yaml`, stringify(apiserver), 0o600),
    publicFile(`${STATIC_POD_DIR}/kube-controller-manager.yaml`, stringify(controllerManager), 0o600),
    publicFile(`${STATIC_POD_DIR}/kube-scheduler.yaml`, stringify(scheduler), 0o600),
  ];
}

/** kubectl as the cluster admin against one API server address. */
export function adminKubectl(args: string, server: string): string {
  return `${BIN_DIR}/kubectl --kubeconfig=${KUBECONFIG_PATHS.admin} --server=${server} --request-timeout=5s ${args}`;
}

export function apiServerReadyStep(host: PlannedHost, port: number, endpoint: string, dependsOn: readonly string[]): StepDraft {
  const own = adminKubectl("get --raw /readyz", `https://${host.address}:${port}`);
  const through = adminKubectl("get --raw /readyz", endpoint);
  return {
    name: "apiserver-ready",
    description: "the API server answers /readyz on its own address and through the API endpoint",
    dependsOn,
    body: `${own}\n${through}`,
    check: { command: `${own} && ${through}`, timeoutSeconds: 300 },
  };
}
