import { runIndex } from "../test/program/harness";
async function main() {
  const workers = Number(process.argv[2]);
  process.setSourceMapsEnabled(false);
  const hosts = [1, 2, 3].map((i) => ({ name: `cp-${i}`, address: `10.0.0.${10 + i}`, roles: ["controlPlane", "etcd"] }));
  for (let i = 0; i < workers; i++) hosts.push({ name: `w-${i}`, address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, roles: ["worker"] });
  const spec = { name: "hb", kubernetes: { podCIDR: "10.128.0.0/12", nodeCIDRMaskSize: 24 }, infrastructure: { provider: "hosts", hosts, apiEndpoint: { vip: "10.0.0.100" } } };
  const started = performance.now();
  const result = await runIndex({ "drydock:cluster": JSON.stringify(spec) }, { keepInputs: false });
  process.stdout.write(JSON.stringify({ ms: performance.now() - started, resources: result.resources.length, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}
main();
