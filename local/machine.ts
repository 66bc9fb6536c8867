// One local machine: Debian booted with systemd in systemd-nspawn, in a network
// namespace of its own on the cluster's bridge, in cgroups of its own (so its
// kubelet's pods are its own), reachable over SSH with the stack's key.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { shortId } from "./host";
import { run, runOk, sleep } from "./run";

export const STATE_ROOT = "/var/lib/drydock-local";

export interface MachineConfig {
  readonly cluster: string;
  /** The node's name: also the machine's host name. */
  readonly name: string;
  readonly address: string;
  readonly prefix: number;
  readonly gateway: string;
  readonly bridge: string;
  readonly rootfs: string;
  /** OpenSSH public key line for root's authorized_keys. */
  readonly authorizedKey: string;
}

export interface MachineNames {
  /** systemd-nspawn's machine name (unique on the host). */
  readonly machine: string;
  readonly netns: string;
  /** The host end of the machine's veth pair (15 characters at most). */
  readonly veth: string;
  readonly dir: string;
  /** The machine's own cgroup under each hierarchy. */
  readonly cgroup: string;
}

export function machineNames(cluster: string, name: string): MachineNames {
  const id = shortId(cluster, name);
  return { machine: `${cluster}-${name}`, netns: `drydock-${cluster}-${name}`, veth: `ddv-${id}`, dir: join(STATE_ROOT, cluster, name), cgroup: `drydock-${cluster}-${name}` };
}

const CGROUP_ROOT = "/sys/fs/cgroup";
/** cgroup v1 hierarchies a machine gets a subtree in (memory goes under this process's own memory cgroup). */
const V1_HIERARCHIES = ["cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "pids", "net_cls", "perf_event", "hugetlb", "systemd", "unified"];

function isCgroupV2(): boolean {
  return existsSync(join(CGROUP_ROOT, "cgroup.controllers"));
}

/** Where the machine's cgroups live, one per hierarchy. */
function cgroupDirs(names: MachineNames): string[] {
  if (isCgroupV2()) return [join(CGROUP_ROOT, names.cgroup)];
  const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").map((l) => l.split(":"));
  const memoryParent = own.find((f) => f[1] === "memory")?.[2] ?? "/";
  return [
    ...V1_HIERARCHIES.filter((h) => existsSync(join(CGROUP_ROOT, h, "cgroup.procs"))).map((h) => join(CGROUP_ROOT, h, names.cgroup)),
    ...(existsSync(join(CGROUP_ROOT, "memory")) ? [join(CGROUP_ROOT, "memory", memoryParent, names.cgroup)] : []),
  ];
}

/** A shell fragment that puts the shell into the machine's cgroups (systemd-nspawn then starts inside them). */
function joinCgroupsScript(names: MachineNames): string {
  return cgroupDirs(names)
    .map((dir) => {
      const cpuset = dir.startsWith(join(CGROUP_ROOT, "cpuset/"))
        ? `cat ${join(dir, "..", "cpuset.cpus")} > ${dir}/cpuset.cpus; cat ${join(dir, "..", "cpuset.mems")} > ${dir}/cpuset.mems; `
        : "";
      return `mkdir -p ${dir}; ${cpuset}echo $$ > ${dir}/cgroup.procs`;
    })
    .join("\n");
}

/** Removes a machine's cgroups, deepest first; a few tries while its last processes exit. */
async function removeCgroups(names: MachineNames): Promise<void> {
  const walk = (dir: string): string[] => (existsSync(dir) ? [...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => walk(join(dir, e.name))), dir] : []);
  for (let attempt = 0; attempt < 20; attempt++) {
    let left = 0;
    for (const top of cgroupDirs(names)) {
      for (const dir of walk(top)) {
        try {
          rmdirSync(dir);
        } catch {
          left++;
        }
      }
    }
    if (left === 0) return;
    await sleep(500);
  }
  throw new Error(`${names.machine}: its cgroups stay busy after shutdown`);
}

function resolvConf(gateway: string): string {
  const host = existsSync("/etc/resolv.conf") ? readFileSync("/etc/resolv.conf", "utf8") : "";
  const servers = [...host.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1]!).filter((s) => !s.startsWith("127.") && s !== "::1");
  // A host that resolves through a local stub has nothing the machines can reach: name the bridge (nothing answers).
  return `${(servers.length > 0 ? servers : [gateway]).map((s) => `nameserver ${s}`).join("\n")}\n`;
}

function pidOf(names: MachineNames): number | null {
  const file = join(names.dir, "pid");
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : null;
}

export function machineRunning(cfg: Pick<MachineConfig, "cluster" | "name">): boolean {
  return pidOf(machineNames(cfg.cluster, cfg.name)) !== null;
}

