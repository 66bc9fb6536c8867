// Test hosts without a cloud: Debian booted with systemd in systemd-nspawn
// containers, each in a network namespace of its own, wired to one bridge in a
// "lan" namespace this file creates. Every address lives inside those
// namespaces. The root file system is built once with debootstrap and cached
// outside the repository; each host boots from it through an overlay whose upper
// layer is the host's own disk (new per test run, kept across power cycles).
import { type ChildProcess, spawn } from "node:child_process";
import { ProcessGroup, requireBinaries, run, runAsync, runOk, waitFor } from "../integration/helpers";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { debootstrapOnce } from "../../local/rootfs";

export const CACHE_DIR = process.env.DRYDOCK_E2E_CACHE ?? "/var/cache/drydock-e2e";
const SUITE = "bookworm";
// What a fresh Debian server has, plus the packages drydock's steps would install
// with apt: the hosts have no route to a Debian mirror.
const PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "sudo", "curl", "ca-certificates", "libnss-myhostname", "haproxy", "keepalived"];
/** Bump when the preparation below changes, so a stale cache is rebuilt. */
const ROOTFS_REVISION = 2;

/** The Debian mirror this machine's apt uses (the only one it can reach). */
export function debianMirror(): string {
  if (process.env.DRYDOCK_E2E_DEBIAN_MIRROR) return process.env.DRYDOCK_E2E_DEBIAN_MIRROR;
  const sources = ["/etc/apt/sources.list.d", "/etc/apt/sources.list"].flatMap((p) => {
    if (!existsSync(p)) return [];
    try {
      return readdirSync(p).map((f) => readFileSync(join(p, f), "utf8"));
    } catch {
      return [readFileSync(p, "utf8")];
    }
  });
  for (const text of sources) {
    const deb822 = text.split(/\n\s*\n/).find((stanza) => /^Suites:.*\bbookworm\b/m.test(stanza) && /^Types:.*\bdeb\b/m.test(stanza) && !/security/.test(stanza));
    const uri = deb822?.match(/^URIs:\s*(\S+)/m)?.[1];
    if (uri) return uri;
    const line = text.split("\n").find((l) => /^deb\s+(\[[^\]]*\]\s+)?\S+\s+bookworm\s/.test(l));
    if (line) return line.replace(/^deb\s+(\[[^\]]*\]\s+)?/, "").split(/\s+/)[0]!;
  }
  throw new Error("no Debian bookworm mirror in /etc/apt sources; set DRYDOCK_E2E_DEBIAN_MIRROR");
}

/** The cached root file system, built with debootstrap when missing (about a minute). */
export function ensureRootfs(log: (line: string) => void = () => undefined): string {
  const key = createHash("sha256").update(JSON.stringify({ SUITE, PACKAGES, ROOTFS_REVISION })).digest("hex").slice(0, 12);
  return debootstrapOnce(join(CACHE_DIR, `${SUITE}-${key}`), { suite: SUITE, packages: PACKAGES, mirror: debianMirror, timeoutMs: 15 * 60_000, log }, (root) => {
    // The machine name becomes the host name; services a fresh server does not run stay off.
    rmSync(join(root, "etc/hostname"), { force: true });
    runOk("chroot", [root, "systemctl", "disable", "haproxy.service", "keepalived.service"]);
  });
}

const BRIDGE = "br0";

export interface Lan {
  readonly netns: string;
  /** The lan's own address (where the mirror listens), e.g. 10.213.0.1. */
  readonly gateway: string;
  readonly prefix: number;
}

/** A command run inside a network namespace. */
export const inNetns = (netns: string, cmd: string, args: string[]): [string, string[]] => ["ip", ["netns", "exec", netns, cmd, ...args]];

export function createLan(gateway: string, prefix: number, netns: string): Lan {
  removeNetns(netns);
  runOk("ip", ["netns", "add", netns]);
  const ip = (...args: string[]) => runOk(...inNetns(netns, "ip", args));
  ip("link", "set", "lo", "up");
  ip("link", "add", BRIDGE, "type", "bridge");
  ip("addr", "add", `${gateway}/${prefix}`, "dev", BRIDGE);
  ip("link", "set", BRIDGE, "up");
  return { netns, gateway, prefix };
}

/**
 * Wires this machine's own network namespace to the lan through a veth named `link` with the
 * given lan address, so programs run here (the Pulumi engine and its plugins) reach the hosts.
 * Returns the undo.
 */
export function attachToLan(lan: Lan, link: string, address: string): () => void {
  run("ip", ["link", "del", link]);
  runOk("ip", ["link", "add", link, "type", "veth", "peer", "name", `${link}-p`.slice(0, 15), "netns", lan.netns]);
  runOk(...inNetns(lan.netns, "ip", ["link", "set", `${link}-p`.slice(0, 15), "master", BRIDGE, "up"]));
  runOk("ip", ["addr", "add", `${address}/${lan.prefix}`, "dev", link]);
  runOk("ip", ["link", "set", link, "up"]);
  return () => run("ip", ["link", "del", link]);
}

