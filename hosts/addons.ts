// Cluster objects applied once the API is up: RBAC drydock's identities need,
// kube-proxy (per mode), CoreDNS and metrics-server. Typed object models.
import { createHash } from "node:crypto";
import type { AddressPlan } from "../spec/addresses";
import { addonVersions, companionVersions } from "../spec/catalog";
import type { ClusterSpec } from "../spec/normalize";
import { ADMIN_ORG } from "../pki/inventory";
import type { ClusterRole, ClusterRoleBinding, ConfigMap, DaemonSet, Deployment, RoleBinding, Service, ServiceAccount, APIService } from "./k8s-types";

export type KubeObject = ServiceAccount | ClusterRole | ClusterRoleBinding | RoleBinding | ConfigMap | DaemonSet | Deployment | Service | APIService | Record<string, unknown>;

export interface Manifest {
  /** File name under cluster/manifests/, ordered by its numeric prefix. */
  readonly name: string;
  readonly objects: readonly KubeObject[];
}

const SYSTEM = "kube-system";
const clusterRoleBinding = (name: string, role: string, subjects: ClusterRoleBinding["subjects"]): ClusterRoleBinding => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: { name, labels: { "app.kubernetes.io/managed-by": "drydock" } },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
  subjects,
});
const serviceAccount = (name: string, namespace = SYSTEM): ServiceAccount => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } });

/** The bindings kubeadm creates and drydock's identities rely on. */
export function rbacManifest(): Manifest {
  return {
    name: "00-rbac.yaml",
    objects: [
      // The admin kubeconfig's group (kubeadm's, less than system:masters).
      clusterRoleBinding("kubeadm:cluster-admins", "cluster-admin", [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: ADMIN_ORG }]),
      // The API server reaches kubelets (logs, exec, metrics) with exactly these rights.
      clusterRoleBinding("drydock:apiserver-kubelet-api-admin", "system:kubelet-api-admin", [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "kube-apiserver-kubelet-client" }]),
      // Kubelets renew their own client certificates: the CSR approver approves a node's renewal
      // for itself when its group may create selfnodeclient requests (kubeadm binds the same).
      clusterRoleBinding("drydock:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }]),
    ],
  };
}

export function kubeProxyConfig(spec: ClusterSpec): Record<string, unknown> {
  const mode = spec.network.proxyMode;
  return {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig: "/var/lib/kube-proxy/kubeconfig.conf" },
    mode,
    clusterCIDR: spec.kubernetes.podCIDR,
    metricsBindAddress: "127.0.0.1:10249",
    healthzBindAddress: "0.0.0.0:10256",
    // MetalLB-style L2 announcements and IPVS need strict ARP.
    ...(mode === "ipvs" ? { ipvs: { scheduler: spec.network.ipvs?.scheduler ?? "rr", strictARP: true } } : {}),
    ...(spec.network.conntrackMaxPerCore !== null ? { conntrack: { maxPerCore: spec.network.conntrackMaxPerCore } } : {}),
    ...(Object.keys(spec.kubernetes.featureGates).length > 0 ? { featureGates: spec.kubernetes.featureGates } : {}),
  };
}

/** kube-proxy authenticates with its service account token and reaches the API through the endpoint. */
function kubeProxyKubeconfig(server: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: default",
    "    cluster:",
    "      certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    `      server: ${server}`,
    "contexts:",
    "  - name: default",
    "    context: { cluster: default, namespace: default, user: default }",
    "current-context: default",
    "users:",
    "  - name: default",
    "    user:",
    "      tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token",
    "",
  ].join("\n");
}

/** On kube-proxy's pods: its configuration's digest, so a changed ConfigMap rolls the DaemonSet (kube-proxy reads it only at start). */
export const CONFIG_ANNOTATION = "drydock.dev/config-sha256";

/**
 * A new kube-proxy counts as available this long after it starts: time for its first sync of
 * the node's rules (its /livez says healthy before that), before the roll moves to the next node.
 */
export const KUBE_PROXY_MIN_READY_SECONDS = 5;
/** kube-proxy pods replaced at once in a rollout: a DaemonSet rounds a percentage up. */
export const KUBE_PROXY_MAX_UNAVAILABLE = "10%";

