import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  certificateProvider,
  diffCa,
  diffCertificate,
  issueCaFromInputs,
  issueFromInputs,
  type CertificateInputs,
} from "../../components/providers";
import { ROOT } from "../helpers";

const ca = issueCaFromInputs({ commonName: "kubernetes", algorithm: "ecdsa-p256", validityDays: 3650 });
const inputs: CertificateInputs = {
  commonName: "kube-apiserver",
  organizations: [],
  usage: "server",
  dnsNames: ["kubernetes", "cp-1"],
  ipAddresses: ["10.96.0.1", "192.168.10.11"],
  algorithm: "ecdsa-p256",
  validityDays: 365,
  renewBeforeDays: 30,
  rotation: 0,
  caCertificatePem: ca.certificatePem,
  caPrivateKeyPem: ca.privateKeyPem,
};
const issued = { ...inputs, ...issueFromInputs(inputs) };

test("diff: unchanged inputs report no change", () => {
  assert.deepEqual(diffCertificate(issued, { ...inputs }), { changes: false, reasons: [] });
});

test("diff: a SAN change reissues, naming the field", () => {
  assert.deepEqual(diffCertificate(issued, { ...inputs, dnsNames: [...inputs.dnsNames, "api.example.com"] }), { changes: true, reasons: ["dnsNames"] });
  assert.deepEqual(diffCertificate(issued, { ...inputs, ipAddresses: ["10.96.0.1"] }).reasons, ["ipAddresses"]);
});

test("diff: inside renewBeforeDays of expiry reissues; outside does not", () => {
  const now = new Date(Date.parse(issued.notAfter) - 29 * 86_400_000);
  assert.deepEqual(diffCertificate(issued, inputs, now).reasons, ["notAfter"]);
  const earlier = new Date(Date.parse(issued.notAfter) - 31 * 86_400_000);
  assert.equal(diffCertificate(issued, inputs, earlier).changes, false);
});

test("diff: a rotation bump or a new CA reissues; a different CA key alone does not", () => {
  assert.deepEqual(diffCertificate(issued, { ...inputs, rotation: 1 }).reasons, ["rotation"]);
  const otherCa = issueCaFromInputs({ commonName: "kubernetes", algorithm: "ecdsa-p256", validityDays: 3650 });
  assert.deepEqual(diffCertificate(issued, { ...inputs, caCertificatePem: otherCa.certificatePem, caPrivateKeyPem: otherCa.privateKeyPem }).reasons, ["caCertificatePem"]);
  assert.equal(diffCertificate(issued, { ...inputs, caPrivateKeyPem: "unused-by-diff" }).changes, false);
});

test("CA diff: persists across validity changes; a new algorithm or name makes a new CA", () => {
  const base = { commonName: "kubernetes", algorithm: "ecdsa-p256" as const, validityDays: 3650 };
  assert.equal(diffCa(base, { ...base, validityDays: 7300 }).changes, false);
  assert.deepEqual(diffCa(base, { ...base, algorithm: "rsa-2048" }).reasons, ["algorithm"]);
});

/** The resource's wire shape: the request as one property, the CA key apart. */
const wire = ({ caPrivateKeyPem, ...request }: CertificateInputs) => ({ request, caPrivateKeyPem });

test("update reissues with a new key; state never keeps the CA key", async () => {
  const created = await certificateProvider.create(wire(inputs));
  assert.equal(created.outs.caPrivateKeyPem, undefined);
  assert.equal(JSON.stringify(created.outs).includes(ca.privateKeyPem), false);
  const updated = await certificateProvider.update!("id", created.outs, wire({ ...inputs, rotation: 1 }));
  assert.notEqual(updated.outs.privateKeyPem, created.outs.privateKeyPem);
  assert.equal(JSON.stringify(updated.outs).includes(ca.privateKeyPem), false);
  // The provider's diff reads the stored request: unchanged inputs change nothing, a new SAN reissues.
  assert.equal((await certificateProvider.diff!("id", created.outs, wire(inputs))).changes, false);
  assert.equal((await certificateProvider.diff!("id", created.outs, wire({ ...inputs, dnsNames: ["other"] }))).changes, true);
  assert.ok(new X509Certificate(created.outs.certificatePem).verify(new X509Certificate(ca.certificatePem).publicKey));
});

test("the serialized provider issues a valid certificate in a fresh Node process (no TypeScript loader)", async () => {
  const serialized = await pulumi.runtime.serializeFunction(() => certificateProvider, { allowSecrets: true });
  const dir = mkdtempSync(join(tmpdir(), "drydock-provider-"));
  try {
    const providerFile = join(dir, "provider.js");
    const inputFile = join(dir, "inputs.json");
    writeFileSync(providerFile, serialized.text);
    writeFileSync(inputFile, JSON.stringify(wire(inputs)));
    // Loaded the way Pulumi's dynamic provider host loads it: require-from-string(...).handler().
    const script = `
      const fs = require("fs");
      const load = require("require-from-string");
      const provider = load(fs.readFileSync(${JSON.stringify(providerFile)}, "utf8"))[${JSON.stringify(serialized.exportName)}]();
      provider.create(JSON.parse(fs.readFileSync(${JSON.stringify(inputFile)}, "utf8")))
        .then((r) => process.stdout.write(r.outs.certificatePem));`;
    const child = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_OPTIONS: "" } });
    assert.equal(child.status, 0, child.stderr);
    const cert = new X509Certificate(child.stdout);
    assert.ok(cert.verify(new X509Certificate(ca.certificatePem).publicKey), "chains to the CA");
    assert.equal(cert.subjectAltName, "DNS:kubernetes, DNS:cp-1, IP Address:10.96.0.1, IP Address:192.168.10.11");
    assert.match(cert.subject, /CN=kube-apiserver/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
