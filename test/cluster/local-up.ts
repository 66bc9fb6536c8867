// npm run local:up — a real HA cluster on this machine from examples/local-ha.yaml, offline:
// builds (or finds cached) every binary and image, serves them on the cluster's bridge,
// runs `pulumi up` with the real engine, and writes an admin kubeconfig. Run again: it updates
// the same stack. npm run local:down destroys it and stops the servers.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryPath, buildToolchain, CLUSTER_SETS } from "../toolchain/build";
import { configure, openEngine, prepareLocalCluster } from "./local-cluster";

export const LOCAL_DIR = process.env.DRYDOCK_LOCAL_DIR ?? "/var/tmp/drydock-local";
const PIDS = join(LOCAL_DIR, "servers.pids");
const log = (line: string) => console.log(`local: ${line}`);

function serversRunning(): boolean {
  if (!existsSync(PIDS)) return false;
  const pids = readFileSync(PIDS, "utf8").split("\n").filter(Boolean).map(Number);
  return pids.length > 0 && pids.every((pid) => existsSync(`/proc/${pid}`));
}

/** Servers outlive this command (the machines pull images later): detached, their PIDs kept for local:down. */
function startDetached(cmd: string, args: string[]): void {
  const out = openSync(join(LOCAL_DIR, "servers.log"), "a");
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", out, out] });
  child.unref();
  closeSync(out);
  writeFileSync(PIDS, `${child.pid}\n`, { flag: "a" });
}

export function stopServers(): void {
  if (!existsSync(PIDS)) return;
  for (const pid of readFileSync(PIDS, "utf8").split("\n").filter(Boolean).map(Number)) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  rmSync(PIDS, { force: true });
}

/** Brings the cluster up (or updates it) and writes its admin kubeconfig; returns that file. */
export async function upLocalCluster(): Promise<string> {
  buildToolchain(log, CLUSTER_SETS);
  mkdirSync(LOCAL_DIR, { recursive: true });
  let spec = join(LOCAL_DIR, "cluster.yaml");
  if (!serversRunning()) {
    stopServers();
    const prepared = await prepareLocalCluster(LOCAL_DIR, startDetached, log);
    spec = prepared.specFile;
  }
  const { engine, logFile } = await openEngine(LOCAL_DIR);
  await configure(engine, spec, join(LOCAL_DIR, "id_ed25519"));
  log(`pulumi up (the engine's output: ${logFile})`);
  const started = Date.now();
  const up = await engine.up();
  const kubeconfig = join(LOCAL_DIR, "admin.kubeconfig");
  writeFileSync(kubeconfig, up.outputs.adminKubeconfig!.value as string, { mode: 0o600 });
  log(`${up.summary.result} in ${((Date.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(up.summary.resourceChanges)}`);
  return kubeconfig;
}

async function main(): Promise<void> {
  const kubeconfig = await upLocalCluster();
  log(`kubectl: ${binaryPath("kubectl")} --kubeconfig ${kubeconfig} get nodes`);
  log("take it down: npm run local:down");
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`local:up failed: ${err.message.split("\n").slice(-20).join("\n")}`);
    process.exit(1);
  });
}
