// etcd members: one config file per member (mutual TLS on client and peer
// ports), a systemd unit, and the steps that start it and prove the quorum.
import { stringify } from "yaml";
import type { PlannedHost } from "../spec/addresses";
import type { ClusterSpec } from "../spec/normalize";
import { type HostFile, publicFile } from "./files";
import { PKI_DIR } from "./pki-files";
import type { StepDraft } from "./steps";
import { BIN_DIR } from "./artifacts";

export const ETCD_CONFIG_PATH = "/etc/etcd/etcd.conf.yml";
/** What etcd runs with: the rendered config, as the join script left it (a joining member's cluster). The rendered file is never edited, so a re-run finds it unchanged. */
export const ETCD_EFFECTIVE_CONFIG_PATH = "/etc/etcd/etcd.effective.yml";
export const ETCD_UNIT_PATH = "/etc/systemd/system/etcd.service";
export const ETCD_DATA_DIR = "/var/lib/etcd";
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const ETCD_METRICS_PORT = 2381;

/** TLS 1.2 suites with forward secrecy and AEAD (Go names). */
export const ETCD_CIPHER_SUITES = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/** Where a member keeps its files and which local address it also serves on. */
export interface EtcdPaths {
  readonly pkiDir: string;
  readonly dataDir: string;
  /** Local clients (etcdctl on the host) and metrics; tests with several members on one machine move it. */
  readonly localAddress: string;
}

const DEFAULT_PATHS: EtcdPaths = { pkiDir: `${PKI_DIR}/etcd`, dataDir: ETCD_DATA_DIR, localAddress: "127.0.0.1" };

export const etcdClientUrl = (address: string) => `https://${address}:${ETCD_CLIENT_PORT}`;
export const etcdPeerUrl = (address: string) => `https://${address}:${ETCD_PEER_PORT}`;

export function etcdMembers(hosts: readonly PlannedHost[]): PlannedHost[] {
  return hosts.filter((h) => h.roles.includes("etcd"));
}

/** The member's config file (keys as etcd's --config-file reads them). */
export function etcdConfig(spec: ClusterSpec, member: PlannedHost, members: readonly PlannedHost[], paths: EtcdPaths = DEFAULT_PATHS): Record<string, unknown> {
  const tls = (cert: string) => ({
    "cert-file": `${paths.pkiDir}/${cert}.crt`,
    "key-file": `${paths.pkiDir}/${cert}.key`,
    "client-cert-auth": true,
    "trusted-ca-file": `${paths.pkiDir}/ca.crt`,
  });
  return {
    name: member.name,
    "data-dir": paths.dataDir,
    "listen-client-urls": [...new Set([etcdClientUrl(member.address), etcdClientUrl(paths.localAddress)])].join(","),
    "advertise-client-urls": etcdClientUrl(member.address),
    "listen-peer-urls": etcdPeerUrl(member.address),
    "initial-advertise-peer-urls": etcdPeerUrl(member.address),
    "initial-cluster": members.map((m) => `${m.name}=${etcdPeerUrl(m.address)}`).join(","),
    "initial-cluster-state": "new",
    "initial-cluster-token": `drydock-${spec.name}`,
    "listen-metrics-urls": `http://${paths.localAddress}:${ETCD_METRICS_PORT}`,
    "client-transport-security": tls("server"),
    "peer-transport-security": tls("peer"),
    "tls-min-version": "TLS1.2",
    "cipher-suites": ETCD_CIPHER_SUITES,
    // A restarted or newly added member asks before campaigning, so it cannot force
    // an election on a healthy leader (the default from etcd 3.5; explicit for older).
    "pre-vote": true,
    "auto-compaction-mode": "periodic",
    "auto-compaction-retention": "8h",
    "snapshot-count": 10000,
    "quota-backend-bytes": 8 * 1024 ** 3,
    logger: "zap",
    "log-outputs": ["stderr"],
  };
}

export function etcdUnit(configPath = ETCD_EFFECTIVE_CONFIG_PATH, binDir = BIN_DIR): string {
  return `[Unit]
Description=etcd key-value store (drydock)
Documentation=https://etcd.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
ExecStart=${binDir}/etcd --config-file=${configPath}
Restart=always
RestartSec=5s
LimitNOFILE=65536
TimeoutStartSec=0

[Install]
WantedBy=multi-user.target
`;
}

export function etcdFiles(spec: ClusterSpec, member: PlannedHost, members: readonly PlannedHost[]): HostFile[] {
  return [
    publicFile(ETCD_CONFIG_PATH, stringify(etcdConfig(spec, member, members)), 0o600),
    publicFile(ETCD_UNIT_PATH, etcdUnit()),
  ];
}

/** etcdctl with the member's healthcheck client certificate against its local client URL. */
export function etcdctl(args: string, endpoints = etcdClientUrl("127.0.0.1")): string {
  const pki = `${PKI_DIR}/etcd`;
  return `ETCDCTL_API=3 ${BIN_DIR}/etcdctl --endpoints=${endpoints} --cacert=${pki}/ca.crt --cert=${pki}/healthcheck-client.crt --key=${pki}/healthcheck-client.key --dial-timeout=3s --command-timeout=5s ${args}`;
}

/**
 * The member's readiness before the next member may restart: when another member
 * answers healthy (a quorum exists), this member must be healthy too; when none
 * does (the cluster's first bring-up), running is enough. So members start, and
 * restart on a change or upgrade, one at a time without losing quorum.
 */
export function etcdMemberReadyCheck(others: readonly PlannedHost[]): string {
  const active = `case "$(systemctl show -p ActiveState --value etcd)" in active|activating) ;; *) exit 1;; esac`;
  const lines = [
    active,
    `if ${etcdctl("endpoint health")} >/dev/null 2>&1; then exit 0; fi`,
    ...others.map((m) => `if ${etcdctl("endpoint health", etcdClientUrl(m.address))} >/dev/null 2>&1; then echo "etcd: a quorum answers at ${m.name} but this member is not healthy yet" >&2; exit 1; fi`),
    "exit 0",
  ];
  return lines.join("\n");
}

/**
 * `prepare` runs before etcd starts (joining a running cluster when the member is
 * new). `dependsOn` holds the previous member's start: members go one at a time.
 */
export function etcdStartStep(dependsOn: readonly string[], others: readonly PlannedHost[], prepare = "true"): StepDraft {
  return {
    name: "etcd-start",
    description: "start the etcd member, ready before the next member starts",
    dependsOn,
    triggers: [ETCD_CONFIG_PATH, ETCD_UNIT_PATH, `${PKI_DIR}/etcd/server.crt`, `${PKI_DIR}/etcd/peer.crt`],
    body: `
${prepare}
install -d -m 0700 ${ETCD_DATA_DIR}
systemctl daemon-reload
systemctl enable etcd
systemctl restart etcd --no-block`,
    check: { command: etcdMemberReadyCheck(others), timeoutSeconds: 300 },
  };
}

export function etcdHealthyStep(dependsOn: readonly string[]): StepDraft {
  return {
    name: "etcd-healthy",
    description: "every etcd member healthy over mutual TLS",
    dependsOn,
    body: etcdctl("endpoint health --cluster"),
    check: { command: etcdctl("endpoint health --cluster"), timeoutSeconds: 300 },
  };
}