export function kubeProxyManifest(spec: ClusterSpec, server: string, yaml: (o: unknown) => string): Manifest | null {
  if (spec.network.proxyMode === "none") return null;
  const labels = { "k8s-app": "kube-proxy" };
  const config: ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "kube-proxy", namespace: SYSTEM, labels },
    data: { "config.conf": yaml(kubeProxyConfig(spec)), "kubeconfig.conf": kubeProxyKubeconfig(server) },
  };
  const daemonSet: DaemonSet = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "kube-proxy", namespace: SYSTEM, labels },
    spec: {
      selector: { matchLabels: labels },
      // A tenth of the nodes at a time (rounded up: one on a small cluster), so an upgrade, which
      // drains no worker until this rollout ends, does not wait for a thousand nodes one by one.
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: KUBE_PROXY_MAX_UNAVAILABLE } },
      minReadySeconds: KUBE_PROXY_MIN_READY_SECONDS,
      template: {
        metadata: { labels, annotations: { [CONFIG_ANNOTATION]: createHash("sha256").update(JSON.stringify(config.data)).digest("hex") } },
        spec: {
          serviceAccountName: "kube-proxy",
          priorityClassName: "system-node-critical",
          hostNetwork: true,
          nodeSelector: { "kubernetes.io/os": "linux" },
          tolerations: [{ operator: "Exists" }],
          containers: [
            {
              name: "kube-proxy",
              image: `registry.k8s.io/kube-proxy:v${spec.kubernetes.version}`,
              imagePullPolicy: "IfNotPresent",
              command: ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
              env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
              securityContext: { privileged: true },
              volumeMounts: [
                { name: "kube-proxy", mountPath: "/var/lib/kube-proxy" },
                { name: "xtables-lock", mountPath: "/run/xtables.lock" },
                { name: "lib-modules", mountPath: "/lib/modules", readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "kube-proxy", configMap: { name: "kube-proxy" } },
            { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
            { name: "lib-modules", hostPath: { path: "/lib/modules" } },
          ],
        },
      },
    },
  };
  return {
    name: "20-kube-proxy.yaml",
    objects: [serviceAccount("kube-proxy"), clusterRoleBinding("drydock:kube-proxy", "system:node-proxier", [{ kind: "ServiceAccount", name: "kube-proxy", namespace: SYSTEM }]), config, daemonSet],
  };
}

