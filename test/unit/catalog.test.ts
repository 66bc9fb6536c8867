import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ARCHES,
  artifact,
  companionVersions,
  kubernetesVersions,
  KUBERNETES_MINORS,
  minorOf,
  mirrorUrl,
  supportedVersions,
  type ArtifactName,
} from "../../spec/catalog";
import { validateSpec } from "../../spec";
import { FIXTURES, hostsBase } from "../helpers";

// The upstream checksum list, copied into the fixtures: the catalog must agree with it.
const upstream = JSON.parse(readFileSync(join(FIXTURES, "upstream", "artifact-checksums.json"), "utf8"));
const NAMES: ArtifactName[] = ["kubelet", "kubectl", "etcd", "cni-plugins", "runc", "containerd", "crictl", "helm", "cilium-cli"];

test("every catalog checksum matches the upstream list", () => {
  let checked = 0;
  for (const name of NAMES) {
    for (const version of supportedVersions(name)) {
      for (const arch of ARCHES) {
        const ref = artifact(name, version, arch);
        assert.match(ref.sha256, /^[0-9a-f]{64}$/);
        assert.equal(ref.sha256, upstream.checksums[name][version][arch], `${name} ${version} ${arch}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 200);
});

test("Kubernetes 1.34 to 1.36 are supported, newest first", () => {
  const versions = kubernetesVersions();
  assert.deepEqual([...new Set(versions.map(minorOf))], ["1.36", "1.35", "1.34"]);
  assert.equal(versions[0], "1.36.4");
  for (const minor of KUBERNETES_MINORS) {
    const c = companionVersions(`${minor}.0`);
    assert.match(c.pause, /^3\.\d+(\.\d+)?$/);
    assert.match(c.coredns, /^1\.\d+\.\d+$/);
    assert.equal(minorOf(c.crictl), minor);
  }
});

test("download URLs follow the official layouts", () => {
  assert.equal(artifact("kubelet", "1.36.4", "amd64").url, "https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubelet");
  assert.equal(artifact("etcd", "3.6.14", "arm64").url, "https://github.com/etcd-io/etcd/releases/download/v3.6.14/etcd-v3.6.14-linux-arm64.tar.gz");
  assert.equal(artifact("containerd", "2.3.4", "amd64").url, "https://github.com/containerd/containerd/releases/download/v2.3.4/containerd-2.3.4-linux-amd64.tar.gz");
  assert.throws(() => artifact("etcd", "9.9.9", "amd64"), /no etcd 9\.9\.9/);
});

test("a mirror keeps the upstream host and path under its base", () => {
  const ref = artifact("runc", "1.4.3", "amd64", { mirror: "http://mirror.internal/k8s/", overrides: [] });
  assert.equal(ref.url, "http://mirror.internal/k8s/github.com/opencontainers/runc/releases/download/v1.4.3/runc.amd64");
  assert.equal(ref.sha256, artifact("runc", "1.4.3", "amd64").sha256);
  assert.equal(mirrorUrl("https://dl.k8s.io/release/v1/x", "https://m.example"), "https://m.example/dl.k8s.io/release/v1/x");
});

test("an override replaces or adds one catalog entry, for its architecture only, mirror or not", () => {
  const sha256 = "a".repeat(64);
  const source = {
    mirror: "http://mirror.internal/",
    overrides: [
      { name: "etcd", version: "3.4.23", arch: "amd64", url: "http://builds.internal/etcd-v3.4.23-linux-amd64.tar.gz", sha256 },
      { name: "runc", version: "1.4.3", arch: "amd64", url: "http://builds.internal/runc-patched", sha256 },
    ],
  } as const;
  assert.deepEqual(artifact("etcd", "3.4.23", "amd64", source), { name: "etcd", version: "3.4.23", arch: "amd64", url: "http://builds.internal/etcd-v3.4.23-linux-amd64.tar.gz", sha256 });
  assert.equal(artifact("runc", "1.4.3", "amd64", source).url, "http://builds.internal/runc-patched");
  // The other architecture still comes from the catalog, through the mirror.
  assert.equal(artifact("runc", "1.4.3", "arm64", source).sha256, artifact("runc", "1.4.3", "arm64").sha256);
  assert.match(artifact("runc", "1.4.3", "arm64", source).url, /^http:\/\/mirror\.internal\/github\.com\//);
  assert.throws(() => artifact("etcd", "3.4.23", "arm64", source), /no etcd 3\.4\.23 for arm64/);
});

test("Calico's manifests and Cilium's chart are pinned: one SHA-256 for every arch, the mirror applies, an override of any arch replaces it", () => {
  const pinned: [ArtifactName, string, string, string][] = [
    ["calico-crds", "3.31.7", "https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/operator-crds.yaml", "380414d5756e9a1af29ddb1ad70cada07aa344ae7a2680ba7355248621f8adbf"],
    ["calico-operator", "3.31.7", "https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/tigera-operator.yaml", "092c10b3d0cb73617aca51367ca59755348f4647e6d2e63fa4e5b81266203214"],
    ["cilium-chart", "1.20.1", "https://helm.cilium.io/cilium-1.20.1.tgz", "06210eef7c23d15f7699c79e2fe3a1ec9c389024c5c5c006ea04022d322449a2"],
  ];
  for (const [name, version, url, sha256] of pinned) {
    assert.deepEqual(supportedVersions(name), [version]);
    for (const arch of ARCHES) assert.deepEqual({ url: artifact(name, version, arch).url, sha256: artifact(name, version, arch).sha256 }, { url, sha256 });
    assert.equal(artifact(name, version, "amd64", { mirror: "http://m.internal", overrides: [] }).url, `http://m.internal/${url.replace(/^https:\/\//, "")}`);
    const own = { name, version, arch: "arm64", url: "http://builds.internal/own", sha256: "b".repeat(64) } as const;
    assert.equal(artifact(name, version, "amd64", { mirror: null, overrides: [own] }).url, "http://builds.internal/own");
    assert.throws(() => artifact(name, "0.0.1", "amd64"), /no known SHA-256\); give it in artifacts\.overrides/);
  }
  const spec = hostsBase();
  spec.network = { cni: "calico" };
  spec.artifacts = {
    overrides: [
      { name: "calico-operator", version: "3.31.7", arch: "amd64", url: "http://b.internal/a", sha256: "c".repeat(64) },
      { name: "calico-operator", version: "3.31.7", arch: "arm64", url: "http://b.internal/b", sha256: "c".repeat(64) },
      { name: "cilium-chart", version: "1.20.1", url: "http://b.internal/c", sha256: "c".repeat(64) },
    ],
  };
  const result = validateSpec(spec);
  assert.ok(!result.ok);
  assert.deepEqual(
    result.problems.map((p) => `${p.path}: ${p.message}`),
    ["artifacts.overrides[1]: calico-operator 3.31.7 (any arch) is overridden twice", "artifacts.overrides[2]: cilium-chart 1.20.1 is not used by this spec; it uses no cilium-chart"],
  );
});