export function removeLan(lan: Lan | undefined): void {
  if (lan) removeNetns(lan.netns);
}

function removeNetns(name: string): void {
  if (existsSync(`/run/netns/${name}`)) run("ip", ["netns", "del", name]);
}

export interface MachineOptions {
  readonly name: string;
  readonly address: string;
  readonly lan: Lan;
  readonly rootfs: string;
  /** Folder bound read-only at /root/.ssh (authorized_keys). */
  readonly sshDir: string;
  /** Where this run keeps the host's disk (overlay upper layer) and console log. */
  readonly workDir: string;
}

export class Machine {
  readonly name: string;
  readonly address: string;
  readonly netns: string;
  private readonly root: string;
  private process: ChildProcess | null = null;

  constructor(private readonly opts: MachineOptions) {
    this.name = opts.name;
    this.address = opts.address;
    this.netns = `dde-${opts.name}`;
    this.root = join(opts.workDir, "root");
  }

  /** The host's network namespace on the lan, and its disk: an overlay over the shared root file system. */
  create(): void {
    const { lan, address } = this.opts;
    removeNetns(this.netns);
    runOk("ip", ["netns", "add", this.netns]);
    const veth = `v-${this.name}`.slice(0, 15);
    run(...inNetns(lan.netns, "ip", ["link", "del", veth]));
    runOk("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", this.netns]);
    runOk("ip", ["link", "set", veth, "netns", lan.netns]);
    runOk(...inNetns(lan.netns, "ip", ["link", "set", veth, "master", BRIDGE, "up"]));
    const ip = (...args: string[]) => runOk(...inNetns(this.netns, "ip", args));
    ip("link", "set", "lo", "up");
    ip("addr", "add", `${address}/${lan.prefix}`, "dev", "eth0");
    ip("link", "set", "eth0", "up");
    for (const d of ["upper", "work", "root"]) mkdirSync(join(this.opts.workDir, d), { recursive: true });
    runOk("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${this.opts.rootfs},upperdir=${join(this.opts.workDir, "upper")},workdir=${join(this.opts.workDir, "work")}`, this.root]);
  }

  get running(): boolean {
    return this.process !== null && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Powers the host on: systemd boots as PID 1 in the container. */
  start(): void {
    if (this.running) return;
    const log = openSync(join(this.opts.workDir, "console.log"), "a");
    this.process = spawn(
      "systemd-nspawn",
      ["-D", this.root, "-M", this.name, "--boot", "--register=no", "--keep-unit", `--network-namespace-path=/run/netns/${this.netns}`, "--capability=CAP_NET_ADMIN", `--bind-ro=${this.opts.sshDir}:/root/.ssh`],
      // The host's own network sysctls (ip_nonlocal_bind for haproxy) are writable, as on a real machine.
      { stdio: ["ignore", log, log], env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: "network" } },
    );
    closeSync(log);
  }

  /** Powers the host off: an orderly shutdown, forced after a bound. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
    this.process = null;
  }

  /** Runs a command on the host as root over SSH, from the lan. */
  ssh(command: string, opts: { input?: string; timeoutMs?: number } = {}) {
    return runAsync(...inNetns(this.opts.lan.netns, "ssh", [...sshOptions(join(this.opts.sshDir, "id_ed25519")), `root@${this.address}`, command]), opts);
  }

  async sshOk(command: string, opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.ssh(command, opts);
    if (r.code !== 0) throw new Error(`${this.name}: ${command} failed (${r.code}): ${r.stderr.trim().slice(-2000)}`);
    return r.stdout;
  }

