import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { loadSpecFile, requireSpec, validateSpec } from "../../spec";
import { planAddresses } from "../../spec/addresses";
import { certificateInventory, resolveAltNames } from "../../pki/inventory";
import { issuePki } from "../../pki/issue";
import { awsBase, EXAMPLES_DIR } from "../helpers";

const example = (name: string) => requireSpec(loadSpecFile(join(EXAMPLES_DIR, name)));
const ids = (spec: ReturnType<typeof example>) => certificateInventory(spec, planAddresses(spec)).certificates.map((c) => c.id).sort();

const CP_KINDS = ["apiserver", "apiserver-kubelet-client", "apiserver-etcd-client", "front-proxy-client", "controller-manager", "scheduler"];
const ETCD_KINDS = ["etcd-server", "etcd-peer", "etcd-healthcheck-client"];
const NODE_KINDS = ["kubelet-client", "kubelet-serving"];
const expected = (hosts: { name: string; cp?: boolean; etcd?: boolean; node?: boolean }[]) =>
  [
    "admin",
    "super-admin",
    ...hosts.flatMap((h) => [
      ...(h.cp ? CP_KINDS : []),
      ...(h.etcd ? ETCD_KINDS : []),
      ...(h.node ? NODE_KINDS : []),
    ].map((k) => `${k}@${h.name}`)),
  ].sort();

test("inventory: external etcd HA (aws-ha)", () => {
  assert.deepEqual(ids(example("aws-ha.yaml")), expected([
    ...[1, 2, 3].map((i) => ({ name: `etcd-${i}`, etcd: true })),
    ...[1, 2, 3].map((i) => ({ name: `cp-${i}`, cp: true, node: true })),
    ...[1, 2, 3].map((i) => ({ name: `general-${i}`, node: true })),
  ]));
});

test("inventory: stacked HA (hosts-ha)", () => {
  assert.deepEqual(ids(example("hosts-ha.yaml")), expected([
    ...[1, 2, 3].map((i) => ({ name: `cp-${i}`, cp: true, etcd: true, node: true })),
    ...[1, 2].map((i) => ({ name: `w-${i}`, node: true })),
  ]));
});

test("inventory: single host with every role", () => {
  assert.deepEqual(ids(example("minimal.yaml")), expected([{ name: "solo", cp: true, etcd: true, node: true }]));
});

test("inventory: 100 workers", () => {
  const input = awsBase();
  input.workers = { pools: [{ name: "general", count: 100 }] };
  const spec = requireSpec(validateSpec(input));
  assert.deepEqual(ids(spec), expected([
    ...[1, 2, 3].map((i) => ({ name: `etcd-${i}`, etcd: true })),
    ...[1, 2, 3].map((i) => ({ name: `cp-${i}`, cp: true, node: true })),
    ...Array.from({ length: 100 }, (_, i) => ({ name: `general-${i + 1}`, node: true })),
  ]));
});

test("apiserver SANs: service names, first service IP, the host, localhost, endpoint and extraSANs", () => {
  const input = awsBase();
  input.kubernetes = { clusterDomain: "corp.local", apiServer: { extraSANs: ["api.example.com", "203.0.113.7"] } };
  const spec = requireSpec(validateSpec(input));
  const addresses = planAddresses(spec);
  const apiserver = certificateInventory(spec, addresses).certificates.find((c) => c.id === "apiserver@cp-2")!;
  const sans = resolveAltNames(apiserver.altNames, "prod-api-123.elb.eu-west-1.amazonaws.com");
  const cp2 = addresses.hosts.find((h) => h.name === "cp-2")!;
  assert.deepEqual(sans.dns.sort(), ["api.example.com", "cp-2", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.corp.local", "localhost", "prod-api-123.elb.eu-west-1.amazonaws.com"].sort());
  assert.deepEqual(sans.ips.sort(), ["10.96.0.1", cp2.address, "127.0.0.1", "203.0.113.7"].sort());
  assert.deepEqual(resolveAltNames(apiserver.altNames, "192.168.10.100").ips.includes("192.168.10.100"), true);
});

test("issued material: every certificate is signed by its CA and carries its subject", () => {
  const spec = example("hosts-ha.yaml");
  const addresses = planAddresses(spec);
  const inventory = certificateInventory(spec, addresses);
  const material = issuePki(inventory, "192.168.10.100");
  const cas = Object.fromEntries(Object.entries(material.cas).map(([id, c]) => [id, new X509Certificate(c.certificatePem)]));
  for (const ca of Object.values(cas)) {
    assert.equal(ca.ca, true);
    assert.ok(ca.verify(ca.publicKey), "CA is self-signed");
  }
  for (const cert of inventory.certificates) {
    const x = new X509Certificate(material.certificates[cert.id]!.certificatePem);
    assert.equal(x.ca, false, cert.id);
    assert.ok(x.verify(cas[cert.ca]!.publicKey), `${cert.id} signed by ${cert.ca}`);
    for (const other of Object.keys(cas).filter((c) => c !== cert.ca)) assert.ok(!x.verify(cas[other]!.publicKey), `${cert.id} not signed by ${other}`);
    assert.match(x.subject, new RegExp(`CN=${cert.subject.commonName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
    assert.ok(x.checkPrivateKey(require("node:crypto").createPrivateKey(material.certificates[cert.id]!.privateKeyPem)), `${cert.id} key matches`);
  }
  assert.equal(Buffer.from(material.encryptionKey, "base64").length, 32);
});

test("validity follows the spec: CAs caValidityDays, leaves certValidityDays", () => {
  const input = awsBase();
  input.pki = { caValidityDays: 1000, certValidityDays: 90, renewBeforeDays: 10 };
  const spec = requireSpec(validateSpec(input));
  const now = new Date("2026-11-22T12:00:00Z");
  const material = issuePki(certificateInventory(spec, planAddresses(spec)), "x.invalid", now);
  const days = (pem: string) => {
    const x = new X509Certificate(pem);
    return (Date.parse(x.validTo) - now.getTime()) / 86_400_000;
  };
  assert.equal(Math.round(days(material.cas.ca.certificatePem)), 1000);
  assert.equal(Math.round(days(material.certificates.admin!.certificatePem)), 90);
  assert.ok(Date.parse(new X509Certificate(material.cas.ca.certificatePem).validFrom) < now.getTime(), "notBefore allows clock skew");
});

test("parallel issuance (worker threads) yields a complete, valid set", async () => {
  const { issuePkiParallel } = await import("../../pki/issue-parallel");
  const input = awsBase();
  input.kubernetes = { podCIDR: "10.128.0.0/14" };
  input.workers = { pools: [{ name: "general", count: 200 }] };
  const spec = requireSpec(validateSpec(input));
  const inventory = certificateInventory(spec, planAddresses(spec));
  assert.ok(inventory.certificates.length >= 400, "large enough to use workers");
  const material = await issuePkiParallel(inventory, "x.invalid", new Date(), 2);
  assert.deepEqual(Object.keys(material.certificates).sort(), inventory.certificates.map((c) => c.id).sort());
  const caKeys = Object.fromEntries(Object.entries(material.cas).map(([id, c]) => [id, new X509Certificate(c.certificatePem).publicKey]));
  for (const cert of inventory.certificates) {
    const x = new X509Certificate(material.certificates[cert.id]!.certificatePem);
    assert.ok(x.verify(caKeys[cert.ca]!), cert.id);
    assert.ok(x.subject.endsWith(`CN=${cert.subject.commonName}`), cert.id);
  }
});