/** Creates the machine's network, disk and identity, then boots it in the background. */
export function startMachine(cfg: MachineConfig): void {
  const names = machineNames(cfg.cluster, cfg.name);
  if (pidOf(names) !== null) return;
  const root = join(names.dir, "root");
  for (const d of ["upper", "work", "root", "containerd"]) mkdirSync(join(names.dir, d), { recursive: true });

  if (run("ip", ["netns", "pids", names.netns]).code !== 0) runOk("ip", ["netns", "add", names.netns]);
  if (run("ip", ["link", "show", names.veth]).code !== 0) {
    run("ip", ["-n", names.netns, "link", "del", "eth0"]);
    runOk("ip", ["link", "add", names.veth, "type", "veth", "peer", "name", "eth0", "netns", names.netns]);
  }
  runOk("ip", ["link", "set", names.veth, "master", cfg.bridge, "up"]);
  const inside = (...args: string[]) => runOk("ip", ["-n", names.netns, ...args]);
  inside("link", "set", "lo", "up");
  run("ip", ["-n", names.netns, "addr", "add", `${cfg.address}/${cfg.prefix}`, "dev", "eth0"]);
  inside("link", "set", "eth0", "up");
  inside("route", "replace", "default", "via", cfg.gateway);

  if (run("mountpoint", ["-q", root]).code !== 0) {
    runOk("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${cfg.rootfs},upperdir=${join(names.dir, "upper")},workdir=${join(names.dir, "work")}`, root]);
  }
  mkdirSync(join(root, "root/.ssh"), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, "root/.ssh/authorized_keys"), `${cfg.authorizedKey.trim()}\n`, { mode: 0o600 });
  writeFileSync(join(root, "etc/resolv.conf"), resolvConf(cfg.gateway));
  if (!existsSync(join(root, "etc/ssh/ssh_host_ed25519_key"))) runOk("chroot", [root, "ssh-keygen", "-A"]);

  const args = [
    "-D", root, "-M", names.machine, `--hostname=${cfg.name}`, "--boot", "--register=no", "--keep-unit",
    `--network-namespace-path=/run/netns/${names.netns}`,
    // Containers inside: every capability the host gives, the keyring calls runc makes, the kernel log the kubelet reads.
    "--capability=all", "--system-call-filter=add_key keyctl", "--bind=/dev/kmsg",
    // The overlay snapshotter cannot stack on the machine's own overlay.
    `--bind=${join(names.dir, "containerd")}:/var/lib/containerd`,
    ...(existsSync("/lib/modules") ? ["--bind-ro=/lib/modules"] : []),
  ];
  const script = `set -e\n${joinCgroupsScript(names)}\nexec systemd-nspawn "$@"`;
  const log = openSync(join(names.dir, "console.log"), "a");
  const child = spawn("bash", ["-c", script, "drydock-machine", ...args], {
    detached: true,
    stdio: ["ignore", log, log],
    // The machine's own network settings (haproxy's ip_nonlocal_bind, kube-proxy's) are writable, as on a real machine.
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", SYSTEMD_NSPAWN_API_VFS_WRITABLE: "network" },
  });
  // bash execs systemd-nspawn: the same process.
  writeFileSync(join(names.dir, "pid"), `${child.pid}\n`);
  child.unref();
  closeSync(log);
}

/** Waits until the machine's systemd answers inside it (bounded). */
export async function waitForBoot(cfg: Pick<MachineConfig, "cluster" | "name">, timeoutMs = 120_000): Promise<void> {
  const names = machineNames(cfg.cluster, cfg.name);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = pidOf(names);
    if (pid === null) throw new Error(`${names.machine}: systemd-nspawn exited while booting:\n${consoleTail(names)}`);
    const leader = run("pgrep", ["-P", String(pid)]).stdout.trim().split("\n")[0];
    if (leader) {
      const state = run("nsenter", ["-t", leader, "-m", "-u", "-i", "-n", "-p", "systemctl", "is-system-running"], { timeoutMs: 10_000 }).stdout.trim();
      if (state === "running" || state === "degraded") return;
    }
    await sleep(1000);
  }
  throw new Error(`${names.machine}: not booted after ${timeoutMs / 1000} s:\n${consoleTail(names)}`);
}

function consoleTail(names: MachineNames): string {
  const path = join(names.dir, "console.log");
  return existsSync(path) ? readFileSync(path, "utf8").slice(-2000) : "";
}

/** The cluster's folder under the state root, and the root itself, once no machine is left in them. */
export function removeClusterFolder(cluster: string): void {
  for (const dir of [join(STATE_ROOT, cluster), STATE_ROOT]) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (or gone): leave it
    }
  }
}

/** Shuts the machine down (orderly, forced after a bound) and removes everything startMachine made. */
export async function destroyMachine(cfg: Pick<MachineConfig, "cluster" | "name">): Promise<void> {
  const names = machineNames(cfg.cluster, cfg.name);
  await stopMachine(cfg);
  const root = join(names.dir, "root");
  if (run("mountpoint", ["-q", root]).code === 0) runOk("umount", [root]);
  run("ip", ["link", "del", names.veth]);
  if (run("ip", ["netns", "pids", names.netns]).code === 0) runOk("ip", ["netns", "del", names.netns]);
  await removeCgroups(names);
  rmSync(names.dir, { recursive: true, force: true });
}

/** Powers the machine off (orderly, forced after a bound); its disk, network and cgroups stay for the next start. */
export async function stopMachine(cfg: Pick<MachineConfig, "cluster" | "name">): Promise<void> {
  const names = machineNames(cfg.cluster, cfg.name);
  const pid = pidOf(names);
  if (pid !== null) {
    // The machine's init: killing it ends every process of the machine (its PID namespace).
    const init = Number(run("pgrep", ["-P", String(pid)]).stdout.trim().split("\n")[0]) || null;
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 30 && existsSync(`/proc/${pid}`); i++) await sleep(1000);
    if (existsSync(`/proc/${pid}`)) {
      // An orderly shutdown waits out every pod's grace period: the machine goes anyway.
      if (init !== null && existsSync(`/proc/${init}`)) process.kill(init, "SIGKILL");
      for (let i = 0; i < 20 && existsSync(`/proc/${pid}`); i++) await sleep(500);
      if (existsSync(`/proc/${pid}`)) process.kill(pid, "SIGKILL");
    }
  }
}
