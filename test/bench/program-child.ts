// Runs the real Pulumi program under mocks (providers executed) in a fresh process.
import { runIndex } from "../program/harness";
import { benchSpec } from "./specs";

async function main() {
  const workers = Number(process.argv[2]);
  // The SDK formats a stack trace per resource and per promise; tsx would source-map
  // each one. That is tooling cost, not the program's: measured without it.
  process.setSourceMapsEnabled(false);
  const started = performance.now();
  const result = await runIndex({ "drydock:cluster": JSON.stringify(benchSpec(workers)) }, { keepInputs: false });
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ ms, resources: result.resources.length, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}
main();
