// The cluster spec users write (../SPEC.md of the design): field names are a contract.
// Context-free defaults live here; defaults that depend on other fields (etcd
// topology and member count, control-plane count, pools on the hosts backend) are
// left undefined here and resolved in normalize.ts.
import { z } from "zod";
import { ARCHES, ARTIFACT_NAMES } from "./catalog";
import { parseCidr, isIPv4 } from "./ipv4";

/** A strict object whose unknown-key error lists the allowed keys. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? `unknown field; allowed fields here: ${allowed}` : undefined,
  });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const dnsLabel = (max: number) =>
  z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .regex(DNS_LABEL, {
      error: "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
    });

const cidr = z.string().refine((s) => parseCidr(s) !== null, {
  error: "must be an IPv4 CIDR such as 10.0.0.0/16, with host bits zero",
});

const ipv4 = z.string().refine(isIPv4, { error: "must be an IPv4 address such as 192.168.10.11" });

const httpUrl = z.string().refine(
  (s) => {
    try {
      const url = new URL(s);
      return url.protocol === "https:" || url.protocol === "http:";
    } catch {
      return false;
    }
  },
  { error: "must be an http(s) URL" },
);

const hostOrAddress = z
  .string()
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/, { error: "must be a DNS name or an IPv4 address" });

const port = z.number().int().min(1).max(65535);

export const CNIS = ["cilium", "calico", "flannel", "bridge"] as const;
export const PROXY_MODES = ["iptables", "ipvs", "nftables", "none"] as const;
// Schedulers kube-proxy's IPVS mode accepts (KubeProxyIPVSConfiguration.scheduler).
export const IPVS_SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh"] as const;
export const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;
export const ENCRYPTION_PROVIDERS = ["secretbox", "aescbc", "none"] as const;
export const PKI_ALGORITHMS = ["ecdsa-p256", "rsa-2048", "rsa-3072", "rsa-4096"] as const;
export const HOST_ROLES = ["controlPlane", "etcd", "worker"] as const;
export const ETCD_MEMBER_COUNTS = [1, 3, 5, 7] as const;

// Label keys: optional DNS-subdomain prefix and a name of at most 63 characters.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const labels = z.record(
  z.string().regex(LABEL_KEY, { error: "label keys are [prefix/]name, name up to 63 of [A-Za-z0-9-_.]" }),
  z.string().regex(LABEL_VALUE, { error: "label values are up to 63 of [A-Za-z0-9-_.], alphanumeric at both ends" }),
);

const pool = strict({
  name: dnsLabel(40),
  count: z.number().int().min(0).max(5000).optional(),
  labels: labels.default({}),
  taints: z.array(z.string()).default([]),
  /** Workers of the pool upgraded (cordoned, drained, restarted) at a time. */
  maxUnavailable: z.number().int().min(1, { error: "must be at least 1 (workers upgraded at a time)" }).default(1),
  instanceType: z.string().min(1).optional(),
  rootVolumeGiB: z.number().int().min(8).max(16384).optional(),
});

const auditLog = strict({
  enabled: z.boolean().default(true),
  maxAgeDays: z.number().int().min(1).default(30),
  maxBackups: z.number().int().min(1).default(10),
  maxSizeMB: z.number().int().min(1).default(100),
});

const podSecurity = strict({
  enforce: z.enum(POD_SECURITY_LEVELS).default("baseline"),
  audit: z.enum(POD_SECURITY_LEVELS).default("restricted"),
  warn: z.enum(POD_SECURITY_LEVELS).default("restricted"),
});

const apiServer = strict({
  port: port.default(6443),
  extraSANs: z.array(hostOrAddress).default([]),
  allowedCIDRs: z.array(cidr).default(["0.0.0.0/0"]),
  encryptionAtRest: z.enum(ENCRYPTION_PROVIDERS).default("secretbox"),
  auditLog: auditLog.prefault({}),
  podSecurity: podSecurity.prefault({}),
});

const kubernetes = strict({
  version: z.string().optional(),
  clusterDomain: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
      error: "must be a DNS domain such as cluster.local",
    })
    .default("cluster.local"),
  podCIDR: cidr.default("10.244.0.0/16"),
  serviceCIDR: cidr.default("10.96.0.0/12"),
  nodeCIDRMaskSize: z.number().int().min(8).max(30).default(24),
  featureGates: z.record(z.string().regex(/^[A-Z][A-Za-z0-9]*$/, { error: "feature gate names are CamelCase" }), z.boolean()).default({}),
  apiServer: apiServer.prefault({}),
  kubelet: strict({
    /** KubeletConfiguration failCgroupV1; default: the kubelet's own (refuse cgroup v1 from 1.35), false on the local backend (its machines share the host's cgroups). */
    failCgroupV1: z.boolean().optional(),
  }).prefault({}),
});

const network = strict({
  cni: z.enum(CNIS).default("cilium"),
  proxyMode: z.enum(PROXY_MODES).default("iptables"),
  ipvs: strict({ scheduler: z.enum(IPVS_SCHEDULERS).default("rr") }).optional(),
  mtu: z.number().int().min(1280).max(9001).optional(),
  /** kube-proxy conntrack.maxPerCore; default: kube-proxy's own, 0 on the local backend (a container may not raise the host's nf_conntrack_max). */
  conntrackMaxPerCore: z.number().int().min(0).max(1 << 24).optional(),
});

const etcd = strict({
  topology: z.enum(["external", "stacked"]).optional(),
  members: z.number().int().optional(),
  version: z.string().optional(),
  snapshots: strict({
    intervalHours: z.number().int().min(1).max(168).default(6),
    retain: z.number().int().min(1).max(1000).default(12),
  }).prefault({}),
});

