// Every rendered certificate checked with the openssl command line: chain to the
// right CA, subject, SANs, key usage, extended key usage, validity, key match.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { loadSpecFile, requireSpec, validateSpec } from "../../spec";
import { EXAMPLES_DIR, hostsBase } from "../helpers";
import { renderToTemp, requireBinaries, runOk, run, type RenderedDir } from "./helpers";

before(() => requireBinaries("openssl"));

interface Expectation {
  readonly ca: "ca" | "etcd-ca" | "front-proxy-ca";
  readonly subject: string;
  readonly eku: string;
  readonly sans?: (host: string) => string[];
}

/** What each rendered certificate must be, written from kubeadm's table (independent of pki/). */
function expectationFor(path: string, host: string, address: string): Expectation | null {
  const file = path.replace(/^.*\/etc\/kubernetes\/pki\//, "pki/").replace(/^.*\/var\/lib\/kubelet\/pki\//, "kubelet/");
  const both = "TLS Web Server Authentication, TLS Web Client Authentication";
  switch (file) {
    case "pki/apiserver.crt":
      return { ca: "ca", subject: "CN=kube-apiserver", eku: "TLS Web Server Authentication", sans: () => ["DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local", `DNS:${host}`, "DNS:localhost", "IP Address:10.96.0.1", `IP Address:${address}`, "IP Address:127.0.0.1"] };
    case "pki/apiserver-kubelet-client.crt":
      return { ca: "ca", subject: "CN=kube-apiserver-kubelet-client", eku: "TLS Web Client Authentication" };
    case "pki/apiserver-etcd-client.crt":
      return { ca: "etcd-ca", subject: "CN=kube-apiserver-etcd-client", eku: "TLS Web Client Authentication" };
    case "pki/front-proxy-client.crt":
      return { ca: "front-proxy-ca", subject: "CN=front-proxy-client", eku: "TLS Web Client Authentication" };
    case "pki/etcd/server.crt":
    case "pki/etcd/peer.crt":
      return { ca: "etcd-ca", subject: `CN=${host}`, eku: both, sans: () => [`DNS:${host}`, "DNS:localhost", `IP Address:${address}`, "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"] };
    case "pki/etcd/healthcheck-client.crt":
      return { ca: "etcd-ca", subject: "CN=kube-etcd-healthcheck-client", eku: "TLS Web Client Authentication" };
    case "kubelet/kubelet.crt":
      return { ca: "ca", subject: `O=system:nodes, CN=system:node:${host}`, eku: "TLS Web Server Authentication", sans: () => [`DNS:${host}`, `IP Address:${address}`] };
    default:
      return null;
  }
}

function text(certPath: string): string {
  return runOk("openssl", ["x509", "-noout", "-text", "-nameopt", "sep_comma_plus_space", "-in", certPath]);
}

function section(certText: string, heading: string): string {
  const lines = certText.split("\n");
  const i = lines.findIndex((l) => l.includes(heading));
  return i < 0 ? "" : lines[i + 1]!.trim();
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? walk(join(dir, e)) : [join(dir, e)]));
}

function checkTree(r: RenderedDir, algorithm: "ecdsa" | "rsa", endpoint: string) {
  const plan = r.tree.plan;
  const caPath = (host: string, ca: string) => r.host(host, ca === "ca" ? "/etc/kubernetes/pki/ca.crt" : ca === "etcd-ca" ? "/etc/kubernetes/pki/etcd/ca.crt" : "/etc/kubernetes/pki/front-proxy-ca.crt");
  // The CAs are the same on every host; take them from a control-plane host.
  const cp = plan.hosts.find((h) => h.roles.includes("controlPlane"))!.name;
  let checked = 0;
  for (const host of plan.hosts) {
    for (const certPath of walk(join(r.dir, "hosts", host.name)).filter((p) => p.endsWith(".crt"))) {
      const rel = relative(join(r.dir, "hosts", host.name), certPath);
      if (/(^|\/)(ca|front-proxy-ca)\.crt$/.test(rel)) continue;
      const want = expectationFor(certPath, host.name, host.address);
      assert.ok(want, `unexpected certificate ${host.name}:/${rel}`);
      const t = text(certPath);
      // Chain: verifies against its own CA, and not against another.
      runOk("openssl", ["verify", "-CAfile", caPath(cp, want.ca), certPath]);
      const wrong = want.ca === "ca" ? "etcd-ca" : "ca";
      assert.notEqual(run("openssl", ["verify", "-CAfile", caPath(cp, wrong), certPath]).code, 0, `${rel} must not verify against ${wrong}`);
      assert.match(t, new RegExp(`Subject: ${want.subject.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n`), `${host.name}:/${rel} subject`);
      assert.equal(section(t, "X509v3 Extended Key Usage"), want.eku, `${rel} EKU`);
      assert.equal(section(t, "X509v3 Key Usage: critical"), algorithm === "rsa" ? "Digital Signature, Key Encipherment" : "Digital Signature", `${rel} KU`);
      assert.equal(section(t, "X509v3 Basic Constraints: critical"), "CA:FALSE");
      const sans = section(t, "X509v3 Subject Alternative Name").split(", ").filter(Boolean);
      if (want.sans) {
        for (const san of want.sans(host.name)) assert.ok(sans.includes(san), `${host.name}:/${rel} lacks ${san}: ${sans.join(", ")}`);
        if (rel.endsWith("apiserver.crt")) assert.ok(sans.includes(endpoint), `apiserver SANs include the endpoint ${endpoint}`);
      } else {
        assert.deepEqual(sans, [], `${rel} is a client certificate without SANs`);
      }
      assert.match(t, algorithm === "rsa" ? /Signature Algorithm: sha256WithRSAEncryption/ : /Signature Algorithm: ecdsa-with-SHA256/);
      // The key file belongs to the certificate.
      const keyPath = certPath.replace(/\.crt$/, ".key");
      assert.equal(
        runOk("openssl", ["pkey", "-in", keyPath, "-pubout"]),
        runOk("openssl", ["x509", "-in", certPath, "-noout", "-pubkey"]),
        `${rel} key matches`,
      );
      assert.equal(statSync(keyPath).mode & 0o777, 0o600, `${rel} key is 0600`);
      // Valid now, for the spec's 365 days.
      runOk("openssl", ["x509", "-in", certPath, "-noout", "-checkend", String(364 * 86400)]);
      assert.notEqual(run("openssl", ["x509", "-in", certPath, "-noout", "-checkend", String(366 * 86400)]).code, 0, `${rel} expires after 365 days`);
      checked++;
    }
  }
  // CAs: CA:TRUE, certificate signing only, self-signed, 10 years.
  for (const ca of ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/etcd/ca.crt", "/etc/kubernetes/pki/front-proxy-ca.crt"]) {
    const path = r.host(cp, ca);
    const t = text(path);
    assert.equal(section(t, "X509v3 Basic Constraints: critical"), "CA:TRUE");
    assert.equal(section(t, "X509v3 Key Usage: critical"), "Certificate Sign, CRL Sign");
    runOk("openssl", ["verify", "-CAfile", path, path]);
    runOk("openssl", ["x509", "-in", path, "-noout", "-checkend", String(3649 * 86400)]);
  }
  return checked;
}

