// Every object in cluster/manifests and every static pod validates against the
// Kubernetes OpenAPI schemas (kubernetes-models; its schemas include
// resource.k8s.io/v1, i.e. Kubernetes 1.34 or newer). Unknown fields are caught at
// compile time: the renderers build objects against the same package's types.
import { STAGED_POD_DIR } from "../../hosts/control-plane";
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { requireSpec, validateSpec, loadSpecFile } from "../../spec";
import { renderCluster } from "../../hosts/render";
import { CNIS, PROXY_MODES } from "../../spec/schema";
import { exampleFiles, hostsBase } from "../helpers";

/** Custom resources of upstream projects: no Kubernetes schema to check against. */
const CUSTOM_RESOURCES = new Set(["operator.tigera.io/v1/Installation"]);

const modulePath = (apiVersion: string) => (apiVersion === "v1" ? "kubernetes-models/v1" : `kubernetes-models/${apiVersion}`);

async function validateObject(obj: any, where: string): Promise<void> {
  const key = `${obj.apiVersion}/${obj.kind}`;
  if (CUSTOM_RESOURCES.has(key)) return;
  const mod = await import(modulePath(obj.apiVersion));
  const Model = mod[obj.kind];
  assert.ok(Model, `${where}: no model for ${key}`);
  try {
    new Model(obj).validate();
  } catch (err) {
    assert.fail(`${where}: ${key} ${obj.metadata?.name}: ${(err as Error).message}`);
  }
}

function renders() {
  const specs = exampleFiles().map((f) => requireSpec(loadSpecFile(f)));
  for (const cni of CNIS) {
    for (const proxyMode of PROXY_MODES) {
      if (proxyMode === "none" && cni !== "cilium") continue;
      const input = hostsBase();
      input.network = { cni, proxyMode };
      specs.push(requireSpec(validateSpec(input)));
    }
  }
  return specs.map((s) => renderCluster(s));
}

test("every cluster manifest and static pod validates against the Kubernetes schemas", async () => {
  let checked = 0;
  const kinds = new Set<string>();
  for (const tree of renders()) {
    for (const f of tree.files) {
      const isManifest = f.path.startsWith("cluster/manifests/") || f.path.includes(`${STAGED_POD_DIR}/`);
      if (!isManifest) continue;
      for (const doc of parseAllDocuments(f.content)) {
        assert.deepEqual(doc.errors, [], f.path);
        const obj = doc.toJS();
        await validateObject(obj, f.path);
        kinds.add(`${obj.apiVersion}/${obj.kind}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 200, `objects checked: ${checked}`);
  for (const kind of ["v1/Pod", "apps/v1/DaemonSet", "apps/v1/Deployment", "v1/Service", "v1/ConfigMap", "rbac.authorization.k8s.io/v1/ClusterRoleBinding", "apiregistration.k8s.io/v1/APIService", "v1/Namespace"]) {
    assert.ok(kinds.has(kind), `rendered and checked: ${kind}`);
  }
});

test("the schema check bites: a wrong type in a rendered object fails validation", async () => {
  const tree = renderCluster(requireSpec(loadSpecFile(exampleFiles()[0]!)));
  const pod = parseAllDocuments(tree.files.find((f) => f.path.endsWith("/kube-apiserver.yaml"))!.content)[0]!.toJS();
  pod.spec.containers[0].ports = [{ containerPort: "https" }];
  await assert.rejects(validateObject(pod, "mutated"), /containerPort must be integer/);
});
