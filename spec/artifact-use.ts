// Which artifact versions a spec installs: one answer for the hosts' install
// steps and for validating the user's artifact overrides against.
import { addonVersions, type ArtifactName, companionVersions, newest } from "./catalog";
import type { ClusterSpec } from "./normalize";

export type ArtifactVersions = Readonly<Record<Exclude<ArtifactName, "cilium-cli">, string>>;

export function artifactVersions(spec: ClusterSpec): ArtifactVersions {
  const k8s = spec.kubernetes.version;
  return {
    etcd: spec.etcd.version,
    kubelet: k8s,
    kubectl: k8s,
    containerd: spec.containerd.version,
    runc: newest("runc"),
    "cni-plugins": newest("cni-plugins"),
    crictl: companionVersions(k8s).crictl,
    helm: newest("helm"),
    "calico-crds": addonVersions.calico,
    "calico-operator": addonVersions.calico,
    "cilium-chart": addonVersions.cilium,
  };
}

/** Which artifacts only one CNI downloads. */
const CNI_ARTIFACTS: Partial<Record<ArtifactName, ClusterSpec["network"]["cni"]>> = {
  helm: "cilium",
  "cilium-chart": "cilium",
  "calico-crds": "calico",
  "calico-operator": "calico",
};

/** Every artifact the spec's hosts download. */
export function usedArtifacts(spec: ClusterSpec): { name: ArtifactName; version: string }[] {
  const versions = artifactVersions(spec);
  return (Object.keys(versions) as (keyof ArtifactVersions)[])
    .filter((name) => CNI_ARTIFACTS[name] === undefined || CNI_ARTIFACTS[name] === spec.network.cni)
    .map((name) => ({ name, version: versions[name] }));
}