function clientCertOf(kubeconfigPath: string): string {
  const config = parse(readFileSync(kubeconfigPath, "utf8"));
  const pem = Buffer.from(config.users[0].user["client-certificate-data"], "base64").toString();
  const tmp = `${kubeconfigPath}.client.crt`;
  writeFileSync(tmp, pem);
  return runOk("openssl", ["x509", "-noout", "-subject", "-nameopt", "sep_comma_plus_space", "-in", tmp]).trim();
}

test("stacked HA (hosts-ha): every certificate verified with openssl", () => {
  const r = renderToTemp(requireSpec(loadSpecFile(join(EXAMPLES_DIR, "hosts-ha.yaml"))));
  try {
    const checked = checkTree(r, "ecdsa", "IP Address:192.168.10.100");
    // 3 stacked control planes x (6 cp + 3 etcd certs... on disk: 4 cp pairs + 3 etcd + kubelet) + 2 workers x kubelet
    assert.equal(checked, 3 * (4 + 3 + 1) + 2 * 1);
    // Kubeconfigs embed the right identities.
    assert.equal(clientCertOf(r.host("cp-1", "/etc/kubernetes/admin.conf")), "subject=O=kubeadm:cluster-admins, CN=kubernetes-admin");
    assert.equal(clientCertOf(r.host("cp-2", "/etc/kubernetes/controller-manager.conf")), "subject=CN=system:kube-controller-manager");
    assert.equal(clientCertOf(r.host("cp-3", "/etc/kubernetes/scheduler.conf")), "subject=CN=system:kube-scheduler");
    assert.equal(clientCertOf(r.host("w-2", "/etc/kubernetes/kubelet.conf")), "subject=O=system:nodes, CN=system:node:w-2");
    assert.equal(clientCertOf(join(r.dir, "cluster", "super-admin.kubeconfig")), "subject=O=system:masters, CN=kubernetes-super-admin");
    assert.equal(clientCertOf(join(r.dir, "cluster", "admin.kubeconfig")), "subject=O=kubeadm:cluster-admins, CN=kubernetes-admin");
    // Only the cluster CA key (for the controller manager's signing) leaves drydock's state.
    const keys = walk(join(r.dir, "hosts")).filter((p) => /ca\.key$/.test(p)).map((p) => relative(r.dir, p));
    assert.deepEqual(keys.sort(), ["hosts/cp-1/etc/kubernetes/pki/ca.key", "hosts/cp-2/etc/kubernetes/pki/ca.key", "hosts/cp-3/etc/kubernetes/pki/ca.key"]);
  } finally {
    r.cleanup();
  }
});

test("external etcd HA on aws: etcd hosts get only etcd material; apiserver has the NLB name", () => {
  const r = renderToTemp(requireSpec(loadSpecFile(join(EXAMPLES_DIR, "aws-ha.yaml"))), { apiEndpointHost: "prod-api-0123.elb.eu-west-1.amazonaws.com" });
  try {
    checkTree(r, "ecdsa", "DNS:prod-api-0123.elb.eu-west-1.amazonaws.com");
    const etcdFiles = walk(join(r.dir, "hosts", "etcd-1")).map((p) => relative(join(r.dir, "hosts", "etcd-1"), p)).filter((p) => p.startsWith("etc/kubernetes/")).sort();
    assert.deepEqual(etcdFiles, ["ca.crt", "healthcheck-client.crt", "healthcheck-client.key", "peer.crt", "peer.key", "server.crt", "server.key"].map((f) => `etc/kubernetes/pki/etcd/${f}`));
  } finally {
    r.cleanup();
  }
});

test("single host, RSA keys: every certificate verified with openssl", () => {
  const input = hostsBase();
  input.infrastructure.hosts = [{ name: "solo", address: "192.168.56.10", roles: ["controlPlane", "etcd", "worker"] }];
  delete input.infrastructure.apiEndpoint;
  input.pki = { algorithm: "rsa-2048" };
  const r = renderToTemp(requireSpec(validateSpec(input)));
  try {
    assert.equal(checkTree(r, "rsa", "IP Address:192.168.56.10"), 4 + 3 + 1);
  } finally {
    r.cleanup();
  }
});
