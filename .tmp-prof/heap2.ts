import * as harness from "/work/main/test/program/harness";
import { benchSpec } from "/work/main/test/bench/specs";
import { writeHeapSnapshot } from "node:v8";
const pulumi = require("@pulumi/pulumi");
(async () => {
  process.setSourceMapsEnabled(false);
  const orig = pulumi.runtime.setMocks;
  let n = 0;
  pulumi.runtime.setMocks = (mocks: any, ...rest: any[]) => orig({ ...mocks, newResource: async (a: any) => { n++; if (n === Number(process.argv[3])) { process.stderr.write(JSON.stringify(process.memoryUsage()) + "\n"); writeHeapSnapshot("/tmp/mid.heapsnapshot"); } return mocks.newResource(a); } }, ...rest);
  await harness.runIndex({ "drydock:cluster": JSON.stringify(benchSpec(Number(process.argv[2]))) }, { keepInputs: false });
})();