const containerd = strict({
  version: z.string().optional(),
  /** CRI restrict_oom_score_adj; default false, true on the local backend (its machines lack CAP_SYS_RESOURCE). */
  restrictOOMScoreAdj: z.boolean().optional(),
  registryMirrors: z.record(hostOrAddress, z.array(httpUrl).min(1)).default({}),
});

const pki = strict({
  algorithm: z.enum(PKI_ALGORITHMS).default("ecdsa-p256"),
  caValidityDays: z.number().int().min(1).max(36500).default(3650),
  certValidityDays: z.number().int().min(1).max(3650).default(365),
  renewBeforeDays: z.number().int().min(0).default(30),
  rotation: z.number().int().min(0).default(0),
});

const awsInfra = strict({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: "must be an AWS region such as eu-west-1" }),
  availabilityZones: z
    .union([z.number().int().min(1).max(8), z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/)).min(1).max(8)], {
      error: "must be a zone count from 1 to 8 or a list of zone names such as eu-west-1a",
    })
    .default(3),
  vpcCIDR: cidr.default("10.0.0.0/16"),
  ami: z.string().regex(/^ami-[0-9a-f]{8,17}$/, { error: "must be an AMI id such as ami-0123456789abcdef0" }).nullable().default(null),
  instanceTypes: strict({
    etcd: z.string().min(1).default("m7i.large"),
    controlPlane: z.string().min(1).default("m7i.large"),
  }).prefault({}),
  publicApi: z.boolean().default(true),
  sshPublicKey: z
    .string()
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/, {
      error: "must be an OpenSSH public key line such as 'ssh-ed25519 AAAA... user@host'",
    }),
  sshAllowedCIDRs: z.array(cidr).default([]),
  bastion: z.boolean().default(false),
  natGateways: z.enum(["perZone", "single"]).default("perZone"),
});

const hostEntry = strict({
  name: dnsLabel(63),
  address: ipv4,
  roles: z.array(z.enum(HOST_ROLES)).min(1, { error: "needs at least one role: controlPlane, etcd or worker" }),
  pool: dnsLabel(40).optional(),
  /** Raised after the machine was reinstalled: the host's provisioning runs again. */
  reprovision: z.number().int().min(0, { error: "must be a whole number, 0 or more (raise it to provision the host again)" }).default(0),
});

const bastionHost = strict({
  host: hostOrAddress,
  user: z.string().min(1).default("ubuntu"),
  port: port.default(22),
});

const hostsInfra = strict({
  provider: z.literal("hosts"),
  hosts: z.array(hostEntry).min(1, { error: "needs at least one host" }),
  ssh: strict({
    user: z.string().min(1).default("ubuntu"),
    port: port.default(22),
    bastion: bastionHost.nullable().default(null),
  }).prefault({}),
  apiEndpoint: strict({ vip: ipv4.optional(), address: hostOrAddress.optional(), port: port.optional() }).optional(),
});

/** The local backend's bridge network when the spec names none. */
export const DEFAULT_LOCAL_SUBNET = "10.213.0.0/24";

const localInfra = strict({
  provider: z.literal("local"),
  local: strict({
    /** The bridge network: the host is its first address, machines are planned from it. */
    subnet: cidr.default(DEFAULT_LOCAL_SUBNET),
    /** Masquerade the machines' traffic out through the host's own routes (downloads on a connected host). */
    nat: z.boolean().default(true),
    /** Where debootstrap fetches the machines' Debian root file system. */
    debianMirror: httpUrl.default("http://deb.debian.org/debian"),
  }).prefault({}),
  apiEndpoint: strict({ vip: ipv4.optional(), port: port.optional() }).optional(),
});

const infrastructure = z.discriminatedUnion(
  "provider",
  [strict({ provider: z.literal("aws"), aws: awsInfra }), hostsInfra, localInfra],
  { error: "must be one of: aws, hosts, local" },
);

const artifactOverride = strict({
  name: z.enum(ARTIFACT_NAMES, { error: `must be one of: ${ARTIFACT_NAMES.join(", ")}` }),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, { error: "must be a release version such as 3.6.5 (no leading v)" }),
  arch: z.enum(ARCHES, { error: `must be one of: ${ARCHES.join(", ")}` }).default("amd64"),
  url: httpUrl,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: "must be the artifact's SHA-256: 64 lowercase hex digits" }),
});

export const clusterSpecSchema = strict({
  name: dnsLabel(40),
  kubernetes: kubernetes.prefault({}),
  network: network.prefault({}),
  etcd: etcd.prefault({}),
  controlPlane: strict({ count: z.number().int().optional() }).prefault({}),
  workers: strict({ pools: z.array(pool).optional() }).prefault({}),
  containerd: containerd.prefault({}),
  pki: pki.prefault({}),
  artifacts: strict({ mirror: httpUrl.nullable().default(null), overrides: z.array(artifactOverride).default([]) }).prefault({}),
  addons: strict({ coredns: z.boolean().default(true), metricsServer: z.boolean().default(true) }).prefault({}),
  infrastructure,
});

/** The spec after schema defaults, before context-dependent defaults. */
export type ParsedSpec = z.output<typeof clusterSpecSchema>;
export type AwsInfra = z.output<typeof awsInfra>;
export type HostsInfra = z.output<typeof hostsInfra>;
export type LocalInfra = z.output<typeof localInfra>;
export type HostEntry = z.output<typeof hostEntry>;
export type HostRole = (typeof HOST_ROLES)[number];
export type Cni = (typeof CNIS)[number];
export type ProxyMode = (typeof PROXY_MODES)[number];
