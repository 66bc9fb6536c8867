// The cluster's container images, built here from the toolchain's binaries with umoci
// (OCI layout) and pushed with skopeo into a registry (Debian's docker-registry) whose
// storage is cached outside the repository, keyed by what went into the images. The
// machines pull them through drydock's containerd registryMirrors for registry.k8s.io.
//
// What each image is built from:
//   pause          pause.c from k8s.io/kubernetes (build/pause/linux), gcc -static, as upstream
//   kube-apiserver, kube-controller-manager, kube-scheduler   the static Go binary in /usr/local/bin
//   kube-proxy     the local machines' Debian root file system (iptables, nftables, ipset,
//                  conntrack) with kube-proxy in /usr/local/bin (upstream: Debian base + the same tools)
//   coredns        the static Go binary as /coredns, user 65532 (upstream: distroless nonroot)
//   metrics-server the static Go binary as /metrics-server, user 65534 (upstream: distroless static)
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryPath, binarySpecs, TOOLCHAIN_DIR } from "../toolchain/build";
import { runOk } from "../integration/helpers";

export const IMAGE_CACHE = process.env.DRYDOCK_IMAGE_CACHE ?? "/var/cache/drydock-cluster";
export const REGISTRY_STORAGE = join(IMAGE_CACHE, "registry");
/** Bump when a recipe below changes. */
const RECIPE_REVISION = 2;

export interface Image {
  /** Repository under registry.k8s.io and tag. */
  readonly repository: string;
  readonly tag: string;
  /** Files copied in: target path → source file (mode 0755 unless modes says otherwise). */
  readonly files: Record<string, string>;
  readonly modes?: Record<string, number>;
  /** Files written: target path → text. */
  readonly contents?: Record<string, string>;
  /** Symbolic links: target path → what it points to. */
  readonly links?: Record<string, string>;
  /** Folders made (mode 0755). */
  readonly folders?: string[];
  /** A root file system copied in as the first layer. */
  readonly base?: string;
  /** An earlier image of the same set this one adds a layer to (its layers are shared). */
  readonly from?: string;
  /** false: only a base for others, not pushed. */
  readonly push?: boolean;
  readonly entrypoint?: string[];
  readonly cmd?: string[];
  readonly user?: string;
}

/** The image's tag in the OCI layout. */
const layoutTag = (image: Pick<Image, "repository" | "tag">) => `${image.repository}-${image.tag}`.replace(/[^A-Za-z0-9._-]/g, "-");

export function imageName(image: Pick<Image, "repository" | "tag">): string {
  return `${image.repository}:${image.tag}`;
}

export interface ImageVersions {
  readonly kubernetes: string;
  readonly pause: string;
  readonly coredns: string;
  readonly metricsServer: string;
}

/** The k8s.io/kubernetes source the toolchain's kubernetes module pins (Go's module cache). */
export function kubernetesSourceDir(): string {
  return runOk("go", ["-C", join(TOOLCHAIN_DIR, "kubernetes"), "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"]).trim();
}

function pauseBinary(work: string, pause: string): string {
  const dir = kubernetesSourceDir();
  const out = join(work, "pause");
  // As build/pause/Makefile: CFLAGS = -Os -Wall -Werror -static -DVERSION=v$(TAG)-$(REV)
  runOk("gcc", ["-Os", "-Wall", "-Werror", "-static", `-DVERSION=v${pause}-0`, "-o", out, join(dir, "build/pause/linux/pause.c")]);
  return out;
}

