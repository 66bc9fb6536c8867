// The cluster's binaries as an air-gapped site serves them: the toolchain's builds packed
// in the upstream release layouts, under an artifacts.mirror folder that mirrors the
// upstream URLs, with one artifacts.overrides entry (URL, SHA-256) per artifact. The
// machines download and verify them exactly as they would the official releases.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { mirrorUrl } from "../../spec/catalog";
import { binaryPath } from "../toolchain/build";
import { runOk } from "../integration/helpers";

export interface Override {
  readonly name: string;
  readonly version: string;
  readonly arch: "amd64";
  readonly url: string;
  readonly sha256: string;
}

export interface Versions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly containerd: string;
  readonly runc: string;
  readonly cniPlugins: string;
  readonly crictl: string;
}

const node = (name: string) => binaryPath(name, "node");
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Puts one artifact where the mirror serves its upstream URL; returns its override. */
function place(dir: string, mirror: string, name: string, version: string, upstream: string, make: (target: string) => void): Override {
  const url = mirrorUrl(upstream, mirror);
  const target = join(dir, new URL(url).pathname.slice(new URL(mirror).pathname.length));
  mkdirSync(dirname(target), { recursive: true });
  make(target);
  return { name, version, arch: "amd64", url, sha256: sha256(target) };
}

/**
 * kubelet and kubectl of one version into the mirror at dir: the toolchain's builds linked under
 * kubeDir, except the cluster's own kubectl ("node"), which is the tests' kubectl in bin.
 */
export function packKubernetes(dir: string, mirror: string, version: string, kubeDir: string): Override[] {
  return ["kubelet", "kubectl"].map((name) =>
    place(dir, mirror, name, version, `https://dl.k8s.io/release/v${version}/bin/linux/amd64/${name}`, (t) => copyFileSync(binaryPath(name, name === "kubectl" && kubeDir === "node" ? "bin" : kubeDir), t)),
  );
}

/** Packs every artifact under dir (the mirror's root); returns the overrides that point at them through mirror. */
export function packArtifacts(dir: string, mirror: string, v: Versions): Override[] {
  rmSync(dir, { recursive: true, force: true });
  const overrides: Override[] = packKubernetes(dir, mirror, v.kubernetes, "node");
  const work = join(dir, ".work");
  const add = (name: string, version: string, upstream: string, make: (target: string) => void) => overrides.push(place(dir, mirror, name, version, upstream, make));
  const tarball = (target: string, root: string, files: Record<string, string>) => {
    rmSync(work, { recursive: true, force: true });
    for (const [member, source] of Object.entries(files)) {
      mkdirSync(dirname(join(work, root, member)), { recursive: true });
      copyFileSync(source, join(work, root, member));
    }
    // Members named as upstream names them: "crictl", "bridge", "bin/ctr" (no leading "./").
    runOk("tar", ["-C", work, "--owner=0", "--group=0", "-czf", target, ...(root === "" ? Object.keys(files) : [root])]);
  };

  add("runc", v.runc, `https://github.com/opencontainers/runc/releases/download/v${v.runc}/runc.amd64`, (t) => copyFileSync(node("runc"), t));
  add("containerd", v.containerd, `https://github.com/containerd/containerd/releases/download/v${v.containerd}/containerd-${v.containerd}-linux-amd64.tar.gz`, (t) =>
    tarball(t, "bin", { containerd: node("containerd"), "containerd-shim-runc-v2": node("containerd-shim-runc-v2"), ctr: node("ctr") }),
  );
  const etcdDir = `etcd-v${v.etcd}-linux-amd64`;
  add("etcd", v.etcd, `https://github.com/etcd-io/etcd/releases/download/v${v.etcd}/${etcdDir}.tar.gz`, (t) =>
    tarball(t, etcdDir, { etcd: node("etcd"), etcdctl: node("etcdctl"), etcdutl: node("etcdutl") }),
  );
  add("cni-plugins", v.cniPlugins, `https://github.com/containernetworking/plugins/releases/download/v${v.cniPlugins}/cni-plugins-linux-amd64-v${v.cniPlugins}.tgz`, (t) =>
    tarball(t, "", Object.fromEntries(["bridge", "loopback", "host-local", "portmap"].map((p) => [p, binaryPath(p, "cni")]))),
  );
  add("crictl", v.crictl, `https://github.com/kubernetes-sigs/cri-tools/releases/download/v${v.crictl}/crictl-v${v.crictl}-linux-amd64.tar.gz`, (t) =>
    tarball(t, "", { crictl: node("crictl") }),
  );
  rmSync(work, { recursive: true, force: true });
  return overrides;
}
