// Which pinned artifacts each role installs, and where they go.
import { artifactVersions } from "../spec/artifact-use";
import { artifact, compareVersions, type Arch } from "../spec/catalog";
import type { ClusterSpec } from "../spec/normalize";
import type { InstallItem } from "./install";

export const BIN_DIR = "/usr/local/bin";
export const RUNC_PATH = "/usr/local/sbin/runc";
export const CNI_BIN_DIR = "/opt/cni/bin";

/** etcdutl ships from etcd 3.5 on. */
export function etcdBinaries(version: string): string[] {
  return compareVersions(version, "3.5.0") >= 0 ? ["etcd", "etcdctl", "etcdutl"] : ["etcd", "etcdctl"];
}

export function etcdInstall(spec: ClusterSpec, arch: Arch): InstallItem[] {
  const version = spec.etcd.version;
  const ref = artifact("etcd", version, arch, spec.artifacts);
  const dir = `etcd-v${version}-linux-${arch}`;
  return [{ artifact: ref, layout: { kind: "tarball", members: etcdBinaries(version).map((b) => `${dir}/${b}`), stripComponents: 1, targetDir: BIN_DIR } }];
}

export function nodeInstall(spec: ClusterSpec, arch: Arch): InstallItem[] {
  const source = spec.artifacts;
  const v = artifactVersions(spec);
  return [
    { artifact: artifact("kubelet", v.kubelet, arch, source), layout: { kind: "binary", target: `${BIN_DIR}/kubelet` } },
    { artifact: artifact("kubectl", v.kubectl, arch, source), layout: { kind: "binary", target: `${BIN_DIR}/kubectl` } },
    {
      artifact: artifact("containerd", v.containerd, arch, source),
      layout: { kind: "tarball", members: ["bin/containerd", "bin/containerd-shim-runc-v2", "bin/ctr"], stripComponents: 1, targetDir: BIN_DIR },
    },
    { artifact: artifact("runc", v.runc, arch, source), layout: { kind: "binary", target: RUNC_PATH } },
    { artifact: artifact("cni-plugins", v["cni-plugins"], arch, source), layout: { kind: "tree", targetDir: CNI_BIN_DIR } },
    { artifact: artifact("crictl", v.crictl, arch, source), layout: { kind: "tarball", members: ["crictl"], targetDir: BIN_DIR } },
  ];
}
