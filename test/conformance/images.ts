// The images the Kubernetes conformance suite runs, built here under the names and tags
// e2e.test 1.36.3 asks for (test/utils/image/manifest.go), since registry.k8s.io cannot be
// reached. The machines pull them through the cluster's registry mirror for registry.k8s.io.
// Where upstream builds from Alpine or a release download, these are built from Debian
// bookworm packages or from the same Go sources; docs/conformance.md says so per image.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { runOk } from "../integration/helpers";
import { binaryPath } from "../toolchain/build";
import { IMAGE_CACHE, kubernetesSourceDir, type Image } from "../cluster/images";
import { debootstrapOnce } from "../../local/rootfs";

const E2E = "e2e-test-images";
/** Debian packages for what the upstream images install from Alpine (agnhost's Dockerfile) or Debian (glibc-dns-testing's). */
const E2E_ROOTFS_PACKAGES = ["bash", "bind9-dnsutils", "curl", "netcat-openbsd", "iproute2", "iperf", "util-linux", "procps", "nginx-light", "ca-certificates"];
/** Bump when the preparation below changes. */
const E2E_ROOTFS_REVISION = 1;

/** The Debian root file system the suite's images share as their first layer (cached). */
export function ensureE2eRootfs(mirror: string): string {
  const key = createHash("sha256").update(JSON.stringify({ E2E_ROOTFS_PACKAGES, E2E_ROOTFS_REVISION, mirror })).digest("hex").slice(0, 12);
  return debootstrapOnce(join(IMAGE_CACHE, `e2e-rootfs-${key}`), { suite: "bookworm", packages: E2E_ROOTFS_PACKAGES, mirror }, (root) => {
    // agnhost's Dockerfile: a user and group defined in the image (SupplementalGroups tests).
    runOk("chroot", [root, "groupadd", "-g", "50000", "group-defined-in-image"]);
    runOk("chroot", [root, "useradd", "-u", "1000", "-M", "-G", "group-defined-in-image", "user-defined-in-image"]);
    runOk("sh", ["-c", `rm -rf ${root}/var/cache/apt/archives/*.deb ${root}/var/lib/apt/lists/*`]);
  });
}

/** busybox's applets as links to the one static binary, all in /bin as the upstream image has them (tests run /bin/sysctl). */
function busyboxLinks(busybox: string): Record<string, string> {
  const applets = runOk(busybox, ["--list"]).split("\n").filter(Boolean);
  return Object.fromEntries(applets.filter((a) => a !== "busybox").map((a) => [`/bin/${a}`, "busybox"]));
}

/** nginx as the upstream image runs it: foreground, port 80, pages in /usr/share/nginx/html. */
const NGINX_SITE = `server {
    listen 80 default_server;
    listen [::]:80 default_server;
    root /usr/share/nginx/html;
    index index.html;
    location / { try_files $uri $uri/ =404; }
}
`;
const NGINX_INDEX = "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n";

/** Every image the [Conformance] tests pull, besides pause (the cluster's own, same name and tag). */
export function conformanceImages(rootfs: string, busybox: string): Image[] {
  const kubernetesDir = kubernetesSourceDir();
  const upstream = (path: string) => join(kubernetesDir, "test/images", path);
  const conformance = (name: string) => binaryPath(name, "conformance");
  const base: Image = { repository: "drydock/e2e-base", tag: "1", base: rootfs, files: {}, push: false };
  const agnhost = (tag: string): Image => ({
    repository: `${E2E}/agnhost`,
    tag,
    from: "drydock/e2e-base:1",
    files: { "/agnhost": conformance("agnhost"), "/coredns": binaryPath("coredns", "node"), "/localhost.crt": upstream("agnhost/porter/localhost.crt"), "/localhost.key": upstream("agnhost/porter/localhost.key") },
    modes: { "/localhost.crt": 0o644, "/localhost.key": 0o644 },
    links: { "/agnhost-2": "agnhost", "/usr/local/bin/iperf": "/usr/bin/iperf" },
    folders: ["/uploads"],
    entrypoint: ["/agnhost"],
    cmd: ["pause"],
  });
  const webserver = (name: string): Image => ({
    repository: `${E2E}/${name}`,
    tag: "1.8",
    from: `${E2E}/agnhost:2.63.0`,
    files: { [`/${name}.jpg`]: upstream(`${name}/html/${name}.jpg`), "/data.json": upstream(`${name}/html/data.json`) },
    modes: { [`/${name}.jpg`]: 0o644, "/data.json": 0o644 },
    cmd: ["test-webserver"],
  });
  const nginx = (tag: string): Image => ({
    repository: `${E2E}/nginx`,
    tag,
    from: "drydock/e2e-base:1",
    files: {},
    contents: { "/etc/nginx/sites-enabled/default": NGINX_SITE, "/usr/share/nginx/html/index.html": NGINX_INDEX },
    entrypoint: ["nginx", "-g", "daemon off;"],
  });
  return [
    base,
    agnhost("2.63.0"),
    agnhost("2.55"),
    webserver("kitten"),
    webserver("nautilus"),
    { repository: `${E2E}/busybox`, tag: "1.37.0-1", files: { "/bin/busybox": busybox }, links: busyboxLinks(busybox), contents: { "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n", "/etc/group": "root:x:0:\nnobody:x:65534:\n" }, folders: ["/root", "/home"], cmd: ["sh"] },
    nginx("1.15-4"),
    nginx("1.27-0"),
    { repository: `${E2E}/glibc-dns-testing`, tag: "2.0.0", from: "drydock/e2e-base:1", files: { "/coredns": binaryPath("coredns", "node") }, cmd: ["/bin/bash"] },
    { repository: `${E2E}/nonroot`, tag: "1.5", from: "drydock/e2e-base:1", files: {}, user: "1234", cmd: ["/bin/bash"] },
    { repository: `${E2E}/nonewprivs`, tag: "1.4", from: "drydock/e2e-base:1", files: { "/usr/local/bin/nnp": conformance("nnp") }, modes: { "/usr/local/bin/nnp": 0o4755 }, cmd: ["nnp"] },
    { repository: `${E2E}/sample-apiserver`, tag: "1.29.2", files: { "/sample-apiserver": conformance("sample-apiserver") }, entrypoint: ["/sample-apiserver"] },
    { repository: "etcd", tag: "3.6.8-0", files: Object.fromEntries(["etcd", "etcdctl", "etcdutl"].map((b) => [`/usr/local/bin/${b}`, binaryPath(b, "node")])) },
  ];
}
