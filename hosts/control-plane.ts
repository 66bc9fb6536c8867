// Control plane: static pods for kube-apiserver, kube-controller-manager and
// kube-scheduler, run by the kubelet from /etc/kubernetes/manifests, with the
// versioned config files they read. Manifests arrive staged and are put in place
// by a step of the control-plane chain, so a change (a new version, a rotated
// certificate) restarts one control plane at a time, never all at once.
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
import { shellQuote as q } from "./shell";

export const ADMISSION_CONFIG_PATH = "/etc/kubernetes/admission-config.yaml";
export const AUDIT_POLICY_PATH = "/etc/kubernetes/audit-policy.yaml";
export const AUTHENTICATION_CONFIG_PATH = "/etc/kubernetes/authentication-config.yaml";
export const SCHEDULER_CONFIG_PATH = "/etc/kubernetes/scheduler-config.yaml";
export const AUDIT_LOG_DIR = "/var/log/kubernetes/audit";
/** Rendered manifests wait here until the control-plane-pods step installs them. */
export const STAGED_POD_DIR = "/etc/kubernetes/drydock/static-pods";
export const STATIC_POD_INSTALLER = "/usr/local/lib/drydock/static-pods.sh";
/** Salted digest of a pod's manifest and the files it reads: a change restarts the pod. */
export const INPUTS_ANNOTATION = "drydock.dev/inputs-sha256";
/** The installed manifest's mode (CIS 1.1.1, 1.1.3, 1.1.5) and owner (1.1.2, 1.1.4, 1.1.6). */
export const STATIC_POD_MODE = 0o600;
export const STATIC_POD_OWNER = "root:root";
export const CONTROL_PLANE_COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type ControlPlaneComponent = (typeof CONTROL_PLANE_COMPONENTS)[number];
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

export interface StaticPod {
  readonly component: ControlPlaneComponent;
  readonly manifest: Pod;
  /** Files the component reads at start: a change restarts it. */
  readonly reads: readonly string[];
}

/** Every file under /etc/kubernetes a component's flags name (its configs, certificates, keys, kubeconfigs). */
export function filesRead(command: readonly string[]): string[] {
  const paths = command.flatMap((arg) => {
    const m = /^--[a-z0-9-]+=(\/etc\/kubernetes\/[^,\s]+)$/.exec(arg);
    return m ? [m[1]!] : [];
  });
  return [...new Set(paths)].sort();
}

export function controlPlanePods(spec: ClusterSpec, host: PlannedHost, addresses: AddressPlan): StaticPod[] {
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
  const pod = (component: ControlPlaneComponent, flags: string[], mounts: Mount[], probe: { port: number; path: string }): StaticPod => {
    const manifest = staticPod(component, version, flags, mounts, probe);
    return { component, manifest, reads: filesRead(flags) };
  };
  return [
    pod("kube-apiserver", apiServerFlags(spec, host, addresses), apiserverMounts, { port: spec.kubernetes.apiServer.port, path: "/readyz" }),
    pod("kube-controller-manager", controllerManagerFlags(spec), [pkiMount, caCertsMount, fileMount("kubeconfig", KUBECONFIG_PATHS.controllerManager)], { port: CONTROLLER_MANAGER_PORT, path: "/healthz" }),
    pod("kube-scheduler", schedulerFlags(spec), [fileMount("kubeconfig", KUBECONFIG_PATHS.scheduler), fileMount("scheduler-config", SCHEDULER_CONFIG_PATH)], { port: SCHEDULER_PORT, path: "/healthz" }),
  ];
}

export const stagedManifest = (component: ControlPlaneComponent) => `${STAGED_POD_DIR}/${component}.yaml`;
export const installedManifest = (component: ControlPlaneComponent) => `${STATIC_POD_DIR}/${component}.yaml`;

export function controlPlaneFiles(spec: ClusterSpec, host: PlannedHost, addresses: AddressPlan, pods: readonly StaticPod[]): HostFile[] {
  const audit = spec.kubernetes.apiServer.auditLog.enabled;
  return [
    publicFile(AUTHENTICATION_CONFIG_PATH, stringify(authenticationConfig()), 0o600),
    publicFile(ADMISSION_CONFIG_PATH, stringify(admissionConfig(spec)), 0o600),
    ...(audit ? [publicFile(AUDIT_POLICY_PATH, stringify(auditPolicy()), 0o600)] : []),
    publicFile(SCHEDULER_CONFIG_PATH, stringify(schedulerConfig()), 0o600),
    ...pods.map((p) => publicFile(stagedManifest(p.component), stringify(p.manifest), STATIC_POD_MODE)),
    publicFile(STATIC_POD_INSTALLER, staticPodInstaller(host, spec.kubernetes.apiServer.port, pods), 0o755),
  ];
}

/**
 * install: puts each staged manifest in place with a salted digest of itself and
 * the files its component reads as an annotation; an unchanged pod's manifest is
 * not touched, a changed one is replaced atomically and the kubelet restarts it.
 * check: each pod's mirror in the API shows that digest and is Ready, so a restart
 * is judged on the new pod, not the old one still answering.
 */
