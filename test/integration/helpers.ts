// Integration helpers: real binaries, temporary render trees, bounded waits.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderCluster, type RenderOptions, type RenderedTree } from "../../hosts/render";
import { writeRenderedTree } from "../../cli/write-tree";
import { stringify } from "yaml";
import { requireSpec, validateSpec, type ClusterSpec } from "../../spec";
import { hostsBase } from "../helpers";
import type { PlannedHost } from "../../spec/addresses";
import { etcdConfig } from "../../hosts/etcd";
import { hasProgram, run as runProgram } from "../../local/run";
import { staticFiles } from "../static-files";

export const DEBIAN_PACKAGES = "etcd-server etcd-client containerd containernetworking-plugins haproxy openssl iproute2 iptables iputils-ping curl systemd keepalived debootstrap systemd-container openssh-client nftables ipset gcc libc6-dev libseccomp-dev umoci skopeo docker-registry";

/** A static file server on 127.0.0.1 for a folder (a download mirror), recording the paths asked for. */
export async function serveFolder(dir: string): Promise<{ server: Server; base: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createHttpServer(staticFiles(dir, (req) => requests.push(req.url ?? "")));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

/** Fails loudly (never skips) when a program the test drives is missing. */
export function requireBinaries(...names: string[]): void {
  const missing = names.filter((n) => !hasProgram(n));
  if (missing.length > 0) {
    throw new Error(`missing programs: ${missing.join(", ")}; install them with: apt-get install -y ${DEBIAN_PACKAGES}`);
  }
}

/**
 * A validated spec on the hosts backend with the given hosts (loopback addresses in these
 * tests) and other top-level fields; an API endpoint only when given.
 */
export function hostsSpec(fields: { name: string; hosts: Record<string, unknown>[]; apiEndpoint?: Record<string, unknown> } & Record<string, unknown>): ClusterSpec {
  const { hosts, apiEndpoint, ...rest } = fields;
  const { apiEndpoint: _vip, ...infrastructure } = hostsBase().infrastructure;
  return requireSpec(validateSpec({ ...hostsBase(), ...rest, infrastructure: { ...infrastructure, hosts, ...(apiEndpoint ? { apiEndpoint } : {}) } }));
}

export interface RunOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** local/run's, with the tests' shorter default bound. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
  return runProgram(cmd, args, { timeoutMs: 30_000, ...opts });
}

/** Like run, without blocking the event loop (for servers and writers living in the test process). */
export function runAsync(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function runOk(cmd: string, args: string[], opts: RunOptions = {}): string {
  const r = run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface RenderedDir {
  readonly dir: string;
  readonly tree: RenderedTree;
  host(name: string, path: string): string;
  cleanup(): void;
}

export function renderToTemp(spec: ClusterSpec, options: RenderOptions = {}): RenderedDir {
  const dir = mkdtempSync(join(tmpdir(), "drydock-it-"));
  const tree = renderCluster(spec, options);
  writeRenderedTree(dir, tree);
  return {
    dir,
    tree,
    host: (name, path) => join(dir, "hosts", name, path),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A free TCP port on an address (the kernel picks; the test binds right after). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Polls until check() is true, at most `attempts` times `intervalMs` apart. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, attempts = 100, intervalMs = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Processes a test started, stopped by pid at the end. */
export class ProcessGroup {
  private readonly children: ChildProcess[] = [];
  readonly logs = new Map<ChildProcess, string>();

  start(cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
    this.logs.set(child, "");
    const append = (d: Buffer) => this.logs.set(child, (this.logs.get(child)! + d.toString()).slice(-20_000));
    child.stdout!.on("data", append);
    child.stderr!.on("data", append);
    this.children.push(child);
    return child;
  }

  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((c) => this.stop(c)));
  }
}

/**
 * Writes the renderer's config for an etcd member into `dir` with its paths moved
 * there (data) or to `pkiDir`, and its local listener on the member's own address
 * (every test member shares this machine's 127.0.0.1). Returns the config path.
 */
export function writeLocalEtcdConfig(spec: ClusterSpec, member: PlannedHost, members: readonly PlannedHost[], pkiDir: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "etcd.conf.yml");
  writeFileSync(path, stringify(etcdConfig(spec, member, members, { pkiDir, dataDir: join(dir, "data"), localAddress: member.address })));
  return path;
}

export interface EtcdClientFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** The etcd CA and a client certificate from one etcd pki folder. */
export function etcdClient(pkiDir: string, cert: string): EtcdClientFiles {
  return { ca: `${pkiDir}/ca.crt`, cert: `${pkiDir}/${cert}.crt`, key: `${pkiDir}/${cert}.key` };
}

/** etcdctl (API v3) against `endpoints` with a client certificate. */
export function etcdctlWith(endpoints: string, client: EtcdClientFiles, timeouts = ["--dial-timeout=2s", "--command-timeout=5s"]) {
  return (...args: string[]) =>
    run("etcdctl", [`--endpoints=${endpoints}`, `--cacert=${client.ca}`, `--cert=${client.cert}`, `--key=${client.key}`, ...timeouts, ...args], { env: { ...process.env, ETCDCTL_API: "3" } });
}
