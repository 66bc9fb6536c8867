// The machines' Debian root file system: built once with debootstrap, cached, and
// shared read-only by every machine (each boots through an overlay of its own).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { osPackages } from "../hosts/os";
import { runOk } from "./run";

export const ROOTFS_CACHE = "/var/cache/drydock/local";
export const ROOTFS_SUITE = "bookworm";

/** A fresh Debian server, the packages drydock's os-prep would install for every proxy mode, and the VIP's. */
export const ROOTFS_PACKAGES = [
  ...new Set([
    "systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "procps", "kmod", "sudo", "libnss-myhostname",
    "haproxy", "keepalived",
    ...osPackages("iptables"), ...osPackages("ipvs"), ...osPackages("nftables"),
  ]),
];

/** Bump when the preparation below changes, so a stale cache is rebuilt. */
const ROOTFS_REVISION = 1;

/**
 * Makes the cgroup controllers writable before anything starts (systemd-nspawn
 * mounts them read-only on cgroup v1 hosts; runc needs them), and mounts shared so
 * the kubelet's volume mounts propagate into containers.
 */
export const CGROUP_REMOUNT_UNIT = `[Unit]
Description=Writable cgroup controllers and shared mounts for containers (drydock local machine)
DefaultDependencies=no
Before=sysinit.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for c in /sys/fs/cgroup/*/; do mount -o remount,bind,rw "$c" || true; done; mount --make-rshared /'

[Install]
WantedBy=sysinit.target
`;

export function rootfsKey(mirror: string): string {
  return createHash("sha256").update(JSON.stringify({ ROOTFS_SUITE, ROOTFS_PACKAGES, ROOTFS_REVISION, mirror })).digest("hex").slice(0, 12);
}

export function rootfsPath(mirror: string): string {
  return join(ROOTFS_CACHE, `${ROOTFS_SUITE}-${rootfsKey(mirror)}`);
}

export interface Debootstrap {
  readonly suite: string;
  readonly packages: readonly string[];
  /** A function when finding the mirror may fail: asked only when there is something to build. */
  readonly mirror: string | (() => string);
  readonly timeoutMs?: number;
  /** Told once, when the build starts. */
  readonly log?: (line: string) => void;
}

/**
 * A Debian root file system built once with debootstrap into dir and kept there: prepare runs on
 * it before it is marked complete, and a build cut short never stands under dir's name.
 */
export function debootstrapOnce(dir: string, build: Debootstrap, prepare: (root: string) => void): string {
  if (existsSync(join(dir, ".complete"))) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  build.log?.(`debootstrap ${build.suite} into ${dir}`);
  const mirror = typeof build.mirror === "function" ? build.mirror() : build.mirror;
  runOk("debootstrap", ["--variant=minbase", `--include=${build.packages.join(",")}`, build.suite, building, mirror], { timeoutMs: build.timeoutMs ?? 30 * 60_000 });
  prepare(building);
  writeFileSync(join(building, ".complete"), `${new Date().toISOString()}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return dir;
}

/** The cached root file system, built when missing (a few minutes, once). */
export function ensureRootfs(mirror: string): string {
  return debootstrapOnce(rootfsPath(mirror), { suite: ROOTFS_SUITE, packages: ROOTFS_PACKAGES, mirror }, (root) => {
    // The machine's name becomes its host name; drydock starts the VIP's services itself.
    rmSync(join(root, "etc/hostname"), { force: true });
    writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n");
    writeFileSync(join(root, "etc/systemd/system/drydock-cgroups.service"), CGROUP_REMOUNT_UNIT);
    runOk("chroot", [root, "systemctl", "enable", "drydock-cgroups.service"]);
    runOk("chroot", [root, "systemctl", "disable", "haproxy.service", "keepalived.service"]);
    // Every machine gets host keys of its own at creation.
    runOk("sh", ["-c", `rm -f ${root}/etc/ssh/ssh_host_*`]);
  });
}