export function staticPodInstaller(host: PlannedHost, apiPort: number, pods: readonly StaticPod[]): string {
  const jsonpath = `{${annotationJsonpath(INPUTS_ANNOTATION)}} {.status.conditions[?(@.type=="Ready")].status}`;
  // The kubelet names a static pod's mirror "<pod>-<node>". It is read with the node's own
  // credentials (the Node authorizer lets a kubelet read its pods): on a new cluster the admin
  // group's RBAC binding does not exist yet when the first API server comes up.
  const getMirror = adminKubectl(`-n kube-system get pod "$name"-${q(host.name.toLowerCase())} -o jsonpath=${q(jsonpath)}`, `https://${host.address}:${apiPort}`, '"$root"', KUBECONFIG_PATHS.kubelet);
  return `#!/bin/bash
# drydock: the control plane's static pods on ${host.name}, from ${STAGED_POD_DIR}.
# Usage: static-pods.sh install|check
set -euo pipefail
# DRYDOCK_ROOT (default /) prefixes every path, so tests run this in a temporary root.
root="\${DRYDOCK_ROOT:-}"
action="\${1:?usage: static-pods.sh install|check}"
# The salt keeps the digest, which the API shows, from saying anything about key files.
salt="$root/etc/kubernetes/drydock/inputs.salt"
if [ "$action" = install ] && [ ! -s "$salt" ]; then (umask 077; mkdir -p "$(dirname "$salt")"; head -c 32 /dev/urandom | base64 > "$salt"); fi
pod() {
  local name="$1" staged="$root$2" installed="$root$3" file sum got; shift 3
  local files=("$staged"); for file in "$@"; do files+=("$root$file"); done
  sum="$(sha256sum "\${files[@]}" | cut -d' ' -f1 | cat "$salt" - | sha256sum | cut -d' ' -f1)"
  if [ "$action" = install ]; then
    # Written beside the staged copy (same file system), then renamed into place: the kubelet never reads half a file.
    local tmp; tmp="$(dirname "$staged")/.$name.new"
    awk -v sum="$sum" '{ print } !done && /^metadata:$/ { print "  annotations:"; print "    ${INPUTS_ANNOTATION}: \\"" sum "\\""; done = 1 }' "$staged" > "$tmp"
    if cmp -s "$tmp" "$installed"; then rm -f "$tmp"; return 0; fi
    chmod ${STATIC_POD_MODE.toString(8).padStart(4, "0")} "$tmp"; chown ${STATIC_POD_OWNER} "$tmp"
    mkdir -p "$(dirname "$installed")"; mv -f "$tmp" "$installed"
    echo "drydock: $name: manifest installed (it or a file it reads changed): the kubelet restarts it" >&2
  else
    got="$(${getMirror})"
    if [ "$got" != "$sum True" ]; then echo "drydock: $name: its mirror pod shows '$got', not the installed digest and Ready" >&2; return 1; fi
  fi
}
${pods.map((p) => `pod ${p.component} ${q(stagedManifest(p.component))} ${q(installedManifest(p.component))} ${p.reads.map(q).join(" ")}`).join("\n")}
`;
}

/** The step that brings up a control plane's static pods (its check waits for them in the API). */
export const CONTROL_PLANE_PODS_STEP = "control-plane-pods";

export function controlPlanePodsStep(pods: readonly StaticPod[], dependsOn: readonly string[]): StepDraft {
  return {
    name: CONTROL_PLANE_PODS_STEP,
    description: "put the control plane's static pods in place; the kubelet restarts those whose manifest or files changed",
    dependsOn,
    triggers: [STATIC_POD_INSTALLER, ...new Set(pods.flatMap((p) => [stagedManifest(p.component), ...p.reads]))],
    body: `bash ${STATIC_POD_INSTALLER} install`,
    check: { command: `bash ${STATIC_POD_INSTALLER} check`, timeoutSeconds: 300 },
  };
}

/** An annotation as a kubectl jsonpath expression reads it (its dots escaped). */
export function annotationJsonpath(key: string): string {
  return `.metadata.annotations.${key.replace(/\./g, "\\.")}`;
}

/** kubectl against one API server address with one of the host's kubeconfigs, the admin's by default (root: a shell prefix for every path). */
export function adminKubectl(args: string, server: string, root = "", kubeconfigPath: string = KUBECONFIG_PATHS.admin): string {
  return `${root}${BIN_DIR}/kubectl --kubeconfig=${root}${kubeconfigPath} --server=${server} --request-timeout=5s ${args}`;
}

/** The step after which a control plane's API server answers on its own address and the endpoint. */
export const APISERVER_READY_STEP = "apiserver-ready";

export function apiServerReadyStep(host: PlannedHost, port: number, endpoint: string, dependsOn: readonly string[]): StepDraft {
  const own = adminKubectl("get --raw /readyz", `https://${host.address}:${port}`);
  const through = adminKubectl("get --raw /readyz", endpoint);
  return {
    name: APISERVER_READY_STEP,
    description: "the API server answers /readyz on its own address and through the API endpoint",
    dependsOn,
    body: `${own}\n${through}`,
    check: { command: `${own} && ${through}`, timeoutSeconds: 300 },
  };
}
