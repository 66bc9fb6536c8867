// The PKI in the Pulumi program: one resource per certificate, private keys only
// ever as secrets, and no churn: state carried from run to run the way the
// engine carries it, with the providers' own diff and update.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { join } from "node:path";
import { parse } from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { loadSpecFile, requireSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";
import { certificateInventory } from "../../pki/inventory";
import { EXAMPLES_DIR, hostsBase } from "../helpers";
import { isSecretValue, resolveOutput, runIndex, stateOf, type ProgramRun } from "./harness";

const DYNAMIC = "pulumi-nodejs:dynamic/drydock:";
const inline = (spec: Record<string, any>) => ({ "drydock:cluster": JSON.stringify(spec) });

/** Every string that holds a private key must sit inside a secret. */
function assertKeysAreSecret(value: unknown, path: string): void {
  if (isSecretValue(value)) return;
  if (typeof value === "string") {
    assert.ok(!/PRIVATE KEY/.test(value), `${path} holds a private key outside a secret`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertKeysAreSecret(v, `${path}[${i}]`));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertKeysAreSecret(v, `${path}.${k}`);
  }
}

function certificates(run: ProgramRun) {
  return run.resources.filter((r) => r.type === `${DYNAMIC}Certificate`);
}

test("aws-ha: one Certificate per inventory entry, three CAs, one service-account key, one encryption key", async () => {
  const file = join(EXAMPLES_DIR, "aws-ha.yaml");
  const run = await runIndex({ "drydock:specFile": file });
  const spec = requireSpec(loadSpecFile(file));
  const inventory = certificateInventory(spec, planAddresses(spec));
  const count = (type: string) => run.resources.filter((r) => r.type === `${DYNAMIC}${type}`).length;
  assert.equal(count("Certificate"), inventory.certificates.length);
  assert.equal(count("CertificateAuthority"), 3);
  assert.equal(count("PrivateKey"), 1);
  assert.equal(count("RandomKey"), 1);
  assert.deepEqual(
    certificates(run).map((r) => r.name).sort(),
    inventory.certificates.map((c) => `prod-${c.id.replace("@", "-")}`).sort(),
  );
  assert.ok(run.resources.some((r) => r.type === "drydock:index:Pki" && r.name === "prod-pki"));
});

test("every resource input and state holding key material is a secret, on every example", async () => {
  for (const file of ["aws-ha.yaml", "hosts-ha.yaml", "minimal.yaml"]) {
    const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, file) });
    for (const r of run.resources) {
      assertKeysAreSecret(r.inputs, `${r.name}.inputs`);
      assertKeysAreSecret(r.state, `${r.name}.state`);
      assert.doesNotMatch(r.name, /PRIVATE|BEGIN/);
    }
    const enc = run.resources.find((r) => r.type === `${DYNAMIC}RandomKey`)!;
    assert.ok(isSecretValue(enc.state.keyBase64), "encryption key is secret");
  }
});

test("the admin kubeconfig output is a secret whose client certificate chains to the cluster CA in state", async () => {
  const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, "hosts-ha.yaml") });
  const { value, secret } = await resolveOutput(run.exports.adminKubeconfig as pulumi.Output<string>);
  assert.equal(secret, true);
  const config = parse(value);
  assert.equal(config.clusters[0].cluster.server, "https://192.168.10.100:8443", "haproxy on the VIP");
  const ca = new X509Certificate(Buffer.from(config.clusters[0].cluster["certificate-authority-data"], "base64"));
  const client = new X509Certificate(Buffer.from(config.users[0].user["client-certificate-data"], "base64"));
  assert.ok(client.verify(ca.publicKey));
  assert.match(client.subject, /O=kubeadm:cluster-admins/);
  assert.ok(client.checkPrivateKey(createPrivateKey(Buffer.from(config.users[0].user["client-key-data"], "base64").toString())));
  const caState = run.resources.find((r) => r.name === "lab-ca")!;
  assert.equal(ca.toString().trim(), (caState.state.certificatePem as string).trim());
  const { value: endpoint, secret: endpointSecret } = await resolveOutput(run.exports.apiEndpoint as pulumi.Output<string>);
  assert.equal(endpoint, "https://192.168.10.100:8443");
  assert.equal(endpointSecret, false);
});

