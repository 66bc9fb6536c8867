// Kubelets renew their own client certificates (CIS 4.2.10): the kubelet asks for renewal, the
// controller manager signs with the cluster CA, and the CSR approver approves a node's renewal
// for itself because 00-rbac.yaml lets system:nodes create selfnodeclient requests. Until drydock
// writes a new kubeconfig the renewed certificate stands; after, the kubelet starts from drydock's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments, parse } from "yaml";
import { requireSpec, validateSpec } from "../../spec";
import { renderCluster } from "../../hosts/render";
import { dropRenewedClientCertificates } from "../../hosts/kubelet";
import { KUBECONFIG_PATHS, KUBELET_PKI_DIR } from "../../hosts/pki-files";
import { runOk } from "../integration/helpers";
import { hostsBase } from "../helpers";

test("every kubelet renews its client certificate; the serving certificate stays drydock's", () => {
  const tree = renderCluster(requireSpec(validateSpec(hostsBase())));
  const configs = tree.files.filter((f) => f.path.endsWith("/var/lib/kubelet/config.yaml"));
  assert.ok(configs.length >= 3, `kubelet configs: ${configs.length}`);
  for (const file of configs) {
    const config = parse(String(file.content));
    assert.equal(config.rotateCertificates, true, file.path);
    assert.equal(config.serverTLSBootstrap, false, file.path);
  }
  // The controller manager signs kubelet client CSRs with the cluster CA.
  const managers = tree.files.filter((f) => /kube-controller-manager\.yaml$/.test(f.path));
  assert.ok(managers.length >= 1);
  for (const file of managers) {
    const command: string[] = parse(String(file.content)).spec.containers[0].command;
    assert.ok(command.includes("--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt"), file.path);
    assert.ok(command.includes("--cluster-signing-key-file=/etc/kubernetes/pki/ca.key"), file.path);
    const controllers = command.find((c) => c.startsWith("--controllers="))?.slice("--controllers=".length).split(",") ?? ["*"];
    assert.ok(controllers.includes("*") && !controllers.includes("-csrapproving") && !controllers.includes("-csrsigning"), `${file.path}: the CSR approving and signing controllers run (${controllers})`);
  }
});

test("00-rbac.yaml lets system:nodes' own client renewals be approved, and nothing more", () => {
  const tree = renderCluster(requireSpec(validateSpec(hostsBase())));
  const rbac = tree.files.filter((f) => f.path.endsWith("/00-rbac.yaml"));
  assert.ok(rbac.length >= 1);
  for (const file of rbac) {
    const bindings = parseAllDocuments(String(file.content)).map((d) => d.toJS()).filter((o) => o?.kind === "ClusterRoleBinding");
    const renewal = bindings.filter((b) => b.roleRef.name === "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient");
    assert.equal(renewal.length, 1, file.path);
    assert.deepEqual(renewal[0].subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }]);
    // Not the bootstrap role: a node may renew its own certificate, not ask for another's.
    assert.ok(!bindings.some((b) => b.roleRef.name === "system:certificates.k8s.io:certificatesigningrequests:nodeclient"), file.path);
  }
});

test("the kubelet's renewed certificates stand until drydock writes a new kubeconfig", () => {
  const root = mkdtempSync(join(tmpdir(), "drydock-renewal-"));
  try {
    // The step's snippet, on a tree of its own.
    const at = (path: string) => join(root, path);
    const script = dropRenewedClientCertificates().replaceAll(KUBELET_PKI_DIR, at(KUBELET_PKI_DIR)).replaceAll(KUBECONFIG_PATHS.kubelet, at(KUBECONFIG_PATHS.kubelet));
    const renewed = at(`${KUBELET_PKI_DIR}/kubelet-client-current.pem`);
    const serving = at(`${KUBELET_PKI_DIR}/kubelet.crt`);
    mkdirSync(join(renewed, ".."), { recursive: true });
    mkdirSync(at("/etc/kubernetes"), { recursive: true });
    const runStep = () => runOk("bash", ["-euo", "pipefail", "-c", script]);

    writeFileSync(at(KUBECONFIG_PATHS.kubelet), "issued: 1\n");
    writeFileSync(renewed, "left by an earlier cluster\n");
    writeFileSync(serving, "drydock's serving certificate\n");
    runStep();
    assert.ok(!existsSync(renewed), "first provisioning: a renewed certificate drydock did not see issued is dropped");
    assert.ok(existsSync(serving), "the serving certificate is not the kubelet's to renew");

    writeFileSync(renewed, "renewed by the kubelet\n");
    runStep();
    assert.equal(readFileSync(renewed, "utf8"), "renewed by the kubelet\n", "same kubeconfig: the renewal stands");

    writeFileSync(at(KUBECONFIG_PATHS.kubelet), "issued: 2\n");
    runStep();
    assert.ok(!existsSync(renewed), "a new kubeconfig: the kubelet starts again from drydock's certificate");
    assert.ok(existsSync(serving));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
