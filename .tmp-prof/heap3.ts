import * as harness from "../test/program/harness";
import { writeHeapSnapshot } from "node:v8";
const pulumi = require("@pulumi/pulumi");
(async () => {
  process.setSourceMapsEnabled(false);
  const workers = Number(process.argv[2]);
  const hosts = [1, 2, 3].map((i) => ({ name: `cp-${i}`, address: `10.0.0.${10 + i}`, roles: ["controlPlane", "etcd"] }));
  for (let i = 0; i < workers; i++) hosts.push({ name: `w-${i}`, address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, roles: ["worker"] });
  const spec = { name: "hb", kubernetes: { podCIDR: "10.128.0.0/12", nodeCIDRMaskSize: 24 }, infrastructure: { provider: "hosts", hosts, apiEndpoint: { vip: "10.0.0.100" } } };
  const orig = pulumi.runtime.setMocks;
  let n = 0;
  const at = Number(process.argv[3]);
  pulumi.runtime.setMocks = (mocks: any, ...rest: any[]) => orig({ ...mocks, newResource: async (a: any) => { n++; if (n === at) { process.stderr.write(JSON.stringify(process.memoryUsage()) + "\n"); writeHeapSnapshot("/tmp/mid.heapsnapshot"); } return mocks.newResource(a); } }, ...rest);
  const r = await harness.runIndex({ "drydock:cluster": JSON.stringify(spec) }, { keepInputs: false });
  process.stderr.write(`total ${r.resources.length} at ${n}\n`);
})();
