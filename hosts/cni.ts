// The CNI the spec picks. What is small and ours is rendered whole (bridge,
// flannel); what upstream maintains at a size no one should copy (Calico's
// operator manifests, Cilium's Helm chart) is downloaded at a pinned version and
// SHA-256 like every binary, and drydock renders only what belongs to the cluster
// (Installation, values).
import type { AddressPlan, PlannedHost } from "../spec/addresses";
import { addonVersions, artifact, type ArtifactName } from "../spec/catalog";
import type { ClusterSpec } from "../spec/normalize";
import type { Manifest } from "./addons";
import { CNI_CONF_DIR } from "./containerd";
import { type HostFile, publicFile } from "./files";
import type { ClusterRole, ConfigMap, DaemonSet } from "./k8s-types";
import type { StepDraft } from "./steps";

export const BRIDGE_CONFLIST = `${CNI_CONF_DIR}/10-drydock-bridge.conflist`;
export const LOOPBACK_CONF = `${CNI_CONF_DIR}/99-loopback.conf`;
export const POD_ROUTES_SCRIPT = "/usr/local/lib/drydock/pod-routes.sh";
export const POD_ROUTES_UNIT = "/etc/systemd/system/drydock-pod-routes.service";

/** Where the first control plane keeps the verified upstream files it applies. */
export const UPSTREAM_DIR = "/usr/local/lib/drydock/upstream";

/** An upstream artifact the provisioning step downloads, verifies against its pinned SHA-256 and applies as it is. */
export interface UpstreamReference {
  readonly name: ArtifactName;
  readonly kind: "manifest" | "helm-chart";
  readonly version: string;
  /** The catalog's URL, through artifacts.mirror, or the user's override. */
  readonly url: string;
  readonly sha256: string;
  /** The verified file on the host, applied from there. */
  readonly path: string;
  /** helm-chart: the release name and its values file. */
  readonly release?: string;
  readonly valuesFile?: string;
}

function pinned(spec: ClusterSpec, name: ArtifactName, version: string, file: string): Pick<UpstreamReference, "name" | "version" | "url" | "sha256" | "path"> {
  const ref = artifact(name, version, "amd64", spec.artifacts);
  return { name, version, url: ref.url, sha256: ref.sha256, path: `${UPSTREAM_DIR}/${file}` };
}