  /** Waits until systemd reports the boot finished and SSH answers. */
  async waitBooted(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name}: systemd-nspawn exited during boot:\n${this.consoleTail()}`);
      const r = await this.ssh("systemctl is-system-running", { timeoutMs: 15_000 });
      last = `${r.stdout.trim()} ${r.stderr.trim()}`;
      if (/^(running|degraded)/.test(r.stdout.trim())) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`${this.name}: not booted after ${timeoutMs / 1000}s (last answer: ${last})\n${this.consoleTail()}`);
  }

  consoleTail(): string {
    const path = join(this.opts.workDir, "console.log");
    return existsSync(path) ? readFileSync(path, "utf8").slice(-3000) : "";
  }

  async destroy(): Promise<void> {
    await this.stop();
    run("umount", [this.root]);
    removeNetns(this.netns);
  }
}

/** What a reset host must look like again: drydock's places, its units and their state. */
export const HOST_SNAPSHOT = `find /etc /usr/local /opt /var/lib/etcd /var/lib/etcd-snapshots /var/lib/kubelet /var/lib/containerd -xdev 2>/dev/null | grep -v -e '^/etc/ssh/ssh_host' -e '^/etc/machine-id' -e '^/etc/.pwd.lock' | sort
for unit in etcd haproxy keepalived kubelet containerd etcd-snapshot.timer; do echo "$unit $(systemctl is-enabled $unit 2>/dev/null) $(systemctl is-active $unit 2>/dev/null)"; done`;

/** The Debian etcd binaries, packed as an official release tarball in mirrorDir/<build>/ (served at mirrorUrl). */
export function packEtcdRelease(workDir: string, mirrorDir: string, mirrorUrl: string, build = "1"): { version: string; url: string; sha256: string } {
  const version = /etcd Version: (\S+)/.exec(runOk("etcd", ["--version"]))![1]!;
  const name = `etcd-v${version}-linux-amd64`;
  const stage = join(workDir, "stage", name);
  mkdirSync(stage, { recursive: true });
  for (const bin of ["etcd", "etcdctl"]) runOk("install", ["-m", "0755", runOk("sh", ["-c", `command -v ${bin}`]).trim(), join(stage, bin)]);
  writeFileSync(join(stage, "README.md"), `etcd from Debian's etcd-server and etcd-client, in the official release layout (build ${build})\n`);
  mkdirSync(join(mirrorDir, build), { recursive: true });
  const path = join(mirrorDir, build, `${name}.tar.gz`);
  runOk("tar", ["-czf", path, "-C", join(workDir, "stage"), name]);
  return { version, url: `${mirrorUrl}/${build}/${name}.tar.gz`, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
}

/** The artifact mirror (mirror-main.ts) serving dir at the lan's gateway; resolves once it listens. */
export async function startMirror(procs: ProcessGroup, lan: Lan, dir: string, port: number): Promise<void> {
  const mirror = procs.start(...inNetns(lan.netns, process.execPath, ["--import", "tsx", join(__dirname, "mirror-main.ts"), dir, lan.gateway, String(port)]));
  await waitFor("the artifact mirror", () => (procs.logs.get(mirror) ?? "").includes("listening"), 100, 200);
}

/** Creates and boots one machine per host; returns them once booted, with each one's HOST_SNAPSHOT before drydock. */
export async function bootMachines(
  hosts: readonly { name: string; address: string }[],
  opts: Omit<MachineOptions, "name" | "address" | "workDir"> & { workDir: string },
): Promise<{ machines: Machine[]; baseline: Map<string, string> }> {
  const machines = hosts.map((h) => new Machine({ ...opts, ...h, workDir: join(opts.workDir, h.name) }));
  for (const m of machines) {
    m.create();
    m.start();
  }
  await Promise.all(machines.map((m) => m.waitBooted()));
  const baseline = new Map<string, string>();
  for (const m of machines) baseline.set(m.name, await m.sshOk(HOST_SNAPSHOT));
  return { machines, baseline };
}

/** The etcd client certificate drydock delivered to a member, copied into dir for clients on the lan; returns dir. */
export async function copyEtcdClient(member: Machine, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (const f of ["ca.crt", "healthcheck-client.crt", "healthcheck-client.key"]) writeFileSync(join(dir, f), await member.sshOk(`cat /etc/kubernetes/pki/etcd/${f}`), { mode: 0o600 });
  return dir;
}

/** SHA-256 fingerprint of the certificate an etcd member serves on its client port, read from the lan. */
export async function servedEtcdFingerprint(lan: Lan, address: string, client: string): Promise<string> {
  const r = await runAsync(...inNetns(lan.netns, "openssl", ["s_client", "-connect", `${address}:2379`, "-CAfile", `${client}/ca.crt`, "-cert", `${client}/healthcheck-client.crt`, "-key", `${client}/healthcheck-client.key`, "-showcerts"]), { input: "", timeoutMs: 15_000 });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  if (!pem) throw new Error(`${address} presents no certificate: ${r.stderr}`);
  return new X509Certificate(pem).fingerprint256;
}

export function sshOptions(keyFile: string): string[] {
  return ["-i", keyFile, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"];
}

/** A fresh key pair, authorized for root on every host (bound read-only at /root/.ssh). */
export function makeSshDir(dir: string): { dir: string; privateKey: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, "id_ed25519");
  runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "drydock-e2e", "-f", key]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${key}.pub`), { mode: 0o600 });
  return { dir, privateKey: readFileSync(key, "utf8") };
}

/** Fails loudly (never skips) when this machine cannot run the hosts. */
export function requireHostTools(): void {
  requireBinaries("debootstrap", "systemd-nspawn", "ssh", "ssh-keygen", "ip", "etcd", "etcdctl", "kubectl");
  if (process.getuid?.() !== 0) throw new Error("end-to-end tests boot containers and network namespaces: run as root");
}

