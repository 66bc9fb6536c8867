// Every system pod drydock renders resolves names where it must: CoreDNS through the node's
// resolv.conf (it forwards there; the cluster DNS would be itself and its loop plugin stops
// it), pods on the host network through the node too, everything else through the cluster DNS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { requireSpec, validateSpec } from "../../spec";
import { renderCluster } from "../../hosts/render";
import { hostsBase } from "../helpers";
import { parseAllDocuments } from "yaml";

const WORKLOADS = new Set(["Deployment", "DaemonSet", "StatefulSet"]);

test("CoreDNS resolves upstream through the node (dnsPolicy Default); other system pods as Kubernetes does", async () => {
  let checked = 0;
  for (const cni of ["flannel", "bridge", "calico", "cilium"] as const) {
    const spec = requireSpec(validateSpec({ ...hostsBase(), network: { cni } }));
    const tree = renderCluster(spec);
    const manifests = tree.files.filter((f) => f.path.startsWith("cluster/manifests/") && f.path.endsWith(".yaml"));
    assert.ok(manifests.length > 0);
    for (const file of manifests) {
      for (const doc of parseAllDocuments(String(file.content))) {
        const object = doc.toJS() as any;
        if (!object || !WORKLOADS.has(object.kind)) continue;
        const pod = object.spec.template.spec;
        const name = `${cni}: ${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
        if (object.metadata.name === "coredns") {
          assert.equal(pod.dnsPolicy, "Default", `${name}: forwards to the node's resolvers`);
          const corefile = String(tree.files.find((f) => f.path === file.path)!.content);
          assert.match(corefile, /forward \. \/etc\/resolv\.conf/);
        } else if (pod.hostNetwork) {
          assert.ok(pod.dnsPolicy === undefined || pod.dnsPolicy === "ClusterFirstWithHostNet" || pod.dnsPolicy === "Default", name);
        } else {
          assert.ok(pod.dnsPolicy === undefined || pod.dnsPolicy === "ClusterFirst", `${name}: resolves cluster names`);
        }
        checked++;
      }
    }
  }
  // CoreDNS, kube-proxy and metrics-server for each CNI, plus flannel's DaemonSet.
  assert.ok(checked >= 13, `system workloads checked: ${checked}`);
});
