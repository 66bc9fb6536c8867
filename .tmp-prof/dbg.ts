import { requireSpec, validateSpec } from "../spec";
import { planAddresses } from "../spec/addresses";
import { hostPlans } from "../hosts/host-plan";
import { certificateInventory } from "../pki/inventory";
import { shapeMaterial } from "../pki/issue";
import { hostsBase } from "../test/helpers";
const files = (etcd: string) => {
  const input: any = hostsBase(); input.kubernetes = { version: "1.36.3" }; input.etcd = { version: etcd };
  const spec = requireSpec(validateSpec(input)); const addresses = planAddresses(spec);
  const p = hostPlans({ spec, addresses, material: shapeMaterial(certificateInventory(spec, addresses)), apiEndpointHost: "x" })[0]!;
  const st = p.steps.find((s) => s.name === "kubelet-start")!;
  return new Map(p.files.filter((f) => [st.script, ...st.triggers].includes(f.path)).map((f) => [f.path, f.content]));
};
const a = files("3.6.13"), b = files("3.6.14");
for (const [k, v] of a) if (b.get(k) !== v) console.log(k, "\n", v.slice(0, 300), "\n---\n", b.get(k)?.slice(0, 300));
