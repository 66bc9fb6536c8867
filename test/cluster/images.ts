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
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryPath, TOOLCHAIN_DIR } from "../toolchain/build";
import { runOk } from "../integration/helpers";

export const IMAGE_CACHE = process.env.DRYDOCK_IMAGE_CACHE ?? "/var/cache/drydock-cluster";
export const REGISTRY_STORAGE = join(IMAGE_CACHE, "registry");
/** Bump when a recipe below changes. */
const RECIPE_REVISION = 1;

interface Image {
  /** Repository under registry.k8s.io and tag. */
  readonly repository: string;
  readonly tag: string;
  /** Files copied in: target path → source file. */
  readonly files: Record<string, string>;
  readonly base?: string;
  readonly entrypoint?: string[];
  readonly user?: string;
}

export interface ImageVersions {
  readonly kubernetes: string;
  readonly pause: string;
  readonly coredns: string;
}

function pauseBinary(work: string, pause: string): string {
  const dir = runOk("go", ["-C", join(TOOLCHAIN_DIR, "kubernetes"), "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"]).trim();
  const out = join(work, "pause");
  // As build/pause/Makefile: CFLAGS = -Os -Wall -Werror -static -DVERSION=v$(TAG)-$(REV)
  runOk("gcc", ["-Os", "-Wall", "-Werror", "-static", `-DVERSION=v${pause}-0`, "-o", out, join(dir, "build/pause/linux/pause.c")]);
  return out;
}

export function clusterImages(v: ImageVersions, work: string, kubeProxyBase: string): Image[] {
  const node = (name: string) => binaryPath(name, "node");
  return [
    { repository: "pause", tag: v.pause, files: { "/pause": pauseBinary(work, v.pause) }, entrypoint: ["/pause"], user: "65535:65535" },
    ...["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map((c) => ({ repository: c, tag: `v${v.kubernetes}`, files: { [`/usr/local/bin/${c}`]: node(c) }, entrypoint: [`/usr/local/bin/${c}`] })),
    { repository: "kube-proxy", tag: `v${v.kubernetes}`, base: kubeProxyBase, files: { "/usr/local/bin/kube-proxy": node("kube-proxy") }, entrypoint: ["/usr/local/bin/kube-proxy"] },
    { repository: "coredns/coredns", tag: `v${v.coredns}`, files: { "/coredns": node("coredns") }, entrypoint: ["/coredns"], user: "65532:65532" },
  ];
}

function imageKey(images: readonly Image[]): string {
  const hash = createHash("sha256").update(String(RECIPE_REVISION));
  for (const image of images) {
    hash.update(JSON.stringify({ ...image, files: Object.keys(image.files) }));
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
    const ref = `${layout}:${image.repository.replaceAll("/", "-")}`;
    const bundle = join(work, "bundle");
    rmSync(bundle, { recursive: true, force: true });
    runOk("umoci", ["new", "--image", ref]);
    runOk("umoci", ["unpack", "--image", ref, bundle]);
    const rootfs = join(bundle, "rootfs");
    if (image.base) runOk("cp", ["-a", `${image.base}/.`, rootfs], { timeoutMs: 600_000 });
    mkdirSync(join(rootfs, "tmp"), { recursive: true, mode: 0o1777 });
    for (const [target, source] of Object.entries(image.files)) {
      mkdirSync(join(rootfs, target, ".."), { recursive: true });
      copyFileSync(source, join(rootfs, target));
      runOk("chmod", ["0755", join(rootfs, target)]);
    }
    runOk("umoci", ["repack", "--image", ref, bundle], { timeoutMs: 900_000 });
    runOk("umoci", [
      "config", "--image", ref,
      "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ...(image.entrypoint ? image.entrypoint.flatMap((e) => ["--config.entrypoint", e]) : []),
      ...(image.user ? ["--config.user", image.user] : []),
      "--architecture", "amd64", "--os", "linux",
    ]);
    runOk("skopeo", ["copy", "--dest-tls-verify=false", `oci:${ref}`, `docker://${push}/${image.repository}:${image.tag}`], { timeoutMs: 900_000 });
    rmSync(bundle, { recursive: true, force: true });
    log(`images: ${image.repository}:${image.tag} built and pushed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  writeFileSync(stamp, `${images.map((i) => `${i.repository}:${i.tag}`).join("\n")}\n`);
  return key;
}

export function registryConfig(addr: string): string {
  return `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${REGISTRY_STORAGE}\n  delete:\n    enabled: false\nhttp:\n  addr: ${addr}\n`;
}
