// Runs the real Pulumi program under mocks (providers executed) in a fresh process.
import { runIndex } from "../program/harness";
import { benchSpec } from "./specs";

async function main() {
  const workers = Number(process.argv[2]);
  const started = performance.now();
  const result = await runIndex({ "drydock:cluster": JSON.stringify(benchSpec(workers)) });
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ ms, resources: result.resources.length, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}
main();
