// The version catalog: which versions drydock supports, where their official
// artifacts live and their SHA-256 sums. Data is the project's own copy in
// catalog-data.json; nothing here reads outside the project.
import data from "./catalog-data.json";

export const ARCHES = ["amd64", "arm64"] as const;
export type Arch = (typeof ARCHES)[number];

export const ARTIFACT_NAMES = ["kubelet", "kubectl", "etcd", "cni-plugins", "runc", "containerd", "crictl", "helm", "cilium-cli", "calico-crds", "calico-operator", "cilium-chart"] as const;
export type ArtifactName = (typeof ARTIFACT_NAMES)[number];

/** The same file for every architecture (manifests, charts): one checksum, and an override of any arch replaces it. */
export const ARCH_INDEPENDENT: readonly ArtifactName[] = ["calico-crds", "calico-operator", "cilium-chart"];
const ANY_ARCH = "any";

function checksumKey(name: ArtifactName, arch: Arch): string {
  return ARCH_INDEPENDENT.includes(name) ? ANY_ARCH : arch;
}

/** A user's own build of an artifact (patched, internal): replaces or adds one catalog entry. */
export interface ArtifactOverride {
  readonly name: ArtifactName;
  readonly version: string;
  readonly arch: Arch;
  readonly url: string;
  readonly sha256: string;
}

/** Where artifacts come from: the catalog, optionally through a mirror, and the user's overrides. */
export interface ArtifactSource {
  readonly mirror: string | null;
  readonly overrides: readonly ArtifactOverride[];
}

export const CATALOG_SOURCE: ArtifactSource = { mirror: null, overrides: [] };

export interface ArtifactRef {
  readonly name: ArtifactName;
  readonly version: string;
  readonly arch: Arch;
  readonly url: string;
  readonly sha256: string;
}

export interface CompanionVersions {
  readonly pause: string;
  readonly coredns: string;
  /** The etcd minor line this Kubernetes minor pairs with, e.g. "3.6". */
  readonly etcdLine: string;
  readonly crictl: string;
}

type ChecksumTable = Record<string, Record<string, Record<string, string>>>;
const checksums = data.checksums as ChecksumTable;
const urlTemplates = data.urlTemplates as Record<ArtifactName, string>;

/** Kubernetes minors drydock supports. */
export const KUBERNETES_MINORS = ["1.34", "1.35", "1.36"] as const;

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export { compareVersions };

export function minorOf(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}

/** Versions of an artifact that have checksums for every architecture, newest first. */
export function supportedVersions(name: ArtifactName): string[] {
  const table = checksums[name] ?? {};
  return Object.keys(table)
    .filter((v) => ARCHES.every((arch) => typeof table[v]?.[checksumKey(name, arch)] === "string"))
    .sort((a, b) => compareVersions(b, a));
}

export function kubernetesVersions(): string[] {
  const kubectl = new Set(supportedVersions("kubectl"));
  return supportedVersions("kubelet").filter(
    (v) => kubectl.has(v) && (KUBERNETES_MINORS as readonly string[]).includes(minorOf(v)),
  );
}

export function etcdVersions(): string[] {
  return supportedVersions("etcd");
}

export function containerdVersions(): string[] {
  return supportedVersions("containerd");
}

export function isSupported(name: ArtifactName, version: string): boolean {
  return supportedVersions(name).includes(version);
}

export function companionVersions(kubernetesVersion: string): CompanionVersions {
  const minor = minorOf(kubernetesVersion);
  const companions = (data.companionVersions as Record<string, { pause: string; coredns: string; etcd: string }>)[minor];
  if (!companions) throw new Error(`no companion versions for Kubernetes ${minor}`);
  const crictl = supportedVersions("crictl").find((v) => minorOf(v) === minor) ?? supportedVersions("crictl")[0]!;
  return {
    pause: companions.pause,
    coredns: companions.coredns,
    etcdLine: companions.etcd.replace(/\.x$/, ""),
    crictl,
  };
}

/** The newest etcd of the line the Kubernetes minor pairs with. */
export function defaultEtcdVersion(kubernetesVersion: string): string {
  const line = companionVersions(kubernetesVersion).etcdLine;
  const match = etcdVersions().find((v) => minorOf(v) === line);
  return match ?? etcdVersions()[0]!;
}

export function newest(name: ArtifactName): string {
  const versions = supportedVersions(name);
  if (versions.length === 0) throw new Error(`catalog has no ${name} versions`);
  return versions[0]!;
}

export const addonVersions = data.addonVersions as {
  readonly flannel: string;
  readonly "flannel-cni-plugin": string;
  readonly calico: string;
  readonly cilium: string;
  readonly "metrics-server": string;
};

/**
 * An artifact's download URL and checksum. An override for the same name,
 * version and architecture wins as given (the mirror does not apply to it).
 * With a mirror, the upstream host and scheme are replaced by the mirror base
 * and the upstream path is kept, so a mirror is a plain copy of the upstream
 * download trees.
 */
export function artifact(name: ArtifactName, version: string, arch: Arch, source: ArtifactSource = CATALOG_SOURCE): ArtifactRef {
  const override = findOverride(source.overrides, name, version, arch);
  if (override) return { name, version, arch, url: override.url, sha256: override.sha256 };
  const mirror = source.mirror;
  const sha256 = checksums[name]?.[version]?.[checksumKey(name, arch)];
  // Nothing is downloaded without a known checksum: the catalog's, or the user's override.
  if (!sha256) throw new Error(`catalog has no ${name} ${version}${ARCH_INDEPENDENT.includes(name) ? "" : ` for ${arch}`} (no known SHA-256); give it in artifacts.overrides`);
  const upstream = urlTemplates[name].replaceAll("{version}", version).replaceAll("{arch}", arch);
  return { name, version, arch, sha256, url: mirror ? mirrorUrl(upstream, mirror) : upstream };
}

/** Whether an override replaces this artifact (of any arch, for the arch-independent ones). */
export function overrideReplaces(o: ArtifactOverride, name: ArtifactName, version: string, arch: Arch): boolean {
  return o.name === name && o.version === version && (o.arch === arch || ARCH_INDEPENDENT.includes(name));
}

function findOverride(overrides: readonly ArtifactOverride[], name: ArtifactName, version: string, arch: Arch): ArtifactOverride | undefined {
  return overrides.find((o) => overrideReplaces(o, name, version, arch));
}

/** A version the catalog lists, or one every needed artifact of has an override for amd64 (drydock's host architecture). */
export function versionAvailable(names: readonly ArtifactName[], version: string, overrides: readonly ArtifactOverride[]): boolean {
  return names.every((name) => isSupported(name, version) || findOverride(overrides, name, version, "amd64") !== undefined);
}

export function mirrorUrl(upstream: string, mirror: string): string {
  const { host, pathname } = new URL(upstream);
  return `${mirror.replace(/\/+$/, "")}/${host}${pathname}`;
}
