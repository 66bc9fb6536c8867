// The host side of the local backend: what it needs, the kernel settings its
// kubelets check (global, so set here and restored on destroy), and the bridge
// the machines share, with NAT out when asked.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { KUBELET_KERNEL_TUNABLES, SYSCTLS } from "../hosts/os";
import { hasProgram, run, runOk } from "./run";

/** What the host must have before anything is created; one line per problem. */
export function hostProblems(): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push("the local backend creates machines and networks: run pulumi as root");
  for (const program of ["systemd-nspawn", "debootstrap", "ip", "iptables", "mount", "chroot"]) {
    if (!hasProgram(program)) problems.push(`${program} is not installed (Debian/Ubuntu: apt-get install systemd-container debootstrap iproute2 iptables)`);
  }
  if (!existsSync("/sys/fs/cgroup")) problems.push("/sys/fs/cgroup is not mounted");
  return problems;
}

/** Kernel settings that are not per network namespace: the machines' kubelets check them, so the host carries them. */
export function hostWideSysctls(nat: boolean): Record<string, string> {
  const fromOsPrep = Object.fromEntries(Object.entries(SYSCTLS).filter(([key]) => !key.startsWith("net.")));
  return { ...fromOsPrep, ...KUBELET_KERNEL_TUNABLES, ...(nat ? { "net.ipv4.ip_forward": "1" } : {}) };
}

const sysctlPath = (key: string) => `/proc/sys/${key.replaceAll(".", "/")}`;

export function readSysctl(key: string): string {
  return readFileSync(sysctlPath(key), "utf8").trim();
}

/** Sets what differs; returns the previous values of what it changed (restoreSysctls puts them back). */
export function applySysctls(wanted: Record<string, string>): Record<string, string> {
  const previous: Record<string, string> = {};
  for (const [key, value] of Object.entries(wanted)) {
    const current = readSysctl(key);
    if (current === value) continue;
    writeFileSync(sysctlPath(key), value);
    previous[key] = current;
  }
  return previous;
}

export function restoreSysctls(previous: Record<string, string>): void {
  for (const [key, value] of Object.entries(previous)) writeFileSync(sysctlPath(key), value);
}

/** Interface names are at most 15 characters: a short digest keeps clusters apart. */
export function shortId(...parts: string[]): string {
  return createHash("sha256").update(parts.join("/")).digest("hex").slice(0, 8);
}

export function bridgeName(cluster: string): string {
  return `ddbr-${shortId(cluster)}`;
}

export interface LocalNetwork {
  readonly cluster: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly prefix: number;
  readonly nat: boolean;
}

/** iptables rules, each tagged with the cluster so removal touches only ours. */
function rules(net: LocalNetwork): string[][] {
  const tag = ["-m", "comment", "--comment", `drydock-local:${net.cluster}`];
  return [
    // Bridged traffic passes the host's FORWARD chain (br_netfilter): let machine-to-machine through.
    ["filter", "FORWARD", "-i", net.bridge, "-o", net.bridge, "-j", "ACCEPT", ...tag],
    ...(net.nat
      ? [
          ["filter", "FORWARD", "-i", net.bridge, "!", "-o", net.bridge, "-j", "ACCEPT", ...tag],
          ["filter", "FORWARD", "-o", net.bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT", ...tag],
          ["nat", "POSTROUTING", "-s", net.subnet, "!", "-o", net.bridge, "-j", "MASQUERADE", ...tag],
        ]
      : []),
  ];
}

export function subnetInUse(subnet: string, bridge: string): string | null {
  const routes = run("ip", ["-o", "route", "show", "to", "match", subnet.split("/")[0]!]).stdout;
  const clash = routes.split("\n").find((line) => line.startsWith(subnet) && !line.includes(` dev ${bridge} `));
  return clash ?? null;
}

export function createNetwork(net: LocalNetwork): void {
  if (run("ip", ["link", "show", net.bridge]).code !== 0) {
    const clash = subnetInUse(net.subnet, net.bridge);
    if (clash) throw new Error(`infrastructure.local.subnet: ${net.subnet} is already routed on this host (${clash.trim()}); pick a free subnet`);
    runOk("ip", ["link", "add", net.bridge, "type", "bridge"]);
  }
  run("ip", ["addr", "add", `${net.gateway}/${net.prefix}`, "dev", net.bridge]);
  runOk("ip", ["link", "set", net.bridge, "up"]);
  for (const [table, chain, ...rule] of rules(net)) {
    if (run("iptables", ["-t", table!, "-C", chain!, ...rule]).code !== 0) runOk("iptables", ["-t", table!, "-I", chain!, ...rule]);
  }
}

export function networkExists(net: Pick<LocalNetwork, "bridge">): boolean {
  return run("ip", ["link", "show", net.bridge]).code === 0;
}

export function removeNetwork(net: LocalNetwork): void {
  for (const [table, chain, ...rule] of rules(net)) {
    for (let i = 0; i < 10 && run("iptables", ["-t", table!, "-C", chain!, ...rule]).code === 0; i++) run("iptables", ["-t", table!, "-D", chain!, ...rule]);
  }
  run("ip", ["link", "del", net.bridge]);
}
