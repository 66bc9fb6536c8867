// `pulumi preview` of index.ts by the real engine (the toolchain's Pulumi CLI, the command
// provider stand-in) for a hosts spec, in a fresh process: wall time, this process's peak
// memory (the program, served inline) and the engine's (pulumi and its plugins, from /usr/bin/time).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineStack } from "../e2e/engine";
import { BIN_DIR } from "../toolchain/build";
import { ROOT } from "../helpers";
import { hostsBenchSpec } from "./specs";

async function main() {
  const workers = Number(process.argv[2]);
  // "checkpoints": the file backend writes the whole state after every step (quadratic in resources).
  const checkpoints = process.argv[3] === "checkpoints";
  process.setSourceMapsEnabled(false);
  const work = mkdtempSync(join(tmpdir(), "drydock-bench-engine-"));
  try {
    // The engine's peak memory: each pulumi process (and its plugins, which it waits for) under /usr/bin/time.
    const wrapped = join(work, "cli");
    mkdirSync(join(wrapped, "bin"), { recursive: true });
    const rss = join(work, "rss");
    writeFileSync(join(wrapped, "bin", "pulumi"), `#!/bin/sh\nexec /usr/bin/time -a -o ${rss} -f '%M' ${join(BIN_DIR, "pulumi")} "$@"\n`);
    chmodSync(join(wrapped, "bin", "pulumi"), 0o755);
    const entry = require.resolve(join(ROOT, "index.ts"));
    const engine = await EngineStack.create({ workDir: work, stackName: "bench", program: async () => require(entry), cliRoot: wrapped, env: checkpoints ? {} : { PULUMI_SKIP_CHECKPOINTS: "true" } });
    await engine.setConfig({
      "drydock:cluster": { value: JSON.stringify(hostsBenchSpec(workers)) },
      "drydock:sshPrivateKey": { value: "-----BEGIN OPENSSH PRIVATE KEY-----\nbench-only\n-----END OPENSSH PRIVATE KEY-----\n", secret: true },
    });
    const started = performance.now();
    const preview = await engine.preview();
    const ms = performance.now() - started;
    const engineKiB = existsSync(rss) ? Math.max(...readFileSync(rss, "utf8").split("\n").map(Number).filter((n) => n > 0)) : NaN;
    process.stdout.write(JSON.stringify({ ms, creates: preview.changeSummary.create ?? 0, programMaxRssMB: process.resourceUsage().maxRSS / 1024, engineMaxRssMB: engineKiB / 1024 }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
