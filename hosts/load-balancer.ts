// API load balancing without a cloud (apiEndpoint.vip): haproxy on every
// control-plane host forwards the VIP's endpoint port to every API server that
// answers /readyz; keepalived (VRRP) keeps the VIP on a host whose haproxy runs.
import { createHash } from "node:crypto";
import type { AddressPlan, PlannedHost } from "../spec/addresses";
import type { ClusterSpec } from "../spec/normalize";
import { type HostFile, publicFile } from "./files";
import { PKI_DIR } from "./pki-files";
import type { StepDraft } from "./steps";

export const HAPROXY_CONFIG_PATH = "/etc/haproxy/haproxy.cfg";
export const KEEPALIVED_TEMPLATE_PATH = "/etc/keepalived/keepalived.conf.drydock";
export const KEEPALIVED_CONFIG_PATH = "/etc/keepalived/keepalived.conf";
export const NONLOCAL_BIND_SYSCTL = "/etc/sysctl.d/91-drydock-vip.conf";
/** Replaced on the host by the interface that routes to the VIP. */
export const INTERFACE_PLACEHOLDER = "@DRYDOCK_INTERFACE@";

export interface HaproxyPaths {
  readonly caFile: string;
}

export function haproxyConfig(spec: ClusterSpec, addresses: AddressPlan, paths: HaproxyPaths = { caFile: `${PKI_DIR}/ca.crt` }): string {
  const endpoint = addresses.apiEndpoint;
  const backends = addresses.hosts.filter((h) => h.roles.includes("controlPlane"));
  return `# drydock: the Kubernetes API on ${endpoint.host}:${endpoint.port}
global
    log stdout format raw local0
    maxconn 4000

defaults
    mode tcp
    log global
    option tcplog
    option redispatch
    retries 3
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout check 5s

frontend kube-apiserver
    bind ${endpoint.host}:${endpoint.port}
    default_backend kube-apiserver

backend kube-apiserver
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # Health checks verify each API server's certificate against the cluster CA.
    default-server inter 2s fall 2 rise 2 check check-ssl verify required ca-file ${paths.caFile}
${backends.map((h) => `    server ${h.name} ${h.address}:${spec.kubernetes.apiServer.port}`).join("\n")}
`;
}

/** A VRRP router id (1-255) per cluster, so neighbouring clusters on one segment do not clash. */
export function virtualRouterId(cluster: string): number {
  return (createHash("sha256").update(cluster).digest()[0]! % 254) + 1;
}

export function keepalivedConfig(spec: ClusterSpec, addresses: AddressPlan, host: PlannedHost, iface = INTERFACE_PLACEHOLDER): string {
  const controlPlanes = addresses.hosts.filter((h) => h.roles.includes("controlPlane"));
  const priority = 150 - controlPlanes.indexOf(host);
  return `# drydock: keeps ${addresses.apiEndpoint.host} on a control-plane host whose haproxy runs
global_defs {
    router_id ${host.name}
    enable_script_security
    script_user root
}

vrrp_script chk_haproxy {
    script "/usr/bin/systemctl is-active --quiet haproxy"
    interval 2
    fall 2
    rise 2
}

vrrp_instance ${spec.name.replace(/-/g, "_")}_api {
    state BACKUP
    interface ${iface}
    virtual_router_id ${virtualRouterId(spec.name)}
    priority ${priority}
    advert_int 1
    unicast_src_ip ${host.address}
    unicast_peer {
${controlPlanes.filter((h) => h !== host).map((h) => `        ${h.address}`).join("\n")}
    }
    virtual_ipaddress {
        ${addresses.apiEndpoint.host}/32
    }
    track_script {
        chk_haproxy
    }
}
`;
}

export function loadBalancerFiles(spec: ClusterSpec, addresses: AddressPlan, host: PlannedHost): HostFile[] {
  if (addresses.apiEndpoint.kind !== "vip" || !host.roles.includes("controlPlane")) return [];
  return [
    publicFile(HAPROXY_CONFIG_PATH, haproxyConfig(spec, addresses)),
    publicFile(KEEPALIVED_TEMPLATE_PATH, keepalivedConfig(spec, addresses, host), 0o600),
    // haproxy binds the VIP on hosts that do not hold it yet.
    publicFile(NONLOCAL_BIND_SYSCTL, "net.ipv4.ip_nonlocal_bind = 1\n"),
  ];
}

/** The shell that fills in the interface routing to the VIP, as the step runs it. */
export function keepalivedInstallCommand(vip: string): string {
  return `iface="$(ip -o route get ${vip} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')"
test -n "$iface" || { echo "drydock: no interface routes to ${vip}" >&2; exit 1; }
sed "s/${INTERFACE_PLACEHOLDER}/$iface/" ${KEEPALIVED_TEMPLATE_PATH} > ${KEEPALIVED_CONFIG_PATH}.new
chmod 0600 ${KEEPALIVED_CONFIG_PATH}.new
mv -f ${KEEPALIVED_CONFIG_PATH}.new ${KEEPALIVED_CONFIG_PATH}`;
}

export function loadBalancerStep(addresses: AddressPlan, dependsOn: readonly string[]): StepDraft {
  const vip = addresses.apiEndpoint.host!;
  return {
    name: "api-load-balancer",
    description: `haproxy and keepalived for ${vip}:${addresses.apiEndpoint.port}`,
    dependsOn,
    triggers: [HAPROXY_CONFIG_PATH, KEEPALIVED_TEMPLATE_PATH, NONLOCAL_BIND_SYSCTL],
    body: `
export DEBIAN_FRONTEND=noninteractive
dpkg -s haproxy keepalived >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy keepalived; }
sysctl -q -p ${NONLOCAL_BIND_SYSCTL}
haproxy -c -q -f ${HAPROXY_CONFIG_PATH}
${keepalivedInstallCommand(vip)}
keepalived -t -f ${KEEPALIVED_CONFIG_PATH}
systemctl enable haproxy keepalived
systemctl restart haproxy keepalived`,
    check: { command: "systemctl is-active --quiet haproxy && systemctl is-active --quiet keepalived", timeoutSeconds: 60 },
  };
}
