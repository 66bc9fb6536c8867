// drydock's position on each CIS recommendation that is not simply held by
// default. Everything automated and judged from configuration is "held" unless
// listed here; policies (section 5) are the cluster operator's.
export type Status = "held" | "deviates" | "not-applicable" | "manual";

export interface Position {
  readonly status: Status;
  readonly note: string;
}

export const POSITIONS: Readonly<Record<string, Position>> = {
  "1.1.12": { status: "deviates", note: "etcd runs as root under systemd (as kubeadm's static pod does), so its data dir is root:root, mode 0700 (1.1.11 holds). A dedicated etcd user is planned; no spec field yet." },
  "1.2.11": { status: "deviates", note: "AlwaysPullImages makes every pod start pull from a registry, which breaks restarts in air-gapped sites (artifacts.mirror) and loads registries. Multi-tenant clusters should enable it; there is no spec field for extra admission plugins yet." },
  "1.2.20": { status: "manual", note: "--request-timeout keeps the upstream default (60s); the benchmark leaves the value to the operator." },
  "3.1.1": { status: "manual", note: "Users: drydock's admin and break-glass kubeconfigs use client certificates (as kubeadm's do). Give people OIDC identities (AuthenticationConfiguration jwt) and keep the admin kubeconfig for automation; there is no spec field for OIDC yet." },
  "3.1.2": { status: "manual", note: "Service-account tokens are not used for people by drydock." },
  "3.1.3": { status: "manual", note: "drydock issues each kubelet's first client certificate and its serving certificate; kubelets renew their client certificates through the CSR API. Bootstrap tokens are not used." },
  "3.2.2": { status: "manual", note: "The policy drops health probes and events, records Secrets, ConfigMaps and token requests at Metadata only (never bodies), reads at Metadata, RBAC changes with bodies, and every other write at Request." },
  "4.1.3": { status: "not-applicable", note: "kube-proxy runs as a DaemonSet; its kubeconfig is a ConfigMap mounted read-only and holds no key (it uses its service-account token)." },
  "4.1.4": { status: "not-applicable", note: "As 4.1.3." },
  "4.2.7": { status: "deviates", note: "--hostname-override pins the node name to the planned one, which the node's certificates (CN=system:node:<name>) and the Node authorizer depend on; cloud hostnames differ from it." },
};

/** Notes for held recommendations that a spec field can turn off. */
export const HELD_NOTES: Readonly<Record<string, string>> = {
  "1.2.1": "Anonymous requests are allowed only for /livez, /readyz and /healthz (AuthenticationConfiguration; --anonymous-auth cannot be combined with it), so load balancers can health-check.",
  "1.2.16": "kubernetes.apiServer.auditLog.enabled (default true).",
  "1.2.17": "kubernetes.apiServer.auditLog.maxAgeDays (default 30).",
  "1.2.18": "kubernetes.apiServer.auditLog.maxBackups (default 10).",
  "1.2.19": "kubernetes.apiServer.auditLog.maxSizeMB (default 100).",
  "1.2.27": "kubernetes.apiServer.encryptionAtRest (default secretbox; none turns it off).",
  "1.2.28": "secretbox or aescbc, identity last for reads only.",
  "1.1.7": "etcd runs under systemd from /etc/etcd/etcd.conf.yml, judged as its pod specification.",
  "1.1.8": "As 1.1.7.",
  "1.1.9": "With cni: bridge (the other CNIs write their own files).",
  "1.1.10": "As 1.1.9.",
  "3.2.1": "kubernetes.apiServer.auditLog.enabled (default true).",
  "4.2.10": "Kubelets renew their client certificates through the CSR API (signed by the controller manager with the cluster CA; renewals for the node itself approved for system:nodes). drydock issues the first one, and the serving certificate (serverTLSBootstrap would need a serving-CSR approver).",
  "1.4.1": "enableProfiling: false in the KubeSchedulerConfiguration (the --profiling flag is deprecated and ignored with --config).",
};
