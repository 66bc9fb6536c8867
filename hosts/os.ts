// OS preparation for Kubernetes nodes: kernel modules, sysctls and swap off,
// persisted across reboots.
import type { ProxyMode } from "../spec/schema";
import { type HostFile, publicFile } from "./files";
import type { StepDraft } from "./steps";

export const MODULES_FILE = "/etc/modules-load.d/drydock.conf";
export const SYSCTL_FILE = "/etc/sysctl.d/90-drydock.conf";
/** The kernel settings drydock changes, as they were before its first run (restored on reset). */
export const SYSCTL_BEFORE = "/usr/local/lib/drydock/sysctl-before.conf";

/** Schedulers kube-proxy's IPVS mode may use need their kernel module. */
function ipvsModules(scheduler: string): string[] {
  return ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", ...(["rr", "wrr", "sh"].includes(scheduler) ? [] : [`ip_vs_${scheduler}`]), "nf_conntrack"];
}

export function kernelModules(proxyMode: ProxyMode, ipvsScheduler: string | null): string[] {
  const modules = ["overlay", "br_netfilter"];
  if (proxyMode === "ipvs") modules.push(...ipvsModules(ipvsScheduler ?? "rr"));
  if (proxyMode === "nftables") modules.push("nf_tables");
  return modules;
}

/** What the kubelet checks with protectKernelDefaults (k8s.io/kubernetes pkg/kubelet/cm setupKernelTunables). */
export const KUBELET_KERNEL_TUNABLES: Readonly<Record<string, string>> = {
  "vm.overcommit_memory": "1",
  "vm.panic_on_oom": "0",
  "kernel.panic": "10",
  "kernel.panic_on_oops": "1",
  "kernel.keys.root_maxkeys": "1000000",
  "kernel.keys.root_maxbytes": "25000000",
};

export const SYSCTLS: Readonly<Record<string, string>> = {
  "net.ipv4.ip_forward": "1",
  "net.bridge.bridge-nf-call-iptables": "1",
  "net.bridge.bridge-nf-call-ip6tables": "1",
  "fs.inotify.max_user_watches": "524288",
  "fs.inotify.max_user_instances": "8192",
  ...KUBELET_KERNEL_TUNABLES,
};

/** Debian/Ubuntu packages each proxy mode needs on the host. */
export function osPackages(proxyMode: ProxyMode): string[] {
  const base = ["conntrack", "socat", "ethtool", "iptables", "curl", "ca-certificates"];
  if (proxyMode === "ipvs") base.push("ipset", "ipvsadm");
  if (proxyMode === "nftables") base.push("nftables");
  return base;
}

export function osFiles(proxyMode: ProxyMode, ipvsScheduler: string | null): HostFile[] {
  return [
    publicFile(MODULES_FILE, `${kernelModules(proxyMode, ipvsScheduler).join("\n")}\n`),
    publicFile(SYSCTL_FILE, Object.entries(SYSCTLS).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n"),
  ];
}

/** What os-prep puts before each swap line of fstab; the reset takes it off again. */
export const SWAP_OFF_MARK = "# drydock: swap off # ";
export const commentOutSwap = (fstab: string) => `sed -ri '/\\sswap\\s/s/^([^#])/${SWAP_OFF_MARK}\\1/' ${fstab}`;
export const restoreSwap = (fstab: string) => `sed -ri 's/^${SWAP_OFF_MARK}//' ${fstab}`;

/**
 * How to tell a kernel feature is there, loaded as a module or built in (kernels
 * without loadable modules, and containers that may not load any, have no /proc/modules entry).
 */
const FEATURE_TESTS: Readonly<Record<string, string>> = {
  overlay: "grep -qw overlay /proc/filesystems",
  br_netfilter: "test -e /proc/sys/net/bridge/bridge-nf-call-iptables",
  nf_conntrack: "test -d /proc/sys/net/netfilter",
  ip_vs: "test -d /proc/sys/net/ipv4/vs",
  nf_tables: "nft list tables >/dev/null 2>&1",
};

export function moduleTest(module: string): string {
  return FEATURE_TESTS[module] ?? `{ grep -qw "^${module}" /proc/modules 2>/dev/null || test -d /sys/module/${module} || grep -qs "/${module}.ko" "/lib/modules/$(uname -r)/modules.builtin"; }`;
}

/** Fails naming the first sysctl whose value is not drydock's (read-only keys in a container carry the host's). */
export function sysctlCheck(): string {
  return Object.entries(SYSCTLS)
    .map(([key, value]) => `{ test "$(sysctl -n ${key})" = ${value} || { echo "sysctl ${key} is $(sysctl -n ${key}), drydock needs ${value}" >&2; false; }; }`)
    .join(" && ");
}

export function osPrepStep(proxyMode: ProxyMode, ipvsScheduler: string | null): StepDraft {
  const modules = kernelModules(proxyMode, ipvsScheduler);
  const moduleChecks = modules.map((m) => `{ ${moduleTest(m)} || { echo "kernel feature ${m} is missing (modprobe ${m} failed)" >&2; false; }; }`).join(" && ");
  return {
    name: "os-prep",
    description: "kernel modules, sysctls, swap off, packages",
    triggers: [MODULES_FILE, SYSCTL_FILE],
    body: `
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s ${osPackages(proxyMode).join(" ")} >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ${osPackages(proxyMode).join(" ")}
fi
# Built-in features need no module; the check below tells what is really missing.
for module in ${modules.join(" ")}; do modprobe "$module" 2>/dev/null || true; done
# The values before drydock, once, for the reset to put back.
if [ ! -f ${SYSCTL_BEFORE} ]; then
  mkdir -p "$(dirname ${SYSCTL_BEFORE})"
  # A key this kernel does not have is left out (the loop must not fail on the last one).
  for key in ${Object.keys(SYSCTLS).join(" ")}; do if value="$(sysctl -n "$key" 2>/dev/null)"; then echo "$key = $value"; fi; done > ${SYSCTL_BEFORE}.new
  mv ${SYSCTL_BEFORE}.new ${SYSCTL_BEFORE}
fi
# Kernel-wide keys are read-only inside a container: its host sets them (the check names any that differ).
sysctl --system >/dev/null 2>&1 || true
# Swap off now and after reboot.
swapoff -a
${commentOutSwap("/etc/fstab")}
${moduleChecks}
${sysctlCheck()}`,
    check: {
      command: `test -z "$(swapon --show --noheadings)" && ${moduleChecks} && ${sysctlCheck()}`,
      timeoutSeconds: 30,
    },
  };
}