test("re-running on an unchanged spec changes nothing", async () => {
  const config = { "drydock:specFile": join(EXAMPLES_DIR, "hosts-ha.yaml") };
  const first = await runIndex(config);
  const second = await runIndex(config, { priorState: stateOf(first) });
  const changed = second.resources.filter((r) => r.type.startsWith(DYNAMIC) && r.operation !== "same");
  assert.deepEqual(changed.map((r) => `${r.name}:${r.operation}`), []);
  assert.ok(second.resources.filter((r) => r.operation === "same").length > 30);
});

test("a SAN change reissues exactly the certificates that carry it", async () => {
  const spec = hostsBase();
  const first = await runIndex(inline(spec));
  spec.kubernetes = { apiServer: { extraSANs: ["api.example.com"] } };
  const second = await runIndex(inline(spec), { priorState: stateOf(first) });
  const changed = second.resources.filter((r) => r.type.startsWith(DYNAMIC) && r.operation !== "same").map((r) => `${r.name}:${r.operation}`);
  assert.deepEqual(changed.sort(), ["test-apiserver-cp-1:update", "test-apiserver-cp-2:update", "test-apiserver-cp-3:update"]);
  const reissued = second.resources.find((r) => r.name === "test-apiserver-cp-1")!;
  assert.match(new X509Certificate(reissued.state.certificatePem).subjectAltName!, /DNS:api\.example\.com/);
});

test("a certificate inside renewBeforeDays is reissued on the next run; the others are not", async () => {
  const config = { "drydock:specFile": join(EXAMPLES_DIR, "minimal.yaml") };
  const first = await runIndex(config);
  const prior = stateOf(first);
  const admin = prior.get("minimal-admin")!;
  const soon = new Date(Date.now() + 10 * 86_400_000).toISOString(); // 10 days < renewBeforeDays 30
  prior.set("minimal-admin", { ...admin, state: { ...admin.state, notAfter: soon } });
  const second = await runIndex(config, { priorState: prior });
  const changed = second.resources.filter((r) => r.type.startsWith(DYNAMIC) && r.operation !== "same").map((r) => r.name);
  assert.deepEqual(changed, ["minimal-admin"]);
  const renewed = second.resources.find((r) => r.name === "minimal-admin")!;
  assert.ok(Date.parse(renewed.state.notAfter) > Date.now() + 360 * 86_400_000);
});

test("bumping pki.rotation reissues every leaf and keeps the CAs and keys", async () => {
  const spec = hostsBase();
  const first = await runIndex(inline(spec));
  spec.pki = { rotation: 1 };
  const second = await runIndex(inline(spec), { priorState: stateOf(first) });
  for (const r of second.resources.filter((r) => r.type.startsWith(DYNAMIC))) {
    const expected = r.type.endsWith(":Certificate") ? "update" : "same";
    assert.equal(r.operation, expected, `${r.name} (${r.type})`);
  }
  const before = first.resources.find((r) => r.name === "test-ca")!;
  const after = second.resources.find((r) => r.name === "test-ca")!;
  assert.equal(after.state.certificatePem, before.state.certificatePem);
});

test("adding a worker creates only that worker's certificates", async () => {
  const spec = hostsBase();
  const first = await runIndex(inline(spec));
  spec.infrastructure.hosts.push({ name: "w-2", address: "192.168.10.22", roles: ["worker"], pool: "general" });
  const second = await runIndex(inline(spec), { priorState: stateOf(first) });
  const changed = second.resources.filter((r) => r.type.startsWith(DYNAMIC) && r.operation !== "same").map((r) => `${r.name}:${r.operation}`);
  assert.deepEqual(changed.sort(), ["test-kubelet-client-w-2:create", "test-kubelet-serving-w-2:create"]);
});

test("stack outputs: whatever holds key material is a secret; the rest holds none", async () => {
  for (const file of ["aws-ha.yaml", "hosts-ha.yaml"]) {
    const run = await runIndex({ "drydock:specFile": join(EXAMPLES_DIR, file) });
    const names = Object.keys(run.exports);
    assert.deepEqual(names.sort(), ["adminKubeconfig", "apiEndpoint", "bastionAddress", "nodes"]);
    for (const name of names) {
      const { value, secret } = await resolveOutput(run.exports[name] as pulumi.Output<unknown>);
      const text = JSON.stringify(value) ?? "";
      const holdsKey = /PRIVATE KEY|client-key-data/.test(text);
      if (holdsKey) assert.equal(secret, true, `${file}: ${name} holds key material and must be secret`);
      else assert.doesNotMatch(text, /LS0tLS1CRUdJTi/, `${file}: ${name}`);
    }
  }
});
