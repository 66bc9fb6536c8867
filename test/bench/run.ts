// npm run bench: one table of drydock's speed and memory for 3 etcd + 3 control
// plane + {10, 100, 1000} workers, with an openssl baseline measured in the same run.
import { spawnSync } from "node:child_process";
import { cpus, totalmem, tmpdir } from "node:os";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { requireSpec, validateSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";
import { certificateInventory } from "../../pki/inventory";
import { issuePkiParallel } from "../../pki/issue-parallel";
import { sequentialStages } from "../../hosts/stages";
import { ROOT } from "../helpers";
import { benchSpec, SIZES } from "./specs";
import { opensslScript } from "./openssl";

const TSX = ["--import", "tsx"];

/** Node arguments Pulumi's language host runs the program with (Pulumi.yaml runtime.options.nodeargs). */
export function programNodeArgs(): string[] {
  const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { runtime?: { options?: { nodeargs?: string } } };
  return (project.runtime?.options?.nodeargs ?? "").split(/\s+/).filter(Boolean);
}

function child<T>(script: string, args: string[], nodeArgs: string[] = []): T & { wallMs: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, [...nodeArgs, ...TSX, join(__dirname, script), ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20, timeout: 600_000 });
  const wallMs = performance.now() - started;
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return { ...(JSON.parse(r.stdout) as T), wallMs };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "drydock-bench-"));
  const rows: string[] = [];
  const programs: Record<number, { resources: number }> = {};
  const stages: Record<number, number> = {};
  try {
    for (const workers of SIZES) {
      const specPath = join(work, `spec-${workers}.json`);
      writeFileSync(specPath, JSON.stringify(benchSpec(workers)));
      // Output on tmpfs (the disk of a shared build machine is noisy), then on disk.
      const memOut = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "drydock-bench-"));
      const render = child<{ code: number; ms: number; maxRssMB: number }>("render-child.ts", [specPath, memOut]);
      rmSync(memOut, { recursive: true, force: true });
      const out = join(work, `out-${workers}`);
      const onDisk = child<{ code: number; ms: number; maxRssMB: number }>("render-child.ts", [specPath, out]);
      const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8"));
      stages[workers] = sequentialStages(plan.steps);
      const program = child<{ ms: number; resources: number; maxRssMB: number }>("program-child.ts", [String(workers)], programNodeArgs());
      programs[workers] = program;
      rows.push(
        `| ${workers} | ${(render.wallMs / 1000).toFixed(2)} s | ${(onDisk.wallMs / 1000).toFixed(2)} s | ${render.maxRssMB.toFixed(0)} MiB | ${(program.wallMs / 1000).toFixed(2)} s | ${program.maxRssMB.toFixed(0)} MiB | ${program.resources} | ${stages[workers]} |`,
      );
      rmSync(out, { recursive: true, force: true });
    }

    // PKI: the full 1000-worker set, drydock vs the openssl command line, same run.
    const spec = requireSpec(validateSpec(benchSpec(1000)));
    const inventory = certificateInventory(spec, planAddresses(spec));
    const certCount = inventory.certificates.length + 3;
    const started = performance.now();
    await issuePkiParallel(inventory, "bench-api.invalid");
    const drydockMs = (performance.now() - started) / certCount;
    const osslDir = join(work, "openssl");
    spawnSync("mkdir", ["-p", osslDir]);
    writeFileSync(join(osslDir, "pki.sh"), opensslScript(inventory, "bench-api.invalid"));
    const osslStarted = performance.now();
    const ossl = spawnSync("bash", ["pki.sh"], { cwd: osslDir, encoding: "utf8", timeout: 1_800_000 });
    const opensslMs = (performance.now() - osslStarted) / certCount;
    if (ossl.status !== 0) throw new Error(`openssl script failed: ${ossl.stderr}`);

    // The real engine (toolchain Pulumi CLI, command provider stand-in): `pulumi preview` of a hosts spec.
    // Without checkpoints (PULUMI_SKIP_CHECKPOINTS) at every size; with them (the file backend's
    // default: the whole state written after each step) at a size where that still ends.
    const engineRows = ([[10, ""], [100, ""], [1000, ""], [100, "checkpoints"]] as const).map(([workers, mode]) => {
      const r = child<{ ms: number; creates: number; programMaxRssMB: number; engineMaxRssMB: number }>("engine-preview-child.ts", [String(workers), mode], programNodeArgs());
      return `| ${workers} | ${mode ? "on" : "off"} | ${(r.ms / 1000).toFixed(1)} s | ${(r.wallMs / 1000).toFixed(1)} s | ${r.engineMaxRssMB.toFixed(0)} MiB | ${r.programMaxRssMB.toFixed(0)} MiB | ${r.creates} |`;
    });

    const perWorker = (programs[1000]!.resources - programs[10]!.resources) / 990;
    const table = [
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      "",
      "| workers | render wall (tmpfs) | render wall (disk) | render peak RSS | program (mocks) wall | program peak RSS | resources | sequential stages |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows,
      "",
      `PKI for 3 etcd + 3 control plane + 1000 workers: ${certCount} certificates (CAs included).`,
      "",
      "| | ms per certificate |",
      "| --- | ---: |",
      `| drydock (all cores) | ${drydockMs.toFixed(3)} |`,
      `| openssl command-line script | ${opensslMs.toFixed(2)} |`,
      `| ratio | ${(opensslMs / drydockMs).toFixed(1)}× |`,
      "",
      `Pulumi resources per worker (1000 vs 10 workers): ${perWorker.toFixed(2)}`,
      "",
      "Real `pulumi preview` (Pulumi CLI 3.274.1 from the toolchain, inline program) of 3 stacked control planes + N workers on hosts:",
      "",
      "| workers | checkpoints | preview | process wall (start-up included) | engine peak RSS | program peak RSS | resources to create |",
      "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
      ...engineRows,
      "",
      "Targets: render of 1000 workers ≤ 5 s and ≤ 1 GiB; PKI ≤ 1 ms per certificate and ≥ 20× the openssl script;",
      "program under mocks for 1000 workers ≤ 60 s and ≤ 2 GiB, ≤ 8 resources per worker; stages equal for 10 and 1000 workers;",
      "real pulumi preview of 3 control planes + 1000 workers ≤ 60 s and ≤ 2 GiB (engine and program each).",
    ].join("\n");
    process.stdout.write(`${table}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
