// Which pinned artifacts each role installs, and where they go.
import { artifact, companionVersions, newest, type Arch } from "../spec/catalog";
import type { ClusterSpec } from "../spec/normalize";
import type { InstallItem } from "./install";

export const BIN_DIR = "/usr/local/bin";
export const RUNC_PATH = "/usr/local/sbin/runc";
export const CNI_BIN_DIR = "/opt/cni/bin";

export function etcdInstall(spec: ClusterSpec, arch: Arch): InstallItem[] {
  const ref = artifact("etcd", spec.etcd.version, arch, spec.artifacts.mirror);
  const dir = `etcd-v${spec.etcd.version}-linux-${arch}`;
  return [{ artifact: ref, layout: { kind: "tarball", members: ["etcd", "etcdctl", "etcdutl"].map((b) => `${dir}/${b}`), stripComponents: 1, targetDir: BIN_DIR } }];
}

export function nodeInstall(spec: ClusterSpec, arch: Arch): InstallItem[] {
  const mirror = spec.artifacts.mirror;
  const k8s = spec.kubernetes.version;
  return [
    { artifact: artifact("kubelet", k8s, arch, mirror), layout: { kind: "binary", target: `${BIN_DIR}/kubelet` } },
    { artifact: artifact("kubectl", k8s, arch, mirror), layout: { kind: "binary", target: `${BIN_DIR}/kubectl` } },
    {
      artifact: artifact("containerd", spec.containerd.version, arch, mirror),
      layout: { kind: "tarball", members: ["bin/containerd", "bin/containerd-shim-runc-v2", "bin/ctr"], stripComponents: 1, targetDir: BIN_DIR },
    },
    { artifact: artifact("runc", newest("runc"), arch, mirror), layout: { kind: "binary", target: RUNC_PATH } },
    { artifact: artifact("cni-plugins", newest("cni-plugins"), arch, mirror), layout: { kind: "tree", targetDir: CNI_BIN_DIR } },
    { artifact: artifact("crictl", companionVersions(k8s).crictl, arch, mirror), layout: { kind: "tarball", members: ["crictl"], targetDir: BIN_DIR } },
  ];
}
