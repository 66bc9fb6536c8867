// Runs `drydock render` in this fresh process and reports its peak memory.
import { run } from "../../cli/main";

async function main() {
  const [spec, out] = process.argv.slice(2);
  const started = performance.now();
  const code = await run(["render", spec!, "--out", out!], { out: () => {}, err: (l) => process.stderr.write(`${l}\n`) });
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ code, ms, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}
main();
