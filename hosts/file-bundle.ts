// A host's files as one bash script read from stdin: contents never appear on a
// command line, and each file is written atomically with its mode and owner.
import { createHash } from "node:crypto";
import { SNAPSHOT_DIR } from "./etcd-backup";
import { type HostFile, publicFile } from "./files";
import { KEEPALIVED_CONFIG_PATH } from "./load-balancer";
import { BIN_DIR, CNI_BIN_DIR } from "./artifacts";
import { CONTAINERD_SOCKET } from "./containerd";
import { INSTALLED_DIR } from "./install";
import { restoreSwap, SYSCTL_BEFORE } from "./os";
import { shellQuote as q } from "./shell";

export const DRYDOCK_PATHS_LIST = "/usr/local/lib/drydock/files.list";
/** Next to a file drydock replaced: the host's own version, restored on reset. */
export const ORIGINAL_SUFFIX = ".drydock-orig";


export function fileBundleScript(files: readonly HostFile[]): string {
  const lines = [
    "set -euo pipefail",
    "umask 077",
    // DRYDOCK_ROOT (default /) prefixes every path, so tests write into a temporary root.
    'root="${DRYDOCK_ROOT:-}"',
    // A file already as rendered (content, mode, owner) is left alone: a re-run changes nothing.
    `list="$root"${q(DRYDOCK_PATHS_LIST)}`,
    'put() { local path="$root$1" mode="$2" owner="$3" tmp; mkdir -p "$(dirname "$path")"; tmp="$path.drydock-new"; base64 -d > "$tmp"; chmod "$mode" "$tmp"; chown "$owner" "$tmp";',
    // A file that was there before drydock (a package's config) is kept aside, for reset to put back.
    `  if [ -f "$path" ] && [ ! -e "$path${ORIGINAL_SUFFIX}" ] && ! grep -qxF "$1" "$list" 2>/dev/null; then cp -a "$path" "$path${ORIGINAL_SUFFIX}"; fi`,
    '  if [ -f "$path" ] && cmp -s "$tmp" "$path" && [ "$(stat -c %a:%U:%G "$tmp")" = "$(stat -c %a:%U:%G "$path")" ]; then rm -f "$tmp"; else mv -f "$tmp" "$path"; fi; }',
  ];
  // Last, the list of what drydock wrote, for a clean reset.
  const list = publicFile(DRYDOCK_PATHS_LIST, `${files.map((f) => f.path).join("\n")}\n`);
  for (const f of [...files, list]) {
    lines.push(`put ${q(f.path)} ${f.mode.toString(8).padStart(4, "0")} ${q(f.owner)} <<'DRYDOCK_EOF'`);
    lines.push(Buffer.from(f.content, "utf8").toString("base64").replace(/.{76}/g, "$&\n").replace(/\n$/, ""));
    lines.push("DRYDOCK_EOF");
  }
  return `${lines.join("\n")}\n`;
}

/** A digest of the files a step reads: a change re-runs the step (and restarts its service). */
export function filesDigest(files: readonly HostFile[], paths: readonly string[]): string {
  const hash = createHash("sha256");
  for (const path of [...paths].sort()) {
    const f = files.find((x) => x.path === path);
    hash.update(`${path}\0${f ? f.content : ""}\0`);
  }
  return hash.digest("hex");
}

/** Folders only the cluster uses: removed whole on reset. */
const RESET_DIRS = [
  "/etc/kubernetes", "/var/lib/kubelet", "/usr/libexec/kubernetes", "/var/lib/etcd", SNAPSHOT_DIR, "/etc/etcd",
  "/etc/containerd", "/var/lib/containerd", "/run/containerd", "/opt/containerd",
  "/etc/cni/net.d", "/var/lib/cni", "/run/flannel", "/var/lib/calico", "/run/calico", "/var/lib/cilium", "/run/cilium",
  "/var/log/pods", "/var/log/containers", "/var/log/calico", "/var/log/kubernetes",
  "/usr/local/lib/drydock", "/var/lib/drydock",
];

/** Plugins flannel's, Calico's and Cilium's DaemonSets install into the node's CNI folder. */
const CNI_DAEMONSET_PLUGINS = ["flannel", "calico", "calico-ipam", "cilium-cni"];

/** Interfaces the CNIs and kube-proxy create on a node (calico's cali* and cilium's lxc* veths go with their pods). */
const CLUSTER_LINKS = ["cni0", "flannel.1", "kube-ipvs0", "vxlan.calico", "cilium_host", "cilium_net", "cilium_vxlan"];
/** iptables chains kube-proxy and the CNIs create, by prefix. */
const CLUSTER_CHAIN = "(KUBE-|CNI-|FLANNEL-|cali-|CILIUM_)";

/**
 * Removes what a running cluster left in the node's network: the CNIs' and kube-proxy's
 * interfaces, their iptables chains and the rules that jump to them (other rules stay), and
 * kube-proxy's nftables tables. Each part is skipped when its tool is missing.
 */
