// busybox for the suite's busybox image: upstream 1.37.0 (the version the image is named for)
// built static with its defconfig, as the upstream image's base is. Debian's busybox-static
// will not do: its ash drops environment variables whose names are not shell names, and the
// suite checks that `sh -c env` shows them (Secrets/ConfigMaps as env with any prefix). The
// source comes through apt (`apt-get source` from the machine's Debian mirror); the upstream
// tarball inside is checked against its SHA-256.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runOk } from "../integration/helpers";
import { IMAGE_CACHE } from "../cluster/images";

export const BUSYBOX_VERSION = "1.37.0";
const BUSYBOX_TARBALL_SHA256 = "3311dff32e746499f4df0d5df04d7eb396382d7e108bb9250e7b519b837043a4";
/** The Debian release whose source package carries that upstream version. */
const SOURCE_SUITE = "trixie";
/** Bump when the build below changes. */
const BUILD_REVISION = 1;

/** The static busybox binary, built once and cached (about two minutes on 2 cores). */
export function ensureBusybox(mirror: string): string {
  const dir = join(IMAGE_CACHE, `busybox-${BUSYBOX_VERSION}-${BUSYBOX_TARBALL_SHA256.slice(0, 12)}-r${BUILD_REVISION}`);
  const binary = join(dir, "busybox");
  if (existsSync(binary)) return binary;
  mkdirSync(IMAGE_CACHE, { recursive: true });
  const work = mkdtempSync(join(IMAGE_CACHE, "busybox-build-"));
  try {
    // A private apt state, so the host's own sources and lists are not touched.
    writeFileSync(join(work, "sources.list"), `deb-src ${mirror} ${SOURCE_SUITE} main\n`);
    mkdirSync(join(work, "lists/partial"), { recursive: true });
    const apt = ["-o", `Dir::Etc::SourceList=${join(work, "sources.list")}`, "-o", "Dir::Etc::SourceParts=/dev/null", "-o", `Dir::State::Lists=${join(work, "lists")}`, "-o", `Dir::Cache=${join(work, "cache")}`];
    runOk("apt-get", [...apt, "update"], { timeoutMs: 300_000 });
    const download = join(work, "source");
    mkdirSync(download);
    runOk("sh", ["-c", `cd ${download} && apt-get ${apt.join(" ")} source --download-only busybox`], { timeoutMs: 300_000 });
    const tarball = readdirSync(download).find((f) => f === `busybox_${BUSYBOX_VERSION}.orig.tar.bz2`);
    if (!tarball) throw new Error(`busybox: ${mirror} ${SOURCE_SUITE} has no busybox ${BUSYBOX_VERSION} source (found ${readdirSync(download).join(", ")})`);
    const sha256 = createHash("sha256").update(readFileSync(join(download, tarball))).digest("hex");
    if (sha256 !== BUSYBOX_TARBALL_SHA256) throw new Error(`busybox: ${tarball} has SHA-256 ${sha256}, expected ${BUSYBOX_TARBALL_SHA256}`);
    runOk("tar", ["-xjf", join(download, tarball), "-C", work]);
    const src = join(work, `busybox-${BUSYBOX_VERSION}`);
    runOk("make", ["-C", src, "defconfig"]);
    // Static, as the image has no libc; tc does not build against this kernel's headers (CBQ is gone).
    const config = join(src, ".config");
    writeFileSync(config, readFileSync(config, "utf8").replace("# CONFIG_STATIC is not set", "CONFIG_STATIC=y").replace("CONFIG_TC=y", "# CONFIG_TC is not set"));
    runOk("make", ["-C", src, "-j2"], { timeoutMs: 20 * 60_000 });
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(src, "busybox"), `${binary}.partial`);
    renameSync(`${binary}.partial`, binary);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
