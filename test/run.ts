// The test command: builds the Go toolchain if its cache is cold (kubectl, the Pulumi CLI),
// puts it first on PATH, and runs node's test runner over the named tiers.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BIN_DIR, buildToolchain, CLUSTER_SETS, UPGRADE_SET } from "./toolchain/build";

const TIERS = ["unit", "program", "integration", "e2e", "cluster"];

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith(".test.ts") ? [path] : [];
    })
    .sort();
}

const tiers = process.argv.slice(2);
const unknown = tiers.filter((t) => !TIERS.includes(t));
if (tiers.length === 0 || unknown.length > 0) {
  console.error(`usage: node --import tsx test/run.ts <${TIERS.join("|")}>...`);
  process.exit(2);
}
try {
  // The cluster tier also needs the machines' binaries (Kubernetes, containerd, etcd, CNI, CoreDNS,
  // metrics-server) and the Kubernetes version it upgrades to.
  buildToolchain(console.log, tiers.includes("cluster") ? [...CLUSTER_SETS, UPGRADE_SET] : ["bin"]);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
// The cluster tier (five machines on 2 cores) runs alone, after the others: beside it, the
// end-to-end suites' timing under writes would measure its load rather than drydock.
const runFiles = (files: string[]) =>
  files.length === 0
    ? 0
    : (spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files], {
        stdio: "inherit",
        env: { ...process.env, PATH: `${BIN_DIR}:${process.env.PATH ?? ""}` },
      }).status ?? 1);
const others = runFiles(tiers.filter((t) => t !== "cluster").flatMap((tier) => testFiles(join(__dirname, tier))));
const cluster = runFiles(tiers.includes("cluster") ? testFiles(join(__dirname, "cluster")) : []);
process.exit(others !== 0 ? others : cluster);
