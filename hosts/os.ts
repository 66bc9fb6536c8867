// OS preparation for Kubernetes nodes: kernel modules, sysctls and swap off,
// persisted across reboots.
import type { ProxyMode } from "../spec/schema";
import { type HostFile, publicFile } from "./files";
import type { StepDraft } from "./steps";

export const MODULES_FILE = "/etc/modules-load.d/drydock.conf";
export const SYSCTL_FILE = "/etc/sysctl.d/90-drydock.conf";

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

export const SYSCTLS: Readonly<Record<string, string>> = {
  "net.ipv4.ip_forward": "1",
  "net.bridge.bridge-nf-call-iptables": "1",
  "net.bridge.bridge-nf-call-ip6tables": "1",
  "fs.inotify.max_user_watches": "524288",
  "fs.inotify.max_user_instances": "8192",
  // kubelet's protectKernelDefaults expects these kernel defaults.
  "vm.overcommit_memory": "1",
  "kernel.panic": "10",
  "kernel.panic_on_oops": "1",
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

export function osPrepStep(proxyMode: ProxyMode, ipvsScheduler: string | null): StepDraft {
  const modules = kernelModules(proxyMode, ipvsScheduler);
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
for module in ${modules.join(" ")}; do modprobe "$module"; done
sysctl --system >/dev/null
# Swap off now and after reboot.
swapoff -a
${commentOutSwap("/etc/fstab")}`,
    check: {
      command: `test "$(sysctl -n net.ipv4.ip_forward)" = 1 && test -z "$(swapon --show --noheadings)" && ${modules.map((m) => `grep -qw ${m} /proc/modules`).join(" && ")}`,
      timeoutSeconds: 30,
    },
  };
}