export function resetNetworkScript(): string {
  // kube-proxy's IPVS mode: its own cleanup (kube-proxy --cleanup) flushes every virtual server,
  // as kubeadm's reset advice does; only where it ran (its kube-ipvs0 device is there).
  return `if ip link show kube-ipvs0 >/dev/null 2>&1 && command -v ipvsadm >/dev/null 2>&1; then ipvsadm --clear 2>/dev/null || true; fi
for link in ${CLUSTER_LINKS.join(" ")} $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^cali[0-9a-f]+$' || true); do
  ip link del "$link" 2>/dev/null || true
done
cluster_rule='(^:|-A |-j |--jump |-g |--goto )${CLUSTER_CHAIN}'
for tool in iptables ip6tables; do
  command -v "$tool-save" >/dev/null 2>&1 && command -v "$tool-restore" >/dev/null 2>&1 || continue
  rules="$("$tool-save" 2>/dev/null)" || continue
  if grep -qE "$cluster_rule" <<<"$rules"; then grep -vE "$cluster_rule" <<<"$rules" | "$tool-restore" || true; fi
done
if command -v nft >/dev/null 2>&1; then
  for family in ip ip6; do nft delete table "$family" kube-proxy 2>/dev/null || true; done
fi
# kube-proxy's ip sets, once no rule refers to them.
if command -v ipset >/dev/null 2>&1; then
  for set in $(ipset list -n 2>/dev/null | grep -E '^KUBE-' || true); do ipset destroy "$set" 2>/dev/null || true; done
fi`;
}

/** Leaves a host as it was before drydock: services stopped and disabled, files and data removed, replaced files restored. */
export function resetScript(): string {
  return `set -uo pipefail
# The kubelet first, so it recreates nothing; then the pods it ran (containerd stops with
# KillMode=process, which would leave their shims and containers running).
if systemctl list-unit-files kubelet.service >/dev/null 2>&1; then systemctl disable --now kubelet.service 2>/dev/null || true; fi
if [ -x ${BIN_DIR}/crictl ] && [ -S ${CONTAINERD_SOCKET} ]; then
  ${BIN_DIR}/crictl --runtime-endpoint unix://${CONTAINERD_SOCKET} rmp --all --force >/dev/null 2>&1 || true
fi
# The pods' cgroups (systemd slices the kubelet made, and what cgroup v1 controllers keep of them).
systemctl stop kubepods.slice 2>/dev/null || true
find /sys/fs/cgroup -depth -type d -name 'kubepods*' -exec rmdir {} + 2>/dev/null || true
for unit in containerd.service etcd.service etcd-snapshot.timer drydock-pod-routes.service keepalived.service haproxy.service; do
  if systemctl list-unit-files "$unit" >/dev/null 2>&1; then systemctl disable --now "$unit" 2>/dev/null || true; fi
done
# What the kubelet and containerd mounted (volumes, projected tokens, container root file systems,
# pod network namespaces), deepest first, before their folders go.
findmnt -rn -o TARGET 2>/dev/null | grep -E '^(/var/lib/kubelet/|/run/containerd/|/var/lib/containerd/|/run/netns/cni-)' | sort -r | while IFS= read -r mount; do umount -l "$mount" 2>/dev/null || true; done
rm -f /run/netns/cni-*
${resetNetworkScript()}
# Kernel settings as they were before drydock's first run.
if [ -f ${SYSCTL_BEFORE} ]; then sysctl -q -p ${SYSCTL_BEFORE} >/dev/null 2>&1 || true; fi
# Swap as it was: the lines os-prep commented out, and on again (FSTAB: another file, for tests).
${restoreSwap('"\${FSTAB:-/etc/fstab}"')} 2>/dev/null || true
if [ -z "\${FSTAB:-}" ] && grep -qE '^[^#].*\\sswap\\s' /etc/fstab 2>/dev/null; then swapon -a 2>/dev/null || true; fi
if [ -f ${DRYDOCK_PATHS_LIST} ]; then
  while IFS= read -r path; do
    if [ -e "$path${ORIGINAL_SUFFIX}" ]; then mv -f "$path${ORIGINAL_SUFFIX}" "$path"; else rm -f "$path"; fi
  done < ${DRYDOCK_PATHS_LIST}
fi
# Written by steps rather than sent: keepalived's config (filled in with the host's interface).
rm -f ${KEEPALIVED_CONFIG_PATH}
# Every file an install step put on the host (binaries, the CNI plugins, upstream manifests), by its list.
for list in ${INSTALLED_DIR}/*.files; do
  [ -f "$list" ] || continue
  while IFS= read -r path; do rm -f "$path"; done < "$list"
done
# CNI plugins the CNIs' own DaemonSets copied in.
rm -f ${CNI_DAEMONSET_PLUGINS.map((p) => `${CNI_BIN_DIR}/${p}`).join(" ")}
rmdir ${CNI_BIN_DIR} /opt/cni 2>/dev/null || true
# Data and state: the cluster's, the runtime's (containerd's opt plugin, the kubelet's plugin folder),
# the CNIs' (IPAM leases, their own state) and the pods' logs. A folder that is a mount point (its
# own disk) is emptied and kept.
for dir in ${RESET_DIRS.join(" ")}; do
  if mountpoint -q "$dir" 2>/dev/null; then find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true; else rm -rf "$dir"; fi
done
rmdir /etc/cni 2>/dev/null || true
systemctl daemon-reload || true
`;
}