export function corednsManifest(spec: ClusterSpec, addresses: AddressPlan): Manifest | null {
  if (!spec.addons.coredns) return null;
  const labels = { "k8s-app": "kube-dns" };
  const domain = spec.kubernetes.clusterDomain;
  const corefile = `.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    kubernetes ${domain} in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
        max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;
  const role: ClusterRole = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "system:coredns" },
    rules: [
      { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
    ],
  };
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "coredns", namespace: SYSTEM, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: "coredns",
          priorityClassName: "system-cluster-critical",
          // The node's resolv.conf, not the cluster DNS (itself): the Corefile forwards there,
          // and with ClusterFirst the loop plugin would stop CoreDNS (kubeadm sets the same).
          dnsPolicy: "Default",
          nodeSelector: { "kubernetes.io/os": "linux" },
          tolerations: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: labels }, topologyKey: "kubernetes.io/hostname" } },
              ],
            },
          },
          containers: [
            {
              name: "coredns",
              image: `registry.k8s.io/coredns/coredns:v${companionVersions(spec.kubernetes.version).coredns}`,
              imagePullPolicy: "IfNotPresent",
              args: ["-conf", "/etc/coredns/Corefile"],
              resources: { requests: { cpu: "100m", memory: "70Mi" }, limits: { memory: "170Mi" } },
              ports: [
                { name: "dns", containerPort: 53, protocol: "UDP" },
                { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                { name: "metrics", containerPort: 9153, protocol: "TCP" },
              ],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] } },
              livenessProbe: { httpGet: { path: "/health", port: 8080, scheme: "HTTP" }, initialDelaySeconds: 60, timeoutSeconds: 5, failureThreshold: 5 },
              readinessProbe: { httpGet: { path: "/ready", port: 8181, scheme: "HTTP" } },
              volumeMounts: [{ name: "config-volume", mountPath: "/etc/coredns", readOnly: true }],
            },
          ],
          volumes: [{ name: "config-volume", configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] } }],
        },
      },
    },
  };
  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "kube-dns", namespace: SYSTEM, labels: { ...labels, "kubernetes.io/name": "CoreDNS" } },
    spec: {
      selector: labels,
      clusterIP: addresses.clusterDNS,
      ports: [
        { name: "dns", port: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, protocol: "TCP" },
        { name: "metrics", port: 9153, protocol: "TCP" },
      ],
    },
  };
  return {
    name: "30-coredns.yaml",
    objects: [
      serviceAccount("coredns"),
      role,
      clusterRoleBinding("system:coredns", "system:coredns", [{ kind: "ServiceAccount", name: "coredns", namespace: SYSTEM }]),
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: SYSTEM }, data: { Corefile: corefile } } satisfies ConfigMap,
      deployment,
      service,
    ],
  };
}

export function metricsServerManifest(spec: ClusterSpec): Manifest | null {
  if (!spec.addons.metricsServer) return null;
  const labels = { "k8s-app": "metrics-server" };
  const reader: ClusterRole = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "system:aggregated-metrics-reader", labels: { "rbac.authorization.k8s.io/aggregate-to-admin": "true", "rbac.authorization.k8s.io/aggregate-to-edit": "true", "rbac.authorization.k8s.io/aggregate-to-view": "true" } },
    rules: [{ apiGroups: ["metrics.k8s.io"], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] }],
  };
  const role: ClusterRole = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "system:metrics-server" },
    rules: [
      { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] },
    ],
  };
  const authReader: RoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "metrics-server-auth-reader", namespace: SYSTEM },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "extension-apiserver-authentication-reader" },
    subjects: [{ kind: "ServiceAccount", name: "metrics-server", namespace: SYSTEM }],
  };
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "metrics-server", namespace: SYSTEM, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: "metrics-server",
          priorityClassName: "system-cluster-critical",
          nodeSelector: { "kubernetes.io/os": "linux" },
          containers: [
            {
              name: "metrics-server",
              image: `registry.k8s.io/metrics-server/metrics-server:v${addonVersions["metrics-server"]}`,
              imagePullPolicy: "IfNotPresent",
              args: [
                "--cert-dir=/tmp",
                "--secure-port=10250",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                "--kubelet-use-node-status-port",
                "--metric-resolution=15s",
                // Kubelet serving certificates are signed by the cluster CA: verify them.
                "--kubelet-certificate-authority=/etc/kubernetes/ca/ca.crt",
              ],
              ports: [{ name: "https", containerPort: 10250, protocol: "TCP" }],
              resources: { requests: { cpu: "100m", memory: "200Mi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
              livenessProbe: { httpGet: { path: "/livez", port: "https", scheme: "HTTPS" }, periodSeconds: 10, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: "/readyz", port: "https", scheme: "HTTPS" }, initialDelaySeconds: 20, periodSeconds: 10, failureThreshold: 3 },
              volumeMounts: [
                { name: "tmp-dir", mountPath: "/tmp" },
                { name: "cluster-ca", mountPath: "/etc/kubernetes/ca", readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "tmp-dir", emptyDir: {} },
            // Every namespace has the cluster CA in this ConfigMap.
            { name: "cluster-ca", configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          ],
        },
      },
    },
  };
  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "metrics-server", namespace: SYSTEM, labels },
    spec: { selector: labels, ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: "https" }] },
  };
  const apiService: APIService = {
    apiVersion: "apiregistration.k8s.io/v1",
    kind: "APIService",
    metadata: { name: "v1beta1.metrics.k8s.io", labels },
    spec: {
      group: "metrics.k8s.io",
      version: "v1beta1",
      groupPriorityMinimum: 100,
      versionPriority: 100,
      service: { name: "metrics-server", namespace: SYSTEM },
      // metrics-server serves a self-signed certificate from --cert-dir (the upstream default).
      insecureSkipTLSVerify: true,
    },
  };
  return {
    name: "40-metrics-server.yaml",
    objects: [
      serviceAccount("metrics-server"),
      reader,
      role,
      authReader,
      clusterRoleBinding("metrics-server:system:auth-delegator", "system:auth-delegator", [{ kind: "ServiceAccount", name: "metrics-server", namespace: SYSTEM }]),
      clusterRoleBinding("system:metrics-server", "system:metrics-server", [{ kind: "ServiceAccount", name: "metrics-server", namespace: SYSTEM }]),
      service,
      deployment,
      apiService,
    ],
  };
}