export function bridgeConflist(spec: ClusterSpec, podCIDR: string): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "drydock-bridge",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ...(spec.network.mtu !== null ? { mtu: spec.network.mtu } : {}),
        ipam: { type: "host-local", ranges: [[{ subnet: podCIDR }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

export function loopbackConf(): Record<string, unknown> {
  return { cniVersion: "1.0.0", name: "lo", type: "loopback" };
}

/** Routes to every other node's pod range through that node (hosts on one L2 segment). */
export function podRoutes(host: PlannedHost, addresses: AddressPlan): { range: string; via: string }[] {
  return addresses.hosts.filter((h) => h.name !== host.name && h.podCIDR !== null).map((h) => ({ range: h.podCIDR!, via: h.address }));
}

export function cniNodeFiles(spec: ClusterSpec, host: PlannedHost, addresses: AddressPlan): HostFile[] {
  if (spec.network.cni !== "bridge" || host.podCIDR === null) return [];
  const files = [
    publicFile(BRIDGE_CONFLIST, `${JSON.stringify(bridgeConflist(spec, host.podCIDR), null, 2)}\n`, 0o600),
    publicFile(LOOPBACK_CONF, `${JSON.stringify(loopbackConf(), null, 2)}\n`, 0o600),
  ];
  // On aws, VPC routes carry pod ranges; on existing hosts, static routes on each host.
  if (spec.infrastructure.provider !== "aws") {
    const routes = podRoutes(host, addresses);
    files.push(
      publicFile(POD_ROUTES_SCRIPT, `#!/bin/bash\nset -euo pipefail\n${routes.map((r) => `ip route replace ${r.range} via ${r.via}`).join("\n")}\n`, 0o755),
      publicFile(
        POD_ROUTES_UNIT,
        `[Unit]\nDescription=Routes to other nodes' pod ranges (drydock bridge CNI)\nWants=network-online.target\nAfter=network-online.target\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=${POD_ROUTES_SCRIPT}\n\n[Install]\nWantedBy=multi-user.target\n`,
      ),
    );
  }
  return files;
}

export function podRoutesStep(dependsOn: readonly string[]): StepDraft {
  return {
    name: "pod-routes",
    description: "routes to other nodes' pod ranges, kept across reboots",
    dependsOn,
    triggers: [POD_ROUTES_SCRIPT, POD_ROUTES_UNIT],
    body: `
systemctl daemon-reload
systemctl enable drydock-pod-routes.service
systemctl restart drydock-pod-routes.service`,
    check: { command: "systemctl is-active --quiet drydock-pod-routes.service", timeoutSeconds: 30 },
  };
}

export function flannelManifest(spec: ClusterSpec, yamlJson: (o: unknown) => string): Manifest {
  const ns = "kube-flannel";
  const labels = { app: "flannel", "k8s-app": "flannel" };
  const cniConf = {
    name: "cbr0",
    cniVersion: "1.0.0",
    plugins: [{ type: "flannel", delegate: { hairpinMode: true, isDefaultGateway: true } }, { type: "portmap", capabilities: { portMappings: true } }],
  };
  const netConf = { Network: spec.kubernetes.podCIDR, EnableNFTables: spec.network.proxyMode === "nftables", Backend: { Type: "vxlan", ...(spec.network.mtu !== null ? { MTU: spec.network.mtu } : {}) } };
  const role: ClusterRole = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "flannel" },
    rules: [
      { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
      { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
    ],
  };
  const config: ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "kube-flannel-cfg", namespace: ns, labels },
    data: { "cni-conf.json": yamlJson(cniConf), "net-conf.json": yamlJson(netConf) },
  };
  const image = `ghcr.io/flannel-io/flannel:v${addonVersions.flannel}`;
  const daemonSet: DaemonSet = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "kube-flannel-ds", namespace: ns, labels },
    spec: {
      selector: { matchLabels: { app: "flannel" } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: "flannel",
          priorityClassName: "system-node-critical",
          hostNetwork: true,
          nodeSelector: { "kubernetes.io/os": "linux" },
          tolerations: [{ operator: "Exists", effect: "NoSchedule" }],
          initContainers: [
            {
              name: "install-cni-plugin",
              image: `ghcr.io/flannel-io/flannel-cni-plugin:v${addonVersions["flannel-cni-plugin"]}`,
              command: ["cp"],
              args: ["-f", "/flannel", "/opt/cni/bin/flannel"],
              volumeMounts: [{ name: "cni-plugin", mountPath: "/opt/cni/bin" }],
            },
            {
              name: "install-cni",
              image,
              command: ["cp"],
              args: ["-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"],
              volumeMounts: [
                { name: "cni", mountPath: "/etc/cni/net.d" },
                { name: "flannel-cfg", mountPath: "/etc/kube-flannel/" },
              ],
            },
          ],
          containers: [
            {
              name: "kube-flannel",
              image,
              command: ["/opt/bin/flanneld"],
              args: ["--ip-masq", "--kube-subnet-mgr"],
              resources: { requests: { cpu: "100m", memory: "50Mi" } },
              securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "EVENT_QUEUE_DEPTH", value: "5000" },
              ],
              volumeMounts: [
                { name: "run", mountPath: "/run/flannel" },
                { name: "flannel-cfg", mountPath: "/etc/kube-flannel/" },
                { name: "xtables-lock", mountPath: "/run/xtables.lock" },
              ],
            },
          ],
          volumes: [
            { name: "run", hostPath: { path: "/run/flannel" } },
            { name: "cni-plugin", hostPath: { path: "/opt/cni/bin" } },
            { name: "cni", hostPath: { path: "/etc/cni/net.d" } },
            { name: "flannel-cfg", configMap: { name: "kube-flannel-cfg" } },
            { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
          ],
        },
      },
    },
  };
  return {
    name: "10-cni-flannel.yaml",
    objects: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "pod-security.kubernetes.io/enforce": "privileged", "k8s-app": "flannel" } } },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "flannel", namespace: ns } },
      role,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "flannel" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "flannel" },
        subjects: [{ kind: "ServiceAccount", name: "flannel", namespace: ns }],
      },
      config,
      daemonSet,
    ],
  };
}

export function calicoInstallation(spec: ClusterSpec): Manifest {
  return {
    name: "10-cni-calico.yaml",
    objects: [
      {
        apiVersion: "operator.tigera.io/v1",
        kind: "Installation",
        metadata: { name: "default" },
        spec: {
          calicoNetwork: {
            ...(spec.network.mtu !== null ? { mtu: spec.network.mtu } : {}),
            linuxDataplane: spec.network.proxyMode === "nftables" ? "Nftables" : "Iptables",
            ipPools: [{ name: "default-ipv4-ippool", cidr: spec.kubernetes.podCIDR, blockSize: 26, encapsulation: "VXLAN", natOutgoing: "Enabled", nodeSelector: "all()" }],
          },
        },
      },
    ],
  };
}

/** Calico's operator: its CRDs (since 3.30 a separate manifest), then the operator. */
export function calicoReferences(spec: ClusterSpec): UpstreamReference[] {
  const v = addonVersions.calico;
  return [
    { kind: "manifest", ...pinned(spec, "calico-crds", v, `calico-operator-crds-${v}.yaml`) },
    { kind: "manifest", ...pinned(spec, "calico-operator", v, `calico-tigera-operator-${v}.yaml`) },
  ];
}

export function ciliumValues(spec: ClusterSpec, apiEndpointHost: string, port: number): Record<string, unknown> {
  const replace = spec.network.proxyMode === "none";
  return {
    ipam: { mode: "kubernetes" },
    routingMode: "tunnel",
    tunnelProtocol: "vxlan",
    ...(spec.network.mtu !== null ? { MTU: spec.network.mtu } : {}),
    kubeProxyReplacement: replace,
    // Without kube-proxy, Cilium cannot reach the API through the service address.
    ...(replace ? { k8sServiceHost: apiEndpointHost, k8sServicePort: port } : {}),
    operator: { replicas: spec.controlPlane.count > 1 ? 2 : 1 },
  };
}

export function ciliumReference(spec: ClusterSpec): UpstreamReference {
  const v = addonVersions.cilium;
  return { kind: "helm-chart", ...pinned(spec, "cilium-chart", v, `cilium-${v}.tgz`), release: "cilium", valuesFile: "cilium-values.yaml" };
}