/** The images of one Kubernetes version's control plane and kube-proxy, from the toolchain's binaries in kubeDir. */
export function kubernetesImages(version: string, kubeProxyBase: string, kubeDir = "node"): Image[] {
  const built = (name: string) => builtBinary(name, version, kubeDir);
  return [
    ...["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map((c) => ({ repository: c, tag: `v${version}`, files: { [`/usr/local/bin/${c}`]: built(c) }, entrypoint: [`/usr/local/bin/${c}`] })),
    { repository: "kube-proxy", tag: `v${version}`, base: kubeProxyBase, files: { "/usr/local/bin/kube-proxy": built("kube-proxy") }, entrypoint: ["/usr/local/bin/kube-proxy"] },
  ];
}

/** A toolchain binary linked under dir, checked to be the version an image is tagged with. */
function builtBinary(name: string, version: string, dir = "node"): string {
  const built = binarySpecs().find((b) => b.name === name && (b.dir ?? "bin") === dir)?.version;
  if (built !== version) throw new Error(`images: ${name} ${version} asked for, the toolchain builds ${built ?? "none"} in ${dir}`);
  return binaryPath(name, dir);
}

export function clusterImages(v: ImageVersions, work: string, kubeProxyBase: string): Image[] {
  return [
    { repository: "pause", tag: v.pause, files: { "/pause": pauseBinary(work, v.pause) }, entrypoint: ["/pause"], user: "65535:65535" },
    ...kubernetesImages(v.kubernetes, kubeProxyBase),
    { repository: "coredns/coredns", tag: `v${v.coredns}`, files: { "/coredns": builtBinary("coredns", v.coredns) }, entrypoint: ["/coredns"], user: "65532:65532" },
    { repository: "metrics-server/metrics-server", tag: `v${v.metricsServer}`, files: { "/metrics-server": builtBinary("metrics-server", v.metricsServer) }, entrypoint: ["/metrics-server"], user: "65534" },
  ];
}

/** A cached root file system is named by its key; its completion stamp says when it was built. */
function rootfsStamp(dir: string): string {
  const stamp = join(dir, ".complete");
  return existsSync(stamp) ? `${dir} ${readFileSync(stamp, "utf8").trim()}` : dir;
}

function imageKey(images: readonly Image[]): string {
  const hash = createHash("sha256").update(String(RECIPE_REVISION));
  for (const image of images) {
    hash.update(JSON.stringify({ ...image, files: Object.keys(image.files), base: image.base ? rootfsStamp(image.base) : undefined }));
    for (const source of Object.values(image.files)) hash.update(readFileSync(source));
  }
  return hash.digest("hex").slice(0, 16);
}

/** Builds the images into an OCI layout and pushes them to the registry at push (host:port, plain HTTP). */
export function buildAndPush(images: readonly Image[], work: string, push: string, log: (line: string) => void): string {
  const key = imageKey(images);
  const stamp = join(REGISTRY_STORAGE, `.pushed-${key}`);
  if (existsSync(stamp)) {
    log(`images: cached (${key})`);
    return key;
  }
  const layout = join(work, "oci");
  rmSync(layout, { recursive: true, force: true });
  runOk("umoci", ["init", "--layout", layout]);
  for (const image of images) {
    const started = Date.now();
    const ref = `${layout}:${layoutTag(image)}`;
    const bundle = join(work, "bundle");
    rmSync(bundle, { recursive: true, force: true });
    if (image.from) {
      const from = images.find((i) => imageName(i) === image.from);
      if (!from) throw new Error(`images: ${imageName(image)} is built from ${image.from}, which is not in the set`);
      runOk("umoci", ["unpack", "--image", `${layout}:${layoutTag(from)}`, bundle], { timeoutMs: 600_000 });
    } else {
      runOk("umoci", ["new", "--image", ref]);
      runOk("umoci", ["unpack", "--image", ref, bundle]);
    }
    const rootfs = join(bundle, "rootfs");
    if (image.base) runOk("cp", ["-a", `${image.base}/.`, rootfs], { timeoutMs: 600_000 });
    mkdirSync(join(rootfs, "tmp"), { recursive: true, mode: 0o1777 });
    const at = (target: string) => {
      const path = join(rootfs, target);
      mkdirSync(join(path, ".."), { recursive: true });
      rmSync(path, { force: true });
      return path;
    };
    for (const folder of image.folders ?? []) mkdirSync(join(rootfs, folder), { recursive: true, mode: 0o755 });
    for (const [target, source] of Object.entries(image.files)) {
      const path = at(target);
      copyFileSync(source, path);
      chmodSync(path, image.modes?.[target] ?? 0o755);
    }
    for (const [target, text] of Object.entries(image.contents ?? {})) writeFileSync(at(target), text, { mode: 0o644 });
    for (const [target, pointsTo] of Object.entries(image.links ?? {})) symlinkSync(pointsTo, at(target));
    runOk("umoci", ["repack", "--image", ref, bundle], { timeoutMs: 900_000 });
    runOk("umoci", [
      "config", "--image", ref,
      "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ...(image.entrypoint ? ["--clear=config.entrypoint", ...image.entrypoint.flatMap((e) => ["--config.entrypoint", e])] : []),
      ...(image.cmd ? ["--clear=config.cmd", ...image.cmd.flatMap((c) => ["--config.cmd", c])] : []),
      ...(image.user ? ["--config.user", image.user] : []),
      "--architecture", "amd64", "--os", "linux",
    ]);
    if (image.push !== false) runOk("skopeo", ["copy", "--dest-tls-verify=false", `oci:${ref}`, `docker://${push}/${imageName(image)}`], { timeoutMs: 900_000 });
    rmSync(bundle, { recursive: true, force: true });
    log(`images: ${imageName(image)} built${image.push === false ? "" : " and pushed"} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  writeFileSync(stamp, `${images.filter((i) => i.push !== false).map(imageName).join("\n")}\n`);
  return key;
}

export function registryConfig(addr: string): string {
  return `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${REGISTRY_STORAGE}\n  delete:\n    enabled: false\nhttp:\n  addr: ${addr}\n`;
}
